#pragma once

// FNV-1a, 64 bits: a stable hash for values that leave the process (page tokens, Redis
// keys and fingerprints). absl::Hash is salted per process, so it cannot serve there.

#include <cstdint>

#include "absl/strings/string_view.h"

namespace iplus {

inline uint64_t Fnv1a64(absl::string_view data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace iplus
