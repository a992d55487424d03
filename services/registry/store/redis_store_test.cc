// The Redis store against a real redis-server on a free port, through the domain core
// where that is how the store is used.

#include "services/registry/store/redis_store.h"

#include <cstdio>
#include <set>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/clock/clock.h"
#include "common/redis/client.h"
#include "common/refdata/credit_code.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/registry/domain/registry.h"

namespace iplus::registry {
namespace {

using ::iplus::test::IsOk;
using ::iplus::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::SizeIs;

std::string CodeN(int n) { return refdata::CompleteCreditCode(absl::StrFormat("91440100%08d", n)); }

EnterpriseContent Manufacturer(const std::string& region = "440103",
                               const std::string& industry = "C34") {
  EnterpriseContent c;
  c.name = "Precision Parts";
  c.region = region;
  c.industry = industry;
  c.ownership = Ownership::kPrivate;
  c.size = EnterpriseSize::kMedium;
  c.key_enterprise = true;
  c.kind = OrganizationKind::kManufacturer;
  return c;
}

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(server_.Start(), IsOk());
    redis::Options options;
    options.port = server_.port();
    client_ = std::make_unique<redis::Client>(options);
    store_ = std::make_unique<RedisStore>(client_.get(), RedisStoreOptions{"", 5});
    registry_ = std::make_unique<Registry>(store_.get(), &clock_, RegistryConfig{});
  }

  test::RedisServer server_;
  std::unique_ptr<redis::Client> client_;
  std::unique_ptr<RedisStore> store_;
  FakeClock clock_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(RedisStoreTest, CreateGetRoundTripsEveryField) {
  EnterpriseContent c = Manufacturer();
  c.labels = {{"a", "1"}, {"b", "two"}};
  auto r = registry_->Create(CodeN(1), c);
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->created);
  EXPECT_EQ(r->enterprise.version, 1);
  auto got = store_->Get(CodeN(1));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->content, c);
  EXPECT_EQ(got->revision, 1);
  EXPECT_EQ(got->version, 1);
  EXPECT_EQ(got->create_time, clock_.Now());
  auto again = registry_->Create(CodeN(1), c);
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(*store_->Version(), 1);
  c.name = "changed";
  EXPECT_THAT(registry_->Create(CodeN(1), c), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store_->Get(CodeN(2)), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RedisStoreTest, BatchCreateAndGetMany) {
  std::vector<std::pair<std::string, EnterpriseContent>> items;
  for (int i = 0; i < 300; ++i) items.push_back({CodeN(i), Manufacturer()});
  auto r = registry_->BatchCreate(items);
  ASSERT_THAT(r, IsOk());
  for (const auto& item : *r) ASSERT_TRUE(item.ok() && item->created);
  auto many = store_->GetMany({CodeN(5), CodeN(1000), CodeN(299)});
  ASSERT_THAT(many, IsOk());
  EXPECT_TRUE((*many)[0].has_value());
  EXPECT_FALSE((*many)[1].has_value());
  EXPECT_EQ((*many)[2]->code, CodeN(299));
  EXPECT_EQ(*store_->Version(), 300);
}

TEST_F(RedisStoreTest, UpdatesMoveIndexesAndCounts) {
  ASSERT_THAT(registry_->Create(CodeN(1), Manufacturer("440103", "C34")), IsOk());
  ASSERT_THAT(registry_->Create(CodeN(2), Manufacturer("440305", "C26")), IsOk());
  ASSERT_THAT(registry_->Create(CodeN(3), Manufacturer("350102", "C26")), IsOk());
  EnterpriseContent patch;
  patch.region = "350203";
  ASSERT_THAT(registry_->Update(CodeN(1), patch, {"region"}, "r1"), IsOk());
  Query q;
  q.region_prefix = "4401";
  EXPECT_THAT(registry_->List(q, 10, "")->enterprises, SizeIs(0));
  q.region_prefix = "35";
  EXPECT_THAT(registry_->List(q, 10, "")->enterprises, SizeIs(2));
  q.region_prefix = "3502";
  EXPECT_THAT(registry_->List(q, 10, "")->enterprises, SizeIs(1));
  ASSERT_THAT(registry_->Archive(CodeN(3), "closed", ""), IsOk());

  // The maintained counts (unfiltered) equal the counts of a scan (filtered path).
  auto counted = registry_->Count(Query{}, Dimension::kProvince);
  ASSERT_THAT(counted, IsOk());
  EXPECT_THAT(counted->groups, ElementsAre(std::make_pair(std::string("350000"), int64_t{1}),
                                           std::make_pair(std::string("440000"), int64_t{1})));
  EXPECT_EQ(counted->registry_version, 5);
  Query all_active;
  all_active.region_prefix = "";
  all_active.name_prefix = "Precision";  // forces the scan path
  auto scanned = registry_->Count(all_active, Dimension::kProvince);
  ASSERT_THAT(scanned, IsOk());
  EXPECT_EQ(scanned->groups, counted->groups);
  auto by_division = registry_->Count(Query{}, Dimension::kIndustryDivision);
  EXPECT_THAT(by_division->groups, ElementsAre(std::make_pair(std::string("C26"), int64_t{1}),
                                               std::make_pair(std::string("C34"), int64_t{1})));
  Query archived;
  archived.include_archived = true;
  EXPECT_EQ(registry_->Count(archived, Dimension::kKind)->total, 3);
}

