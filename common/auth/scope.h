#pragma once

// The checks that narrow an authorized call to the caller's regions and funds, shared by
// every service's handlers (the role was already checked against the policy table).
// Each returns OK or PERMISSION_DENIED; the message never says whether the object exists.
//
// Regions of an enterprise: the region the registry holds for it; for a code the
// registry does not know, the region embedded in the credit code (positions 3-8). So an
// unknown code outside the caller's regions is PERMISSION_DENIED, exactly like a known
// one, and an unknown code inside them gets the service's NOT_FOUND (or its
// UNKNOWN_ENTERPRISE reject reason).
//
// Malformed input is left alone (OK): the handler's own validation then answers
// INVALID_ARGUMENT naming the field, as it would for any caller.
//
// Pure and thread-safe.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/auth/auth.h"

namespace iplus::auth {

// Whether the caller is limited to some regions (false for "*"), i.e. whether the
// region checks below can refuse anything. Handlers skip look-ups when false.
inline bool RegionLimited(const Principal& p) { return !p.all_regions; }

// An enterprise `code` whose registered region is `*registered_region`, or, when
// `registered_region` is null (unknown to the registry), the region in the code.
absl::Status CheckEnterprise(const Principal& p, absl::string_view code,
                             const std::string* registered_region);

// A 6-digit region code or a region prefix named by the request (`field`, e.g.
// "enterprise.region"): it must lie within one of the caller's regions.
absl::Status CheckRegion(const Principal& p, absl::string_view region_or_prefix);

// The region prefix a list, count or export should use. `requested` is the request's
// scope.region_prefix, `instance_region` the instance's configured prefix ("" national).
//  - a requested prefix must lie within the caller's regions (else PERMISSION_DENIED);
//  - an empty one stays empty when the caller's regions cover the whole instance;
//    otherwise it is narrowed to the one caller region that overlaps the instance, and
//    refused (PERMISSION_DENIED, asking for scope.region_prefix) when none or several do.
absl::StatusOr<std::string> EffectiveRegionPrefix(const Principal& p, absl::string_view requested,
                                                  absl::string_view instance_region);

// For calls that read the whole instance with no region filter (change streams, scans,
// coverage, audit): the caller's regions must cover the instance's region; a national
// instance ("") is covered only by "*".
absl::Status CheckCoversInstance(const Principal& p, absl::string_view instance_region);

// A fund: fund managers only for the funds in their token; other roles are not limited
// by fund (their role decides).
absl::Status CheckFund(const Principal& p, absl::string_view fund_id);

}  // namespace iplus::auth
