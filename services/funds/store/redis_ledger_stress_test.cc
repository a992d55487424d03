// The Redis ledger under load: many threads and several ledger instances (as several
// service processes would be) moving money between a few hot accounts, with pending
// transfers that time out meanwhile, and kill -9 of redis-server in the middle of such
// load.

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/funds/store/redis_ledger.h"

namespace iplus::funds {
namespace {

using ::iplus::test::IsOk;
using R = CreateTransferResult;

Account Acct(std::string id, bool dmnec) {
  Account a;
  a.id = std::move(id);
  a.kind = AccountKind::kFund;
  a.flags.debits_must_not_exceed_credits = dmnec;
  return a;
}

Transfer Move(std::string id, std::string dr, std::string cr, int64_t amount) {
  Transfer t;
  t.id = std::move(id);
  t.debit_account_id = std::move(dr);
  t.credit_account_id = std::move(cr);
  t.amount = amount;
  t.ledger = kLedgerCny;
  t.type = static_cast<int32_t>(IatiType::kDisbursement);
  return t;
}

// Checks the invariants over every account: flagged balances not negative (pending
// debits included), debits equal credits.
void ExpectInvariants(LedgerStore& ledger, const std::vector<std::string>& ids) {
  auto accounts = ledger.LookupAccounts(ids);
  ASSERT_THAT(accounts, IsOk());
  __int128 dp = 0, dP = 0, cp = 0, cP = 0;
  for (const auto& a : *accounts) {
    ASSERT_TRUE(a.has_value());
    if (a->flags.debits_must_not_exceed_credits) {
      EXPECT_LE(a->debits_pending + a->debits_posted, a->credits_posted) << a->id;
    }
    dp += a->debits_pending;
    dP += a->debits_posted;
    cp += a->credits_pending;
    cP += a->credits_posted;
  }
  EXPECT_TRUE(dp == cp);
  EXPECT_TRUE(dP == cP);
}

TEST(RedisLedgerStressTest, HotAccountsUnderConcurrency) {
  test::RedisServer server;
  ASSERT_THAT(server.Start(), IsOk());
  constexpr int kInstances = 3;
  constexpr int kThreads = 12;
  constexpr int kBatches = 150;
  RealClock clock;
  std::vector<std::unique_ptr<redis::Client>> clients;
  std::vector<std::unique_ptr<RedisLedger>> ledgers;
  for (int i = 0; i < kInstances; ++i) {
    redis::Options o;
    o.port = server.port();
    o.command_timeout = absl::Seconds(10);
    clients.push_back(std::make_unique<redis::Client>(o));
    // Instances that expire at most two pending transfers per write, and that split
    // writes into stream entries of three journal entries.
    RedisLedgerOptions lo;
    if (i == 1) lo.max_expiries_per_call = 2;
    if (i == 2) lo.max_entries_per_stream_entry = 3;
    ledgers.push_back(std::make_unique<RedisLedger>(clients.back().get(), &clock, lo));
  }
  const std::vector<std::string> hot = {"h0", "h1", "h2", "h3"};
  std::vector<std::string> all = {"src"};
  std::vector<Account> accounts = {Acct("src", false)};
  for (const auto& id : hot) {
    accounts.push_back(Acct(id, true));
    all.push_back(id);
  }
  ASSERT_THAT(ledgers[0]->CreateAccounts(accounts), IsOk());
  std::vector<Transfer> funding;
  for (const auto& id : hot) funding.push_back(Move("fund-" + id, "src", id, 1000));
  ASSERT_THAT(ledgers[0]->CreateTransfers(funding), IsOk());

  std::atomic<int64_t> ok{0}, exceeded{0}, failed_calls{0};
  absl::Mutex mu;
  std::vector<int64_t> sequences;  // of every OK result
  std::map<std::string, int> ok_ids;
  // Shared with the other threads as they are sent, so that threads race to post or
  // void the same pending transfers and to resend the same transfers, often while the
  // first write of them is still in flight.
  std::vector<std::string> shared_pendings;
  std::vector<Transfer> recent;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      RedisLedger& ledger = *ledgers[t % kInstances];
      std::vector<std::string> my_pendings;
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Transfer> batch;
        const int n = 1 + static_cast<int>(rng() % 8);
        for (int i = 0; i < n; ++i) {
          const std::string id = absl::StrCat("w", t, "-", b, "-", i);
          const std::string& dr = hot[rng() % hot.size()];
          std::string cr = hot[rng() % hot.size()];
          if (cr == dr) cr = cr == "h0" ? "h1" : "h0";
          Transfer x = Move(id, dr, cr, 1 + static_cast<int64_t>(rng() % 400));
          switch (rng() % 5) {
            case 0:
              x.flags.pending = true;
              // Half of them time out within 1 to 20 ms, mostly before they are resolved.
              if (rng() % 2) x.timeout_ns = (1 + static_cast<int64_t>(rng() % 20)) * 1'000'000;
              my_pendings.push_back(id);
              break;
            case 1:
              if (!my_pendings.empty()) {
                x = Move(id, "", "", 0);
                x.pending_id = my_pendings.back();
                my_pendings.pop_back();
                if (rng() % 3 == 0) {
                  absl::MutexLock lock(&mu);
                  // One of the latest: its owner is likely posting or voiding it now.
                  const size_t n = shared_pendings.size();
                  if (n > 0) x.pending_id = shared_pendings[n - 1 - rng() % std::min<size_t>(n, 6)];
                }
                if (rng() % 2) {
                  x.flags.post_pending_transfer = true;
                } else {
                  x.flags.void_pending_transfer = true;
                }
              }
              break;
            case 2:
              x.flags.linked = i + 1 < n;
              break;
            case 3:
              if (rng() % 3 == 0) x = Move(id, "src", dr, 150);  // a top-up
              break;
            default:
              if (rng() % 2) {
                absl::MutexLock lock(&mu);
                if (!recent.empty()) x = recent[rng() % recent.size()];  // an exact resend
              }
              break;
          }
          batch.push_back(x);
        }
        {
          absl::MutexLock lock(&mu);
          for (const Transfer& x : batch) {
            if (x.flags.pending && x.id == absl::StrCat("w", t, "-", b, "-", &x - &batch[0])) {
              shared_pendings.push_back(x.id);
            }
            if (recent.size() < 64) {
              recent.push_back(x);
            } else {
              recent[rng() % recent.size()] = x;
            }
          }
        }
        auto r = ledger.CreateTransfers(batch);
        if (!r.ok()) {
          ++failed_calls;
          continue;
        }
        absl::MutexLock lock(&mu);
        for (const auto& one : *r) {
          if (one.result == R::kOk) {
            ++ok;
            sequences.push_back(one.transfer.journal_sequence);
            EXPECT_EQ(++ok_ids[one.transfer.id], 1) << "applied twice: " << one.transfer.id;
          }
          if (one.result == R::kExceedsCredits) ++exceeded;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed_calls.load(), 0);
  EXPECT_GT(ok.load(), 100);
  EXPECT_GT(exceeded.load(), 0) << "the load should have hit the balance limits";
  int64_t conflicts = 0;
  for (const auto& l : ledgers) conflicts += l->conflicts();
  std::cout << "ok=" << ok << " exceeded=" << exceeded << " conflicts=" << conflicts << "\n";

  ExpectInvariants(*ledgers[1], all);
  // Every OK result has its own journal entry, and the others are the four fundings and
  // the ledger's expiries.
  std::sort(sequences.begin(), sequences.end());
  EXPECT_EQ(std::adjacent_find(sequences.begin(), sequences.end()), sequences.end());
  auto head = ledgers[2]->Head();
  ASSERT_THAT(head, IsOk());
  std::vector<JournalEntry> journal;
  for (int64_t after = 0; after < head->sequence;) {
    auto page = ledgers[0]->ReadJournal(after, 1000);
    ASSERT_THAT(page, IsOk());
    ASSERT_FALSE(page->empty());
    journal.insert(journal.end(), page->begin(), page->end());
    after = page->back().sequence;
  }
  ASSERT_EQ(static_cast<int64_t>(journal.size()), head->sequence);
  int64_t expiries = 0;
  for (const JournalEntry& e : journal) expiries += e.transfer.id.rfind("~expire:", 0) == 0;
  std::cout << "expiries=" << expiries << "\n";
  EXPECT_GT(expiries, 0) << "pending transfers should have timed out during the load";
  EXPECT_EQ(head->sequence, static_cast<int64_t>(sequences.size()) + 4 + expiries);
  auto v = ledgers[1]->Verify();
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->ok) << v->discrepancy;
  EXPECT_EQ(v->entries_checked, head->sequence);
  // Each account's history is exactly its journal entries, in order.
  for (const std::string& id : all) {
    std::vector<int64_t> want, got;
    for (const JournalEntry& e : journal) {
      if (e.transfer.debit_account_id == id || e.transfer.credit_account_id == id) {
        want.push_back(e.sequence);
      }
    }
    AccountTransfersQuery q;
    q.account_id = id;
    q.page_size = 1000;
    for (;;) {
      auto page = ledgers[2]->ListAccountTransfers(q);
      ASSERT_THAT(page, IsOk());
      for (const Transfer& t : page->transfers) got.push_back(t.journal_sequence);
      if (page->next_start_ns == 0) break;
      q.start_ns = page->next_start_ns;
    }
    EXPECT_EQ(got, want) << id;
  }
}

// Callers of one instance race to resolve the same pending transfers and to create the
// same transfers. Their requests make groups of thousands of transfers, so the next
// group is usually read and computed while the previous write is still in flight, on top
// of that write's effects: each pending transfer must still be resolved once, and each
// id applied once.
TEST(RedisLedgerStressTest, RacingCallersResolveAndCreateEachTransferOnce) {
  test::RedisServer server;
  ASSERT_THAT(server.Start(), IsOk());
  redis::Options o;
  o.port = server.port();
  o.command_timeout = absl::Seconds(20);
  redis::Client client(o);
  RealClock clock;
  RedisLedger ledger(&client, &clock);
  ASSERT_THAT(ledger.CreateAccounts({Acct("src", false), Acct("a", false), Acct("b", false)}),
              IsOk());
  constexpr int kThreads = 8;
  constexpr int kPendings = 300;
  int64_t resolutions = 0, applied = 0;
  for (int round = 0; round < 8; ++round) {
    std::vector<Transfer> pendings;
    for (int k = 0; k < kPendings; ++k) {
      Transfer p = Move(absl::StrCat("p", round, "-", k), "src", "a", 10);
      p.flags.pending = true;
      pendings.push_back(p);
    }
    auto created = ledger.CreateTransfers(pendings);
    ASSERT_THAT(created, IsOk());
    for (const auto& r : *created) ASSERT_EQ(r.result, R::kOk);
    std::map<std::string, int> resolved, ok;
    absl::Mutex mu;
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::vector<Transfer> batch;
        for (int k = 0; k < kPendings; ++k) {
          Transfer x = Move(absl::StrCat("r", round, "-", t, "-", k), "", "", 0);
          x.pending_id = pendings[k].id;
          if ((t + k) % 2) {
            x.flags.post_pending_transfer = true;
          } else {
            x.flags.void_pending_transfer = true;
          }
          batch.push_back(x);
          batch.push_back(Move(absl::StrCat("n", round, "-", k), "a", "b", 1));
        }
        ++ready;
        while (ready.load() < kThreads) std::this_thread::yield();
        auto r = ledger.CreateTransfers(batch);
        ASSERT_THAT(r, IsOk());
        absl::MutexLock lock(&mu);
        for (size_t i = 0; i < r->size(); ++i) {
          const TransferResult& one = (*r)[i];
          if (i % 2 == 0 && one.result == R::kOk) {
            ++resolved[batch[i].pending_id];
          } else if (i % 2 == 0) {
            EXPECT_TRUE(one.result == R::kPendingTransferAlreadyPosted ||
                        one.result == R::kPendingTransferAlreadyVoided)
                << ResultName(one.result);
          } else if (one.result == R::kOk) {
            ++ok[batch[i].id];
          } else {
            EXPECT_EQ(one.result, R::kExists);
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    for (const Transfer& p : pendings) EXPECT_EQ(resolved[p.id], 1) << p.id;
    for (int k = 0; k < kPendings; ++k) EXPECT_EQ(ok[absl::StrCat("n", round, "-", k)], 1);
    resolutions += static_cast<int64_t>(resolved.size());
    applied += static_cast<int64_t>(ok.size());
  }
  EXPECT_EQ(resolutions, 8 * kPendings);
  EXPECT_EQ(applied, 8 * kPendings);
  ExpectInvariants(ledger, {"src", "a", "b"});
  auto v = ledger.Verify();
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->ok) << v->discrepancy;
  EXPECT_EQ(v->entries_checked, 3 * 8 * kPendings);
}

TEST(RedisLedgerStressTest, KillNineDuringLoadLosesNoAcknowledgedTransfer) {
  test::RedisServer::Options so;
  so.aof = true;
  so.appendfsync = "always";
  test::RedisServer server(so);
  ASSERT_THAT(server.Start(), IsOk());
  redis::Options o;
  o.port = server.port();
  o.connect_timeout = absl::Milliseconds(200);
  o.command_timeout = absl::Seconds(2);
  o.reconnect_backoff_max = absl::Milliseconds(200);
  redis::Client client(o);
  RealClock clock;
  RedisLedger ledger(&client, &clock);
  ASSERT_THAT(CheckDurability(&client, false), IsOk());
  ASSERT_THAT(ledger.CreateAccounts({Acct("src", false), Acct("sink0", true), Acct("sink1", true),
                                     Acct("sink2", true)}),
              IsOk());

  constexpr int kThreads = 6;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> retries{0}, exists_after_retry{0};
  absl::Mutex mu;
  std::map<std::string, int64_t> acknowledged;  // id -> journal sequence
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; !stop.load(); ++b) {
        std::vector<Transfer> batch;
        const int n = 1 + (b % 50);
        for (int i = 0; i < n; ++i) {
          // Linked pairs: money into a sink and on to the next one, all or nothing.
          const std::string sink = absl::StrCat("sink", (t + i) % 3);
          const std::string next = absl::StrCat("sink", (t + i + 1) % 3);
          Transfer in = Move(absl::StrCat("k", t, "-", b, "-", i, "a"), "src", sink, 7);
          in.flags.linked = true;
          batch.push_back(in);
          batch.push_back(Move(absl::StrCat("k", t, "-", b, "-", i, "b"), sink, next, 7));
        }
        // Resend the same batch until it is acknowledged: ids make it safe.
        for (int attempt = 0;; ++attempt) {
          auto r = ledger.CreateTransfers(batch);
          if (r.ok()) {
            absl::MutexLock lock(&mu);
            for (const auto& one : *r) {
              ASSERT_TRUE(one.succeeded()) << one.status;
              if (attempt > 0 && one.result == R::kExists) ++exists_after_retry;
              auto [it, inserted] =
                  acknowledged.emplace(one.transfer.id, one.transfer.journal_sequence);
              ASSERT_TRUE(inserted) << "acknowledged twice: " << one.transfer.id;
            }
            break;
          }
          ++retries;
          absl::SleepFor(absl::Milliseconds(20));
        }
      }
    });
  }
  for (int kill = 0; kill < 3; ++kill) {
    absl::SleepFor(absl::Milliseconds(700));
    server.Kill();
    absl::SleepFor(absl::Milliseconds(150));
    ASSERT_THAT(server.Start(), IsOk());
  }
  absl::SleepFor(absl::Milliseconds(500));
  stop = true;
  for (auto& th : threads) th.join();
  std::cout << "acknowledged=" << acknowledged.size() << " retries=" << retries
            << " exists_after_retry=" << exists_after_retry << "\n";
  EXPECT_GT(retries.load(), 0) << "the kills should have interrupted some calls";
  ASSERT_GT(acknowledged.size(), 100u);

  // Every acknowledged transfer is in the journal exactly once, at its sequence.
  std::map<std::string, int> seen;
  int64_t entries = 0;
  for (int64_t after = 0;;) {
    auto page = ledger.ReadJournal(after, 1000);
    ASSERT_THAT(page, IsOk());
    if (page->empty()) break;
    for (const JournalEntry& e : *page) {
      ++seen[e.transfer.id];
      ++entries;
      auto it = acknowledged.find(e.transfer.id);
      if (it != acknowledged.end()) {
        EXPECT_EQ(it->second, e.sequence) << e.transfer.id;
      }
    }
    after = page->back().sequence;
  }
  for (const auto& [id, seq] : acknowledged) EXPECT_EQ(seen[id], 1) << id;
  // Nothing but acknowledged transfers (every batch was retried until acknowledged).
  EXPECT_EQ(entries, static_cast<int64_t>(acknowledged.size()));
  ExpectInvariants(ledger, {"src", "sink0", "sink1", "sink2"});
  auto v = ledger.Verify();
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->ok) << v->discrepancy;
}

}  // namespace
}  // namespace iplus::funds
