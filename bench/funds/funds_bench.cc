// funds_bench: the funds ledger's store-level write rate. It starts a private
// redis-server with appendonly yes and appendfsync always (as the service requires),
// creates accounts, and then for every batch size and caller count runs CreateTransfers
// calls of fresh single-phase transfers for --seconds, printing transfers/s, calls/s,
// call latency and how many transfers each write (script call) carried. A baseline
// measures the floor set by the disk: one INCR per call, each fsynced before the reply.
// Then (unless --reads=false) it times reads of what was written: LookupTransfers of ids
// spread over the journal and ListAccountTransfers pages. It ends with a Verify of the
// whole journal and its rate.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/testing/redis_server.h"
#include "services/funds/store/redis_ledger.h"

ABSL_FLAG(double, seconds, 3, "measured seconds per configuration");
ABSL_FLAG(std::string, batch_sizes, "1,100,1000", "transfers per CreateTransfers call");
ABSL_FLAG(std::string, concurrency, "1,8", "concurrent callers sharing one RedisLedger");
ABSL_FLAG(int, accounts, 1000, "credit accounts the transfers spread over");
ABSL_FLAG(std::string, appendfsync, "always",
          "redis-server appendfsync (always for the real thing)");
ABSL_FLAG(int, entries_per_stream_entry,
          iplus::funds::RedisLedgerOptions().max_entries_per_stream_entry,
          "journal entries per stream entry (RedisLedgerOptions::max_entries_per_stream_entry)");
ABSL_FLAG(bool, reads, true,
          "then measure reads of what was written: LookupTransfers of ids spread over the "
          "journal, ListAccountTransfers pages of one credit account and of the source");
ABSL_FLAG(bool, commandstats, false,
          "print Redis's per-command time (INFO commandstats) at the end");

namespace iplus::funds {
namespace {

std::vector<int> ParseList(const std::string& s) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipEmpty())) {
    int v = 0;
    if (absl::SimpleAtoi(part, &v) && v > 0) out.push_back(v);
  }
  return out;
}

// Calls of one command so far (INFO commandstats counts the commands scripts run too).
int64_t CommandCalls(redis::Client& client, absl::string_view command) {
  auto info = client.Command({"INFO", "commandstats"});
  if (!info.ok()) return 0;
  const std::string& text = info->str();
  const std::string field = absl::StrCat("cmdstat_", command, ":calls=");
  const size_t at = text.find(field);
  if (at == std::string::npos) return 0;
  int64_t calls = 0;
  const size_t start = at + field.size();
  absl::SimpleAtoi(text.substr(start, text.find(',', start) - start), &calls);
  return calls;
}

