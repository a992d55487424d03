#pragma once

// The checks a fund or project must pass before it is stored, the comparison behind
// idempotent creates, and Money in fen. Pure: no Redis, no gRPC.
//
// Fields are named by their path in the create request ("fund.sponsor.region_code",
// "project.milestones[2].amount.fen", "project.milestones[1].condition.rule"); every
// violation of a request is reported at once, in one INVALID_ARGUMENT.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "iplus/common/v1/common.pb.h"
#include "iplus/funds/v1/funds.pb.h"

namespace iplus::funds {

// Lengths in characters (Unicode code points).
inline constexpr int kMaxNameChars = 200;          // fund name, project and milestone title
inline constexpr int kMaxDescriptionChars = 2000;  // fund description
inline constexpr int kMaxMemoChars = 500;          // memo and reason of a fund operation
inline constexpr int kMaxMilestones = 100;
inline constexpr int kMaxIdChars = 64;

// Lower-case kebab case (a-z, 0-9, single hyphens inside), 1..64 characters: fund and
// project ids.
bool IsKebabId(absl::string_view id);
// 1..64 characters of [A-Za-z0-9._-]: milestone ids.
bool IsMilestoneId(absl::string_view id);

// Characters (code points) of UTF-8 text.
int CharCount(absl::string_view text);
// INVALID_ARGUMENT naming `field` when `text` has fewer than `min` or more than `max`
// characters, or (min > 0) is only white space.
absl::Status CheckText(absl::string_view text, absl::string_view field, int min, int max);

// The fen of a Money that must be CNY and positive. `present` is whether the message
// was set (has_amount()). INVALID_ARGUMENT naming `field` (unset), `field.currency` or
// `field.fen`.
absl::StatusOr<int64_t> PositiveFen(const iplus::common::v1::Money& money, bool present,
                                    absl::string_view field);
// CNY `fen`.
iplus::common::v1::Money Cny(int64_t fen);
void SetCny(int64_t fen, iplus::common::v1::Money* out);

// The fields a client sets, with every output-only field cleared.
v1::Fund FundContent(const v1::Fund& fund);
v1::Project ProjectContent(const v1::Project& project);

// INVALID_ARGUMENT listing every malformed field of a fund to create: id, name (1..200
// characters), sponsor (one of a valid 6-digit region code, a valid credit code, or
// national=true), focus areas (known, none repeated), currency ("CNY"), description
// (0..2000). Output-only fields are ignored.
absl::Status ValidateFund(const v1::Fund& fund);

// Likewise for a project: id, fund_id, beneficiary_code (a valid credit code), kind,
// title, budget (positive CNY), milestones (1..100; unique ids; title; positive CNY
// amounts adding up to at most the budget; a condition, when set, with an indicator
// (lower-case snake case), a baseline and a later current period of one granularity,
// and a valid rule).
absl::Status ValidateProject(const v1::Project& project);

// The first client field in which a create request differs from the stored fund or
// project ("fund.name", "project.milestones[1].amount"), or "" when the content is the
// same.
std::string DifferingFundField(const v1::Fund& request, const v1::Fund& stored);
std::string DifferingProjectField(const v1::Project& request, const v1::Project& stored);

// The sum of a valid project's milestone amounts, in fen.
int64_t MilestonesTotal(const v1::Project& project);

}  // namespace iplus::funds
