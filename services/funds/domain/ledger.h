#pragma once

// The in-memory reference ledger, and the specification of the funds ledger. The Redis
// store applies the same rules (it runs the same BatchApplier, engine.h, over a snapshot
// of Redis) and is tested against this class.
//
// Accounts
//   Created with an id, ledger (1: CNY in fen), kind, at most one balance flag, and the
//   fund and project they belong to; balances start at zero and are changed only by
//   transfers. Creating an existing id again is OK (created=false) when ledger, flags,
//   kind, fund and project are the same, else ALREADY_EXISTS naming the first that
//   differs. Accounts are never deleted.
//
// Transfers
//   A transfer moves a positive amount from a debit account to a credit account of the
//   same ledger. Effects on balances (dr = debit account, cr = credit account):
//     single-phase   dr.debits_posted += a             cr.credits_posted += a
//     pending        dr.debits_pending += a            cr.credits_pending += a
//     post_pending   dr.debits_pending -= p, dr.debits_posted += a (a <= p; the rest,
//                    p - a, is released), and the same on cr's credits
//     void_pending   dr.debits_pending -= p            cr.credits_pending -= p
//   where p is the pending transfer's amount. A pending transfer is resolved exactly
//   once: posted, voided, or expired. A post or void may leave accounts, ledger and type
//   empty (taken from the pending transfer); if given they must match (the type may
//   differ: it annotates the post or void). A post's amount 0 means the whole pending
//   amount; a void's amount must be 0 or the pending amount. Stored transfers are
//   resolved: accounts, amount, ledger and type filled in.
//
// Result of each transfer: the first of these that applies.
//   1. LINKED_EVENT_CHAIN_OPEN: it is the request's last transfer and has flags.linked.
//   2. Its own form (validate.h): ID_MALFORMED, FLAGS_ARE_MUTUALLY_EXCLUSIVE,
//      DEBIT/CREDIT_ACCOUNT_ID_MISSING, ACCOUNTS_MUST_BE_DIFFERENT,
//      PENDING_ID_MUST_BE_EMPTY, PENDING_ID_MISSING, TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
//      (also for a negative timeout), AMOUNT_MUST_BE_POSITIVE, LEDGER_MISSING,
//      TYPE_MISSING (also for a type outside the IATI codelist).
//   3. Its id exists (transfer ids are never forgotten): EXISTS with the stored transfer
//      when the body is the same (validate.h DifferingField), else
//      EXISTS_WITH_DIFFERENT_BODY naming the first differing field. This comes before
//      the state checks, so a resend gets EXISTS however the state changed since.
//   4. Single-phase and pending: DEBIT_ACCOUNT_NOT_FOUND, CREDIT_ACCOUNT_NOT_FOUND,
//      ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER, TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS.
//      Post and void: PENDING_TRANSFER_NOT_FOUND, PENDING_TRANSFER_NOT_PENDING,
//      PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS, TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_
//      ACCOUNTS (ledger given and not the pending transfer's), PENDING_TRANSFER_ALREADY_
//      POSTED, PENDING_TRANSFER_ALREADY_VOIDED, PENDING_TRANSFER_EXPIRED (expired, or
//      its expiry time is at or before this transfer's timestamp),
//      EXCEEDS_PENDING_TRANSFER_AMOUNT (post), PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT
//      (void).
//   5. OVERFLOWS: a balance, debits_pending + debits_posted of the debit account,
//      credits_pending + credits_posted of the credit account, or a pending transfer's
//      expiry time would leave int64. Nothing changes.
//   6. EXCEEDS_CREDITS: the debit account has debits_must_not_exceed_credits and its
//      debits_pending + debits_posted would exceed its credits_posted (pending debits
//      count, pending credits do not). EXCEEDS_DEBITS: the mirror image on the credit
//      account with credits_must_not_exceed_debits.
//   7. OK: applied, with the next timestamp and journal sequence.
//   A transfer that fails leaves no trace: its id is not recorded and may be sent again.
//
// Linked chains
//   A transfer with flags.linked is linked to the next one of the same request; a chain
//   ends at the first transfer without it. The transfers of a chain are applied in order
//   and see each other's effects. If one fails, everything the chain did is undone; the
//   failing transfer reports its own result and every other member of the chain reports
//   LINKED_EVENT_FAILED with failed_index set to it (later members are not evaluated).
//   EXISTS does not fail a chain, so resending a whole applied chain returns EXISTS for
//   each member. Transfers outside a chain are independent.
//
// Time and expiry
//   Each applied transfer gets timestamp max(now, previous timestamp + 1) in
//   nanoseconds, so timestamps strictly increase with the journal sequence. A pending
//   transfer with a timeout expires at timestamp + timeout. Before applying a request
//   (and in ExpirePending) the ledger expires the unresolved pending transfers whose
//   expiry time is at or before now, oldest first, at most max_expiries_per_call at a
//   time: each expiry is a void_pending transfer with id "~expire:<pending id>", memo
//   "expired", its own journal entry, and the pending transfer's state becomes EXPIRED.
//   A post or void reaching a pending transfer past its expiry time gets
//   PENDING_TRANSFER_EXPIRED even before the expiry was processed.
//
// Journal (journal.h)
//   Every applied transfer, expiries included, is a journal entry; entry hashes chain.
//   Verify recomputes chain and balances. The sum of all debits equals the sum of all
//   credits, pending and posted, after every request.
//
// Thread-safe: calls are serialized by a mutex, each request applied atomically.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/clock/clock.h"
#include "services/funds/domain/engine.h"
#include "services/funds/domain/ledger_store.h"

namespace iplus::funds {

struct LedgerOptions {
  // Pending transfers expired at most per call (the rest on later calls).
  int max_expiries_per_call = 1000;
};

class Ledger : public LedgerStore {
 public:
  // `clock` must outlive the ledger.
  explicit Ledger(Clock* clock, LedgerOptions options = {});

  absl::StatusOr<std::vector<AccountResult>> CreateAccounts(
      const std::vector<Account>& accounts) override;
  absl::StatusOr<std::vector<std::optional<Account>>> LookupAccounts(
      const std::vector<std::string>& ids) override;
  absl::StatusOr<std::vector<TransferResult>> CreateTransfers(
      const std::vector<Transfer>& transfers) override;
  absl::StatusOr<int> ExpirePending() override;
  absl::StatusOr<std::vector<std::optional<Transfer>>> LookupTransfers(
      const std::vector<std::string>& ids) override;
  absl::StatusOr<AccountTransfersPage> ListAccountTransfers(
      const AccountTransfersQuery& query) override;
  absl::StatusOr<std::vector<JournalEntry>> ReadJournal(int64_t after_sequence,
                                                        int page_size) override;
  absl::StatusOr<JournalHead> Head() override;
  absl::StatusOr<VerifyReport> Verify() override;

 private:
  class View;
  struct Entry {
    std::string record;
    std::string hash;
  };
  void Commit(const LedgerEffects& effects) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock* const clock_;
  const LedgerOptions options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Account> accounts_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Transfer> transfers_ ABSL_GUARDED_BY(mu_);
  std::set<ExpiryKey> expiries_ ABSL_GUARDED_BY(mu_);
  std::vector<Entry> journal_ ABSL_GUARDED_BY(mu_);  // journal_[i] is sequence i + 1
  // Account id -> (timestamp, sequence) of its transfers, in order.
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> by_account_ ABSL_GUARDED_BY(mu_);
  JournalHead head_ ABSL_GUARDED_BY(mu_);
};

}  // namespace iplus::funds
