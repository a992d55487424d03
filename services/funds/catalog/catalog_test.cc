// The fund catalog: validation naming each field, the differing field of a create, and
// the Redis store (idempotent creates, paging, filters, compare-and-set updates under
// concurrency, project locks) against a private redis-server.

#include "services/funds/catalog/catalog.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/redis/client.h"
#include "common/refdata/credit_code.h"
#include "common/status/status.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/funds/catalog/validation.h"

namespace iplus::funds {
namespace {

namespace cv1 = ::iplus::common::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

constexpr char kPrefix[] = "iplus:{funds:test}:";

std::string Code(int n) { return refdata::CompleteCreditCode(absl::StrFormat("91440100%08d", n)); }

v1::Fund Fund(const std::string& id) {
  v1::Fund f;
  f.set_id(id);
  f.set_name("Guangdong manufacturing upgrade fund");
  f.mutable_sponsor()->set_region_code("440000");
  f.add_focus_areas(v1::FOCUS_AREA_PLATFORMS);
  f.add_focus_areas(v1::FOCUS_AREA_PILOT_PROJECTS);
  f.set_currency("CNY");
  f.set_description("Platforms and pilot projects, 2016-2018.");
  return f;
}

v1::Project Project(const std::string& id, const std::string& fund, int beneficiary = 1) {
  v1::Project p;
  p.set_id(id);
  p.set_fund_id(fund);
  p.set_beneficiary_code(Code(beneficiary));
  p.set_kind(v1::PROJECT_KIND_PILOT_PROJECT);
  p.set_title("Networked collaboration pilot");
  SetCny(100000, p.mutable_budget());
  for (int i = 1; i <= 3; ++i) {
    v1::Milestone* m = p.add_milestones();
    m->set_id(absl::StrCat("m", i));
    m->set_title(absl::StrCat("Stage ", i));
    SetCny(30000, m->mutable_amount());
  }
  auto* c = p.mutable_milestones(2)->mutable_condition();
  c->set_indicator("product_dev_cycle_days");
  c->set_baseline_period("2015");
  c->set_current_period("2017");
  c->mutable_rule()->mutable_relative_change()->set_change(-0.1);
  return p;
}

std::vector<std::string> Fields(const absl::Status& s) {
  std::vector<std::string> out;
  for (const auto& v : FieldViolations(s)) out.push_back(v.field);
  return out;
}

// --- validation ---------------------------------------------------------------------------

TEST(ValidationTest, AValidFundAndProjectPass) {
  EXPECT_THAT(ValidateFund(Fund("gd-fund")), test::IsOk());
  EXPECT_THAT(ValidateProject(Project("pilot-1", "gd-fund")), test::IsOk());
  v1::Fund national = Fund("national-fund");
  national.mutable_sponsor()->set_national(true);
  EXPECT_THAT(ValidateFund(national), test::IsOk());
  v1::Fund central = Fund("central-fund");
  central.mutable_sponsor()->set_enterprise_code(Code(7));
  EXPECT_THAT(ValidateFund(central), test::IsOk());
}

TEST(ValidationTest, FundFieldsAreNamed) {
  auto bad = [](auto change) {
    v1::Fund f = Fund("gd-fund");
    change(f);
    return Fields(ValidateFund(f));
  };
  EXPECT_THAT(bad([](v1::Fund& f) { f.set_id("GD_Fund"); }), ElementsAre("fund.id"));
  EXPECT_THAT(bad([](v1::Fund& f) { f.set_id("-gd"); }), ElementsAre("fund.id"));
  EXPECT_THAT(bad([](v1::Fund& f) { f.set_id("gd--fund"); }), ElementsAre("fund.id"));
  EXPECT_THAT(bad([](v1::Fund& f) { f.set_id(std::string(65, 'a')); }), ElementsAre("fund.id"));
  EXPECT_THAT(bad([](v1::Fund& f) { f.set_id(std::string(64, 'a')); }), IsEmpty());
  EXPECT_THAT(bad([](v1::Fund& f) { f.set_name("   "); }), ElementsAre("fund.name"));
  EXPECT_THAT(bad([](v1::Fund& f) { f.set_name(std::string(201, 'x')); }),
              ElementsAre("fund.name"));
  // 200 characters of three bytes each are fine: lengths count characters.
  std::string han;
  for (int i = 0; i < 200; ++i) han += "\xe5\x9f\xba";  // 基
  EXPECT_THAT(bad([&](v1::Fund& f) { f.set_name(han); }), IsEmpty());
  EXPECT_THAT(bad([](v1::Fund& f) { f.clear_sponsor(); }), ElementsAre("fund.sponsor"));
  EXPECT_THAT(bad([](v1::Fund& f) { f.mutable_sponsor()->set_region_code("990000"); }),
              ElementsAre("fund.sponsor.region_code"));
  EXPECT_THAT(bad([](v1::Fund& f) { f.mutable_sponsor()->set_region_code("44"); }),
              ElementsAre("fund.sponsor.region_code"));
  EXPECT_THAT(bad([](v1::Fund& f) { f.mutable_sponsor()->set_enterprise_code("91440100X"); }),
              ElementsAre("fund.sponsor.enterprise_code"));
  EXPECT_THAT(bad([](v1::Fund& f) { f.mutable_sponsor()->set_national(false); }),
              ElementsAre("fund.sponsor.national"));
  EXPECT_THAT(bad([](v1::Fund& f) { f.add_focus_areas(v1::FOCUS_AREA_PLATFORMS); }),
              ElementsAre("fund.focus_areas[2]"));
  EXPECT_THAT(bad([](v1::Fund& f) { f.add_focus_areas(v1::FOCUS_AREA_UNSPECIFIED); }),
              ElementsAre("fund.focus_areas[2]"));
  EXPECT_THAT(bad([](v1::Fund& f) { f.set_currency("USD"); }), ElementsAre("fund.currency"));
  EXPECT_THAT(bad([](v1::Fund& f) { f.set_currency(""); }), ElementsAre("fund.currency"));
  EXPECT_THAT(bad([](v1::Fund& f) { f.set_description(std::string(2001, 'd')); }),
              ElementsAre("fund.description"));
  // Every violation at once.
  EXPECT_THAT(bad([](v1::Fund& f) {
                f.set_id("");
                f.set_currency("EUR");
              }),
              ElementsAre("fund.id", "fund.currency"));
}

TEST(ValidationTest, ProjectFieldsAreNamed) {
  auto bad = [](auto change) {
    v1::Project p = Project("pilot-1", "gd-fund");
    change(p);
    return Fields(ValidateProject(p));
  };
  EXPECT_THAT(bad([](v1::Project& p) { p.set_id("Pilot 1"); }), ElementsAre("project.id"));
  EXPECT_THAT(bad([](v1::Project& p) { p.clear_fund_id(); }), ElementsAre("project.fund_id"));
  EXPECT_THAT(bad([](v1::Project& p) { p.set_beneficiary_code("91440100MA59VMHB3"); }),
              ElementsAre("project.beneficiary_code"));
  EXPECT_THAT(bad([](v1::Project& p) { p.set_kind(v1::PROJECT_KIND_UNSPECIFIED); }),
              ElementsAre("project.kind"));
  EXPECT_THAT(bad([](v1::Project& p) { p.set_title(""); }), ElementsAre("project.title"));
  EXPECT_THAT(bad([](v1::Project& p) { p.clear_budget(); }), ElementsAre("project.budget"));
  EXPECT_THAT(bad([](v1::Project& p) { p.mutable_budget()->set_fen(0); }),
              ElementsAre("project.budget.fen"));
  EXPECT_THAT(bad([](v1::Project& p) { p.mutable_budget()->set_currency("USD"); }),
              ElementsAre("project.budget.currency"));
  EXPECT_THAT(bad([](v1::Project& p) { p.mutable_milestones(2)->mutable_amount()->set_fen(-5); }),
              ElementsAre("project.milestones[2].amount.fen"));
  EXPECT_THAT(bad([](v1::Project& p) { p.mutable_milestones(2)->clear_amount(); }),
              ElementsAre("project.milestones[2].amount"));
  EXPECT_THAT(bad([](v1::Project& p) { p.mutable_milestones(1)->set_id("m1"); }),
              ElementsAre("project.milestones[1].id"));
  EXPECT_THAT(bad([](v1::Project& p) { p.mutable_milestones(1)->set_id("m:1"); }),
              ElementsAre("project.milestones[1].id"));
  EXPECT_THAT(
      bad([](v1::Project& p) { p.mutable_milestones(0)->set_title(std::string(201, 't')); }),
      ElementsAre("project.milestones[0].title"));
  EXPECT_THAT(bad([](v1::Project& p) { p.clear_milestones(); }), ElementsAre("project.milestones"));
  // Over budget: 3 x 30000 + 10001 > 100000.
  EXPECT_THAT(bad([](v1::Project& p) {
                auto* m = p.add_milestones();
                m->set_id("m4");
                m->set_title("Stage 4");
                SetCny(10001, m->mutable_amount());
              }),
              ElementsAre("project.milestones"));
  EXPECT_THAT(bad([](v1::Project& p) {
                auto* m = p.add_milestones();
                m->set_id("m4");
                m->set_title("Stage 4");
                SetCny(10000, m->mutable_amount());
              }),
              IsEmpty());
  // Conditions.
  auto cond = [](v1::Project& p) { return p.mutable_milestones(2)->mutable_condition(); };
  EXPECT_THAT(bad([&](v1::Project& p) { cond(p)->clear_rule(); }),
              ElementsAre("project.milestones[2].condition.rule"));
  EXPECT_THAT(bad([&](v1::Project& p) {
                cond(p)->mutable_rule()->mutable_relative_change()->set_change(0);
              }),
              ElementsAre("project.milestones[2].condition.rule.relative_change.change"));
  EXPECT_THAT(bad([&](v1::Project& p) { cond(p)->clear_indicator(); }),
              ElementsAre("project.milestones[2].condition.indicator"));
  EXPECT_THAT(bad([&](v1::Project& p) { cond(p)->set_indicator("Dev-Cycle"); }),
              ElementsAre("project.milestones[2].condition.indicator"));
  EXPECT_THAT(bad([&](v1::Project& p) { cond(p)->set_baseline_period("2015-13"); }),
              ElementsAre("project.milestones[2].condition.baseline_period"));
  EXPECT_THAT(bad([&](v1::Project& p) { cond(p)->clear_current_period(); }),
              ElementsAre("project.milestones[2].condition.current_period"));
  EXPECT_THAT(bad([&](v1::Project& p) { cond(p)->set_current_period("2015"); }),
              ElementsAre("project.milestones[2].condition.current_period"));
  EXPECT_THAT(bad([&](v1::Project& p) { cond(p)->set_current_period("2017-Q1"); }),
              ElementsAre("project.milestones[2].condition.current_period"));
  // Output-only fields are not validated.
  EXPECT_THAT(bad([](v1::Project& p) {
                p.set_status(v1::PROJECT_STATUS_CLOSED);
                p.mutable_milestones(0)->set_status(v1::MILESTONE_STATUS_DISBURSED);
              }),
              IsEmpty());
}

TEST(ValidationTest, MoneyAndText) {
  cv1::Money m;
  EXPECT_THAT(Fields(PositiveFen(m, false, "amount").status()), ElementsAre("amount"));
  m.set_fen(5);
  EXPECT_THAT(Fields(PositiveFen(m, true, "amount").status()), ElementsAre("amount.currency"));
  m.set_currency("CNY");
  EXPECT_THAT(PositiveFen(m, true, "amount"), test::IsOkAndHolds(5));
  EXPECT_THAT(CheckText("", "memo", 0, 10), test::IsOk());
  EXPECT_THAT(Fields(CheckText("12345678901", "memo", 0, 10)), ElementsAre("memo"));
}

TEST(ValidationTest, TheFirstDifferingFieldIsNamed) {
  v1::Fund f = Fund("gd-fund");
  EXPECT_EQ(DifferingFundField(f, f), "");
  v1::Fund g = f;
  g.set_description("other");
  EXPECT_EQ(DifferingFundField(g, f), "fund.description");
  g = f;
  g.mutable_sponsor()->set_national(true);
  EXPECT_EQ(DifferingFundField(g, f), "fund.sponsor");
  g = f;
  g.set_focus_areas(1, v1::FOCUS_AREA_INDUSTRY_CLOUD);
  EXPECT_EQ(DifferingFundField(g, f), "fund.focus_areas[1]");
  // Output-only fields do not count.
  g = f;
  g.set_fund_account_id("x");
  EXPECT_EQ(DifferingFundField(FundContent(g), f), "");

  v1::Project p = Project("pilot-1", "gd-fund");
  EXPECT_EQ(DifferingProjectField(p, p), "");
  v1::Project q = p;
  q.mutable_milestones(1)->mutable_amount()->set_fen(29999);
  EXPECT_EQ(DifferingProjectField(q, p), "project.milestones[1].amount");
  q = p;
  q.mutable_milestones(2)->mutable_condition()->set_current_period("2018");
  EXPECT_EQ(DifferingProjectField(q, p), "project.milestones[2].condition.current_period");
  q = p;
  q.mutable_milestones(2)
      ->mutable_condition()
      ->mutable_rule()
      ->mutable_relative_change()
      ->set_change(-0.2);
  EXPECT_EQ(DifferingProjectField(q, p), "project.milestones[2].condition.rule");
  q = p;
  q.mutable_milestones(0)->mutable_condition()->set_indicator("x");
  EXPECT_EQ(DifferingProjectField(q, p), "project.milestones[0].condition");
  q = p;
  q.set_beneficiary_code(Code(2));
  EXPECT_EQ(DifferingProjectField(q, p), "project.beneficiary_code");
  q = p;
  q.mutable_milestones()->RemoveLast();
  EXPECT_EQ(DifferingProjectField(q, p), "project.milestones");
}

// --- the store --------------------------------------------------------------------------

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    IPLUS_ASSERT_OK(redis_.Start());
    redis::Options o;
    o.host = "127.0.0.1";
    o.port = redis_.port();
    client_ = std::make_unique<redis::Client>(o);
    catalog_ = std::make_unique<FundCatalog>(client_.get(), kPrefix);
  }

