#include "common/auth/rate_limit.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace iplus::auth {

RateLimits DefaultRateLimits() {
  RateLimits l;
  l[Role::kAdmin] = {200, 400};
  l[Role::kRegulator] = {50, 100};
  l[Role::kFundManager] = {50, 100};
  l[Role::kPartner] = {100, 200};
  l[Role::kViewer] = {20, 40};
  l[Role::kService] = {0, 0};
  return l;
}

absl::StatusOr<RateLimits> ParseRateLimits(absl::string_view text, RateLimits base) {
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(item, '=');
    auto role = ParseRole(absl::StripAsciiWhitespace(kv.first));
    if (!role.ok()) return role.status();
    std::pair<absl::string_view, absl::string_view> rb =
        absl::StrSplit(absl::StripAsciiWhitespace(kv.second), ':');
    double rate = 0;
    if (!absl::SimpleAtod(rb.first, &rate) || !std::isfinite(rate) || rate < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rate of ", RoleName(*role), " must be a number of calls per second, 0 or more"));
    }
    int burst = 0;
    if (rate > 0 && (!absl::SimpleAtoi(rb.second, &burst) || burst < 1)) {
      return absl::InvalidArgumentError(absl::StrCat("burst of ", RoleName(*role),
                                                     " must be a whole number of at least 1 "
                                                     "(role=rate:burst)"));
    }
    base[*role] = RoleLimit{rate, rate > 0 ? burst : 0};
  }
  return base;
}

std::string FormatRateLimits(const RateLimits& limits) {
  std::vector<std::string> parts;
  for (int i = 0; i < static_cast<int>(limits.by_role.size()); ++i) {
    const RoleLimit& l = limits.by_role[i];
    parts.push_back(absl::StrCat(RoleName(static_cast<Role>(i)), "=", l.per_second, ":", l.burst));
  }
  return absl::StrJoin(parts, ",");
}

RateLimiter::RateLimiter(RateLimits limits, Clock* clock) : limits_(limits), clock_(clock) {}

absl::Duration RateLimiter::Acquire(absl::string_view principal, Role role) {
  const RoleLimit& limit = limits_[role];
  if (limit.per_second <= 0) return absl::ZeroDuration();
  const double burst = std::max(1, limit.burst);
  absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = buckets_.try_emplace(absl::StrCat(RoleName(role), ":", principal));
  Bucket& b = it->second;
  if (inserted) {
    b.tokens = burst;
  } else if (now > b.last) {
    b.tokens = std::min(burst, b.tokens + absl::ToDoubleSeconds(now - b.last) * limit.per_second);
  }
  b.last = std::max(b.last, now);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return absl::ZeroDuration();
  }
  // Rounded up to whole milliseconds, so that a client waiting exactly this long finds a
  // token.
  double seconds = (1 - b.tokens) / limit.per_second;
  return absl::Milliseconds(std::ceil(seconds * 1000));
}

}  // namespace iplus::auth