// Writes of the ledger so far: each write script ends with one SET of the journal head,
// and nothing else in the bench runs SET.
int64_t LedgerWrites(redis::Client& client) { return CommandCalls(client, "set"); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// Reads of what the runs wrote: lookups of 1000 ids taken at random journal positions
// (so most sit in different stream entries), and full pages of 1000 of one credit
// account's history (its transfers are far apart in the journal) and of the source's
// (adjacent), each from a time in the middle of the history (a binary search).
int MeasureReads(RedisLedger& ledger, int n_accounts, absl::Duration measured) {
  auto head = ledger.Head();
  if (!head.ok() || head->sequence < 2) return 0;
  std::mt19937_64 rng(7);
  std::vector<std::string> ids;
  for (int i = 0; i < kMaxBatch; ++i) {
    auto e = ledger.ReadJournal(static_cast<int64_t>(rng() % head->sequence), 1);
    if (!e.ok() || e->empty()) return 1;
    ids.push_back(e->front().transfer.id);
  }
  std::printf("\n%-44s %9s %12s\n", "read", "ms/call", "items/s");
  auto time = [&](const char* what, const std::function<absl::StatusOr<int64_t>()>& call) {
    int64_t calls = 0, items = 0;
    const absl::Time start = absl::Now();
    const absl::Time end = start + measured / 3;
    while (absl::Now() < end) {
      auto n = call();
      if (!n.ok()) {
        std::printf("%s: %s\n", what, std::string(n.status().message()).c_str());
        return false;
      }
      ++calls;
      items += *n;
    }
    const double secs = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf("%-44s %9.2f %12.0f\n", what, 1000 * secs / static_cast<double>(calls),
                static_cast<double>(items) / secs);
    std::fflush(stdout);
    return true;
  };
  auto lookup = [&]() -> absl::StatusOr<int64_t> {
    auto r = ledger.LookupTransfers(ids);
    if (!r.ok()) return r.status();
    int64_t found = 0;
    for (const auto& t : *r) found += t.has_value();
    if (found != static_cast<int64_t>(ids.size())) return absl::InternalError("ids not found");
    return found;
  };
  auto page = [&](const std::string& account) -> absl::StatusOr<int64_t> {
    auto first = ledger.ListAccountTransfers({.account_id = account, .page_size = 1});
    if (!first.ok()) return first.status();
    if (first->transfers.empty()) return 0;
    AccountTransfersQuery q;
    q.account_id = account;
    q.start_ns = (first->transfers[0].timestamp_ns + head->timestamp_ns) / 2;
    q.page_size = kMaxPageSize;
    auto p = ledger.ListAccountTransfers(q);
    if (!p.ok()) return p.status();
    return static_cast<int64_t>(p->transfers.size());
  };
  const std::string credit = absl::StrCat("acct-", n_accounts / 2);
  if (!time("LookupTransfers, 1000 ids across the journal", lookup) ||
      !time(absl::StrCat("ListAccountTransfers, ", credit, ", pages of 1000").c_str(),
            [&] { return page(credit); }) ||
      !time("ListAccountTransfers, src, pages of 1000", [&] { return page("src"); })) {
    return 1;
  }
  return 0;
}

int Run() {
  const absl::Duration measured = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  test::RedisServer::Options so;
  so.aof = true;
  so.appendfsync = absl::GetFlag(FLAGS_appendfsync);
  test::RedisServer server(so);
  if (auto s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "redis-server: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  const std::vector<int> batch_sizes = ParseList(absl::GetFlag(FLAGS_batch_sizes));
  const std::vector<int> concurrency = ParseList(absl::GetFlag(FLAGS_concurrency));
  redis::Options ro;
  ro.port = server.port();
  ro.pool_size = 4 + *std::max_element(concurrency.begin(), concurrency.end());
  ro.command_timeout = absl::Seconds(30);
  redis::Client client(ro);
  RealClock clock;
  RedisLedgerOptions lo;
  lo.max_entries_per_stream_entry = absl::GetFlag(FLAGS_entries_per_stream_entry);
  RedisLedger ledger(&client, &clock, lo);
  if (so.appendfsync == "always") {
    if (auto s = CheckDurability(&client, false); !s.ok()) {
      std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  std::printf("redis-server %s, appendonly yes, appendfsync %s, AOF in %s\n",
              server.address().c_str(), so.appendfsync.c_str(), server.dir().c_str());

  // Baseline: one fsynced write per call, one caller.
  {
    int64_t n = 0;
    const absl::Time end = absl::Now() + absl::Seconds(1);
    while (absl::Now() < end) {
      if (!client.Command({"INCR", "bench:baseline"}).ok()) return 1;
      ++n;
    }
    std::printf("baseline: INCR, 1 caller: %lld fsynced writes/s\n\n", static_cast<long long>(n));
  }

  const int n_accounts = absl::GetFlag(FLAGS_accounts);
  std::vector<Account> accounts;
  Account src;
  src.id = "src";
  src.kind = AccountKind::kFundSource;
  accounts.push_back(src);
  for (int i = 0; i < n_accounts; ++i) {
    Account a;
    a.id = absl::StrCat("acct-", i);
    a.kind = AccountKind::kFund;
    a.flags.debits_must_not_exceed_credits = true;
    accounts.push_back(a);
    if (accounts.size() == static_cast<size_t>(kMaxBatch) || i + 1 == n_accounts) {
      if (auto r = ledger.CreateAccounts(accounts); !r.ok()) return 1;
      accounts.clear();
    }
  }

  std::printf("%6s %7s %12s %9s %9s %9s %14s\n", "batch", "callers", "transfers/s", "calls/s",
              "p50 ms", "p99 ms", "transfers/write");
  int64_t run = 0;
  for (int batch : batch_sizes) {
    for (int callers : concurrency) {
      ++run;
      std::atomic<int64_t> transfers{0}, calls{0}, failures{0};
      absl::Mutex mu;
      std::vector<double> latencies;
      const int64_t writes_before = LedgerWrites(client);
      const absl::Time start = absl::Now();
      const absl::Time end = start + measured;
      std::vector<std::thread> threads;
      for (int c = 0; c < callers; ++c) {
        threads.emplace_back([&, c] {
          std::mt19937 rng(static_cast<uint32_t>(run * 1000 + c));
          std::vector<double> mine;
          for (int64_t k = 0; absl::Now() < end; ++k) {
            std::vector<Transfer> request;
            request.reserve(batch);
            for (int i = 0; i < batch; ++i) {
              Transfer t;
              t.id = absl::StrCat("r", run, "c", c, "k", k, "i", i);
              t.debit_account_id = "src";
              t.credit_account_id = absl::StrCat("acct-", rng() % n_accounts);
              t.amount = 1 + rng() % 1000;
              t.ledger = kLedgerCny;
              t.type = static_cast<int32_t>(IatiType::kIncomingFunds);
              request.push_back(std::move(t));
            }
            const absl::Time t0 = absl::Now();
            auto r = ledger.CreateTransfers(request);
            mine.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
            ++calls;
            if (!r.ok()) {
              ++failures;
              continue;
            }
            for (const auto& one : *r) transfers += one.result == CreateTransferResult::kOk;
          }
          absl::MutexLock lock(&mu);
          latencies.insert(latencies.end(), mine.begin(), mine.end());
        });
      }
      for (auto& t : threads) t.join();
      const double secs = absl::ToDoubleSeconds(absl::Now() - start);
      const int64_t writes = std::max<int64_t>(1, LedgerWrites(client) - writes_before);
      const std::string note =
          failures > 0 ? absl::StrCat("  (", failures.load(), " failed calls)") : "";
      std::printf("%6d %7d %12.0f %9.0f %9.2f %9.2f %14.1f%s\n", batch, callers,
                  static_cast<double>(transfers) / secs, static_cast<double>(calls) / secs,
                  Percentile(latencies, 0.5), Percentile(latencies, 0.99),
                  static_cast<double>(transfers) / static_cast<double>(writes), note.c_str());
      std::fflush(stdout);
    }
  }

  if (absl::GetFlag(FLAGS_reads)) {
    if (int rc = MeasureReads(ledger, n_accounts, measured); rc != 0) return rc;
  }
  if (absl::GetFlag(FLAGS_commandstats)) {
    if (auto info = client.Command({"INFO", "commandstats"}); info.ok()) {
      std::printf("\n%s", info->str().c_str());
    }
  }
  const absl::Time v0 = absl::Now();
  auto report = ledger.Verify();
  const double vsecs = absl::ToDoubleSeconds(absl::Now() - v0);
  if (!report.ok() || !report->ok) {
    std::printf("\nverify FAILED: %s\n", report.ok()
                                             ? report->discrepancy.c_str()
                                             : std::string(report.status().message()).c_str());
    return 1;
  }
  std::printf("\nverify: %lld entries, %lld accounts in %.2f s (%.0f entries/s)\n",
              static_cast<long long>(report->entries_checked),
              static_cast<long long>(report->balances_checked), vsecs,
              static_cast<double>(report->entries_checked) / vsecs);
  if (auto memory = client.Command({"MEMORY", "STATS"}); memory.ok()) {
    // dataset.bytes: what the keys take, without Redis's own overhead.
    const auto& el = memory->elements();
    for (size_t i = 0; i + 1 < el.size(); i += 2) {
      if (el[i].str() == "dataset.bytes" && report->entries_checked > 0) {
        std::printf("memory: dataset %.1f MB, %.0f bytes per transfer\n",
                    static_cast<double>(el[i + 1].integer()) / 1e6,
                    static_cast<double>(el[i + 1].integer()) /
                        static_cast<double>(report->entries_checked));
      }
    }
  }
  return 0;
}

}  // namespace
}  // namespace iplus::funds

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("the funds ledger's store-level write rate");
  absl::ParseCommandLine(argc, argv);
  return iplus::funds::Run();
}