  test::RedisServer redis_;
  std::unique_ptr<redis::Client> client_;
  std::unique_ptr<FundCatalog> catalog_;
};

TEST_F(CatalogTest, CreatesAreIdempotentOnTheId) {
  auto first = catalog_->CreateFund(Fund("gd-fund"));
  ASSERT_THAT(first, test::IsOk());
  EXPECT_TRUE(first->second);
  v1::Fund other = Fund("gd-fund");
  other.set_name("another name");
  auto second = catalog_->CreateFund(other);
  ASSERT_THAT(second, test::IsOk());
  EXPECT_FALSE(second->second);
  EXPECT_EQ(second->first.name(), "Guangdong manufacturing upgrade fund");  // the first stays
  EXPECT_THAT(catalog_->GetFund("gd-fund"), test::IsOk());
  EXPECT_THAT(catalog_->GetFund("nope").status(), test::StatusIs(absl::StatusCode::kNotFound));

  ASSERT_THAT(catalog_->CreateProject(Project("pilot-1", "gd-fund")), test::IsOk());
  auto again = catalog_->CreateProject(Project("pilot-1", "other-fund"));
  ASSERT_THAT(again, test::IsOk());
  EXPECT_FALSE(again->second);
  EXPECT_EQ(again->first.fund_id(), "gd-fund");
  // The second create touched no index.
  auto of_other = catalog_->ProjectIdsOfFund("other-fund");
  ASSERT_THAT(of_other, test::IsOk());
  EXPECT_THAT(*of_other, IsEmpty());
  // Keys live under the ledger's prefix.
  auto keys = client_->Command({"KEYS", "*"});
  ASSERT_THAT(keys, test::IsOk());
  for (const auto& k : keys->elements()) EXPECT_THAT(k.str(), ::testing::StartsWith(kPrefix));
}

