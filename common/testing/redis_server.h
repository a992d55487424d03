#pragma once

// A private redis-server for tests, on a free port of 127.0.0.1 with its own temporary
// directory:
//
//   RedisServer redis;
//   IPLUS_ASSERT_OK(redis.Start());
//   Options options; options.port = redis.port();
//
// Start() runs `redis-server --port N --bind 127.0.0.1 --save '' --appendonly no
// --dir <tmp>` (plus Options) directly, without a shell, and returns once PING answers.
// If the picked port turns out to be taken it retries with another one. Stop() and
// Kill() end the process; a later Start() reuses the same port and directory, which
// is how restart and crash tests work. The destructor stops the server and deletes the
// directory.
//
// The server is started with PR_SET_PDEATHSIG so that it dies with the test process
// even when the test crashes; as that signal follows the thread that started it, call
// Start() from a thread that outlives the server (the test's main thread).
//
// Not thread-safe: drive one RedisServer from one thread.

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace iplus::test {

class RedisServer {
 public:
  struct Options {
    std::string password;                 // --requirepass when non-empty
    bool aof = false;                     // --appendonly yes
    std::string appendfsync = "always";   // with aof: always | everysec | no
    std::vector<std::string> extra_args;  // e.g. {"--enable-debug-command", "yes"}
    absl::Duration start_timeout = absl::Seconds(10);
    absl::Duration stop_timeout = absl::Seconds(10);
  };

  RedisServer();
  explicit RedisServer(Options options);
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts the server and waits until it answers PING (after AUTH when a password is
  // set) and has finished loading. FAILED_PRECONDITION if already running; UNAVAILABLE
  // with the tail of the server log if it does not come up in time.
  absl::Status Start();

  // SIGTERM, wait up to stop_timeout, then SIGKILL. No-op when not running.
  void Stop();

  // SIGKILL and reap, for crash tests. No-op when not running.
  void Kill();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // 0 until the first successful Start(); then fixed for this object's lifetime.
  int port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  std::string address() const;  // "127.0.0.1:port"
  const std::string& dir() const { return dir_; }
  const Options& options() const { return options_; }
  // The server's stdout/stderr so far (empty if none).
  std::string Log() const;

 private:
  absl::Status StartOn(int port);
  bool AnswersPing(int port) const;
  bool Reap(absl::Duration timeout);

  Options options_;
  std::string dir_;
  std::string binary_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace iplus::test
