// funds_grpc_bench: transfers per second through the funds service's gRPC API, next to
// the same double-entry workload on a private PostgreSQL 15, in one run.
//
// Both sides are durable before they answer: the service's redis-server runs with
// appendonly yes and appendfsync always; PostgreSQL runs with fsync on,
// synchronous_commit on and full_page_writes at its default. Both hold N accounts
// flagged debits_must_not_exceed_credits, opened with the same balance, and receive the
// same transfers: fresh ids, a debit and a credit account drawn uniformly at random from
// the N (never the same one), amounts 1..1000 fen, one call per batch. For every batch
// size and number of concurrent clients the program measures both sides in turn and
// prints transfers/s, calls/s and call latency, then a table of the ratios
// (service / PostgreSQL) and one line per target.
//
// The service side starts a private redis-server and the funds service (funds App) in
// this process on 127.0.0.1:0, creates N funds through CreateFund, capitalises each
// through CapitaliseFund, and moves money between the funds' accounts with raw
// CreateTransfers (admin; the service runs with unauthenticated callers allowed).
// The PostgreSQL side is described in pg_baseline.h.
//
// --baseline runs only what needs no funds service: the fsync floors (fdatasync of a
// file, redis-server INCR with appendfsync always, a one-row PostgreSQL commit) and the
// PostgreSQL workload.

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/funds/funds_grpc_side.h"
#include "bench/funds/pg_baseline.h"
#include "common/redis/client.h"
#include "common/testing/redis_server.h"

ABSL_FLAG(double, seconds, 3, "measured seconds per configuration and side");
ABSL_FLAG(double, warmup_seconds, 0.5, "unmeasured seconds before each measurement");
ABSL_FLAG(std::string, batch_sizes, "1,100,1000", "transfers per call (1..1000)");
ABSL_FLAG(std::string, concurrency, "1,8", "concurrent clients");
ABSL_FLAG(int, accounts, 1000, "accounts the transfers are drawn from (both sides)");
ABSL_FLAG(bool, baseline, false,
          "only the baselines: fsync floors and PostgreSQL, without the funds service");
ABSL_FLAG(std::string, pg_bin_dir, "/usr/lib/postgresql/15/bin",
          "directory with PostgreSQL's initdb and postgres");
ABSL_FLAG(std::string, pg_os_user, "",
          "user to run initdb and postgres as when run by root (empty: postgres, else nobody)");
ABSL_FLAG(bool, verify, true,
          "check both sides at the end (PostgreSQL totals; the service's VerifyJournal)");

namespace iplus::funds::bench {
namespace {

constexpr int64_t kOpeningBalance = 1'000'000'000'000;  // fen per account

std::vector<int> ParseList(const std::string& s) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipEmpty())) {
    int v = 0;
    if (absl::SimpleAtoi(part, &v) && v > 0) out.push_back(v);
  }
  return out;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// --- the workload -----------------------------------------------------------------------

// A batch of transfers by account index; each side maps indexes to its own account ids.
std::vector<WorkTransfer> MakeBatch(std::mt19937_64& rng, const std::string& id_prefix, int batch,
                                    int n_accounts) {
  std::vector<WorkTransfer> out(batch);
  for (int i = 0; i < batch; ++i) {
    WorkTransfer& t = out[i];
    t.id = absl::StrCat(id_prefix, "i", i);
    t.debit = static_cast<int>(rng() % n_accounts);
    t.credit = static_cast<int>(rng() % (n_accounts - 1));
    if (t.credit >= t.debit) ++t.credit;
    t.amount = 1 + static_cast<int64_t>(rng() % 1000);
  }
  return out;
}

// --- the PostgreSQL side ------------------------------------------------------------------

class PgSide : public Side {
 public:
  explicit PgSide(PgServer* server) : server_(server) {}
  std::string name() const override { return "PostgreSQL"; }
  pid_t server_pid() const override { return server_->pid(); }

  absl::StatusOr<LogSize> LogBytes() override {
    absl::MutexLock lock(&monitor_mu_);
    auto bytes = monitor_->WalBytes();
    if (!bytes.ok()) return bytes.status();
    return LogSize{*bytes, 0};
  }

