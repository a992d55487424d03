#include "common/auth/rate_limit.h"

#include "common/clock/clock.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::auth {
namespace {

using ::iplus::test::IsOk;
using ::iplus::test::StatusIs;
using ::testing::HasSubstr;

TEST(ParseRateLimitsTest, OverridesDefaultsPerRole) {
  auto limits = ParseRateLimits(" partner=20:40 , viewer=0.5:1,service=0", DefaultRateLimits());
  ASSERT_THAT(limits, IsOk());
  EXPECT_EQ((*limits)[Role::kPartner].per_second, 20);
  EXPECT_EQ((*limits)[Role::kPartner].burst, 40);
  EXPECT_EQ((*limits)[Role::kViewer].per_second, 0.5);
  EXPECT_EQ((*limits)[Role::kViewer].burst, 1);
  EXPECT_EQ((*limits)[Role::kService].per_second, 0);
  EXPECT_EQ((*limits)[Role::kAdmin].per_second, DefaultRateLimits()[Role::kAdmin].per_second);
  EXPECT_THAT(ParseRateLimits("", DefaultRateLimits()), IsOk());
}

TEST(ParseRateLimitsTest, RejectsMalformedElements) {
  EXPECT_THAT(ParseRateLimits("root=1:1", DefaultRateLimits()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("role")));
  EXPECT_THAT(ParseRateLimits("partner=-1:5", DefaultRateLimits()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rate of partner")));
  EXPECT_THAT(ParseRateLimits("partner=5", DefaultRateLimits()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("burst of partner")));
  EXPECT_THAT(ParseRateLimits("partner=5:0", DefaultRateLimits()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("burst of partner")));
}

TEST(ParseRateLimitsTest, FormatRoundTrips) {
  RateLimits d = DefaultRateLimits();
  auto parsed = ParseRateLimits(FormatRateLimits(d), RateLimits{});
  ASSERT_THAT(parsed, IsOk());
  for (Role r : {Role::kAdmin, Role::kRegulator, Role::kFundManager, Role::kPartner, Role::kViewer,
                 Role::kService}) {
    EXPECT_EQ((*parsed)[r].per_second, d[r].per_second) << RoleName(r);
    EXPECT_EQ((*parsed)[r].burst, d[r].burst) << RoleName(r);
  }
}

TEST(RateLimiterTest, BurstThenRefillAtTheRate) {
  FakeClock clock;
  RateLimits limits;
  limits[Role::kPartner] = {10, 3};  // one token every 100 ms
  RateLimiter limiter(limits, &clock);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(limiter.Acquire("gd-bank", Role::kPartner), absl::ZeroDuration());
  EXPECT_EQ(limiter.Acquire("gd-bank", Role::kPartner), absl::Milliseconds(100));
  clock.Advance(absl::Milliseconds(40));
  EXPECT_EQ(limiter.Acquire("gd-bank", Role::kPartner), absl::Milliseconds(60));
  clock.Advance(absl::Milliseconds(60));
  EXPECT_EQ(limiter.Acquire("gd-bank", Role::kPartner), absl::ZeroDuration());
  EXPECT_GT(limiter.Acquire("gd-bank", Role::kPartner), absl::ZeroDuration());
  // A long pause refills only up to the burst.
  clock.Advance(absl::Hours(1));
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(limiter.Acquire("gd-bank", Role::kPartner), absl::ZeroDuration());
  EXPECT_GT(limiter.Acquire("gd-bank", Role::kPartner), absl::ZeroDuration());
}

TEST(RateLimiterTest, BucketsArePerPrincipalAndUnlimitedRolesNeverWait) {
  FakeClock clock;
  RateLimits limits;
  limits[Role::kViewer] = {1, 1};
  limits[Role::kService] = {0, 0};
  RateLimiter limiter(limits, &clock);
  EXPECT_EQ(limiter.Acquire("a", Role::kViewer), absl::ZeroDuration());
  EXPECT_GT(limiter.Acquire("a", Role::kViewer), absl::ZeroDuration());
  EXPECT_EQ(limiter.Acquire("b", Role::kViewer), absl::ZeroDuration());
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(limiter.Acquire("ingest", Role::kService), absl::ZeroDuration());
  }
}

}  // namespace
}  // namespace iplus::auth
