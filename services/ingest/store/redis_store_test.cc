// The ingestion Redis store against a real redis-server, mostly through the domain core.

#include "services/ingest/store/redis_store.h"

#include <set>
#include <thread>

#include "absl/strings/str_format.h"
#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/refdata/credit_code.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/ingest/domain/fake_directory.h"
#include "services/ingest/domain/ingest.h"

namespace iplus::ingest {
namespace {

using ::iplus::test::IsOk;
using ::iplus::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::string CodeN(int n) { return refdata::CompleteCreditCode(absl::StrFormat("91440100%08d", n)); }

ObservationInput Number(const std::string& rid, int n, const std::string& ind,
                        const std::string& period, double v) {
  ObservationInput o;
  o.report_id = rid;
  o.enterprise_code = CodeN(n);
  o.indicator = ind;
  o.period = period;
  o.kind = ObservationInput::ValueKind::kNumber;
  o.number_value = v;
  return o;
}

class IngestRedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(server_.Start(), IsOk());
    redis::Options options;
    options.port = server_.port();
    client_ = std::make_unique<redis::Client>(options);
    RedisStoreOptions store_options;
    store_options.series_buckets = 64;
    store_options.column_buckets = 16;
    store_options.report_buckets = 128;
    store_options.max_changes = 5;
    store_options.writes_per_script = 7;  // several script calls per batch
    store_ = std::make_unique<RedisStore>(client_.get(), store_options);
    ASSERT_THAT(store_->Init(), IsOk());
    for (int i = 0; i < 200; ++i) directory_.Add(CodeN(i));
    ingest_ = std::make_unique<Ingest>(store_.get(), &directory_, &clock_, &peers_, nullptr,
                                       IngestConfig{});
    ASSERT_THAT(ingest_->SeedCatalogue(), IsOk());
  }

  std::vector<ItemResult> Report(const std::vector<ObservationInput>& items) {
    auto r = ingest_->Report("partner", items);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? *r : std::vector<ItemResult>{};
  }

  test::RedisServer server_;
  std::unique_ptr<redis::Client> client_;
  std::unique_ptr<RedisStore> store_;
  FakeDirectory directory_;
  FakeClock clock_{absl::FromUnixSeconds(1559347200)};
  PeerStats peers_;
  std::unique_ptr<Ingest> ingest_;
};

TEST_F(IngestRedisTest, CatalogueSurvivesInRedis) {
  auto list = store_->ListIndicators();
  ASSERT_THAT(list, IsOk());
  EXPECT_THAT(*list, SizeIs(5));
  auto again = store_->CreateIndicator((*list)[0]);
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(again->second);
  EXPECT_TRUE(again->first.SameDefinition((*list)[0]));
  EXPECT_EQ(again->first.range, (*list)[0].range);
}

TEST_F(IngestRedisTest, OutcomesAcrossScriptChunks) {
  std::vector<ObservationInput> batch;
  for (int i = 0; i < 30; ++i)
    batch.push_back(Number(absl::StrCat("a", i), i, "inventory_turnover", "2018", 5 + i));
  batch.push_back(Number("a3", 3, "inventory_turnover", "2018", 8));    // resend: duplicate
  batch.push_back(Number("a4", 4, "inventory_turnover", "2018", 100));  // reused id
  batch.push_back(Number("b5", 5, "inventory_turnover", "2018", 11));   // revision
  batch.push_back(Number("b6", 6, "inventory_turnover", "2018", 11));   // same value
  auto r = Report(batch);
  ASSERT_THAT(r, SizeIs(34));
  for (int i = 0; i < 30; ++i) EXPECT_EQ(r[i].outcome, Outcome::kAccepted) << i;
  EXPECT_EQ(r[30].outcome, Outcome::kDuplicate);
  EXPECT_EQ(r[30].revision, 1);
  EXPECT_EQ(r[31].reason, RejectReason::kReportIdReused);
  EXPECT_EQ(r[32].outcome, Outcome::kRevised);
  EXPECT_EQ(r[32].revision, 2);
  EXPECT_EQ(r[33].outcome, Outcome::kDuplicate);

  auto history = ingest_->GetHistory(CodeN(5), "inventory_turnover", "2018");
  ASSERT_THAT(history, IsOk());
  ASSERT_THAT(*history, SizeIs(2));
  EXPECT_EQ((*history)[0].new_value, 10);
  EXPECT_EQ((*history)[1].old_value, 10);
  EXPECT_EQ((*history)[1].new_value, 11);
  EXPECT_EQ((*history)[1].reporter, "partner");

  // A resend of the whole batch changes nothing.
  auto versions_before = ingest_->GetDataVersions({DataKey{"inventory_turnover", "2018"}});
  auto again = Report(batch);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(again[i].outcome, Outcome::kDuplicate) << i;
  EXPECT_EQ(again[32].outcome, Outcome::kDuplicate);
  EXPECT_EQ(ingest_->GetDataVersions({DataKey{"inventory_turnover", "2018"}})->first,
            versions_before->first);
}

