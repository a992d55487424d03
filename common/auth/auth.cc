#include "common/auth/auth.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstddef>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/refdata/region.h"

namespace iplus::auth {
namespace {

constexpr struct {
  Role role;
  const char* name;
} kRoles[] = {
    {Role::kAdmin, "admin"},
    {Role::kRegulator, "regulator"},
    {Role::kFundManager, "fund_manager"},
    {Role::kPartner, "partner"},
    {Role::kViewer, "viewer"},
    {Role::kService, "service"},
};

constexpr char kFieldSeparators[] = " \t\r\f\v";

bool IsLowerHex64(absl::string_view s) {
  if (s.size() != 64) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool IsDigits(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Splits a comma-separated list; "*" alone means "all". Returns an error description
// (never echoing the value) or an empty string.
std::string ParseList(absl::string_view field, std::vector<std::string>* items, bool* all) {
  if (field == "*") {
    *all = true;
    return "";
  }
  for (absl::string_view item : absl::StrSplit(field, ',')) {
    if (item.empty()) return "empty list element";
    if (item == "*") return "\"*\" must stand alone";
    items->emplace_back(item);
  }
  return "";
}

}  // namespace

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  for (const auto& r : kRoles) {
    if (name == r.name) return r.role;
  }
  return absl::InvalidArgumentError(
      "unknown role; expected admin, regulator, fund_manager, partner, viewer or service");
}

const char* RoleName(Role role) {
  for (const auto& r : kRoles) {
    if (r.role == role) return r.name;
  }
  return "unknown";
}

bool Principal::MayTouchRegion(absl::string_view region_code_or_prefix) const {
  if (all_regions) return true;
  return std::any_of(regions.begin(), regions.end(), [&](const std::string& prefix) {
    return absl::StartsWith(region_code_or_prefix, prefix);
  });
}

bool Principal::MayTouchFund(absl::string_view fund_id) const {
  if (all_funds) return true;
  return std::find(funds.begin(), funds.end(), fund_id) != funds.end();
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    // Only an OpenSSL misconfiguration gets here; an empty string matches no hash.
    return "";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, Principal>>> ParseTokenFile(
    absl::string_view text, absl::string_view file_name) {
  absl::ConsumePrefix(&text, "\xEF\xBB\xBF");  // UTF-8 byte order mark
  std::vector<std::pair<std::string, Principal>> out;
  absl::flat_hash_map<std::string, size_t> line_of_hash;
  size_t line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    auto error = [&](absl::string_view field, absl::string_view reason) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_name, ":", line_number, ": ", field, ": ", reason));
    };
    std::vector<absl::string_view> fields;
    for (absl::string_view f :
         absl::StrSplit(line, absl::ByAnyChar(kFieldSeparators), absl::SkipEmpty())) {
      if (f[0] == '#') break;
      fields.push_back(f);
    }
    if (fields.empty()) continue;
    if (fields.size() < 4 || fields.size() > 5) {
      return error("line", absl::StrCat("expected 4 or 5 fields, got ", fields.size()));
    }
    if (!IsLowerHex64(fields[0])) {
      return error("sha256", "must be 64 lower-case hex digits");
    }
    Principal p;
    p.name = std::string(fields[1]);
    auto role = ParseRole(fields[2]);
    if (!role.ok()) return error("role", role.status().message());
    p.role = *role;

    std::string reason = ParseList(fields[3], &p.regions, &p.all_regions);
    if (!reason.empty()) return error("regions", reason);
    for (const std::string& prefix : p.regions) {
      if (prefix.size() > 6 || !IsDigits(prefix) || !refdata::ValidateRegionPrefix(prefix).ok()) {
        return error("regions", "each prefix must be 1 to 6 digits starting with a known province");
      }
    }

    if (p.role == Role::kFundManager) {
      if (fields.size() != 5) return error("funds", "required for fund_manager");
      reason = ParseList(fields[4], &p.funds, &p.all_funds);
      if (!reason.empty()) return error("funds", reason);
    } else {
      if (fields.size() == 5) return error("funds", "allowed for fund_manager only");
      p.all_funds = true;
    }

    std::string hash(fields[0]);
    auto [it, inserted] = line_of_hash.emplace(hash, line_number);
    if (!inserted) {
      return error("sha256", absl::StrCat("duplicate of line ", it->second));
    }
    out.emplace_back(std::move(hash), std::move(p));
  }
  return out;
}

}  // namespace iplus::auth
