// evaluation_bench: latency, freshness and invalidation work of the evaluation service
// over a realistic data set (bench/datagen). In one run it starts a private redis-server
// and the three service binaries (registry, ingest, evaluation) on loopback, then:
//   1. loads --enterprises generated enterprises and their 2015-2018 reports through the
//      registry and ingest (or restores them from an RDB snapshot in --data_dir, which a
//      first run with --data_dir writes), and checks ingest's coverage against the data;
//   2. starts evaluation with the plan's five targets and times its initial load (until
//      health says SERVING), then checks that the national scorecard counts the whole
//      data set, and compares it with a reference evaluation computed in this process;
//   3. measures, one request at a time: the baseline (GetTarget, a trivial RPC on the
//      same server and channel), warm and cold GetScorecard (the whole country, 2018) and
//      warm and cold Breakdown by province; cold means the result cache emptied before
//      the request (every "res:" key of the service deleted), checked by the responses'
//      `cached` flags;
//   4. invalidation: with 64 scorecards (the country and 31 provinces, 2017 and 2018) and
//      5 province breakdowns cached, one revised observation of inventory_turnover 2018,
//      then every result again: which were recomputed (cached=false), which served from
//      the cache, and the service's own counters over the same window;
//   5. freshness: a revised observation accepted by ingest, then the time until a polled
//      GetScorecard, and separately a WatchScorecard message, reflects its data version.
// It ends with one line per target, each MET or MISSED. Exit status 0 when every phase
// ran (whatever the timings), 1 when something failed, 2 for bad flags.

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/datagen/datagen.h"
#include "bench/datagen/loader.h"
#include "common/testing/free_port.h"
#include "common/testing/redis_server.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/client_unary_call.h"
#include "grpcpp/impl/codegen/rpc_method.h"
#include "iplus/evaluation/v1/evaluation.grpc.pb.h"
#include "iplus/ingest/v1/ingest.grpc.pb.h"
#include "iplus/registry/v1/registry.grpc.pb.h"

extern char** environ;

ABSL_FLAG(int64_t, enterprises, 1000000, "enterprises in the generated data set");
ABSL_FLAG(uint64_t, seed, 1, "seed of the generated data set");
ABSL_FLAG(std::string, data_dir, "",
          "directory for an RDB snapshot of the loaded data: restored when it matches "
          "--seed and --enterprises, written after the load otherwise; empty: always load");
ABSL_FLAG(int, requests, 1000, "requests per warm measurement and for the baseline");
ABSL_FLAG(int, cold_requests, 20, "requests per cold measurement (cache emptied before each)");
ABSL_FLAG(int, freshness_trials, 20, "trials per freshness measurement (polled and watched)");
ABSL_FLAG(std::string, period, "2018", "the period evaluated");
ABSL_FLAG(int, load_streams, 8, "StreamObservations streams during the load");
ABSL_FLAG(int, load_window, 2, "unacknowledged batches per stream during the load");
ABSL_FLAG(int, load_concurrency, 4, "BatchCreateEnterprises calls in flight during the load");
ABSL_FLAG(int, hash_max_listpack_value, 1024,
          "hash-max-listpack-value of redis-server, as deployed (0: Redis's default)");
ABSL_FLAG(int, ready_timeout_s, 1800, "longest wait for a service to become SERVING");
ABSL_FLAG(std::string, registry_binary, "", "iplus-registry (default: this build's)");
ABSL_FLAG(std::string, ingest_binary, "", "iplus-ingest (default: this build's)");
ABSL_FLAG(std::string, evaluation_binary, "", "iplus-evaluation (default: this build's)");
ABSL_FLAG(std::string, evaluation_flags, "",
          "extra flags for iplus-evaluation, separated by spaces");
ABSL_FLAG(bool, keep_logs, false, "keep the services' logs (their directory is printed)");

namespace iplus::bench {
namespace {

namespace dg = ::iplus::datagen;
namespace ev1 = ::iplus::evaluation::v1;
namespace iv1 = ::iplus::ingest::v1;
namespace rv1 = ::iplus::registry::v1;
namespace cv1 = ::iplus::common::v1;
using Clock = std::chrono::steady_clock;

constexpr char kSnapshotFile[] = "evaluation_bench.rdb";
constexpr char kManifestFile[] = "evaluation_bench.manifest";
constexpr int kSnapshotFormat = 1;  // bump when the generator's output changes
constexpr absl::Duration kCallDeadline = absl::Seconds(120);
constexpr absl::Duration kFreshTimeout = absl::Seconds(30);
constexpr char kInventoryTarget[] = "inventory-turnover";
constexpr char kInventory[] = "inventory_turnover";

// ---------------------------------------------------------------------------------------
// Small helpers.

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
int64_t Nanos(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

std::string Thousands(double v) {
  std::string digits = absl::StrFormat("%.0f", v);
  std::string out;
  int n = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (n > 0 && n % 3 == 0 && *it != '-') out.push_back(',');
    out.push_back(*it);
    ++n;
  }
  return std::string(out.rbegin(), out.rend());
}

// Latencies of one measurement, in nanoseconds.
struct Samples {
  std::vector<int64_t> ns;
  int64_t failures = 0;
  std::string first_failure;

  void Add(int64_t v) { ns.push_back(v); }
  void Fail(std::string why) {
    if (failures++ == 0) first_failure = std::move(why);
  }
  // Milliseconds at quantile q (nearest rank).
  double Ms(double q) const {
    if (ns.empty()) return 0;
    std::vector<int64_t> s = ns;
    std::sort(s.begin(), s.end());
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(s.size())));
    i = std::clamp<size_t>(i, 1, s.size()) - 1;
    return static_cast<double>(s[i]) / 1e6;
  }
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string Tail(const std::string& text, size_t bytes) {
  return text.size() <= bytes ? text : text.substr(text.size() - bytes);
}

std::string LoadAverage() {
  std::string s = ReadFile("/proc/loadavg");
  std::vector<std::string> f = absl::StrSplit(s, ' ');
  return f.size() >= 3 ? absl::StrCat(f[0], " ", f[1], " ", f[2]) : "?";
}

double CpuSecondsSelf() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// utime + stime of another process, from /proc; 0 when unreadable.
double CpuSecondsOf(pid_t pid) {
  if (pid <= 0) return 0;
  std::string text = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  size_t paren = text.rfind(')');
  if (paren == std::string::npos || paren + 2 > text.size()) return 0;
  std::vector<std::string> f = absl::StrSplit(text.substr(paren + 2), ' ');
  int64_t ut = 0, st = 0;
  if (f.size() < 13 || !absl::SimpleAtoi(f[11], &ut) || !absl::SimpleAtoi(f[12], &st)) return 0;
  return static_cast<double>(ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Resident set size in MiB, from /proc; 0 when unreadable.
double RssMiB(pid_t pid) {
  for (absl::string_view line :
       absl::StrSplit(ReadFile(absl::StrCat("/proc/", pid, "/status")), '\n')) {
    if (!absl::ConsumePrefix(&line, "VmRSS:")) continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, " kB");
    int64_t kb = 0;
    if (absl::SimpleAtoi(line, &kb)) return static_cast<double>(kb) / 1024;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------
// A service binary as a child process: stdout and stderr to a log file, killed with this
// process (PR_SET_PDEATHSIG), the environment without IPLUS_* variables plus the given
// ones.

class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { Kill(); }

  absl::Status Start(const std::vector<std::string>& argv,
                     const std::vector<std::string>& extra_env, const std::string& log_path) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (!absl::StartsWith(*e, "IPLUS_")) env.emplace_back(*e);
    }
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
      return absl::InternalError(absl::StrCat("open ", log_path, ": ", std::strerror(errno)));
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
      close(log_fd);
      return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      signal(SIGPIPE, SIG_DFL);
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
      close_range(3, ~0U, 0);
      execve(args[0], args.data(), envp.data());
      _exit(127);
    }
    close(log_fd);
    pid_ = pid;
    log_path_ = log_path;
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
    pid_ = -1;
    return false;
  }

  // SIGTERM (the services drain), then SIGKILL after `timeout`.
  void Stop(absl::Duration timeout = absl::Seconds(15)) {
    if (!Running()) return;
    kill(pid_, SIGTERM);
    const absl::Time deadline = absl::Now() + timeout;
    while (Running() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
    Kill();
  }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  pid_t pid() const { return pid_; }
  std::string LogTail() const { return Tail(ReadFile(log_path_), 3000); }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

// ---------------------------------------------------------------------------------------
// gRPC helpers.

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, int index) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("iplus.bench.channel", index);
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  // Retry a refused connection (a service still starting) within 100 ms, not gRPC's
  // default back-off of a second and more, which would add to the start-up figures.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

void SetDeadline(grpc::ClientContext* ctx, absl::Duration d = kCallDeadline) {
  ctx->set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(d));
}

