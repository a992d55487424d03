#include "common/refdata/credit_code.h"

#include <cstdint>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus {
namespace refdata {
namespace {

constexpr absl::string_view kFuzhou = "91350100M000100Y43";
constexpr absl::string_view kBeijing = "91110000100006485K";

MATCHER_P(IsInvalid, message, absl::StrCat("is INVALID_ARGUMENT \"", message, "\"")) {
  *result_listener << "status is " << arg;
  return arg.code() == absl::StatusCode::kInvalidArgument && arg.message() == message;
}

std::string WithCharAt(absl::string_view code, int position, char c) {
  std::string out(code);
  out[position - 1] = c;
  return out;
}

// Deterministic generator of 16-character prefixes: positions 1-2 and 9-16 from the
// whole alphabet, positions 3-8 digits.
class PrefixGenerator {
 public:
  explicit PrefixGenerator(uint32_t seed) : rng_(seed) {}

  std::string Next() {
    std::uniform_int_distribution<int> any(0, 30);
    std::uniform_int_distribution<int> digit(0, 9);
    std::string s;
    for (int i = 0; i < 16; ++i) {
      bool region = i >= 2 && i < 8;
      s.push_back(kCreditCodeAlphabet[region ? digit(rng_) : any(rng_)]);
    }
    return s;
  }

