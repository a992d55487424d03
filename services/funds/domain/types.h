#pragma once

// The funds ledger's value types: accounts, transfers, their flags and the outcome of
// creating them. Plain structs with no behaviour; the rules are in validate.h and
// engine.h, the specification in ledger.h. Amounts are int64 fen, times int64
// nanoseconds since the Unix epoch (exact, and comparable without conversion).

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/status.h"

namespace iplus::funds {

// The only ledger: CNY in fen.
inline constexpr int32_t kLedgerCny = 1;

// Balance rules of an account; at most one may be set.
struct AccountFlags {
  // debits_pending + debits_posted may not exceed credits_posted.
  bool debits_must_not_exceed_credits = false;
  // credits_pending + credits_posted may not exceed debits_posted.
  bool credits_must_not_exceed_debits = false;

  friend bool operator==(const AccountFlags& a, const AccountFlags& b) {
    return a.debits_must_not_exceed_credits == b.debits_must_not_exceed_credits &&
           a.credits_must_not_exceed_debits == b.credits_must_not_exceed_debits;
  }
  friend bool operator!=(const AccountFlags& a, const AccountFlags& b) { return !(a == b); }
};

// Values as in funds.proto's AccountKind.
enum class AccountKind : int32_t {
  kUnspecified = 0,
  kFundSource = 1,
  kFund = 2,
  kProjectCommitment = 3,
  kProjectDisbursed = 4,
};

struct Account {
  // Server-assigned, 1..128 characters of [A-Za-z0-9._:-].
  std::string id;
  int32_t ledger = kLedgerCny;
  AccountFlags flags;
  AccountKind kind = AccountKind::kUnspecified;
  // User data: the fund and project the account belongs to (project empty for a
  // fund's own accounts). Not interpreted by the ledger.
  std::string fund_id;
  std::string project_id;
  // Balances, maintained by the ledger; zero in a create request.
  int64_t debits_pending = 0;
  int64_t debits_posted = 0;
  int64_t credits_pending = 0;
  int64_t credits_posted = 0;
  // Output only: set when the account is created.
  int64_t create_time_ns = 0;

  friend bool operator==(const Account& a, const Account& b);
  friend bool operator!=(const Account& a, const Account& b) { return !(a == b); }
};
void PrintTo(const Account& account, std::ostream* os);

// The IATI Transaction Type codelist; values as in funds.proto.
enum class IatiType : int32_t {
  kUnspecified = 0,
  kIncomingFunds = 1,
  kOutgoingCommitment = 2,
  kDisbursement = 3,
  kExpenditure = 4,
  kInterestPayment = 5,
  kLoanRepayment = 6,
  kReimbursement = 7,
  kPurchaseOfEquity = 8,
  kSaleOfEquity = 9,
  kCreditGuarantee = 10,
  kIncomingCommitment = 11,
  kOutgoingPledge = 12,
  kIncomingPledge = 13,
};
inline constexpr int32_t kMaxIatiType = 13;

struct TransferFlags {
  // Linked to the next transfer of the same request: the chain applies all or nothing.
  bool linked = false;
  // Reserves the amount until posted, voided or timed out.
  bool pending = false;
  // Posts the pending transfer named by pending_id.
  bool post_pending_transfer = false;
  // Voids the pending transfer named by pending_id.
  bool void_pending_transfer = false;

  friend bool operator==(const TransferFlags& a, const TransferFlags& b) {
    return a.linked == b.linked && a.pending == b.pending &&
           a.post_pending_transfer == b.post_pending_transfer &&
           a.void_pending_transfer == b.void_pending_transfer;
  }
  friend bool operator!=(const TransferFlags& a, const TransferFlags& b) { return !(a == b); }
};

// The state of a pending transfer. Not part of the transfer's body or journal entry: it
// follows from the later post_pending, void_pending or expiry entry.
enum class PendingState : int32_t {
  kNone = 0,     // not a pending transfer
  kPending = 1,  // reserved, not yet resolved
  kPosted = 2,
  kVoided = 3,
  kExpired = 4,  // its timeout passed; the ledger voided it
};

// Prefix of the ids of the void_pending transfers the ledger creates when a pending
// transfer times out: "~expire:" + the pending transfer's id. '~' is outside the
// character set of client ids, so these never collide with them.
inline constexpr char kExpiryIdPrefix[] = "~expire:";

struct Transfer {
  // Client-chosen, 1..64 characters of [A-Za-z0-9._:-]; kept for ever.
  std::string id;
  std::string debit_account_id;
  std::string credit_account_id;
  // Fen. Positive; for post_pending_transfer 0 means the whole pending amount, for
  // void_pending_transfer 0 or the pending amount. Stored resolved.
  int64_t amount = 0;
  // kLedgerCny; for post/void 0 means the pending transfer's.
  int32_t ledger = 0;
  // An IatiType value; for post/void 0 means the pending transfer's.
  int32_t type = 0;
  TransferFlags flags;
  // For post_pending_transfer and void_pending_transfer: the pending transfer's id.
  std::string pending_id;
  // For pending: voids itself this long after its timestamp; 0 never.
  int64_t timeout_ns = 0;
  // Annotations, not interpreted by the ledger.
  std::string fund_id;
  std::string project_id;
  std::string milestone_id;
  std::string memo;

