// Element types. The numeric values are OneFlow's `DataType` enum (data_type.proto), so a value
// read from a `meta` file converts with a cast; this is the one place for item sizes and names.
#pragma once

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace flow {

enum class DataType : int {
  kInvalid = 0,
  kChar = 1,
  kFloat = 2,
  kDouble = 3,
  kInt8 = 4,
  kInt32 = 5,
  kInt64 = 6,
  kUInt8 = 7,
  kFloat16 = 9,  // storage only: saved and loaded, no kernels compute in it
};

// Short aliases matching OneFlow's Python names (flow.float32, flow.int32, ...).
inline constexpr DataType kFloat = DataType::kFloat;
inline constexpr DataType kFloat32 = DataType::kFloat;
inline constexpr DataType kDouble = DataType::kDouble;
inline constexpr DataType kFloat64 = DataType::kDouble;
inline constexpr DataType kInt8 = DataType::kInt8;
inline constexpr DataType kInt32 = DataType::kInt32;
inline constexpr DataType kInt64 = DataType::kInt64;
inline constexpr DataType kUInt8 = DataType::kUInt8;
inline constexpr DataType kFloat16 = DataType::kFloat16;
inline constexpr DataType kChar = DataType::kChar;

// Bytes per element; 0 for kInvalid.
int64_t ItemSize(DataType dtype);

// OneFlow's enum spelling: "kFloat", "kInt64", ... (as printed in `meta` files).
absl::string_view DataTypeName(DataType dtype);
// The short name shapes are printed with ("f32", "i64", ...; flowrt graph's labels), or
// DataTypeName for a dtype without one.
absl::string_view DataTypeShortName(DataType dtype);

// Inverse of DataTypeName; also accepts the numeric value as text ("2"). nullopt if unknown.
std::optional<DataType> DataTypeFromName(absl::string_view name);

// Converts OneFlow's numeric enum value; nullopt for values flowrt cannot hold (kOFRecord, ...).
std::optional<DataType> DataTypeFromEnumValue(int value);

template <typename T>
constexpr DataType DataTypeOf();
template <>
constexpr DataType DataTypeOf<float>() {
  return DataType::kFloat;
}
template <>
constexpr DataType DataTypeOf<double>() {
  return DataType::kDouble;
}
template <>
constexpr DataType DataTypeOf<int8_t>() {
  return DataType::kInt8;
}
template <>
constexpr DataType DataTypeOf<int32_t>() {
  return DataType::kInt32;
}
template <>
constexpr DataType DataTypeOf<int64_t>() {
  return DataType::kInt64;
}
template <>
constexpr DataType DataTypeOf<uint8_t>() {
  return DataType::kUInt8;
}
template <>
constexpr DataType DataTypeOf<char>() {
  return DataType::kChar;
}

}  // namespace flow
