#pragma once

// The two sides the funds benchmark measures with the same workload, and the service
// side: the funds service in this process, reached through gRPC.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/testing/redis_server.h"

namespace iplus::funds::bench {

// One transfer of the workload, by account index (0..N-1); each side maps the indexes
// to its own account ids.
struct WorkTransfer {
  std::string id;
  int debit = 0;
  int credit = 0;
  int64_t amount = 0;
};

class Side {
 public:
  virtual ~Side() = default;
  virtual std::string name() const = 0;
  // Creates N accounts flagged debits_must_not_exceed_credits, each holding the same
  // opening balance, and one connection (or stub) per client.
  virtual absl::Status Prepare(int n_accounts, int max_clients) = 0;
  // One call with the whole batch, from client `client`; the number of transfers OK.
  virtual absl::StatusOr<int> Call(int client, const std::vector<WorkTransfer>& batch) = 0;
  // Checks the store after the run (ok_transfers: every OK result, warm-up included);
  // a one-line summary.
  virtual absl::StatusOr<std::string> Check(int64_t ok_transfers) = 0;
  // The database server's process (its children count too), for CPU accounting.
  virtual pid_t server_pid() const = 0;
  // The size of the durable log (redis-server's append-only file; PostgreSQL's
  // write-ahead log since initdb). `rewrites` changes when the log was rewritten (Redis
  // rewrites its append-only file once it has doubled), which makes sizes across it
  // incomparable. Thread-safe against concurrent Calls.
  struct LogSize {
    int64_t bytes = 0;
    int64_t rewrites = 0;
  };
  virtual absl::StatusOr<LogSize> LogBytes() = 0;
};

// The funds service (its App, in this process, on 127.0.0.1:0) on `redis`.
absl::StatusOr<std::unique_ptr<Side>> MakeFundsSide(const test::RedisServer& redis);

}  // namespace iplus::funds::bench
