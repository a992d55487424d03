// ingest_bench: a load generator for indicator ingestion. In one run it starts a private
// redis-server, the real registry wiring (iplus::registry::App) and the real ingestion
// wiring (iplus::ingest::App, whose directory follows that registry), then:
//   1. registers --enterprises enterprises through BatchCreateEnterprises and waits until
//      ingestion's enterprise directory has cached all of them (the warm-up);
//   2. streams --observations new, valid observations over --streams concurrent
//      StreamObservations streams, --batch observations per batch and up to --in_flight
//      batches in flight per stream (one thread writes batches, another reads the
//      acknowledgements), and checks that every item comes back ACCEPTED;
//   3. measures what the stored observations cost in Redis memory (INFO memory before
//      and after the stream load, and a per-key-class breakdown);
//   4. runs the raw baseline on a second, fresh redis-server: the same Redis writes per
//      observation (report, series and column HSETs into the same bucket keys, and per
//      batch the data-version HINCRBY, INCR and XADD of every data key touched), pipelined
//      from --streams hiredis connections, without gRPC, validation, the series read or the
//      apply script.
// Along the way it prints where the time and the bytes went: CPU seconds of the bench
// process and of redis-server per phase, INFO commandstats, and ingestion's keys by class
// with MEMORY USAGE and encodings. It ends with one line per target, each MET or MISSED.
//
// Observations: stream s owns the enterprises e with e % streams == s, so no two streams
// ever write the same series. The k-th observation of a stream goes to its enterprise
// number k % n (n = the stream's enterprise count), round r = k / n, and the slot
// c = (7 r + e) % 20 picks the indicator (c % 5, over the five built-in indicators) and
// the year (2015 + c / 5); as 7 is prime to 20, an enterprise never gets the same slot
// twice, so every observation is the first value of its (enterprise, indicator, period).

#include <hiredis/hiredis.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
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
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/redis/client.h"
#include "common/refdata/credit_code.h"
#include "common/testing/redis_server.h"
#include "grpcpp/grpcpp.h"
#include "iplus/ingest/v1/ingest.grpc.pb.h"
#include "iplus/registry/v1/registry.grpc.pb.h"
#include "services/ingest/app.h"
#include "services/ingest/domain/observation.h"
#include "services/ingest/store/redis_store.h"
#include "services/registry/app.h"

ABSL_FLAG(int64_t, enterprises, 200000, "enterprises registered before the stream load");
ABSL_FLAG(int64_t, observations, 1000000, "observations streamed (and written by the baseline)");
ABSL_FLAG(int, streams, 10,
          "concurrent StreamObservations streams; also the baseline's hiredis connections");
ABSL_FLAG(int, batch, 1000, "observations per stream batch and per baseline pipeline");
ABSL_FLAG(int, in_flight, 2, "most unacknowledged batches per stream");
ABSL_FLAG(bool, uuid_report_ids, true,
          "UUID-shaped report ids (36 characters); false: short ids such as \"s3-41\"");
ABSL_FLAG(int, hash_max_listpack_value, 1024,
          "hash-max-listpack-value of both redis-servers, as deployed (0: Redis's default, 64)");
ABSL_FLAG(int, load_concurrency, 4, "concurrent BatchCreateEnterprises calls during the load");
ABSL_FLAG(int, redis_pool_size, 16, "the Redis connection pool of the registry and of ingestion");

namespace iplus::bench {
namespace {

namespace iv1 = ::iplus::ingest::v1;
namespace rv1 = ::iplus::registry::v1;
using Clock = std::chrono::steady_clock;

constexpr int kLoadBatch = 1000;
constexpr int kSlots = 20;  // 5 indicators x 4 years
constexpr int kFirstYear = 2015;
constexpr char kReporter[] = "anonymous";  // the principal of an unauthenticated caller
constexpr absl::Duration kCallDeadline = absl::Seconds(60);
constexpr absl::Duration kWarmupTimeout = absl::Minutes(10);

// The built-in indicators, in id order.
struct IndicatorSpec {
  const char* id;
  bool boolean;
};
constexpr IndicatorSpec kIndicators[5] = {
    {"energy_utilization_rate", false}, {"industry_cloud", true},
    {"innovation_platform", true},      {"inventory_turnover", false},
    {"product_dev_cycle_days", false},
};

std::string CodeN(int64_t n) {
  return refdata::CompleteCreditCode(absl::StrFormat("91440100%08d", n));
}

uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// What to send, shared by the stream load and the baseline.
struct Plan {
  int64_t enterprises = 0;
  int64_t observations = 0;
  int streams = 0;
  int batch = 0;
  bool uuid_ids = true;
  std::vector<std::string> codes;  // codes[e]

