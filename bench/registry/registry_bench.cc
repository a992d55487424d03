// registry_bench: a load generator for the enterprise registry. In one run it starts a
// private redis-server, the real registry wiring (iplus::registry::App) and a bare gRPC
// echo server, loads enterprises through BatchCreateEnterprises, then measures at each
// concurrency:
//   - GetEnterprise on the registry (random loaded codes);
//   - the same GetEnterprise RPC on the echo server, which answers with a fixed
//     enterprise of the stored size and never touches Redis (the bare gRPC cost);
//   - raw hiredis `HGET <record key> pb` on the registry's own records, one connection
//     per client thread (the bare Redis cost);
//   - the modelled baseline echo+HGET, a serial composition of the two:
//       latency    = echo latency + HGET latency
//       throughput = 1 / (1 / echo_rate + 1 / hget_rate);
//   - BatchCreateEnterprises of fresh enterprises.
// Each measurement runs for --seconds after --warmup_seconds; a call counts when it
// starts inside the measured window. Client threads each have their own blocking stub
// over min(threads, --max_channels) channels; every channel has distinct arguments and
// a local subchannel pool, so each one is its own TCP connection.

#include <hiredis/hiredis.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/refdata/credit_code.h"
#include "common/testing/redis_server.h"
#include "grpcpp/grpcpp.h"
#include "iplus/registry/v1/registry.grpc.pb.h"
#include "services/registry/app.h"

ABSL_FLAG(int, enterprises, 100000, "enterprises loaded before the read measurements");
ABSL_FLAG(double, seconds, 3, "length of each measurement in seconds");
ABSL_FLAG(double, warmup_seconds, 0.5, "warm-up before each measurement in seconds");
ABSL_FLAG(std::vector<std::string>, concurrency, std::vector<std::string>({"1", "8", "64"}),
          "client thread counts to measure, comma-separated");
ABSL_FLAG(int, load_concurrency, 4, "concurrent BatchCreateEnterprises calls during the load");
ABSL_FLAG(int, batch_size, 100, "fresh enterprises per BatchCreateEnterprises call when measured");
ABSL_FLAG(int, max_channels, 8, "most gRPC channels (TCP connections) per measurement");
ABSL_FLAG(int, redis_pool_size, 16, "the registry's Redis connection pool size");

namespace iplus::bench {
namespace {

namespace v1 = ::iplus::registry::v1;
using Clock = std::chrono::steady_clock;

constexpr int kLoadBatch = 1000;
// The registry's record keys on a national instance; checked against the store at start.
constexpr char kRecordKeyPrefix[] = "iplus:{registry:all}:e:";
constexpr absl::Duration kCallDeadline = absl::Seconds(30);

std::string CodeN(int64_t n) {
  return refdata::CompleteCreditCode(absl::StrFormat("91440100%08d", n));
}

void FillManufacturer(const std::string& code, int64_t n, v1::Enterprise* e) {
  e->set_code(code);
  e->set_name(absl::StrCat("Guangzhou Precision Parts Co. No. ", n));
  e->set_region("440103");
  e->set_industry("C34");
  e->set_ownership(common::v1::OWNERSHIP_PRIVATE);
  e->set_size(common::v1::ENTERPRISE_SIZE_MEDIUM);
  e->set_key_enterprise(n % 10 == 0);
  e->set_kind(common::v1::ORGANIZATION_KIND_MANUFACTURER);
  (*e->mutable_labels())["cluster"] = "pearl-river";
}

// A generator for request ids, seeded from the OS so that ids never repeat across
// threads, measurements or runs (the registry replays a reused id).
std::mt19937_64 RequestIdGenerator() {
  std::random_device device;
  std::seed_seq seed{device(), device(), device(), device()};
  return std::mt19937_64(seed);
}

std::string NewRequestId(std::mt19937_64& rng) {
  uint64_t a = rng(), b = rng();
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                         0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffULL);
}

// Fills `req` with codes [first, first + count).
void FillBatch(int64_t first, int count, std::mt19937_64& rng,
               v1::BatchCreateEnterprisesRequest* req) {
  req->set_request_id(NewRequestId(rng));
  for (int64_t n = first; n < first + count; ++n) {
    auto* item = req->add_requests();
    FillManufacturer(CodeN(n), n, item->mutable_enterprise());
  }
}

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

// OK when the call succeeded and every item of the batch was created.
absl::Status CheckCreated(const grpc::Status& call, const v1::BatchCreateEnterprisesResponse& resp,
                          int count) {
  if (!call.ok()) return FromGrpc(call);
  if (resp.results_size() != count) {
    return absl::InternalError(absl::StrCat(resp.results_size(), " results for ", count, " items"));
  }
  for (const auto& r : resp.results()) {
    if (r.status().code() != 0) {
      return absl::Status(static_cast<absl::StatusCode>(r.status().code()), r.status().message());
    }
    if (!r.created()) return absl::AlreadyExistsError("an item was not created");
  }
  return absl::OkStatus();
}

void SetDeadline(grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(kCallDeadline));
}

