#include "common/auth/auth.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::auth {
namespace {

using ::iplus::test::IsOk;
using ::iplus::test::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kHashA = Sha256Hex("token-a");
const std::string kHashB = Sha256Hex("token-b");

TEST(Sha256HexTest, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(RoleTest, ParseAndNameRoundTrip) {
  for (Role r : {Role::kAdmin, Role::kRegulator, Role::kFundManager, Role::kPartner, Role::kViewer,
                 Role::kService}) {
    auto parsed = ParseRole(RoleName(r));
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(*parsed, r);
  }
  EXPECT_STREQ(RoleName(Role::kFundManager), "fund_manager");
  EXPECT_THAT(ParseRole("Admin"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseRole("fund-manager"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseRole(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParseTokenFileTest, ParsesEveryRoleCommentsAndBlankLines) {
  std::string text =
      absl::StrCat("\xEF\xBB\xBF# token file\n", "\n", "   \t\n",                        //
                   Sha256Hex("1"), " ops admin *\n",                                     //
                   Sha256Hex("2"), "\tcsrc\tregulator\t44,4501   # trailing comment\n",  //
                   Sha256Hex("3"), " acme fund_manager 440103 F001,F002\n",              //
                   Sha256Hex("4"), " beta fund_manager * *\r\n",                         //
                   Sha256Hex("5"), " gd-bank partner 44\n",                              //
                   Sha256Hex("6"), " 张三 viewer 11,12\n",                               //
                   Sha256Hex("7"), " replay service *");  // no newline
  auto parsed = ParseTokenFile(text, "tokens.txt");
  ASSERT_THAT(parsed, IsOk());
  ASSERT_EQ(parsed->size(), 7u);

  const auto& [h1, admin] = (*parsed)[0];
  EXPECT_EQ(h1, Sha256Hex("1"));
  EXPECT_EQ(admin.name, "ops");
  EXPECT_EQ(admin.role, Role::kAdmin);
  EXPECT_TRUE(admin.all_regions);
  EXPECT_TRUE(admin.regions.empty());
  EXPECT_TRUE(admin.all_funds);

  const Principal& regulator = (*parsed)[1].second;
  EXPECT_EQ(regulator.name, "csrc");
  EXPECT_EQ(regulator.role, Role::kRegulator);
  EXPECT_FALSE(regulator.all_regions);
  EXPECT_THAT(regulator.regions, ElementsAre("44", "4501"));

  const Principal& acme = (*parsed)[2].second;
  EXPECT_EQ(acme.role, Role::kFundManager);
  EXPECT_THAT(acme.regions, ElementsAre("440103"));
  EXPECT_FALSE(acme.all_funds);
  EXPECT_THAT(acme.funds, ElementsAre("F001", "F002"));

  const Principal& beta = (*parsed)[3].second;
  EXPECT_TRUE(beta.all_regions);
  EXPECT_TRUE(beta.all_funds);
  EXPECT_TRUE(beta.funds.empty());

  EXPECT_EQ((*parsed)[4].second.role, Role::kPartner);
  EXPECT_EQ((*parsed)[5].second.name, "张三");
  EXPECT_EQ((*parsed)[5].second.role, Role::kViewer);
  EXPECT_EQ((*parsed)[6].second.role, Role::kService);
}

TEST(ParseTokenFileTest, EmptyFileHasNoTokens) {
  auto parsed = ParseTokenFile("# nothing yet\n\n", "tokens.txt");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_TRUE(parsed->empty());
}

TEST(ParseTokenFileTest, OnePrincipalMayHaveSeveralTokens) {
  auto parsed = ParseTokenFile(absl::StrCat(kHashA, " ops admin *\n", kHashB, " ops admin *\n"),
                               "tokens.txt");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->size(), 2u);
}

struct MalformedCase {
  std::string line;
  std::string field;
};

TEST(ParseTokenFileTest, MalformedLinesNameFileLineAndFieldButNotTheHash) {
  const std::string upper = absl::AsciiStrToUpper(kHashB);
  const std::vector<MalformedCase> cases = {
      {kHashB + " ops admin", "line"},
      {kHashB + " ops admin * F1 extra", "line"},
      {kHashB, "line"},
      {"token-b ops admin *", "sha256"},
      {upper + " ops admin *", "sha256"},
      {kHashB.substr(0, 63) + " ops admin *", "sha256"},
      {kHashB + "0 ops admin *", "sha256"},
      {kHashB.substr(0, 63) + "g ops admin *", "sha256"},
      {kHashB + " ops root *", "role"},
      {kHashB + " ops Admin *", "role"},
      {kHashB + " ops admin 44,", "regions"},
      {kHashB + " ops admin ,44", "regions"},
      {kHashB + " ops admin 44,*", "regions"},
      {kHashB + " ops admin 4401031", "regions"},
      {kHashB + " ops admin 4a", "regions"},
      {kHashB + " ops admin 99", "regions"},
      {kHashB + " ops admin -1", "regions"},
      {kHashB + " ops fund_manager *", "funds"},
      {kHashB + " ops fund_manager * F1,,F2", "funds"},
      {kHashB + " ops fund_manager * F1,*", "funds"},
      {kHashB + " ops partner 44 F1", "funds"},
      {kHashB + " ops viewer * *", "funds"},
      {kHashA + " other viewer *", "sha256"},  // duplicate of line 3
  };
  for (const MalformedCase& c : cases) {
    SCOPED_TRACE(c.line);
    std::string text = absl::StrCat("# header\n", kHashA, " ops admin *\n\n", c.line, "\n");
    auto parsed = ParseTokenFile(text, "/etc/iplus/tokens");
    EXPECT_THAT(parsed,
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(absl::StrCat("/etc/iplus/tokens:4: ", c.field, ":")),
                               Not(HasSubstr(kHashA)), Not(HasSubstr(kHashB)),
                               Not(HasSubstr(kHashB.substr(0, 63))), Not(HasSubstr(upper)),
                               Not(HasSubstr("token-b")))));
  }
}

TEST(ParseTokenFileTest, DuplicateNamesTheEarlierLine) {
  auto parsed = ParseTokenFile(absl::StrCat(kHashA, " a admin *\n", kHashA, " b viewer *\n"), "t");
  EXPECT_THAT(parsed, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("t:2: sha256: duplicate of line 1")));
}

TEST(PrincipalTest, MayTouchRegion) {
  Principal all;
  all.all_regions = true;
  EXPECT_TRUE(all.MayTouchRegion("440103"));
  EXPECT_TRUE(all.MayTouchRegion(""));

  Principal gd;
  gd.regions = {"44", "4501"};
  EXPECT_TRUE(gd.MayTouchRegion("440103"));  // code in a province
  EXPECT_TRUE(gd.MayTouchRegion("44"));      // query for the province itself
  EXPECT_TRUE(gd.MayTouchRegion("4401"));    // narrower query prefix
  EXPECT_TRUE(gd.MayTouchRegion("450102"));
  EXPECT_FALSE(gd.MayTouchRegion("450201"));  // another prefecture of 45
  EXPECT_FALSE(gd.MayTouchRegion("45"));      // broader than 4501
  EXPECT_FALSE(gd.MayTouchRegion("4"));
  EXPECT_FALSE(gd.MayTouchRegion(""));  // whole country
  EXPECT_FALSE(gd.MayTouchRegion("110000"));

  Principal none;
  EXPECT_FALSE(none.MayTouchRegion("440103"));
}

TEST(PrincipalTest, MayTouchFund) {
  Principal all;
  all.all_funds = true;
  EXPECT_TRUE(all.MayTouchFund("F001"));

  Principal some;
  some.funds = {"F001", "F002"};
  EXPECT_TRUE(some.MayTouchFund("F001"));
  EXPECT_TRUE(some.MayTouchFund("F002"));
  EXPECT_FALSE(some.MayTouchFund("F00"));
  EXPECT_FALSE(some.MayTouchFund("F0011"));
  EXPECT_FALSE(some.MayTouchFund(""));
}

TEST(PrincipalTest, ParsedNonFundManagersAreNotLimitedByFund) {
  auto parsed = ParseTokenFile(
      absl::StrCat(kHashA, " gd partner 44\n", kHashB, " acme fund_manager 44 F001\n"), "t");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_TRUE((*parsed)[0].second.MayTouchFund("F999"));
  EXPECT_TRUE((*parsed)[1].second.MayTouchFund("F001"));
  EXPECT_FALSE((*parsed)[1].second.MayTouchFund("F999"));
  EXPECT_TRUE((*parsed)[1].second.MayTouchRegion("440103"));
  EXPECT_FALSE((*parsed)[1].second.MayTouchRegion("450103"));
}

}  // namespace
}  // namespace iplus::auth
