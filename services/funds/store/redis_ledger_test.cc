// The Redis ledger against a real redis-server: the shared cases, equivalence with the
// reference ledger on random batches, verification of tampered data, durability checks
// and the key layout.

#include "services/funds/store/redis_ledger.h"

#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/funds/domain/codec.h"
#include "services/funds/domain/ledger.h"
#include "services/funds/domain/ledger_cases.h"

namespace iplus::funds {
namespace {

using ::iplus::test::IsOk;
using ::iplus::test::StatusIs;
using ::testing::HasSubstr;
using testing_cases::HarnessFactory;
using testing_cases::LedgerCasesTest;
using testing_cases::LedgerHarness;
using testing_cases::NewAccount;
using testing_cases::T;
using R = CreateTransferResult;

// One redis-server for the whole binary (started from the main thread, stopped at exit);
// every test starts from an empty database.
test::RedisServer& Server() {
  static test::RedisServer server;
  if (!server.running()) {
    absl::Status s = server.Start();
    if (!s.ok()) ADD_FAILURE() << s;
  }
  return server;
}

redis::Options ClientOptions() {
  redis::Options o;
  o.port = Server().port();
  o.command_timeout = absl::Seconds(10);
  return o;
}

class RedisHarness : public LedgerHarness {
 public:
  explicit RedisHarness(RedisLedgerOptions options = {})
      : client_(ClientOptions()), ledger_(&client_, &clock_, options) {
    auto r = client_.Command({"FLUSHALL"});
    if (!r.ok()) ADD_FAILURE() << r.status();
  }
  LedgerStore& ledger() override { return ledger_; }
  FakeClock& clock() override { return clock_; }
  RedisLedger& redis_ledger() { return ledger_; }
  redis::Client& client() { return client_; }

 private:
  FakeClock clock_;
  redis::Client client_;
  RedisLedger ledger_;
};

INSTANTIATE_TEST_SUITE_P(Redis, LedgerCasesTest, ::testing::Values(HarnessFactory([] {
                           return std::make_unique<RedisHarness>();
                         })));

// --- Equivalence with the reference ledger -------------------------------------------

class RandomBatches {
 public:
  explicit RandomBatches(uint64_t seed) : rng_(seed) {}

  std::vector<Transfer> Next() {
    std::vector<Transfer> batch;
    const int n = 1 + Pick(12);
    for (int i = 0; i < n; ++i) {
      Transfer t = One();
      t.flags.linked = Pick(100) < 25;
      batch.push_back(t);
      sent_.push_back(t);
    }
    if (Pick(100) < 80) batch.back().flags.linked = false;  // mostly closed chains
    return batch;
  }

  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }

  static const std::vector<std::string>& Accounts() {
    static const std::vector<std::string> kAccounts = {"s0", "s1", "d0", "d1", "d2", "c0", "l2"};
    return kAccounts;
  }

 private:
  std::string Account() {
    // l2 (ledger 2) rarely, so most transfers get past the ledger checks.
    return Accounts()[Pick(100) < 3 ? 6 : Pick(6)];
  }
  std::string OtherAccount(const std::string& not_this) {
    std::string a = Account();
    while (a == not_this) a = Account();
    return a;
  }
  int64_t Amount() {
    const int k = Pick(100);
    if (k < 2) return 0;
    if (k < 3) return -7;
    if (k < 4) return INT64_MAX - Pick(3);
    return 1 + Pick(300);
  }
  std::string NewId() { return absl::StrCat("t", ++next_id_); }