// A stand-in for the registry that answers GetEnterprise with one fixed enterprise:
// the same RPC and message shapes without Redis or domain logic.
class EchoService final : public v1::RegistryService::Service {
 public:
  explicit EchoService(v1::Enterprise fixed) : fixed_(std::move(fixed)) {}

  grpc::Status GetEnterprise(grpc::ServerContext*, const v1::GetEnterpriseRequest*,
                             v1::GetEnterpriseResponse* resp) override {
    *resp->mutable_enterprise() = fixed_;
    return grpc::Status::OK;
  }

 private:
  const v1::Enterprise fixed_;
};

struct Measurement {
  std::string name;
  int concurrency = 0;
  double rate = 0;  // units per second
  double p50_us = 0;
  double p99_us = 0;
  int64_t calls = 0;
  int64_t errors = 0;
  std::string first_error;
};

// One iteration of a client thread.
using Call = std::function<absl::Status()>;

double Percentile(const std::vector<int64_t>& sorted_ns, double q) {
  if (sorted_ns.empty()) return 0;
  size_t i = std::min(sorted_ns.size() - 1, static_cast<size_t>(q * sorted_ns.size()));
  return sorted_ns[i] / 1000.0;
}

// Runs `threads` client threads, each repeating its Call. make_call(i) runs before the
// clock starts, so connections and stubs are set up outside the measurement. Rate is
// `units_per_call` times the successful calls started in the window, per second.
Measurement Measure(const std::string& name, int threads, const std::function<Call(int)>& make_call,
                    double units_per_call = 1) {
  std::vector<Call> calls;
  calls.reserve(threads);
  for (int i = 0; i < threads; ++i) calls.push_back(make_call(i));

  const auto warmup = absl::ToChronoNanoseconds(absl::Seconds(absl::GetFlag(FLAGS_warmup_seconds)));
  const auto duration = absl::ToChronoNanoseconds(absl::Seconds(absl::GetFlag(FLAGS_seconds)));
  const Clock::time_point window_start = Clock::now() + warmup;
  const Clock::time_point window_end = window_start + duration;

  std::vector<std::vector<int64_t>> latencies(threads);
  std::vector<int64_t> errors(threads, 0);
  std::vector<std::string> first_errors(threads);
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      std::vector<int64_t>& lat = latencies[i];
      lat.reserve(1 << 16);
      for (;;) {
        Clock::time_point t0 = Clock::now();
        if (t0 >= window_end) break;
        absl::Status status = calls[i]();
        Clock::time_point t1 = Clock::now();
        if (t0 < window_start) continue;
        if (status.ok()) {
          lat.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
        } else if (errors[i]++ == 0) {
          first_errors[i] = status.ToString();
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  calls.clear();  // closes per-thread connections

  std::vector<int64_t> all;
  Measurement m;
  m.name = name;
  m.concurrency = threads;
  for (int i = 0; i < threads; ++i) {
    all.insert(all.end(), latencies[i].begin(), latencies[i].end());
    m.errors += errors[i];
    if (m.first_error.empty()) m.first_error = first_errors[i];
  }
  std::sort(all.begin(), all.end());
  m.calls = static_cast<int64_t>(all.size());
  m.rate = units_per_call * m.calls / absl::GetFlag(FLAGS_seconds);
  m.p50_us = Percentile(all, 0.50);
  m.p99_us = Percentile(all, 0.99);
  return m;
}

// min(threads, max_channels) channels to `address`, each its own TCP connection.
std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(const std::string& address, int threads) {
  int n = std::max(1, std::min(threads, absl::GetFlag(FLAGS_max_channels)));
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("iplus.bench.channel", i);
    auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10));
    channels.push_back(std::move(channel));
  }
  return channels;
}

