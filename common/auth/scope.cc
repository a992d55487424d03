#include "common/auth/scope.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/refdata/credit_code.h"
#include "common/refdata/region.h"

namespace iplus::auth {
namespace {

absl::Status Denied(absl::string_view what) {
  return absl::PermissionDeniedError(absl::StrCat(what, " is outside the caller's regions"));
}

// Two region prefixes overlap when one starts with the other.
bool Overlap(absl::string_view a, absl::string_view b) {
  return absl::StartsWith(a, b) || absl::StartsWith(b, a);
}

}  // namespace

absl::Status CheckEnterprise(const Principal& p, absl::string_view code,
                             const std::string* registered_region) {
  if (p.all_regions) return absl::OkStatus();
  if (!refdata::ValidateCreditCode(code).ok()) return absl::OkStatus();
  std::string region =
      registered_region != nullptr ? *registered_region : refdata::RegionOfCreditCode(code);
  if (p.MayTouchRegion(region)) return absl::OkStatus();
  return Denied(absl::StrCat("enterprise ", code));
}

absl::Status CheckRegion(const Principal& p, absl::string_view region_or_prefix) {
  if (p.all_regions) return absl::OkStatus();
  if (!refdata::ValidateRegionPrefix(region_or_prefix).ok()) return absl::OkStatus();
  if (p.MayTouchRegion(region_or_prefix)) return absl::OkStatus();
  return Denied(region_or_prefix.empty() ? std::string("the whole country")
                                         : absl::StrCat("region ", region_or_prefix));
}

absl::StatusOr<std::string> EffectiveRegionPrefix(const Principal& p, absl::string_view requested,
                                                  absl::string_view instance_region) {
  if (p.all_regions) return std::string(requested);
  if (!requested.empty()) {
    if (absl::Status s = CheckRegion(p, requested); !s.ok()) return s;
    return std::string(requested);
  }
  if (CheckCoversInstance(p, instance_region).ok()) return std::string();
  std::vector<std::string> overlapping;
  for (const std::string& region : p.regions) {
    if (Overlap(region, instance_region)) overlapping.push_back(region);
  }
  if (overlapping.size() == 1) return overlapping[0];
  if (overlapping.empty()) return Denied("this instance's region");
  return absl::PermissionDeniedError(
      "the caller is limited to several regions: name one in scope.region_prefix");
}

absl::Status CheckCoversInstance(const Principal& p, absl::string_view instance_region) {
  if (p.all_regions) return absl::OkStatus();
  if (!instance_region.empty() && p.MayTouchRegion(instance_region)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      "this call reads the whole instance; the caller's regions do not cover it");
}

absl::Status CheckFund(const Principal& p, absl::string_view fund_id) {
  if (p.MayTouchFund(fund_id)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("fund ", fund_id, " is not among the caller's funds"));
}

}  // namespace iplus::auth