TEST_F(IngestRedisTest, ScanIsOrderedWithVersionAndCoverage) {
  std::vector<ObservationInput> batch;
  for (int i = 0; i < 100; ++i)
    batch.push_back(Number(absl::StrCat("s", i), i, "inventory_turnover", "2017", i + 1));
  Report(batch);
  std::vector<std::string> codes;
  std::vector<double> values;
  int64_t version = -1;
  int batches = 0;
  ASSERT_THAT(ingest_->Scan("inventory_turnover", "2017", 30,
                            [&](const auto& rows, int64_t v) {
                              ++batches;
                              version = v;
                              for (const auto& [c, x] : rows) {
                                codes.push_back(c);
                                values.push_back(x);
                              }
                              return true;
                            }),
              IsOk());
  EXPECT_EQ(batches, 4);
  ASSERT_THAT(codes, SizeIs(100));
  EXPECT_TRUE(std::is_sorted(codes.begin(), codes.end()));
  std::set<double> distinct(values.begin(), values.end());
  EXPECT_EQ(distinct.size(), 100u);
  EXPECT_GE(version, 1);
  auto coverage = ingest_->GetCoverage("inventory_turnover", "2016", "2017");
  ASSERT_THAT(coverage, IsOk());
  EXPECT_EQ((*coverage)[0].reporters, 0);
  EXPECT_EQ((*coverage)[1].reporters, 100);
  EXPECT_EQ((*coverage)[1].data_version, version);
  // An empty column still answers once with its version.
  int calls = 0;
  ASSERT_THAT(ingest_->Scan("inventory_turnover", "2015", 0,
                            [&](const auto& rows, int64_t) {
                              ++calls;
                              EXPECT_TRUE(rows.empty());
                              return true;
                            }),
              IsOk());
  EXPECT_EQ(calls, 1);
}

TEST_F(IngestRedisTest, ChangesListTheValuesTheySetUpToSixtyFour) {
  // One script call per batch and no cap, under a key prefix of its own.
  RedisStoreOptions options;
  options.region_prefix = "44";
  RedisStore store(client_.get(), options);
  ASSERT_THAT(store.Init(), IsOk());
  Ingest ingest(&store, &directory_, &clock_, &peers_, nullptr, IngestConfig{});
  ASSERT_THAT(ingest.SeedCatalogue(), IsOk());
  auto report = [&](const std::vector<ObservationInput>& items) {
    ASSERT_THAT(ingest.Report("partner", items), IsOk());
  };
  std::vector<ObservationInput> batch;
  for (int i = 0; i < 64; ++i) {
    batch.push_back(Number(absl::StrCat("l", i), i, "inventory_turnover", "2016", 1 + i));
  }
  for (int i = 0; i < 65; ++i) {
    batch.push_back(Number(absl::StrCat("m", i), i, "inventory_turnover", "2017", 2));
  }
  report(batch);
  // A revision is listed with its new value.
  report({Number("r7", 7, "inventory_turnover", "2016", 2.5)});
  auto page = ingest.ListChanges(0, 0);
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(page->changes, SizeIs(3));
  const Change& full = page->changes[0];
  EXPECT_EQ(full.key.period, "2016");
  EXPECT_TRUE(full.listed);
  ASSERT_THAT(full.values, SizeIs(64));
  EXPECT_EQ(full.values[0], std::make_pair(CodeN(0), 1.0));
  EXPECT_EQ(full.values[63], std::make_pair(CodeN(63), 64.0));
  const Change& over = page->changes[1];
  EXPECT_EQ(over.key.period, "2017");
  EXPECT_FALSE(over.listed);
  EXPECT_THAT(over.values, IsEmpty());
  const Change& revision = page->changes[2];
  EXPECT_TRUE(revision.listed);
  EXPECT_THAT(revision.values, ElementsAre(std::make_pair(CodeN(7), 2.5)));
  EXPECT_EQ(revision.data_version, 2);
}

