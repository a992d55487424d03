#pragma once

// The ledger's rules as a computation: given a read-only view of the ledger's state, a
// BatchApplier applies one or more CreateTransfers requests in order, on an overlay of
// that view, and returns their results and the effects to persist (changed accounts,
// new transfers and their journal entries with hashes, resolved pending transfers,
// expiry index changes). The reference Ledger (ledger.h) runs it over its own maps;
// the Redis store runs it over a snapshot it read and then writes the effects in one
// script call, so both obey exactly the same rules. ledger.h states the rules.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "services/funds/domain/types.h"

namespace iplus::funds {

// Read access to a ledger's state.
class LedgerView {
 public:
  virtual ~LedgerView() = default;
  virtual const Account* FindAccount(const std::string& id) const = 0;
  // The stored transfer with its current pending_state, or null.
  virtual const Transfer* FindTransfer(const std::string& id) const = 0;
  // Ids of the unresolved pending transfers with a timeout whose expiry time
  // (timestamp + timeout) is at or before `now_ns`, by (expiry time, id); at most `limit`.
  virtual std::vector<std::string> DueExpiries(int64_t now_ns, int limit) const = 0;
  virtual JournalHead Head() const = 0;
};

// An entry of the expiry index: (expiry time, pending transfer id).
using ExpiryKey = std::pair<int64_t, std::string>;

// What applying some requests changed.
struct LedgerEffects {
  JournalHead head_before;
  JournalHead head_after;
  // New transfers in journal order (sequence head_before.sequence + 1 on), including the
  // ledger's expiry transfers; pending_state as at creation.
  std::vector<Transfer> created;
  // The canonical encoding and hash of each, same order.
  std::vector<std::string> records;
  std::vector<std::string> hashes;
  // The final state of every account whose balances changed, by id.
  std::vector<Account> accounts;
  // Pending transfers resolved (posted, voided, expired), in order.
  std::vector<std::pair<std::string, PendingState>> resolved;
  std::vector<ExpiryKey> expiries_added;
  std::vector<ExpiryKey> expiries_removed;
};

// The expiry time of a pending transfer with a timeout, or 0.
int64_t ExpiryTime(const Transfer& pending);

class BatchApplier {
 public:
  // `view` must outlive the applier and not change while it is used. `now_ns` is the
  // clock reading: transfers get timestamps max(now_ns, previous + 1). Pending transfers
  // whose expiry time is at or before now_ns are expired first, at most `max_expiries`.
  BatchApplier(const LedgerView* view, int64_t now_ns, int max_expiries);

  // Applies one request's transfers in order: one result per transfer.
  std::vector<TransferResult> Apply(const std::vector<Transfer>& request);

  // The effects of everything applied so far, with the journal entries' hashes.
  LedgerEffects Finish() const;

  int64_t created() const { return static_cast<int64_t>(created_.size()); }

 private:
  struct Savepoint {
    size_t account_undo, transfer_undo, created, resolved, added, removed;
    int64_t cursor_ts;
  };

  const Account* GetAccount(const std::string& id) const;
  const Transfer* GetTransfer(const std::string& id) const;
  void PutAccount(const Account& account);
  void PutTransfer(const Transfer& transfer);
  int64_t PeekTimestamp() const;
  Savepoint Save() const;
  void Rollback(const Savepoint& sp);

  void ExpireDue(int max_expiries);
  TransferResult ApplyOne(const Transfer& t, int index);
  TransferResult ApplySingleOrPending(const Transfer& t, int index);
  TransferResult ApplyPostOrVoid(const Transfer& t, int index);
  // Stores `t` (its accounts' new balances already put) with the next timestamp and
  // sequence; returns the stored copy.
  Transfer Commit(Transfer t);

  const LedgerView* view_;
  const int64_t now_ns_;
  const JournalHead head_;
  int64_t cursor_ts_;

  absl::flat_hash_map<std::string, Account> accounts_;
  absl::flat_hash_map<std::string, Transfer> transfers_;
  std::vector<std::pair<std::string, std::optional<Account>>> account_undo_;
  std::vector<std::pair<std::string, std::optional<Transfer>>> transfer_undo_;
  std::vector<Transfer> created_;
  std::vector<std::pair<std::string, PendingState>> resolved_;
  std::vector<ExpiryKey> added_;
  std::vector<ExpiryKey> removed_;
};

}  // namespace iplus::funds
