#include "common/redis/options.h"

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::redis {
namespace {

using ::iplus::test::StatusIs;
using ::testing::HasSubstr;

TEST(RedisParseAddressTest, HostAndPort) {
  IPLUS_ASSERT_OK_AND_ASSIGN(Options options, ParseAddress("redis.iplus.svc:6380"));
  EXPECT_EQ(options.host, "redis.iplus.svc");
  EXPECT_EQ(options.port, 6380);
  EXPECT_EQ(options.db, 0);
  EXPECT_EQ(options.pool_size, Options().pool_size);
  EXPECT_EQ(FormatAddress(options), "redis.iplus.svc:6380");
}

TEST(RedisParseAddressTest, BareHostMeansDefaultPort) {
  IPLUS_ASSERT_OK_AND_ASSIGN(Options options, ParseAddress("10.0.0.7"));
  EXPECT_EQ(options.host, "10.0.0.7");
  EXPECT_EQ(options.port, 6379);
}

TEST(RedisParseAddressTest, BracketedIpv6) {
  IPLUS_ASSERT_OK_AND_ASSIGN(Options options, ParseAddress("[::1]:7000"));
  EXPECT_EQ(options.host, "::1");
  EXPECT_EQ(options.port, 7000);
  EXPECT_EQ(FormatAddress(options), "[::1]:7000");
  IPLUS_ASSERT_OK_AND_ASSIGN(Options no_port, ParseAddress("[fe80::1]"));
  EXPECT_EQ(no_port.host, "fe80::1");
  EXPECT_EQ(no_port.port, 6379);
}

TEST(RedisParseAddressTest, Rejects) {
  for (const char* bad : {"", ":6379", "host:", "host:0", "host:65536", "host:abc", "host:-1",
                          "::1:6379", "[::1", "[::1]6379", "[]:6379"}) {
    EXPECT_THAT(ParseAddress(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
  EXPECT_THAT(ParseAddress("host:99999"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1..65535")));
}

}  // namespace
}  // namespace iplus::redis
