// The feed against the real registry and ingest (their Apps in-process, serving gRPC on
// loopback) sharing one redis-server: the initial load, registry events and ingest
// changes applied, an unlisted (large) change rescanned, a trimmed change stream, columns
// loaded on demand and for new targets, and ingest going away.

#include "services/evaluation/feed/feed.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/metrics/registry.h"
#include "common/refdata/credit_code.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "services/ingest/app.h"
#include "services/registry/app.h"

namespace iplus::evaluation {
namespace {

namespace rv1 = ::iplus::registry::v1;
namespace iv1 = ::iplus::ingest::v1;
namespace cv1 = ::iplus::common::v1;
using ::iplus::test::IsOk;
using ::iplus::test::StatusIs;

constexpr char kDevCycle[] = "product_dev_cycle_days";

std::string CodeN(int n) { return refdata::CompleteCreditCode(absl::StrFormat("91440100%08d", n)); }

rv1::Enterprise Manufacturer(int n) {
  rv1::Enterprise e;
  e.set_code(CodeN(n));
  e.set_name(absl::StrFormat("Precision Parts %d", n));
  e.set_region("440103");
  e.set_industry("C34");
  e.set_ownership(cv1::OWNERSHIP_PRIVATE);
  e.set_size(cv1::ENTERPRISE_SIZE_MEDIUM);
  e.set_kind(cv1::ORGANIZATION_KIND_MANUFACTURER);
  return e;
}

Target MeanTarget(const std::string& id, const std::string& indicator) {
  Target t;
  t.id = id;
  t.title = id;
  t.indicator = indicator;
  t.population.kind = 1;
  t.aggregation = Aggregation::kMean;
  t.rule.kind = Rule::Kind::kRelativeChange;
  t.rule.value = -0.12;
  t.baseline = Period::Year(2015);
  t.deadline = Period::Year(2018);
  t.etag = "r1";
  return t;
}

bool Eventually(const std::function<bool()>& condition,
                absl::Duration timeout = absl::Seconds(15)) {
  const absl::Time until = absl::Now() + timeout;
  while (absl::Now() < until) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return condition();
}

// The value of one series of the feed's metrics (0 when absent).
double MetricValue(const metrics::Registry& registry, const std::string& name,
                   const std::map<std::string, std::string>& labels = {}) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      std::map<std::string, std::string> have;
      for (const auto& l : m.label) have[l.name] = l.value;
      if (have != labels) continue;
      return family.type == metrics::MetricType::kCounter ? m.counter.value : m.gauge.value;
    }
  }
  return 0;
}

// Targets the test controls.
class FakeTargets {
 public:
  void Set(std::vector<Target> targets) {
    absl::MutexLock lock(&mu_);
    targets_ = std::move(targets);
    ++version_;
  }
  TargetSource Source() {
    TargetSource s;
    s.version = [this]() -> absl::StatusOr<int64_t> {
      absl::MutexLock lock(&mu_);
      return version_;
    };
    s.all = [this]() -> absl::StatusOr<std::vector<Target>> {
      absl::MutexLock lock(&mu_);
      return targets_;
    };
    return s;
  }

 private:
  absl::Mutex mu_;
  int64_t version_ = 1;
  std::vector<Target> targets_;
};

class FeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Small stream nodes let the approximate caps (MAXLEN ~) trim early.
    test::RedisServer::Options redis_options;
    redis_options.extra_args = {"--stream-node-max-entries", "4"};
    redis_ = std::make_unique<test::RedisServer>(redis_options);
    IPLUS_ASSERT_OK(redis_->Start());
    targets_.Set({MeanTarget("dev-cycle", kDevCycle)});
  }

  void TearDown() override {
    feed_.reset();
    if (ingest_) ingest_->Shutdown();
    if (registry_) registry_->Shutdown();
  }

  void StartServices(int64_t max_changes = 1000000) {
    registry::AppConfig rc;
    rc.server.service_name = "registry";
    rc.server.metrics_address = "";
    rc.server.drain_timeout = absl::Milliseconds(200);
    rc.server.auth.allow_unauthenticated = true;
    rc.redis.port = redis_->port();
    registry_ = std::make_unique<registry::App>(rc);
    IPLUS_ASSERT_OK(registry_->Start());
    ingest::AppConfig ic;
    ic.server.service_name = "ingest";
    ic.server.metrics_address = "";
    ic.server.drain_timeout = absl::Milliseconds(200);
    ic.server.auth.allow_unauthenticated = true;
    ic.redis.port = redis_->port();
    ic.store.max_changes = max_changes;
    ic.registry_target = absl::StrCat("127.0.0.1:", registry_->grpc_port());
    ic.directory.poll_interval = absl::Milliseconds(50);
    ingest_ = std::make_unique<ingest::App>(ic);
    IPLUS_ASSERT_OK(ingest_->Start());
    registry_stub_ = rv1::RegistryService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", registry_->grpc_port()), grpc::InsecureChannelCredentials()));
    ingest_stub_ = iv1::IngestService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", ingest_->grpc_port()), grpc::InsecureChannelCredentials()));
    ASSERT_TRUE(Eventually([&] {
      iv1::ListIndicatorsResponse r;
      grpc::ClientContext c;
      return ingest_stub_->ListIndicators(&c, iv1::ListIndicatorsRequest(), &r).ok() &&
             r.indicators_size() >= 5;
    }));
  }

  void MakeFeed() {
    FeedOptions options;
    options.poll_interval = absl::Milliseconds(50);
    options.max_backoff = absl::Milliseconds(200);
    options.rpc_timeout = absl::Seconds(2);
    feed_ = std::make_unique<Feed>(registry_stub_.get(), ingest_stub_.get(), targets_.Source(),
                                   metrics_, options);
  }

  void Register(int first, int count) {
    rv1::BatchCreateEnterprisesRequest request;
    for (int n = first; n < first + count; ++n) {
      *request.add_requests()->mutable_enterprise() = Manufacturer(n);
    }
    rv1::BatchCreateEnterprisesResponse response;
    grpc::ClientContext c;
    ASSERT_TRUE(registry_stub_->BatchCreateEnterprises(&c, request, &response).ok());
    for (const auto& r : response.results())
      ASSERT_EQ(r.status().code(), 0) << r.status().message();
  }

  // Reports (code n, period, value) triples of one indicator in one batch; every item
  // must be accepted or revised.
  void Report(const std::vector<std::tuple<int, std::string, double>>& items,
              const std::string& indicator = kDevCycle) {
    iv1::ReportObservationsRequest request;
    for (const auto& [n, period, value] : items) {
      auto* o = request.add_observations();
      o->set_report_id(absl::StrCat("r-", ++report_));
      o->set_enterprise_code(CodeN(n));
      o->set_indicator(indicator);
      o->set_period(period);
      o->set_number_value(value);
    }
    // The registry directory of ingest may not have seen new enterprises yet.
    ASSERT_TRUE(Eventually([&] {
      iv1::ReportObservationsResponse response;
      grpc::ClientContext c;
      if (!ingest_stub_->ReportObservations(&c, request, &response).ok()) return false;
      for (const auto& r : response.results()) {
        if (r.outcome() == iv1::OUTCOME_REJECTED) return false;
      }
      return true;
    }));
  }

  int64_t IngestDataVersion(const std::string& period) {
    iv1::GetDataVersionsRequest request;
    auto* k = request.add_keys();
    k->set_indicator(kDevCycle);
    k->set_period(period);
    iv1::GetDataVersionsResponse response;
    grpc::ClientContext c;
    if (!ingest_stub_->GetDataVersions(&c, request, &response).ok()) return -1;
    return response.versions(0).version();
  }

  // The value the Dataset holds for code n, or nullopt.
  std::optional<double> Value(int n, int year, const std::string& indicator = kDevCycle) {
    return feed_->Read([&](const Dataset& d) -> std::optional<double> {
      auto i = d.Find(CodeN(n));
      const Column* c = d.column(indicator, Period::Year(year));
      if (!i || c == nullptr || static_cast<size_t>(*i) >= c->present.size() || !c->present[*i]) {
        return std::nullopt;
      }
      return c->values[*i];
    });
  }

  int64_t DataVersion(int year, const std::string& indicator = kDevCycle) {
    return feed_->Read(
        [&](const Dataset& d) { return d.data_version(indicator, Period::Year(year)); });
  }

  double Loads(const std::string& reason) {
    return MetricValue(metrics_, "iplus_evaluation_feed_column_loads_total", {{"reason", reason}});
  }

  std::unique_ptr<test::RedisServer> redis_;
  std::unique_ptr<registry::App> registry_;
  std::unique_ptr<ingest::App> ingest_;
  std::unique_ptr<rv1::RegistryService::Stub> registry_stub_;
  std::unique_ptr<iv1::IngestService::Stub> ingest_stub_;
  FakeTargets targets_;
  metrics::Registry metrics_;
  std::unique_ptr<Feed> feed_;
  int report_ = 0;
};

