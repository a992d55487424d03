#pragma once

// Helpers shared by the evaluation service's end-to-end and fault tests: an evaluation
// instance (the real App) on loopback next to the registry and ingest of
// ingest_e2e_util.h, enterprises of several provinces, observations, a reader for
// WatchScorecard that records every message with its arrival time, and a plain HTTP GET
// for /metrics.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/refdata/credit_code.h"
#include "iplus/evaluation/v1/evaluation.grpc.pb.h"
#include "services/evaluation/app.h"
#include "tests/e2e/ingest_e2e_util.h"

namespace iplus::evaluation::e2e {

namespace ev1 = ::iplus::evaluation::v1;
namespace iv1 = ::iplus::ingest::v1;
namespace rv1 = ::iplus::registry::v1;
namespace cv1 = ::iplus::common::v1;
using EvaluationStub = ev1::EvaluationService::Stub;
using ::iplus::ingest::e2e::Call;
using ::iplus::ingest::e2e::Connect;
using ::iplus::ingest::e2e::IngestInstance;
using ::iplus::ingest::e2e::RegistryInstance;
using ::iplus::ingest::e2e::SetDeadline;

// A running evaluation service (the real App) and a client of it.
class EvaluationInstance {
 public:
  EvaluationInstance(int redis_port, int registry_port, int ingest_port,
                     const std::string& targets_file = IPLUS_SOURCE_DIR "/deploy/targets.json") {
    AppConfig config;
    config.server.service_name = "evaluation";
    config.server.grpc_address = "127.0.0.1:0";
    config.server.metrics_address = "127.0.0.1:0";
    config.server.drain_timeout = absl::Seconds(2);
    config.server.probe_interval = absl::Milliseconds(100);
    // Authentication has its own tests.
    config.server.auth.allow_unauthenticated = true;
    config.redis.host = "127.0.0.1";
    config.redis.port = redis_port;
    config.redis.command_timeout = absl::Milliseconds(500);
    config.registry_target = absl::StrCat("127.0.0.1:", registry_port);
    config.ingest_target = absl::StrCat("127.0.0.1:", ingest_port);
    config.feed.poll_interval = absl::Milliseconds(50);
    config.feed.max_backoff = absl::Milliseconds(500);
    config.feed.rpc_timeout = absl::Seconds(2);
    config.gauges.interval = absl::Seconds(1);
    config.gauges.min_spacing = absl::Milliseconds(200);
    config.targets_file = targets_file;
    app_ = std::make_unique<App>(config);
    start_status_ = app_->Start();
    if (!start_status_.ok()) return;
    channel_ = Connect(app_->grpc_port());
    stub_ = ev1::EvaluationService::NewStub(channel_);
  }
  ~EvaluationInstance() { Shutdown(); }

  void Shutdown() {
    if (app_ != nullptr) app_->Shutdown();
  }

  const absl::Status& start_status() const { return start_status_; }
  int port() const { return app_->grpc_port(); }
  int metrics_port() const { return app_->metrics_port(); }
  App& app() { return *app_; }
  EvaluationStub& stub() { return *stub_; }
  grpc::Channel* channel() { return channel_.get(); }

  // Waits until health says SERVING (Redis answers and the initial load finished).
  bool WaitServing(absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (registry::e2e::CheckHealth(channel_.get(), "", absl::Seconds(1)) ==
          registry::e2e::HealthStatus::kServing) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

 private:
  std::unique_ptr<App> app_;
  absl::Status start_status_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<EvaluationStub> stub_;
};

// A valid credit code of the n-th enterprise registered under region `region6`'s city.
inline std::string CodeIn(const std::string& region4, int n) {
  return refdata::CompleteCreditCode(absl::StrFormat("91%s00%08d", region4, n));
}

inline rv1::Enterprise Enterprise(
    const std::string& code, const std::string& region, const std::string& industry, bool key,
    cv1::Ownership ownership, cv1::EnterpriseSize size,
    cv1::OrganizationKind kind = cv1::ORGANIZATION_KIND_MANUFACTURER) {
  rv1::Enterprise e;
  e.set_code(code);
  e.set_name(absl::StrCat("Enterprise ", code));
  e.set_region(region);
  e.set_industry(industry);
  e.set_key_enterprise(key);
  e.set_ownership(ownership);
  e.set_size(size);
  e.set_kind(kind);
  return e;
}

// Every WatchScorecard message of one stream, with its arrival time, read on a thread.
class WatchReader {
 public:
  struct Message {
    ev1::WatchScorecardResponse response;
    absl::Time time;
  };

  WatchReader(EvaluationStub& stub, const ev1::WatchScorecardRequest& request) {
    SetDeadline(&context_, absl::Minutes(2));
    reader_ = stub.WatchScorecard(&context_, request);
    thread_ = std::thread([this] {
      ev1::WatchScorecardResponse r;
      while (reader_->Read(&r)) {
        std::lock_guard<std::mutex> lock(mu_);
        messages_.push_back(Message{r, absl::Now()});
        cv_.notify_all();
      }
      grpc::Status status = reader_->Finish();
      std::lock_guard<std::mutex> lock(mu_);
      status_ = status;
      done_ = true;
      cv_.notify_all();
    });
  }
  ~WatchReader() {
    context_.TryCancel();
    if (thread_.joinable()) thread_.join();
  }

  // Waits until at least `n` messages arrived (or the stream ended, or timeout).
  bool WaitFor(size_t n, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [&] {
      return messages_.size() >= n || done_;
    }) && messages_.size() >= n;
  }
  // Waits until the stream ended; its status.
  std::optional<grpc::Status> WaitEnd(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [&] { return done_; })) {
      return std::nullopt;
    }
    return status_;
  }
  std::vector<Message> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return {messages_.begin(), messages_.end()};
  }
  void Cancel() { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<ev1::WatchScorecardResponse>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Message> messages_;
  bool done_ = false;
  grpc::Status status_;
};

// The evaluation of `target` in a scorecard, or null.
inline const ev1::Evaluation* Find(const ev1::Scorecard& card, const std::string& target) {
  for (const auto& e : card.evaluations()) {
    if (e.target_id() == target) return &e;
  }
  return nullptr;
}

// GET http://127.0.0.1:port/path; the whole response, headers included ("" on failure).
inline std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string request =
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

}  // namespace iplus::evaluation::e2e
