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
//   P j             stream: the journal. One stream entry holds consecutive journal
//                   entries of one write (at most max_entries_per_stream_entry; a larger
//                   write takes several): id "<first sequence>-0", fields o (4-byte
//                   big-endian end offset of each record in r), r (the canonical records,
//                   which are also the stored transfers, concatenated) and h (their 32-byte
//                   raw hashes, concatenated). Entry s is found with XREVRANGE s - COUNT 1
//                   (the stream entry with the greatest first sequence <= s) and the
//                   offset table, in O(log n)
//   P e             sorted set, all scores 0: expiry index, member = 8 bytes big-endian
//                   expiry time + pending transfer id (lexicographic = by time)
//   P x             hash, the account index: the sequences (8 bytes big-endian) of each
//                   account's transfers in journal order, which is also time order, in
//                   blocks of 16: field "<account>#<k>" is the k-th full block, field
//                   "<account>" the tail (8 bytes count n, then the last n mod 16
//                   sequences). A time range is found by binary search. One hash for
//                   all accounts, so that a write appends to every account it touches
//                   with one HSET.
//
// How a CreateTransfers batch is applied, and why the hash chain stays correct:
// Redis's Lua has no SHA-256, so the hashes are computed here. One round trip (a
// MULTI/EXEC of plain commands: GET, HMGETs, ZRANGEBYLEX) reads a snapshot of
// everything the batch can touch: the head, which of the batch's ids and pending ids
// exist, its accounts with their index tails, the due expiries. When some transfers
// exist or expiries are due, a read-only script reads them with their state and
// accounts, and the snapshot is kept only if it saw the same head. The domain's
// BatchApplier computes results and effects on that snapshot, including every new
// journal entry and its hash chained from the head it read. A second round trip runs
// ONE write script that first compares the stored head with the head the snapshot had:
// if another writer moved the journal in between, it changes nothing and the batch is
// recomputed from a fresh snapshot; otherwise it writes every effect (journal entries,
// transfer index, account balances, pending states, expiry and account indexes, new
// head) atomically, with a few commands per write rather than per transfer: one XADD
// per stream entry, one multi-field HSET per hash (the transfer index, the accounts,
// the pending states, the account index; each in slices of 4000 arguments, Lua's unpack
// limit), one ZADD and ZREM, one SET. Every change to balances, transfers or the
// journal moves the head, so an unchanged head means the snapshot is still exact;
// account creation does not move it, which is safe because a batch never writes an
// account its snapshot did not contain. Redis 7 replicates the script's effects wrapped
// in MULTI/EXEC, so a crash mid-write leaves either all of them in the AOF or none (a
// truncated tail transaction is dropped on load).
//
// Concurrent calls in one process are combined: one caller at a time computes, taking
// every request queued meanwhile (up to max_transfers_per_write transfers) into the same
// snapshot and script call; each request keeps its own results and linked chains, as if
// applied one after the other. While one group's write is in flight (the script runs and
// Redis fsyncs), the next group is read and computed on top of that write's effects:
// its snapshot, taken before or after the write lands, gets the write's new accounts,
// index tails, transfers, pending states and expiries laid over it, and its head is the
// write's new head. It is sent only once that write is acknowledged, and recomputed if
// that write failed; its own head check still guards it. (Only groups of at least 250
// transfers do that; fewer wait for the write, so that more requests join them and share
// the next fsync.) Processes sharing a Redis serialize through the head check and
// retry.
//
// Durability: call CheckDurability at start; the service must refuse to run unless
// Redis has appendonly yes and appendfsync always, so that a batch's reply means it is
// on disk.
//
// Thread-safe.

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
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
  // Most journal entries in one stream entry: a write of 1000 transfers is 32 XADD
  // calls rather than 1000, and a lookup of one entry copies at most this many records
  // (through Lua, which hashes every byte of a string it creates), so larger values
  // make writes a little cheaper and lookups of scattered entries dearer. Readers take
  // any size, so it can change at any time.
  int max_entries_per_stream_entry = 32;
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
  // A write sent to Redis whose reply has not come back yet.
  struct InFlight;
  // One queued CreateTransfers (or ExpirePending, with no transfers).
  struct Request {
    const std::vector<Transfer>* transfers = nullptr;
    absl::StatusOr<std::vector<TransferResult>> results;
    int expired = 0;
    bool taken = false;  // into a group
    bool done = false;
  };

  absl::Status Submit(Request* request);
  // Applies the requests in one write; sets each one's results. Called holding the
  // compute stage (computing_), which it releases once its write is sent.
  void WriteGroup(const std::vector<Request*>& group);
  // What `group` can touch. With `base`, a write in flight: reads taken before or after
  // it lands are accepted and its effects laid over them; Snapshot::stale says when the
  // reads saw another head.
  absl::StatusOr<Snapshot> ReadSnapshot(const std::vector<Request*>& group, int64_t now_ns,
                                        bool with_expiries, const InFlight* base);
  // The write script's arguments for `effects`; the accounts' new index tails go to
  // `tails`.
  absl::StatusOr<std::vector<std::string>> WriteArgs(
      const LedgerEffects& effects, const Snapshot& snapshot,
      absl::flat_hash_map<std::string, std::string>* tails) const;

  redis::Client* const client_;
  Clock* const clock_;
  const RedisLedgerOptions options_;
  const std::string prefix_;
  const redis::Script lookup_script_;
  const redis::Script apply_script_;
  const redis::Script accounts_script_;
  const redis::Script list_script_;
  const redis::Script journal_script_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<Request*> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_transfers_ ABSL_GUARDED_BY(mu_) = 0;
  // A caller is reading and computing a group; at most one at a time.
  bool computing_ ABSL_GUARDED_BY(mu_) = false;
  // The write in flight, if any; at most one at a time.
  std::shared_ptr<InFlight> inflight_ ABSL_GUARDED_BY(mu_);
  int64_t conflicts_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace iplus::funds