  int64_t StreamEnterprises(int s) const { return (enterprises - s + streams - 1) / streams; }
  int64_t StreamObservations(int s) const {
    return observations / streams + (s < observations % streams ? 1 : 0);
  }
  int64_t StreamBatches(int s) const { return (StreamObservations(s) + batch - 1) / batch; }
};

struct Obs {
  int64_t e = 0;
  int indicator = 0;
  int year = 0;
  bool boolean = false;
  bool bool_value = false;
  double number = 0;
  std::string report_id;
};

Obs MakeObs(const Plan& plan, int s, int64_t k) {
  const int64_t n = plan.StreamEnterprises(s);
  Obs o;
  o.e = s + plan.streams * (k % n);
  const int64_t r = k / n;
  const int c = static_cast<int>((7 * r + o.e) % kSlots);
  o.indicator = c % 5;
  o.year = kFirstYear + c / 5;
  o.boolean = kIndicators[o.indicator].boolean;
  const uint64_t h = Mix(static_cast<uint64_t>(o.e) * kSlots + c);
  switch (o.indicator) {
    case 0:                                                   // energy_utilization_rate, percent
      o.number = static_cast<double>(2000 + h % 7000) / 100;  // 20.00 to 89.99
      break;
    case 3:                                                 // inventory_turnover, times/year
      o.number = static_cast<double>(50 + h % 2000) / 100;  // 0.50 to 20.49
      break;
    case 4:  // product_dev_cycle_days
      o.number = static_cast<double>(30 + h % 600);
      break;
    default:
      o.bool_value = (h & 1) != 0;
  }
  if (plan.uuid_ids) {
    uint64_t a = Mix(0x1d5eedULL ^ (static_cast<uint64_t>(s) << 48) ^ static_cast<uint64_t>(k));
    uint64_t b = Mix(a);
    o.report_id = absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32, (a >> 16) & 0xffff,
                                  a & 0xfff, 0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffULL);
  } else {
    o.report_id = absl::StrCat("s", s, "-", k);
  }
  return o;
}

void FillBatch(const Plan& plan, int s, int64_t b, iv1::StreamObservationsRequest* req) {
  req->set_batch_id(b);
  const int64_t first = b * plan.batch;
  const int64_t end = std::min(plan.StreamObservations(s), first + plan.batch);
  req->mutable_observations()->Reserve(static_cast<int>(end - first));
  for (int64_t k = first; k < end; ++k) {
    Obs o = MakeObs(plan, s, k);
    iv1::Observation* p = req->add_observations();
    p->set_report_id(std::move(o.report_id));
    p->set_enterprise_code(plan.codes[o.e]);
    p->set_indicator(kIndicators[o.indicator].id);
    p->set_period(absl::StrCat(o.year));
    if (o.boolean) {
      p->set_bool_value(o.bool_value);
    } else {
      p->set_number_value(o.number);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Registry load.

void FillManufacturer(const std::string& code, int64_t n, rv1::Enterprise* e) {
  e->set_code(code);
  e->set_name(absl::StrCat("Guangzhou Precision Parts Co. No. ", n));
  e->set_region("440103");
  e->set_industry("C34");
  e->set_ownership(common::v1::OWNERSHIP_PRIVATE);
  e->set_size(common::v1::ENTERPRISE_SIZE_MEDIUM);
  e->set_key_enterprise(n % 10 == 0);
  e->set_kind(common::v1::ORGANIZATION_KIND_MANUFACTURER);
}

std::string NewRequestId(std::mt19937_64& rng) {
  uint64_t a = rng(), b = rng();
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                         0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffULL);
}

void SetDeadline(grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(kCallDeadline));
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, int i) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("iplus.bench.channel", i);
  args.SetMaxReceiveMessageSize(32 * 1024 * 1024);
  auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return channel;
}

// Registers codes [0, n) in batches of kLoadBatch; OK when every item was created.
absl::Status LoadEnterprises(const std::string& address, const Plan& plan, int concurrency) {
  std::atomic<int64_t> next{0};
  absl::Mutex mu;
  absl::Status first_error;
  std::vector<std::thread> loaders;
  for (int i = 0; i < concurrency; ++i) {
    loaders.emplace_back([&, i] {
      auto stub = rv1::RegistryService::NewStub(MakeChannel(address, i));
      std::random_device device;
      std::mt19937_64 rng(device());
      for (;;) {
        int64_t first = next.fetch_add(kLoadBatch);
        if (first >= plan.enterprises) break;
        int64_t end = std::min(plan.enterprises, first + kLoadBatch);
        rv1::BatchCreateEnterprisesRequest req;
        req.set_request_id(NewRequestId(rng));
        for (int64_t n = first; n < end; ++n) {
          FillManufacturer(plan.codes[n], n, req.add_requests()->mutable_enterprise());
        }
        rv1::BatchCreateEnterprisesResponse resp;
        grpc::ClientContext ctx;
        SetDeadline(&ctx);
        grpc::Status s = stub->BatchCreateEnterprises(&ctx, req, &resp);
        absl::Status status;
        if (!s.ok()) {
          status = absl::UnavailableError(s.error_message());
        } else {
          for (const auto& r : resp.results()) {
            if (r.status().code() != 0 || !r.created()) {
              status = absl::InternalError(
                  absl::StrCat("an item was not created: ", r.status().message()));
              break;
            }
          }
        }
        if (status.ok()) continue;
        absl::MutexLock lock(&mu);
        if (first_error.ok()) first_error = status;
      }
    });
  }
  for (auto& t : loaders) t.join();
  return first_error;
}

// ---------------------------------------------------------------------------------------
// Raw Redis access.

struct RedisFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using RedisConn = std::unique_ptr<redisContext, RedisFree>;
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

absl::StatusOr<RedisConn> Connect(const test::RedisServer& server) {
  timeval timeout{30, 0};
  RedisConn c(redisConnectWithTimeout(server.host().c_str(), server.port(), timeout));
  if (c == nullptr) return absl::UnavailableError("redis: cannot allocate a context");
  if (c->err != 0) return absl::UnavailableError(absl::StrCat("redis: ", c->errstr));
  redisSetTimeout(c.get(), timeout);
  return c;
}

void Append(redisContext* c, const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(argv.size()), ptrs.data(), lens.data());
}

absl::StatusOr<ReplyPtr> Command(redisContext* c, const std::vector<std::string>& argv) {
  Append(c, argv);
  void* reply = nullptr;
  if (redisGetReply(c, &reply) != REDIS_OK || reply == nullptr) {
    return absl::UnavailableError(absl::StrCat("redis: ", c->errstr));
  }
  return ReplyPtr(static_cast<redisReply*>(reply));
}