  absl::Status Prepare(int n_accounts, int max_clients) override {
    auto monitor = PgLedger::Connect(server_->ConnInfo());
    if (!monitor.ok()) return monitor.status();
    monitor_ = std::move(*monitor);
    for (int c = 0; c < max_clients; ++c) {
      auto conn = PgLedger::Connect(server_->ConnInfo());
      if (!conn.ok()) return conn.status();
      clients_.push_back(std::move(*conn));
    }
    if (absl::Status s = clients_[0]->CreateSchema(); !s.ok()) return s;
    if (absl::Status s = clients_[0]->CreateAccounts("acct-", n_accounts, kOpeningBalance);
        !s.ok()) {
      return s;
    }
    ids_.reserve(n_accounts);
    for (int i = 0; i < n_accounts; ++i) ids_.push_back(absl::StrCat("acct-", i));
    return absl::OkStatus();
  }

  absl::StatusOr<int> Call(int client, const std::vector<WorkTransfer>& batch) override {
    std::vector<PgTransfer> request(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      request[i].id = batch[i].id;
      request[i].debit_account_id = ids_[batch[i].debit];
      request[i].credit_account_id = ids_[batch[i].credit];
      request[i].amount = batch[i].amount;
    }
    auto results = clients_[client]->CreateTransfers(request);
    if (!results.ok()) return results.status();
    int ok = 0;
    for (int r : *results) ok += r == kPgOk;
    return ok;
  }

  absl::StatusOr<std::string> Check(int64_t ok_transfers) override {
    auto t = clients_[0]->Totals();
    if (!t.ok()) return t.status();
    if (t->transfers != ok_transfers || t->debits_posted != t->credits_posted ||
        t->flagged_negative != 0) {
      return absl::InternalError(absl::StrCat(
          "PostgreSQL totals wrong: ", t->transfers, " transfer rows for ", ok_transfers,
          " OK results, debits ", t->debits_posted, ", credits ", t->credits_posted, ", ",
          t->flagged_negative, " flagged accounts below zero"));
    }
    return absl::StrCat(t->transfers,
                        " transfer rows = OK results, debits = credits = ", t->debits_posted,
                        ", no flagged account below zero");
  }

  PgLedger& client(int i) { return *clients_[i]; }

 private:
  PgServer* server_;
  std::vector<std::unique_ptr<PgLedger>> clients_;
  absl::Mutex monitor_mu_;
  std::unique_ptr<PgLedger> monitor_;
  std::vector<std::string> ids_;
};

// --- CPU accounting -----------------------------------------------------------------------

// CPU seconds (user + system) of `root` and its direct children (PostgreSQL's backends),
// from /proc.
double ProcessTreeCpuSeconds(pid_t root) {
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  double total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    int pid = 0;
    if (!absl::SimpleAtoi(name, &pid)) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    // After "pid (comm)": state ppid ... utime (14th field) stime (15th).
    std::vector<std::string> f = absl::StrSplit(stat.substr(paren + 2), ' ');
    if (f.size() < 13) continue;
    int ppid = 0;
    if (!absl::SimpleAtoi(f[1], &ppid) || (pid != root && ppid != root)) continue;
    double utime = 0, stime = 0;
    if (absl::SimpleAtod(f[11], &utime) && absl::SimpleAtod(f[12], &stime)) {
      total += (utime + stime) / tick;
    }
  }
  return total;
}

double SelfCpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return absl::ToDoubleSeconds(absl::DurationFromTimeval(u.ru_utime) +
                               absl::DurationFromTimeval(u.ru_stime));
}

// --- measurement --------------------------------------------------------------------------

struct Measurement {
  double transfers_per_s = 0;
  double calls_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int64_t ok = 0;
  int64_t not_ok = 0;
  int64_t failed_calls = 0;
  std::string first_error;
  // CPU used per second of the measurement: the database server (redis-server; or
  // postgres and its backends) and this process (clients, and the in-process service).
  double server_cpu = 0;
  double bench_cpu = 0;
  // Durable log written per OK transfer, and per second.
  // Negative: unknown (the log was rewritten during the measurement).
  double log_bytes_per_transfer = -1;
  double log_mb_per_s = -1;
};