TEST_F(FeedTest, LoadsEverythingThenFollowsEventsAndChanges) {
  StartServices();
  Register(1, 3);
  Report({{1, "2015", 100}, {2, "2015", 120}, {1, "2016", 95}});
  MakeFeed();
  EXPECT_FALSE(feed_->ready());
  feed_->Start();
  ASSERT_TRUE(Eventually([&] { return feed_->ready(); }));

  // The initial load: every enterprise, and the target's columns 2015..2018 at the data
  // versions ingest reports.
  EXPECT_EQ(feed_->Read([](const Dataset& d) { return d.size(); }), 3);
  EXPECT_EQ(Value(1, 2015), 100);
  EXPECT_EQ(Value(2, 2015), 120);
  EXPECT_EQ(Value(3, 2015), std::nullopt);
  EXPECT_EQ(Value(1, 2016), 95);
  EXPECT_EQ(DataVersion(2015), IngestDataVersion("2015"));
  EXPECT_GT(DataVersion(2015), 0);
  EXPECT_EQ(Loads("initial"), 4);
  EXPECT_EQ(MetricValue(metrics_, "iplus_evaluation_feed_ready"), 1);
  EXPECT_EQ(MetricValue(metrics_, "iplus_evaluation_feed_initial_columns", {{"state", "total"}}),
            4);
  EXPECT_EQ(MetricValue(metrics_, "iplus_evaluation_feed_initial_columns", {{"state", "loaded"}}),
            4);
  const int64_t registry_version =
      feed_->Read([](const Dataset& d) { return d.registry_version(); });
  EXPECT_GT(registry_version, 0);

  // A registry event: a new enterprise, then an archive.
  uint64_t generation = feed_->generation();
  Register(4, 1);
  ASSERT_TRUE(Eventually(
      [&] { return feed_->Read([](const Dataset& d) { return d.Find(CodeN(4)).has_value(); }); }));
  EXPECT_GT(feed_->generation(), generation);
  EXPECT_GT(feed_->Read([](const Dataset& d) { return d.registry_version(); }), registry_version);
  {
    rv1::ArchiveEnterpriseRequest request;
    request.set_code(CodeN(3));
    rv1::ArchiveEnterpriseResponse response;
    grpc::ClientContext c;
    ASSERT_TRUE(registry_stub_->ArchiveEnterprise(&c, request, &response).ok());
  }
  ASSERT_TRUE(Eventually([&] {
    return feed_->Read([](const Dataset& d) { return d.attrs(*d.Find(CodeN(3))).archived; });
  }));

  // An observation: a listed change, applied value by value without a scan.
  Report({{1, "2017", 90}});
  ASSERT_TRUE(Eventually([&] { return Value(1, 2017) == 90.0; }));
  EXPECT_EQ(DataVersion(2017), IngestDataVersion("2017"));
  EXPECT_GE(MetricValue(metrics_, "iplus_evaluation_feed_changes_applied_total"), 1);
  // A revision of a loaded value, and a value of the enterprise registered later.
  Report({{1, "2017", 88}, {4, "2017", 70}});
  ASSERT_TRUE(Eventually([&] { return Value(1, 2017) == 88.0 && Value(4, 2017) == 70.0; }));
  EXPECT_EQ(Loads("unlisted"), 0);
  EXPECT_EQ(Loads("gap"), 0);
  EXPECT_EQ(Loads("initial"), 4);

  // A period after the deadline of a followed indicator: loaded when its first change
  // arrives.
  Report({{2, "2020", 80}});
  ASSERT_TRUE(Eventually([&] { return Value(2, 2020) == 80.0; }));
  EXPECT_EQ(Loads("new_period"), 1);
}

TEST_F(FeedTest, AnUnlistedChangeIsRescanned) {
  StartServices();
  Register(1, 80);
  MakeFeed();
  feed_->Start();
  ASSERT_TRUE(Eventually([&] { return feed_->ready(); }));
  const double applied = MetricValue(metrics_, "iplus_evaluation_feed_changes_applied_total");

  // 70 values of one key in one batch: more than a change lists.
  std::vector<std::tuple<int, std::string, double>> items;
  for (int n = 1; n <= 70; ++n) items.emplace_back(n, "2016", 100 + n);
  Report(items);
  ASSERT_TRUE(Eventually([&] {
    return feed_->Read([](const Dataset& d) {
      const Column* c = d.column(kDevCycle, Period::Year(2016));
      return c != nullptr && c->reporters == 70;
    });
  }));
  EXPECT_EQ(Value(70, 2016), 170);
  EXPECT_EQ(DataVersion(2016), IngestDataVersion("2016"));
  EXPECT_EQ(Loads("unlisted"), 1);
  EXPECT_EQ(MetricValue(metrics_, "iplus_evaluation_feed_changes_applied_total"), applied);
}

