#include "framework/attr.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/status.h"

namespace flow {
namespace {

const flowrt::AttrValue& Get(const flowrt::OpConf& op, absl::string_view name,
                             flowrt::AttrValue::ValueCase expected) {
  auto it = op.attr().find(std::string(name));
  FLOWRT_CHECK(it != op.attr().end())
      << "op '" << op.name() << "' (" << op.type() << ") has no attr '" << std::string(name) << "'";
  FLOWRT_CHECK(it->second.value_case() == expected)
      << "op '" << op.name() << "' attr '" << std::string(name) << "' has another type";
  return it->second;
}

}  // namespace

bool HasAttr(const flowrt::OpConf& op, absl::string_view name) {
  return op.attr().contains(std::string(name));
}
int64_t AttrInt(const flowrt::OpConf& op, absl::string_view name) {
  return Get(op, name, flowrt::AttrValue::kI).i();
}
float AttrFloat(const flowrt::OpConf& op, absl::string_view name) {
  return Get(op, name, flowrt::AttrValue::kF).f();
}
bool AttrBool(const flowrt::OpConf& op, absl::string_view name) {
  return Get(op, name, flowrt::AttrValue::kB).b();
}
const std::string& AttrString(const flowrt::OpConf& op, absl::string_view name) {
  return Get(op, name, flowrt::AttrValue::kS).s();
}
std::vector<int64_t> AttrInts(const flowrt::OpConf& op, absl::string_view name) {
  const auto& v = Get(op, name, flowrt::AttrValue::kInts).ints().v();
  return {v.begin(), v.end()};
}
std::vector<float> AttrFloats(const flowrt::OpConf& op, absl::string_view name) {
  const auto& v = Get(op, name, flowrt::AttrValue::kFloats).floats().v();
  return {v.begin(), v.end()};
}
DataType AttrDataType(const flowrt::OpConf& op, absl::string_view name) {
  return static_cast<DataType>(Get(op, name, flowrt::AttrValue::kDtype).dtype());
}

flowrt::AttrValue MakeAttr(int64_t v) {
  flowrt::AttrValue a;
  a.set_i(v);
  return a;
}
flowrt::AttrValue MakeAttr(float v) {
  flowrt::AttrValue a;
  a.set_f(v);
  return a;
}
flowrt::AttrValue MakeAttr(bool v) {
  flowrt::AttrValue a;
  a.set_b(v);
  return a;
}
flowrt::AttrValue MakeAttr(absl::string_view v) {
  flowrt::AttrValue a;
  a.set_s(std::string(v));
  return a;
}
flowrt::AttrValue MakeAttr(const std::vector<int64_t>& v) {
  flowrt::AttrValue a;
  a.mutable_ints();  // an empty list is still a list
  for (int64_t x : v) a.mutable_ints()->add_v(x);
  return a;
}
flowrt::AttrValue MakeAttr(const std::vector<float>& v) {
  flowrt::AttrValue a;
  a.mutable_floats();
  for (float x : v) a.mutable_floats()->add_v(x);
  return a;
}
flowrt::AttrValue MakeAttr(DataType v) {
  flowrt::AttrValue a;
  a.set_dtype(static_cast<oneflow::DataType>(v));
  return a;
}

std::string AttrsToString(const flowrt::OpConf& op) {
  // Sorted so dumps are deterministic (proto maps are unordered).
  std::map<std::string, const flowrt::AttrValue*> sorted;
  for (const auto& [k, v] : op.attr()) sorted[k] = &v;
  std::vector<std::string> parts;
  for (const auto& [k, v] : sorted) {
    std::string value;
    switch (v->value_case()) {
      case flowrt::AttrValue::kI:
        value = absl::StrCat(v->i());
        break;
      case flowrt::AttrValue::kF:
        value = absl::StrCat(v->f());
        break;
      case flowrt::AttrValue::kS:
        value = v->s();
        break;
      case flowrt::AttrValue::kB:
        value = v->b() ? "true" : "false";
        break;
      case flowrt::AttrValue::kInts:
        value = absl::StrCat("[", absl::StrJoin(v->ints().v(), ", "), "]");
        break;
      case flowrt::AttrValue::kFloats:
        value = absl::StrCat("[", absl::StrJoin(v->floats().v(), ", "), "]");
        break;
      case flowrt::AttrValue::kDtype:
        value = std::string(DataTypeName(static_cast<DataType>(v->dtype())));
        break;
      default:
        value = "?";
    }
    parts.push_back(absl::StrCat(k, "=", value));
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace flow
