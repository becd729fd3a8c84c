// Typed reads of an OpConf's attributes, for shape functions and kernel factories (compile time
// only). Layers always set every attribute their op reads, so a missing one is a CHECK failure.
//
//   int64_t axis = AttrInt(op, "axis");
//   std::vector<int64_t> strides = AttrInts(op, "strides");
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "proto/job.pb.h"
#include "runtime/dtype.h"

namespace flow {

bool HasAttr(const flowrt::OpConf& op, absl::string_view name);
int64_t AttrInt(const flowrt::OpConf& op, absl::string_view name);
float AttrFloat(const flowrt::OpConf& op, absl::string_view name);
bool AttrBool(const flowrt::OpConf& op, absl::string_view name);
const std::string& AttrString(const flowrt::OpConf& op, absl::string_view name);
std::vector<int64_t> AttrInts(const flowrt::OpConf& op, absl::string_view name);
std::vector<float> AttrFloats(const flowrt::OpConf& op, absl::string_view name);
DataType AttrDataType(const flowrt::OpConf& op, absl::string_view name);

// Builders for AttrValue, used by OpBuilder::Attr overloads.
flowrt::AttrValue MakeAttr(int64_t v);
flowrt::AttrValue MakeAttr(float v);
flowrt::AttrValue MakeAttr(bool v);
flowrt::AttrValue MakeAttr(absl::string_view v);
flowrt::AttrValue MakeAttr(const std::vector<int64_t>& v);
flowrt::AttrValue MakeAttr(const std::vector<float>& v);
flowrt::AttrValue MakeAttr(DataType v);

// "strides=[2, 2], padding=SAME" — for error messages and graph dumps.
std::string AttrsToString(const flowrt::OpConf& op);

}  // namespace flow
