#pragma once

// The fund operations as pure functions: which accounts a fund and a project have, and
// which transfers each operation creates (funds.proto's header):
//
//   operation           transfer (debit -> credit)                 IATI type
//   CapitaliseFund      fund source -> fund                        INCOMING_FUNDS
//   CommitToProject     fund -> project commitment, pending        OUTGOING_COMMITMENT
//   PostCommitment      post_pending of the commitment             OUTGOING_COMMITMENT
//   VoidCommitment      void_pending of the commitment             OUTGOING_COMMITMENT
//   DisburseMilestone   project commitment -> project disbursed    DISBURSEMENT
//   ReleaseCommitment   project commitment -> fund                 OUTGOING_COMMITMENT
//   ClawBack            project disbursed -> fund                  INCOMING_FUNDS
//
// Transfer ids derive from the request id, so a retry creates nothing however late it
// comes: "<op>:<request_id>" (op = capitalise, commit, post, void, release, clawback)
// when the request id is made of [A-Za-z0-9_-] and the result fits in 64 characters,
// else "<op>:h.<the first 40 hex digits of SHA-256(request_id)>" (the '.' keeps the two
// forms apart). Post and void name the accounts explicitly, so posting a pending
// transfer of another project fails with PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS.
//
// DisburseMilestone is the exception: its transfer id derives from the project and the
// milestone (MilestoneTransferId), and the request id goes into the memo. A milestone is
// therefore paid at most once: the same request again finds its transfer (EXISTS), a
// different request id finds the same id with another memo (EXISTS_WITH_DIFFERENT_BODY).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/funds/domain/types.h"

namespace iplus::funds {

enum class FundOperation {
  kCapitaliseFund,
  kCommitToProject,
  kPostCommitment,
  kVoidCommitment,
  kDisburseMilestone,
  kReleaseCommitment,
  kClawBack,
};

// "capitalise", "commit", ...: the prefix of the operation's transfer ids.
const char* OperationName(FundOperation op);

// Account ids: "fund:<fund>:source", "fund:<fund>", "project:<project>:commitment",
// "project:<project>:disbursed".
std::string FundSourceAccountId(absl::string_view fund_id);
std::string FundAccountId(absl::string_view fund_id);
std::string ProjectCommitmentAccountId(absl::string_view project_id);
std::string ProjectDisbursedAccountId(absl::string_view project_id);

// The accounts to create with a fund (source: no balance flag; fund:
// debits_must_not_exceed_credits) and with a project (commitment and disbursed, both
// debits_must_not_exceed_credits).
std::vector<Account> FundAccounts(absl::string_view fund_id);
std::vector<Account> ProjectAccounts(absl::string_view fund_id, absl::string_view project_id);

struct FundOperationRequest {
  FundOperation operation = FundOperation::kCapitaliseFund;
  std::string fund_id;
  // Every operation but CapitaliseFund.
  std::string project_id;
  // Fen. Positive; for PostCommitment 0 means the whole pending amount; ignored by
  // VoidCommitment. ReleaseCommitment's "everything left" is resolved by the caller.
  int64_t amount = 0;
  // CommitToProject only: the commitment voids itself after this; 0 never.
  int64_t timeout_ns = 0;
  // PostCommitment and VoidCommitment: the pending transfer CommitToProject created.
  std::string pending_transfer_id;
  // DisburseMilestone (required) and ClawBack (optional).
  std::string milestone_id;
  // The memo, or the reason of a void, release or claw back. Ignored by
  // DisburseMilestone, whose memo is the request id.
  std::string memo;
  std::string request_id;
};

// The transfer id an operation with this request id creates (every operation but
// DisburseMilestone, whose id is MilestoneTransferId).
std::string OperationTransferId(FundOperation op, absl::string_view request_id);

// The one transfer that disburses a milestone: "disburse:<project>:<milestone>" when
// the milestone id is made of [A-Za-z0-9._-] and the result fits in 64 characters, else
// "disburse:h.<the first 40 hex digits of SHA-256(project + ":" + milestone)>".
std::string MilestoneTransferId(absl::string_view project_id, absl::string_view milestone_id);

// The transfer id of `request` (OperationTransferId or MilestoneTransferId).
std::string TransferIdFor(const FundOperationRequest& request);

// The transfers the operation creates (one), or INVALID_ARGUMENT naming the field
// ("request_id", "fund_id", "project_id", "amount", "timeout", "pending_transfer_id",
// "milestone_id").
absl::StatusOr<std::vector<Transfer>> TransfersFor(const FundOperationRequest& request);

}  // namespace iplus::funds
