#pragma once

// Evaluation results cached in Redis, keyed by everything they were computed from.
//
//   P res:<32 hex digits>   the serialized v1 result (an Evaluation, or a
//                           BreakdownResponse), with a TTL (--cache_ttl, 24 h)
//
// The hex digits are a 128-bit hash (two FNV-1a 64 of the key text) of CacheKeyText():
// the kind of result, the target id and etag, the scope, the period, the breakdown
// dimension, the registry version and the ingest data version of every (indicator,
// period) the result reads. Every replica computes the same key from the same versions,
// so any replica serves any cached result; a new observation moves the data version of
// its (indicator, period) and with it the key of exactly the results that read it. Old
// entries are never deleted, only left to expire.
//
// Thread-safety: every method may be called concurrently.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis/client.h"
#include "services/evaluation/domain/model.h"

namespace iplus::evaluation {

// What a result was computed from.
struct CacheKeyParts {
  std::string kind;  // "evaluate" or "breakdown"
  std::string target_id;
  std::string target_etag;
  Scope scope;
  Period period;
  int dimension = 0;  // breakdown only
  int64_t registry_version = 0;
  // Every (indicator, period) the result reads, in period order.
  std::vector<DataVersionEntry> ingest_versions;
};

// The unambiguous text of every part (lengths before free-form strings).
std::string CacheKeyText(const CacheKeyParts& parts);

class ResultCache {
 public:
  // `client` must outlive the cache; keys are "<prefix>res:<hash>".
  ResultCache(redis::Client* client, std::string prefix, absl::Duration ttl);

  std::string Key(const CacheKeyParts& parts) const;

  // One MGET; nullopt for each key without a value.
  absl::StatusOr<std::vector<std::optional<std::string>>> Get(const std::vector<std::string>& keys);

  // SET <key> <value> PX <ttl> for each entry, pipelined.
  absl::Status Put(const std::vector<std::pair<std::string, std::string>>& entries);

  absl::Duration ttl() const { return ttl_; }

 private:
  redis::Client* client_;
  std::string prefix_;
  absl::Duration ttl_;
};

}  // namespace iplus::evaluation
