// The target store, the result cache and request-id replay against a real redis-server
// on a free port.

#include <algorithm>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "common/redis/client.h"
#include "common/replay/replay_cache.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/evaluation/convert/convert.h"
#include "services/evaluation/store/result_cache.h"
#include "services/evaluation/store/target_store.h"

namespace iplus::evaluation {
namespace {

using ::iplus::test::IsOk;
using ::iplus::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

Target DevCycle(const std::string& id = "dev-cycle", const std::string& title = "Dev cycle") {
  Target t;
  t.id = id;
  t.title = title;
  t.indicator = "product_dev_cycle_days";
  t.population.kind = 1;
  t.aggregation = Aggregation::kMean;
  t.rule.kind = Rule::Kind::kRelativeChange;
  t.rule.value = -0.12;
  t.baseline = Period::Year(2015);
  t.deadline = Period::Year(2018);
  t.create_time = t.update_time = absl::FromUnixSeconds(1500000000);
  t.etag = EtagOfRevision(1);
  return t;
}

std::vector<std::string> Ids(const std::vector<Target>& targets) {
  std::vector<std::string> ids;
  for (const auto& t : targets) ids.push_back(t.id);
  return ids;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(server_.Start(), IsOk());
    redis::Options options;
    options.port = server_.port();
    client_ = std::make_unique<redis::Client>(options);
    store_ = std::make_unique<TargetStore>(client_.get(), TargetStoreOptions{"44"});
  }

