#include "common/status/status.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;

TEST(StatusTest, InvalidFieldNamesTheField) {
  absl::Status s = InvalidField("enterprise.code", "must be 18 characters");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "enterprise.code: must be 18 characters");
  EXPECT_THAT(FieldViolations(s),
              ElementsAre(AllOf(Field(&FieldViolation::field, "enterprise.code"),
                                Field(&FieldViolation::description, "must be 18 characters"))));
}

TEST(StatusTest, SeveralViolationsSurviveTabsAndNewlines) {
  absl::Status s = InvalidFields({{"a", "x\ty"}, {"b", "line1\nline2"}});
  auto v = FieldViolations(s);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].description, "x y");
  EXPECT_EQ(v[1].field, "b");
  EXPECT_EQ(v[1].description, "line1 line2");
}

TEST(StatusTest, PrefixFields) {
  absl::Status s = PrefixFields(InvalidField("region", "bad"), "requests[2].enterprise");
  EXPECT_EQ(FieldViolations(s)[0].field, "requests[2].enterprise.region");
  EXPECT_EQ(s.message(), "requests[2].enterprise.region: bad");
  EXPECT_TRUE(FieldViolations(absl::NotFoundError("x")).empty());
  EXPECT_EQ(PrefixFields(absl::NotFoundError("x"), "p"), absl::NotFoundError("x"));
}

}  // namespace
}  // namespace iplus
