#include "dtypes.h"

#include <array>

namespace mpsfb {
namespace {

struct DtypeRow {
  at::ScalarType type;
  const char* name;
  std::array<const char*, 3> aliases;
};

constexpr DtypeRow kDtypes[] = {
    {at::kFloat, "f32", {"float32", "float", nullptr}},
    {at::kHalf, "f16", {"float16", "half", nullptr}},
    {at::kBFloat16, "bf16", {"bfloat16", nullptr, nullptr}},
    {at::kDouble, "f64", {"float64", "double", nullptr}},
    {at::kLong, "i64", {"int64", "long", nullptr}},
    {at::kInt, "i32", {"int32", "int", nullptr}},
    {at::kShort, "i16", {"int16", "short", nullptr}},
    {at::kChar, "i8", {"int8", nullptr, nullptr}},
    {at::kByte, "u8", {"uint8", nullptr, nullptr}},
    {at::kBool, "bool", {nullptr, nullptr, nullptr}},
    {at::kComplexFloat, "c64", {"complex64", "cfloat", nullptr}},
    {at::kComplexDouble, "c128", {"complex128", "cdouble", nullptr}},
};

}  // namespace

std::optional<at::ScalarType> parse_dtype(std::string_view name) {
  for (const auto& row : kDtypes) {
    if (name == row.name) return row.type;
    for (const char* alias : row.aliases)
      if (alias && name == alias) return row.type;
  }
  return std::nullopt;
}

std::string dtype_name(at::ScalarType t) {
  for (const auto& row : kDtypes)
    if (row.type == t) return row.name;
  return c10::toString(t);
}

std::string dtype_names() {
  std::string out;
  for (const auto& row : kDtypes) out += (out.empty() ? "" : ", ") + std::string(row.name);
  return out;
}

}  // namespace mpsfb