std::string Describe(const grpc::Status& s) {
  return absl::StrCat("code ", s.error_code(), ": ", s.error_message());
}

// grpc.health.v1.Health/Check of the whole server: true when SERVING. gRPC C++ ships no
// client stub for the health service, so the call is made on raw bytes.
bool Serving(grpc::Channel* channel) {
  grpc::ByteBuffer request_buffer;  // HealthCheckRequest{service: ""} is empty
  grpc::ByteBuffer response_buffer;
  grpc::ClientContext context;
  SetDeadline(&context, absl::Milliseconds(500));
  static const grpc::internal::RpcMethod kCheck("/grpc.health.v1.Health/Check",
                                                grpc::internal::RpcMethod::NORMAL_RPC);
  grpc::Slice empty("", 0);
  request_buffer = grpc::ByteBuffer(&empty, 1);
  grpc::Status status = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel, kCheck, &context, request_buffer, &response_buffer);
  if (!status.ok()) return false;
  std::vector<grpc::Slice> slices;
  if (!response_buffer.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(bytes)) return false;
  for (int i = 0; i < fields.field_count(); ++i) {
    const auto& f = fields.field(i);
    if (f.number() == 1 && f.type() == google::protobuf::UnknownField::TYPE_VARINT) {
      return f.varint() == 1;
    }
  }
  return false;
}

// Whether a TCP connection to 127.0.0.1:port is accepted.
bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// GET /metrics over plain HTTP; the body, or "" when unreachable.
std::string Scrape(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[16384];
      for (;;) {
        const ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        response.append(buf, static_cast<size_t>(n));
      }
    }
  }
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// Sample lines of the Prometheus text format: "name{labels}" -> value.
std::map<std::string, double> ParseMetrics(const std::string& text) {
  std::map<std::string, double> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "#")) continue;
    const size_t space = line.rfind(' ');
    if (space == absl::string_view::npos) continue;
    double v = 0;
    if (!absl::SimpleAtod(line.substr(space + 1), &v)) continue;
    out[std::string(line.substr(0, space))] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Raw Redis, for INFO, SAVE and emptying the result cache.

struct RedisFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using RedisConn = std::unique_ptr<redisContext, RedisFree>;
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

absl::StatusOr<RedisConn> Connect(const test::RedisServer& server) {
  timeval timeout{600, 0};
  RedisConn c(redisConnectWithTimeout(server.host().c_str(), server.port(), timeval{5, 0}));
  if (c == nullptr) return absl::UnavailableError("redis: cannot allocate a context");
  if (c->err != 0) return absl::UnavailableError(absl::StrCat("redis: ", c->errstr));
  redisSetTimeout(c.get(), timeout);
  return c;
}

absl::StatusOr<ReplyPtr> Command(redisContext* c, const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  void* reply = redisCommandArgv(c, static_cast<int>(argv.size()), ptrs.data(), lens.data());
  if (reply == nullptr) return absl::UnavailableError(absl::StrCat("redis: ", c->errstr));
  ReplyPtr r(static_cast<redisReply*>(reply));
  if (r->type == REDIS_REPLY_ERROR) {
    return absl::InternalError(absl::StrCat("redis ", argv[0], ": ", std::string(r->str, r->len)));
  }
  return r;
}

absl::StatusOr<std::string> InfoField(redisContext* c, const std::string& section,
                                      const std::string& field) {
  auto info = Command(c, {"INFO", section});
  if (!info.ok()) return info.status();
  for (absl::string_view line :
       absl::StrSplit(absl::string_view((*info)->str, (*info)->len), "\r\n")) {
    if (absl::ConsumePrefix(&line, field + ":")) return std::string(line);
  }
  return absl::NotFoundError(field);
}

// Every cached evaluation result ("iplus:{evaluation:<region>}:res:<hash>", see
// services/evaluation/store/result_cache.h), learnt from Redis keyspace notifications of
// SET rather than by scanning a keyspace of a million keys before every cold request.
// Start() before the evaluation service writes its first result.
class ResultKeys {
 public:
  ~ResultKeys() { Stop(); }

  absl::Status Start(const test::RedisServer& server, redisContext* control) {
    control_ = control;
    if (auto s = Command(control, {"CONFIG", "SET", "notify-keyspace-events", "E$"}); !s.ok()) {
      return s.status();
    }
    sub_ = redisConnect(server.host().c_str(), server.port());
    if (sub_ == nullptr || sub_->err != 0) return absl::UnavailableError("redis: subscribe");
    void* reply = redisCommand(sub_, "SUBSCRIBE __keyevent@0__:set");
    if (reply == nullptr) return absl::UnavailableError("redis: SUBSCRIBE");
    freeReplyObject(reply);
    reader_ = std::thread([this] { Read(); });
    return absl::OkStatus();
  }

  void Stop() {
    if (sub_ == nullptr) return;
    shutdown(sub_->fd, SHUT_RDWR);
    if (reader_.joinable()) reader_.join();
    redisFree(sub_);
    sub_ = nullptr;
  }

  // Deletes every result key set so far; the number deleted. Redis publishes
  // notifications in command order, so once the SET of a fresh sentinel key has been
  // seen, so has every earlier SET.
  absl::StatusOr<int64_t> DeleteAll() {
    const std::string sentinel = absl::StrCat(kSentinel, ++sentinels_);
    if (auto s = Command(control_, {"SET", sentinel, "1"}); !s.ok()) return s.status();
    std::set<std::string> keys;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!cv_.wait_for(lock, std::chrono::seconds(30),
                        [&] { return seen_sentinel_ >= sentinels_ || ended_; }) ||
          seen_sentinel_ < sentinels_) {
        return absl::UnavailableError("redis: keyspace notifications stopped");
      }
      keys.swap(keys_);
    }
    if (auto s = Command(control_, {"DEL", sentinel}); !s.ok()) return s.status();
    int64_t deleted = 0;
    std::vector<std::string> argv = {"UNLINK"};
    auto flush = [&]() -> absl::Status {
      if (argv.size() == 1) return absl::OkStatus();
      auto n = Command(control_, argv);
      if (!n.ok()) return n.status();
      deleted += (*n)->integer;
      argv.resize(1);
      return absl::OkStatus();
    };
    for (const auto& k : keys) {
      argv.push_back(k);
      if (argv.size() > 1000) {
        if (absl::Status s = flush(); !s.ok()) return s;
      }
    }
    if (absl::Status s = flush(); !s.ok()) return s;
    return deleted;
  }

 private:
  static constexpr char kSentinel[] = "evaluation-bench:sentinel:";

  void Read() {
    for (;;) {
      void* reply = nullptr;
      if (redisGetReply(sub_, &reply) != REDIS_OK || reply == nullptr) break;
      ReplyPtr r(static_cast<redisReply*>(reply));
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) continue;
      const std::string key(r->element[2]->str, r->element[2]->len);
      std::lock_guard<std::mutex> lock(mu_);
      if (absl::StartsWith(key, "iplus:{evaluation:") && absl::StrContains(key, "}:res:")) {
        keys_.insert(key);
      } else if (absl::StartsWith(key, kSentinel)) {
        int64_t n = 0;
        if (absl::SimpleAtoi(absl::string_view(key).substr(sizeof(kSentinel) - 1), &n)) {
          seen_sentinel_ = std::max(seen_sentinel_, n);
          cv_.notify_all();
        }
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    ended_ = true;
    cv_.notify_all();
  }

  redisContext* control_ = nullptr;
  redisContext* sub_ = nullptr;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> keys_;
  int64_t seen_sentinel_ = 0;
  bool ended_ = false;
  int64_t sentinels_ = 0;
};

// ---------------------------------------------------------------------------------------
// The plan's targets (DESIGN §2), as the evaluation service is seeded with them.

