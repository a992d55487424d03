#pragma once

// Helpers shared by the authentication tests: token files, a registry, an ingestion, an
// evaluation and a funds service (the real Apps) that require bearer tokens, calls made with
// a token, a plain HTTP GET for /metrics, and a child process runner for the binaries.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth/auth.h"
#include "common/auth/policy.h"
#include "common/auth/rate_limit.h"
#include "common/grpc/service_channel.h"
#include "common/testing/free_port.h"
#include "iplus/audit/v1/audit.grpc.pb.h"
#include "iplus/evaluation/v1/evaluation.grpc.pb.h"
#include "iplus/funds/v1/funds.grpc.pb.h"
#include "services/evaluation/app.h"
#include "services/funds/app.h"
#include "tests/e2e/ingest_e2e_util.h"

extern char** environ;

namespace iplus::auth_e2e {

namespace v1 = ::iplus::ingest::v1;
namespace rv1 = ::iplus::registry::v1;
namespace av1 = ::iplus::audit::v1;
namespace ev1 = ::iplus::evaluation::v1;
namespace fv1 = ::iplus::funds::v1;
using ::iplus::ingest::e2e::Connect;
using ::iplus::ingest::e2e::IngestStub;
using ::iplus::ingest::e2e::kCallTimeout;
using ::iplus::ingest::e2e::RegistryStub;
using ::iplus::ingest::e2e::SetDeadline;
using AuditStub = av1::AuditService::Stub;
using EvaluationStub = ev1::EvaluationService::Stub;
using FundsStub = fv1::FundsService::Stub;

// One line of a token file, and the token it stands for.
struct TokenSpec {
  TokenSpec(std::string secret, std::string principal, std::string role, std::string regions = "*",
            std::string funds = "")
      : secret(std::move(secret)),
        principal(std::move(principal)),
        role(std::move(role)),
        regions(std::move(regions)),
        funds(std::move(funds)) {}
  std::string secret;  // the bearer token itself
  std::string principal;
  std::string role;
  std::string regions;
  std::string funds;  // fund managers only
};

inline std::string TokenLine(const TokenSpec& t) {
  return absl::StrCat(auth::Sha256Hex(t.secret), " ", t.principal, " ", t.role, " ", t.regions,
                      t.funds.empty() ? "" : absl::StrCat(" ", t.funds), "\n");
}

inline std::string TokenFileText(const std::vector<TokenSpec>& tokens) {
  std::string text = "# test tokens\n";
  for (const auto& t : tokens) text += TokenLine(t);
  return text;
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A path of the test's own in the temporary directory.
inline std::string TempPath(const std::string& name) {
  return absl::StrCat(::testing::TempDir(), "/iplus_auth_", getpid(), "_", name);
}

// A unary call carrying `token` (none when empty); the context's trailers are returned
// through `trailers` when not null.
template <typename Stub, typename Req, typename Resp>
grpc::Status CallAs(const std::string& token, Stub& stub,
                    grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& request, Resp* response,
                    std::multimap<std::string, std::string>* trailers = nullptr) {
  grpc::ClientContext context;
  SetDeadline(&context);
  if (!token.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  grpc::Status status = (stub.*method)(&context, request, response);
  if (trailers != nullptr) {
    trailers->clear();
    for (const auto& [k, v] : context.GetServerTrailingMetadata()) {
      trailers->emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
    }
  }
  return status;
}

// Reads a server stream to its end with `token`; the messages read go to `count`.
template <typename Stub, typename Req, typename Resp>
grpc::Status StreamAs(
    const std::string& token, Stub& stub,
    std::unique_ptr<grpc::ClientReader<Resp>> (Stub::*method)(grpc::ClientContext*, const Req&),
    const Req& request, int* count = nullptr) {
  grpc::ClientContext context;
  SetDeadline(&context);
  if (!token.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  auto reader = (stub.*method)(&context, request);
  Resp message;
  int n = 0;
  while (reader->Read(&message)) ++n;
  if (count != nullptr) *count = n;
  return reader->Finish();
}

// A registry, optionally an ingestion, an evaluation and a funds service (the real Apps)
// on one Redis, all requiring the tokens of `token_file`; ingestion calls the registry
// with `service_token_file`, evaluation calls both with `evaluation_token_file`, funds
// calls the registry and evaluation with `funds_token_file`. Funds needs a Redis that
// keeps writes on disk (appendonly yes, appendfsync always: RedisServer::Options aof);
// without evaluation its evaluation target is a closed port.
class SecureStack {
 public:
  struct Options {
    std::string token_file;
    std::string service_token_file;  // empty: ingestion calls the registry without a token
    std::string region = "44";
    auth::RateLimits rate_limits = auth::DefaultRateLimits();
    absl::Duration token_check_interval = absl::Milliseconds(100);
    const auth::Policy* policy = nullptr;
    bool with_ingest = true;
    bool with_evaluation = false;       // requires with_ingest
    std::string evaluation_token_file;  // empty: evaluation's calls carry no token
    bool with_funds = false;
    std::string funds_token_file;  // empty: funds' calls carry no token
  };

  SecureStack(int redis_port, const Options& options) {
    auth_.token_file = options.token_file;
    auth_.token_check_interval = options.token_check_interval;
    auth_.rate_limits = options.rate_limits;
    auth_.policy = options.policy;
    status_ = StartRegistry(redis_port, options);
    if (status_.ok() && options.with_ingest) status_ = StartIngest(redis_port, options);
    if (status_.ok() && options.with_ingest && options.with_evaluation) {
      status_ = StartEvaluation(redis_port, options);
    }
    if (status_.ok() && options.with_funds) status_ = StartFunds(redis_port, options);
  }

  ~SecureStack() {
    if (funds_ != nullptr) funds_->Shutdown();
    if (evaluation_ != nullptr) evaluation_->Shutdown();
    if (ingest_ != nullptr) ingest_->Shutdown();
    if (registry_ != nullptr) registry_->Shutdown();
  }

  const absl::Status& status() const { return status_; }
  RegistryStub& registry() { return *registry_stub_; }
  IngestStub& ingest() { return *ingest_stub_; }
  AuditStub& registry_audit() { return *registry_audit_; }
  AuditStub& ingest_audit() { return *ingest_audit_; }
  EvaluationStub& evaluation() { return *evaluation_stub_; }
  AuditStub& evaluation_audit() { return *evaluation_audit_; }
  FundsStub& funds() { return *funds_stub_; }
  AuditStub& funds_audit() { return *funds_audit_; }
  int evaluation_metrics_port() const { return evaluation_->metrics_port(); }
  int funds_metrics_port() const { return funds_->metrics_port(); }

  // Waits until evaluation's health (open to all) says SERVING: Redis answers and its
  // feed loaded the registry's enterprises and ingest's catalogue with its service token.
  bool WaitEvaluationServing(absl::Duration timeout = absl::Seconds(30)) {
    return WaitServing(evaluation_channel_.get(), timeout);
  }
  // Waits until funds' health says SERVING: Redis answers and keeps writes on disk.
  bool WaitFundsServing(absl::Duration timeout = absl::Seconds(30)) {
    return WaitServing(funds_channel_.get(), timeout);
  }
  int registry_port() const { return registry_->grpc_port(); }
  int registry_metrics_port() const { return registry_->metrics_port(); }
  int ingest_metrics_port() const { return ingest_->metrics_port(); }

  // Waits until ingestion answers ListIndicators for `token` (its catalogue is seeded).
  bool WaitIngestReady(const std::string& token, absl::Duration timeout = absl::Seconds(15)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      v1::ListIndicatorsRequest request;
      v1::ListIndicatorsResponse response;
      if (CallAs(token, *ingest_stub_, &IngestStub::ListIndicators, request, &response).ok() &&
          response.indicators_size() >= 5) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

 private:
  static bool WaitServing(grpc::Channel* channel, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (registry::e2e::CheckHealth(channel, "", absl::Seconds(1)) ==
          registry::e2e::HealthStatus::kServing) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  // The service token in `file`; null when `file` is empty.
  static absl::StatusOr<std::shared_ptr<ServiceToken>> TokenOf(const std::string& file) {
    if (file.empty()) return std::shared_ptr<ServiceToken>();
    return ServiceToken::Load(file);
  }

  absl::Status StartRegistry(int redis_port, const Options& options) {
    registry::AppConfig rc;
    rc.server.service_name = "registry";
    rc.server.grpc_address = "127.0.0.1:0";
    rc.server.metrics_address = "127.0.0.1:0";
    rc.server.drain_timeout = absl::Seconds(1);
    rc.server.auth = auth_;
    rc.redis.host = "127.0.0.1";
    rc.redis.port = redis_port;
    rc.registry.region_prefix = options.region;
    registry_ = std::make_unique<registry::App>(rc);
    if (absl::Status s = registry_->Start(); !s.ok()) return s;
    registry_stub_ = rv1::RegistryService::NewStub(Connect(registry_->grpc_port()));
    registry_audit_ = av1::AuditService::NewStub(Connect(registry_->grpc_port()));
    return absl::OkStatus();
  }

  absl::Status StartIngest(int redis_port, const Options& options) {
    ingest::AppConfig ic;
    ic.server.service_name = "ingest";
    ic.server.grpc_address = "127.0.0.1:0";
    ic.server.metrics_address = "127.0.0.1:0";
    ic.server.drain_timeout = absl::Seconds(1);
    ic.server.auth = auth_;
    ic.redis.host = "127.0.0.1";
    ic.redis.port = redis_port;
    ic.store.region_prefix = options.region;
    ic.registry_target = absl::StrCat("127.0.0.1:", registry_->grpc_port());
    ic.directory.poll_interval = absl::Milliseconds(100);
    if (!options.service_token_file.empty()) {
      auto token = ServiceToken::Load(options.service_token_file);
      if (!token.ok()) return token.status();
      ic.registry_token = *token;
    }
    ingest_ = std::make_unique<ingest::App>(ic);
    if (absl::Status s = ingest_->Start(); !s.ok()) return s;
    ingest_stub_ = v1::IngestService::NewStub(Connect(ingest_->grpc_port()));
    ingest_audit_ = av1::AuditService::NewStub(Connect(ingest_->grpc_port()));
    return absl::OkStatus();
  }

  absl::Status StartEvaluation(int redis_port, const Options& options) {
    evaluation::AppConfig ec;
    ec.server.service_name = "evaluation";
    ec.server.grpc_address = "127.0.0.1:0";
    ec.server.metrics_address = "127.0.0.1:0";
    ec.server.drain_timeout = absl::Seconds(1);
    ec.server.probe_interval = absl::Milliseconds(100);
    ec.server.auth = auth_;
    ec.redis.host = "127.0.0.1";
    ec.redis.port = redis_port;
    ec.region_prefix = options.region;
    ec.registry_target = absl::StrCat("127.0.0.1:", registry_->grpc_port());
    ec.ingest_target = absl::StrCat("127.0.0.1:", ingest_->grpc_port());
    ec.feed.poll_interval = absl::Milliseconds(50);
    ec.feed.max_backoff = absl::Milliseconds(500);
    auto token = TokenOf(options.evaluation_token_file);
    if (!token.ok()) return token.status();
    ec.service_token = *token;
    evaluation_ = std::make_unique<evaluation::App>(ec);
    if (absl::Status s = evaluation_->Start(); !s.ok()) return s;
    evaluation_channel_ = Connect(evaluation_->grpc_port());
    evaluation_stub_ = ev1::EvaluationService::NewStub(evaluation_channel_);
    evaluation_audit_ = av1::AuditService::NewStub(evaluation_channel_);
    return absl::OkStatus();
  }

  absl::Status StartFunds(int redis_port, const Options& options) {
    funds::AppConfig fc;
    fc.server.service_name = "funds";
    fc.server.grpc_address = "127.0.0.1:0";
    fc.server.metrics_address = "127.0.0.1:0";
    fc.server.drain_timeout = absl::Seconds(1);
    fc.server.probe_interval = absl::Milliseconds(100);
    fc.server.auth = auth_;
    fc.redis.host = "127.0.0.1";
    fc.redis.port = redis_port;
    fc.region_prefix = options.region;
    fc.registry_target = absl::StrCat("127.0.0.1:", registry_->grpc_port());
    fc.evaluation_target = absl::StrCat(
        "127.0.0.1:", evaluation_ != nullptr ? evaluation_->grpc_port() : test::FreePort());
    fc.evaluation_deadline = absl::Seconds(5);
    fc.registry_deadline = absl::Seconds(5);
    auto token = TokenOf(options.funds_token_file);
    if (!token.ok()) return token.status();
    fc.service_token = *token;
    funds_ = std::make_unique<funds::App>(fc);
    if (absl::Status s = funds_->Start(); !s.ok()) return s;
    funds_channel_ = Connect(funds_->grpc_port());
    funds_stub_ = fv1::FundsService::NewStub(funds_channel_);
    funds_audit_ = av1::AuditService::NewStub(funds_channel_);
    return absl::OkStatus();
  }

  AuthOptions auth_;
  absl::Status status_;
  std::unique_ptr<registry::App> registry_;
  std::unique_ptr<ingest::App> ingest_;
  std::unique_ptr<evaluation::App> evaluation_;
  std::unique_ptr<funds::App> funds_;
  std::unique_ptr<RegistryStub> registry_stub_;
  std::unique_ptr<IngestStub> ingest_stub_;
  std::unique_ptr<AuditStub> registry_audit_;
  std::unique_ptr<AuditStub> ingest_audit_;
  std::shared_ptr<grpc::Channel> evaluation_channel_;
  std::unique_ptr<EvaluationStub> evaluation_stub_;
  std::unique_ptr<AuditStub> evaluation_audit_;
  std::shared_ptr<grpc::Channel> funds_channel_;
  std::unique_ptr<FundsStub> funds_stub_;
  std::unique_ptr<AuditStub> funds_audit_;
};

// GET http://127.0.0.1:<port><path>; the whole response (status line, headers, body), or
// "" when the connection fails.
inline std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    close(fd);
    return "";
  }
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

// A child process (posix_spawn), stdout and stderr appended to a log file, with the
// given environment; killed and reaped on destruction.
class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { Stop(); }

  absl::Status Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                     const std::string& log_path) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<std::string> env_storage;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "IPLUS_", 6) != 0) env_storage.emplace_back(*e);
    }
    env_storage.insert(env_storage.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : env_storage) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t empty;
    sigemptyset(&empty);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    int rc = posix_spawn(&pid_, args[0], &actions, &attr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat("posix_spawn ", argv[0], ": ", std::strerror(rc)));
    }
    return absl::OkStatus();
  }

  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == 0) return true;
    if (r == pid_) exit_status_ = status;
    pid_ = -1;
    return false;
  }

  // SIGTERM, then waits up to `timeout` (SIGKILL after). The raw wait status, or -1.
  int Stop(absl::Duration timeout = absl::Seconds(10)) {
    if (pid_ <= 0) return exit_status_;
    kill(pid_, SIGTERM);
    const absl::Time deadline = absl::Now() + timeout;
    while (Running() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      exit_status_ = status;
      pid_ = -1;
    }
    return exit_status_;
  }

  // Waits for the process to exit by itself; its raw wait status, or -1 on timeout.
  int Wait(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (Running()) {
      if (absl::Now() >= deadline) return -1;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return exit_status_;
  }

 private:
  pid_t pid_ = -1;
  int exit_status_ = -1;
};

}  // namespace iplus::auth_e2e