TEST_F(FeedTest, ATrimmedChangeStreamRescansEverything) {
  StartServices(/*max_changes=*/2);
  Register(1, 3);
  Report({{1, "2015", 100}});
  MakeFeed();
  // Rounds on this thread: nothing runs between the reports below.
  IPLUS_ASSERT_OK(feed_->SyncNow());
  ASSERT_TRUE(feed_->ready());
  EXPECT_EQ(Value(1, 2015), 100);

  // Many changes while the feed is not looking: the stream keeps only the newest.
  for (int i = 0; i < 20; ++i) Report({{2, "2016", 50.0 + i}});
  Report({{3, "2015", 130}});
  IPLUS_ASSERT_OK(feed_->SyncNow());
  EXPECT_GE(Loads("truncated"), 4);
  EXPECT_EQ(Value(2, 2016), 69);
  EXPECT_EQ(Value(3, 2015), 130);
  EXPECT_EQ(DataVersion(2016), IngestDataVersion("2016"));
  EXPECT_EQ(DataVersion(2015), IngestDataVersion("2015"));
}

TEST_F(FeedTest, ColumnsOfNewTargetsAndOfRequestsAreLoadedOnDemand) {
  StartServices();
  Register(1, 2);
  Report({{1, "2015", 5}, {2, "2015", 7}}, "inventory_turnover");
  MakeFeed();
  feed_->Start();
  ASSERT_TRUE(Eventually([&] { return feed_->ready(); }));
  EXPECT_EQ(Value(1, 2015, "inventory_turnover"), std::nullopt);

  targets_.Set(
      {MeanTarget("dev-cycle", kDevCycle), MeanTarget("inventory-turnover", "inventory_turnover")});
  ASSERT_TRUE(Eventually([&] { return Value(1, 2015, "inventory_turnover") == 5.0; }));
  ASSERT_TRUE(Eventually([&] { return Loads("new_target") == 4; }));
  EXPECT_EQ(feed_->targets().size(), 2u);

  // A period nobody loaded: on the request's thread, once.
  IPLUS_EXPECT_OK(feed_->EnsureColumns(kDevCycle, Period::Year(2015), Period::Year(2021),
                                       absl::Now() + absl::Seconds(5)));
  EXPECT_EQ(Loads("on_demand"), 3);  // 2019, 2020, 2021
  IPLUS_EXPECT_OK(feed_->EnsureColumns(kDevCycle, Period::Year(2019), Period::Year(2021),
                                       absl::Now() + absl::Seconds(5)));
  EXPECT_EQ(Loads("on_demand"), 3);
  EXPECT_THAT(feed_->EnsureColumns("no_such_indicator", Period::Year(2015), Period::Year(2016),
                                   absl::Now() + absl::Seconds(5)),
              StatusIs(absl::StatusCode::kNotFound));

  auto info = feed_->Indicator("industry_cloud");
  ASSERT_THAT(info, IsOk());
  EXPECT_TRUE(info->boolean);
  EXPECT_EQ(info->granularity, refdata::Granularity::kYear);
  EXPECT_THAT(feed_->Indicator("no_such_indicator", true), StatusIs(absl::StatusCode::kNotFound));

  // Ingest gone: what is loaded stays, a new column is UNAVAILABLE, quickly.
  ingest_->Shutdown();
  const absl::Time start = absl::Now();
  EXPECT_THAT(feed_->EnsureColumns(kDevCycle, Period::Year(2022), Period::Year(2022),
                                   absl::Now() + absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, absl::Seconds(6));
  EXPECT_EQ(Value(2, 2015, "inventory_turnover"), 7);
  EXPECT_TRUE(feed_->ready());
  EXPECT_THAT(feed_->Indicator("energy_utilization_rate", true),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(FeedTest, PeriodHelpers) {
  EXPECT_THAT(PeriodsBetween(Period::Year(2015), Period::Year(2018)),
              ::testing::ElementsAre(Period::Year(2015), Period::Year(2016), Period::Year(2017),
                                     Period::Year(2018)));
  EXPECT_TRUE(PeriodsBetween(Period::Year(2018), Period::Year(2015)).empty());
  EXPECT_TRUE(PeriodsBetween(Period::Year(2015), Period::Quarter(2016, 1)).empty());
  EXPECT_EQ(PeriodsBetween(Period::Quarter(2015, 3), Period::Quarter(2016, 2)).size(), 4u);
  // 2018-12-31 17:00 UTC is already 2019-01-01 in China.
  const absl::Time t =
      absl::FromCivil(absl::CivilSecond(2018, 12, 31, 17, 0, 0), absl::UTCTimeZone());
  EXPECT_EQ(CurrentPeriod(refdata::Granularity::kYear, t), Period::Year(2019));
  EXPECT_EQ(CurrentPeriod(refdata::Granularity::kQuarter, t), Period::Quarter(2019, 1));
  EXPECT_EQ(CurrentPeriod(refdata::Granularity::kMonth, t), Period::Month(2019, 1));
}

}  // namespace
}  // namespace iplus::evaluation