// Runs `callers` threads for warm-up + seconds; counts calls that start inside the
// measured window. Every side receives the same transfers for the same (phase, run).
Measurement Measure(Side& side, int run, int batch, int callers, int n_accounts,
                    absl::Duration warmup, absl::Duration measured, int64_t* ok_total) {
  std::atomic<int64_t> ok{0}, not_ok{0}, calls{0}, failed{0}, ok_all{0};
  absl::Mutex mu;
  std::vector<double> latencies;
  std::string first_error;
  const absl::Time start = absl::Now() + warmup;
  const absl::Time end = start + measured;
  std::vector<std::thread> threads;
  for (int c = 0; c < callers; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937_64 rng(static_cast<uint64_t>(run) * 1000 + c);
      std::vector<double> mine;
      for (int64_t k = 0;; ++k) {
        const std::vector<WorkTransfer> request =
            MakeBatch(rng, absl::StrCat("r", run, "c", c, "k", k), batch, n_accounts);
        const absl::Time t0 = absl::Now();
        if (t0 >= end) break;
        const bool counted = t0 >= start;
        auto r = side.Call(c, request);
        const absl::Time t1 = absl::Now();
        if (r.ok()) ok_all += *r;
        if (!counted) continue;
        ++calls;
        if (!r.ok()) {
          ++failed;
          absl::MutexLock lock(&mu);
          if (first_error.empty()) first_error = std::string(r.status().message());
          continue;
        }
        mine.push_back(absl::ToDoubleMilliseconds(t1 - t0));
        ok += *r;
        not_ok += batch - *r;
      }
      absl::MutexLock lock(&mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  absl::SleepFor(start - absl::Now());
  const double server_cpu0 = ProcessTreeCpuSeconds(side.server_pid());
  const double bench_cpu0 = SelfCpuSeconds();
  const absl::StatusOr<Side::LogSize> log0 = side.LogBytes();
  for (auto& t : threads) t.join();
  const absl::StatusOr<Side::LogSize> log1 = side.LogBytes();
  const double server_cpu = ProcessTreeCpuSeconds(side.server_pid()) - server_cpu0;
  const double bench_cpu = SelfCpuSeconds() - bench_cpu0;
  // Calls that started inside the window may end after it: divide by the real span.
  const double secs =
      std::max(absl::ToDoubleSeconds(measured), absl::ToDoubleSeconds(absl::Now() - start));
  Measurement m;
  m.transfers_per_s = static_cast<double>(ok.load()) / secs;
  m.calls_per_s = static_cast<double>(calls.load()) / secs;
  m.p50_ms = Percentile(latencies, 0.5);
  m.p99_ms = Percentile(latencies, 0.99);
  m.ok = ok;
  m.not_ok = not_ok;
  m.failed_calls = failed;
  m.first_error = first_error;
  m.server_cpu = server_cpu / secs;
  m.bench_cpu = bench_cpu / secs;
  if (log0.ok() && log1.ok() && log0->rewrites == log1->rewrites && ok.load() > 0) {
    const double bytes = static_cast<double>(log1->bytes - log0->bytes);
    m.log_mb_per_s = bytes / secs / 1e6;
    m.log_bytes_per_transfer = bytes / static_cast<double>(ok.load());
  }
  *ok_total += ok_all;
  return m;
}

// --- fsync floors -------------------------------------------------------------------------

// Appends of `size` bytes to one file, each followed by fdatasync, for one second; the
// number of appends.
double FdatasyncPerSecond(const std::string& dir, size_t size) {
  const std::string path = dir + "/fsync-probe";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  std::string block(size, 'x');
  int64_t n = 0;
  const absl::Time end = absl::Now() + absl::Seconds(1);
  while (absl::Now() < end) {
    if (write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) ||
        fdatasync(fd) != 0) {
      break;
    }
    ++n;
  }
  close(fd);
  unlink(path.c_str());
  return static_cast<double>(n);
}

double RedisIncrPerSecond(const test::RedisServer& server) {
  redis::Options ro;
  ro.port = server.port();
  ro.pool_size = 1;
  redis::Client client(ro);
  int64_t n = 0;
  const absl::Time end = absl::Now() + absl::Seconds(1);
  while (absl::Now() < end) {
    if (!client.Command({"INCR", "bench:baseline"}).ok()) return 0;
    ++n;
  }
  return static_cast<double>(n);
}

double PgCommitsPerSecond(PgLedger& pg) {
  int64_t n = 0;
  const absl::Time end = absl::Now() + absl::Seconds(1);
  while (absl::Now() < end) {
    if (!pg.CommitOneRow().ok()) return 0;
    ++n;
  }
  return static_cast<double>(n);
}

std::string Thousands(double v) {
  std::string digits = absl::StrCat(static_cast<int64_t>(v + 0.5));
  std::string out;
  const int n = static_cast<int>(digits.size());
  for (int i = 0; i < n; ++i) {
    out.push_back(digits[i]);
    if ((n - 1 - i) % 3 == 0 && i != n - 1) out.push_back(',');
  }
  return out;
}

void PrintRow(const std::string& side, int batch, int callers, const Measurement& m) {
  std::printf("%-12s %6d %7d %12s %9.0f %9.2f %9.2f %10.2f %9.2f", side.c_str(), batch, callers,
              Thousands(m.transfers_per_s).c_str(), m.calls_per_s, m.p50_ms, m.p99_ms, m.server_cpu,
              m.bench_cpu);
  // CPU per 1000 transfers, server and bench together: what a transfer costs, whatever
  // share of the machine the run got.
  std::printf(" %9.1f",
              m.transfers_per_s > 0 ? (m.server_cpu + m.bench_cpu) / m.transfers_per_s * 1e6 : 0.0);
  if (m.log_bytes_per_transfer >= 0) {
    std::printf(" %9.0f %8.1f", m.log_bytes_per_transfer, m.log_mb_per_s);
  } else {
    std::printf(" %18s", "(log rewritten)");
  }
  if (m.not_ok > 0) std::printf("  (%lld transfers not OK)", static_cast<long long>(m.not_ok));
  if (m.failed_calls > 0) {
    std::printf("  (%lld failed calls: %s)", static_cast<long long>(m.failed_calls),
                m.first_error.c_str());
  }
  std::printf("\n");
  std::fflush(stdout);
}

int Run() {
  const bool baseline_only = absl::GetFlag(FLAGS_baseline);
  const absl::Duration measured = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  const absl::Duration warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup_seconds));
  const std::vector<int> batch_sizes = ParseList(absl::GetFlag(FLAGS_batch_sizes));
  const std::vector<int> concurrency = ParseList(absl::GetFlag(FLAGS_concurrency));
  const int n_accounts = absl::GetFlag(FLAGS_accounts);
  if (batch_sizes.empty() || concurrency.empty() || n_accounts < 2 ||
      *std::max_element(batch_sizes.begin(), batch_sizes.end()) > 1000) {
    std::fprintf(stderr,
                 "--batch_sizes (1..1000) and --concurrency need positive values, --accounts "
                 "at least 2\n");
    return 2;
  }
  const int max_clients = *std::max_element(concurrency.begin(), concurrency.end());

  // PostgreSQL.
  PgServer::Options po;
  po.bin_dir = absl::GetFlag(FLAGS_pg_bin_dir);
  po.os_user = absl::GetFlag(FLAGS_pg_os_user);
  PgServer pg(po);
  const absl::Time pg_t0 = absl::Now();
  if (absl::Status s = pg.Start(); !s.ok()) {
    std::fprintf(stderr, "postgres: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  PgSide pg_side(&pg);
  if (absl::Status s = pg_side.Prepare(n_accounts, max_clients); !s.ok()) {
    std::fprintf(stderr, "PostgreSQL set-up: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  {
    PgLedger& c = pg_side.client(0);
    std::printf(
        "PostgreSQL %s on 127.0.0.1:%d, %s, data in %s (initdb + start + %d accounts: "
        "%.1f s)\n",
        c.Version().value_or("?").c_str(), pg.port(), pg.run_as().c_str(), pg.data_dir().c_str(),
        n_accounts, absl::ToDoubleSeconds(absl::Now() - pg_t0));
    std::printf(
        "  fsync=%s synchronous_commit=%s full_page_writes=%s wal_sync_method=%s "
        "shared_buffers=%s\n",
        c.Show("fsync").value_or("?").c_str(), c.Show("synchronous_commit").value_or("?").c_str(),
        c.Show("full_page_writes").value_or("?").c_str(),
        c.Show("wal_sync_method").value_or("?").c_str(),
        c.Show("shared_buffers").value_or("?").c_str());
  }

  // redis-server for the service (and the INCR floor).
  test::RedisServer::Options so;
  so.aof = true;
  so.appendfsync = "always";
  test::RedisServer redis(so);
  if (absl::Status s = redis.Start(); !s.ok()) {
    std::fprintf(stderr, "redis-server: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  RegisterCleanup(redis.pid(), redis.dir());
  std::printf("redis-server %s, appendonly yes, appendfsync always, AOF in %s\n",
              redis.address().c_str(), redis.dir().c_str());

  std::printf("\nfsync floors, one caller, 1 s each:\n");
  std::printf("  4 KiB appends, each fdatasynced (in %s): %s/s\n", redis.dir().c_str(),
              Thousands(FdatasyncPerSecond(redis.dir(), 4096)).c_str());
  std::printf("  1 MiB appends, each fdatasynced: %.1f MB/s\n",
              FdatasyncPerSecond(redis.dir(), 1 << 20) * (1 << 20) / 1e6);
  std::printf("  redis-server INCR, appendfsync always: %s/s\n",
              Thousands(RedisIncrPerSecond(redis)).c_str());
  std::printf("  PostgreSQL one-row UPDATE, one commit each: %s/s\n",
              Thousands(PgCommitsPerSecond(pg_side.client(0))).c_str());

  std::unique_ptr<Side> funds_side;
  if (!baseline_only) {
    auto side = MakeFundsSide(redis);
    if (!side.ok()) {
      std::fprintf(stderr, "funds service: %s\n", std::string(side.status().message()).c_str());
      return 1;
    }
    funds_side = std::move(*side);
    const absl::Time t0 = absl::Now();
    if (absl::Status s = funds_side->Prepare(n_accounts, max_clients); !s.ok()) {
      std::fprintf(stderr, "funds set-up: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    std::printf("funds service in-process: %d funds created and capitalised in %.1f s\n",
                n_accounts, absl::ToDoubleSeconds(absl::Now() - t0));
  }

  std::printf("\n%d accounts, uniform random pairs, %.1f s measured after %.1f s warm-up\n",
              n_accounts, absl::ToDoubleSeconds(measured), absl::ToDoubleSeconds(warmup));
  std::printf(
      "server CPU: the database server's CPU seconds per second (redis-server; postgres "
      "and its backends); bench CPU: this process's (clients, and the iplus service);\n"
      "CPU ms/1k: both together, CPU milliseconds per 1000 transfers;\n"
      "log: bytes of the durable log (append-only file; write-ahead log) per OK transfer, and "
      "MB of it per second\n");
  std::printf("%-12s %6s %7s %12s %9s %9s %9s %10s %9s %9s %9s %8s\n", "side", "batch", "clients",
              "transfers/s", "calls/s", "p50 ms", "p99 ms", "server CPU", "bench CPU", "CPU ms/1k",
              "log B/t", "log MB/s");
  struct Key {
    int batch, callers;
    bool operator<(const Key& o) const {
      return batch != o.batch ? batch < o.batch : callers < o.callers;
    }
  };
  std::map<Key, Measurement> funds_results, pg_results;
  int64_t funds_ok = 0, pg_ok = 0;
  bool failures = false;
  int run = 0;
  for (int batch : batch_sizes) {
    for (int callers : concurrency) {
      ++run;
      if (funds_side) {
        Measurement m =
            Measure(*funds_side, run, batch, callers, n_accounts, warmup, measured, &funds_ok);
        PrintRow(funds_side->name(), batch, callers, m);
        failures |= m.failed_calls > 0 || m.not_ok > 0;
        funds_results[{batch, callers}] = m;
      }
      Measurement m = Measure(pg_side, run, batch, callers, n_accounts, warmup, measured, &pg_ok);
      PrintRow(pg_side.name(), batch, callers, m);
      failures |= m.failed_calls > 0 || m.not_ok > 0;
      pg_results[{batch, callers}] = m;
    }
  }

  if (funds_side) {
    std::printf("\n%6s %7s %16s %16s %8s\n", "batch", "clients", "iplus t/s", "PostgreSQL t/s",
                "ratio");
    for (const auto& [key, f] : funds_results) {
      const Measurement& p = pg_results[key];
      std::printf("%6d %7d %16s %16s %8.2f\n", key.batch, key.callers,
                  Thousands(f.transfers_per_s).c_str(), Thousands(p.transfers_per_s).c_str(),
                  p.transfers_per_s > 0 ? f.transfers_per_s / p.transfers_per_s : 0.0);
    }
    std::printf("\nbest of each side per batch size:\n");
    for (int batch : batch_sizes) {
      Key best_f{batch, 0}, best_p{batch, 0};
      double f_rate = 0, p_rate = 0;
      for (int callers : concurrency) {
        if (funds_results[{batch, callers}].transfers_per_s > f_rate) {
          f_rate = funds_results[{batch, callers}].transfers_per_s;
          best_f.callers = callers;
        }
        if (pg_results[{batch, callers}].transfers_per_s > p_rate) {
          p_rate = pg_results[{batch, callers}].transfers_per_s;
          best_p.callers = callers;
        }
      }
      std::printf("  batch %d: iplus %s (%d clients), PostgreSQL %s (%d clients), ratio %.2f\n",
                  batch, Thousands(f_rate).c_str(), best_f.callers, Thousands(p_rate).c_str(),
                  best_p.callers, p_rate > 0 ? f_rate / p_rate : 0.0);
    }
    std::printf("\n");
    for (const auto& [key, f] : funds_results) {
      if (key.batch != 1000) continue;
      std::printf("transfers/s, batches of 1000, %d clients: %s (target >= 100,000) %s\n",
                  key.callers, Thousands(f.transfers_per_s).c_str(),
                  f.transfers_per_s >= 100000 ? "MET" : "NOT MET");
    }
    for (const auto& [key, f] : funds_results) {
      const Measurement& p = pg_results[key];
      const double ratio = p.transfers_per_s > 0 ? f.transfers_per_s / p.transfers_per_s : 0.0;
      std::printf("iplus / PostgreSQL, batch %d, %d clients: %.2f (target >= 10) %s\n", key.batch,
                  key.callers, ratio, ratio >= 10 ? "MET" : "NOT MET");
    }
  }

  if (absl::GetFlag(FLAGS_verify)) {
    std::printf("\n");
    auto pg_check = pg_side.Check(pg_ok);
    std::printf("PostgreSQL check: %s\n", pg_check.ok()
                                              ? pg_check->c_str()
                                              : std::string(pg_check.status().message()).c_str());
    failures |= !pg_check.ok();
    if (funds_side) {
      const absl::Time t0 = absl::Now();
      auto check = funds_side->Check(funds_ok);
      std::printf("iplus check: %s (%.1f s)\n",
                  check.ok() ? check->c_str() : std::string(check.status().message()).c_str(),
                  absl::ToDoubleSeconds(absl::Now() - t0));
      failures |= !check.ok();
    }
  }
  funds_side.reset();
  UnregisterCleanup(redis.pid());
  return failures ? 1 : 0;
}

}  // namespace
}  // namespace iplus::funds::bench

int main(int argc, char** argv) {
  iplus::funds::bench::InstallSignalCleanup();
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  absl::SetProgramUsageMessage(
      "funds transfers/s through gRPC next to the same workload on PostgreSQL 15");
  absl::ParseCommandLine(argc, argv);
  return iplus::funds::bench::Run();
}
