#pragma once

// The checks a transfer or account must pass on its own, before the ledger's state is
// consulted, and the body comparison behind idempotent ids.

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/funds/domain/types.h"

namespace iplus::funds {

// 1..64 characters of [A-Za-z0-9._:-].
bool IsValidTransferId(absl::string_view id);
// 1..128 characters of [A-Za-z0-9._:-].
bool IsValidAccountId(absl::string_view id);

// A transfer that fails validation: its result code, the offending field (relative to
// the transfer: "amount", "flags.pending", ...) and why.
struct TransferViolation {
  CreateTransferResult code = CreateTransferResult::kUnspecified;
  std::string field;
  std::string description;

  // INVALID_ARGUMENT naming `prefix` + "." + field (just field when prefix is empty).
  absl::Status ToStatus(absl::string_view prefix) const;
};

// The checks of CreateTransferResult kIdMalformed .. kTypeMissing, in that order; the
// first that fails. Output-only fields (timestamp, sequence, pending state) are ignored.
// A negative timeout is reported as kTimeoutReservedForPendingTransfer (the result
// codes have none closer), with the field "timeout".
std::optional<TransferViolation> ValidateTransfer(const Transfer& transfer);

// INVALID_ARGUMENT naming the field ("id", "ledger", "flags", "kind", "debits_posted",
// ...), or OK. Balances and create time must be zero in a create request.
absl::Status ValidateAccount(const Account& account);

// The first field in which a transfer request differs from the stored transfer with its
// id, or "" when they are the same body. Fields are compared in this order: flags,
// pending_id, timeout, debit_account_id, credit_account_id, amount, ledger, type,
// fund_id, project_id, milestone_id, memo. For post_pending and void_pending requests a
// field the request leaves empty or 0 (accounts, amount, ledger, type) matches the
// stored, resolved value, since it was taken from the pending transfer.
std::string DifferingField(const Transfer& request, const Transfer& stored);

// The first of ledger, flags, kind, fund_id, project_id in which two accounts with the
// same id differ, or "".
std::string DifferingAccountField(const Account& request, const Account& stored);

}  // namespace iplus::funds