std::vector<ev1::Target> PlanTargets() {
  std::vector<ev1::Target> out;
  for (const auto& spec : dg::Targets()) {
    ev1::Target t;
    t.set_id(spec.id);
    t.set_indicator(dg::Indicators()[spec.indicator].id);
    t.mutable_population()->set_kind(cv1::ORGANIZATION_KIND_MANUFACTURER);
    t.mutable_population()->set_key_only(spec.key_only);
    t.set_baseline_period(absl::StrCat(dg::kFirstYear));
    t.set_deadline_period(absl::StrCat(dg::kLastYear));
    switch (spec.aggregation) {
      case dg::TargetSpec::Aggregation::kShareTrue:
        t.set_aggregation(ev1::AGGREGATION_SHARE_TRUE);
        break;
      case dg::TargetSpec::Aggregation::kCountTrue:
        t.set_aggregation(ev1::AGGREGATION_COUNT_TRUE);
        break;
      case dg::TargetSpec::Aggregation::kMean:
        t.set_aggregation(ev1::AGGREGATION_MEAN);
        break;
    }
    switch (spec.rule) {
      case dg::TargetSpec::Rule::kAbsoluteGe:
        t.mutable_rule()->mutable_absolute()->set_comparison(ev1::COMPARISON_GE);
        t.mutable_rule()->mutable_absolute()->set_value(spec.rule_value);
        break;
      case dg::TargetSpec::Rule::kMultiple:
        t.mutable_rule()->mutable_multiple()->set_multiple(spec.rule_value);
        break;
      case dg::TargetSpec::Rule::kRelativeChange:
        t.mutable_rule()->mutable_relative_change()->set_change(spec.rule_value);
        break;
    }
    t.set_title(spec.id);
    out.push_back(std::move(t));
  }
  return out;
}

absl::Status WriteTargetsFile(const std::string& path) {
  std::string json = "[\n";
  bool first = true;
  for (const auto& t : PlanTargets()) {
    std::string one;
    auto s = google::protobuf::util::MessageToJsonString(t, &one);
    if (!s.ok()) return absl::InternalError(std::string(s.message()));
    absl::StrAppend(&json, first ? "" : ",\n", one);
    first = false;
  }
  json += "\n]\n";
  std::ofstream out(path);
  out << json;
  return out ? absl::OkStatus() : absl::InternalError(absl::StrCat("cannot write ", path));
}

// ---------------------------------------------------------------------------------------
// Reading results.

const ev1::Evaluation* FindEvaluation(const ev1::Scorecard& card, const std::string& target) {
  for (const auto& e : card.evaluations()) {
    if (e.target_id() == target) return &e;
  }
  return nullptr;
}

int64_t IngestVersionOf(const ev1::Evaluation& e, const std::string& indicator,
                        const std::string& period) {
  for (const auto& v : e.data_versions().ingest_versions()) {
    if (v.indicator() == indicator && v.period() == period) return v.version();
  }
  return -1;
}

struct CacheCount {
  int64_t cached = 0;
  int64_t computed = 0;
};

CacheCount CountCached(const ev1::Scorecard& card) {
  CacheCount c;
  for (const auto& e : card.evaluations()) (e.cached() ? c.cached : c.computed)++;
  return c;
}

// A breakdown is one cached result: its total's flag.
bool BreakdownCached(const ev1::BreakdownResponse& b) { return b.total().cached(); }

// ---------------------------------------------------------------------------------------
// The run.

struct Binaries {
  std::string registry, ingest, evaluation;
};

Binaries FindBinaries() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  // <build>/bench/evaluation/evaluation_bench -> <build>/services/<svc>/iplus-<svc>
  const std::filesystem::path build = self.parent_path().parent_path().parent_path();
  auto pick = [&](const std::string& flag, const char* svc) {
    if (!flag.empty()) return flag;
    return (build / "services" / svc / absl::StrCat("iplus-", svc)).string();
  };
  return Binaries{pick(absl::GetFlag(FLAGS_registry_binary), "registry"),
                  pick(absl::GetFlag(FLAGS_ingest_binary), "ingest"),
                  pick(absl::GetFlag(FLAGS_evaluation_binary), "evaluation")};
}

struct Service {
  explicit Service(std::string n) : name(std::move(n)) {}
  std::string name;
  Child child;
  int grpc_port = 0;
  int metrics_port = 0;
  std::shared_ptr<grpc::Channel> channel;
  std::string address() const { return absl::StrCat("127.0.0.1:", grpc_port); }
};

