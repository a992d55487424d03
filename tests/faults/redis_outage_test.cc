// Fault tests of the registry: Redis going away and coming back under a running App, and
// a SIGTERM drain of the real iplus-registry binary.
//
// What they hold the service to (DESIGN.md §5): an unreachable Redis is UNAVAILABLE,
// returned quickly, never a hang; the standard health service says NOT_SERVING while
// Redis is away and SERVING again once it is back; SIGTERM lets in-flight calls finish,
// refuses new connections, and the process exits 0.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/free_port.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpc/grpc.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "gtest/gtest.h"
#include "iplus/registry/v1/registry.grpc.pb.h"
#include "services/registry/app.h"
#include "tests/e2e/registry_e2e_util.h"

extern char** environ;

namespace iplus::registry::e2e {
namespace {

using Stub = v1::RegistryService::Stub;

// The requirement: UNAVAILABLE within this long once Redis is gone.
constexpr absl::Duration kUnavailableWithin = absl::Milliseconds(100);
constexpr absl::Duration kNotServingWithin = absl::Seconds(1);
constexpr absl::Duration kServingAgainWithin = absl::Seconds(5);

// A channel with its own connection: test channels never share subchannels (and their
// reconnect back-off) through gRPC's global pool. With `slow_reader`, BDP probing is off
// and the stream look-ahead small, so that a server stream the client reads slowly is
// held back by flow control instead of landing in client-side buffers.
std::shared_ptr<grpc::Channel> Connect(int port, bool slow_reader = false) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (slow_reader) {
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 * 1024);
  }
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials(), args);
}

// Whether something accepts TCP connections on 127.0.0.1:port.
bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// A client connection that does not read: the HTTP/2 preface and SETTINGS, the server's
// SETTINGS read and acknowledged, then nothing more is read. It stands for a client that
// does not look at its idle connection while the server shuts down (an idle gRPC client
// may look only every few seconds). The descriptor, or -1.
int OpenSilentConnection(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  timeval timeout = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  // Frames: 3 bytes length, type (4: SETTINGS), flags (1: ACK), 4 bytes stream id.
  const std::string preface =
      std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + std::string("\0\0\0\x04\0\0\0\0\0", 9);
  const std::string settings_ack("\0\0\0\x04\x01\0\0\0\0", 9);
  char header[9];
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
            send(fd, preface.data(), preface.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(preface.size()) &&
            recv(fd, header, sizeof(header), MSG_WAITALL) == sizeof(header) && header[3] == 4;
  if (ok) {
    // The rest of the server's SETTINGS frame, then the acknowledgement.
    std::string payload((static_cast<unsigned char>(header[0]) << 16) |
                            (static_cast<unsigned char>(header[1]) << 8) |
                            static_cast<unsigned char>(header[2]),
                        '\0');
    ok = (payload.empty() || recv(fd, payload.data(), payload.size(), MSG_WAITALL) ==
                                 static_cast<ssize_t>(payload.size())) &&
         send(fd, settings_ack.data(), settings_ack.size(), MSG_NOSIGNAL) ==
             static_cast<ssize_t>(settings_ack.size());
  }
  if (!ok) {
    close(fd);
    return -1;
  }
  return fd;
}

const std::string kServiceName(v1::RegistryService::service_full_name());

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
}