// GetEnterprise of random codes from `codes` against `address`.
Measurement MeasureGet(const std::string& name, const std::string& address, int threads,
                       const std::vector<std::string>& codes) {
  auto channels = MakeChannels(address, threads);
  return Measure(name, threads, [&](int i) -> Call {
    std::shared_ptr<v1::RegistryService::Stub> stub =
        v1::RegistryService::NewStub(channels[i % channels.size()]);
    auto rng = std::make_shared<std::mt19937_64>(0x5eed + i);
    return [stub, rng, &codes] {
      v1::GetEnterpriseRequest req;
      req.set_code(codes[(*rng)() % codes.size()]);
      v1::GetEnterpriseResponse resp;
      grpc::ClientContext ctx;
      SetDeadline(&ctx);
      grpc::Status s = stub->GetEnterprise(&ctx, req, &resp);
      if (!s.ok()) return FromGrpc(s);
      if (resp.enterprise().code().empty()) return absl::InternalError("empty enterprise");
      return absl::OkStatus();
    };
  });
}

struct RedisFree {
  void operator()(redisContext* c) const { redisFree(c); }
};

absl::StatusOr<std::shared_ptr<redisContext>> ConnectRedis(const std::string& host, int port) {
  timeval timeout{5, 0};
  std::shared_ptr<redisContext> c(redisConnectWithTimeout(host.c_str(), port, timeout),
                                  RedisFree());
  if (c == nullptr) return absl::UnavailableError("redis: cannot allocate a context");
  if (c->err != 0) return absl::UnavailableError(absl::StrCat("redis: ", c->errstr));
  redisSetTimeout(c.get(), timeout);
  return c;
}

// HGET <key> pb; the value, or an error.
absl::StatusOr<std::string> HGetPb(redisContext* c, const std::string& key) {
  auto* reply = static_cast<redisReply*>(redisCommand(c, "HGET %b pb", key.data(), key.size()));
  if (reply == nullptr) return absl::UnavailableError(absl::StrCat("redis: ", c->errstr));
  absl::StatusOr<std::string> out = absl::NotFoundError(absl::StrCat("no pb field in ", key));
  if (reply->type == REDIS_REPLY_STRING) out = std::string(reply->str, reply->len);
  freeReplyObject(reply);
  return out;
}

// Raw HGET of random record keys, one hiredis connection per thread.
Measurement MeasureHGet(const test::RedisServer& redis, int threads,
                        const std::vector<std::string>& keys) {
  return Measure("HGET (hiredis)", threads, [&](int i) -> Call {
    auto c = ConnectRedis(redis.host(), redis.port());
    if (!c.ok()) {
      return [status = c.status()] { return status; };
    }
    auto rng = std::make_shared<std::mt19937_64>(0xbeef + i);
    return [c = *c, rng, &keys] {
      const std::string& key = keys[(*rng)() % keys.size()];
      auto* reply =
          static_cast<redisReply*>(redisCommand(c.get(), "HGET %b pb", key.data(), key.size()));
      if (reply == nullptr) return absl::UnavailableError(absl::StrCat("redis: ", c->errstr));
      absl::Status s = reply->type == REDIS_REPLY_STRING
                           ? absl::OkStatus()
                           : absl::InternalError(absl::StrCat("HGET reply type ", reply->type));
      freeReplyObject(reply);
      return s;
    };
  });
}