  // Output only: when the transfer was applied (strictly increasing in the ledger), and
  // its journal entry.
  int64_t timestamp_ns = 0;
  int64_t journal_sequence = 0;
  // Output only, not part of the body: for a pending transfer, its current state.
  PendingState pending_state = PendingState::kNone;

  bool is_post_or_void() const {
    return flags.post_pending_transfer || flags.void_pending_transfer;
  }

  friend bool operator==(const Transfer& a, const Transfer& b);
  friend bool operator!=(const Transfer& a, const Transfer& b) { return !(a == b); }
};
void PrintTo(const Transfer& transfer, std::ostream* os);

// Values as in funds.proto's CreateTransferResult. The codes from kIdMalformed on are
// checked in the order listed; the first that applies is reported (see ledger.h).
enum class CreateTransferResult : int32_t {
  kUnspecified = 0,
  kOk = 1,
  kExists = 2,
  kExistsWithDifferentBody = 3,
  kLinkedEventFailed = 4,
  kLinkedEventChainOpen = 5,
  kIdMalformed = 6,
  kFlagsAreMutuallyExclusive = 7,
  kDebitAccountIdMissing = 8,
  kCreditAccountIdMissing = 9,
  kAccountsMustBeDifferent = 10,
  kPendingIdMustBeEmpty = 11,
  kPendingIdMissing = 12,
  kTimeoutReservedForPendingTransfer = 13,
  kAmountMustBePositive = 14,
  kLedgerMissing = 15,
  kTypeMissing = 16,
  kDebitAccountNotFound = 17,
  kCreditAccountNotFound = 18,
  kAccountsMustHaveTheSameLedger = 19,
  kTransferMustHaveTheSameLedgerAsAccounts = 20,
  kPendingTransferNotFound = 21,
  kPendingTransferNotPending = 22,
  kPendingTransferHasDifferentAccounts = 23,
  kPendingTransferAlreadyPosted = 24,
  kPendingTransferAlreadyVoided = 25,
  kPendingTransferExpired = 26,
  kExceedsPendingTransferAmount = 27,
  kPendingTransferHasDifferentAmount = 28,
  kOverflows = 29,
  kExceedsCredits = 30,
  kExceedsDebits = 31,
};

// "OK", "EXISTS_WITH_DIFFERENT_BODY", ...: the proto name without its prefix.
const char* ResultName(CreateTransferResult result);
std::ostream& operator<<(std::ostream& os, CreateTransferResult result);

// The status code funds.proto gives each result: OK for OK and EXISTS, ALREADY_EXISTS,
// ABORTED for LINKED_EVENT_FAILED, INVALID_ARGUMENT for a malformed transfer, NOT_FOUND
// for a missing account or pending transfer, FAILED_PRECONDITION otherwise.
absl::StatusCode ResultStatusCode(CreateTransferResult result);

// The outcome of one transfer of a CreateTransfers request.
struct TransferResult {
  // Position of the transfer in the request, from 0.
  int index = 0;
  CreateTransferResult result = CreateTransferResult::kUnspecified;
  // Code as ResultStatusCode(result); for INVALID_ARGUMENT it carries a field violation
  // naming "transfers[<index>].<field>".
  absl::Status status;
  // The stored transfer, for kOk and kExists.
  Transfer transfer;
  // For kLinkedEventFailed: the index of the first transfer of the chain that failed.
  int failed_index = -1;
  // For kExistsWithDifferentBody: the first field that differs ("amount", "flags", ...).
  std::string differing_field;

  bool succeeded() const {
    return result == CreateTransferResult::kOk || result == CreateTransferResult::kExists;
  }
};

// The outcome of creating one account.
struct AccountResult {
  // OK (created, or an identical account existed); ALREADY_EXISTS with a different
  // body; INVALID_ARGUMENT naming "accounts[<index>].<field>".
  absl::Status status;
  bool created = false;
  // The stored account, when status is OK.
  Account account;
};

// The newest journal entry: sequence 0 and 64 zeros for an empty journal.
struct JournalHead {
  int64_t sequence = 0;
  std::string hash;  // lower-case hex SHA-256
  int64_t timestamp_ns = 0;

  friend bool operator==(const JournalHead& a, const JournalHead& b) {
    return a.sequence == b.sequence && a.hash == b.hash && a.timestamp_ns == b.timestamp_ns;
  }
};

struct JournalEntry {
  int64_t sequence = 0;
  Transfer transfer;  // pending_state is kNone here: the entry is the immutable body
  std::string prev_hash;
  std::string hash;
};

// What VerifyJournal reports (funds.proto's VerifyJournalResponse).
struct VerifyReport {
  bool ok = false;
  int64_t entries_checked = 0;
  // The first entry whose hash, sequence or content is wrong; 0 when none.
  int64_t first_bad_sequence = 0;
  // What is wrong, e.g. "account fund:x credits_posted 100 != 90 recomputed"; empty when ok.
  std::string discrepancy;
  int64_t balances_checked = 0;
  int64_t head_sequence = 0;
  std::string head_hash;
};

}  // namespace iplus::funds
