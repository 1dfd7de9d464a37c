// The one dtype table: YAML names (and their aliases) <-> at::ScalarType <-> benchmark names.
#pragma once

#include <c10/core/ScalarType.h>

#include <optional>
#include <string>
#include <string_view>

namespace mpsfb {

// Accepts the short name (f32) or an alias (float32, float, half, long, ...).
std::optional<at::ScalarType> parse_dtype(std::string_view name);
// The short name used in benchmark names and reports ("f32").
std::string dtype_name(at::ScalarType t);
// All short names, comma separated, for error messages.
std::string dtype_names();

}  // namespace mpsfb
