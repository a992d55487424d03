#include "common/auth/scope.h"

#include <string>

#include "common/refdata/credit_code.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::auth {
namespace {

using ::iplus::test::IsOk;
using ::iplus::test::IsOkAndHolds;
using ::iplus::test::StatusIs;

Principal Limited(std::vector<std::string> regions, Role role = Role::kPartner) {
  Principal p;
  p.name = "p";
  p.role = role;
  p.regions = std::move(regions);
  p.all_funds = true;
  return p;
}

Principal Everywhere() {
  Principal p;
  p.name = "ops";
  p.role = Role::kAdmin;
  p.all_regions = true;
  p.all_funds = true;
  return p;
}

// A valid credit code whose embedded region is `region`.
std::string CodeIn(const std::string& region, int n) {
  return refdata::CompleteCreditCode(absl::StrCat("91", region, "M", 1000000 + n));
}

constexpr auto kDenied = absl::StatusCode::kPermissionDenied;

TEST(CheckEnterpriseTest, KnownEnterprisesUseTheirRegisteredRegion) {
  Principal gz = Limited({"4401"});
  std::string in_44 = CodeIn("440100", 1);
  std::string in_11 = CodeIn("110000", 2);
  std::string r_440103 = "440103", r_110101 = "110101";
  EXPECT_THAT(CheckEnterprise(gz, in_44, &r_440103), IsOk());
  EXPECT_THAT(CheckEnterprise(gz, in_44, &r_110101), StatusIs(kDenied));
  // Registered inside although its code says Beijing: the registry's region wins.
  EXPECT_THAT(CheckEnterprise(gz, in_11, &r_440103), IsOk());
  EXPECT_THAT(CheckEnterprise(Everywhere(), in_44, &r_110101), IsOk());
}

TEST(CheckEnterpriseTest, UnknownCodesUseTheRegionInTheCode) {
  Principal gz = Limited({"4401"});
  EXPECT_THAT(CheckEnterprise(gz, CodeIn("440106", 3), nullptr), IsOk());
  EXPECT_THAT(CheckEnterprise(gz, CodeIn("440300", 4), nullptr), StatusIs(kDenied));
  EXPECT_THAT(CheckEnterprise(gz, CodeIn("110000", 5), nullptr), StatusIs(kDenied));
}

TEST(CheckEnterpriseTest, MalformedCodesAreLeftToValidation) {
  Principal gz = Limited({"4401"});
  EXPECT_THAT(CheckEnterprise(gz, "not-a-code", nullptr), IsOk());
  EXPECT_THAT(CheckEnterprise(gz, "", nullptr), IsOk());
}

TEST(CheckEnterpriseTest, MessageDoesNotSayWhetherTheEnterpriseExists) {
  Principal gz = Limited({"4401"});
  std::string code = CodeIn("110000", 6);
  std::string registered = "110101";
  auto known = CheckEnterprise(gz, code, &registered);
  auto unknown = CheckEnterprise(gz, code, nullptr);
  EXPECT_EQ(known, unknown);
}

TEST(CheckRegionTest, PrefixesWithinTheCallersRegions) {
  Principal p = Limited({"4401", "32"});
  EXPECT_THAT(CheckRegion(p, "440103"), IsOk());
  EXPECT_THAT(CheckRegion(p, "4401"), IsOk());
  EXPECT_THAT(CheckRegion(p, "3205"), IsOk());
  EXPECT_THAT(CheckRegion(p, "44"), StatusIs(kDenied));  // broader than the caller's
  EXPECT_THAT(CheckRegion(p, "4403"), StatusIs(kDenied));
  EXPECT_THAT(CheckRegion(p, ""), StatusIs(kDenied));  // the whole country
  EXPECT_THAT(CheckRegion(p, "4X"), IsOk());           // malformed: validation answers
  EXPECT_THAT(CheckRegion(Everywhere(), ""), IsOk());
}

TEST(EffectiveRegionPrefixTest, RequestedPrefixMustLieWithin) {
  Principal p = Limited({"4401"});
  EXPECT_THAT(EffectiveRegionPrefix(p, "440103", "44"), IsOkAndHolds("440103"));
  EXPECT_THAT(EffectiveRegionPrefix(p, "44", "44"), StatusIs(kDenied));
  EXPECT_THAT(EffectiveRegionPrefix(Everywhere(), "11", "44"), IsOkAndHolds("11"));
}

TEST(EffectiveRegionPrefixTest, EmptyIsKeptWhenTheCallerCoversTheInstance) {
  EXPECT_THAT(EffectiveRegionPrefix(Limited({"44"}), "", "44"), IsOkAndHolds(""));
  EXPECT_THAT(EffectiveRegionPrefix(Limited({"44"}), "", "4401"), IsOkAndHolds(""));
  EXPECT_THAT(EffectiveRegionPrefix(Everywhere(), "", ""), IsOkAndHolds(""));
}

TEST(EffectiveRegionPrefixTest, EmptyIsNarrowedToTheOneOverlappingRegion) {
  EXPECT_THAT(EffectiveRegionPrefix(Limited({"4401"}), "", "44"), IsOkAndHolds("4401"));
  EXPECT_THAT(EffectiveRegionPrefix(Limited({"4401", "32"}), "", "44"), IsOkAndHolds("4401"));
  EXPECT_THAT(EffectiveRegionPrefix(Limited({"44"}), "", ""), IsOkAndHolds("44"));
  // None or several overlap: refused.
  EXPECT_THAT(EffectiveRegionPrefix(Limited({"11"}), "", "44"), StatusIs(kDenied));
  EXPECT_THAT(EffectiveRegionPrefix(Limited({"4401", "4403"}), "", "44"), StatusIs(kDenied));
  EXPECT_THAT(EffectiveRegionPrefix(Limited({"44", "32"}), "", ""), StatusIs(kDenied));
}

TEST(CheckCoversInstanceTest, RegionsMustCoverTheInstance) {
  EXPECT_THAT(CheckCoversInstance(Limited({"44"}), "44"), IsOk());
  EXPECT_THAT(CheckCoversInstance(Limited({"44"}), "4401"), IsOk());
  EXPECT_THAT(CheckCoversInstance(Limited({"4401"}), "44"), StatusIs(kDenied));
  EXPECT_THAT(CheckCoversInstance(Limited({"44"}), ""), StatusIs(kDenied));
  EXPECT_THAT(CheckCoversInstance(Everywhere(), ""), IsOk());
}

TEST(CheckFundTest, FundManagersOnlyForTheirFunds) {
  Principal fm = Limited({"44"}, Role::kFundManager);
  fm.all_funds = false;
  fm.funds = {"gd-cloud", "gd-pilot"};
  EXPECT_THAT(CheckFund(fm, "gd-cloud"), IsOk());
  EXPECT_THAT(CheckFund(fm, "js-cloud"), StatusIs(kDenied));
  EXPECT_THAT(CheckFund(Everywhere(), "js-cloud"), IsOk());
}

}  // namespace
}  // namespace iplus::auth
