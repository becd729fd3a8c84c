#include "runtime/dtype.h"

#include "absl/strings/numbers.h"

namespace flow {
namespace {

struct DataTypeInfo {
  DataType dtype;
  absl::string_view name;
  int64_t item_size;
  absl::string_view short_name;
};

constexpr DataTypeInfo kDataTypes[] = {
    {DataType::kChar, "kChar", 1, "kChar"},   {DataType::kFloat, "kFloat", 4, "f32"},
    {DataType::kDouble, "kDouble", 8, "f64"}, {DataType::kInt8, "kInt8", 1, "i8"},
    {DataType::kInt32, "kInt32", 4, "i32"},   {DataType::kInt64, "kInt64", 8, "i64"},
    {DataType::kUInt8, "kUInt8", 1, "u8"},    {DataType::kFloat16, "kFloat16", 2, "f16"},
};

const DataTypeInfo* Find(DataType dtype) {
  for (const DataTypeInfo& info : kDataTypes) {
    if (info.dtype == dtype) return &info;
  }
  return nullptr;
}

}  // namespace

int64_t ItemSize(DataType dtype) {
  const DataTypeInfo* info = Find(dtype);
  return info ? info->item_size : 0;
}

absl::string_view DataTypeName(DataType dtype) {
  const DataTypeInfo* info = Find(dtype);
  return info ? info->name : "kInvalidDataType";
}

absl::string_view DataTypeShortName(DataType dtype) {
  const DataTypeInfo* info = Find(dtype);
  return info ? info->short_name : "kInvalidDataType";
}

std::optional<DataType> DataTypeFromName(absl::string_view name) {
  for (const DataTypeInfo& info : kDataTypes) {
    if (info.name == name) return info.dtype;
  }
  int value = 0;
  if (absl::SimpleAtoi(name, &value)) return DataTypeFromEnumValue(value);
  return std::nullopt;
}

std::optional<DataType> DataTypeFromEnumValue(int value) {
  const DataTypeInfo* info = Find(static_cast<DataType>(value));
  if (info == nullptr) return std::nullopt;
  return info->dtype;
}

}  // namespace flow
