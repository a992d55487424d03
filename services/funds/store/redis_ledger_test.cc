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

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/funds/domain/codec.h"
#include "services/funds/domain/journal.h"
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

RedisLedgerOptions EntriesPerStreamEntry(int n) {
  RedisLedgerOptions o;
  o.max_entries_per_stream_entry = n;
  return o;
}

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
    // The third seed with at most two journal entries per stream entry, so that writes
    // span several.
    RedisHarness redis(seed == 3 ? EntriesPerStreamEntry(2) : RedisLedgerOptions());
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

// One journal stream entry, taken apart: its id and its entries' records and raw hashes.
struct StreamEntry {
  std::string id;
  std::vector<std::string> records;
  std::vector<std::string> hashes;
};

class RedisLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // At most three journal entries per stream entry, so that the ten transfers below
    // are stored as 1-0 {1}, 2-0 {2 3 4}, 5-0 {5}, 6-0 {6 7 8}, 9-0 {9 10}.
    h_ = std::make_unique<RedisHarness>(EntriesPerStreamEntry(3));
    ASSERT_THAT(ledger().CreateAccounts({NewAccount("s"), NewAccount("a", true), NewAccount("b")}),
                IsOk());
    std::vector<Transfer> batch;
    for (int i = 1; i <= 10; ++i) {
      // Odd: s pays a 100 i; even: a pays b 10 i, always covered.
      batch.push_back(
          T(absl::StrCat("t", i), i % 2 ? "s" : "a", i % 2 ? "a" : "b", i % 2 ? 100 * i : 10 * i));
      if (i == 1 || i == 5 || i == 8 || i == 10) {
        auto r = ledger().CreateTransfers(batch);
        ASSERT_THAT(r, IsOk());
        for (const auto& one : *r) ASSERT_EQ(one.result, R::kOk);
        batch.clear();
      }
    }
    ASSERT_THAT(StreamIds(), ::testing::ElementsAre("1-0", "2-0", "5-0", "6-0", "9-0"));
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

  std::vector<std::string> StreamIds() {
    std::vector<std::string> ids;
    for (const StreamEntry& e : ReadStream()) ids.push_back(e.id);
    return ids;
  }

  // The journal stream, each entry split by its offset table.
  std::vector<StreamEntry> ReadStream() {
    std::vector<StreamEntry> out;
    auto all = client().Command({"XRANGE", Key("j"), "-", "+"});
    EXPECT_THAT(all, IsOk());
    if (!all.ok()) return out;
    for (const redis::Reply& e : all->elements()) {
      const auto& f = e.elements()[1].elements();
      EXPECT_EQ(f.size(), 6u);
      if (f.size() != 6) return out;
      EXPECT_EQ(f[0].str(), "o");
      EXPECT_EQ(f[2].str(), "r");
      EXPECT_EQ(f[4].str(), "h");
      StreamEntry entry;
      entry.id = e.elements()[0].str();
      const std::string& o = f[1].str();
      size_t from = 0;
      for (size_t k = 0; k + 4 <= o.size(); k += 4) {
        const size_t end = static_cast<uint32_t>(ReadBigEndian32(o.data() + k));
        entry.records.push_back(f[3].str().substr(from, end - from));
        entry.hashes.push_back(f[5].str().substr(8 * k, 32));
        from = end;
      }
      out.push_back(std::move(entry));
    }
    return out;
  }

  // Replaces the journal stream with `entries`, each stored with a consistent offset
  // table.
  void WriteStream(const std::vector<StreamEntry>& entries) {
    ASSERT_THAT(client().Command({"DEL", Key("j")}), IsOk());
    for (const StreamEntry& e : entries) {
      std::string o, r, h;
      for (size_t k = 0; k < e.records.size(); ++k) {
        r += e.records[k];
        AppendBigEndian32(&o, static_cast<int32_t>(r.size()));
        h += e.hashes[k];
      }
      ASSERT_THAT(client().Command({"XADD", Key("j"), e.id, "o", o, "r", r, "h", h}), IsOk());
    }
  }

  // Rewrites the journal stream with `edit` applied to entry `seq`'s record, leaving
  // its stored hash as it was.
  void RewriteEntry(int64_t seq, const std::function<void(Transfer*)>& edit) {
    std::vector<StreamEntry> entries = ReadStream();
    bool found = false;
    for (StreamEntry& e : entries) {
      for (std::string& record : e.records) {
        auto t = DecodeTransferRecord(record);
        ASSERT_THAT(t, IsOk());
        if (t->journal_sequence != seq) continue;
        edit(&*t);
        record = EncodeTransferRecord(*t);
        found = true;
      }
    }
    ASSERT_TRUE(found) << "no entry " << seq;
    WriteStream(entries);
  }

  std::unique_ptr<RedisHarness> h_;
};

