#include "common/redis/client.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace iplus::redis {
namespace {

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

// hiredis writes with write(2), which raises SIGPIPE on a socket the peer has closed.
void IgnoreSigpipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current;
    if (sigaction(SIGPIPE, nullptr, &current) != 0) return;
    if ((current.sa_flags & SA_SIGINFO) == 0 && current.sa_handler == SIG_DFL) {
      struct sigaction ignore = {};
      ignore.sa_handler = SIG_IGN;
      sigemptyset(&ignore.sa_mask);
      sigaction(SIGPIPE, &ignore, nullptr);
    }
  });
}

struct timeval TimevalOf(absl::Duration d) {
  // A zero timeval means "no timeout" to the kernel, which is never what we want.
  return absl::ToTimeval(std::max(d, absl::Milliseconds(1)));
}

Reply ToReply(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      return Reply::String(std::string(r.str, r.len));
    case REDIS_REPLY_ERROR:
      return Reply::Error(std::string(r.str, r.len));
    case REDIS_REPLY_INTEGER:
      return Reply::Integer(r.integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(r.elements);
      for (size_t i = 0; i < r.elements; ++i) elements.push_back(ToReply(*r.element[i]));
      return Reply::Array(std::move(elements));
    }
    case REDIS_REPLY_NIL:
    default:
      return Reply::Nil();
  }
}

std::vector<std::string> EvalShaArgv(const Script& script, const std::vector<std::string>& keys,
                                     const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(script.sha());
  argv.push_back(absl::StrCat(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// True when an idle connection has something to read: the server closed it (restart,
// idle timeout, kill) or sent something unexpected. Either way it must not be reused.
bool PeerClosed(const redisContext& c) {
  struct pollfd p = {c.fd, POLLIN, 0};
  return poll(&p, 1, 0) != 0;
}

}  // namespace

struct Client::Conn {
  enum class Failure { kNone, kTimeout, kBroken };
  ContextPtr ctx;
  uint64_t generation = 0;
  Failure failure = Failure::kNone;
};

Client::Client(Options options)
    : options_(std::move(options)),
      address_(FormatAddress(options_)),
      pool_size_(std::max(1, options_.pool_size)),
      backoff_(options_.reconnect_backoff_initial) {
  IgnoreSigpipeOnce();
}

Client::~Client() = default;

absl::StatusOr<std::unique_ptr<Client::Conn>> Client::Connect() {
  auto conn = std::make_unique<Conn>();
  conn->ctx.reset(redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                          TimevalOf(options_.connect_timeout)));
  redisContext* c = conn->ctx.get();
  if (c == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("redis ", address_, " unreachable: cannot allocate a connection"));
  }
  if (c->err != 0) {
    return absl::UnavailableError(absl::StrCat("redis ", address_, " unreachable: ", c->errstr));
  }
  if (redisSetTimeout(c, TimevalOf(options_.command_timeout)) != REDIS_OK ||
      redisEnableKeepAlive(c) != REDIS_OK) {
    return absl::UnavailableError(absl::StrCat("redis ", address_, " unreachable: ", c->errstr));
  }

  Commands setup;
  if (!options_.password.empty()) {
    if (options_.username.empty()) {
      setup.push_back({"AUTH", options_.password});
    } else {
      setup.push_back({"AUTH", options_.username, options_.password});
    }
  }
  if (options_.db != 0) setup.push_back({"SELECT", absl::StrCat(options_.db)});
  if (setup.empty()) return conn;

  absl::StatusOr<std::vector<Reply>> replies = RoundTrip(*conn, setup);
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < setup.size(); ++i) {
    const Reply& reply = (*replies)[i];
    if (reply.IsError()) {
      // The reply never echoes the password, so it is safe to include.
      return absl::Status(
          ErrorReplyToStatus(reply.str()).code(),
          absl::StrCat("redis ", address_, " ", setup[i][0], " failed: ", reply.str()));
    }
  }
  return conn;
}