// Starts `binary` on free ports and waits until health says SERVING; the time it took.
absl::StatusOr<double> StartService(Service* svc, const std::string& binary,
                                    const std::vector<std::string>& flags, const std::string& dir,
                                    absl::Duration timeout) {
  const std::vector<std::string> env = {"IPLUS_ALLOW_UNAUTHENTICATED=true",
                                        // The benchmark's one client would exceed the
                                        // default per-principal limits.
                                        "IPLUS_RATE_LIMITS=admin=0"};
  for (int attempt = 0; attempt < 3; ++attempt) {
    svc->grpc_port = test::FreePort();
    svc->metrics_port = test::FreePort();
    std::vector<std::string> argv = {binary,
                                     "--grpc_address",
                                     svc->address(),
                                     "--metrics_address",
                                     absl::StrCat("127.0.0.1:", svc->metrics_port),
                                     "--plaintext",
                                     "--log_level",
                                     "warning"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    const Clock::time_point start = Clock::now();
    if (absl::Status s = svc->child.Start(argv, env, absl::StrCat(dir, "/", svc->name, ".log"));
        !s.ok()) {
      return s;
    }
    // The channel is made once the port accepts, so that its first connection succeeds
    // rather than starting gRPC's reconnect back-off.
    const absl::Time deadline = absl::Now() + timeout;
    while (svc->child.Running() && absl::Now() < deadline && !Accepts(svc->grpc_port)) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    svc->channel = MakeChannel(svc->address(), 0);
    while (svc->child.Running() && absl::Now() < deadline) {
      if (Serving(svc->channel.get())) return Seconds(Clock::now() - start);
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (svc->child.Running()) {
      std::string tail = svc->child.LogTail();
      svc->child.Kill();
      return absl::DeadlineExceededError(absl::StrCat(
          svc->name, " not SERVING after ", absl::FormatDuration(timeout), "; log:\n", tail));
    }
    // Exited: typically a port taken between FreePort and the bind; try other ports.
    std::fprintf(stderr, "%s exited during start-up; log:\n%s\n", svc->name.c_str(),
                 svc->child.LogTail().c_str());
  }
  return absl::UnavailableError(absl::StrCat(svc->name, " did not start"));
}

struct Measurement {
  explicit Measurement(std::string n) : name(std::move(n)) {}
  std::string name;
  Samples samples;
  int64_t not_as_expected = 0;  // e.g. a warm request that was not served from the cache
};

void PrintRow(const Measurement& m, const Samples* baseline) {
  std::string ratio50, ratio99;
  if (baseline != nullptr && baseline->Ms(0.5) > 0) {
    ratio50 = absl::StrFormat("%.1f", m.samples.Ms(0.5) / baseline->Ms(0.5));
    ratio99 = absl::StrFormat("%.1f", m.samples.Ms(0.99) / baseline->Ms(0.99));
  }
  std::printf("| %-44s | %6zu | %10.3f | %10.3f | %9s | %9s | %6lld |\n", m.name.c_str(),
              m.samples.ns.size(), m.samples.Ms(0.5), m.samples.Ms(0.99), ratio50.c_str(),
              ratio99.c_str(), static_cast<long long>(m.samples.failures + m.not_as_expected));
}

class Bench {
 public:
  int Run();

 private:
  absl::Status Prepare();
  absl::Status StartStore();
  absl::Status LoadOrRestore();
  absl::Status CheckIngestCoverage();
  absl::Status StartEvaluation();
  absl::Status CrossCheck();
  absl::Status MeasureLatency();
  absl::Status MeasureInvalidation();
  absl::Status MeasureFreshness();
  void PrintSummary();
  void Shutdown();

  // One revised inventory_turnover observation for the `n`-th chosen enterprise: the
  // time ingest acknowledged it and the data version it produced.
  absl::StatusOr<std::pair<Clock::time_point, int64_t>> Revise(int n);

  absl::StatusOr<ev1::Scorecard> Scorecard(const std::string& region, const std::string& period,
                                           Clock::duration* latency = nullptr);
  absl::StatusOr<ev1::BreakdownResponse> Breakdown(const std::string& target,
                                                   const std::string& period,
                                                   Clock::duration* latency = nullptr);

  struct Cpu {
    double self = 0, redis = 0, registry = 0, ingest = 0, evaluation = 0;
  };
  Cpu CpuNow() const {
    return Cpu{CpuSecondsSelf(), CpuSecondsOf(redis_->pid()), CpuSecondsOf(registry_.child.pid()),
               CpuSecondsOf(ingest_.child.pid()), CpuSecondsOf(evaluation_.child.pid())};
  }
  static std::string CpuDelta(const Cpu& a, const Cpu& b, double wall) {
    return absl::StrFormat(
        "CPU over %.1f s: bench %.1f s, redis-server %.1f s, registry %.1f s, ingest %.1f s, "
        "evaluation %.1f s",
        wall, b.self - a.self, b.redis - a.redis, b.registry - a.registry, b.ingest - a.ingest,
        b.evaluation - a.evaluation);
  }

  dg::Options options_;
  std::unique_ptr<dg::Generator> gen_;
  dg::ReferenceData ref_;
  Binaries binaries_;
  std::string dir_;
  std::string period_;
  int year_ = 0;
  std::unique_ptr<test::RedisServer> redis_;
  RedisConn redis_conn_;
  ResultKeys result_keys_;
  bool restored_ = false;
  Service registry_{"registry"};
  Service ingest_{"ingest"};
  Service evaluation_{"evaluation"};
  std::unique_ptr<ev1::EvaluationService::Stub> eval_;
  std::unique_ptr<iv1::IngestService::Stub> ingest_stub_;
  std::vector<int64_t> fresh_enterprises_;  // indices with inventory_turnover in both years
  std::string nonce_;
  int revisions_ = 0;

  // Figures.
  double load_enterprises_s_ = 0, load_observations_s_ = 0, restore_s_ = 0;
  double eval_ready_s_ = 0;
  double reference_ms_ = 0;
  Measurement baseline_{"baseline: GetTarget (trivial RPC)"};
  Measurement warm_card_{"GetScorecard, country, warm"};
  Measurement cold_card_{"GetScorecard, country, cold (cache emptied)"};
  Measurement warm_breakdown_{"Breakdown by province, warm"};
  Measurement cold_breakdown_{"Breakdown by province, cold (cache emptied)"};
  Measurement fresh_poll_{"freshness, polled GetScorecard"};
  Measurement fresh_watch_{"freshness, WatchScorecard message"};
  int64_t watch_messages_ = 0;
  double invalidation_computed_ = 0;
  // Results computed, and seconds spent computing them, during the cold loops (the
  // service's iplus_evaluation_compute_seconds).
  std::pair<double, double> cold_card_compute_, cold_breakdown_compute_;
  int64_t invalidation_touched_ = 0, invalidation_all_ = 0;
  bool ok_ = true;
};

absl::Status Bench::Prepare() {
  options_.seed = absl::GetFlag(FLAGS_seed);
  options_.enterprises = absl::GetFlag(FLAGS_enterprises);
  if (absl::Status s = dg::ValidateOptions(options_); !s.ok()) return s;
  period_ = absl::GetFlag(FLAGS_period);
  if (!absl::SimpleAtoi(period_, &year_) || year_ <= dg::kFirstYear || year_ > dg::kLastYear) {
    return absl::InvalidArgumentError("--period must be one of 2016, 2017, 2018");
  }
  if (absl::GetFlag(FLAGS_requests) < 1 || absl::GetFlag(FLAGS_cold_requests) < 1 ||
      absl::GetFlag(FLAGS_freshness_trials) < 1) {
    return absl::InvalidArgumentError(
        "--requests, --cold_requests and --freshness_trials must be at least 1");
  }
  binaries_ = FindBinaries();
  for (const std::string& b : {binaries_.registry, binaries_.ingest, binaries_.evaluation}) {
    if (access(b.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(b,
                       " is not an executable; build it (ninja iplus-registry iplus-ingest "
                       "iplus-evaluation) or name it with --*_binary"));
    }
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "iplus-evalbench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("mkdtemp");
  dir_ = tmpl;
  std::random_device device;
  nonce_ = absl::StrFormat("%08x", device());

  gen_ = std::make_unique<dg::Generator>(options_);
  const Clock::time_point t0 = Clock::now();
  ref_ = dg::BuildReference(*gen_, 2);
  int64_t manufacturers = 0;
  for (int64_t i = 0; i < ref_.enterprises; ++i) manufacturers += ref_.manufacturer[i];
  std::printf(
      "Data set: seed %llu, %s enterprises (%s manufacturers), %s observations 2015-2018; "
      "generated in memory in %.1f s\n",
      static_cast<unsigned long long>(options_.seed),
      Thousands(static_cast<double>(options_.enterprises)).c_str(),
      Thousands(static_cast<double>(manufacturers)).c_str(),
      Thousands(static_cast<double>(ref_.total_observations)).c_str(), Seconds(Clock::now() - t0));
  const auto& inv = ref_.values[dg::kInventoryTurnover];
  for (int64_t i = 0; i < ref_.enterprises && fresh_enterprises_.size() < 10000; ++i) {
    if (ref_.manufacturer[i] && !std::isnan(inv[0][i]) &&
        !std::isnan(inv[year_ - dg::kFirstYear][i])) {
      fresh_enterprises_.push_back(i);
    }
  }
  if (fresh_enterprises_.empty()) {
    return absl::FailedPreconditionError("no enterprise reports inventory_turnover in both years");
  }
  return absl::OkStatus();
}

absl::Status Bench::StartStore() {
  test::RedisServer::Options o;
  o.start_timeout = absl::Minutes(15);
  o.stop_timeout = absl::Seconds(60);
  if (int v = absl::GetFlag(FLAGS_hash_max_listpack_value); v > 0) {
    o.extra_args = {"--hash-max-listpack-value", absl::StrCat(v)};
  }
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  const std::string manifest = absl::StrFormat(
      "format=%d\nseed=%llu\nenterprises=%lld\n", kSnapshotFormat,
      static_cast<unsigned long long>(options_.seed), static_cast<long long>(options_.enterprises));
  if (!data_dir.empty() && ReadFile(data_dir + "/" + kManifestFile) == manifest &&
      std::filesystem::exists(data_dir + "/" + kSnapshotFile)) {
    // Later --dir and --dbfilename win over RedisServer's own; with --save '' the server
    // never writes the snapshot back.
    o.extra_args.insert(o.extra_args.end(), {"--dir", data_dir, "--dbfilename", kSnapshotFile});
    restored_ = true;
  }
  redis_ = std::make_unique<test::RedisServer>(o);
  const Clock::time_point t0 = Clock::now();
  if (absl::Status s = redis_->Start(); !s.ok()) return s;
  if (restored_) {
    restore_s_ = Seconds(Clock::now() - t0);
    std::printf("Restored the loaded data from %s/%s in %.1f s\n", data_dir.c_str(), kSnapshotFile,
                restore_s_);
  }
  auto conn = Connect(*redis_);
  if (!conn.ok()) return conn.status();
  redis_conn_ = *std::move(conn);
  return absl::OkStatus();
}

absl::Status Bench::LoadOrRestore() {
  const absl::Duration ready = absl::Seconds(absl::GetFlag(FLAGS_ready_timeout_s));
  auto r = StartService(&registry_, binaries_.registry, {"--redis_address", redis_->address()},
                        dir_, ready);
  if (!r.ok()) return r.status();
  auto i =
      StartService(&ingest_, binaries_.ingest,
                   {"--redis_address", redis_->address(), "--registry_target", registry_.address()},
                   dir_, ready);
  if (!i.ok()) return i.status();
  ingest_stub_ = iv1::IngestService::NewStub(ingest_.channel);
  std::printf("registry SERVING after %.2f s, ingest after %.2f s\n", *r, *i);
  std::fflush(stdout);
  if (restored_) return CheckIngestCoverage();

  dg::LoadOptions load;
  load.streams = absl::GetFlag(FLAGS_load_streams);
  load.window = absl::GetFlag(FLAGS_load_window);
  load.enterprise_concurrency = absl::GetFlag(FLAGS_load_concurrency);
  std::atomic<int> last_decile{0};
  const int64_t total_obs = ref_.total_observations;
  load.progress = [&](int64_t done, int64_t total) {
    if (total == 0) total = total_obs;
    const int decile = static_cast<int>(10 * done / std::max<int64_t>(1, total));
    int seen = last_decile.load();
    while (decile > seen && !last_decile.compare_exchange_weak(seen, decile)) {
    }
    if (decile > seen && decile < 10) {
      std::printf("  ... %d0 %%\n", decile);
      std::fflush(stdout);
    }
  };
  const Cpu cpu0 = CpuNow();
  const Clock::time_point t0 = Clock::now();
  auto e = dg::LoadEnterprises(dg::InsecureChannels(registry_.address()), *gen_, load);
  if (!e.ok()) return e.status();
  load_enterprises_s_ = e->seconds;
  std::printf("Registry load: %s enterprises created (%s already there) in %.1f s (%s/s)\n",
              Thousands(static_cast<double>(e->created)).c_str(),
              Thousands(static_cast<double>(e->existing)).c_str(), e->seconds,
              Thousands(static_cast<double>(options_.enterprises) / e->seconds).c_str());
  std::fflush(stdout);
  last_decile = 0;
  auto o = dg::LoadObservations(dg::InsecureChannels(ingest_.address()), *gen_, load);
  if (!o.ok()) return o.status();
  load_observations_s_ = o->seconds;
  std::printf(
      "Ingest load: %s observations over %d streams in %.1f s (%s/s): %s accepted, %s "
      "duplicate, %s revised, %s rejected, %s resent\n",
      Thousands(static_cast<double>(o->observations)).c_str(), load.streams, o->seconds,
      Thousands(static_cast<double>(o->observations) / o->seconds).c_str(),
      Thousands(static_cast<double>(o->accepted)).c_str(),
      Thousands(static_cast<double>(o->duplicate)).c_str(),
      Thousands(static_cast<double>(o->revised)).c_str(),
      Thousands(static_cast<double>(o->rejected)).c_str(),
      Thousands(static_cast<double>(o->resent)).c_str());
  for (const auto& p : o->first_rejections) std::printf("  rejected: %s\n", p.c_str());
  std::printf("  %s\n", CpuDelta(cpu0, CpuNow(), Seconds(Clock::now() - t0)).c_str());
  std::fflush(stdout);
  if (o->rejected > 0 || o->observations != ref_.total_observations) {
    return absl::DataLossError("the load did not store every generated observation");
  }
  if (absl::Status s = CheckIngestCoverage(); !s.ok()) return s;

  if (const std::string data_dir = absl::GetFlag(FLAGS_data_dir); !data_dir.empty()) {
    const Clock::time_point s0 = Clock::now();
    auto saved = Command(redis_conn_.get(), {"SAVE"});
    if (!saved.ok()) return saved.status();
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    const std::string tmp = absl::StrCat(data_dir, "/", kSnapshotFile, ".tmp");
    std::filesystem::copy_file(redis_->dir() + "/dump.rdb", tmp,
                               std::filesystem::copy_options::overwrite_existing, ec);
    if (!ec) std::filesystem::rename(tmp, absl::StrCat(data_dir, "/", kSnapshotFile), ec);
    if (ec) return absl::InternalError(absl::StrCat("saving the snapshot: ", ec.message()));
    std::ofstream(data_dir + "/" + kManifestFile)
        << absl::StrFormat("format=%d\nseed=%llu\nenterprises=%lld\n", kSnapshotFormat,
                           static_cast<unsigned long long>(options_.seed),
                           static_cast<long long>(options_.enterprises));
    std::printf(
        "Saved the loaded data to %s/%s in %.1f s (reruns with the same flags restore it)\n",
        data_dir.c_str(), kSnapshotFile, Seconds(Clock::now() - s0));
  }
  return absl::OkStatus();
}

// Ingest's reporters per year of every indicator equal the generated data's.
absl::Status Bench::CheckIngestCoverage() {
  for (int k = 0; k < dg::kIndicators; ++k) {
    iv1::GetCoverageRequest req;
    req.set_indicator(dg::Indicators()[k].id);
    req.mutable_periods()->set_start(absl::StrCat(dg::kFirstYear));
    req.mutable_periods()->set_end(absl::StrCat(dg::kLastYear));
    iv1::GetCoverageResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    grpc::Status s = ingest_stub_->GetCoverage(&ctx, req, &resp);
    if (!s.ok()) return absl::UnavailableError(absl::StrCat("GetCoverage: ", Describe(s)));
    if (resp.periods_size() != dg::kYears) return absl::InternalError("GetCoverage: periods");
    for (int y = 0; y < dg::kYears; ++y) {
      if (resp.periods(y).reporters() != ref_.observations[k][y]) {
        return absl::DataLossError(absl::StrCat(
            "ingest has ", resp.periods(y).reporters(), " reporters of ", req.indicator(), " in ",
            resp.periods(y).period(), ", the data set ", ref_.observations[k][y]));
      }
    }
  }
  std::printf("Ingest coverage matches the data set (5 indicators x 4 years)\n");
  auto mem = InfoField(redis_conn_.get(), "memory", "used_memory");
  auto keys = Command(redis_conn_.get(), {"DBSIZE"});
  if (mem.ok() && keys.ok()) {
    double bytes = 0;
    absl::SimpleAtod(*mem, &bytes);
    std::printf("redis-server: used_memory %.0f MiB, %s keys\n", bytes / 1048576,
                Thousands(static_cast<double>((*keys)->integer)).c_str());
  }
  std::fflush(stdout);
  return absl::OkStatus();
}

absl::Status Bench::StartEvaluation() {
  const std::string targets = dir_ + "/targets.json";
  if (absl::Status s = WriteTargetsFile(targets); !s.ok()) return s;
  std::vector<std::string> flags = {
      "--redis_address", redis_->address(), "--registry_target", registry_.address(),
      "--ingest_target", ingest_.address(), "--targets_file",    targets};
  for (absl::string_view f :
       absl::StrSplit(absl::GetFlag(FLAGS_evaluation_flags), ' ', absl::SkipEmpty())) {
    flags.emplace_back(f);
  }
  if (absl::Status s = result_keys_.Start(*redis_, redis_conn_.get()); !s.ok()) return s;
  const Cpu cpu0 = CpuNow();
  const Clock::time_point t0 = Clock::now();
  auto ready = StartService(&evaluation_, binaries_.evaluation, flags, dir_,
                            absl::Seconds(absl::GetFlag(FLAGS_ready_timeout_s)));
  if (!ready.ok()) return ready.status();
  eval_ = ev1::EvaluationService::NewStub(evaluation_.channel);
  // Ready: health SERVING, and a first national scorecard answered (not UNAVAILABLE
  // "still loading"), whichever comes later.
  const absl::Time give_up = absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_ready_timeout_s));
  absl::Status last;
  for (;;) {
    auto card = Scorecard("", period_);
    if (card.ok()) break;
    last = card.status();
    if (absl::Now() > give_up || !evaluation_.child.Running()) {
      return absl::DeadlineExceededError(
          absl::StrCat("SERVING, but no scorecard: ", last.ToString()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  eval_ready_s_ = Seconds(Clock::now() - t0);
  std::printf(
      "\nEvaluation ready %.2f s after start (health first answered SERVING after %.2f s%s); "
      "RSS %.0f MiB\n",
      eval_ready_s_, *ready,
      last.ok() ? ""
                : absl::StrCat("; scorecards UNAVAILABLE until then: ", last.message()).c_str(),
      RssMiB(evaluation_.child.pid()));
  std::printf("  %s\n", CpuDelta(cpu0, CpuNow(), Seconds(Clock::now() - t0)).c_str());
  for (const auto& [name, v] : ParseMetrics(Scrape(evaluation_.metrics_port))) {
    if (absl::StartsWith(name, "iplus_evaluation_feed_") &&
        !absl::StrContains(name, "lag_seconds")) {
      std::printf("  %s %s\n", name.c_str(), Thousands(v).c_str());
    }
  }
  std::fflush(stdout);

  // Every target is there (seeded from the file, or created now when a seed was ignored).
  for (const auto& t : PlanTargets()) {
    ev1::CreateTargetRequest req;
    *req.mutable_target() = t;
    req.set_request_id(absl::StrCat("evaluation-bench-", nonce_, "-", t.id()));
    ev1::CreateTargetResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    grpc::Status s = eval_->CreateTarget(&ctx, req, &resp);
    if (!s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
      return absl::UnavailableError(absl::StrCat("CreateTarget ", t.id(), ": ", Describe(s)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ev1::Scorecard> Bench::Scorecard(const std::string& region,
                                                const std::string& period,
                                                Clock::duration* latency) {
  ev1::GetScorecardRequest req;
  req.mutable_scope()->set_region_prefix(region);
  req.set_period(period);
  ev1::GetScorecardResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  const Clock::time_point t0 = Clock::now();
  grpc::Status s = eval_->GetScorecard(&ctx, req, &resp);
  if (latency != nullptr) *latency = Clock::now() - t0;
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("GetScorecard: ", Describe(s)));
  return std::move(*resp.mutable_scorecard());
}

absl::StatusOr<ev1::BreakdownResponse> Bench::Breakdown(const std::string& target,
                                                        const std::string& period,
                                                        Clock::duration* latency) {
  ev1::BreakdownRequest req;
  req.set_target_id(target);
  req.set_period(period);
  req.set_dimension(ev1::BREAKDOWN_DIMENSION_PROVINCE);
  ev1::BreakdownResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  const Clock::time_point t0 = Clock::now();
  grpc::Status s = eval_->Breakdown(&ctx, req, &resp);
  if (latency != nullptr) *latency = Clock::now() - t0;
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("Breakdown: ", Describe(s)));
  return resp;
}

// The national scorecard counts the whole data set and agrees with the reference.
absl::Status Bench::CrossCheck() {
  auto card = Scorecard("", period_);
  if (!card.ok()) return card.status();
  std::printf("\nNational scorecard %s, evaluation service vs reference computed here:\n",
              period_.c_str());
  std::printf("| %-24s | %-17s | %-17s | %12s | %12s | %10s | %10s |\n", "target", "status",
              "reference", "current", "reference", "population", "reporters");
  std::printf("|%s|%s|%s|%s|%s|%s|%s|\n", std::string(26, '-').c_str(),
              std::string(19, '-').c_str(), std::string(19, '-').c_str(),
              std::string(14, '-').c_str(), std::string(14, '-').c_str(),
              std::string(12, '-').c_str(), std::string(12, '-').c_str());
  int differences = 0;
  for (const auto& spec : dg::Targets()) {
    const ev1::Evaluation* e = FindEvaluation(*card, spec.id);
    if (e == nullptr) return absl::NotFoundError(absl::StrCat("no evaluation of ", spec.id));
    const dg::TargetResult r = dg::EvaluateReference(ref_, spec, year_, -1);
    if (e->coverage().population() != r.population ||
        e->coverage().current_reporters() != r.current_reporters ||
        e->coverage().baseline_reporters() != r.baseline_reporters) {
      return absl::DataLossError(absl::StrCat(
          spec.id, ": the service counts population ", e->coverage().population(), ", reporters ",
          e->coverage().baseline_reporters(), "/", e->coverage().current_reporters(),
          "; the data set ", r.population, ", ", r.baseline_reporters, "/", r.current_reporters));
    }
    const std::string status(
        absl::StripPrefix(ev1::EvaluationStatus_Name(e->status()), "EVALUATION_STATUS_"));
    const double current = e->has_current_value() ? e->current_value() : NAN;
    const double expected = r.current.value_or(NAN);
    const bool same = status == dg::StatusName(r.status) &&
                      std::abs(current - expected) <= 1e-9 * std::max(1.0, std::abs(expected));
    differences += !same;
    std::printf("| %-24s | %-17s | %-17s | %12.4f | %12.4f | %10s | %10s |%s\n", spec.id,
                status.c_str(), dg::StatusName(r.status), current, expected,
                Thousands(static_cast<double>(r.population)).c_str(),
                Thousands(static_cast<double>(r.current_reporters)).c_str(),
                same ? "" : " DIFFERS");
  }
  if (differences > 0) {
    std::printf("WARNING: %d of 5 evaluations differ from the reference\n", differences);
  }
  std::fflush(stdout);
  return absl::OkStatus();
}

absl::Status Bench::MeasureLatency() {
  const int n = absl::GetFlag(FLAGS_requests);
  const int cold = absl::GetFlag(FLAGS_cold_requests);

  // The cold baseline: the five national evaluations computed here, in one thread, from
  // columns already in memory (no RPC, no cache).
  {
    std::vector<double> ms;
    for (int rep = 0; rep < 5; ++rep) {
      const Clock::time_point t0 = Clock::now();
      for (const auto& spec : dg::Targets()) dg::EvaluateReference(ref_, spec, year_, -1);
      ms.push_back(Seconds(Clock::now() - t0) * 1e3);
    }
    std::sort(ms.begin(), ms.end());
    reference_ms_ = ms[ms.size() / 2];
  }

  // Baseline: GetTarget on the same server and channel.
  for (int i = 0; i < n + n / 10; ++i) {
    ev1::GetTargetRequest req;
    req.set_id(dg::Targets()[i % dg::Targets().size()].id);
    ev1::GetTargetResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    const Clock::time_point t0 = Clock::now();
    grpc::Status s = eval_->GetTarget(&ctx, req, &resp);
    const Clock::duration d = Clock::now() - t0;
    if (i < n / 10) continue;  // warm-up
    if (!s.ok()) {
      baseline_.samples.Fail(Describe(s));
    } else {
      baseline_.samples.Add(Nanos(d));
    }
  }

  // Warm scorecard: the same request again and again.
  if (auto first = Scorecard("", period_); !first.ok()) return first.status();
  for (int i = 0; i < n; ++i) {
    Clock::duration d;
    auto card = Scorecard("", period_, &d);
    if (!card.ok()) {
      warm_card_.samples.Fail(std::string(card.status().message()));
      continue;
    }
    warm_card_.samples.Add(Nanos(d));
    if (CountCached(*card).computed > 0) ++warm_card_.not_as_expected;
  }

  // Warm breakdown: the five targets in turn, each computed once first.
  for (const auto& spec : dg::Targets()) {
    if (auto b = Breakdown(spec.id, period_); !b.ok()) return b.status();
  }
  for (int i = 0; i < n; ++i) {
    Clock::duration d;
    auto b = Breakdown(dg::Targets()[i % dg::Targets().size()].id, period_, &d);
    if (!b.ok()) {
      warm_breakdown_.samples.Fail(std::string(b.status().message()));
      continue;
    }
    warm_breakdown_.samples.Add(Nanos(d));
    if (!BreakdownCached(*b)) ++warm_breakdown_.not_as_expected;
  }

  // Cold: the result cache emptied before each request. The service's compute histogram
  // over each loop tells how much of a cold request is spent computing.
  int64_t emptied = 0;
  auto compute_time = [](const std::map<std::string, double>& before,
                         const std::map<std::string, double>& after, const std::string& kind) {
    auto delta = [&](const std::string& name) {
      const auto a = after.find(name), b = before.find(name);
      return (a == after.end() ? 0 : a->second) - (b == before.end() ? 0 : b->second);
    };
    const std::string labels = absl::StrCat("{kind=\"", kind, "\"}");
    return std::make_pair(delta("iplus_evaluation_compute_seconds_count" + labels),
                          delta("iplus_evaluation_compute_seconds_sum" + labels));
  };
  const auto m0 = ParseMetrics(Scrape(evaluation_.metrics_port));
  for (int i = 0; i < cold; ++i) {
    auto deleted = result_keys_.DeleteAll();
    if (!deleted.ok()) return deleted.status();
    emptied += *deleted;
    Clock::duration d;
    auto card = Scorecard("", period_, &d);
    if (!card.ok()) {
      cold_card_.samples.Fail(std::string(card.status().message()));
      continue;
    }
    cold_card_.samples.Add(Nanos(d));
    if (CountCached(*card).cached > 0) ++cold_card_.not_as_expected;
  }
  const auto m1 = ParseMetrics(Scrape(evaluation_.metrics_port));
  cold_card_compute_ = compute_time(m0, m1, "evaluate");
  for (int i = 0; i < cold; ++i) {
    auto deleted = result_keys_.DeleteAll();
    if (!deleted.ok()) return deleted.status();
    emptied += *deleted;
    Clock::duration d;
    auto b = Breakdown(dg::Targets()[i % dg::Targets().size()].id, period_, &d);
    if (!b.ok()) {
      cold_breakdown_.samples.Fail(std::string(b.status().message()));
      continue;
    }
    cold_breakdown_.samples.Add(Nanos(d));
    if (BreakdownCached(*b)) ++cold_breakdown_.not_as_expected;
  }
  cold_breakdown_compute_ =
      compute_time(m1, ParseMetrics(Scrape(evaluation_.metrics_port)), "breakdown");
  std::printf("\nLatency (one request at a time; cold runs deleted %s cached results in all)\n",
              Thousands(static_cast<double>(emptied)).c_str());
  std::fflush(stdout);
  return absl::OkStatus();
}

absl::StatusOr<std::pair<Clock::time_point, int64_t>> Bench::Revise(int n) {
  const int64_t index = fresh_enterprises_[static_cast<size_t>(n) % fresh_enterprises_.size()];
  const dg::Enterprise e = gen_->EnterpriseAt(index);
  const double old = ref_.values[dg::kInventoryTurnover][year_ - dg::kFirstYear][index];
  // Every other revision raises the value by a tenth, the others by 0.01, each time for
  // another enterprise, so that the aggregates barely move over many trials.
  const double value = std::round(old * ((revisions_++ % 2 == 0) ? 1.1 : 1.0) * 100 + 1) / 100;
  iv1::ReportObservationsRequest req;
  auto* o = req.add_observations();
  o->set_report_id(absl::StrCat("evalbench-", nonce_, "-", revisions_));
  o->set_enterprise_code(e.code);
  o->set_indicator(kInventory);
  o->set_period(period_);
  o->set_number_value(value);
  iv1::ReportObservationsResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  grpc::Status s = ingest_stub_->ReportObservations(&ctx, req, &resp);
  const Clock::time_point acked = Clock::now();
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("ReportObservations: ", Describe(s)));
  if (resp.results_size() != 1 || (resp.results(0).outcome() != iv1::OUTCOME_REVISED &&
                                   resp.results(0).outcome() != iv1::OUTCOME_ACCEPTED)) {
    return absl::InternalError(
        absl::StrCat("the revision was not stored: ", resp.ShortDebugString()));
  }
  iv1::GetDataVersionsRequest vreq;
  auto* key = vreq.add_keys();
  key->set_indicator(kInventory);
  key->set_period(period_);
  iv1::GetDataVersionsResponse vresp;
  grpc::ClientContext vctx;
  SetDeadline(&vctx);
  s = ingest_stub_->GetDataVersions(&vctx, vreq, &vresp);
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("GetDataVersions: ", Describe(s)));
  return std::make_pair(acked, vresp.versions(0).version());
}

absl::Status Bench::MeasureInvalidation() {
  std::vector<std::string> regions = {""};
  for (const auto& p : dg::Provinces()) regions.push_back(p.code.substr(0, 2));
  const std::vector<std::string> periods = {absl::StrCat(year_ - 1), period_};

  // Fill the cache, then check that everything is served from it.
  auto request_all = [&](std::map<std::pair<std::string, std::string>, CacheCount>* by_key,
                         CacheCount* total) -> absl::Status {
    for (const auto& period : periods) {
      for (const auto& region : regions) {
        auto card = Scorecard(region, period);
        if (!card.ok()) return card.status();
        for (const auto& e : card->evaluations()) {
          CacheCount& c = (*by_key)[{e.target_id(), period}];
          (e.cached() ? c.cached : c.computed)++;
          (e.cached() ? total->cached : total->computed)++;
        }
      }
    }
    for (const auto& spec : dg::Targets()) {
      auto b = Breakdown(spec.id, period_);
      if (!b.ok()) return b.status();
      CacheCount& c = (*by_key)[{absl::StrCat(spec.id, " (breakdown)"), period_}];
      (BreakdownCached(*b) ? c.cached : c.computed)++;
      (BreakdownCached(*b) ? total->cached : total->computed)++;
    }
    return absl::OkStatus();
  };
  {
    std::map<std::pair<std::string, std::string>, CacheCount> by_key;
    CacheCount fill, again;
    if (absl::Status s = request_all(&by_key, &fill); !s.ok()) return s;
    by_key.clear();
    if (absl::Status s = request_all(&by_key, &again); !s.ok()) return s;
    if (again.computed > 0) {
      std::printf("WARNING: %lld of %lld results were computed again without any change\n",
                  static_cast<long long>(again.computed),
                  static_cast<long long>(again.computed + again.cached));
    }
  }

  const auto metrics0 = ParseMetrics(Scrape(evaluation_.metrics_port));
  auto revised = Revise(0);
  if (!revised.ok()) return revised.status();
  const auto [acked, version] = *revised;
  // Wait until the national scorecard reflects the change (this recomputes one result).
  Clock::time_point visible;
  for (;;) {
    auto card = Scorecard("", period_);
    if (!card.ok()) return card.status();
    const ev1::Evaluation* e = FindEvaluation(*card, kInventoryTarget);
    if (e != nullptr && IngestVersionOf(*e, kInventory, period_) >= version) {
      visible = Clock::now();
      break;
    }
    if (Clock::now() - acked > absl::ToChronoNanoseconds(kFreshTimeout)) {
      return absl::DeadlineExceededError("the revision never reached the scorecard");
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  std::map<std::pair<std::string, std::string>, CacheCount> by_key;
  CacheCount total;
  if (absl::Status s = request_all(&by_key, &total); !s.ok()) return s;
  const auto metrics1 = ParseMetrics(Scrape(evaluation_.metrics_port));

  // The results that read (inventory_turnover, period): the inventory-turnover
  // evaluations of every scorecard of the period and its breakdown; one of them (the
  // national scorecard's) was recomputed by the wait above.
  const int64_t touched = static_cast<int64_t>(regions.size()) + 1;
  const int64_t all = total.cached + total.computed;
  std::printf(
      "\nInvalidation: %lld cached results (scorecards of the country and 31 provinces for %s "
      "and %s, 5 province breakdowns for %s); one revised %s %s observation (visible %.0f ms "
      "after ingest acknowledged it), then all of them again:\n",
      static_cast<long long>(all), periods[0].c_str(), periods[1].c_str(), period_.c_str(),
      kInventory, period_.c_str(), Seconds(visible - acked) * 1e3);
  std::printf("| %-36s | %6s | %10s | %10s |\n", "result", "period", "recomputed", "cached");
  std::printf("|%s|%s|%s|%s|\n", std::string(38, '-').c_str(), std::string(8, '-').c_str(),
              std::string(12, '-').c_str(), std::string(12, '-').c_str());
  for (const auto& [key, c] : by_key) {
    std::printf("| %-36s | %6s | %10lld | %10lld |\n", key.first.c_str(), key.second.c_str(),
                static_cast<long long>(c.computed), static_cast<long long>(c.cached));
  }
  // What the service computed in the window, from its own counters: this includes the
  // wait's recomputation of the national result and any the service made on its own (the
  // target gauges refresh soon after a change, through the same cache).
  double computed = 0;
  std::vector<std::string> changed;
  for (const auto& [name, v1] : metrics1) {
    if (!absl::StartsWith(name, "iplus_evaluation_")) continue;
    if (absl::StrContains(name, "_bucket{") || absl::StrContains(name, "lag_seconds")) continue;
    const auto it = metrics0.find(name);
    const double v0 = it == metrics0.end() ? 0 : it->second;
    if (v1 == v0) continue;
    if (absl::StartsWith(name, "iplus_evaluation_computed_total{")) computed += v1 - v0;
    changed.push_back(absl::StrFormat("  %-88s %+g", name, v1 - v0));
  }
  std::printf(
      "responses: %lld computed for these requests, %lld served from the cache; the wait "
      "above computed 1 more\n",
      static_cast<long long>(total.computed), static_cast<long long>(total.cached));
  std::printf(
      "the service computed %.0f results in the window (iplus_evaluation_computed_total); the "
      "results that read %s %s: %lld of %lld\n",
      computed, kInventory, period_.c_str(), static_cast<long long>(touched),
      static_cast<long long>(all));
  invalidation_computed_ = computed;
  invalidation_touched_ = touched;
  invalidation_all_ = all;
  std::printf("the service's counters over the same window (change, wait, requests):\n");
  for (const auto& line : changed) std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  return absl::OkStatus();
}

absl::Status Bench::MeasureFreshness() {
  const int trials = absl::GetFlag(FLAGS_freshness_trials);
  std::mt19937 rng(static_cast<uint32_t>(options_.seed));
  std::uniform_int_distribution<int> jitter(0, 250);
  // Polled: GetScorecard every 5 ms until the inventory-turnover evaluation carries the
  // new data version.
  for (int t = 0; t < trials; ++t) {
    auto revised = Revise(1 + t);
    if (!revised.ok()) return revised.status();
    const auto [acked, version] = *revised;
    for (;;) {
      auto card = Scorecard("", period_);
      if (!card.ok()) return card.status();
      const Clock::time_point now = Clock::now();
      const ev1::Evaluation* e = FindEvaluation(*card, kInventoryTarget);
      if (e != nullptr && IngestVersionOf(*e, kInventory, period_) >= version) {
        fresh_poll_.samples.Add(Nanos(now - acked));
        break;
      }
      if (now - acked > absl::ToChronoNanoseconds(kFreshTimeout)) {
        fresh_poll_.samples.Fail("not visible within 30 s");
        break;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    // A random pause, so that the trials do not lock onto the phase of the feed's rounds.
    absl::SleepFor(absl::Milliseconds(200 + jitter(rng)));
  }

  // Watched: one WatchScorecard stream (min_interval 1 s, the least allowed); each trial
  // starts 1.2 to 1.45 s after the previous message so that the interval does not delay
  // it.
  struct Seen {
    Clock::time_point at;
    int64_t version;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Seen> seen;
  bool ended = false;
  grpc::ClientContext ctx;
  ev1::WatchScorecardRequest req;
  req.set_period(period_);
  req.mutable_min_interval()->set_seconds(1);
  auto reader = eval_->WatchScorecard(&ctx, req);
  std::thread watcher([&] {
    ev1::WatchScorecardResponse msg;
    while (reader->Read(&msg)) {
      const Clock::time_point now = Clock::now();
      const ev1::Evaluation* e = FindEvaluation(msg.scorecard(), kInventoryTarget);
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(Seen{now, e == nullptr ? -1 : IngestVersionOf(*e, kInventory, period_)});
      cv.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu);
    ended = true;
    cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(60), [&] { return !seen.empty() || ended; }) ||
        seen.empty()) {
      fresh_watch_.samples.Fail("no first scorecard on the stream");
    }
  }
  for (int t = 0; t < trials && fresh_watch_.samples.failures == 0; ++t) {
    {
      std::unique_lock<std::mutex> lock(mu);
      const Clock::time_point last = seen.back().at;
      lock.unlock();
      std::this_thread::sleep_until(last + std::chrono::milliseconds(1200 + jitter(rng)));
    }
    auto revised = Revise(1 + trials + t);
    if (!revised.ok()) return revised.status();
    const Clock::time_point acked = revised->first;
    const int64_t version = revised->second;
    std::unique_lock<std::mutex> lock(mu);
    const bool arrived = cv.wait_for(lock, absl::ToChronoNanoseconds(kFreshTimeout), [&] {
      return ended || (!seen.empty() && seen.back().version >= version);
    });
    if (!arrived || seen.empty() || seen.back().version < version) {
      fresh_watch_.samples.Fail("no message reflected the change within 30 s");
      continue;
    }
    fresh_watch_.samples.Add(Nanos(seen.back().at - acked));
  }
  ctx.TryCancel();
  watcher.join();
  reader->Finish();
  watch_messages_ = static_cast<int64_t>(seen.size());
  return absl::OkStatus();
}

void Bench::PrintSummary() {
  std::printf("\n| %-44s | %6s | %10s | %10s | %9s | %9s | %6s |\n", "measurement", "n", "p50 ms",
              "p99 ms", "p50/base", "p99/base", "off");
  std::printf("|%s|%s|%s|%s|%s|%s|%s|\n", std::string(46, '-').c_str(), std::string(8, '-').c_str(),
              std::string(12, '-').c_str(), std::string(12, '-').c_str(),
              std::string(11, '-').c_str(), std::string(11, '-').c_str(),
              std::string(8, '-').c_str());
  PrintRow(baseline_, nullptr);
  PrintRow(warm_card_, &baseline_.samples);
  PrintRow(warm_breakdown_, &baseline_.samples);
  PrintRow(cold_card_, &baseline_.samples);
  PrintRow(cold_breakdown_, &baseline_.samples);
  PrintRow(fresh_poll_, nullptr);
  PrintRow(fresh_watch_, nullptr);
  std::printf(
      "(off: failed requests, plus warm requests not served from the cache and cold ones "
      "served from it)\n");
  std::printf(
      "cold baseline: the five national evaluations computed in this process from columns in "
      "memory: %.3f ms; cold scorecard p50 / that = %.1f\n",
      reference_ms_, reference_ms_ > 0 ? cold_card_.samples.Ms(0.5) / reference_ms_ : 0);
  auto per = [](const std::pair<double, double>& c) {
    return c.first > 0 ? c.second / c.first * 1e3 : 0;
  };
  std::printf(
      "computing inside the service during the cold loops: %.0f evaluations, %.1f ms each on "
      "average (%.1f ms per cold scorecard of 5); %.0f breakdowns, %.1f ms each\n",
      cold_card_compute_.first, per(cold_card_compute_),
      cold_card_compute_.first > 0 && !cold_card_.samples.ns.empty()
          ? cold_card_compute_.second * 1e3 / static_cast<double>(cold_card_.samples.ns.size())
          : 0,
      cold_breakdown_compute_.first, per(cold_breakdown_compute_));
  std::printf("WatchScorecard messages received: %lld\n", static_cast<long long>(watch_messages_));
  std::printf(
      "invalidation: one new observation; the service recomputed %.0f of %lld cached results "
      "(%lld read the changed data)\n",
      invalidation_computed_, static_cast<long long>(invalidation_all_),
      static_cast<long long>(invalidation_touched_));
  for (const Measurement* m : {&baseline_, &warm_card_, &warm_breakdown_, &cold_card_,
                               &cold_breakdown_, &fresh_poll_, &fresh_watch_}) {
    if (m->samples.failures > 0) {
      std::printf("  %s: %lld failed, first: %s\n", m->name.c_str(),
                  static_cast<long long>(m->samples.failures), m->samples.first_failure.c_str());
      ok_ = false;
    }
  }
  std::printf("load average %s\n\n", LoadAverage().c_str());

  // A measurement with failures or without samples misses its target whatever its figure.
  auto line = [](const char* what, const Measurement& m, double scale, const char* unit,
                 double target) {
    const double v = m.samples.Ms(0.99) / scale;
    const bool met = !m.samples.ns.empty() && m.samples.failures == 0 && v <= target;
    std::printf("%s: %.3f %s (target <= %g %s) %s\n", what, v, unit, target, unit,
                met ? "MET" : "MISSED");
  };
  line("warm scorecard p99", warm_card_, 1, "ms", 5);
  line("cold scorecard p99", cold_card_, 1e3, "s", 2);
  line("freshness p99 (polled GetScorecard)", fresh_poll_, 1e3, "s", 1);
  line("freshness p99 (WatchScorecard)", fresh_watch_, 1e3, "s", 1);
  std::fflush(stdout);
}

void Bench::Shutdown() {
  result_keys_.Stop();
  evaluation_.child.Stop();
  ingest_.child.Stop();
  registry_.child.Stop();
  if (redis_ != nullptr) redis_->Stop();
}

int Bench::Run() {
  auto fail = [&](const char* what, const absl::Status& s) {
    std::fprintf(stderr, "evaluation_bench: %s: %s\n", what, s.ToString().c_str());
    for (Service* svc : {&registry_, &ingest_, &evaluation_}) {
      if (svc->child.pid() > 0) {
        std::fprintf(stderr, "--- %s log (tail) ---\n%s\n", svc->name.c_str(),
                     svc->child.LogTail().c_str());
      }
    }
    std::fprintf(stderr, "logs kept in %s\n", dir_.c_str());
    Shutdown();
    return 1;
  };
  if (absl::Status s = Prepare(); !s.ok()) {
    std::fprintf(stderr, "evaluation_bench: %s\n", s.ToString().c_str());
    return s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::printf(
      "Evaluation benchmark: %u hardware threads shared by the bench, redis-server and "
      "three services; load average %s\n",
      std::thread::hardware_concurrency(), LoadAverage().c_str());
  std::printf("  binaries: %s, %s, %s\n  logs: %s\n", binaries_.registry.c_str(),
              binaries_.ingest.c_str(), binaries_.evaluation.c_str(), dir_.c_str());
  std::fflush(stdout);
  if (absl::Status s = StartStore(); !s.ok()) return fail("redis-server", s);
  if (absl::Status s = LoadOrRestore(); !s.ok()) return fail("load", s);
  if (absl::Status s = StartEvaluation(); !s.ok()) return fail("evaluation start", s);
  if (absl::Status s = CrossCheck(); !s.ok()) return fail("cross-check", s);
  const Cpu cpu0 = CpuNow();
  const Clock::time_point t0 = Clock::now();
  if (absl::Status s = MeasureLatency(); !s.ok()) return fail("latency", s);
  if (absl::Status s = MeasureInvalidation(); !s.ok()) return fail("invalidation", s);
  if (absl::Status s = MeasureFreshness(); !s.ok()) return fail("freshness", s);
  std::printf("\nMeasurements: %s; evaluation RSS %.0f MiB\n",
              CpuDelta(cpu0, CpuNow(), Seconds(Clock::now() - t0)).c_str(),
              RssMiB(evaluation_.child.pid()));
  PrintSummary();
  Shutdown();
  if (!ok_) {
    std::fprintf(stderr, "evaluation_bench: some requests failed; logs kept in %s\n", dir_.c_str());
    return 1;
  }
  if (!absl::GetFlag(FLAGS_keep_logs)) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::printf("evaluation_bench: done\n");
  return 0;
}

}  // namespace
}  // namespace iplus::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "evaluation_bench: latency, freshness and invalidation of the evaluation service over "
      "a generated data set");
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  iplus::bench::Bench bench;
  return bench.Run();
}