  Transfer One() {
    const int k = Pick(100);
    Transfer t;
    if (k < 35 || (k >= 50 && k < 80 && pendings_.empty())) {
      const int odd = Pick(100);
      std::string dr = Account();
      t = T(NewId(), dr, odd < 2 ? dr : OtherAccount(dr), Amount());
      if (odd >= 2 && odd < 4) t.credit_account_id = "nobody";
    } else if (k < 50) {
      std::string dr = Account();
      t = T(NewId(), dr, OtherAccount(dr), Amount());
      t.flags.pending = true;
      const int to = Pick(4);
      t.timeout_ns = to == 0 ? 0 : to * 1'000'000'000LL;
      pendings_.push_back(t.id);
    } else if (k < 65 || k < 80) {
      const bool post = k < 65;
      t.id = NewId();
      t.pending_id = Pick(100) < 5 ? "missing" : pendings_[Pick(pendings_.size())];
      t.amount = Pick(2) == 0 ? 0 : 1 + Pick(300);
      if (post) {
        t.flags.post_pending_transfer = true;
      } else {
        t.flags.void_pending_transfer = true;
      }
      if (Pick(10) == 0) t.debit_account_id = Account();
      if (Pick(20) == 0) t.ledger = 1 + Pick(2);
    } else if (k < 90 && !sent_.empty()) {
      t = sent_[Pick(sent_.size())];  // an exact resend
    } else if (k < 95 && !sent_.empty()) {
      t = sent_[Pick(sent_.size())];
      if (Pick(2) == 0) {
        t.memo = "changed";
      } else {
        t.amount += 1;
      }
    } else {
      std::string dr = Account();
      t = T(NewId(), dr, OtherAccount(dr), 1 + Pick(10));
      switch (Pick(5)) {
        case 0:
          t.id = "bad id";
          break;
        case 1:
          t.flags.pending = t.flags.void_pending_transfer = true;
          break;
        case 2:
          t.type = 0;
          break;
        case 3:
          t.pending_id = "x";
          break;
        default:
          t.timeout_ns = 5;
      }
    }
    if (Pick(10) == 0) t.memo = absl::StrCat("memo ", Pick(1000));
    return t;
  }

  std::mt19937_64 rng_;
  int next_id_ = 0;
  std::vector<std::string> pendings_;
  std::vector<Transfer> sent_;
};

void ExpectSameResults(const std::vector<TransferResult>& want,
                       const std::vector<TransferResult>& got, const std::string& where) {
  ASSERT_EQ(want.size(), got.size()) << where;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(want[i].index, got[i].index) << where;
    EXPECT_EQ(want[i].result, got[i].result) << where << " #" << i;
    EXPECT_EQ(want[i].failed_index, got[i].failed_index) << where << " #" << i;
    EXPECT_EQ(want[i].differing_field, got[i].differing_field) << where << " #" << i;
    EXPECT_EQ(want[i].status, got[i].status) << where << " #" << i;
    EXPECT_EQ(want[i].transfer, got[i].transfer) << where << " #" << i;
  }
}

