#pragma once

// Per-principal rate limits: a token bucket for every principal name, with the rate and
// burst of its role. Each call takes one token; a call that finds the bucket empty is
// refused with the time until a token is back. Buckets live in the process (one replica):
// with N replicas behind a load balancer a principal gets up to N times the rate.
//
// Thread-safe.

#include <array>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/auth.h"
#include "common/clock/clock.h"

namespace iplus::auth {

struct RoleLimit {
  double per_second = 0;  // tokens added per second; 0 means unlimited
  int burst = 0;          // bucket size (at least 1 when limited)
};

struct RateLimits {
  // Indexed by static_cast<int>(Role).
  std::array<RoleLimit, 6> by_role{};

  RoleLimit& operator[](Role role) { return by_role[static_cast<int>(role)]; }
  const RoleLimit& operator[](Role role) const { return by_role[static_cast<int>(role)]; }
};

// admin 200/s burst 400, regulator 50/100, fund_manager 50/100, partner 100/200,
// viewer 20/40, service unlimited.
RateLimits DefaultRateLimits();

// Applies overrides to `base`: a comma-separated list of role=rate:burst
// ("partner=20:40,viewer=5:10"); rate 0 means unlimited (burst then ignored). Empty
// text returns `base`. INVALID_ARGUMENT describing the first bad element (the flag name
// is the caller's to add).
absl::StatusOr<RateLimits> ParseRateLimits(absl::string_view text, RateLimits base);

// "admin=200:400,regulator=50:100,..." in role order (the form ParseRateLimits reads).
std::string FormatRateLimits(const RateLimits& limits);

class RateLimiter {
 public:
  // `clock` must outlive the limiter.
  RateLimiter(RateLimits limits, Clock* clock);

  // Takes a token from the bucket of (`principal`, `role`). Returns zero when the call
  // may proceed, else how long until a token is available (the call is refused).
  absl::Duration Acquire(absl::string_view principal, Role role);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time last;
  };

  const RateLimits limits_;
  Clock* const clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace iplus::auth
