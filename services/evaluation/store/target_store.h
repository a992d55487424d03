#pragma once

// The evaluation service's targets in Redis.
//
// Keys, under one hash tag per instance (scripts touch several keys, so they must share
// a slot under Redis Cluster, and one Redis can hold several regions side by side):
//   P = "iplus:{evaluation:<region or all>}:"
//   P t        hash  target id → v1.Target (serialized, etag and times included)
//   P te       hash  target id → etag ("r<revision>"), compared by the replace script
//   P tver     integer, bumped by every change to a target: replicas poll it to notice
//              targets changed elsewhere
//   P seeded   "1" once the built-in targets were stored (never cleared, so targets a
//              regulator edited or archived survive restarts)
// Cached results (ResultCache) and replayed responses (common/replay) share the prefix.
//
// Thread-safety: every method may be called concurrently.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/redis/client.h"
#include "common/redis/script.h"
#include "services/evaluation/domain/model.h"

namespace iplus::evaluation {

struct TargetStoreOptions {
  // Region prefix of the instance ("" for national); part of every key.
  std::string region_prefix;
};

// "iplus:{evaluation:<region or all>}:".
std::string EvaluationKeyPrefix(const std::string& region_prefix);

// The revision an etag names ("r3" → 3); 0 when it is not an etag this store issued.
int64_t RevisionOfEtag(const std::string& etag);
std::string EtagOfRevision(int64_t revision);

class TargetStore {
 public:
  // `client` must outlive the store.
  TargetStore(redis::Client* client, TargetStoreOptions options);

  const std::string& prefix() const { return prefix_; }

  // Stores `target` (with its etag and times set by the caller) unless the id exists.
  // Returns the stored target and whether it was created now.
  absl::StatusOr<std::pair<Target, bool>> Create(const Target& target);

  // NOT_FOUND when absent.
  absl::StatusOr<Target> Get(const std::string& id);

  // Replaces the stored target by `updated` if the stored etag is still `expected_etag`:
  // ABORTED (naming the stored etag) otherwise, NOT_FOUND when absent. The caller sets
  // updated.etag to the next revision's.
  absl::StatusOr<Target> Replace(const Target& updated, const std::string& expected_etag);

  // Every target, in id order.
  absl::StatusOr<std::vector<Target>> All();

  // The change counter: different whenever a target changed.
  absl::StatusOr<int64_t> Version();

  // Stores `targets` (each unless its id exists) iff the seed marker is absent, and sets
  // the marker; all in one script. Returns whether this call seeded.
  absl::StatusOr<bool> Seed(const std::vector<Target>& targets);

 private:
  std::string Key(absl::string_view suffix) const;

  redis::Client* client_;
  std::string prefix_;
  redis::Script create_script_;
  redis::Script replace_script_;
  redis::Script seed_script_;
};

}  // namespace iplus::evaluation
