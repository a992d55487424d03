#include "common/testing/status_matchers.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"

namespace iplus::test {
namespace {

using ::testing::DescribeMatcher;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Matcher;
using ::testing::Not;

absl::StatusOr<int> Value(int v) { return v; }
absl::StatusOr<int> NotFound() { return absl::NotFoundError("no such enterprise"); }

TEST(StatusMatchersTest, StatusIsOnStatus) {
  EXPECT_THAT(absl::NotFoundError("x"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(absl::NotFoundError("x"), StatusIs(absl::StatusCode::kNotFound, "x"));
  EXPECT_THAT(absl::NotFoundError("missing key"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("key")));
  EXPECT_THAT(absl::NotFoundError("x"), Not(StatusIs(absl::StatusCode::kInternal)));
  EXPECT_THAT(absl::NotFoundError("x"), Not(StatusIs(absl::StatusCode::kNotFound, "y")));
  EXPECT_THAT(absl::OkStatus(), StatusIs(absl::StatusCode::kOk));
}

TEST(StatusMatchersTest, StatusIsOnStatusOr) {
  EXPECT_THAT(NotFound(), StatusIs(absl::StatusCode::kNotFound, HasSubstr("enterprise")));
  EXPECT_THAT(Value(3), StatusIs(absl::StatusCode::kOk));
  EXPECT_THAT(Value(3), Not(StatusIs(absl::StatusCode::kNotFound)));
  const absl::StatusOr<std::unique_ptr<int>> move_only = std::make_unique<int>(1);
  EXPECT_THAT(move_only, StatusIs(absl::StatusCode::kOk));
}

TEST(StatusMatchersTest, IsOkAndHolds) {
  EXPECT_THAT(Value(3), IsOkAndHolds(3));
  EXPECT_THAT(Value(3), IsOkAndHolds(Eq(3)));
  EXPECT_THAT(Value(3), Not(IsOkAndHolds(4)));
  EXPECT_THAT(NotFound(), Not(IsOkAndHolds(3)));
  EXPECT_THAT(absl::StatusOr<std::string>("hello"), IsOkAndHolds(HasSubstr("ell")));
}

TEST(StatusMatchersTest, IsOk) {
  EXPECT_THAT(absl::OkStatus(), IsOk());
  EXPECT_THAT(Value(1), IsOk());
  EXPECT_THAT(NotFound(), Not(IsOk()));
  IPLUS_EXPECT_OK(absl::OkStatus());
  IPLUS_ASSERT_OK(Value(1));
}

TEST(StatusMatchersTest, Descriptions) {
  const Matcher<absl::Status> m = StatusIs(absl::StatusCode::kNotFound, "x");
  EXPECT_EQ(DescribeMatcher<absl::Status>(m),
            "has a status code that is equal to NOT_FOUND, and has an error message that is "
            "equal to \"x\"");
  const Matcher<absl::StatusOr<int>> holds = IsOkAndHolds(3);
  EXPECT_EQ(DescribeMatcher<absl::StatusOr<int>>(holds),
            "is OK and has a value that is equal to 3");
  testing::StringMatchResultListener listener;
  EXPECT_FALSE(testing::ExplainMatchResult(StatusIs(absl::StatusCode::kInternal),
                                           absl::NotFoundError("gone"), &listener));
  EXPECT_THAT(listener.str(), HasSubstr("NOT_FOUND: gone"));
}

TEST(StatusMatchersTest, FailuresAreReported) {
  EXPECT_NONFATAL_FAILURE(IPLUS_EXPECT_OK(absl::InternalError("boom")), "boom");
  EXPECT_FATAL_FAILURE(IPLUS_ASSERT_OK(absl::InternalError("bang")), "bang");
  EXPECT_FATAL_FAILURE(
      {
        IPLUS_ASSERT_OK_AND_ASSIGN(int v, NotFound());
        (void)v;
      },
      "no such enterprise");
}

TEST(StatusMatchersTest, StatusOrPrintsReadably) {
  EXPECT_EQ(::testing::PrintToString(Value(3)), "OK: 3");
  EXPECT_EQ(::testing::PrintToString(NotFound()), "NOT_FOUND: no such enterprise");
}

TEST(StatusMatchersTest, AssertOkAndAssign) {
  IPLUS_ASSERT_OK_AND_ASSIGN(int v, Value(7));
  EXPECT_EQ(v, 7);
  std::unique_ptr<int> p;
  IPLUS_ASSERT_OK_AND_ASSIGN(p, absl::StatusOr<std::unique_ptr<int>>(std::make_unique<int>(9)));
  EXPECT_EQ(*p, 9);
}

}  // namespace
}  // namespace iplus::test
