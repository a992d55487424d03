#include "common/refdata/credit_code.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace iplus {
namespace refdata {
namespace {

// GB 11714 weights for the eight body characters of an organisation code.
constexpr std::array<int, 8> kOrgWeights = {3, 7, 9, 10, 5, 8, 4, 2};

// GB 32100 weights for positions 1-17: 3^i mod 31.
constexpr std::array<int, 17> kCreditWeights = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                                29, 25, 13, 8,  24, 10, 30, 28};

// Index of `c` in kCreditCodeAlphabet, or -1.
int AlphabetIndex(char c) {
  auto pos = kCreditCodeAlphabet.find(c);
  return pos == absl::string_view::npos ? -1 : static_cast<int>(pos);
}

// GB 11714 character value: digits 0-9, Latin letters A=10 ... Z=35, or -1. The
// organisation code standard numbers the whole Latin alphabet, so the letters the
// credit code alphabet skips keep their places (J is 19, not 18).
int OrgCodeValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return -1;
}

bool IsNeverUsedLetter(char c) { return c == 'I' || c == 'O' || c == 'Z' || c == 'S' || c == 'V'; }

}  // namespace

char OrgCodeCheckChar(absl::string_view body8) {
  if (body8.size() != kOrgWeights.size()) return '\0';
  int sum = 0;
  for (size_t i = 0; i < kOrgWeights.size(); ++i) {
    int v = OrgCodeValue(body8[i]);
    if (v < 0) return '\0';
    sum += v * kOrgWeights[i];
  }
  int c = 11 - sum % 11;
  if (c == 10) return 'X';
  if (c == 11) return '0';
  return static_cast<char>('0' + c);
}

char CreditCodeCheckChar(absl::string_view first17) {
  if (first17.size() != kCreditWeights.size()) return '\0';
  int sum = 0;
  for (size_t i = 0; i < kCreditWeights.size(); ++i) {
    int v = AlphabetIndex(first17[i]);
    if (v < 0) return '\0';
    sum += v * kCreditWeights[i];
  }
  int c = (31 - sum % 31) % 31;
  return kCreditCodeAlphabet[c];
}

std::string CompleteCreditCode(absl::string_view first16) {
  if (first16.size() != 16) return "";
  for (char c : first16) {
    if (AlphabetIndex(c) < 0) return "";
  }
  std::string code(first16);
  code.push_back(OrgCodeCheckChar(first16.substr(8, 8)));
  code.push_back(CreditCodeCheckChar(code));
  return code;
}

std::string RegionOfCreditCode(absl::string_view code) {
  if (code.size() < 8) return "";
  return std::string(code.substr(2, 6));
}

absl::Status ValidateCreditCode(absl::string_view code) {
  if (code.size() != static_cast<size_t>(kCreditCodeLength)) {
    return absl::InvalidArgumentError(
        absl::StrCat("must be ", kCreditCodeLength, " characters, got ", code.size()));
  }
  for (char c : code) {
    if (absl::ascii_islower(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("must be upper case");
    }
  }
  for (size_t i = 0; i < code.size(); ++i) {
    if (AlphabetIndex(code[i]) >= 0) continue;
    std::string message = absl::StrCat("character '", absl::CHexEscape(code.substr(i, 1)),
                                       "' at position ", i + 1, " is not allowed");
    if (IsNeverUsedLetter(code[i])) absl::StrAppend(&message, " (I, O, Z, S, V are never used)");
    return absl::InvalidArgumentError(message);
  }
  absl::string_view region = code.substr(2, 6);
  for (char c : region) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "administrative region (positions 3-8) must be 6 digits, got '", region, "'"));
    }
  }
  char org_check = OrgCodeCheckChar(code.substr(8, 8));
  if (code[16] != org_check) {
    return absl::InvalidArgumentError(
        absl::StrCat("organisation code check character at position 17 should be '",
                     std::string(1, org_check), "'"));
  }
  char final_check = CreditCodeCheckChar(code.substr(0, 17));
  if (code[17] != final_check) {
    return absl::InvalidArgumentError(absl::StrCat(
        "final check character at position 18 should be '", std::string(1, final_check), "'"));
  }
  return absl::OkStatus();
}

}  // namespace refdata
}  // namespace iplus