// Polls Health/Check every 10 ms until it reports `want` or `within` passes. Returns the
// time it took, or nullopt on timeout.
std::optional<absl::Duration> WaitForHealth(grpc::Channel* channel, HealthStatus want,
                                            absl::Duration within) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + within;
  while (absl::Now() < deadline) {
    if (CheckHealth(channel, "", absl::Milliseconds(500)) == want) return absl::Now() - start;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Redis outages under an in-process App

// How Redis goes away.
enum class Outage { kStop, kKill };

void PrintTo(Outage outage, std::ostream* os) {
  *os << (outage == Outage::kStop ? "stop" : "kill");
}

class RedisOutageTest : public ::testing::TestWithParam<Outage> {
 protected:
  void SetUp() override {
    IPLUS_ASSERT_OK(redis_.Start());
    StartApp();
  }

  void StartApp() {
    AppConfig config;
    config.server.service_name = "registry";
    config.server.grpc_address = "127.0.0.1:0";
    config.server.metrics_address = "127.0.0.1:0";
    config.server.drain_timeout = absl::Seconds(2);
    config.server.probe_interval = absl::Milliseconds(100);
    config.server.auth.allow_unauthenticated = true;
    config.redis.host = "127.0.0.1";
    config.redis.port = redis_.port();
    config.redis.connect_timeout = absl::Milliseconds(100);
    config.redis.command_timeout = absl::Milliseconds(200);
    app_ = std::make_unique<App>(config);
    IPLUS_ASSERT_OK(app_->Start());
    channel_ = Connect(app_->grpc_port());
    stub_ = v1::RegistryService::NewStub(channel_);
  }

  // GetEnterprise, timed from the client's side.
  grpc::Status TimedGet(const std::string& code, absl::Duration* elapsed) {
    v1::GetEnterpriseRequest request;
    request.set_code(code);
    v1::GetEnterpriseResponse response;
    grpc::ClientContext context;
    SetDeadline(&context, absl::Seconds(10));
    const absl::Time start = absl::Now();
    grpc::Status status = stub_->GetEnterprise(&context, request, &response);
    *elapsed = absl::Now() - start;
    return status;
  }

  grpc::Status Create(const v1::Enterprise& e) {
    v1::CreateEnterpriseRequest request;
    *request.mutable_enterprise() = e;
    v1::CreateEnterpriseResponse response;
    grpc::ClientContext context;
    SetDeadline(&context, absl::Seconds(10));
    return stub_->CreateEnterprise(&context, request, &response);
  }

  void TakeRedisAway() {
    if (GetParam() == Outage::kStop) {
      redis_.Stop();
    } else {
      redis_.Kill();
    }
    ASSERT_FALSE(redis_.running());
  }

  test::RedisServer redis_;
  std::unique_ptr<App> app_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Stub> stub_;
};

TEST_P(RedisOutageTest, UnavailableQuicklyAndHealthFollowsRedis) {
  ASSERT_THAT(Create(Manufacturer(1)), GrpcIs(grpc::StatusCode::OK));
  absl::Duration elapsed;
  ASSERT_THAT(TimedGet(CodeN(1), &elapsed), GrpcIs(grpc::StatusCode::OK));
  ASSERT_EQ(CheckHealth(channel_.get(), "", absl::Seconds(2)), HealthStatus::kServing);
  ASSERT_EQ(CheckHealth(channel_.get(), kServiceName, absl::Seconds(2)), HealthStatus::kServing);

  TakeRedisAway();
  const absl::Time gone = absl::Now();

  // Every call, the first one after the outage included, fails fast. The first is the
  // one that finds the pooled connection closed and tries to reconnect; on loopback a
  // refused connect returns at once, so it is not bounded by the 100 ms connect timeout
  // but by a round trip. Later calls fail fast inside the client's reconnect back-off.
  absl::Duration first = absl::ZeroDuration();
  absl::Duration worst = absl::ZeroDuration();
  for (int i = 0; i < 20; ++i) {
    grpc::Status status = TimedGet(CodeN(1), &elapsed);
    EXPECT_THAT(status, GrpcIs(grpc::StatusCode::UNAVAILABLE)) << "call " << i;
    EXPECT_LT(elapsed, kUnavailableWithin) << "call " << i;
    if (i == 0) first = elapsed;
    worst = std::max(worst, elapsed);
  }
  // Writes and streams too.
  {
    const absl::Time start = absl::Now();
    EXPECT_THAT(Create(Manufacturer(2)), GrpcIs(grpc::StatusCode::UNAVAILABLE));
    EXPECT_LT(absl::Now() - start, kUnavailableWithin);
  }
  {
    v1::ExportEnterprisesRequest request;
    grpc::ClientContext context;
    SetDeadline(&context, absl::Seconds(10));
    const absl::Time start = absl::Now();
    auto reader = stub_->ExportEnterprises(&context, request);
    v1::ExportEnterprisesResponse batch;
    EXPECT_FALSE(reader->Read(&batch));
    EXPECT_THAT(reader->Finish(), GrpcIs(grpc::StatusCode::UNAVAILABLE));
    EXPECT_LT(absl::Now() - start, kUnavailableWithin);
  }

  auto not_serving = WaitForHealth(channel_.get(), HealthStatus::kNotServing, kNotServingWithin);
  ASSERT_TRUE(not_serving.has_value())
      << "health still SERVING " << kNotServingWithin << " after Redis went away";
  const absl::Duration not_serving_after = absl::Now() - gone;

  // Keep Redis away a while longer, as a real outage would: calls stay fast failures the
  // whole time, and the client's reconnect back-off grows (up to 2 s by default), which
  // the recovery below has to absorb.
  const absl::Time outage_end = gone + absl::Milliseconds(1500);
  int calls_during_outage = 0;
  while (absl::Now() < outage_end) {
    grpc::Status status = TimedGet(CodeN(1), &elapsed);
    EXPECT_THAT(status, GrpcIs(grpc::StatusCode::UNAVAILABLE));
    EXPECT_LT(elapsed, kUnavailableWithin);
    worst = std::max(worst, elapsed);
    ++calls_during_outage;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(CheckHealth(channel_.get(), "", absl::Seconds(2)), HealthStatus::kNotServing);
  // The registry's own name follows the overall status.
  EXPECT_EQ(CheckHealth(channel_.get(), kServiceName, absl::Seconds(2)), HealthStatus::kNotServing);

  IPLUS_ASSERT_OK(redis_.Start());  // same port, empty data set (no persistence)
  auto serving = WaitForHealth(channel_.get(), HealthStatus::kServing, kServingAgainWithin);
  ASSERT_TRUE(serving.has_value())
      << "health not SERVING " << kServingAgainWithin << " after Redis came back";

  // Calls succeed again; the scripts are loaded afresh into the new Redis.
  EXPECT_THAT(TimedGet(CodeN(1), &elapsed), GrpcIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(Create(Manufacturer(3)), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(TimedGet(CodeN(3), &elapsed), GrpcIs(grpc::StatusCode::OK));

  std::cout << absl::StreamFormat(
      "[measured] outage=%s first UNAVAILABLE %s, worst of %d %s; NOT_SERVING after %s; "
      "SERVING %s after restart\n",
      GetParam() == Outage::kStop ? "stop" : "kill", absl::FormatDuration(first),
      20 + calls_during_outage, absl::FormatDuration(worst),
      absl::FormatDuration(not_serving_after), absl::FormatDuration(*serving));
  RecordProperty("first_unavailable_us", static_cast<int>(absl::ToInt64Microseconds(first)));
  RecordProperty("worst_unavailable_us", static_cast<int>(absl::ToInt64Microseconds(worst)));
  RecordProperty("serving_again_ms", static_cast<int>(absl::ToInt64Milliseconds(*serving)));
}

TEST_P(RedisOutageTest, StartsWithoutRedisAndServesOnceItArrives) {
  app_.reset();
  TakeRedisAway();
  StartApp();
  if (HasFatalFailure()) return;

  EXPECT_EQ(CheckHealth(channel_.get(), "", absl::Seconds(2)), HealthStatus::kNotServing);
  absl::Duration elapsed;
  EXPECT_THAT(TimedGet(CodeN(1), &elapsed), GrpcIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_LT(elapsed, kUnavailableWithin);

  IPLUS_ASSERT_OK(redis_.Start());
  ASSERT_TRUE(WaitForHealth(channel_.get(), HealthStatus::kServing, kServingAgainWithin));
  EXPECT_THAT(Create(Manufacturer(1)), GrpcIs(grpc::StatusCode::OK));
}

INSTANTIATE_TEST_SUITE_P(Outages, RedisOutageTest, ::testing::Values(Outage::kStop, Outage::kKill),
                         [](const ::testing::TestParamInfo<Outage>& info) {
                           return info.param == Outage::kStop ? "Stop" : "Kill";
                         });

// A Redis that accepts connections but never answers (SIGSTOP): calls are bounded by the
// client's timeouts, health goes NOT_SERVING, and both recover on SIGCONT.
class PausedRedisTest : public RedisOutageTest {};

TEST_F(PausedRedisTest, HungRedisIsUnavailableWithinTheTimeouts) {
  ASSERT_THAT(Create(Manufacturer(1)), GrpcIs(grpc::StatusCode::OK));
  struct Resume {
    pid_t pid;
    ~Resume() {
      if (pid > 0) kill(pid, SIGCONT);
    }
  } resume{redis_.pid()};
  ASSERT_GT(resume.pid, 0);
  ASSERT_EQ(kill(resume.pid, SIGSTOP), 0);

  // At most a wait for a pooled connection plus one command timeout (200 ms each), and
  // fast-fail once the server is known to be suspect.
  const absl::Duration bound = absl::Milliseconds(200 + 200 + 100 + 100);
  for (int i = 0; i < 5; ++i) {
    absl::Duration elapsed;
    EXPECT_THAT(TimedGet(CodeN(1), &elapsed), GrpcIs(grpc::StatusCode::UNAVAILABLE)) << i;
    EXPECT_LT(elapsed, bound) << i;
  }
  EXPECT_TRUE(WaitForHealth(channel_.get(), HealthStatus::kNotServing, kNotServingWithin));

  ASSERT_EQ(kill(resume.pid, SIGCONT), 0);
  ASSERT_TRUE(WaitForHealth(channel_.get(), HealthStatus::kServing, kServingAgainWithin));
  absl::Duration elapsed;
  EXPECT_THAT(TimedGet(CodeN(1), &elapsed), GrpcIs(grpc::StatusCode::OK));
}

// ---------------------------------------------------------------------------------------
// SIGTERM drain of the real binary

// A child process started with posix_spawn, killed and reaped on destruction if still
// running.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }

  // Runs argv[0] with `argv`, stdout and stderr appended to `log_path`, default signal
  // dispositions and an empty signal mask, and the environment minus IPLUS_* variables
  // (which the binary would read as flags).
  absl::Status Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<char*> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (!absl::StartsWith(*e, "IPLUS_")) env.push_back(*e);
    }
    env.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t empty;
    sigemptyset(&empty);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(&pid_, args[0], &actions, &attr, args.data(), env.data());
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
    pid_t r;
    do {
      r = waitpid(pid_, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return true;
    if (r == pid_) exit_status_ = status;  // else: not our child any more; status unknown
    pid_ = -1;
    return false;
  }

  // Sends `sig` to the child only: never to a process group or to -1.
  bool Signal(int sig) { return pid_ > 0 && kill(pid_, sig) == 0; }

  // Waits up to `timeout` for the process to exit; its raw wait status, or nullopt.
  std::optional<int> Wait(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (Running()) {
      if (absl::Now() >= deadline) return std::nullopt;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return exit_status_;
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

std::string RegistryBinary() {
  if (const char* path = std::getenv("REGISTRY_BINARY"); path != nullptr && *path != '\0') {
    return path;
  }
  return IPLUS_REGISTRY_BINARY;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

class DrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    IPLUS_ASSERT_OK(redis_.Start());
    std::string tmpl = (std::filesystem::temp_directory_path() / "iplus-drain-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    dir_ = tmpl;
    log_path_ = dir_ + "/registry.log";
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "registry log:\n" << ReadFile(log_path_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Starts the binary on free ports and waits until it reports SERVING. A port taken
  // between FreePort() and the bind makes the binary exit; then it retries.
  void StartRegistry() {
    for (int attempt = 0; attempt < 3; ++attempt) {
      grpc_port_ = test::FreePort();
      int metrics_port = test::FreePort();
      child_ = std::make_unique<ChildProcess>();
      IPLUS_ASSERT_OK(
          child_->Spawn({RegistryBinary(), "--redis_address", redis_.address(), "--grpc_address",
                         absl::StrCat("127.0.0.1:", grpc_port_), "--metrics_address",
                         absl::StrCat("127.0.0.1:", metrics_port), "--drain_timeout_s", "10",
                         "--plaintext", "--allow_unauthenticated"},
                        log_path_));
      // The channel is made only once the port accepts, so that it does not start in
      // gRPC's reconnect back-off (1 s and growing) after a refused first attempt.
      const absl::Time deadline = absl::Now() + absl::Seconds(20);
      while (child_->Running() && absl::Now() < deadline && !Accepts(grpc_port_)) {
        absl::SleepFor(absl::Milliseconds(10));
      }
      channel_ = Connect(grpc_port_, /*slow_reader=*/true);
      while (child_->Running() && absl::Now() < deadline) {
        if (CheckHealth(channel_.get(), "", absl::Milliseconds(200)) == HealthStatus::kServing) {
          stub_ = v1::RegistryService::NewStub(channel_);
          return;
        }
        absl::SleepFor(absl::Milliseconds(10));
      }
      ASSERT_FALSE(child_->Running()) << "registry running but not SERVING after 20 s";
    }
    FAIL() << "registry did not start";
  }

  test::RedisServer redis_;
  std::string dir_;
  std::string log_path_;
  int grpc_port_ = 0;
  std::unique_ptr<ChildProcess> child_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Stub> stub_;
};

TEST_F(DrainTest, SigtermFinishesInFlightCallsAndExitsZero) {
  StartRegistry();
  if (HasFatalFailure()) return;

  // ~3 MB of enterprises: with the slow-reader channel (no BDP probing, small look-ahead)
  // most of the export is still on the server, held back by flow control, when SIGTERM
  // arrives.
  constexpr int kEnterprises = 3000;
  for (int start = 0; start < kEnterprises; start += 1000) {
    v1::BatchCreateEnterprisesRequest request;
    for (int i = start; i < start + 1000; ++i) {
      v1::Enterprise e = Manufacturer(i);
      for (int l = 0; l < 8; ++l) {
        (*e.mutable_labels())[absl::StrCat("note", l)] = std::string(100, 'a' + l);
      }
      *request.add_requests()->mutable_enterprise() = e;
    }
    v1::BatchCreateEnterprisesResponse response;
    grpc::ClientContext context;
    SetDeadline(&context, absl::Seconds(30));
    ASSERT_THAT(stub_->BatchCreateEnterprises(&context, request, &response),
                GrpcIs(grpc::StatusCode::OK));
    for (const auto& r : response.results()) ASSERT_EQ(r.status().code(), 0);
  }

  // The in-flight call: an export in small batches, read slowly.
  v1::ExportEnterprisesRequest request;
  request.set_batch_size(20);
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(60));
  auto reader = stub_->ExportEnterprises(&context, request);
  std::set<std::string> codes;
  int batches = 0;
  v1::ExportEnterprisesResponse batch;
  ASSERT_TRUE(reader->Read(&batch));
  ++batches;
  for (const auto& e : batch.enterprises()) codes.insert(e.code());

  ASSERT_TRUE(child_->Signal(SIGTERM));
  const absl::Time term = absl::Now();

  // While the export is still being read, new connections are refused.
  bool refused = false;
  grpc::Status probe;
  const absl::Time refuse_deadline = absl::Now() + absl::Seconds(3);
  while (absl::Now() < refuse_deadline) {
    auto fresh = Connect(grpc_port_);
    auto fresh_stub = v1::RegistryService::NewStub(fresh);
    v1::GetEnterpriseRequest get;
    get.set_code(CodeN(1));
    v1::GetEnterpriseResponse got;
    grpc::ClientContext get_context;
    SetDeadline(&get_context, absl::Milliseconds(500));
    probe = fresh_stub->GetEnterprise(&get_context, get, &got);
    if (probe.error_code() == grpc::StatusCode::UNAVAILABLE) {
      refused = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(refused) << "a new connection still got " << CodeName(probe.error_code());

  // The rest of the export, read at a slow consumer's pace. Half-way through, the server
  // is still up: it is waiting for this call.
  bool alive_mid_stream = false;
  while (reader->Read(&batch)) {
    ++batches;
    for (const auto& e : batch.enterprises()) codes.insert(e.code());
    if (batches == kEnterprises / 20 / 2) alive_mid_stream = child_->Running();
    absl::SleepFor(absl::Milliseconds(5));
  }
  grpc::Status finished = reader->Finish();
  EXPECT_THAT(finished, GrpcIs(grpc::StatusCode::OK));
  EXPECT_EQ(batches, kEnterprises / 20);
  EXPECT_EQ(codes.size(), static_cast<size_t>(kEnterprises));
  EXPECT_TRUE(alive_mid_stream) << "the server exited before the in-flight export finished";

  // Once the export is over no call is in flight: the server exits without waiting for
  // this client to close its connection (see SigtermWithIdleClientsExitsOnceNoCallIsInFlight).
  reader.reset();
  stub_.reset();
  channel_.reset();
  std::optional<int> status =
      child_->Wait(absl::Seconds(10) - (absl::Now() - term) + absl::Seconds(2));
  ASSERT_TRUE(status.has_value()) << "registry still running after the drain timeout";
  const absl::Duration exit_after = absl::Now() - term;
  ASSERT_TRUE(WIFEXITED(*status)) << "registry ended by signal " << WTERMSIG(*status);
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_LT(exit_after, absl::Seconds(10));

  // And after exit, nothing listens.
  auto after = v1::RegistryService::NewStub(Connect(grpc_port_));
  v1::GetEnterpriseRequest get;
  get.set_code(CodeN(1));
  v1::GetEnterpriseResponse got;
  grpc::ClientContext after_context;
  SetDeadline(&after_context, absl::Milliseconds(500));
  EXPECT_THAT(after->GetEnterprise(&after_context, get, &got),
              GrpcIs(grpc::StatusCode::UNAVAILABLE));

  std::string log = ReadFile(log_path_);
  EXPECT_THAT(log, ::testing::HasSubstr("signal received"));
  EXPECT_THAT(log, ::testing::HasSubstr("draining"));
  std::cout << absl::StreamFormat(
      "[measured] export of %d in %d batches finished; exit 0 after %s\n", kEnterprises, batches,
      absl::FormatDuration(exit_after));
}

TEST_F(DrainTest, SigtermWhenIdleExitsPromptly) {
  StartRegistry();
  if (HasFatalFailure()) return;
  // No client connection left open: nothing to drain.
  stub_.reset();
  channel_.reset();
  ASSERT_TRUE(child_->Signal(SIGTERM));
  const absl::Time term = absl::Now();
  std::optional<int> status = child_->Wait(absl::Seconds(2));
  ASSERT_TRUE(status.has_value()) << "an idle registry did not exit within 2 s of SIGTERM";
  const absl::Duration exit_after = absl::Now() - term;
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  std::cout << absl::StreamFormat("[measured] idle exit after %s\n",
                                  absl::FormatDuration(exit_after));
}

// Idle clients do not hold the drain: with no call in flight, the server closes the
// connections left instead of waiting, up to the drain timeout, for every client to
// acknowledge its shutdown notice. A gRPC client with no call in flight may read its
// connection only every few seconds, and one that does not read it at all never answers.
constexpr absl::Duration kIdleExitWithin = absl::Seconds(2);

TEST_F(DrainTest, SigtermWithIdleClientsExitsOnceNoCallIsInFlight) {
  StartRegistry();
  if (HasFatalFailure()) return;
  // A gRPC client that keeps its connection open but has no call in flight...
  ASSERT_EQ(CheckHealth(channel_.get(), "", absl::Seconds(2)), HealthStatus::kServing);
  // ...and one that does not read its connection any more.
  const int silent = OpenSilentConnection(grpc_port_);
  ASSERT_GE(silent, 0) << "no HTTP/2 connection to the registry: " << std::strerror(errno);
  ASSERT_TRUE(child_->Signal(SIGTERM));
  const absl::Time term = absl::Now();
  std::optional<int> status = child_->Wait(absl::Seconds(10) + absl::Seconds(2));
  const absl::Duration exit_after = absl::Now() - term;
  close(silent);
  ASSERT_TRUE(status.has_value()) << "registry still running after the 10 s drain timeout";
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_LT(exit_after, kIdleExitWithin)
      << "the drain waited for idle client connections (drain timeout 10 s)";
  std::cout << absl::StreamFormat("[measured] exit with idle client connections after %s\n",
                                  absl::FormatDuration(exit_after));
}

// Services stopped one after another while one client process holds an idle channel to
// each (as a test or a caller does): every drain is prompt, not only the first. Before
// idle connections were closed, each stop after the first waited 5 to 10 s for the
// client's gRPC to read its connections.
TEST_F(DrainTest, SigtermOfReplicasOneAfterAnotherWithIdleClientsExitsPromptly) {
  constexpr int kReplicas = 3;
  std::vector<std::unique_ptr<ChildProcess>> replicas;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < kReplicas; ++i) {
    StartRegistry();
    if (HasFatalFailure()) return;
    replicas.push_back(std::move(child_));
    channels.push_back(channel_);
  }
  for (auto& channel : channels) {
    ASSERT_EQ(CheckHealth(channel.get(), "", absl::Seconds(2)), HealthStatus::kServing);
  }
  for (int i = 0; i < kReplicas; ++i) {
    ASSERT_TRUE(replicas[i]->Signal(SIGTERM));
    const absl::Time term = absl::Now();
    std::optional<int> status = replicas[i]->Wait(absl::Seconds(10) + absl::Seconds(2));
    const absl::Duration exit_after = absl::Now() - term;
    ASSERT_TRUE(status.has_value()) << "replica " << i << " still running after the drain timeout";
    ASSERT_TRUE(WIFEXITED(*status));
    EXPECT_EQ(WEXITSTATUS(*status), 0);
    EXPECT_LT(exit_after, kIdleExitWithin) << "replica " << i << " (stopped in turn)";
    std::cout << absl::StreamFormat("[measured] replica %d exit after %s\n", i,
                                    absl::FormatDuration(exit_after));
  }
}

}  // namespace
}  // namespace iplus::registry::e2e
