#pragma once

// EnterpriseDirectory backed by the registry, with a cache that ingestion owns.
//
// Two cache levels:
//  - in process: code -> {archived, region, division}, read by every Lookup;
//  - in Redis, shared by all replicas of ingestion:
//      <prefix>ent       hash  code -> "archived|region|division|version",
//                              e.g. "0|440103|C26|17" (version: the registry version of
//                              the enterprise's last change, so that writers from several
//                              replicas never replace newer data with older)
//      <prefix>ent:ver   string, the registry version the hash reflects: every change
//                              up to it is in the hash
//    The prefix carries ingestion's own hash tag (e.g. "iplus:{ingest:44}:"); the
//    registry's keys are never read.
//
// Start() loads the Redis cache into memory and starts a follower thread. Every
// poll_interval the follower reads ListEvents(after_version = cached version) and re-reads
// the enterprises named by enterprise events with BatchGetEnterprises; link events only
// advance the version. An empty cache (version 0, no entries), a truncated event stream
// or a registry whose version went backwards (a new registry) trigger a full rebuild
// from ExportEnterprises(include_archived = true), after which following resumes from
// the export's registry_version. Lookups that miss the memory cache ask the registry
// directly (one BatchGetEnterprises per 1000 codes, bounded by rpc_timeout) and cache
// what they find; codes the registry does not know are remembered for negative_ttl only,
// so that an enterprise created a moment later is found.
//
// While the registry is unreachable, cached codes are still answered; uncached codes are
// UNAVAILABLE, and the follower logs one warning per outage and retries every poll.
// While Redis is unreachable, memory keeps serving and following; Redis is rewritten
// from memory once it is back.
//
// Metrics (in the registry passed in):
//   iplus_ingest_registry_cache_lookups_total{result="hit"|"miss"|"unavailable"}
//   iplus_ingest_registry_cache_entries   codes cached in memory
//   iplus_ingest_registry_cache_version   registry version the cache reflects
//
// Thread-safety: Lookup may be called concurrently from any number of threads, also
// concurrently with Start, Stop and SyncNow. Start and Stop must not race each other.
//
// Ownership: the directory does not own `redis`, `stub` or `metrics`; they must outlive
// it. With the channel constructor it owns the stub it creates.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock/clock.h"
#include "common/metrics/counter.h"
#include "common/metrics/gauge.h"
#include "common/metrics/registry.h"
#include "common/redis/client.h"
#include "grpcpp/channel.h"
#include "iplus/registry/v1/registry.grpc.pb.h"
#include "services/ingest/domain/directory.h"

namespace iplus::ingest {

struct RegistryDirectoryOptions {
  // How often the follower asks for new events.
  absl::Duration poll_interval = absl::Milliseconds(200);
  // Deadline of every unary registry call, and the bound on a Lookup's registry part.
  absl::Duration rpc_timeout = absl::Seconds(2);
  // page_size of ListEvents; also the most codes re-read per BatchGetEnterprises.
  int max_events_page = 1000;
  // How long a code the registry does not know is answered unknown without asking again.
  absl::Duration negative_ttl = absl::Seconds(1);
  // At most this many codes are remembered as unknown at once.
  int max_negative_entries = 100000;
  // Deadline of a full ExportEnterprises (it streams every enterprise of the region).
  absl::Duration export_timeout = absl::Minutes(10);
  // Fields per HSET when the whole cache is written to Redis; also the HSCAN COUNT.
  int redis_batch = 1000;
  // Found-by-lookup entries waiting for the follower to write them to Redis; beyond this
  // they are written to memory only.
  int max_pending_writes = 100000;
  // Time for the negative cache; null means the real clock. Not owned.
  Clock* clock = nullptr;
};

class RegistryDirectory : public EnterpriseDirectory {
 public:
  using Stub = registry::v1::RegistryService::StubInterface;

  // Talks to the registry over `channel`.
  RegistryDirectory(std::shared_ptr<grpc::Channel> channel, redis::Client* redis,
                    std::string key_prefix, metrics::Registry& metrics,
                    RegistryDirectoryOptions options = {});
  // Talks to the registry through `stub` (not owned), e.g. a stub on an in-process channel.
  RegistryDirectory(Stub* stub, redis::Client* redis, std::string key_prefix,
                    metrics::Registry& metrics, RegistryDirectoryOptions options = {});
  ~RegistryDirectory() override;  // Stop()s.
  RegistryDirectory(const RegistryDirectory&) = delete;
  RegistryDirectory& operator=(const RegistryDirectory&) = delete;

  // Loads the Redis cache into memory (blocking: HSCAN in chunks), then starts the
  // follower thread. A Redis that cannot be read is logged, not returned: the follower
  // then rebuilds the cache from the registry. FAILED_PRECONDITION when already started.
  absl::Status Start();