// Reads `n` replies of commands appended before; the first error reply, if any.
absl::Status ReadReplies(redisContext* c, size_t n) {
  absl::Status out;
  for (size_t i = 0; i < n; ++i) {
    void* reply = nullptr;
    if (redisGetReply(c, &reply) != REDIS_OK || reply == nullptr) {
      return absl::UnavailableError(absl::StrCat("redis: ", c->errstr));
    }
    ReplyPtr r(static_cast<redisReply*>(reply));
    if (r->type == REDIS_REPLY_ERROR && out.ok()) {
      out = absl::InternalError(std::string(r->str, r->len));
    }
  }
  return out;
}

struct MemoryInfo {
  int64_t used_memory = 0;
  int64_t used_memory_dataset = 0;
  int64_t keys = 0;
};

absl::StatusOr<MemoryInfo> ReadMemory(redisContext* c) {
  auto info = Command(c, {"INFO", "memory"});
  if (!info.ok()) return info.status();
  if ((*info)->type != REDIS_REPLY_STRING) return absl::InternalError("INFO: not a string");
  MemoryInfo m;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view((*info)->str, (*info)->len), "\r\n")) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, ':');
    if (kv.first == "used_memory") absl::SimpleAtoi(kv.second, &m.used_memory);
    if (kv.first == "used_memory_dataset") absl::SimpleAtoi(kv.second, &m.used_memory_dataset);
  }
  auto size = Command(c, {"DBSIZE"});
  if (!size.ok()) return size.status();
  m.keys = (*size)->integer;
  return m;
}

// Keys under `prefix` by class (the part of the name after the prefix, up to the next
// ':'): key count, MEMORY USAGE bytes and encodings.
struct KeyClass {
  int64_t keys = 0;
  int64_t bytes = 0;
  int64_t fields = 0;  // HLEN/LLEN/XLEN
  std::map<std::string, int64_t> encodings;
  std::string first_hashtable;  // a hash key that is not listpack-encoded
};

