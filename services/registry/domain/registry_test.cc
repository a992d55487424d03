#include "services/registry/domain/registry.h"

#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_format.h"
#include "common/clock/clock.h"
#include "common/refdata/credit_code.h"
#include "common/status/status.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/registry/domain/memory_store.h"

namespace iplus::registry {
namespace {

using ::iplus::test::IsOk;
using ::iplus::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kCodeA[] = "91350100M000100Y43";  // region 350100 (Fuzhou)
constexpr char kCodeB[] = "91110000100006485K";  // region 110000 (Beijing)

// The n-th synthetic valid credit code: digits in the organisation body.
std::string CodeN(int n) { return refdata::CompleteCreditCode(absl::StrFormat("91440100%08d", n)); }

EnterpriseContent Manufacturer(const std::string& region = "440103") {
  EnterpriseContent c;
  c.name = "Guangzhou Precision Parts Co.";
  c.region = region;
  c.industry = "C34";
  c.ownership = Ownership::kPrivate;
  c.size = EnterpriseSize::kMedium;
  c.key_enterprise = true;
  c.kind = OrganizationKind::kManufacturer;
  c.labels = {{"cluster", "pearl-river"}};
  return c;
}

std::string FirstField(const absl::Status& s) {
  auto v = FieldViolations(s);
  return v.empty() ? "" : v[0].field;
}

class RegistryTest : public ::testing::Test {
 protected:
  explicit RegistryTest(RegistryConfig config = {}) : registry_(&store_, &clock_, config) {}
  MemoryStore store_;
  FakeClock clock_;
  Registry registry_;
};

TEST_F(RegistryTest, CreateThenGet) {
  auto r = registry_.Create(kCodeA, Manufacturer("350102"));
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->created);
  EXPECT_EQ(r->enterprise.revision, 1);
  EXPECT_EQ(r->enterprise.version, 1);
  EXPECT_EQ(r->enterprise.create_time, clock_.Now());
  auto got = registry_.Get(kCodeA);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->content, Manufacturer("350102"));
  EXPECT_EQ(EtagOf(*got), "r1");
}

TEST_F(RegistryTest, CreateIsIdempotentOnSameContent) {
  ASSERT_THAT(registry_.Create(kCodeA, Manufacturer()), IsOk());
  clock_.Advance(absl::Minutes(1));
  auto again = registry_.Create(kCodeA, Manufacturer());
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->enterprise.version, 1);  // nothing changed
  auto events = registry_.ListEvents(0, 0);
  ASSERT_THAT(events, IsOk());
  EXPECT_THAT(events->events, SizeIs(1));
}

TEST_F(RegistryTest, CreateWithDifferentContentIsAlreadyExists) {
  ASSERT_THAT(registry_.Create(kCodeA, Manufacturer()), IsOk());
  EnterpriseContent other = Manufacturer();
  other.name = "Another name";
  EXPECT_THAT(registry_.Create(kCodeA, other), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(registry_.Get(kCodeA)->content.name, Manufacturer().name);
}

TEST_F(RegistryTest, InvalidInputNamesTheFieldAndChangesNothing) {
  struct Case {
    std::string code;
    std::function<void(EnterpriseContent&)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {"91350100M000100Y44", [](EnterpriseContent&) {}, "enterprise.code"},
      {"91350100m000100y43", [](EnterpriseContent&) {}, "enterprise.code"},
      {"9135010", [](EnterpriseContent&) {}, "enterprise.code"},
      {kCodeA, [](EnterpriseContent& c) { c.name = "  "; }, "enterprise.name"},
      {kCodeA, [](EnterpriseContent& c) { c.name = std::string(301, 'x'); }, "enterprise.name"},
      {kCodeA, [](EnterpriseContent& c) { c.name = "bad \xff utf8"; }, "enterprise.name"},
      {kCodeA, [](EnterpriseContent& c) { c.region = "990000"; }, "enterprise.region"},
      {kCodeA, [](EnterpriseContent& c) { c.region = "44010"; }, "enterprise.region"},
      {kCodeA, [](EnterpriseContent& c) { c.industry = "C44"; }, "enterprise.industry"},
      {kCodeA, [](EnterpriseContent& c) { c.industry = "I64"; }, "enterprise.industry"},
      {kCodeA, [](EnterpriseContent& c) { c.industry = "X99"; }, "enterprise.industry"},
      {kCodeA, [](EnterpriseContent& c) { c.ownership = Ownership::kUnspecified; },
       "enterprise.ownership"},
      {kCodeA, [](EnterpriseContent& c) { c.ownership = static_cast<Ownership>(42); },
       "enterprise.ownership"},
      {kCodeA, [](EnterpriseContent& c) { c.size = EnterpriseSize::kUnspecified; },
       "enterprise.size"},
      {kCodeA, [](EnterpriseContent& c) { c.kind = OrganizationKind::kUnspecified; },
       "enterprise.kind"},
      {kCodeA, [](EnterpriseContent& c) { c.labels["Bad Key"] = "v"; },
       "enterprise.labels[Bad Key]"},
  };
  for (const auto& c : cases) {
    EnterpriseContent content = Manufacturer();
    c.mutate(content);
    auto r = registry_.Create(c.code, content);
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument)) << c.field;
    EXPECT_EQ(FirstField(r.status()), c.field) << r.status();
  }
  EXPECT_EQ(*store_.Version(), 0);
}