TEST_F(CatalogTest, ListsPageInIdOrderAndFilter) {
  std::vector<std::string> fund_ids;
  for (int i = 0; i < 25; ++i) {
    fund_ids.push_back(absl::StrFormat("fund-%02d", 24 - i));
    ASSERT_THAT(catalog_->CreateFund(Fund(fund_ids.back())), test::IsOk());
  }
  std::sort(fund_ids.begin(), fund_ids.end());
  std::vector<std::string> seen;
  std::string after;
  int pages = 0;
  do {
    auto page = catalog_->ListFunds(after, 7);
    ASSERT_THAT(page, test::IsOk());
    for (const auto& f : page->funds) seen.push_back(f.id());
    after = page->next_after;
    ++pages;
  } while (!after.empty());
  EXPECT_EQ(seen, fund_ids);
  EXPECT_EQ(pages, 4);

  // Projects: two funds, three beneficiaries.
  std::set<std::string> of_a, of_b_ben2;
  for (int i = 0; i < 30; ++i) {
    const std::string fund = i % 2 == 0 ? "fund-a" : "fund-b";
    const int ben = i % 3;
    const std::string id = absl::StrFormat("p-%02d", i);
    ASSERT_THAT(catalog_->CreateProject(Project(id, fund, ben)), test::IsOk());
    if (fund == "fund-a") of_a.insert(id);
    if (fund == "fund-b" && ben == 2) of_b_ben2.insert(id);
  }
  auto walk = [&](const std::string& fund, const std::string& code, int limit, int examined) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int guard = 0; guard < 100; ++guard) {
      auto page = catalog_->ListProjects(fund, code, cursor, limit, examined);
      EXPECT_THAT(page, test::IsOk());
      if (!page.ok()) break;
      EXPECT_LE(static_cast<int>(page->projects.size()), limit);
      for (const auto& p : page->projects) ids.push_back(p.id());
      cursor = page->next_after;
      if (cursor.empty()) break;
    }
    return ids;
  };
  auto a = walk("fund-a", "", 4, 10000);
  EXPECT_EQ(std::set<std::string>(a.begin(), a.end()), of_a);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(a.size(), of_a.size());
  // Both filters, with few ids examined per page: short pages, all found once.
  auto b2 = walk("fund-b", Code(2), 3, 2);
  EXPECT_THAT(b2, UnorderedElementsAreArray(of_b_ben2));
  EXPECT_EQ(b2.size(), of_b_ben2.size());
  auto all = walk("", "", 8, 10000);
  EXPECT_EQ(all.size(), 30u);
  auto ben0 = walk("", Code(0), 100, 10000);
  EXPECT_EQ(ben0.size(), 10u);
}