 private:
  std::mt19937 rng_;
};

TEST(CreditCodeTest, KnownValidCodesPass) {
  EXPECT_TRUE(ValidateCreditCode(kFuzhou).ok());
  EXPECT_TRUE(ValidateCreditCode(kBeijing).ok());
}

TEST(CreditCodeTest, AlphabetHas31CharactersWithoutIOZSV) {
  EXPECT_EQ(kCreditCodeAlphabet.size(), 31u);
  for (char c : absl::string_view("IOZSV")) {
    EXPECT_EQ(kCreditCodeAlphabet.find(c), absl::string_view::npos) << c;
  }
}

TEST(CreditCodeTest, CheckCharactersOfKnownCodes) {
  EXPECT_EQ(OrgCodeCheckChar("M000100Y"), '4');
  EXPECT_EQ(OrgCodeCheckChar("10000648"), '5');
  EXPECT_EQ(CreditCodeCheckChar(kFuzhou.substr(0, 17)), '3');
  EXPECT_EQ(CreditCodeCheckChar(kBeijing.substr(0, 17)), 'K');
  EXPECT_EQ(CompleteCreditCode(kFuzhou.substr(0, 16)), kFuzhou);
  EXPECT_EQ(CompleteCreditCode(kBeijing.substr(0, 16)), kBeijing);
}

TEST(CreditCodeTest, OrgCodeCheckSpecialValues) {
  // Sum 0: 11 - 0 = 11 -> '0'.
  EXPECT_EQ(OrgCodeCheckChar("00000000"), '0');
  // Sum 6 * 2 = 12, 12 mod 11 = 1: 11 - 1 = 10 -> 'X'.
  EXPECT_EQ(OrgCodeCheckChar("00000006"), 'X');
  // GB 11714 numbers the full Latin alphabet: J is 19 (19 * 3 = 57, 57 mod 11 = 2).
  EXPECT_EQ(OrgCodeCheckChar("J0000000"), '9');
  // Letters outside the credit code alphabet still have a GB 11714 value.
  // (I is 18: 18 * 3 = 54, 54 mod 11 = 10, 11 - 10 = 1.)
  EXPECT_EQ(OrgCodeCheckChar("I0000000"), '1');
}

TEST(CreditCodeTest, CheckFunctionsRejectBadInput) {
  EXPECT_EQ(OrgCodeCheckChar(""), '\0');
  EXPECT_EQ(OrgCodeCheckChar("M000100"), '\0');
  EXPECT_EQ(OrgCodeCheckChar("M000100Y4"), '\0');
  EXPECT_EQ(OrgCodeCheckChar("m000100Y"), '\0');
  EXPECT_EQ(OrgCodeCheckChar("M000-00Y"), '\0');
  EXPECT_EQ(CreditCodeCheckChar(kFuzhou.substr(0, 16)), '\0');
  EXPECT_EQ(CreditCodeCheckChar(kFuzhou), '\0');
  EXPECT_EQ(CreditCodeCheckChar("91350100I000100Y4"), '\0');
  EXPECT_EQ(CompleteCreditCode(""), "");
  EXPECT_EQ(CompleteCreditCode(kFuzhou.substr(0, 15)), "");
  EXPECT_EQ(CompleteCreditCode(kFuzhou.substr(0, 17)), "");
  EXPECT_EQ(CompleteCreditCode("91350100O000100Y"), "");
  EXPECT_EQ(CompleteCreditCode("91350100m000100Y"), "");
}

TEST(CreditCodeTest, WrongLength) {
  EXPECT_THAT(ValidateCreditCode(""), IsInvalid("must be 18 characters, got 0"));
  EXPECT_THAT(ValidateCreditCode(kFuzhou.substr(0, 17)),
              IsInvalid("must be 18 characters, got 17"));
  EXPECT_THAT(ValidateCreditCode(absl::StrCat(kFuzhou, "3")),
              IsInvalid("must be 18 characters, got 19"));
  EXPECT_THAT(ValidateCreditCode(absl::StrCat(" ", kFuzhou)),
              IsInvalid("must be 18 characters, got 19"));
}

TEST(CreditCodeTest, LowerCase) {
  EXPECT_THAT(ValidateCreditCode("91350100m000100Y43"), IsInvalid("must be upper case"));
  EXPECT_THAT(ValidateCreditCode("91110000100006485k"), IsInvalid("must be upper case"));
  EXPECT_THAT(ValidateCreditCode("91350100m000100y43"), IsInvalid("must be upper case"));
  // Lower case wins over a forbidden letter elsewhere.
  EXPECT_THAT(ValidateCreditCode("91350100I000100y43"), IsInvalid("must be upper case"));
  // Lower-case forms of the letters that are never used are still a case problem.
  EXPECT_THAT(ValidateCreditCode(WithCharAt(kFuzhou, 9, 'i')), IsInvalid("must be upper case"));
}

TEST(CreditCodeTest, ForbiddenLettersAtEveryPosition) {
  for (char c : absl::string_view("IOZSV")) {
    for (int position = 1; position <= 18; ++position) {
      EXPECT_THAT(
          ValidateCreditCode(WithCharAt(kFuzhou, position, c)),
          IsInvalid(absl::StrCat("character '", std::string(1, c), "' at position ", position,
                                 " is not allowed (I, O, Z, S, V are never used)")))
          << c << " at " << position;
    }
  }
  EXPECT_THAT(
      ValidateCreditCode("9135I100M000100Y43"),
      IsInvalid("character 'I' at position 5 is not allowed (I, O, Z, S, V are never used)"));
}

TEST(CreditCodeTest, OtherCharactersOutsideTheAlphabet) {
  EXPECT_THAT(ValidateCreditCode(WithCharAt(kFuzhou, 9, '-')),
              IsInvalid("character '-' at position 9 is not allowed"));
  EXPECT_THAT(ValidateCreditCode(WithCharAt(kFuzhou, 1, ' ')),
              IsInvalid("character ' ' at position 1 is not allowed"));
  EXPECT_THAT(ValidateCreditCode(WithCharAt(kFuzhou, 18, '\x01')),
              IsInvalid("character '\\x01' at position 18 is not allowed"));
  // One byte of a multi-byte UTF-8 sequence replaces two characters to keep 18 bytes.
  std::string utf8 = absl::StrCat("9", "\xC3\xA9", kFuzhou.substr(3));
  ASSERT_EQ(utf8.size(), 18u);
  EXPECT_THAT(ValidateCreditCode(utf8),
              IsInvalid("character '\\xc3' at position 2 is not allowed"));
}

TEST(CreditCodeTest, RegionMustBeDigits) {
  for (int position = 3; position <= 8; ++position) {
    std::string code = WithCharAt(kFuzhou, position, 'A');
    EXPECT_THAT(
        ValidateCreditCode(code),
        IsInvalid(absl::StrCat("administrative region (positions 3-8) must be 6 digits, got '",
                               code.substr(2, 6), "'")));
  }
  // Even with both check characters recomputed.
  std::string code = CompleteCreditCode("9135010AM000100Y");
  EXPECT_THAT(ValidateCreditCode(code),
              IsInvalid("administrative region (positions 3-8) must be 6 digits, got '35010A'"));
}

TEST(CreditCodeTest, EveryWrongOrgCodeCheckCharacterIsRejected) {
  for (absl::string_view code : {kFuzhou, kBeijing}) {
    char right = code[16];
    int rejected = 0;
    for (char c : kCreditCodeAlphabet) {
      if (c == right) continue;
      EXPECT_THAT(
          ValidateCreditCode(WithCharAt(code, 17, c)),
          IsInvalid(absl::StrCat("organisation code check character at position 17 should be '",
                                 std::string(1, right), "'")))
          << code << " with " << c;
      ++rejected;
    }
    EXPECT_EQ(rejected, 30);
  }
}

TEST(CreditCodeTest, EveryWrongFinalCheckCharacterIsRejected) {
  for (absl::string_view code : {kFuzhou, kBeijing}) {
    char right = code[17];
    int rejected = 0;
    for (char c : kCreditCodeAlphabet) {
      if (c == right) continue;
      EXPECT_THAT(ValidateCreditCode(WithCharAt(code, 18, c)),
                  IsInvalid(absl::StrCat("final check character at position 18 should be '",
                                         std::string(1, right), "'")))
          << code << " with " << c;
      ++rejected;
    }
    EXPECT_EQ(rejected, 30);
  }
}

TEST(CreditCodeTest, OrgCodeCheckXAndZeroAreAccepted) {
  // Find generated codes whose organisation check character is 'X' and '0'; both must
  // validate, and every other check character must be rejected.
  PrefixGenerator gen(7);
  bool saw_x = false;
  bool saw_zero = false;
  for (int i = 0; i < 10000 && !(saw_x && saw_zero); ++i) {
    std::string code = CompleteCreditCode(gen.Next());
    char check = code[16];
    if (check != 'X' && check != '0') continue;
    (check == 'X' ? saw_x : saw_zero) = true;
    EXPECT_TRUE(ValidateCreditCode(code).ok()) << code;
    for (char c : kCreditCodeAlphabet) {
      if (c == check) continue;
      EXPECT_THAT(
          ValidateCreditCode(WithCharAt(code, 17, c)),
          IsInvalid(absl::StrCat("organisation code check character at position 17 should be '",
                                 std::string(1, check), "'")));
    }
  }
  EXPECT_TRUE(saw_x);
  EXPECT_TRUE(saw_zero);
}

TEST(CreditCodeTest, CompletedCodesRoundTrip) {
  PrefixGenerator gen(20160701);
  for (int i = 0; i < 5000; ++i) {
    std::string first16 = gen.Next();
    std::string code = CompleteCreditCode(first16);
    ASSERT_EQ(code.size(), 18u);
    EXPECT_EQ(code.substr(0, 16), first16);
    EXPECT_EQ(code[16], OrgCodeCheckChar(code.substr(8, 8)));
    EXPECT_EQ(code[17], CreditCodeCheckChar(code.substr(0, 17)));
    EXPECT_TRUE(ValidateCreditCode(code).ok()) << code << ": " << ValidateCreditCode(code);
    EXPECT_EQ(RegionOfCreditCode(code), first16.substr(2, 6));
  }
}

TEST(CreditCodeTest, EverySingleSubstitutionIsRejected) {
  // The final check is mod 31 (a prime) with weights that are all non-zero mod 31, so
  // changing any one of positions 1-17 changes it.
  PrefixGenerator gen(42);
  for (int i = 0; i < 100; ++i) {
    std::string code = CompleteCreditCode(gen.Next());
    for (int position = 1; position <= 18; ++position) {
      bool region = position >= 3 && position <= 8;
      for (char c : kCreditCodeAlphabet) {
        if (c == code[position - 1]) continue;
        if (region && (c < '0' || c > '9')) continue;
        EXPECT_FALSE(ValidateCreditCode(WithCharAt(code, position, c)).ok())
            << code << " with " << c << " at " << position;
      }
    }
  }
}

TEST(CreditCodeTest, RegionOfCreditCode) {
  EXPECT_EQ(RegionOfCreditCode(kFuzhou), "350100");
  EXPECT_EQ(RegionOfCreditCode(kBeijing), "110000");
  EXPECT_EQ(RegionOfCreditCode("9135010"), "");
  EXPECT_EQ(RegionOfCreditCode("91350100"), "350100");
}

}  // namespace
}  // namespace refdata
}  // namespace iplus
