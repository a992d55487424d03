#pragma once

// Industry classification codes (GB/T 4754-2017, "Industrial classification for
// national economic activities").
//
// A code is a section letter followed by a 2-digit division, optionally extended by the
// group digit and the class digit: "C26" (division), "C261" (group), "C2614" (class).
// The division must exist and belong to the section. Group and class digits are
// checked for form only; groups and classes are not built in.
//
// An industry prefix is a literal string prefix of such a code, 0 to 5 characters: ""
// (every industry), "C" (a section), "C2", "C26", "C261", "C2614".
//
// Manufacturing is section C, divisions C13-C43.
//
// All functions are pure and thread-safe.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace iplus {
namespace refdata {

struct Section {
  char letter;          // 'C'
  std::string name;     // "Manufacturing"
  std::string name_zh;  // "制造业"
};

struct Division {
  std::string code;     // "C26": section letter and two digits
  char section;         // 'C'
  std::string name;     // "Chemical raw materials and chemical products"
  std::string name_zh;  // "化学原料和化学制品制造业"
};

// The 20 sections A-T in order. The reference lives for the whole program.
const std::vector<Section>& Sections();

// The 97 divisions 01-97 in order. The reference lives for the whole program.
const std::vector<Division>& Divisions();

// The 31 manufacturing divisions C13-C43 in order. The reference lives for the whole
// program.
const std::vector<Division>& ManufacturingDivisions();

// OK for a division, group or class code ("C26", "C261", "C2614") whose division
// exists in its section; otherwise INVALID_ARGUMENT without a field name.
absl::Status ValidateIndustryCode(absl::string_view code);

// OK for "" or a prefix of at most 5 characters that some valid code starts with: a
// known section letter, then digits, where two or more digits must name a division of
// that section and a single digit must start one. Otherwise INVALID_ARGUMENT without a
// field name.
absl::Status ValidateIndustryPrefix(absl::string_view prefix);

// Whether `code` is a valid industry code in manufacturing (C13-C43). False for
// invalid codes and for prefixes shorter than a division ("C").
bool IsManufacturing(absl::string_view code);

// "C2614" -> "C26". REQUIRES: ValidateIndustryCode(code).ok(); returns "" for codes
// shorter than a division.
std::string DivisionOf(absl::string_view code);

// The division with exactly this code ("C26"); nullopt for anything else, including
// group and class codes (use DivisionOf first).
absl::optional<Division> FindDivision(absl::string_view division_code);

}  // namespace refdata
}  // namespace iplus