TEST_F(RedisStoreTest, StaleRevisionIsAborted) {
  ASSERT_THAT(registry_->Create(CodeN(1), Manufacturer()), IsOk());
  Enterprise e = *store_->Get(CodeN(1));
  e.revision = 5;
  EXPECT_THAT(store_->Replace(e, EventType::kEnterpriseUpdated),
              StatusIs(absl::StatusCode::kAborted));
  e.code = CodeN(9);
  EXPECT_THAT(store_->Replace(e, EventType::kEnterpriseUpdated),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RedisStoreTest, PagingUsesTheSmallestIndexAndStaysStable) {
  for (int i = 0; i < 120; ++i) {
    ASSERT_THAT(registry_->Create(CodeN(i), Manufacturer(i % 3 == 0 ? "440103" : "440305",
                                                         i % 4 == 0 ? "C26" : "C34")),
                IsOk());
  }
  Query q;
  q.region_prefix = "440103";
  q.industry_prefix = "C26";
  std::vector<std::string> seen;
  std::string token;
  do {
    auto page = registry_->List(q, 4, token);
    ASSERT_THAT(page, IsOk());
    for (const auto& e : page->enterprises) seen.push_back(e.code);
    token = page->next_page_token;
    // Concurrent writes between pages.
    static int extra = 1000;
    ASSERT_THAT(registry_->Create(CodeN(extra++), Manufacturer("440103", "C26")), IsOk());
  } while (!token.empty() && seen.size() < 200);
  std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size());
  int expected_original = 0;
  for (int i = 0; i < 120; ++i) {
    if (i % 12 == 0) {
      ++expected_original;
      EXPECT_EQ(unique.count(CodeN(i)), 1u) << i;
    }
  }
  EXPECT_EQ(expected_original, 10);
}

TEST_F(RedisStoreTest, EventsAreCappedAndTruncationIsReported) {
  for (int i = 0; i < 400; ++i) ASSERT_THAT(registry_->Create(CodeN(i), Manufacturer()), IsOk());
  auto tail = registry_->ListEvents(395, 0);
  ASSERT_THAT(tail, IsOk());
  ASSERT_THAT(tail->events, SizeIs(5));
  EXPECT_EQ(tail->events[0].version, 396);
  EXPECT_EQ(tail->events[0].type, EventType::kEnterpriseCreated);
  EXPECT_EQ(tail->events[0].code, CodeN(395));
  EXPECT_FALSE(tail->truncated);
  EXPECT_EQ(tail->registry_version, 400);
  auto old = registry_->ListEvents(0, 0);
  ASSERT_THAT(old, IsOk());
  EXPECT_TRUE(old->truncated);  // cap of ~5 entries
  auto none = registry_->ListEvents(400, 0);
  EXPECT_THAT(none->events, SizeIs(0));
  EXPECT_FALSE(none->truncated);
}

TEST_F(RedisStoreTest, LinksLifecycle) {
  ASSERT_THAT(registry_->Create(CodeN(1), Manufacturer()), IsOk());
  ASSERT_THAT(registry_->Create(CodeN(2), Manufacturer()), IsOk());
  Link link{CodeN(1), CodeN(2), LinkType::kJointVenture, "jv", clock_.Now()};
  auto created = registry_->CreateLink(link);
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->change, LinkChange::kApplied);
  EXPECT_EQ(registry_->CreateLink(link)->change, LinkChange::kAlreadyDone);
  EXPECT_THAT(registry_->CreateLink(Link{CodeN(1), CodeN(7), LinkType::kJointVenture, "", {}}),
              StatusIs(absl::StatusCode::kNotFound));
  auto from_other_end = registry_->ListLinks(CodeN(2), 0, "");
  ASSERT_THAT(from_other_end, IsOk());
  ASSERT_THAT(from_other_end->first, SizeIs(1));
  EXPECT_EQ(from_other_end->first[0].note, "jv");
  ASSERT_THAT(registry_->Archive(CodeN(2), "", ""), IsOk());
  EXPECT_THAT(registry_->CreateLink(Link{CodeN(1), CodeN(2), LinkType::kLogistics, "", {}}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(registry_->DeleteLink(link), IsOk());
  EXPECT_THAT(registry_->DeleteLink(link), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(registry_->ListLinks(CodeN(1), 0, "")->first, SizeIs(0));
}

TEST_F(RedisStoreTest, RegionsHaveSeparateKeys) {
  RedisStore guangdong(client_.get(), RedisStoreOptions{"44", 100});
  RedisStore beijing(client_.get(), RedisStoreOptions{"11", 100});
  EXPECT_EQ(guangdong.prefix(), "iplus:{registry:44}:");
  Enterprise e;
  e.code = CodeN(1);
  e.content = Manufacturer();
  e.revision = 1;
  ASSERT_THAT(guangdong.Create(e), IsOk());
  EXPECT_THAT(beijing.Get(CodeN(1)), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RedisStoreTest, UnreachableRedisIsUnavailableQuickly) {
  ASSERT_THAT(registry_->Create(CodeN(1), Manufacturer()), IsOk());
  server_.Stop();
  absl::Time start = absl::Now();
  EXPECT_THAT(registry_->Get(CodeN(1)), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(registry_->Create(CodeN(2), Manufacturer()),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
}

}  // namespace
}  // namespace iplus::registry
