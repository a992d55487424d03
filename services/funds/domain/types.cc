#include "services/funds/domain/types.h"

#include <tuple>

namespace iplus::funds {

bool operator==(const Account& a, const Account& b) {
  return std::tie(a.id, a.ledger, a.flags, a.kind, a.fund_id, a.project_id, a.debits_pending,
                  a.debits_posted, a.credits_pending, a.credits_posted, a.create_time_ns) ==
         std::tie(b.id, b.ledger, b.flags, b.kind, b.fund_id, b.project_id, b.debits_pending,
                  b.debits_posted, b.credits_pending, b.credits_posted, b.create_time_ns);
}

bool operator==(const Transfer& a, const Transfer& b) {
  return std::tie(a.id, a.debit_account_id, a.credit_account_id, a.amount, a.ledger, a.type,
                  a.flags, a.pending_id, a.timeout_ns, a.fund_id, a.project_id, a.milestone_id,
                  a.memo, a.timestamp_ns, a.journal_sequence, a.pending_state) ==
         std::tie(b.id, b.debit_account_id, b.credit_account_id, b.amount, b.ledger, b.type,
                  b.flags, b.pending_id, b.timeout_ns, b.fund_id, b.project_id, b.milestone_id,
                  b.memo, b.timestamp_ns, b.journal_sequence, b.pending_state);
}

void PrintTo(const Account& a, std::ostream* os) {
  *os << "Account{" << a.id << " kind=" << static_cast<int>(a.kind) << " ledger=" << a.ledger
      << " dmnec=" << a.flags.debits_must_not_exceed_credits
      << " cmned=" << a.flags.credits_must_not_exceed_debits << " dp=" << a.debits_pending
      << " dP=" << a.debits_posted << " cp=" << a.credits_pending << " cP=" << a.credits_posted
      << " fund=" << a.fund_id << " project=" << a.project_id << " t=" << a.create_time_ns << "}";
}

void PrintTo(const Transfer& t, std::ostream* os) {
  *os << "Transfer{" << t.id << " " << t.debit_account_id << "->" << t.credit_account_id
      << " amount=" << t.amount << " ledger=" << t.ledger << " type=" << t.type
      << " flags=" << (t.flags.linked ? "L" : "") << (t.flags.pending ? "P" : "")
      << (t.flags.post_pending_transfer ? "T" : "") << (t.flags.void_pending_transfer ? "V" : "")
      << " pending_id=" << t.pending_id << " timeout=" << t.timeout_ns << " ts=" << t.timestamp_ns
      << " seq=" << t.journal_sequence << " state=" << static_cast<int>(t.pending_state) << "}";
}

const char* ResultName(CreateTransferResult result) {
  switch (result) {
    case CreateTransferResult::kUnspecified:
      return "UNSPECIFIED";
    case CreateTransferResult::kOk:
      return "OK";
    case CreateTransferResult::kExists:
      return "EXISTS";
    case CreateTransferResult::kExistsWithDifferentBody:
      return "EXISTS_WITH_DIFFERENT_BODY";
    case CreateTransferResult::kLinkedEventFailed:
      return "LINKED_EVENT_FAILED";
    case CreateTransferResult::kLinkedEventChainOpen:
      return "LINKED_EVENT_CHAIN_OPEN";
    case CreateTransferResult::kIdMalformed:
      return "ID_MALFORMED";
    case CreateTransferResult::kFlagsAreMutuallyExclusive:
      return "FLAGS_ARE_MUTUALLY_EXCLUSIVE";
    case CreateTransferResult::kDebitAccountIdMissing:
      return "DEBIT_ACCOUNT_ID_MISSING";
    case CreateTransferResult::kCreditAccountIdMissing:
      return "CREDIT_ACCOUNT_ID_MISSING";
    case CreateTransferResult::kAccountsMustBeDifferent:
      return "ACCOUNTS_MUST_BE_DIFFERENT";
    case CreateTransferResult::kPendingIdMustBeEmpty:
      return "PENDING_ID_MUST_BE_EMPTY";
    case CreateTransferResult::kPendingIdMissing:
      return "PENDING_ID_MISSING";
    case CreateTransferResult::kTimeoutReservedForPendingTransfer:
      return "TIMEOUT_RESERVED_FOR_PENDING_TRANSFER";
    case CreateTransferResult::kAmountMustBePositive:
      return "AMOUNT_MUST_BE_POSITIVE";
    case CreateTransferResult::kLedgerMissing:
      return "LEDGER_MISSING";
    case CreateTransferResult::kTypeMissing:
      return "TYPE_MISSING";
    case CreateTransferResult::kDebitAccountNotFound:
      return "DEBIT_ACCOUNT_NOT_FOUND";
    case CreateTransferResult::kCreditAccountNotFound:
      return "CREDIT_ACCOUNT_NOT_FOUND";
    case CreateTransferResult::kAccountsMustHaveTheSameLedger:
      return "ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER";
    case CreateTransferResult::kTransferMustHaveTheSameLedgerAsAccounts:
      return "TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS";
    case CreateTransferResult::kPendingTransferNotFound:
      return "PENDING_TRANSFER_NOT_FOUND";
    case CreateTransferResult::kPendingTransferNotPending:
      return "PENDING_TRANSFER_NOT_PENDING";
    case CreateTransferResult::kPendingTransferHasDifferentAccounts:
      return "PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS";
    case CreateTransferResult::kPendingTransferAlreadyPosted:
      return "PENDING_TRANSFER_ALREADY_POSTED";
    case CreateTransferResult::kPendingTransferAlreadyVoided:
      return "PENDING_TRANSFER_ALREADY_VOIDED";
    case CreateTransferResult::kPendingTransferExpired:
      return "PENDING_TRANSFER_EXPIRED";
    case CreateTransferResult::kExceedsPendingTransferAmount:
      return "EXCEEDS_PENDING_TRANSFER_AMOUNT";
    case CreateTransferResult::kPendingTransferHasDifferentAmount:
      return "PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT";
    case CreateTransferResult::kOverflows:
      return "OVERFLOWS";
    case CreateTransferResult::kExceedsCredits:
      return "EXCEEDS_CREDITS";
    case CreateTransferResult::kExceedsDebits:
      return "EXCEEDS_DEBITS";
  }
  return "UNKNOWN";
}

std::ostream& operator<<(std::ostream& os, CreateTransferResult result) {
  return os << ResultName(result);
}

absl::StatusCode ResultStatusCode(CreateTransferResult result) {
  using R = CreateTransferResult;
  switch (result) {
    case R::kOk:
    case R::kExists:
      return absl::StatusCode::kOk;
    case R::kExistsWithDifferentBody:
      return absl::StatusCode::kAlreadyExists;
    case R::kLinkedEventFailed:
      return absl::StatusCode::kAborted;
    case R::kLinkedEventChainOpen:
    case R::kIdMalformed:
    case R::kFlagsAreMutuallyExclusive:
    case R::kDebitAccountIdMissing:
    case R::kCreditAccountIdMissing:
    case R::kAccountsMustBeDifferent:
    case R::kPendingIdMustBeEmpty:
    case R::kPendingIdMissing:
    case R::kTimeoutReservedForPendingTransfer:
    case R::kAmountMustBePositive:
    case R::kLedgerMissing:
    case R::kTypeMissing:
      return absl::StatusCode::kInvalidArgument;
    case R::kDebitAccountNotFound:
    case R::kCreditAccountNotFound:
    case R::kPendingTransferNotFound:
      return absl::StatusCode::kNotFound;
    case R::kAccountsMustHaveTheSameLedger:
    case R::kTransferMustHaveTheSameLedgerAsAccounts:
    case R::kPendingTransferNotPending:
    case R::kPendingTransferHasDifferentAccounts:
    case R::kPendingTransferAlreadyPosted:
    case R::kPendingTransferAlreadyVoided:
    case R::kPendingTransferExpired:
    case R::kExceedsPendingTransferAmount:
    case R::kPendingTransferHasDifferentAmount:
    case R::kOverflows:
    case R::kExceedsCredits:
    case R::kExceedsDebits:
      return absl::StatusCode::kFailedPrecondition;
    case R::kUnspecified:
      break;
  }
  return absl::StatusCode::kInternal;
}

}  // namespace iplus::funds
