#pragma once

// SHA-1 as Redis uses it to name Lua scripts (EVALSHA). Only for script identity:
// SHA-1 is not collision resistant and must not be used for security.

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace iplus::redis::internal {

// The 20-byte digest of `data`.
std::array<uint8_t, 20> Sha1(absl::string_view data);

// The digest as 40 lowercase hex characters, the form SCRIPT LOAD returns.
std::string Sha1Hex(absl::string_view data);

}  // namespace iplus::redis::internal