absl::StatusOr<std::unique_ptr<Client::Conn>> Client::Acquire() {
  const absl::Time deadline = absl::Now() + options_.command_timeout;
  while (true) {
    std::unique_ptr<Conn> candidate;
    bool prober = false;
    {
      absl::MutexLock lock(&mu_);
      while (true) {
        if (!idle_.empty()) {
          candidate = std::move(idle_.back());
          idle_.pop_back();
          break;
        }
        if (open_ < pool_size_) {
          const absl::Time now = absl::Now();
          if (now < next_connect_) {
            return absl::Status(last_connect_error_.code(),
                                absl::StrCat(last_connect_error_.message(), " (next reconnect in ",
                                             absl::FormatDuration(absl::Ceil(
                                                 next_connect_ - now, absl::Milliseconds(1))),
                                             ")"));
          }
          if (suspect_) {
            if (probing_) {
              return absl::UnavailableError(
                  absl::StrCat("redis ", address_, " unreachable: reconnect in progress"));
            }
            probing_ = true;
            prober = true;
          }
          ++open_;
          break;
        }
        if (cv_.WaitWithDeadline(&mu_, deadline) && idle_.empty() && open_ >= pool_size_) {
          return absl::UnavailableError(absl::StrCat(
              "redis ", address_, ": no free connection within ",
              absl::FormatDuration(options_.command_timeout), " (pool_size ", pool_size_, ")"));
        }
      }
    }

    if (candidate != nullptr) {
      if (!PeerClosed(*candidate->ctx)) return candidate;
      candidate.reset();
      absl::MutexLock lock(&mu_);
      --open_;
      cv_.Signal();
      continue;
    }

    absl::StatusOr<std::unique_ptr<Conn>> conn = Connect();
    absl::MutexLock lock(&mu_);
    if (prober) probing_ = false;
    if (!conn.ok()) {
      --open_;
      last_connect_error_ = conn.status();
      next_connect_ = absl::Now() + backoff_;
      backoff_ = std::min(backoff_ * 2, options_.reconnect_backoff_max);
      suspect_ = true;
      healthy_.store(false, std::memory_order_relaxed);
      cv_.Signal();
      return conn.status();
    }
    backoff_ = options_.reconnect_backoff_initial;
    next_connect_ = absl::InfinitePast();
    suspect_ = false;
    healthy_.store(true, std::memory_order_relaxed);
    (*conn)->generation = generation_;
    return conn;
  }
}

void Client::Release(std::unique_ptr<Conn> conn) {
  // Declared before the lock so that sockets are closed after it is released.
  std::vector<std::unique_ptr<Conn>> doomed;
  absl::MutexLock lock(&mu_);
  if (conn->failure == Conn::Failure::kBroken) {
    // The server probably went away: connections from before are likely dead too.
    ++generation_;
    suspect_ = true;
    healthy_.store(false, std::memory_order_relaxed);
    open_ -= static_cast<int>(idle_.size());
    doomed = std::move(idle_);
    idle_.clear();
  }
  if (conn->failure != Conn::Failure::kNone || conn->generation != generation_) {
    --open_;
    doomed.push_back(std::move(conn));
  } else {
    healthy_.store(true, std::memory_order_relaxed);
    idle_.push_back(std::move(conn));
  }
  cv_.SignalAll();
}

