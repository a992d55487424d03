// The reference ledger: the shared cases (ledger_cases.h) and what only it can show.

#include "services/funds/domain/ledger.h"

#include <memory>

#include "common/clock/clock.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/funds/domain/ledger_cases.h"

namespace iplus::funds {
namespace {

using ::iplus::test::IsOk;
using ::testing::ElementsAre;
using testing_cases::HarnessFactory;
using testing_cases::LedgerCasesTest;
using testing_cases::LedgerHarness;

class MemoryHarness : public LedgerHarness {
 public:
  explicit MemoryHarness(LedgerOptions options = {}) : ledger_(&clock_, options) {}
  LedgerStore& ledger() override { return ledger_; }
  FakeClock& clock() override { return clock_; }
  Ledger& memory() { return ledger_; }

 private:
  FakeClock clock_;
  Ledger ledger_;
};

INSTANTIATE_TEST_SUITE_P(Memory, LedgerCasesTest, ::testing::Values(HarnessFactory([] {
                           return std::make_unique<MemoryHarness>();
                         })));

TEST(LedgerTest, ExpiriesAreBoundedPerCall) {
  MemoryHarness h(LedgerOptions{.max_expiries_per_call = 2});
  Ledger& ledger = h.memory();
  ASSERT_THAT(
      ledger.CreateAccounts({testing_cases::NewAccount("s"), testing_cases::NewAccount("d")}),
      IsOk());
  std::vector<Transfer> pendings;
  for (int i = 0; i < 5; ++i) {
    pendings.push_back(testing_cases::Pending("p" + std::to_string(i), "s", "d", 1, 1000));
  }
  ASSERT_THAT(ledger.CreateTransfers(pendings), IsOk());
  h.clock().Advance(absl::Seconds(1));
  EXPECT_EQ(*ledger.ExpirePending(), 2);
  EXPECT_EQ(*ledger.ExpirePending(), 2);
  EXPECT_EQ(*ledger.ExpirePending(), 1);
  EXPECT_EQ(*ledger.ExpirePending(), 0);
  // Oldest first, ties by id: the journal holds p0's expiry before p1's.
  auto entries = ledger.ReadJournal(5, 10);
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 5u);
  EXPECT_EQ((*entries)[0].transfer.id, "~expire:p0");
  EXPECT_EQ((*entries)[4].transfer.id, "~expire:p4");
  auto d = ledger.LookupAccounts({"d"});
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ((*d)[0]->credits_pending, 0);
  auto report = ledger.Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->ok) << report->discrepancy;
  EXPECT_EQ(report->entries_checked, 10);
}

TEST(LedgerTest, PostPastExpiryIsRejectedBeforeTheExpiryIsProcessed) {
  // With no expiries processed per call, the post still sees the expiry time.
  MemoryHarness h(LedgerOptions{.max_expiries_per_call = 0});
  Ledger& ledger = h.memory();
  ASSERT_THAT(
      ledger.CreateAccounts({testing_cases::NewAccount("s"), testing_cases::NewAccount("d")}),
      IsOk());
  ASSERT_THAT(ledger.CreateTransfers({testing_cases::Pending("p", "s", "d", 1, 1000)}), IsOk());
  h.clock().Advance(absl::Microseconds(1));
  auto r = ledger.CreateTransfers({testing_cases::Post("post", "p")});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ((*r)[0].result, CreateTransferResult::kPendingTransferExpired);
  auto p = ledger.LookupTransfers({"p"});
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ((*p)[0]->pending_state, PendingState::kPending);
}

}  // namespace
}  // namespace iplus::funds
