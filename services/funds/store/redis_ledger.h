#pragma once

// The funds ledger on Redis: the rules of services/funds/domain/ledger.h, durable.
//
// Keys, all under one hash tag so that every script's keys share a Redis Cluster slot:
//   P = "iplus:{funds:<region or all>}:"
//   P head          string: journal head, 8 bytes sequence, 8 bytes timestamp, the 32
//                   raw bytes of the hash (codec.h); absent while the journal is empty
//   P a             hash: account id -> account record (codec.h EncodeAccount)
//   P t             hash: transfer id -> its journal sequence (decimal); never deleted,
//                   which is what keeps transfer ids for ever
//   P p             hash: pending transfer id -> "P" posted, "V" voided, "E" expired;
//                   absent while it is unresolved
//   P j             stream: the journal, entry id "<sequence>-0", fields r (the canonical
//                   record, which is also the stored transfer) and h (32 raw hash bytes)
//   P e             sorted set, all scores 0: expiry index, member = 8 bytes big-endian
//                   expiry time + pending transfer id (lexicographic = by time)
//   P x:<account>   list: the sequences (8 bytes big-endian) of the account's transfers,
//                   appended in journal order, which is also time order; a time range is
//                   found by binary search (about 10 bytes an entry, where a sorted set
//                   would take over 100)
//
// How a CreateTransfers batch is applied, and why the hash chain stays correct:
// Redis's Lua has no SHA-256, so the hashes are computed here. One round trip runs a
// read-only script that returns a snapshot of everything the batch can touch (the
// head, the transfers named by the batch's ids and pending ids with their state, the
// due expiries, and the accounts of all of these). The domain's BatchApplier computes
// results and effects on that snapshot, including every new journal entry and its hash
// chained from the head it read. A second round trip runs ONE write script that first
// compares the stored head with the head the snapshot had: if another writer moved the
// journal in between, it changes nothing and the batch is recomputed from a fresh
// snapshot; otherwise it writes every effect (journal entries, transfer index, account
// balances, pending states, expiry and account indexes, new head) atomically. Every
// change to balances, transfers or the journal moves the head, so an unchanged head
// means the snapshot is still exact; account creation does not move it, which is safe
// because a batch never writes an account its snapshot did not contain. Redis 7
// replicates the script's effects wrapped in MULTI/EXEC, so a crash mid-write leaves
// either all of them in the AOF or none (a truncated tail transaction is dropped on
// load).
//
// Concurrent calls in one process are combined: one caller at a time writes, taking
// every request queued meanwhile (up to max_transfers_per_write transfers) into the same
// snapshot and script call; each request keeps its own results and linked chains, as if
// applied one after the other. Processes sharing a Redis serialize through the head
// check and retry.
//
// Durability: call CheckDurability at start; the service must refuse to run unless
// Redis has appendonly yes and appendfsync always, so that a batch's reply means it is
// on disk.
//
// Thread-safe.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/redis/script.h"
#include "services/funds/domain/engine.h"
#include "services/funds/domain/ledger_store.h"

namespace iplus::funds {

struct RedisLedgerOptions {
  // The region code the instance serves; empty means all.
  std::string region;
  // Most transfers combined into one write (a single request is never split); bounds
  // how long one script blocks Redis.
  int max_transfers_per_write = 4000;
  // Pending transfers expired at most per write.
  int max_expiries_per_call = 1000;
  // Attempts of one write when other processes keep moving the head.
  int max_attempts = 100;
  // Journal entries read per round trip by Verify.
  int verify_page = 4096;
};

// OK when Redis runs with appendonly yes and appendfsync always. Otherwise
// FAILED_PRECONDITION saying what is wrong, unless `allow_unsafe` (for tests and local
// runs), which logs a warning and returns OK. UNAVAILABLE when Redis is unreachable, in
// either case.
absl::Status CheckDurability(redis::Client* client, bool allow_unsafe);

class RedisLedger : public LedgerStore {
 public:
  // `client` and `clock` must outlive the ledger.
  RedisLedger(redis::Client* client, Clock* clock, RedisLedgerOptions options = {});

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

  const std::string& prefix() const { return prefix_; }
  // Key names, for tests and tools.
  std::string Key(absl::string_view suffix) const;
  // Writes that found the head moved and were recomputed, since construction.
  int64_t conflicts() const;

 private:
  class Snapshot;
  // One queued CreateTransfers (or ExpirePending, with no transfers).
  struct Request {
    const std::vector<Transfer>* transfers = nullptr;
    absl::StatusOr<std::vector<TransferResult>> results;
    int expired = 0;
    bool done = false;
  };

  absl::Status Submit(Request* request);
  // Applies the requests in one write; sets each one's results.
  void WriteGroup(const std::vector<Request*>& group);
  absl::StatusOr<Snapshot> ReadSnapshot(const std::vector<Request*>& group, int64_t now_ns,
                                        bool with_expiries);
  // True when written, false when the head had moved.
  absl::StatusOr<bool> WriteEffects(const LedgerEffects& effects);

  redis::Client* const client_;
  Clock* const clock_;
  const RedisLedgerOptions options_;
  const std::string prefix_;
  const redis::Script snapshot_script_;
  const redis::Script apply_script_;
  const redis::Script accounts_script_;
  const redis::Script list_script_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<Request*> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  int64_t conflicts_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace iplus::funds