absl::StatusOr<std::map<std::string, KeyClass>> KeyClasses(redisContext* c,
                                                           const std::string& prefix) {
  std::map<std::string, KeyClass> out;
  std::string cursor = "0";
  do {
    auto scan = Command(c, {"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "2000"});
    if (!scan.ok()) return scan.status();
    const redisReply* r = scan->get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) return absl::InternalError("SCAN");
    cursor.assign(r->element[0]->str, r->element[0]->len);
    std::vector<std::string> keys;
    for (size_t i = 0; i < r->element[1]->elements; ++i) {
      keys.emplace_back(r->element[1]->element[i]->str, r->element[1]->element[i]->len);
    }
    for (const auto& k : keys) {
      Append(c, {"MEMORY", "USAGE", k, "SAMPLES", "0"});
      Append(c, {"OBJECT", "ENCODING", k});
      Append(c, {"TYPE", k});
    }
    std::vector<std::string> types;
    for (const auto& k : keys) {
      std::string name = k.substr(prefix.size());
      name = name.substr(0, name.find(':'));
      KeyClass& kc = out[name];
      ++kc.keys;
      for (int j = 0; j < 3; ++j) {
        void* reply = nullptr;
        if (redisGetReply(c, &reply) != REDIS_OK || reply == nullptr) {
          return absl::UnavailableError(absl::StrCat("redis: ", c->errstr));
        }
        ReplyPtr rep(static_cast<redisReply*>(reply));
        if (j == 0 && rep->type == REDIS_REPLY_INTEGER) kc.bytes += rep->integer;
        if (j == 1 && rep->type == REDIS_REPLY_STRING) {
          ++kc.encodings[rep->str];
          if (std::string(rep->str) == "hashtable" && kc.first_hashtable.empty()) {
            kc.first_hashtable = k;
          }
        }
        if (j == 2 && rep->type == REDIS_REPLY_STATUS) types.push_back(rep->str);
      }
    }
    for (size_t i = 0; i < keys.size() && i < types.size(); ++i) {
      const char* len = types[i] == "hash"     ? "HLEN"
                        : types[i] == "list"   ? "LLEN"
                        : types[i] == "stream" ? "XLEN"
                                               : nullptr;
      if (len == nullptr) continue;
      auto n = Command(c, {len, keys[i]});
      if (!n.ok()) return n.status();
      std::string name = keys[i].substr(prefix.size());
      out[name.substr(0, name.find(':'))].fields += (*n)->integer;
    }
  } while (cursor != "0");
  return out;
}

double CpuSecondsSelf() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// utime + stime of another process, from /proc; 0 when unreadable.
double CpuSecondsOf(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  std::vector<std::string> f = absl::StrSplit(text.substr(paren + 2), ' ');
  // Fields after the command: state is [0], utime is field 14 of the line = [11].
  int64_t ut = 0, st = 0;
  if (f.size() < 13 || !absl::SimpleAtoi(f[11], &ut) || !absl::SimpleAtoi(f[12], &st)) return 0;
  return static_cast<double>(ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Cpu {
  double self = 0;
  double redis = 0;
};
Cpu CpuNow(pid_t redis_pid) { return Cpu{CpuSecondsSelf(), CpuSecondsOf(redis_pid)}; }

double Percentile(const std::vector<int64_t>& sorted_ns, double q) {
  if (sorted_ns.empty()) return 0;
  size_t i = std::min(sorted_ns.size() - 1, static_cast<size_t>(q * sorted_ns.size()));
  return sorted_ns[i] / 1e6;
}

// ---------------------------------------------------------------------------------------
// Warm-up: the directory has cached every enterprise and a small report is accepted.

struct Warmup {
  double directory_s = 0;
  double report_s = 0;
};

absl::StatusOr<Warmup> WarmUp(const test::RedisServer& redis, const std::string& ingest_prefix,
                              const std::string& ingest_address, const Plan& plan) {
  auto conn = Connect(redis);
  if (!conn.ok()) return conn.status();
  absl::Time start = absl::Now();
  const std::string ent = ingest_prefix + "ent";
  int64_t cached = 0;
  for (;;) {
    auto n = Command(conn->get(), {"HLEN", ent});
    if (!n.ok()) return n.status();
    cached = (*n)->integer;
    if (cached >= plan.enterprises) break;
    if (absl::Now() - start > kWarmupTimeout) {
      return absl::DeadlineExceededError(
          absl::StrCat("the directory cached ", cached, " of ", plan.enterprises, " enterprises"));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  Warmup w;
  w.directory_s = absl::ToDoubleSeconds(absl::Now() - start);

  // One observation per indicator in 2014 (a year the load never uses), for enterprises
  // spread over the registered range.
  absl::Time report_start = absl::Now();
  auto stub = iv1::IngestService::NewStub(MakeChannel(ingest_address, 1000));
  iv1::ReportObservationsRequest req;
  for (int i = 0; i < 5; ++i) {
    auto* o = req.add_observations();
    o->set_report_id(absl::StrCat("warmup-", i));
    o->set_enterprise_code(plan.codes[(plan.enterprises - 1) * i / 4]);
    o->set_indicator(kIndicators[i].id);
    o->set_period("2014");
    if (kIndicators[i].boolean) {
      o->set_bool_value(true);
    } else {
      o->set_number_value(50);
    }
  }
  std::string last;
  for (;;) {
    iv1::ReportObservationsResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    grpc::Status s = stub->ReportObservations(&ctx, req, &resp);
    bool all = s.ok() && resp.results_size() == req.observations_size();
    if (s.ok()) {
      for (const auto& r : resp.results()) {
        if (r.outcome() != iv1::OUTCOME_ACCEPTED && r.outcome() != iv1::OUTCOME_DUPLICATE) {
          all = false;
          last = absl::StrCat(iv1::Outcome_Name(r.outcome()), " ",
                              iv1::RejectReason_Name(r.reject_reason()), ": ", r.message());
        }
      }
    } else {
      last = s.error_message();
    }
    if (all) break;
    if (absl::Now() - report_start > absl::Minutes(1)) {
      return absl::DeadlineExceededError(absl::StrCat("the warm-up report failed: ", last));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  w.report_s = absl::ToDoubleSeconds(absl::Now() - report_start);
  return w;
}

// ---------------------------------------------------------------------------------------
// The stream load.

struct StreamTotals {
  double seconds = 0;
  int64_t items = 0;
  int64_t accepted = 0;
  int64_t not_accepted = 0;
  int64_t flagged = 0;  // accepted with outlier flags
  int64_t failed_batches = 0;
  std::vector<int64_t> latencies_ns;  // per batch
  std::vector<std::string> first_problems;
};

StreamTotals RunStreams(const std::string& address, const Plan& plan, int in_flight) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int s = 0; s < plan.streams; ++s) channels.push_back(MakeChannel(address, s));

  absl::Mutex mu;  // guards totals
  StreamTotals totals;
  auto problem = [&](std::string text) {
    absl::MutexLock lock(&mu);
    if (totals.first_problems.size() < 5) totals.first_problems.push_back(std::move(text));
  };

  Clock::time_point t0 = Clock::now();
  std::vector<std::thread> readers;
  for (int s = 0; s < plan.streams; ++s) {
    readers.emplace_back([&, s] {
      auto stub = iv1::IngestService::NewStub(channels[s]);
      grpc::ClientContext ctx;
      auto stream = stub->StreamObservations(&ctx);
      const int64_t batches = plan.StreamBatches(s);
      std::vector<Clock::time_point> sent(batches);
      std::mutex window_mu;
      std::condition_variable window_cv;
      int outstanding = 0;
      bool reader_done = false;  // the stream ended; nothing more will be acknowledged

      std::thread writer([&] {
        for (int64_t b = 0; b < batches; ++b) {
          iv1::StreamObservationsRequest req;
          FillBatch(plan, s, b, &req);
          {
            std::unique_lock<std::mutex> lock(window_mu);
            window_cv.wait(lock, [&] { return outstanding < in_flight || reader_done; });
            if (reader_done) break;
            ++outstanding;
            sent[b] = Clock::now();
          }
          if (!stream->Write(req)) break;
        }
        stream->WritesDone();
      });

      std::vector<int64_t> latencies;
      latencies.reserve(batches);
      int64_t accepted = 0, other = 0, failed = 0, items = 0, flagged = 0;
      iv1::StreamObservationsResponse ack;
      while (stream->Read(&ack)) {
        Clock::time_point now = Clock::now();
        Clock::time_point at;
        {
          std::lock_guard<std::mutex> lock(window_mu);
          --outstanding;
          at = sent[std::clamp<int64_t>(ack.batch_id(), 0, batches - 1)];
        }
        window_cv.notify_one();
        latencies.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(now - at).count());
        if (ack.status().code() != 0) {
          ++failed;
          problem(absl::StrCat("stream ", s, " batch ", ack.batch_id(), ": status ",
                               ack.status().code(), " ", ack.status().message()));
          continue;
        }
        for (const auto& r : ack.results()) {
          ++items;
          if (r.outcome() == iv1::OUTCOME_ACCEPTED) {
            ++accepted;
            if (r.flags_size() > 0) ++flagged;
            continue;
          }
          ++other;
          problem(absl::StrCat("stream ", s, " batch ", ack.batch_id(), " item ", r.index(), ": ",
                               iv1::Outcome_Name(r.outcome()), " ",
                               iv1::RejectReason_Name(r.reject_reason()), " field \"", r.field(),
                               "\": ", r.message()));
        }
      }
      {
        std::lock_guard<std::mutex> lock(window_mu);
        reader_done = true;
      }
      window_cv.notify_one();
      writer.join();
      grpc::Status status = stream->Finish();
      if (!status.ok()) problem(absl::StrCat("stream ", s, " ended: ", status.error_message()));
      if (static_cast<int64_t>(latencies.size()) < batches) {
        failed += batches - static_cast<int64_t>(latencies.size());
      }
      absl::MutexLock lock(&mu);
      totals.items += items;
      totals.accepted += accepted;
      totals.not_accepted += other;
      totals.flagged += flagged;
      totals.failed_batches += failed;
      totals.latencies_ns.insert(totals.latencies_ns.end(), latencies.begin(), latencies.end());
    });
  }
  for (auto& t : readers) t.join();
  totals.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(totals.latencies_ns.begin(), totals.latencies_ns.end());
  return totals;
}

// ---------------------------------------------------------------------------------------
// The raw baseline.

struct RawTotals {
  double seconds = 0;
  int64_t observations = 0;
  std::vector<int64_t> latencies_ns;  // per pipeline
  absl::Status first_error;
};

RawTotals RunRaw(const test::RedisServer& server, const Plan& plan) {
  redis::Options options;
  options.host = server.host();
  options.port = server.port();
  redis::Client client(options);
  // Only for its key names; the defaults are the service's bucket counts.
  ingest::RedisStore store(&client, ingest::RedisStoreOptions{});
  const std::string dv_key = store.prefix() + "dv";
  const std::string ver_key = store.prefix() + "ver";
  const std::string ch_key = store.prefix() + "ch";
  const std::string max_changes = absl::StrCat(ingest::RedisStoreOptions{}.max_changes);
  const int64_t now_s = absl::ToUnixSeconds(absl::Now());
  const std::string time_ms = absl::StrCat(absl::ToUnixMillis(absl::Now()));

  std::vector<RedisConn> conns;
  RawTotals totals;
  for (int s = 0; s < plan.streams; ++s) {
    auto c = Connect(server);
    if (!c.ok()) {
      totals.first_error = c.status();
      return totals;
    }
    conns.push_back(*std::move(c));
  }
  absl::Mutex mu;
  Clock::time_point t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int s = 0; s < plan.streams; ++s) {
    threads.emplace_back([&, s] {
      redisContext* c = conns[s].get();
      std::vector<int64_t> latencies;
      int64_t written = 0;
      absl::Status error;
      const int64_t n = plan.StreamObservations(s);
      for (int64_t b = 0; b < plan.StreamBatches(s) && error.ok(); ++b) {
        Clock::time_point start = Clock::now();
        const int64_t first = b * plan.batch;
        const int64_t end = std::min(n, first + plan.batch);
        std::set<std::string> data_keys;
        size_t commands = 0;
        for (int64_t k = first; k < end; ++k) {
          Obs o = MakeObs(plan, s, k);
          const std::string& code = plan.codes[o.e];
          const std::string indicator = kIndicators[o.indicator].id;
          const std::string period = absl::StrCat(o.year);
          const double v = o.boolean ? (o.bool_value ? 1 : 0) : o.number;
          const std::string value = ingest::CanonicalNumber(v);
          ingest::SeriesEntry entry;
          entry.ordinal = o.year;
          entry.value = v;
          entry.revision = 1;
          entry.reporter_id = 1;
          entry.time_s = now_s;
          entry.report_id = o.report_id;
          const std::string report_key =
              ingest::Hash64Bytes(absl::StrCat(kReporter, "\n", o.report_id));
          Append(
              c,
              {"HSET", store.ReportKeyName(report_key), report_key,
               ingest::Hash64Bytes(absl::StrCat(code, "|", indicator, "|", period, "|", value))});
          Append(c, {"HSET", store.SeriesKeyName(ingest::SeriesKey{indicator, code}), code,
                     ingest::EncodeEntry(entry)});
          Append(c, {"HSET", store.ColumnKeyName(indicator, period, code), code, value});
          commands += 3;
          data_keys.insert(absl::StrCat(indicator, "|", period));
        }
        for (const auto& dk : data_keys) {
          Append(c, {"HINCRBY", dv_key, dk, "1"});
          Append(c, {"INCR", ver_key});
          Append(c, {"XADD", ch_key, "MAXLEN", "~", max_changes, "*", "k", dk, "d", "1", "ts",
                     time_ms});
          commands += 3;
        }
        error = ReadReplies(c, commands);
        latencies.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
        written += end - first;
      }
      absl::MutexLock lock(&mu);
      totals.observations += written;
      totals.latencies_ns.insert(totals.latencies_ns.end(), latencies.begin(), latencies.end());
      if (totals.first_error.ok()) totals.first_error = error;
    });
  }
  for (auto& t : threads) t.join();
  totals.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(totals.latencies_ns.begin(), totals.latencies_ns.end());
  return totals;
}

// ---------------------------------------------------------------------------------------

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

absl::Status PrintKeyClasses(redisContext* c, const std::string& prefix, const char* title,
                             int64_t observations) {
  auto classes = KeyClasses(c, prefix);
  if (!classes.ok()) return classes.status();
  std::printf("\n%s (MEMORY USAGE of every key under %s):\n", title, prefix.c_str());
  std::printf("| %-6s | %9s | %13s | %11s | %13s | %-34s |\n", "class", "keys", "bytes", "entries",
              "bytes/obs", "encodings");
  std::printf("|--------|-----------|---------------|-------------|---------------|%s|\n",
              std::string(36, '-').c_str());
  for (const auto& [name, kc] : *classes) {
    std::string enc;
    for (const auto& [e, n] : kc.encodings) {
      absl::StrAppend(&enc, enc.empty() ? "" : ", ", e, " ", n);
    }
    std::printf("| %-6s | %9s | %13s | %11s | %13.1f | %-34s |\n", name.c_str(),
                Thousands(static_cast<double>(kc.keys)).c_str(),
                Thousands(static_cast<double>(kc.bytes)).c_str(),
                Thousands(static_cast<double>(kc.fields)).c_str(),
                static_cast<double>(kc.bytes) / observations, enc.c_str());
  }
  // Why an observation bucket (series, column, report) left the compact encoding: its
  // longest value.
  for (const auto& [name, kc] : *classes) {
    if (kc.first_hashtable.empty() || (name != "s" && name != "c" && name != "r")) continue;
    auto all = Command(c, {"HGETALL", kc.first_hashtable});
    if (!all.ok()) return all.status();
    size_t longest = 0;
    std::string value;
    for (size_t i = 1; i < (*all)->elements; i += 2) {
      if ((*all)->element[i]->len > longest) {
        longest = (*all)->element[i]->len;
        value.assign((*all)->element[i]->str, longest);
      }
    }
    std::printf("  %s bucket %s is a hashtable: %zu fields, longest value %zu bytes: %s\n",
                name.c_str(), kc.first_hashtable.c_str(), (*all)->elements / 2, longest,
                value.c_str());
  }
  std::printf("\n");
  return absl::OkStatus();
}

// Resets INFO commandstats.
absl::Status ResetStats(redisContext* c) { return Command(c, {"CONFIG", "RESETSTAT"}).status(); }

// The commands that took most of redis-server's time since the last ResetStats.
absl::Status PrintCommandStats(redisContext* c, const char* title) {
  auto info = Command(c, {"INFO", "commandstats"});
  if (!info.ok()) return info.status();
  struct Stat {
    std::string name;
    int64_t calls = 0;
    double usec = 0;
  };
  std::vector<Stat> stats;
  double total = 0;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view((*info)->str, (*info)->len), "\r\n")) {
    if (!absl::ConsumePrefix(&line, "cmdstat_")) continue;
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, ':');
    Stat st;
    st.name = std::string(kv.first);
    for (absl::string_view field : absl::StrSplit(kv.second, ',')) {
      std::pair<absl::string_view, absl::string_view> f = absl::StrSplit(field, '=');
      if (f.first == "calls") absl::SimpleAtoi(f.second, &st.calls);
      if (f.first == "usec") absl::SimpleAtod(f.second, &st.usec);
    }
    stats.push_back(st);
  }
  std::sort(stats.begin(), stats.end(),
            [](const Stat& a, const Stat& b) { return a.usec > b.usec; });
  for (const auto& st : stats) total += st.usec;
  std::printf(
      "%s, INFO commandstats (commands run by scripts are counted in the script and "
      "again on their own):\n",
      title);
  for (size_t i = 0; i < stats.size() && i < 8; ++i) {
    std::printf("  %-10s %11s calls %9.3f s %7.2f us/call\n", stats[i].name.c_str(),
                Thousands(static_cast<double>(stats[i].calls)).c_str(), stats[i].usec / 1e6,
                stats[i].calls > 0 ? stats[i].usec / static_cast<double>(stats[i].calls) : 0);
  }
  std::printf("\n");
  return absl::OkStatus();
}