absl::StatusOr<std::vector<Reply>> Client::RoundTrip(Conn& conn, const Commands& commands) {
  redisContext* c = conn.ctx.get();
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  for (const std::vector<std::string>& command : commands) {
    argv.clear();
    argvlen.clear();
    for (const std::string& arg : command) {
      argv.push_back(arg.data());
      argvlen.push_back(arg.size());
    }
    if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), argvlen.data()) !=
        REDIS_OK) {
      conn.failure = Conn::Failure::kBroken;
      return absl::UnavailableError(absl::StrCat("redis ", address_, ": ", c->errstr));
    }
  }

  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    const int rc = redisGetReply(c, &raw);
    const int saved_errno = errno;
    if (rc != REDIS_OK || raw == nullptr) {
      // A late reply would be read as the answer to the next command, so the
      // connection is never reused after a failure, timeouts included.
      if (c->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)) {
        conn.failure = Conn::Failure::kTimeout;
        return absl::UnavailableError(absl::StrCat("redis ", address_, " timeout: no reply within ",
                                                   absl::FormatDuration(options_.command_timeout)));
      }
      conn.failure = Conn::Failure::kBroken;
      return absl::UnavailableError(
          absl::StrCat("redis ", address_, " unreachable: ", c->err != 0 ? c->errstr : "no reply"));
    }
    replies.push_back(ToReply(*static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return replies;
}

template <typename Fn>
auto Client::WithConnection(Fn fn) -> decltype(fn(std::declval<Conn&>())) {
  absl::StatusOr<std::unique_ptr<Conn>> conn = Acquire();
  if (!conn.ok()) return conn.status();
  auto result = fn(**conn);
  Release(std::move(*conn));
  return result;
}

void Client::Observe(absl::string_view command, absl::Time start, bool ok) const {
  if (options_.observer) options_.observer(command, absl::Now() - start, ok);
}

absl::StatusOr<Reply> Client::Command(std::vector<std::string> argv) {
  if (argv.empty()) return absl::InvalidArgumentError("redis command: empty argv");
  const absl::Time start = absl::Now();
  const std::string name = options_.observer ? absl::AsciiStrToUpper(argv[0]) : std::string();
  Commands commands(1);
  commands[0] = std::move(argv);
  absl::StatusOr<Reply> result = WithConnection([&](Conn& conn) -> absl::StatusOr<Reply> {
    absl::StatusOr<std::vector<Reply>> replies = RoundTrip(conn, commands);
    if (!replies.ok()) return replies.status();
    Reply& reply = replies->front();
    if (reply.IsError()) return ErrorReplyToStatus(reply.str());
    return std::move(reply);
  });
  Observe(name, start, result.ok());
  return result;
}

absl::StatusOr<std::vector<Reply>> Client::Pipeline(const Commands& commands) {
  if (commands.empty()) return std::vector<Reply>();
  for (const std::vector<std::string>& command : commands) {
    if (command.empty()) return absl::InvalidArgumentError("redis pipeline: empty command");
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<Reply>> result =
      WithConnection([&](Conn& conn) { return RoundTrip(conn, commands); });
  Observe("PIPELINE", start, result.ok());
  return result;
}

absl::StatusOr<std::vector<Reply>> Client::EvalOn(Conn& conn, const Script& script,
                                                  const Commands& commands) {
  absl::StatusOr<std::vector<Reply>> replies = RoundTrip(conn, commands);
  if (!replies.ok()) return replies;
  std::vector<size_t> missing;
  for (size_t i = 0; i < replies->size(); ++i) {
    const Reply& reply = (*replies)[i];
    if (reply.IsError() && absl::StartsWith(reply.str(), "NOSCRIPT")) missing.push_back(i);
  }
  if (missing.empty()) return replies;

  // NOSCRIPT means the call did not run, so resending exactly those is safe.
  Commands retry;
  retry.reserve(1 + missing.size());
  retry.push_back({"SCRIPT", "LOAD", script.lua()});
  for (size_t i : missing) retry.push_back(commands[i]);
  absl::StatusOr<std::vector<Reply>> again = RoundTrip(conn, retry);
  if (!again.ok()) return again.status();
  const Reply& load = again->front();
  for (size_t k = 0; k < missing.size(); ++k) {
    // A script that does not compile is reported as the SCRIPT LOAD error.
    (*replies)[missing[k]] = load.IsError() ? load : std::move((*again)[k + 1]);
  }
  return replies;
}

absl::StatusOr<Reply> Client::Eval(const Script& script, const std::vector<std::string>& keys,
                                   const std::vector<std::string>& args) {
  const absl::Time start = absl::Now();
  const Commands commands = {EvalShaArgv(script, keys, args)};
  absl::StatusOr<Reply> result = WithConnection([&](Conn& conn) -> absl::StatusOr<Reply> {
    absl::StatusOr<std::vector<Reply>> replies = EvalOn(conn, script, commands);
    if (!replies.ok()) return replies.status();
    Reply& reply = replies->front();
    if (reply.IsError()) return ErrorReplyToStatus(reply.str());
    return std::move(reply);
  });
  Observe("EVALSHA", start, result.ok());
  return result;
}

absl::StatusOr<std::vector<Reply>> Client::EvalPipeline(const Script& script,
                                                        const std::vector<ScriptCall>& calls) {
  if (calls.empty()) return std::vector<Reply>();
  const absl::Time start = absl::Now();
  Commands commands;
  commands.reserve(calls.size());
  for (const ScriptCall& call : calls)
    commands.push_back(EvalShaArgv(script, call.keys, call.args));
  absl::StatusOr<std::vector<Reply>> result =
      WithConnection([&](Conn& conn) { return EvalOn(conn, script, commands); });
  Observe("PIPELINE", start, result.ok());
  return result;
}

absl::Status Client::Ping() {
  absl::StatusOr<Reply> reply = Command({"PING"});
  absl::Status status = reply.status();
  if (status.ok() && !(reply->IsString() && reply->str() == "PONG")) {
    status = absl::InternalError(
        absl::StrCat("redis ", address_, ": unexpected PING reply ", reply->DebugString()));
  }
  if (!status.ok()) healthy_.store(false, std::memory_order_relaxed);
  return status;
}

}  // namespace iplus::redis