TEST(RedisLedgerEquivalenceTest, RandomBatchesMatchTheReferenceLedger) {
  std::map<R, int> seen;  // over all seeds: the batches must exercise every path
  int64_t expiries = 0;
  for (uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    RedisHarness redis;
    FakeClock clock;
    Ledger model(&clock);
    std::vector<Account> accounts;
    for (const std::string& id : RandomBatches::Accounts()) {
      Account a = NewAccount(id, id[0] == 'd', id[0] == 'c', id == "l2" ? 2 : kLedgerCny);
      accounts.push_back(a);
    }
    auto ma = model.CreateAccounts(accounts);
    auto ra = redis.ledger().CreateAccounts(accounts);
    ASSERT_THAT(ma, IsOk());
    ASSERT_THAT(ra, IsOk());
    // Credit the flagged accounts so that debits often pass.
    std::vector<Transfer> seed_money;
    for (const std::string id : {"d0", "d1", "d2"}) {
      seed_money.push_back(T(absl::StrCat("seed-", id), "s0", id, 500));
    }
    seed_money.push_back(T("seed-c0", "c0", "s1", 500));
    ASSERT_THAT(model.CreateTransfers(seed_money), IsOk());
    ASSERT_THAT(redis.ledger().CreateTransfers(seed_money), IsOk());

    RandomBatches gen(seed);
    int applied = 0;
    for (int b = 0; b < 250; ++b) {
      const std::string where = absl::StrCat("seed ", seed, " batch ", b);
      if (gen.Pick(10) == 0) {
        auto me = model.ExpirePending();
        auto re = redis.ledger().ExpirePending();
        ASSERT_THAT(me, IsOk());
        ASSERT_THAT(re, IsOk());
        EXPECT_EQ(*me, *re) << where;
        expiries += *me;
      }
      std::vector<Transfer> batch = gen.Next();
      auto want = model.CreateTransfers(batch);
      auto got = redis.ledger().CreateTransfers(batch);
      ASSERT_THAT(want, IsOk());
      ASSERT_THAT(got, IsOk());
      ExpectSameResults(*want, *got, where);
      for (const auto& r : *want) {
        applied += r.result == R::kOk;
        ++seen[r.result];
      }
      const int step = gen.Pick(4);
      const absl::Duration d = step == 0   ? absl::ZeroDuration()
                               : step == 1 ? absl::Milliseconds(1)
                                           : absl::Milliseconds(700 * step);
      clock.Advance(d);
      redis.clock().Advance(d);
    }
    EXPECT_GT(applied, 300);
    std::vector<std::string> ids = RandomBatches::Accounts();
    auto mb = model.LookupAccounts(ids);
    auto rb = redis.ledger().LookupAccounts(ids);
    ASSERT_THAT(mb, IsOk());
    ASSERT_THAT(rb, IsOk());
    EXPECT_EQ(*mb, *rb);
    auto mh = model.Head();
    auto rh = redis.ledger().Head();
    ASSERT_THAT(mh, IsOk());
    ASSERT_THAT(rh, IsOk());
    EXPECT_EQ(*mh, *rh);
    // The journals are identical, entry by entry.
    for (int64_t after = 0; after < mh->sequence; after += 1000) {
      auto mj = model.ReadJournal(after, 1000);
      auto rj = redis.ledger().ReadJournal(after, 1000);
      ASSERT_THAT(mj, IsOk());
      ASSERT_THAT(rj, IsOk());
      ASSERT_EQ(mj->size(), rj->size());
      for (size_t i = 0; i < mj->size(); ++i) {
        EXPECT_EQ((*mj)[i].transfer, (*rj)[i].transfer);
        EXPECT_EQ((*mj)[i].hash, (*rj)[i].hash);
        EXPECT_EQ((*mj)[i].prev_hash, (*rj)[i].prev_hash);
      }
    }
    // Account histories page alike, over random time ranges and page sizes.
    const int64_t first = mh->timestamp_ns - absl::ToInt64Nanoseconds(absl::Seconds(400));
    const int64_t span = mh->timestamp_ns - first + 10;
    int64_t listed = 0;
    for (int q = 0; q < 60; ++q) {
      AccountTransfersQuery query;
      query.account_id = ids[gen.Pick(static_cast<int>(ids.size()))];
      query.page_size = 1 + gen.Pick(40);
      if (gen.Pick(4) != 0) query.start_ns = first + gen.Pick(1000) * (span / 1000);
      if (gen.Pick(3) == 0) query.end_ns = query.start_ns + gen.Pick(1000) * (span / 1000) + 1;
      for (int page = 0; page < 100; ++page) {
        auto mp = model.ListAccountTransfers(query);
        auto rp = redis.ledger().ListAccountTransfers(query);
        ASSERT_THAT(mp, IsOk());
        ASSERT_THAT(rp, IsOk());
        ASSERT_EQ(mp->transfers, rp->transfers) << query.account_id << " from " << query.start_ns;
        ASSERT_EQ(mp->next_start_ns, rp->next_start_ns);
        listed += static_cast<int64_t>(mp->transfers.size());
        if (mp->next_start_ns == 0) break;
        query.start_ns = mp->next_start_ns;
      }
    }
    EXPECT_GT(listed, 200);
    auto mv = model.Verify();
    auto rv = redis.ledger().Verify();
    ASSERT_THAT(mv, IsOk());
    ASSERT_THAT(rv, IsOk());
    EXPECT_TRUE(mv->ok) << mv->discrepancy;
    EXPECT_TRUE(rv->ok) << rv->discrepancy;
    EXPECT_EQ(rv->entries_checked, rh->sequence);
    EXPECT_EQ(rv->head_hash, rh->hash);
    EXPECT_EQ(rv->balances_checked, static_cast<int64_t>(ids.size()));
  }
  for (R code : {R::kOk, R::kExists, R::kExistsWithDifferentBody, R::kLinkedEventFailed,
                 R::kLinkedEventChainOpen, R::kIdMalformed, R::kAmountMustBePositive,
                 R::kAccountsMustHaveTheSameLedger, R::kPendingTransferNotFound,
                 R::kPendingTransferAlreadyPosted, R::kPendingTransferAlreadyVoided,
                 R::kPendingTransferExpired, R::kExceedsPendingTransferAmount,
                 R::kPendingTransferHasDifferentAmount, R::kOverflows, R::kExceedsCredits,
                 R::kExceedsDebits}) {
    EXPECT_GT(seen[code], 0) << ResultName(code) << " never came up";
  }
  std::string summary;
  for (const auto& [code, n] : seen) absl::StrAppend(&summary, ResultName(code), "=", n, " ");
  std::cout << summary << "expired_by_call=" << expiries << "\n";
}

// --- Verification of tampered data ----------------------------------------------------

class RedisLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_ = std::make_unique<RedisHarness>();
    ASSERT_THAT(ledger().CreateAccounts({NewAccount("s"), NewAccount("a", true), NewAccount("b")}),
                IsOk());
    for (int i = 1; i <= 10; ++i) {
      // Odd: s pays a 100 i; even: a pays b 10 i, always covered.
      auto r = ledger().CreateTransfers({T(absl::StrCat("t", i), i % 2 ? "s" : "a",
                                           i % 2 ? "a" : "b", i % 2 ? 100 * i : 10 * i)});
      ASSERT_THAT(r, IsOk());
      ASSERT_EQ((*r)[0].result, R::kOk);
    }
    auto v = ledger().Verify();
    ASSERT_THAT(v, IsOk());
    ASSERT_TRUE(v->ok) << v->discrepancy;
  }
  RedisLedger& ledger() { return h_->redis_ledger(); }
  redis::Client& client() { return h_->client(); }
  std::string Key(absl::string_view s) { return ledger().Key(s); }

  VerifyReport Verify() {
    auto v = ledger().Verify();
    EXPECT_THAT(v, IsOk());
    return v.ok() ? *v : VerifyReport();
  }

  // Rewrites the journal stream with `edit` applied to entry `seq`'s record.
  void RewriteEntry(int64_t seq, const std::function<void(Transfer*)>& edit) {
    auto all = client().Command({"XRANGE", Key("j"), "-", "+"});
    ASSERT_THAT(all, IsOk());
    ASSERT_THAT(client().Command({"DEL", Key("j")}), IsOk());
    for (const redis::Reply& e : all->elements()) {
      std::string record = e.elements()[1].elements()[1].str();
      if (e.elements()[0].str() == absl::StrCat(seq, "-0")) {
        auto t = DecodeTransferRecord(record);
        ASSERT_THAT(t, IsOk());
        edit(&*t);
        record = EncodeTransferRecord(*t);
      }
      ASSERT_THAT(client().Command({"XADD", Key("j"), e.elements()[0].str(), "r", record, "h",
                                    e.elements()[1].elements()[3].str()}),
                  IsOk());
    }
  }

  std::unique_ptr<RedisHarness> h_;
};

TEST_F(RedisLedgerTest, ATamperedJournalEntryIsTheFirstDiscrepancy) {
  RewriteEntry(4, [](Transfer* t) { t->amount += 1; });
  VerifyReport v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_sequence, 4);
  EXPECT_THAT(v.discrepancy, HasSubstr("entry 4 hash"));
  EXPECT_EQ(v.entries_checked, 3);
}

TEST_F(RedisLedgerTest, ATamperedBalanceIsReported) {
  auto a = ledger().LookupAccounts({"a"});
  ASSERT_THAT(a, IsOk());
  Account forged = *(*a)[0];
  const int64_t real = forged.credits_posted;
  forged.credits_posted += 1000;
  ASSERT_THAT(client().Command({"HSET", Key("a"), "a", EncodeAccount(forged)}), IsOk());
  VerifyReport v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_sequence, 0);
  EXPECT_EQ(v.discrepancy,
            absl::StrCat("account a credits_posted ", real + 1000, " != ", real, " recomputed"));
  EXPECT_EQ(v.entries_checked, 10);
}

TEST_F(RedisLedgerTest, ATamperedIndexOrHeadIsReported) {
  ASSERT_THAT(client().Command({"HSET", Key("t"), "t3", "7"}), IsOk());
  VerifyReport v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_sequence, 3);
  EXPECT_THAT(v.discrepancy, HasSubstr("transfer t3 of entry 3 is indexed at sequence '7'"));
  ASSERT_THAT(client().Command({"HSET", Key("t"), "t3", "3"}), IsOk());
  EXPECT_TRUE(Verify().ok);

  auto head = ledger().Head();
  ASSERT_THAT(head, IsOk());
  JournalHead forged = *head;
  forged.hash = std::string(64, 'a');
  ASSERT_THAT(client().Command({"SET", Key("head"), EncodeHead(forged)}), IsOk());
  v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.discrepancy, HasSubstr("head says"));

  // A head ahead of the journal: the write script refuses before writing anything.
  forged.sequence = 12;
  ASSERT_THAT(client().Command({"SET", Key("head"), EncodeHead(forged)}), IsOk());
  EXPECT_THAT(ledger().CreateTransfers({T("after-forgery", "s", "b", 1)}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("the journal ends at 10")));
  auto len = client().Command({"XLEN", Key("j")});
  ASSERT_THAT(len, IsOk());
  EXPECT_EQ(len->integer(), 10);
  auto found = ledger().LookupTransfers({"after-forgery"});
  ASSERT_THAT(found, IsOk());
  EXPECT_FALSE((*found)[0].has_value());
}

