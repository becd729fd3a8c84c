#include "runtime/dtype.h"

#include "absl/strings/numbers.h"

namespace flow {
namespace {

struct DataTypeInfo {
  DataType dtype;
  absl::string_view name;
  int64_t item_size;
};

constexpr DataTypeInfo kDataTypes[] = {
    {DataType::kChar, "kChar", 1},     {DataType::kFloat, "kFloat", 4},
    {DataType::kDouble, "kDouble", 8}, {DataType::kInt8, "kInt8", 1},
    {DataType::kInt32, "kInt32", 4},   {DataType::kInt64, "kInt64", 8},
    {DataType::kUInt8, "kUInt8", 1},   {DataType::kFloat16, "kFloat16", 2},
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
