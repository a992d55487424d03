#pragma once

// Unified Social Credit Code (GB 32100-2015), the 18-character enterprise id.
//
// Layout (positions are 1-based, as in the standard):
//   1      registration authority          e.g. '9' industry and commerce
//   2      organisation category            e.g. '1' enterprise
//   3-8    administrative region (GB/T 2260), six digits
//   9-17   organisation code (GB 11714): eight body characters and a check character
//   18     final check character over positions 1-17
//
// Every character comes from the 31-character alphabet
// "0123456789ABCDEFGHJKLMNPQRTUWXY" (the letters I, O, Z, S and V are never used).
// The registration authority, category and region are checked for form only: the
// region may name a national-level registry ("100000"), which GB/T 2260 lacks.
//
// All functions are pure and thread-safe.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace iplus {
namespace refdata {

// The 31 characters a credit code may contain, in check-value order.
inline constexpr absl::string_view kCreditCodeAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";

inline constexpr int kCreditCodeLength = 18;

// OK, or INVALID_ARGUMENT describing the first problem found (without a field name;
// callers wrap it with iplus::InvalidField). Problems are reported in this order:
// length, lower case, characters outside the alphabet, non-digit region, organisation
// code check character, final check character.
absl::Status ValidateCreditCode(absl::string_view code);

// The GB 11714 check character ('0'-'9' or 'X') of an organisation code body.
// REQUIRES: body8 is 8 characters of [0-9A-Z]; returns '\0' otherwise.
char OrgCodeCheckChar(absl::string_view body8);

// The final check character of a credit code (an element of kCreditCodeAlphabet).
// REQUIRES: first17 is 17 characters of kCreditCodeAlphabet; returns '\0' otherwise.
char CreditCodeCheckChar(absl::string_view first17);

// first16 followed by the organisation code check character and the final check
// character: a code that passes ValidateCreditCode whenever positions 3-8 are digits.
// Used by tests, data generators and benchmarks.
// REQUIRES: first16 is 16 characters of kCreditCodeAlphabet; returns "" otherwise.
std::string CompleteCreditCode(absl::string_view first16);

// Positions 3-8, the administrative region part ("350100" for "91350100M000100Y43").
// REQUIRES: code is at least 8 characters long; returns "" otherwise.
std::string RegionOfCreditCode(absl::string_view code);

}  // namespace refdata
}  // namespace iplus