  // Stops the follower, cancelling a registry call in flight; returns once the thread
  // has ended. Lookups keep working (memory and the miss path). Idempotent.
  void Stop();

  // See EnterpriseDirectory. Answers cached codes from memory under one shared lock;
  // asks the registry once for the rest and never waits longer than rpc_timeout for it.
  // Codes that are not well-formed credit codes are unknown without asking.
  std::vector<absl::StatusOr<EnterpriseInfo>> Lookup(
      const std::vector<std::string>& codes) override;

  // Runs one follower round on the caller's thread: rebuild if needed, write pending
  // entries to Redis, read and apply events until caught up. Serialised with the
  // follower thread. Returns the first registry or Redis error of the round.
  absl::Status SyncNow();

  // The registry version the cache reflects (0 before the first load or rebuild).
  int64_t version() const { return version_.load(std::memory_order_relaxed); }
  // Codes cached in memory.
  size_t size() const;

 private:
  struct Entry {
    bool archived = false;
    std::string region;
    std::string division;
    int64_t version = 0;  // registry version of the enterprise's last change
  };
  using EntryMap = absl::flat_hash_map<std::string, Entry>;

  void FollowLoop();
  absl::Status Round() ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  absl::Status LoadFromRedis() ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  absl::Status Rebuild() ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  absl::Status WriteSnapshot() ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  absl::Status FlushPending() ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  // Reads and applies one page of events; sets *caught_up when nothing more is waiting.
  // Registry errors are returned; a failed Redis write goes to *redis_status and marks
  // Redis stale.
  absl::Status FollowPage(bool* caught_up, absl::Status* redis_status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  // Conditional HSETs (newer versions only) and, when cache_version > 0, SET ver (only
  // forward). Marks Redis stale on failure.
  absl::Status WriteEntries(const std::vector<std::pair<std::string, Entry>>& entries,
                            int64_t cache_version) ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);

  // BatchGetEnterprises of `codes` (any number), chunked, all chunks within `deadline`.
  // Fills `found` and `missing`. `follower` marks calls Stop() may cancel.
  absl::Status BatchGet(const std::vector<std::string>& codes, absl::Time deadline, bool follower,
                        std::vector<std::pair<std::string, Entry>>* found,
                        std::vector<std::string>* missing);
  // Stores entries that are newer than what memory holds.
  void Merge(const std::vector<std::pair<std::string, Entry>>& entries);

  // Registers the follower's call in flight so that Stop() can cancel it; false when
  // stopping (the call must not start).
  bool BeginCall(grpc::ClientContext* context);
  void EndCall();
  bool Stopping();

  void NoteRegistry(const absl::Status& status);
  void NoteRedis(const absl::Status& status);
  absl::Time Now() const;

  static Entry FromProto(const registry::v1::Enterprise& e);
  static std::string Encode(const Entry& entry);
  static bool Decode(const std::string& value, Entry* entry);

  std::unique_ptr<Stub> owned_stub_;
  Stub* stub_;  // owned_stub_ or the caller's
  redis::Client* const redis_;
  const std::string entries_key_;
  const std::string version_key_;
  const std::string prefix_;
  const RegistryDirectoryOptions options_;

  metrics::Counter& hits_;
  metrics::Counter& misses_;
  metrics::Counter& unavailable_;
  metrics::Gauge& entries_gauge_;
  metrics::Gauge& version_gauge_;

  // The in-process cache; readers (Lookup) take it shared, once per call.
  mutable absl::Mutex mu_;
  EntryMap entries_ ABSL_GUARDED_BY(mu_);

  // Codes the registry said it does not know, until the given time.
  absl::Mutex negative_mu_;
  absl::flat_hash_map<std::string, absl::Time> negative_ ABSL_GUARDED_BY(negative_mu_);

  // Entries found by lookups, waiting for the follower to write them to Redis.
  absl::Mutex pending_mu_;
  std::vector<std::pair<std::string, Entry>> pending_ ABSL_GUARDED_BY(pending_mu_);

  std::atomic<int64_t> version_{0};
  std::atomic<bool> registry_down_{false};
  std::atomic<bool> redis_down_{false};

  // Follower state; one round at a time.
  absl::Mutex round_mu_;
  bool need_rebuild_ ABSL_GUARDED_BY(round_mu_) = false;
  // Redis misses changes that memory has: rewrite it from memory.
  bool redis_stale_ ABSL_GUARDED_BY(round_mu_) = false;

  // Thread control.
  absl::Mutex run_mu_;
  absl::CondVar run_cv_;
  bool started_ ABSL_GUARDED_BY(run_mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(run_mu_) = false;
  grpc::ClientContext* active_call_ ABSL_GUARDED_BY(run_mu_) = nullptr;
  std::thread thread_;
};

}  // namespace iplus::ingest