TEST_F(RedisLedgerTest, EntriesInsideAStreamEntryAreFoundByTheirSequence) {
  auto found = ledger().LookupTransfers({"t7", "t3", "t10", "nope"});
  ASSERT_THAT(found, IsOk());
  ASSERT_TRUE((*found)[0].has_value());
  EXPECT_EQ((*found)[0]->journal_sequence, 7);
  EXPECT_EQ((*found)[0]->amount, 700);
  EXPECT_EQ((*found)[1]->journal_sequence, 3);
  EXPECT_EQ((*found)[2]->journal_sequence, 10);
  EXPECT_FALSE((*found)[3].has_value());
  // Pages that start and end inside stream entries chain their hashes across them.
  auto all = ledger().ReadJournal(0, 10);
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 10u);
  for (int64_t after : {0, 1, 2, 3, 4, 6, 8, 9, 10}) {
    auto page = ledger().ReadJournal(after, 2);
    ASSERT_THAT(page, IsOk());
    ASSERT_EQ(page->size(), static_cast<size_t>(std::min<int64_t>(2, 10 - after))) << after;
    for (size_t i = 0; i < page->size(); ++i) {
      const JournalEntry& want = (*all)[after + i];
      EXPECT_EQ((*page)[i].sequence, want.sequence);
      EXPECT_EQ((*page)[i].transfer, want.transfer);
      EXPECT_EQ((*page)[i].hash, want.hash);
      EXPECT_EQ((*page)[i].prev_hash, want.prev_hash) << after;
    }
  }
  auto beyond = ledger().ReadJournal(25, 10);
  ASSERT_THAT(beyond, IsOk());
  EXPECT_TRUE(beyond->empty());
}

TEST_F(RedisLedgerTest, ATamperedJournalEntryIsTheFirstDiscrepancy) {
  // Entry 4 is the last of stream entry 2-0, entry 7 the middle one of 6-0.
  RewriteEntry(7, [](Transfer* t) { t->memo = "forged"; });
  VerifyReport v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_sequence, 7);
  EXPECT_THAT(v.discrepancy, HasSubstr("entry 7 hash"));
  EXPECT_EQ(v.entries_checked, 6);

  RewriteEntry(4, [](Transfer* t) { t->amount += 1; });
  v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_sequence, 4);
  EXPECT_THAT(v.discrepancy, HasSubstr("entry 4 hash"));
  EXPECT_EQ(v.entries_checked, 3);
}

TEST_F(RedisLedgerTest, AForgedChainWithEntriesOutOfOrderIsReported) {
  // Someone able to recompute hashes stores entry 9 with another sequence, then with
  // entry 8's timestamp: the chain holds, the order does not.
  const std::vector<StreamEntry> original = ReadStream();
  const std::string prev = absl::BytesToHexString(original[3].hashes[2]);  // entry 8's
  auto nine = DecodeTransferRecord(original[4].records[0]);
  auto eight = DecodeTransferRecord(original[3].records[2]);
  ASSERT_THAT(nine, IsOk());
  ASSERT_THAT(eight, IsOk());
  for (int forgery = 0; forgery < 2; ++forgery) {
    Transfer t = *nine;
    if (forgery == 0) {
      t.journal_sequence = 8;
    } else {
      t.timestamp_ns = eight->timestamp_ns;
    }
    std::vector<StreamEntry> entries = original;
    entries[4].records[0] = EncodeTransferRecord(t);
    entries[4].hashes[0] = absl::HexStringToBytes(EntryHash(prev, entries[4].records[0]));
    WriteStream(entries);
    VerifyReport v = Verify();
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.first_bad_sequence, 9);
    EXPECT_EQ(v.entries_checked, 8);
    EXPECT_THAT(v.discrepancy,
                HasSubstr(forgery == 0 ? "entry 9 records sequence 8" : "entry 9 timestamp"));
  }
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
  EXPECT_THAT(StreamIds(), ::testing::ElementsAre("1-0", "2-0", "5-0", "6-0", "9-0"));
  auto found = ledger().LookupTransfers({"after-forgery"});
  ASSERT_THAT(found, IsOk());
  EXPECT_FALSE((*found)[0].has_value());
}