TEST_F(IngestRedisTest, ChangesAreCappedAndTruncationReported) {
  // 120 periods, one change each. The cap (~5) trims whole stream nodes (100 entries),
  // so the oldest hundred go.
  std::vector<ObservationInput> batch;
  for (int y = 1900; y < 2020; ++y) {
    batch.push_back(Number(absl::StrCat("c", y), 1, "inventory_turnover", absl::StrCat(y), 3));
  }
  Report(batch);
  auto all = ingest_->ListChanges(0, 0);
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->ingest_version, 120);
  EXPECT_TRUE(all->truncated);
  auto tail = ingest_->ListChanges(118, 0);
  ASSERT_THAT(tail, IsOk());
  EXPECT_FALSE(tail->truncated);
  ASSERT_THAT(tail->changes, SizeIs(2));
  EXPECT_EQ(tail->changes[0].version, 119);
  EXPECT_EQ(tail->changes[0].key.period, "2018");
  EXPECT_EQ(tail->changes[0].key.indicator, "inventory_turnover");
  EXPECT_EQ(tail->changes[0].data_version, 1);
  EXPECT_EQ(tail->changes[0].time, clock_.Now());
}

TEST_F(IngestRedisTest, ConcurrentReplicasNeverLoseAnUpdate) {
  // Two cores (as two replicas) revise the same series concurrently.
  Ingest other(store_.get(), &directory_, &clock_, &peers_, nullptr, IngestConfig{});
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      Ingest& core = t == 0 ? *ingest_ : other;
      for (int i = 0; i < 40; ++i) {
        auto r =
            core.Report("partner", {Number(absl::StrCat("t", t, "-", i), 7, "inventory_turnover",
                                           absl::StrCat(1970 + i), 1 + t)});
        ASSERT_THAT(r, IsOk());
        EXPECT_NE((*r)[0].outcome, Outcome::kRejected) << (*r)[0].message;
      }
    });
  }
  for (auto& t : threads) t.join();
  auto series = ingest_->GetSeries(CodeN(7), "inventory_turnover", "", "");
  ASSERT_THAT(series, IsOk());
  ASSERT_THAT(*series, SizeIs(40));  // every period present
  int revised = 0;
  for (const auto& o : *series) {
    auto history = ingest_->GetHistory(CodeN(7), "inventory_turnover", o.period);
    ASSERT_THAT(history, IsOk());
    // Both writers' values are in the history of every period.
    EXPECT_THAT(*history, SizeIs(2)) << o.period;
    revised += o.entry.revision == 2;
  }
  EXPECT_EQ(revised, 40);
}

TEST_F(IngestRedisTest, BucketCountsAreFixedOnceDataExists) {
  RedisStoreOptions other;
  other.series_buckets = 65;
  other.column_buckets = 16;
  other.report_buckets = 128;
  RedisStore mismatched(client_.get(), other);
  EXPECT_THAT(mismatched.Init(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(IngestRedisTest, RedisDownIsUnavailable) {
  server_.Stop();
  EXPECT_THAT(ingest_->Report("partner", {Number("x", 1, "inventory_turnover", "2018", 1)}),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(ingest_->GetSeries(CodeN(1), "inventory_turnover", "", ""),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace iplus::ingest