TEST_F(RegistryTest, NonManufacturerMayBeOutsideManufacturing) {
  EnterpriseContent c = Manufacturer();
  c.kind = OrganizationKind::kInternetServiceProvider;
  c.industry = "I64";
  EXPECT_THAT(registry_.Create(kCodeA, c), IsOk());
}

TEST(RegionalRegistryTest, RejectsEnterprisesOutsideTheRegion) {
  MemoryStore store;
  FakeClock clock;
  Registry registry(&store, &clock, [] {
    RegistryConfig c;
    c.region_prefix = "44";
    return c;
  }());
  auto r = registry.Create(kCodeB, Manufacturer("110101"));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outside")));
  EXPECT_EQ(FirstField(r.status()), "enterprise.region");
  EXPECT_THAT(registry.Create(kCodeB, Manufacturer("440103")), IsOk());
  Query q;
  q.region_prefix = "11";
  EXPECT_THAT(registry.List(q, 10, ""), StatusIs(absl::StatusCode::kInvalidArgument));
  q.region_prefix = "4401";
  EXPECT_THAT(registry.List(q, 10, ""), IsOk());
}

TEST_F(RegistryTest, BatchCreateReportsEachItem) {
  EnterpriseContent bad = Manufacturer();
  bad.region = "abc";
  EnterpriseContent other = Manufacturer();
  other.name = "Other";
  ASSERT_THAT(registry_.Create(CodeN(3), Manufacturer()), IsOk());
  auto r = registry_.BatchCreate({{CodeN(1), Manufacturer()},
                                  {CodeN(2), bad},
                                  {CodeN(3), other},
                                  {CodeN(1), Manufacturer()},
                                  {CodeN(4), Manufacturer()}});
  ASSERT_THAT(r, IsOk());
  ASSERT_THAT(*r, SizeIs(5));
  EXPECT_TRUE((*r)[0]->created);
  EXPECT_EQ(FirstField((*r)[1].status()), "requests[1].enterprise.region");
  EXPECT_THAT((*r)[2], StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_THAT((*r)[3], IsOk());
  EXPECT_FALSE((*r)[3]->created);
  EXPECT_TRUE((*r)[4]->created);
  EXPECT_THAT(registry_.Get(CodeN(2)), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RegistryTest, BatchLimits) {
  EXPECT_THAT(registry_.BatchCreate({}), StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<std::pair<std::string, EnterpriseContent>> many(1001, {CodeN(1), Manufacturer()});
  auto r = registry_.BatchCreate(many);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(FirstField(r.status()), "requests");
  std::vector<std::string> codes(1001, kCodeA);
  EXPECT_THAT(registry_.BatchGet(codes), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RegistryTest, BatchGetReturnsFoundAndMissing) {
  ASSERT_THAT(registry_.Create(CodeN(1), Manufacturer()), IsOk());
  auto r = registry_.BatchGet({CodeN(2), CodeN(1)});
  ASSERT_THAT(r, IsOk());
  ASSERT_THAT(r->enterprises, SizeIs(1));
  EXPECT_EQ(r->enterprises[0].code, CodeN(1));
  EXPECT_THAT(r->missing_codes, ElementsAre(CodeN(2)));
  auto bad = registry_.BatchGet({CodeN(1), "nope"});
  EXPECT_EQ(FirstField(bad.status()), "codes[1]");
}

TEST_F(RegistryTest, GetMissingAndMalformed) {
  EXPECT_THAT(registry_.Get(kCodeA), StatusIs(absl::StatusCode::kNotFound));
  auto r = registry_.Get("123");
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(FirstField(r.status()), "code");
}

TEST_F(RegistryTest, UpdateAppliesMaskAndChecksEtag) {
  ASSERT_THAT(registry_.Create(kCodeA, Manufacturer()), IsOk());
  EnterpriseContent patch;
  patch.name = "Renamed";
  patch.region = "990000";  // not in the mask, so ignored
  clock_.Advance(absl::Seconds(5));
  auto u = registry_.Update(kCodeA, patch, {"name"}, "r1");
  ASSERT_THAT(u, IsOk());
  EXPECT_EQ(u->content.name, "Renamed");
  EXPECT_EQ(u->content.region, "440103");
  EXPECT_EQ(u->revision, 2);
  EXPECT_EQ(u->update_time, clock_.Now());
  EXPECT_NE(u->update_time, u->create_time);
  // The old etag is stale now.
  EXPECT_THAT(registry_.Update(kCodeA, patch, {"name"}, "r1"),
              StatusIs(absl::StatusCode::kAborted));
  // Unconditional update.
  patch.name = "Again";
  EXPECT_THAT(registry_.Update(kCodeA, patch, {"name"}, ""), IsOk());
}

TEST_F(RegistryTest, UpdateRejectsBadMasksAndValues) {
  ASSERT_THAT(registry_.Create(kCodeA, Manufacturer()), IsOk());
  EnterpriseContent patch = Manufacturer();
  auto r = registry_.Update(kCodeA, patch, {}, "");
  EXPECT_EQ(FirstField(r.status()), "update_mask");
  r = registry_.Update(kCodeA, patch, {"code"}, "");
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("code")));
  r = registry_.Update(kCodeA, patch, {"archived"}, "");
  EXPECT_EQ(FirstField(r.status()), "update_mask");
  patch.industry = "C99";
  r = registry_.Update(kCodeA, patch, {"industry"}, "");
  EXPECT_EQ(FirstField(r.status()), "enterprise.industry");
  // Changing kind away from manufacturer with a manufacturing industry is fine; the
  // reverse with a non-manufacturing industry is not.
  patch = Manufacturer();
  patch.kind = OrganizationKind::kUniversity;
  patch.industry = "P83";
  ASSERT_THAT(registry_.Update(kCodeA, patch, {"kind", "industry"}, ""), IsOk());
  patch.kind = OrganizationKind::kManufacturer;
  r = registry_.Update(kCodeA, patch, {"kind"}, "");
  EXPECT_EQ(FirstField(r.status()), "enterprise.industry");
  EXPECT_EQ(registry_.Get(kCodeA)->content.kind, OrganizationKind::kUniversity);
  EXPECT_THAT(registry_.Update(kCodeB, patch, {"name"}, ""), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RegistryTest, ArchiveIsFinalAndIdempotent) {
  ASSERT_THAT(registry_.Create(kCodeA, Manufacturer()), IsOk());
  EXPECT_THAT(registry_.Archive(kCodeA, "merged", "r9"), StatusIs(absl::StatusCode::kAborted));
  auto a = registry_.Archive(kCodeA, "merged", "r1");
  ASSERT_THAT(a, IsOk());
  EXPECT_TRUE(a->archived);
  EXPECT_EQ(a->archive_reason, "merged");
  auto again = registry_.Archive(kCodeA, "other", "");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->revision, a->revision);
  EXPECT_EQ(again->archive_reason, "merged");
  EXPECT_THAT(registry_.Update(kCodeA, Manufacturer(), {"name"}, ""),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(registry_.Get(kCodeA), IsOk());  // never deleted
  EXPECT_THAT(registry_.Archive(kCodeB, "", ""), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RegistryTest, ConcurrentUnconditionalUpdatesAllApply) {
  ASSERT_THAT(registry_.Create(kCodeA, Manufacturer()), IsOk());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        EnterpriseContent patch;
        patch.labels = {{"writer", std::to_string(t)}};
        EXPECT_THAT(registry_.Update(kCodeA, patch, {"labels"}, ""), IsOk());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(registry_.Get(kCodeA)->revision, 101);
}

TEST_F(RegistryTest, ListFiltersAndPagesInCodeOrder) {
  for (int i = 0; i < 50; ++i) {
    EnterpriseContent c = Manufacturer(i % 2 == 0 ? "440103" : "440305");
    c.key_enterprise = i % 5 == 0;
    c.name = absl::StrCat(i % 3 == 0 ? "Alpha " : "Beta ", i);
    ASSERT_THAT(registry_.Create(CodeN(i), c), IsOk());
  }
  ASSERT_THAT(registry_.Archive(CodeN(0), "", ""), IsOk());
  Query q;
  q.region_prefix = "4401";
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = registry_.List(q, 7, token);
    ASSERT_THAT(page, IsOk());
    for (const auto& e : page->enterprises) seen.push_back(e.code);
    token = page->next_page_token;
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 4);
  EXPECT_THAT(seen, SizeIs(24));  // 25 in 4401, one archived
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));

  q.include_archived = true;
  q.key_only = true;
  q.name_prefix = "Alpha";
  auto page = registry_.List(q, 100, "");
  ASSERT_THAT(page, IsOk());
  // i even, i % 5 == 0, i % 3 == 0 → i in {0, 30}.
  ASSERT_THAT(page->enterprises, SizeIs(2));
  EXPECT_EQ(page->enterprises[0].code, CodeN(0));
  EXPECT_TRUE(page->next_page_token.empty());
}

TEST_F(RegistryTest, PageTokensNeitherSkipNorRepeatWhileOthersWrite) {
  for (int i = 0; i < 40; i += 2) ASSERT_THAT(registry_.Create(CodeN(i), Manufacturer()), IsOk());
  std::set<std::string> seen;
  std::string token;
  int odd = 1;
  do {
    auto page = registry_.List(Query{}, 5, token);
    ASSERT_THAT(page, IsOk());
    for (const auto& e : page->enterprises) {
      EXPECT_TRUE(seen.insert(e.code).second) << e.code;
    }
    token = page->next_page_token;
    // Writes between pages: new enterprises anywhere and updates of seen ones.
    if (odd < 40) {
      ASSERT_THAT(registry_.Create(CodeN(odd), Manufacturer()), IsOk());
    }
    odd += 2;
    EnterpriseContent patch;
    patch.name = "touched";
    ASSERT_THAT(registry_.Update(CodeN(0), patch, {"name"}, ""), IsOk());
  } while (!token.empty());
  for (int i = 0; i < 40; i += 2) EXPECT_EQ(seen.count(CodeN(i)), 1u) << i;
}

TEST_F(RegistryTest, PageTokenErrors) {
  ASSERT_THAT(registry_.Create(CodeN(1), Manufacturer()), IsOk());
  ASSERT_THAT(registry_.Create(CodeN(2), Manufacturer()), IsOk());
  auto page = registry_.List(Query{}, 1, "");
  ASSERT_THAT(page, IsOk());
  ASSERT_FALSE(page->next_page_token.empty());
  Query other;
  other.key_only = true;
  auto r = registry_.List(other, 1, page->next_page_token);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("different query")));
  EXPECT_EQ(FirstField(r.status()), "page_token");
  EXPECT_EQ(FirstField(registry_.List(Query{}, 1, "garbage!").status()), "page_token");
  EXPECT_EQ(FirstField(registry_.List(Query{}, 1001, "").status()), "page_size");
  EXPECT_EQ(FirstField(registry_.List(Query{}, -1, "").status()), "page_size");
  Query bad;
  bad.region_prefix = "4x";
  EXPECT_EQ(FirstField(registry_.List(bad, 1, "").status()), "scope.region_prefix");
  bad = Query{};
  bad.industry_prefix = "c2";
  EXPECT_EQ(FirstField(registry_.List(bad, 1, "").status()), "scope.industry_prefix");
}