int Fail(const std::string& what, const absl::Status& s) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), s.ToString().c_str());
  return 1;
}

int Run() {
  Plan plan;
  plan.enterprises = absl::GetFlag(FLAGS_enterprises);
  plan.observations = absl::GetFlag(FLAGS_observations);
  plan.streams = absl::GetFlag(FLAGS_streams);
  plan.batch = absl::GetFlag(FLAGS_batch);
  plan.uuid_ids = absl::GetFlag(FLAGS_uuid_report_ids);
  const int in_flight = absl::GetFlag(FLAGS_in_flight);
  const int load_concurrency = absl::GetFlag(FLAGS_load_concurrency);
  if (plan.streams < 1 || plan.enterprises < plan.streams || plan.enterprises > 50000000 ||
      plan.batch < 1 || plan.batch > 5000 || in_flight < 1 || load_concurrency < 1 ||
      plan.observations < 1) {
    std::fprintf(stderr,
                 "need --streams >= 1, --streams <= --enterprises <= 50000000, "
                 "1 <= --batch <= 5000, --in_flight >= 1, --load_concurrency >= 1 and "
                 "--observations >= 1\n");
    return 2;
  }
  for (int s = 0; s < plan.streams; ++s) {
    if (plan.StreamObservations(s) > kSlots * plan.StreamEnterprises(s)) {
      std::fprintf(stderr,
                   "--observations may be at most %d per enterprise (5 indicators x 4 years) "
                   "for all of them to be new\n",
                   kSlots);
      return 2;
    }
  }
  log::Init("ingest_bench", log::Level::kWarning);
  plan.codes.reserve(plan.enterprises);
  for (int64_t i = 0; i < plan.enterprises; ++i) plan.codes.push_back(CodeN(i));

  // Started from the main thread, which outlives them (see RedisServer).
  test::RedisServer::Options server_options;
  if (int v = absl::GetFlag(FLAGS_hash_max_listpack_value); v > 0) {
    server_options.extra_args = {"--hash-max-listpack-value", absl::StrCat(v)};
  }
  test::RedisServer redis(server_options);
  test::RedisServer raw_redis(server_options);
  if (absl::Status s = redis.Start(); !s.ok()) return Fail("cannot start redis-server", s);
  if (absl::Status s = raw_redis.Start(); !s.ok()) return Fail("cannot start redis-server", s);

  redis::Options redis_options;
  redis_options.host = redis.host();
  redis_options.port = redis.port();
  redis_options.pool_size = absl::GetFlag(FLAGS_redis_pool_size);
  redis_options.command_timeout = absl::Seconds(5);
  redis_options.connect_timeout = absl::Seconds(1);

  registry::AppConfig rconfig;
  rconfig.server.service_name = "registry";
  rconfig.server.grpc_address = "127.0.0.1:0";
  rconfig.server.metrics_address = "127.0.0.1:0";
  rconfig.server.drain_timeout = absl::Seconds(5);
  // In-process and on loopback: callers are not authenticated (anonymous admin).
  rconfig.server.auth.allow_unauthenticated = true;
  rconfig.redis = redis_options;
  auto registry_app = std::make_unique<registry::App>(rconfig);
  if (absl::Status s = registry_app->Start(); !s.ok()) return Fail("cannot start the registry", s);
  const std::string registry_address = absl::StrCat("127.0.0.1:", registry_app->grpc_port());

  ingest::AppConfig iconfig;
  iconfig.server.service_name = "ingest";
  iconfig.server.grpc_address = "127.0.0.1:0";
  iconfig.server.metrics_address = "127.0.0.1:0";
  iconfig.server.drain_timeout = absl::Seconds(5);
  iconfig.server.auth.allow_unauthenticated = true;
  iconfig.redis = redis_options;
  iconfig.registry_target = registry_address;
  auto ingest_app = std::make_unique<ingest::App>(iconfig);
  if (absl::Status s = ingest_app->Start(); !s.ok()) return Fail("cannot start ingestion", s);
  const std::string ingest_address = absl::StrCat("127.0.0.1:", ingest_app->grpc_port());

  std::printf("Ingest benchmark\n");
  std::printf(
      "  enterprises %s, observations %s, %d streams, %d observations per batch, %d batches "
      "in flight per stream, %s report ids, hash-max-listpack-value %s\n",
      Thousands(static_cast<double>(plan.enterprises)).c_str(),
      Thousands(static_cast<double>(plan.observations)).c_str(), plan.streams, plan.batch,
      in_flight, plan.uuid_ids ? "UUID-shaped (36-character)" : "short",
      absl::GetFlag(FLAGS_hash_max_listpack_value) > 0
          ? absl::StrCat(absl::GetFlag(FLAGS_hash_max_listpack_value)).c_str()
          : "64 (default)");
  std::printf("  client, registry, ingestion and both redis-servers share %u hardware threads\n",
              std::thread::hardware_concurrency());
  std::printf("  registry %s, ingestion %s, redis-server %s, baseline redis-server %s\n\n",
              registry_address.c_str(), ingest_address.c_str(), redis.address().c_str(),
              raw_redis.address().c_str());
  std::fflush(stdout);

  // 1. Enterprises.
  absl::Time load_start = absl::Now();
  if (absl::Status s = LoadEnterprises(registry_address, plan, load_concurrency); !s.ok()) {
    return Fail("registering enterprises", s);
  }
  double load_s = absl::ToDoubleSeconds(absl::Now() - load_start);
  std::printf("Registry: %s enterprises via BatchCreateEnterprises in %.2f s (%s/s)\n",
              Thousands(static_cast<double>(plan.enterprises)).c_str(), load_s,
              Thousands(static_cast<double>(plan.enterprises) / load_s).c_str());
  std::fflush(stdout);

  auto warm = WarmUp(redis, ingest_app->key_prefix(), ingest_address, plan);
  if (!warm.ok()) return Fail("warm-up", warm.status());
  std::printf(
      "Warm-up: the directory cached every enterprise %.2f s after the load; a first report "
      "of 5 observations was accepted %.2f s later\n",
      warm->directory_s, warm->report_s);

  auto conn = Connect(redis);
  if (!conn.ok()) return Fail("redis", conn.status());
  auto before = ReadMemory(conn->get());
  if (!before.ok()) return Fail("INFO memory", before.status());
  std::printf("Redis before the load: used_memory %s, used_memory_dataset %s, %s keys\n\n",
              Thousands(static_cast<double>(before->used_memory)).c_str(),
              Thousands(static_cast<double>(before->used_memory_dataset)).c_str(),
              Thousands(static_cast<double>(before->keys)).c_str());
  std::fflush(stdout);

  // 2. The stream load.
  if (absl::Status st = ResetStats(conn->get()); !st.ok()) return Fail("CONFIG RESETSTAT", st);
  Cpu cpu0 = CpuNow(redis.pid());
  StreamTotals stream = RunStreams(ingest_address, plan, in_flight);
  Cpu cpu1 = CpuNow(redis.pid());
  const double stream_rate = static_cast<double>(stream.accepted) / stream.seconds;
  std::printf(
      "Stream: %s of %s observations ACCEPTED in %.2f s; %s other outcomes, %s failed "
      "batches\n",
      Thousands(static_cast<double>(stream.accepted)).c_str(),
      Thousands(static_cast<double>(plan.observations)).c_str(), stream.seconds,
      Thousands(static_cast<double>(stream.not_accepted)).c_str(),
      Thousands(static_cast<double>(stream.failed_batches)).c_str());
  for (const auto& p : stream.first_problems) std::printf("  %s\n", p.c_str());
  std::printf("  %s accepted observations carry outlier flags\n",
              Thousands(static_cast<double>(stream.flagged)).c_str());
  std::printf("  CPU: bench process (client, registry, ingestion) %.1f s, redis-server %.1f s\n",
              cpu1.self - cpu0.self, cpu1.redis - cpu0.redis);
  std::fflush(stdout);

  // 3. Memory.
  auto after = ReadMemory(conn->get());
  if (!after.ok()) return Fail("INFO memory", after.status());
  const double per_obs =
      static_cast<double>(after->used_memory - before->used_memory) / plan.observations;
  const double per_obs_dataset =
      static_cast<double>(after->used_memory_dataset - before->used_memory_dataset) /
      plan.observations;
  std::printf("Redis after the load:  used_memory %s, used_memory_dataset %s, %s keys\n",
              Thousands(static_cast<double>(after->used_memory)).c_str(),
              Thousands(static_cast<double>(after->used_memory_dataset)).c_str(),
              Thousands(static_cast<double>(after->keys)).c_str());
  if (absl::Status st = PrintCommandStats(conn->get(), "redis-server during the stream load");
      !st.ok()) {
    return Fail("commandstats", st);
  }
  if (absl::Status st = PrintKeyClasses(conn->get(), ingest_app->key_prefix(),
                                        "Ingestion's keys after the load", plan.observations);
      !st.ok()) {
    return Fail("key classes", st);
  }
  std::printf("\n");
  std::fflush(stdout);

  // 4. The raw baseline, on its own fresh redis-server.
  auto raw_conn = Connect(raw_redis);
  if (!raw_conn.ok()) return Fail("redis", raw_conn.status());
  auto raw_before = ReadMemory(raw_conn->get());
  if (!raw_before.ok()) return Fail("INFO memory", raw_before.status());
  if (absl::Status st = ResetStats(raw_conn->get()); !st.ok()) {
    return Fail("CONFIG RESETSTAT", st);
  }
  Cpu rcpu0 = CpuNow(raw_redis.pid());
  RawTotals raw = RunRaw(raw_redis, plan);
  Cpu rcpu1 = CpuNow(raw_redis.pid());
  if (!raw.first_error.ok()) return Fail("raw baseline", raw.first_error);
  auto raw_after = ReadMemory(raw_conn->get());
  if (!raw_after.ok()) return Fail("INFO memory", raw_after.status());
  const double raw_rate = static_cast<double>(raw.observations) / raw.seconds;
  const double raw_per_obs =
      static_cast<double>(raw_after->used_memory - raw_before->used_memory) / plan.observations;
  std::printf("Raw baseline: %s observations in %.2f s over %d hiredis connections\n",
              Thousands(static_cast<double>(raw.observations)).c_str(), raw.seconds, plan.streams);
  std::printf("  CPU: bench process (client) %.1f s, redis-server %.1f s\n\n",
              rcpu1.self - rcpu0.self, rcpu1.redis - rcpu0.redis);
  if (absl::Status st =
          PrintCommandStats(raw_conn->get(), "baseline redis-server during the raw baseline");
      !st.ok()) {
    return Fail("commandstats", st);
  }
  {
    ingest::RedisStore names(nullptr, ingest::RedisStoreOptions{});
    if (absl::Status st = PrintKeyClasses(raw_conn->get(), names.prefix(),
                                          "Baseline keys after the raw load", plan.observations);
        !st.ok()) {
      return Fail("key classes", st);
    }
  }

  // 5. Table and targets.
  const double ratio = raw_rate > 0 ? stream_rate / raw_rate : 0;
  std::printf("| %-32s | %13s | %8s | %11s | %13s | %13s | %15s |\n", "measurement", "observations",
              "seconds", "obs/s", "p50 ms/batch", "p99 ms/batch", "bytes/obs");
  std::printf("|%s|%s|%s|%s|%s|%s|%s|\n", std::string(34, '-').c_str(),
              std::string(15, '-').c_str(), std::string(10, '-').c_str(),
              std::string(13, '-').c_str(), std::string(15, '-').c_str(),
              std::string(15, '-').c_str(), std::string(17, '-').c_str());
  std::printf("| %-32s | %13s | %8.2f | %11s | %13.1f | %13.1f | %15.1f |\n",
              "StreamObservations (ingestion)",
              Thousands(static_cast<double>(stream.accepted)).c_str(), stream.seconds,
              Thousands(stream_rate).c_str(), Percentile(stream.latencies_ns, 0.50),
              Percentile(stream.latencies_ns, 0.99), per_obs);
  std::printf("| %-32s | %13s | %8.2f | %11s | %13.1f | %13.1f | %15.1f |\n",
              "raw pipelined HSETs (hiredis)",
              Thousands(static_cast<double>(raw.observations)).c_str(), raw.seconds,
              Thousands(raw_rate).c_str(), Percentile(raw.latencies_ns, 0.50),
              Percentile(raw.latencies_ns, 0.99), raw_per_obs);
  std::printf(
      "\nmemory: used_memory grew %s bytes (dataset %s, %.1f bytes/observation), keys %s -> "
      "%s\n\n",
      Thousands(static_cast<double>(after->used_memory - before->used_memory)).c_str(),
      Thousands(static_cast<double>(after->used_memory_dataset - before->used_memory_dataset))
          .c_str(),
      per_obs_dataset, Thousands(static_cast<double>(before->keys)).c_str(),
      Thousands(static_cast<double>(after->keys)).c_str());

  const bool all_accepted = stream.accepted == plan.observations;
  std::printf("stream: %s obs/s (target >= 250000) %s%s\n", Thousands(stream_rate).c_str(),
              stream_rate >= 250000 && all_accepted ? "MET" : "MISSED",
              all_accepted ? "" : " (not every observation was accepted)");
  std::printf("ratio to raw pipelined: %.2f (target >= 0.4) %s\n", ratio,
              ratio >= 0.4 ? "MET" : "MISSED");
  std::printf("memory: %.1f bytes/observation (target <= 120) %s\n", per_obs,
              per_obs <= 120 ? "MET" : "MISSED");
  std::fflush(stdout);

  ingest_app->Shutdown();
  ingest_app.reset();
  registry_app->Shutdown();
  registry_app.reset();
  raw_redis.Stop();
  redis.Stop();
  return 0;
}

}  // namespace
}  // namespace iplus::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "ingest_bench: stream observations into ingestion and compare with raw pipelined Redis "
      "writes");
  absl::ParseCommandLine(argc, argv);
  return iplus::bench::Run();
}