TEST_F(CatalogTest, ConcurrentUpdatesNeverLoseEachOther) {
  v1::Project p = Project("pilot-1", "gd-fund");
  p.clear_milestones();
  for (int i = 0; i < 8; ++i) {
    auto* m = p.add_milestones();
    m->set_id(absl::StrCat("m", i));
    m->set_status(v1::MILESTONE_STATUS_PENDING);
  }
  ASSERT_THAT(catalog_->CreateProject(p), test::IsOk());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r = catalog_->UpdateProject("pilot-1", [&](v1::Project& q) -> absl::Status {
        q.mutable_milestones(i)->set_status(v1::MILESTONE_STATUS_DISBURSED);
        return absl::OkStatus();
      });
      if (!r.ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto stored = catalog_->GetProject("pilot-1");
  ASSERT_THAT(stored, test::IsOk());
  for (const auto& m : stored->milestones()) {
    EXPECT_EQ(m.status(), v1::MILESTONE_STATUS_DISBURSED) << m.id();
  }
  // "Nothing to change" stores nothing and returns the project.
  auto same = catalog_->UpdateProject(
      "pilot-1", [](v1::Project&) { return absl::AlreadyExistsError("unchanged"); });
  EXPECT_THAT(same, test::IsOk());
  EXPECT_THAT(
      catalog_->UpdateProject("nope", [](v1::Project&) { return absl::OkStatus(); }).status(),
      test::StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(CatalogTest, ProjectLocksExcludeEachOtherAcrossInstances) {
  // Two lock tables on one Redis stand for two replicas.
  ProjectLocks a(client_.get(), catalog_.get(), absl::Seconds(5));
  ProjectLocks b(client_.get(), catalog_.get(), absl::Seconds(5));
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      ProjectLocks& locks = i % 2 == 0 ? a : b;
      for (int k = 0; k < 5; ++k) {
        auto g = locks.Acquire("pilot-1", absl::Now() + absl::Seconds(20));
        ASSERT_THAT(g, test::IsOk());
        const int n = ++inside;
        int m = most.load();
        while (n > m && !most.compare_exchange_weak(m, n)) {
        }
        absl::SleepFor(absl::Milliseconds(2));
        --inside;
        ++done;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(done.load(), 40);
  EXPECT_EQ(most.load(), 1);
  // Another project is not blocked by a held lock; the same one times out.
  auto held = a.Acquire("pilot-1", absl::Now() + absl::Seconds(1));
  ASSERT_THAT(held, test::IsOk());
  EXPECT_THAT(b.Acquire("pilot-2", absl::Now() + absl::Seconds(1)), test::IsOk());
  auto blocked = b.Acquire("pilot-1", absl::Now() + absl::Milliseconds(200));
  EXPECT_THAT(blocked.status(), test::StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(std::string(blocked.status().message()), HasSubstr("another replica"));
}

}  // namespace
}  // namespace iplus::funds