TEST_F(RegistryTest, SelectiveListReturnsPartialPagesWithinBudget) {
  MemoryStore store;
  Registry registry(&store, &clock_, [] {
    RegistryConfig c;
    c.max_examined_per_page = 10;
    return c;
  }());
  for (int i = 0; i < 30; ++i) ASSERT_THAT(registry.Create(CodeN(i), Manufacturer()), IsOk());
  EnterpriseContent rare = Manufacturer("440305");
  ASSERT_THAT(registry.Create(CodeN(99), rare), IsOk());
  Query q;
  q.region_prefix = "4403";
  std::string token;
  std::vector<std::string> seen;
  int calls = 0;
  do {
    auto page = registry.List(q, 10, token);
    ASSERT_THAT(page, IsOk());
    for (const auto& e : page->enterprises) seen.push_back(e.code);
    token = page->next_page_token;
    ++calls;
  } while (!token.empty());
  EXPECT_THAT(seen, ElementsAre(CodeN(99)));
  EXPECT_GE(calls, 3);
}

TEST_F(RegistryTest, CountGroupsAndTotals) {
  for (int i = 0; i < 12; ++i) {
    EnterpriseContent c = Manufacturer(i < 8 ? "440103" : "350102");
    c.industry = i % 2 ? "C26" : "C3411";
    ASSERT_THAT(registry_.Create(CodeN(i), c), IsOk());
  }
  ASSERT_THAT(registry_.Archive(CodeN(0), "", ""), IsOk());
  auto by_province = registry_.Count(Query{}, Dimension::kProvince);
  ASSERT_THAT(by_province, IsOk());
  EXPECT_EQ(by_province->total, 11);
  EXPECT_THAT(by_province->groups, ElementsAre(std::make_pair(std::string("350000"), int64_t{4}),
                                               std::make_pair(std::string("440000"), int64_t{7})));
  Query q;
  q.region_prefix = "44";
  auto by_division = registry_.Count(q, Dimension::kIndustryDivision);
  ASSERT_THAT(by_division, IsOk());
  EXPECT_THAT(by_division->groups, ElementsAre(std::make_pair(std::string("C26"), int64_t{4}),
                                               std::make_pair(std::string("C34"), int64_t{3})));
  EXPECT_EQ(by_division->registry_version, 13);
  EXPECT_EQ(FirstField(registry_.Count(Query{}, Dimension::kUnspecified).status()), "group_by");
}

