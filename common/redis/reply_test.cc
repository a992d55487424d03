#include "common/redis/reply.h"

#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::redis {
namespace {

using ::iplus::test::StatusIs;

TEST(RedisReplyTest, KindsAndAccessors) {
  EXPECT_TRUE(Reply().IsNil());
  EXPECT_TRUE(Reply::Nil().IsNil());
  EXPECT_EQ(Reply::Integer(-7).integer(), -7);
  EXPECT_TRUE(Reply::Integer(1).IsInteger());
  EXPECT_EQ(Reply::String("v").str(), "v");
  EXPECT_TRUE(Reply::Error("ERR x").IsError());
  EXPECT_EQ(Reply::Error("ERR x").str(), "ERR x");
  Reply array = Reply::Array({Reply::Integer(1), Reply::Nil()});
  ASSERT_TRUE(array.IsArray());
  EXPECT_EQ(array.elements().size(), 2u);
  // Wrong-kind accessors return empty values instead of failing.
  EXPECT_EQ(Reply::String("5").integer(), 0);
  EXPECT_TRUE(Reply::Integer(5).str().empty());
  EXPECT_TRUE(Reply::Integer(5).elements().empty());
}

TEST(RedisReplyTest, DebugStringEscapesBinary) {
  EXPECT_EQ(Reply().DebugString(), "nil");
  EXPECT_EQ(Reply::Integer(42).DebugString(), "42");
  EXPECT_EQ(Reply::String(std::string("a\0b\n", 4)).DebugString(), "\"a\\000b\\n\"");
  EXPECT_EQ(Reply::Error("ERR bad").DebugString(), "(error) ERR bad");
  EXPECT_EQ(Reply::Array({Reply::Integer(1), Reply::String("x"), Reply::Nil(), Reply::Array({})})
                .DebugString(),
            "[1, \"x\", nil, []]");
}

TEST(RedisReplyTest, Equality) {
  EXPECT_EQ(Reply::String("a"), Reply::String("a"));
  EXPECT_NE(Reply::String("a"), Reply::Error("a"));
  EXPECT_NE(Reply::Integer(0), Reply::Nil());
  EXPECT_EQ(Reply::Array({Reply::Integer(1)}), Reply::Array({Reply::Integer(1)}));
}

TEST(RedisReplyTest, ErrorMapping) {
  using absl::StatusCode;
  EXPECT_THAT(ErrorReplyToStatus("ERR unknown command"),
              StatusIs(StatusCode::kInternal, "ERR unknown command"));
  EXPECT_THAT(ErrorReplyToStatus("WRONGTYPE Operation against a key"),
              StatusIs(StatusCode::kInternal));
  EXPECT_THAT(ErrorReplyToStatus("NOSCRIPT No matching script"), StatusIs(StatusCode::kInternal));
  for (const char* transient :
       {"LOADING Redis is loading the dataset in memory", "BUSY Redis is busy running a script",
        "MASTERDOWN Link with MASTER is down",
        "READONLY You can't write against a read only replica",
        "TRYAGAIN Multiple keys request during rehashing", "CLUSTERDOWN The cluster is down",
        "ERR max number of clients reached"}) {
    EXPECT_THAT(ErrorReplyToStatus(transient), StatusIs(StatusCode::kUnavailable, transient));
  }
  EXPECT_THAT(ErrorReplyToStatus("OOM command not allowed when used memory > 'maxmemory'."),
              StatusIs(StatusCode::kResourceExhausted));
  EXPECT_THAT(ErrorReplyToStatus("NOAUTH Authentication required."),
              StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(ErrorReplyToStatus("WRONGPASS invalid username-password pair"),
              StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(ErrorReplyToStatus("NOPERM this user has no permissions"),
              StatusIs(StatusCode::kFailedPrecondition));
  // Only the whole first word counts.
  EXPECT_THAT(ErrorReplyToStatus("BUSYKEY Target key name already exists."),
              StatusIs(StatusCode::kInternal));
  EXPECT_TRUE(ReplyStatus(Reply::String("OK")).ok());
  EXPECT_THAT(ReplyStatus(Reply::Error("OOM x")), StatusIs(StatusCode::kResourceExhausted));
}

}  // namespace
}  // namespace iplus::redis
