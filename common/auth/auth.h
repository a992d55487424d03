#pragma once

// Bearer-token principals and the token file that defines them.
//
// Token file format (mounted as a Secret; see TokenStore for reloading):
//
//   UTF-8 text, one token per line. Blank lines are ignored, and so is everything from a
//   field that starts with '#' to the end of its line (so a line starting with '#' is a
//   comment). Fields are separated by spaces or tabs:
//
//     <sha256> <principal> <role> <regions> [<funds>]
//
//   sha256     SHA-256 of the token as 64 lower-case hex digits (Sha256Hex). The file
//              never holds the token itself. To compute it:
//                printf '%s' "$TOKEN" | sha256sum
//   principal  the name logged and used for auditing; one principal may have several
//              lines (e.g. while a token is rotated).
//   role       admin | regulator | fund_manager | partner | viewer | service
//   regions    "*" for every region, or a comma-separated list of region prefixes of 1 to
//              6 digits ("44", "4401", "440103"; see common/refdata/region.h).
//   funds      fund managers only, where it is required: "*" or a comma-separated list of
//              fund ids. Other roles are not limited by fund.
//
//   Example (hashes shortened here; a real line holds all 64 digits):
//     # operations
//     9f86d081...0f00a08  ops      admin         *
//     2c26b46b...266e7ae  gd-bank  partner       44,4501
//     fcde2b2e...fbf8fb9  acme     fund_manager  *        F001,F002
//
//   The same hash on two lines is an error. Errors name the file, the line number and the
//   field, and never echo a field's value, so no hash or token reaches a log.
//
// Everything here is pure and thread-safe.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace iplus::auth {

enum class Role { kAdmin, kRegulator, kFundManager, kPartner, kViewer, kService };

// "admin", "regulator", "fund_manager", "partner", "viewer", "service" (exact, lower
// case). INVALID_ARGUMENT otherwise; the message does not echo the input.
absl::StatusOr<Role> ParseRole(absl::string_view name);

// The name ParseRole accepts.
const char* RoleName(Role role);

struct Principal {
  std::string name;
  Role role = Role::kViewer;
  std::vector<std::string> regions;  // region prefixes; empty when all_regions
  bool all_regions = false;
  std::vector<std::string> funds;  // fund ids; empty when all_funds
  bool all_funds = false;          // true for every role but fund_manager

  // Whether the principal may act on a region code, or on every region under a query
  // prefix: true if all_regions, or `region_code_or_prefix` starts with one of
  // `regions`. A query prefix broader than the principal's ("44" for a principal limited
  // to "4401"), including the empty prefix, is refused.
  bool MayTouchRegion(absl::string_view region_code_or_prefix) const;

  // Whether the principal may act on a fund: true if all_funds or `fund_id` is in funds.
  bool MayTouchFund(absl::string_view fund_id) const;
};

// SHA-256 of `data` as 64 lower-case hex digits.
std::string Sha256Hex(absl::string_view data);

// Parses a token file (format above) into (sha256, principal) pairs in file order.
// `file_name` only labels errors: INVALID_ARGUMENT "<file_name>:<line>: <field>: <reason>".
absl::StatusOr<std::vector<std::pair<std::string, Principal>>> ParseTokenFile(
    absl::string_view text, absl::string_view file_name);

}  // namespace iplus::auth