TEST_F(RegistryTest, ExportStreamsEverythingInBatches) {
  for (int i = 0; i < 23; ++i) ASSERT_THAT(registry_.Create(CodeN(i), Manufacturer()), IsOk());
  std::vector<size_t> sizes;
  std::vector<std::string> codes;
  ASSERT_THAT(registry_.Export(Query{}, 10,
                               [&](const std::vector<Enterprise>& batch, int64_t version) {
                                 EXPECT_EQ(version, 23);
                                 sizes.push_back(batch.size());
                                 for (const auto& e : batch) codes.push_back(e.code);
                                 return true;
                               }),
              IsOk());
  EXPECT_THAT(sizes, ElementsAre(10, 10, 3));
  EXPECT_TRUE(std::is_sorted(codes.begin(), codes.end()));
  EXPECT_EQ(FirstField(registry_.Export(Query{}, 5001, [](auto&, auto) { return true; })),
            "batch_size");
}

TEST_F(RegistryTest, LinksBetweenExistingActiveEnterprises) {
  ASSERT_THAT(registry_.Create(CodeN(1), Manufacturer()), IsOk());
  EnterpriseContent platform = Manufacturer();
  platform.kind = OrganizationKind::kPlatformOperator;
  platform.industry = "I64";
  ASSERT_THAT(registry_.Create(CodeN(2), platform), IsOk());
  Link link{CodeN(2), CodeN(1), LinkType::kPlatformService, "cloud MES", {}};
  auto created = registry_.CreateLink(link);
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->change, LinkChange::kApplied);
  auto again = registry_.CreateLink(link);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->change, LinkChange::kAlreadyDone);
  link.note = "changed";
  EXPECT_THAT(registry_.CreateLink(link), StatusIs(absl::StatusCode::kAlreadyExists));

  Link missing{CodeN(2), CodeN(3), LinkType::kLogistics, "", {}};
  EXPECT_THAT(registry_.CreateLink(missing),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(CodeN(3))));
  Link self{CodeN(2), CodeN(2), LinkType::kLogistics, "", {}};
  EXPECT_EQ(FirstField(registry_.CreateLink(self).status()), "link.to_code");
  Link untyped{CodeN(2), CodeN(1), LinkType::kUnspecified, "", {}};
  EXPECT_EQ(FirstField(registry_.CreateLink(untyped).status()), "link.type");

  auto links = registry_.ListLinks(CodeN(1), 0, "");
  ASSERT_THAT(links, IsOk());
  ASSERT_THAT(links->first, SizeIs(1));
  EXPECT_EQ(links->first[0].note, "cloud MES");

  ASSERT_THAT(registry_.Archive(CodeN(1), "", ""), IsOk());
  Link to_archived{CodeN(2), CodeN(1), LinkType::kLogistics, "", {}};
  EXPECT_THAT(registry_.CreateLink(to_archived), StatusIs(absl::StatusCode::kFailedPrecondition));

  EXPECT_THAT(registry_.DeleteLink(Link{CodeN(2), CodeN(1), LinkType::kPlatformService, "", {}}),
              IsOk());
  EXPECT_THAT(registry_.DeleteLink(Link{CodeN(2), CodeN(1), LinkType::kPlatformService, "", {}}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RegistryTest, LinkPaging) {
  ASSERT_THAT(registry_.Create(CodeN(0), Manufacturer()), IsOk());
  for (int i = 1; i <= 5; ++i) {
    ASSERT_THAT(registry_.Create(CodeN(i), Manufacturer()), IsOk());
    ASSERT_THAT(registry_.CreateLink(Link{CodeN(0), CodeN(i), LinkType::kRdCooperation, "", {}}),
                IsOk());
  }
  auto p1 = registry_.ListLinks(CodeN(0), 3, "");
  ASSERT_THAT(p1, IsOk());
  EXPECT_THAT(p1->first, SizeIs(3));
  ASSERT_FALSE(p1->second.empty());
  auto p2 = registry_.ListLinks(CodeN(0), 3, p1->second);
  ASSERT_THAT(p2, IsOk());
  EXPECT_THAT(p2->first, SizeIs(2));
  EXPECT_TRUE(p2->second.empty());
  EXPECT_EQ(FirstField(registry_.ListLinks(CodeN(1), 3, p1->second).status()), "page_token");
}

TEST_F(RegistryTest, EveryChangeIsAnEventWithIncreasingVersion) {
  ASSERT_THAT(registry_.Create(CodeN(1), Manufacturer()), IsOk());
  ASSERT_THAT(registry_.Create(CodeN(2), Manufacturer()), IsOk());
  ASSERT_THAT(registry_.Update(CodeN(1), Manufacturer(), {"labels"}, ""), IsOk());
  ASSERT_THAT(registry_.CreateLink(Link{CodeN(1), CodeN(2), LinkType::kLogistics, "", {}}), IsOk());
  ASSERT_THAT(registry_.Archive(CodeN(2), "", ""), IsOk());
  auto page = registry_.ListEvents(0, 0);
  ASSERT_THAT(page, IsOk());
  std::vector<EventType> types;
  std::vector<int64_t> versions;
  for (const auto& e : page->events) {
    types.push_back(e.type);
    versions.push_back(e.version);
  }
  EXPECT_THAT(types, ElementsAre(EventType::kEnterpriseCreated, EventType::kEnterpriseCreated,
                                 EventType::kEnterpriseUpdated, EventType::kLinkCreated,
                                 EventType::kEnterpriseArchived));
  EXPECT_THAT(versions, ElementsAre(1, 2, 3, 4, 5));
  EXPECT_EQ(page->registry_version, 5);
  auto tail = registry_.ListEvents(3, 1);
  ASSERT_THAT(tail, IsOk());
  ASSERT_THAT(tail->events, SizeIs(1));
  EXPECT_EQ(tail->events[0].version, 4);
  EXPECT_FALSE(tail->truncated);
  EXPECT_EQ(FirstField(registry_.ListEvents(-1, 0).status()), "after_version");
}

TEST(RegistryCapTest, TrimmedEventsAreReportedAsTruncated) {
  MemoryStore store(/*max_events=*/3);
  FakeClock clock;
  Registry registry(&store, &clock, {});
  for (int i = 0; i < 6; ++i) ASSERT_THAT(registry.Create(CodeN(i), Manufacturer()), IsOk());
  auto page = registry.ListEvents(1, 0);
  ASSERT_THAT(page, IsOk());
  EXPECT_TRUE(page->truncated);
  EXPECT_FALSE(registry.ListEvents(3, 0)->truncated);
}

TEST_F(RegistryTest, StoreOutageSurfacesAsUnavailable) {
  store_.SetFailure(absl::UnavailableError("redis down"));
  EXPECT_THAT(registry_.Create(kCodeA, Manufacturer()), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(registry_.Get(kCodeA), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(registry_.List(Query{}, 0, ""), StatusIs(absl::StatusCode::kUnavailable));
  store_.SetFailure(absl::OkStatus());
  EXPECT_THAT(registry_.Create(kCodeA, Manufacturer()), IsOk());
}

TEST(PageTokenTest, RoundTrip) {
  std::string t = EncodePageToken("q", "91350100M000100Y43");
  auto back = DecodePageToken(t, "q");
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, "91350100M000100Y43");
  EXPECT_THAT(DecodePageToken(t, "other"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace iplus::registry
