#pragma once

// Connection settings for iplus::redis::Client. A plain struct: main() fills it from
// flags and secret files and passes it to the Client constructor.

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace iplus::redis {

struct Options {
  std::string host = "127.0.0.1";
  int port = 6379;
  // AUTH is sent on every new connection when `password` is non-empty, as
  // `AUTH username password` when `username` is set (Redis 6 ACL) and as
  // `AUTH password` otherwise. Neither is ever logged or put into a status message.
  std::string username;
  std::string password;
  int db = 0;  // SELECTed on every new connection when non-zero

  // Bounds the TCP connect of each new connection.
  absl::Duration connect_timeout = absl::Milliseconds(200);
  // Bounds each wait for the socket while sending a command or reading a reply, and
  // separately the wait for a free pooled connection.
  absl::Duration command_timeout = absl::Seconds(2);
  // Maximum number of open connections; values below 1 mean 1.
  int pool_size = 8;
  // After a failed connect, new connects fail fast for this long; the window doubles
  // after each further failure up to `reconnect_backoff_max` and resets on success.
  absl::Duration reconnect_backoff_initial = absl::Milliseconds(50);
  absl::Duration reconnect_backoff_max = absl::Seconds(2);

  // Optional metrics hook, called once per Command/Eval/Ping (with the upper-cased
  // command name, "EVALSHA" for scripts) and once per Pipeline/EvalPipeline (with
  // "PIPELINE"), after the call completes. `latency` includes the wait for a pooled
  // connection; `ok` is whether the call returned an OK status. Called on the caller's
  // thread with no lock held; must be thread-safe and cheap.
  std::function<void(absl::string_view command, absl::Duration latency, bool ok)> observer;
};

// Parses "host:port" ("[::1]:6379" for IPv6 literals; a bare "host" means port 6379)
// into Options with every other field at its default. INVALID_ARGUMENT when the host
// is empty or the port is not an integer in 1..65535.
absl::StatusOr<Options> ParseAddress(absl::string_view address);

// "host:port" for messages ("[host]:port" when host contains ':').
std::string FormatAddress(const Options& options);

}  // namespace iplus::redis