  std::vector<std::string> Keys() {
    auto reply = client_->Command({"KEYS", "*"});
    std::vector<std::string> keys;
    if (reply.ok()) {
      for (const auto& k : reply->elements()) keys.push_back(k.str());
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  test::RedisServer server_;
  std::unique_ptr<redis::Client> client_;
  std::unique_ptr<TargetStore> store_;
};

TEST_F(StoreTest, KeysArePrefixedByServiceAndRegion) {
  EXPECT_EQ(EvaluationKeyPrefix("44"), "iplus:{evaluation:44}:");
  EXPECT_EQ(EvaluationKeyPrefix(""), "iplus:{evaluation:all}:");
  ASSERT_THAT(store_->Create(DevCycle()), IsOk());
  EXPECT_THAT(Keys(), ElementsAre("iplus:{evaluation:44}:t", "iplus:{evaluation:44}:te",
                                  "iplus:{evaluation:44}:tver"));
}

TEST_F(StoreTest, CreateThenGetRoundTripsEveryField) {
  Target t = DevCycle();
  t.population.key_only = true;
  t.population.ownership = 3;
  t.population.size = 2;
  t.panel_mode = PanelMode::kAllReporters;
  t.coverage_floor = 0.5;
  t.description = "twelve per cent shorter";
  auto created = store_->Create(t);
  ASSERT_THAT(created, IsOk());
  EXPECT_TRUE(created->second);
  auto got = store_->Get("dev-cycle");
  ASSERT_THAT(got, IsOk());
  EXPECT_TRUE(SameContent(*got, t));
  EXPECT_EQ(got->etag, "r1");
  EXPECT_EQ(got->create_time, t.create_time);
  EXPECT_THAT(got->coverage_floor, Optional(0.5));
  EXPECT_EQ(got->baseline, Period::Year(2015));
}

TEST_F(StoreTest, CreateOfAnExistingIdReturnsTheStoredTarget) {
  ASSERT_THAT(store_->Create(DevCycle("dev-cycle", "first")), IsOk());
  auto again = store_->Create(DevCycle("dev-cycle", "second"));
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(again->second);
  EXPECT_EQ(again->first.title, "first");
  EXPECT_EQ(store_->Get("dev-cycle")->title, "first");
}

TEST_F(StoreTest, GetOfAnUnknownIdIsNotFound) {
  EXPECT_THAT(store_->Get("nope"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope")));
}

TEST_F(StoreTest, ReplaceAppliesOnlyOverTheExpectedEtag) {
  ASSERT_THAT(store_->Create(DevCycle()), IsOk());
  Target updated = DevCycle("dev-cycle", "renamed");
  updated.etag = EtagOfRevision(2);
  ASSERT_THAT(store_->Replace(updated, "r1"), IsOk());
  EXPECT_EQ(store_->Get("dev-cycle")->title, "renamed");
  EXPECT_EQ(store_->Get("dev-cycle")->etag, "r2");

  // A writer that read r1 is refused and told the stored etag.
  Target stale = DevCycle("dev-cycle", "stale");
  stale.etag = EtagOfRevision(2);
  EXPECT_THAT(store_->Replace(stale, "r1"),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("\"r2\"")));
  EXPECT_EQ(store_->Get("dev-cycle")->title, "renamed");

  Target missing = DevCycle("missing");
  EXPECT_THAT(store_->Replace(missing, "r1"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(StoreTest, ArchivedTargetsStayReadable) {
  ASSERT_THAT(store_->Create(DevCycle()), IsOk());
  Target archived = DevCycle();
  archived.archived = true;
  archived.etag = EtagOfRevision(2);
  ASSERT_THAT(store_->Replace(archived, "r1"), IsOk());
  auto got = store_->Get("dev-cycle");
  ASSERT_THAT(got, IsOk());
  EXPECT_TRUE(got->archived);
  auto all = store_->All();
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_TRUE((*all)[0].archived);
}

TEST_F(StoreTest, AllIsInIdOrderAndEveryChangeMovesTheVersion) {
  EXPECT_THAT(store_->Version(), test::IsOkAndHolds(0));
  ASSERT_THAT(store_->Create(DevCycle("c-target")), IsOk());
  ASSERT_THAT(store_->Create(DevCycle("a-target")), IsOk());
  ASSERT_THAT(store_->Create(DevCycle("b-target")), IsOk());
  auto all = store_->All();
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(Ids(*all), ElementsAre("a-target", "b-target", "c-target"));
  auto v1 = store_->Version();
  ASSERT_THAT(v1, IsOk());
  EXPECT_EQ(*v1, 3);
  // An existing id changes nothing, so the version stays.
  ASSERT_THAT(store_->Create(DevCycle("a-target")), IsOk());
  EXPECT_THAT(store_->Version(), test::IsOkAndHolds(3));
  Target t = DevCycle("a-target", "new title");
  t.etag = "r2";
  ASSERT_THAT(store_->Replace(t, "r1"), IsOk());
  EXPECT_THAT(store_->Version(), test::IsOkAndHolds(4));
}

TEST_F(StoreTest, SeedingHappensOnceAndKeepsLaterEdits) {
  // A target created before the first seeding is not overwritten by it.
  ASSERT_THAT(store_->Create(DevCycle("dev-cycle", "created by hand")), IsOk());
  std::vector<Target> seed = {DevCycle("dev-cycle", "seeded"), DevCycle("inventory", "seeded")};
  EXPECT_THAT(store_->Seed(seed), test::IsOkAndHolds(true));
  EXPECT_EQ(store_->Get("dev-cycle")->title, "created by hand");
  EXPECT_EQ(store_->Get("inventory")->title, "seeded");
  EXPECT_EQ(store_->Get("inventory")->etag, "r1");

  // A regulator edits and archives; a restart seeds again: nothing changes.
  Target edited = DevCycle("inventory", "edited");
  edited.archived = true;
  edited.etag = "r2";
  ASSERT_THAT(store_->Replace(edited, "r1"), IsOk());
  seed.push_back(DevCycle("new-in-file", "seeded"));
  EXPECT_THAT(store_->Seed(seed), test::IsOkAndHolds(false));
  auto inventory = store_->Get("inventory");
  ASSERT_THAT(inventory, IsOk());
  EXPECT_EQ(inventory->title, "edited");
  EXPECT_TRUE(inventory->archived);
  EXPECT_THAT(store_->Get("new-in-file"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(StoreTest, RedisDownIsUnavailable) {
  server_.Stop();
  EXPECT_THAT(store_->Get("dev-cycle"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store_->All(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store_->Create(DevCycle()), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(StoreTest, RequestIdsReplayUnderTheEvaluationPrefix) {
  redis::ReplayCache replay(client_.get(), store_->prefix());
  auto first = replay.Lookup("CreateTarget", "req-1", "request bytes");
  ASSERT_THAT(first, IsOk());
  EXPECT_FALSE(first->has_value());
  ASSERT_THAT(replay.Store("CreateTarget", "req-1", "request bytes", "response bytes"), IsOk());
  auto again = replay.Lookup("CreateTarget", "req-1", "request bytes");
  ASSERT_THAT(again, IsOk());
  EXPECT_THAT(*again, Optional(std::string("response bytes")));
  EXPECT_THAT(replay.Lookup("CreateTarget", "req-1", "other request"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("request_id")));
  bool found = false;
  for (const auto& k : Keys()) {
    found |= absl::StartsWith(k, "iplus:{evaluation:44}:rid:CreateTarget:req-1");
  }
  EXPECT_TRUE(found);
}

// --- the result cache ---------------------------------------------------------------

CacheKeyParts Parts() {
  CacheKeyParts p;
  p.kind = "evaluate";
  p.target_id = "dev-cycle";
  p.target_etag = "r1";
  p.scope.region_prefix = "44";
  p.period = Period::Year(2017);
  p.registry_version = 40;
  for (int y = 2015; y <= 2017; ++y) {
    p.ingest_versions.push_back(
        DataVersionEntry{"product_dev_cycle_days", Period::Year(y), y - 2000});
  }
  return p;
}

class ResultCacheTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    cache_ = std::make_unique<ResultCache>(client_.get(), store_->prefix(), absl::Minutes(10));
  }
  std::unique_ptr<ResultCache> cache_;
};

TEST_F(ResultCacheTest, EveryPartOfTheKeyMatters) {
  const std::string base = cache_->Key(Parts());
  EXPECT_EQ(cache_->Key(Parts()), base) << "the key must be stable";
  EXPECT_TRUE(absl::StartsWith(base, "iplus:{evaluation:44}:res:"));
  EXPECT_EQ(base.size(), std::string("iplus:{evaluation:44}:res:").size() + 32);
  std::vector<std::function<void(CacheKeyParts&)>> changes = {
      [](CacheKeyParts& p) { p.kind = "breakdown"; },
      [](CacheKeyParts& p) { p.target_id = "dev-cycle-2"; },
      [](CacheKeyParts& p) { p.target_etag = "r2"; },
      [](CacheKeyParts& p) { p.scope.region_prefix = "4401"; },
      [](CacheKeyParts& p) { p.scope.industry_prefix = "C26"; },
      [](CacheKeyParts& p) { p.scope.ownership = 3; },
      [](CacheKeyParts& p) { p.scope.size = 1; },
      [](CacheKeyParts& p) { p.scope.key_only = true; },
      [](CacheKeyParts& p) { p.scope.kind = 1; },
      [](CacheKeyParts& p) { p.period = Period::Year(2018); },
      [](CacheKeyParts& p) { p.dimension = 1; },
      [](CacheKeyParts& p) { p.registry_version = 41; },
      [](CacheKeyParts& p) { p.ingest_versions[1].version += 1; },
      [](CacheKeyParts& p) { p.ingest_versions.pop_back(); },
  };
  std::set<std::string> keys = {base};
  for (size_t i = 0; i < changes.size(); ++i) {
    CacheKeyParts p = Parts();
    changes[i](p);
    EXPECT_TRUE(keys.insert(cache_->Key(p)).second) << "change " << i << " kept the key";
  }
}

TEST_F(ResultCacheTest, MissThenPutThenHitWithTheTtl) {
  const std::string a = cache_->Key(Parts());
  CacheKeyParts other = Parts();
  other.ingest_versions[2].version += 1;  // a new observation in 2017
  const std::string b = cache_->Key(other);

  auto miss = cache_->Get({a, b});
  ASSERT_THAT(miss, IsOk());
  EXPECT_THAT(*miss, ElementsAre(std::nullopt, std::nullopt));

  ASSERT_THAT(cache_->Put({{a, "result a"}}), IsOk());
  auto got = cache_->Get({a, b});
  ASSERT_THAT(got, IsOk());
  EXPECT_THAT(*got, ElementsAre(Optional(std::string("result a")), std::nullopt));

  auto ttl = client_->Command({"PTTL", a});
  ASSERT_THAT(ttl, IsOk());
  EXPECT_GT(ttl->integer(), 9 * 60 * 1000);
  EXPECT_LE(ttl->integer(), 10 * 60 * 1000);
  EXPECT_THAT(cache_->Get({}), test::IsOkAndHolds(::testing::IsEmpty()));
}

TEST_F(ResultCacheTest, RedisDownIsUnavailable) {
  server_.Stop();
  EXPECT_THAT(cache_->Get({cache_->Key(Parts())}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(cache_->Put({{"k", "v"}}), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace iplus::evaluation