TEST_F(RedisLedgerTest, AMissingEntryIsReported) {
  // A whole stream entry: entries 6 to 8.
  ASSERT_THAT(client().Command({"XDEL", Key("j"), "6-0"}), IsOk());
  VerifyReport v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_sequence, 6);
  EXPECT_THAT(v.discrepancy, HasSubstr("entry 6 missing: next stored entry is 9"));
  EXPECT_EQ(v.entries_checked, 5);
}

TEST_F(RedisLedgerTest, AnEntryMissingInsideAStreamEntryIsReported) {
  // Entry 3 cut out of stream entry 2-0 with its hash and offset: entry 4 takes its
  // place, and its hash does not chain from entry 2.
  const std::vector<StreamEntry> original = ReadStream();
  std::vector<StreamEntry> entries = original;
  entries[1].records.erase(entries[1].records.begin() + 1);
  entries[1].hashes.erase(entries[1].hashes.begin() + 1);
  WriteStream(entries);
  VerifyReport v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_sequence, 3);
  EXPECT_THAT(v.discrepancy, HasSubstr("entry 3 hash"));
  EXPECT_EQ(v.entries_checked, 2);

  // The last entry cut out of the last stream entry: the journal ends before the head,
  // and the next write is refused before it writes.
  entries = original;
  entries[4].records.pop_back();
  entries[4].hashes.pop_back();
  WriteStream(entries);
  v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_sequence, 10);
  EXPECT_THAT(v.discrepancy, HasSubstr("entry 10 missing: the journal ends before the head"));
  EXPECT_EQ(v.entries_checked, 9);
  EXPECT_THAT(ledger().CreateTransfers({T("after-cut", "s", "b", 1)}),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("the journal ends at 9 but the head is at 10")));
  EXPECT_EQ(ReadStream().size(), 5u);
}

TEST_F(RedisLedgerTest, AMalformedStreamEntryIsReportedAndRefusedBeforeAnyWrite) {
  // Stream entry 6-0 with an offset table one entry short of its records and hashes.
  auto all = client().Command({"XRANGE", Key("j"), "6", "6"});
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->elements().size(), 1u);
  const auto& f = all->elements()[0].elements()[1].elements();
  std::vector<StreamEntry> entries = ReadStream();
  ASSERT_THAT(client().Command({"DEL", Key("j")}), IsOk());
  for (const StreamEntry& e : entries) {
    if (e.id == "6-0") {
      ASSERT_THAT(client().Command({"XADD", Key("j"), "6-0", "o", f[1].str().substr(0, 8), "r",
                                    f[3].str(), "h", f[5].str()}),
                  IsOk());
      continue;
    }
    std::string o, r, h;
    for (size_t k = 0; k < e.records.size(); ++k) {
      r += e.records[k];
      AppendBigEndian32(&o, static_cast<int32_t>(r.size()));
      h += e.hashes[k];
    }
    ASSERT_THAT(client().Command({"XADD", Key("j"), e.id, "o", o, "r", r, "h", h}), IsOk());
  }
  VerifyReport v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_sequence, 6);
  EXPECT_THAT(v.discrepancy, HasSubstr("journal stream entry 6-0 after entry 5 is malformed"));
  EXPECT_EQ(v.entries_checked, 5);
  EXPECT_THAT(ledger().ReadJournal(5, 10),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("journal stream entry 6-0")));

  // The last stream entry malformed: the write script refuses before it writes.
  ASSERT_THAT(client().Command({"XADD", Key("j"), "11-0", "r", "x"}), IsOk());
  EXPECT_THAT(ledger().CreateTransfers({T("after-damage", "s", "b", 1)}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("11-0 is malformed")));
  auto found = ledger().LookupTransfers({"after-damage"});
  ASSERT_THAT(found, IsOk());
  EXPECT_FALSE((*found)[0].has_value());
  auto head = ledger().Head();
  ASSERT_THAT(head, IsOk());
  EXPECT_EQ(head->sequence, 10);
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
  EXPECT_EQ(suffixes, (std::set<std::string>{"head", "a", "t", "j", "e", "x"}));
  FakeClock clock;
  RedisLedger regional(&client(), &clock, RedisLedgerOptions{.region = "440000"});
  EXPECT_EQ(regional.prefix(), "iplus:{funds:440000}:");
  ASSERT_THAT(regional.CreateAccounts({NewAccount("s")}), IsOk());
  auto exists = client().Command({"HEXISTS", "iplus:{funds:440000}:a", "s"});
  ASSERT_THAT(exists, IsOk());
  EXPECT_EQ(exists->integer(), 1);
}