TEST_F(RedisLedgerTest, AMissingEntryIsReported) {
  ASSERT_THAT(client().Command({"XDEL", Key("j"), "6-0"}), IsOk());
  VerifyReport v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_sequence, 6);
  EXPECT_THAT(v.discrepancy, HasSubstr("entry 6 missing"));
}

TEST_F(RedisLedgerTest, KeysShareOneHashTag) {
  ASSERT_THAT(ledger().CreateTransfers({testing_cases::Pending("p", "s", "b", 1, 1000000000)}),
              IsOk());
  auto keys = client().Command({"KEYS", "*"});
  ASSERT_THAT(keys, IsOk());
  std::set<std::string> suffixes;
  for (const redis::Reply& k : keys->elements()) {
    ASSERT_TRUE(absl::StartsWith(k.str(), "iplus:{funds:all}:")) << k.str();
    suffixes.insert(k.str().substr(std::string("iplus:{funds:all}:").size()));
  }
  EXPECT_EQ(suffixes, (std::set<std::string>{"head", "a", "t", "j", "e", "x:s", "x:a", "x:b"}));
  FakeClock clock;
  RedisLedger regional(&client(), &clock, RedisLedgerOptions{.region = "440000"});
  EXPECT_EQ(regional.prefix(), "iplus:{funds:440000}:");
  ASSERT_THAT(regional.CreateAccounts({NewAccount("s")}), IsOk());
  auto exists = client().Command({"HEXISTS", "iplus:{funds:440000}:a", "s"});
  ASSERT_THAT(exists, IsOk());
  EXPECT_EQ(exists->integer(), 1);
}

TEST_F(RedisLedgerTest, ConcurrentCallsInOneProcessShareWrites) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        auto r = ledger().CreateTransfers({T(absl::StrCat("c", t, "-", i), "s", "b", 1)});
        if (r.ok() && (*r)[0].result == R::kOk) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 320);
  EXPECT_EQ(ledger().conflicts(), 0);
  auto head = ledger().Head();
  ASSERT_THAT(head, IsOk());
  EXPECT_EQ(head->sequence, 330);
  EXPECT_TRUE(Verify().ok);
}

TEST_F(RedisLedgerTest, UnreachableRedisIsUnavailable) {
  redis::Options o;
  o.port = 1;  // nothing listens there
  o.connect_timeout = absl::Milliseconds(100);
  redis::Client down(o);
  FakeClock clock;
  RedisLedger ledger(&down, &clock);
  EXPECT_THAT(ledger.CreateTransfers({T("x", "s", "b", 1)}),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(ledger.Verify(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(CheckDurability(&down, true), StatusIs(absl::StatusCode::kUnavailable));
}

// --- Durability ------------------------------------------------------------------------

TEST(DurabilityTest, RefusesRedisThatDoesNotFsyncEveryWrite) {
  // The shared server runs without AOF.
  redis::Client plain(ClientOptions());
  EXPECT_THAT(CheckDurability(&plain, false),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("appendonly no")));
  EXPECT_THAT(CheckDurability(&plain, true), IsOk());

  test::RedisServer::Options everysec;
  everysec.aof = true;
  everysec.appendfsync = "everysec";
  test::RedisServer lazy(everysec);
  ASSERT_THAT(lazy.Start(), IsOk());
  redis::Options lo;
  lo.port = lazy.port();
  redis::Client lazy_client(lo);
  EXPECT_THAT(CheckDurability(&lazy_client, false),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("appendfsync everysec")));

  test::RedisServer::Options always;
  always.aof = true;
  test::RedisServer durable(always);
  ASSERT_THAT(durable.Start(), IsOk());
  redis::Options dopt;
  dopt.port = durable.port();
  redis::Client durable_client(dopt);
  EXPECT_THAT(CheckDurability(&durable_client, false), IsOk());

  // A Redis that hides CONFIG (as managed services do) cannot prove it is durable.
  test::RedisServer::Options hidden = always;
  hidden.extra_args = {"--rename-command", "CONFIG", ""};
  test::RedisServer managed(hidden);
  ASSERT_THAT(managed.Start(), IsOk());
  redis::Options mo;
  mo.port = managed.port();
  redis::Client managed_client(mo);
  EXPECT_THAT(CheckDurability(&managed_client, false),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("cannot read")));
  EXPECT_THAT(CheckDurability(&managed_client, true), IsOk());
}

}  // namespace
}  // namespace iplus::funds
