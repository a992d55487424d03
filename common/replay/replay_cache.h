#pragma once

// Replay of mutating calls by client-chosen request id: the first response is stored
// with a TTL, and a retry with the same id and the same request gets it back instead of
// running again. The same id with a different request is INVALID_ARGUMENT.
//
// Storing is best effort after the mutation: if the process dies in between, the retry
// runs again, which every iplus mutation tolerates (they are idempotent by key or guarded
// by an etag).

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/redis/client.h"

namespace iplus::redis {

class ReplayCache {
 public:
  // Keys are "<prefix>rid:<method>:<request id>". `client` must outlive the cache.
  ReplayCache(Client* client, std::string prefix, absl::Duration ttl = absl::Hours(24));

  // INVALID_ARGUMENT naming "request_id" when the id is too long or not printable.
  static absl::Status ValidateRequestId(const std::string& request_id);

  // The stored response for (method, id) if any. INVALID_ARGUMENT if it was stored for a
  // different request body.
  absl::StatusOr<absl::optional<std::string>> Lookup(const std::string& method,
                                                     const std::string& request_id,
                                                     const std::string& request_bytes);

  absl::Status Store(const std::string& method, const std::string& request_id,
                     const std::string& request_bytes, const std::string& response_bytes);

 private:
  std::string Key(const std::string& method, const std::string& request_id) const;

  Client* client_;
  std::string prefix_;
  absl::Duration ttl_;
};

}  // namespace iplus::redis