TEST_F(RedisLedgerTest, TheAccountIndexKeepsBlocksOfSixteen) {
  // s has transfers 1, 3, 5, 7, 9; 40 more make 45: two full blocks and a tail of 13.
  std::vector<Transfer> batch;
  for (int i = 0; i < 40; ++i) batch.push_back(T(absl::StrCat("m", i), "s", "b", 1));
  ASSERT_THAT(ledger().CreateTransfers(batch), IsOk());
  auto tail = client().Command({"HGET", Key("x"), "s"});
  ASSERT_THAT(tail, IsOk());
  ASSERT_EQ(tail->str().size(), 8u + 8 * 13);
  EXPECT_EQ(ReadBigEndian64(tail->str().data()), 45);
  for (const char* block : {"s#0", "s#1"}) {
    auto b = client().Command({"HGET", Key("x"), block});
    ASSERT_THAT(b, IsOk());
    EXPECT_EQ(b->str().size(), 8u * 16) << block;
  }
  auto none = client().Command({"HEXISTS", Key("x"), "s#2"});
  ASSERT_THAT(none, IsOk());
  EXPECT_EQ(none->integer(), 0);
  // Read across the blocks and the tail, a page at a time.
  std::vector<int64_t> seqs;
  AccountTransfersQuery q{.account_id = "s", .page_size = 7};
  for (int page = 0; page < 10; ++page) {
    auto p = ledger().ListAccountTransfers(q);
    ASSERT_THAT(p, IsOk());
    for (const Transfer& t : p->transfers) seqs.push_back(t.journal_sequence);
    if (p->next_start_ns == 0) break;
    q.start_ns = p->next_start_ns;
  }
  std::vector<int64_t> want = {1, 3, 5, 7, 9};
  for (int64_t s = 11; s <= 50; ++s) want.push_back(s);
  EXPECT_EQ(seqs, want);
  // A damaged block or tail is an error, not a silently short history.
  ASSERT_THAT(client().Command({"HSET", Key("x"), "s#1", "short"}), IsOk());
  EXPECT_THAT(ledger().ListAccountTransfers({.account_id = "s", .page_size = 100}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("s#1 is malformed")));
  ASSERT_THAT(client().Command({"HSET", Key("x"), "s", tail->str().substr(0, 8 * 13)}), IsOk());
  EXPECT_THAT(ledger().ListAccountTransfers({.account_id = "s", .page_size = 100}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("tail s is malformed")));
  // The write refuses it too, before it writes anything.
  EXPECT_THAT(ledger().CreateTransfers({T("after-damage", "s", "b", 1)}),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("account index of s")));
  auto found = ledger().LookupTransfers({"after-damage"});
  ASSERT_THAT(found, IsOk());
  EXPECT_FALSE((*found)[0].has_value());
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
