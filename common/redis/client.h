#pragma once

// The project's only Redis client: a blocking, thread-safe connection pool over
// hiredis with timeouts, reconnect back-off and status-mapped errors.
//
// Contract
//  - Every call returns within roughly command_timeout (pool wait) + connect_timeout +
//    command_timeout, and usually far sooner: a Redis that is known to be down yields
//    UNAVAILABLE immediately. Calls never throw and never hang.
//  - Transport problems (refused, reset, closed, connect or command timeout) are
//    UNAVAILABLE with a message naming the address, e.g.
//    "redis 127.0.0.1:6379 unreachable: Connection refused" or
//    "redis 127.0.0.1:6379 timeout: no reply within 100ms". After a timeout the outcome
//    of a write is unknown; the caller retries only what is idempotent.
//  - Redis error replies from Command, Eval and Ping map to a status as documented at
//    ErrorReplyToStatus() in reply.h. Pipeline and EvalPipeline instead return each
//    command's error reply as a Reply with IsError(); only transport problems fail the
//    whole call.
//
// Connections
//  - At most Options::pool_size connections, opened lazily; the constructor never
//    connects and never fails. A caller waits at most command_timeout for a free one.
//  - Each new connection gets the command timeout, TCP keep-alive, AUTH and SELECT.
//  - A connection that saw a transport error is closed. A reset or closed connection
//    also retires every other connection opened before it (they are probably dead
//    too); idle connections are checked for a pending close before reuse.
//  - After a failed connect (including a rejected AUTH) further connects fail fast
//    with the same status for a back-off window that starts at
//    reconnect_backoff_initial, doubles per failure up to reconnect_backoff_max and
//    resets on success. While the server is suspect, only one caller at a time probes
//    it; the others fail fast.
//  - Writing to a socket the server has closed raises SIGPIPE; the first Client made in
//    a process sets SIGPIPE to SIG_IGN if it still has the default action (which would
//    kill the process). A handler the application installed is left alone.
//
// Thread-safety: all methods may be called concurrently from any number of threads.
// Ownership: the Client owns its connections; it must outlive every call into it, and
// destroying it closes them.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis/options.h"
#include "common/redis/reply.h"
#include "common/redis/script.h"

namespace iplus::redis {

class Client {
 public:
  // Keys and arguments of one script call.
  struct ScriptCall {
    std::vector<std::string> keys;
    std::vector<std::string> args;
  };

  explicit Client(Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Runs one command; every argument is binary-safe (may contain NUL, CR, LF).
  // REQUIRES: !argv.empty() (INVALID_ARGUMENT otherwise).
  absl::StatusOr<Reply> Command(std::vector<std::string> argv);

  // Sends all commands on one connection, then reads all replies, in order. The result
  // has one Reply per command; error replies are Replies with IsError(). Not atomic:
  // wrap in MULTI/EXEC or use a script for that. An empty list returns an empty vector
  // without touching Redis.
  absl::StatusOr<std::vector<Reply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);

  // EVALSHA of `script`; on NOSCRIPT loads it (SCRIPT LOAD) and retries once.
  absl::StatusOr<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                             const std::vector<std::string>& args);

  // Pipelined EVALSHA, one reply per call in order, error replies as Replies (like
  // Pipeline). Calls that came back NOSCRIPT did not run; they alone are resent once,
  // after SCRIPT LOAD, on the same connection.
  absl::StatusOr<std::vector<Reply>> EvalPipeline(const Script& script,
                                                  const std::vector<ScriptCall>& calls);

  // PING; OK when Redis answers PONG. Also refreshes Healthy().
  absl::Status Ping();

  // The last known state, without I/O: true after a connect or command succeeded,
  // false after a transport error, a failed connect or a failed Ping, and false until
  // the first connection is made (call Ping() at start-up and periodically from a
  // health check so that the state recovers without traffic).
  bool Healthy() const { return healthy_.load(std::memory_order_relaxed); }

  const Options& options() const { return options_; }
  // "host:port", as used in status messages.
  const std::string& address() const { return address_; }

 private:
  struct Conn;
  using Commands = std::vector<std::vector<std::string>>;

  absl::StatusOr<std::unique_ptr<Conn>> Acquire();
  void Release(std::unique_ptr<Conn> conn);
  absl::StatusOr<std::unique_ptr<Conn>> Connect();
  // Sends `commands` and reads their replies; on a transport error marks `conn` failed.
  absl::StatusOr<std::vector<Reply>> RoundTrip(Conn& conn, const Commands& commands);
  // Runs EVALSHA `commands`; resends those answered NOSCRIPT once after SCRIPT LOAD.
  absl::StatusOr<std::vector<Reply>> EvalOn(Conn& conn, const Script& script,
                                            const Commands& commands);
  // Acquire, fn(Conn&), Release.
  template <typename Fn>
  auto WithConnection(Fn fn) -> decltype(fn(std::declval<Conn&>()));
  void Observe(absl::string_view command, absl::Time start, bool ok) const;

  const Options options_;
  const std::string address_;
  const int pool_size_;
  std::atomic<bool> healthy_{false};

  absl::Mutex mu_;
  absl::CondVar cv_;  // signalled when a connection is released or a slot frees up
  std::vector<std::unique_ptr<Conn>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle + in use + being connected
  // Bumped when a connection breaks; older connections are retired on release.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  // The server is suspect (a connect failed or a connection broke): one prober at a time.
  bool suspect_ ABSL_GUARDED_BY(mu_) = false;
  bool probing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_connect_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_);
  absl::Status last_connect_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace iplus::redis