// BatchCreateEnterprises of fresh codes taken from `next_code`, batch_size per call.
Measurement MeasureBatchCreate(const std::string& address, int threads, int batch_size,
                               std::atomic<int64_t>* next_code) {
  auto channels = MakeChannels(address, threads);
  return Measure(
      "BatchCreateEnterprises", threads,
      [&](int i) -> Call {
        std::shared_ptr<v1::RegistryService::Stub> stub =
            v1::RegistryService::NewStub(channels[i % channels.size()]);
        auto rng = std::make_shared<std::mt19937_64>(RequestIdGenerator());
        return [stub, rng, batch_size, next_code] {
          v1::BatchCreateEnterprisesRequest req;
          FillBatch(next_code->fetch_add(batch_size), batch_size, *rng, &req);
          v1::BatchCreateEnterprisesResponse resp;
          grpc::ClientContext ctx;
          SetDeadline(&ctx);
          grpc::Status s = stub->BatchCreateEnterprises(&ctx, req, &resp);
          return CheckCreated(s, resp, batch_size);
        };
      },
      batch_size);
}

struct LoadResult {
  absl::Duration elapsed;
  int64_t failed_batches = 0;
  std::string first_error;
};

// Creates codes [0, n) in batches of kLoadBatch with `concurrency` concurrent callers.
LoadResult Load(const std::string& address, int64_t n, int concurrency) {
  auto channels = MakeChannels(address, concurrency);
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> failed{0};
  absl::Mutex mu;
  std::string first_error;
  absl::Time start = absl::Now();
  std::vector<std::thread> loaders;
  for (int i = 0; i < concurrency; ++i) {
    loaders.emplace_back([&, i] {
      auto stub = v1::RegistryService::NewStub(channels[i % channels.size()]);
      std::mt19937_64 rng = RequestIdGenerator();
      for (;;) {
        int64_t first = next.fetch_add(kLoadBatch);
        if (first >= n) break;
        int count = static_cast<int>(std::min<int64_t>(kLoadBatch, n - first));
        v1::BatchCreateEnterprisesRequest req;
        FillBatch(first, count, rng, &req);
        v1::BatchCreateEnterprisesResponse resp;
        grpc::ClientContext ctx;
        SetDeadline(&ctx);
        grpc::Status s = stub->BatchCreateEnterprises(&ctx, req, &resp);
        absl::Status created = CheckCreated(s, resp, count);
        if (created.ok()) continue;
        failed.fetch_add(1);
        absl::MutexLock lock(&mu);
        if (first_error.empty()) first_error = created.ToString();
      }
    });
  }
  for (auto& t : loaders) t.join();
  return LoadResult{absl::Now() - start, failed.load(), first_error};
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void PrintRow(const std::string& name, int c, double rate, const std::string& unit, double p50,
              double p99, const std::string& note) {
  std::printf("| %-26s | %3d | %11.0f | %-14s | %9.0f | %9.0f | %-28s |\n", name.c_str(), c, rate,
              unit.c_str(), p50, p99, note.c_str());
}

void PrintMeasurement(const Measurement& m, const std::string& unit, const std::string& note = "") {
  std::string n = note;
  if (m.errors > 0) n = absl::StrCat(n, n.empty() ? "" : "; ", m.errors, " errors");
  PrintRow(m.name, m.concurrency, m.rate, unit, m.p50_us, m.p99_us, n);
  if (m.errors > 0) {
    std::fprintf(stderr, "%s c=%d: %lld failed calls, first: %s\n", m.name.c_str(), m.concurrency,
                 static_cast<long long>(m.errors), m.first_error.c_str());
  }
}

void PrintHeader() {
  std::printf("| %-26s | %3s | %11s | %-14s | %9s | %9s | %-28s |\n", "measurement", "c", "rate",
              "unit", "p50 us", "p99 us", "note");
  std::printf("|%s|%s|%s|%s|%s|%s|%s|\n", std::string(28, '-').c_str(), std::string(5, '-').c_str(),
              std::string(13, '-').c_str(), std::string(16, '-').c_str(),
              std::string(11, '-').c_str(), std::string(11, '-').c_str(),
              std::string(30, '-').c_str());
}

int Run() {
  const int64_t n = absl::GetFlag(FLAGS_enterprises);
  const int batch_size = absl::GetFlag(FLAGS_batch_size);
  const int load_concurrency = absl::GetFlag(FLAGS_load_concurrency);
  std::vector<int> levels;
  for (const std::string& s : absl::GetFlag(FLAGS_concurrency)) {
    int c = 0;
    if (!absl::SimpleAtoi(s, &c) || c < 1) {
      std::fprintf(stderr, "--concurrency: \"%s\" is not a positive integer\n", s.c_str());
      return 2;
    }
    levels.push_back(c);
  }
  if (n < 1 || n > 50000000 || batch_size < 1 || batch_size > kLoadBatch || load_concurrency < 1 ||
      absl::GetFlag(FLAGS_seconds) <= 0 || absl::GetFlag(FLAGS_warmup_seconds) < 0 ||
      levels.empty()) {
    std::fprintf(stderr,
                 "need 1 <= --enterprises <= 50000000, 1 <= --batch_size <= %d, "
                 "--load_concurrency >= 1, --seconds > 0, --warmup_seconds >= 0 and at least "
                 "one --concurrency level\n",
                 kLoadBatch);
    return 2;
  }
  log::Init("registry_bench", log::Level::kWarning);

  test::RedisServer redis;
  if (absl::Status s = redis.Start(); !s.ok()) {
    std::fprintf(stderr, "cannot start redis-server: %s\n", s.ToString().c_str());
    return 1;
  }

  registry::AppConfig config;
  config.server.service_name = "registry";
  config.server.grpc_address = "127.0.0.1:0";
  config.server.metrics_address = "127.0.0.1:0";
  config.server.drain_timeout = absl::Seconds(5);
  // In-process and on loopback: callers are not authenticated (anonymous admin).
  config.server.auth.allow_unauthenticated = true;
  config.redis.host = redis.host();
  config.redis.port = redis.port();
  config.redis.pool_size = absl::GetFlag(FLAGS_redis_pool_size);
  config.redis.command_timeout = absl::Seconds(5);
  config.redis.connect_timeout = absl::Seconds(1);
  auto app = std::make_unique<registry::App>(config);
  if (absl::Status s = app->Start(); !s.ok()) {
    std::fprintf(stderr, "cannot start the registry: %s\n", s.ToString().c_str());
    return 1;
  }
  const std::string registry_address = absl::StrCat("127.0.0.1:", app->grpc_port());

  std::printf("Registry benchmark\n");
  std::printf("  enterprises %lld, %g s per measurement after %g s warm-up, concurrency %s\n",
              static_cast<long long>(n), absl::GetFlag(FLAGS_seconds),
              absl::GetFlag(FLAGS_warmup_seconds),
              absl::StrJoin(absl::GetFlag(FLAGS_concurrency), ",").c_str());
  std::printf("  client, registry, echo server and redis-server share %u hardware threads\n",
              std::thread::hardware_concurrency());
  std::printf("  registry %s (Redis pool %d), redis-server %s\n\n", registry_address.c_str(),
              config.redis.pool_size, redis.address().c_str());
  std::fflush(stdout);

  // 1. Load.
  double cpu0 = CpuSeconds();
  LoadResult load = Load(registry_address, n, load_concurrency);
  double load_s = absl::ToDoubleSeconds(load.elapsed);
  std::printf(
      "Load: %lld enterprises via BatchCreateEnterprises (%d per batch, %d concurrent "
      "calls) in %.2f s = %.0f enterprises/s (process CPU %.1f s)\n",
      static_cast<long long>(n), kLoadBatch, load_concurrency, load_s, n / load_s,
      CpuSeconds() - cpu0);
  if (load.failed_batches > 0) {
    std::fprintf(stderr, "load: %lld batches failed, first error: %s\n",
                 static_cast<long long>(load.failed_batches), load.first_error.c_str());
    return 1;
  }
  std::fflush(stdout);

  std::vector<std::string> codes;
  std::vector<std::string> keys;
  codes.reserve(n);
  keys.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    codes.push_back(CodeN(i));
    keys.push_back(absl::StrCat(kRecordKeyPrefix, codes.back()));
  }

  // The echo server answers with a real stored record, so the messages are the same size.
  v1::Enterprise fixed;
  {
    auto c = ConnectRedis(redis.host(), redis.port());
    if (!c.ok()) {
      std::fprintf(stderr, "%s\n", c.status().ToString().c_str());
      return 1;
    }
    auto pb = HGetPb(c->get(), keys[0]);
    if (!pb.ok() || !fixed.ParseFromString(*pb) || fixed.code() != codes[0]) {
      std::fprintf(stderr, "record key layout changed: HGET %s pb did not return %s\n",
                   keys[0].c_str(), codes[0].c_str());
      return 1;
    }
  }
  EchoService echo(fixed);
  grpc::ServerBuilder builder;
  int echo_port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &echo_port);
  builder.RegisterService(&echo);
  std::unique_ptr<grpc::Server> echo_server = builder.BuildAndStart();
  if (echo_server == nullptr || echo_port == 0) {
    std::fprintf(stderr, "cannot start the echo server\n");
    return 1;
  }
  const std::string echo_address = absl::StrCat("127.0.0.1:", echo_port);
  std::printf("GetEnterprise response: %zu bytes of enterprise\n\n", fixed.ByteSizeLong());

  // 2. Reads and the baselines.
  std::printf(
      "Baseline echo+HGET is modelled as the serial composition of the two:\n"
      "  latency = echo latency + HGET latency; "
      "throughput = 1 / (1/echo_rate + 1/hget_rate)\n\n");
  PrintHeader();
  struct LevelRatio {
    int c;
    double ratio;
  };
  std::vector<LevelRatio> ratios;
  for (int c : levels) {
    Measurement get = MeasureGet("GetEnterprise (registry)", registry_address, c, codes);
    Measurement e = MeasureGet("echo (bare gRPC)", echo_address, c, codes);
    Measurement h = MeasureHGet(redis, c, keys);
    double base_rate = (e.rate > 0 && h.rate > 0) ? 1.0 / (1.0 / e.rate + 1.0 / h.rate) : 0;
    double ratio = base_rate > 0 ? get.rate / base_rate : 0;
    PrintMeasurement(get, "calls/s", absl::StrFormat("ratio to baseline %.2f", ratio));
    PrintMeasurement(e, "calls/s");
    PrintMeasurement(h, "calls/s");
    PrintRow("echo+HGET (model)", c, base_rate, "calls/s", e.p50_us + h.p50_us, e.p99_us + h.p99_us,
             "baseline");
    std::fflush(stdout);
    ratios.push_back({c, ratio});
  }

  // 3. Writes.
  std::printf("\n");
  PrintHeader();
  std::atomic<int64_t> next_code{n};
  for (int c : levels) {
    Measurement m = MeasureBatchCreate(registry_address, c, batch_size, &next_code);
    PrintMeasurement(m, "enterprises/s", absl::StrFormat("latency per batch of %d", batch_size));
    std::fflush(stdout);
  }

  // 4. Summary.
  std::printf("\n");
  bool have_c8 = false;
  for (const LevelRatio& l : ratios) {
    if (l.c != 8) continue;
    have_c8 = true;
    std::printf("GetEnterprise c=8 ratio to echo+HGET baseline: %.2f (target >= 0.5) %s\n", l.ratio,
                l.ratio >= 0.5 ? "MET" : "MISSED");
  }
  if (!have_c8) {
    std::printf(
        "GetEnterprise c=8 ratio to echo+HGET baseline: not measured (add 8 to "
        "--concurrency)\n");
  }
  std::string scale = n == 100000 ? ""
                                  : absl::StrFormat(" (extrapolated from %lld enterprises)",
                                                    static_cast<long long>(n));
  std::printf("100k BatchCreate load: %.2f s%s (target < 30 s) %s\n", load_s * 100000.0 / n,
              scale.c_str(), load_s * 100000.0 / n < 30 ? "MET" : "MISSED");
  std::fflush(stdout);

  echo_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  echo_server.reset();
  app->Shutdown();
  app.reset();
  redis.Stop();
  return 0;
}

}  // namespace
}  // namespace iplus::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "registry_bench: load and measure the enterprise registry against bare gRPC and Redis "
      "baselines");
  absl::ParseCommandLine(argc, argv);
  return iplus::bench::Run();
}
