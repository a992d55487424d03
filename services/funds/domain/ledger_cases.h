#pragma once

// The cases every LedgerStore must pass, as value-parameterized tests over a factory:
// the reference Ledger runs them in funds_domain_test and the Redis store in
// funds_store_test. Include this header in exactly one source file of a test binary and
// instantiate:
//
//   INSTANTIATE_TEST_SUITE_P(Memory, LedgerCasesTest, ::testing::Values(factory));
//
// Every case ends by checking that the journal verifies and that debits equal credits.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock/clock.h"
#include "common/status/status.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/funds/domain/codec.h"
#include "services/funds/domain/journal.h"
#include "services/funds/domain/ledger_store.h"
#include "services/funds/domain/operations.h"

namespace iplus::funds::testing_cases {

class LedgerHarness {
 public:
  virtual ~LedgerHarness() = default;
  virtual LedgerStore& ledger() = 0;
  virtual FakeClock& clock() = 0;
};
using HarnessFactory = std::function<std::unique_ptr<LedgerHarness>()>;

using R = CreateTransferResult;
using ::iplus::test::IsOk;
using ::iplus::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

inline Transfer T(std::string id, std::string dr, std::string cr, int64_t amount) {
  Transfer t;
  t.id = std::move(id);
  t.debit_account_id = std::move(dr);
  t.credit_account_id = std::move(cr);
  t.amount = amount;
  t.ledger = kLedgerCny;
  t.type = static_cast<int32_t>(IatiType::kIncomingFunds);
  return t;
}
inline Transfer Pending(std::string id, std::string dr, std::string cr, int64_t amount,
                        int64_t timeout_ns = 0) {
  Transfer t = T(std::move(id), std::move(dr), std::move(cr), amount);
  t.flags.pending = true;
  t.timeout_ns = timeout_ns;
  return t;
}
inline Transfer Post(std::string id, std::string pending_id, int64_t amount = 0) {
  Transfer t;
  t.id = std::move(id);
  t.pending_id = std::move(pending_id);
  t.amount = amount;
  t.flags.post_pending_transfer = true;
  return t;
}
inline Transfer Void(std::string id, std::string pending_id, int64_t amount = 0) {
  Transfer t = Post(std::move(id), std::move(pending_id), amount);
  t.flags.post_pending_transfer = false;
  t.flags.void_pending_transfer = true;
  return t;
}
inline Transfer Linked(Transfer t) {
  t.flags.linked = true;
  return t;
}

inline Account NewAccount(std::string id, bool dmnec = false, bool cmned = false,
                          int32_t ledger = kLedgerCny) {
  Account a;
  a.id = std::move(id);
  a.ledger = ledger;
  a.kind = AccountKind::kFund;
  a.flags.debits_must_not_exceed_credits = dmnec;
  a.flags.credits_must_not_exceed_debits = cmned;
  a.fund_id = "f";
  return a;
}

class LedgerCasesTest : public ::testing::TestWithParam<HarnessFactory> {
 protected:
  void SetUp() override {
    harness_ = GetParam()();
    ASSERT_NE(harness_, nullptr);
    // src and free: no balance flag; a, b: debits_must_not_exceed_credits;
    // c: credits_must_not_exceed_debits; other: ledger 2.
    auto r = ledger().CreateAccounts({NewAccount("src"), NewAccount("free"), NewAccount("a", true),
                                      NewAccount("b", true), NewAccount("c", false, true),
                                      NewAccount("other", false, false, 2)});
    ASSERT_THAT(r, IsOk());
    for (const auto& one : *r) ASSERT_THAT(one.status, IsOk());
  }

  void TearDown() override {
    if (harness_ == nullptr) return;
    auto report = ledger().Verify();
    ASSERT_THAT(report, IsOk());
    EXPECT_TRUE(report->ok) << report->discrepancy;
    auto head = ledger().Head();
    ASSERT_THAT(head, IsOk());
    EXPECT_EQ(report->head_sequence, head->sequence);
    EXPECT_EQ(report->head_hash, head->hash);
  }

  LedgerStore& ledger() { return harness_->ledger(); }
  FakeClock& clock() { return harness_->clock(); }

  std::vector<TransferResult> Create(const std::vector<Transfer>& transfers) {
    auto r = ledger().CreateTransfers(transfers);
    EXPECT_THAT(r, IsOk());
    if (!r.ok()) return {};
    EXPECT_EQ(r->size(), transfers.size());
    for (size_t i = 0; i < r->size(); ++i) EXPECT_EQ((*r)[i].index, static_cast<int>(i));
    return *r;
  }
  std::vector<R> Codes(const std::vector<Transfer>& transfers) {
    std::vector<R> out;
    for (const auto& r : Create(transfers)) out.push_back(r.result);
    return out;
  }
  R Code(const Transfer& t) {
    auto r = Create({t});
    return r.empty() ? R::kUnspecified : r[0].result;
  }
  Account Get(const std::string& id) {
    auto r = ledger().LookupAccounts({id});
    EXPECT_THAT(r, IsOk());
    if (!r.ok() || !(*r)[0].has_value()) {
      ADD_FAILURE() << "no account " << id;
      return Account();
    }
    return *(*r)[0];
  }
  std::optional<Transfer> GetTransfer(const std::string& id) {
    auto r = ledger().LookupTransfers({id});
    EXPECT_THAT(r, IsOk());
    return r.ok() ? (*r)[0] : std::nullopt;
  }
  // {debits_pending, debits_posted, credits_pending, credits_posted}
  std::vector<int64_t> Balances(const std::string& id) {
    Account a = Get(id);
    return {a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted};
  }
  void Fund(const std::string& id, int64_t amount) {
    ASSERT_EQ(Code(T(absl::StrCat("fund-", id, "-", ++funded_), "src", id, amount)), R::kOk);
  }

  std::unique_ptr<LedgerHarness> harness_;
  int funded_ = 0;
};

TEST_P(LedgerCasesTest, SinglePhaseMovesPostedBalances) {
  auto r = Create({T("t1", "src", "a", 100)});
  ASSERT_EQ(r[0].result, R::kOk);
  EXPECT_THAT(r[0].status, IsOk());
  EXPECT_EQ(r[0].transfer.amount, 100);
  EXPECT_EQ(r[0].transfer.journal_sequence, 1);
  EXPECT_GT(r[0].transfer.timestamp_ns, 0);
  EXPECT_THAT(Balances("src"), ElementsAre(0, 100, 0, 0));
  EXPECT_THAT(Balances("a"), ElementsAre(0, 0, 0, 100));
  auto stored = GetTransfer("t1");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(*stored, r[0].transfer);
}

TEST_P(LedgerCasesTest, AmountsMustBePositive) {
  auto r = Create({T("zero", "src", "a", 0), T("neg", "src", "a", -5)});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].result, R::kAmountMustBePositive);
  EXPECT_EQ(r[1].result, R::kAmountMustBePositive);
  EXPECT_THAT(r[1].status, StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_EQ(FieldViolations(r[1].status).size(), 1u);
  EXPECT_EQ(FieldViolations(r[1].status)[0].field, "transfers[1].amount");
  EXPECT_THAT(Balances("a"), ElementsAre(0, 0, 0, 0));
  EXPECT_FALSE(GetTransfer("zero").has_value());
  // A negative post or void amount too.
  Fund("a", 10);
  ASSERT_EQ(Code(Pending("p", "a", "b", 5)), R::kOk);
  EXPECT_EQ(Code(Post("post", "p", -1)), R::kAmountMustBePositive);
  EXPECT_EQ(Code(Void("void", "p", -1)), R::kAmountMustBePositive);
}

TEST_P(LedgerCasesTest, ValidationCodesNameTheField) {
  struct Case {
    Transfer t;
    R code;
    std::string field;
  };
  Transfer both = Pending("both", "src", "a", 1);
  both.flags.post_pending_transfer = true;
  Transfer no_debit = T("nd", "", "a", 1);
  Transfer no_credit = T("nc", "src", "", 1);
  Transfer pid = T("pid", "src", "a", 1);
  pid.pending_id = "x";
  Transfer timeout = T("to", "src", "a", 1);
  timeout.timeout_ns = 5;
  Transfer negative_timeout = Pending("nto", "src", "a", 1, -5);
  Transfer no_ledger = T("nl", "src", "a", 1);
  no_ledger.ledger = 0;
  Transfer no_type = T("nt", "src", "a", 1);
  no_type.type = 0;
  Transfer bad_type = T("bt", "src", "a", 1);
  bad_type.type = 99;
  const std::vector<Case> cases = {
      {T("", "src", "a", 1), R::kIdMalformed, "id"},
      {T(std::string(65, 'x'), "src", "a", 1), R::kIdMalformed, "id"},
      {T("bad id", "src", "a", 1), R::kIdMalformed, "id"},
      {T("~expire:x", "src", "a", 1), R::kIdMalformed, "id"},
      {both, R::kFlagsAreMutuallyExclusive, "flags"},
      {no_debit, R::kDebitAccountIdMissing, "debit_account_id"},
      {no_credit, R::kCreditAccountIdMissing, "credit_account_id"},
      {T("same", "a", "a", 1), R::kAccountsMustBeDifferent, "credit_account_id"},
      {pid, R::kPendingIdMustBeEmpty, "pending_id"},
      {Post("nopid", ""), R::kPendingIdMissing, "pending_id"},
      {timeout, R::kTimeoutReservedForPendingTransfer, "timeout"},
      {negative_timeout, R::kTimeoutReservedForPendingTransfer, "timeout"},
      {no_ledger, R::kLedgerMissing, "ledger"},
      {no_type, R::kTypeMissing, "type"},
      {bad_type, R::kTypeMissing, "type"},
  };
  for (const Case& c : cases) {
    auto r = Create({T("ok-first", "src", "free", 1), c.t});
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[1].result, c.code) << c.t.id;
    EXPECT_THAT(r[1].status, StatusIs(absl::StatusCode::kInvalidArgument));
    auto v = FieldViolations(r[1].status);
    ASSERT_EQ(v.size(), 1u) << r[1].status;
    EXPECT_EQ(v[0].field, "transfers[1]." + c.field);
  }
  // The first code in the documented order wins: a malformed id with a zero amount.
  EXPECT_EQ(Code(T("bad id", "src", "a", 0)), R::kIdMalformed);
  // An unknown account with a zero amount: the amount (a form check) comes first.
  EXPECT_EQ(Code(T("z", "nobody", "a", 0)), R::kAmountMustBePositive);
}

TEST_P(LedgerCasesTest, AccountsAndLedgers) {
  auto r =
      Create({T("x1", "nobody", "a", 1), T("x2", "src", "nobody", 1), T("x3", "src", "other", 1)});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].result, R::kDebitAccountNotFound);
  EXPECT_THAT(r[0].status, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(r[1].result, R::kCreditAccountNotFound);
  EXPECT_EQ(r[2].result, R::kAccountsMustHaveTheSameLedger);
  EXPECT_THAT(r[2].status, StatusIs(absl::StatusCode::kFailedPrecondition));
  Transfer wrong_ledger = T("x4", "src", "a", 1);
  wrong_ledger.ledger = 2;
  EXPECT_EQ(Code(wrong_ledger), R::kTransferMustHaveTheSameLedgerAsAccounts);
}

TEST_P(LedgerCasesTest, BalanceFlagsCountPendingDebitsNotPendingCredits) {
  Fund("a", 100);
  EXPECT_EQ(Code(Pending("p1", "a", "b", 60)), R::kOk);
  // 60 pending + 50 > 100 posted credits.
  auto r = Create({T("over", "a", "b", 50)});
  EXPECT_EQ(r[0].result, R::kExceedsCredits);
  EXPECT_THAT(r[0].status, StatusIs(absl::StatusCode::kFailedPrecondition));
  // Pending credits to a do not help.
  EXPECT_EQ(Code(Pending("p2", "src", "a", 1000)), R::kOk);
  EXPECT_EQ(Code(T("over2", "a", "b", 41)), R::kExceedsCredits);
  EXPECT_EQ(Code(T("fits", "a", "b", 40)), R::kOk);
  EXPECT_THAT(Balances("a"), ElementsAre(60, 40, 1000, 100));
  // Voiding the reservation frees the room.
  EXPECT_EQ(Code(Void("v1", "p1")), R::kOk);
  EXPECT_EQ(Code(T("now-fits", "a", "b", 60)), R::kOk);
  EXPECT_THAT(Balances("a"), ElementsAre(0, 100, 1000, 100));

  // c: credits_must_not_exceed_debits; pending credits count, pending debits do not.
  EXPECT_EQ(Code(T("c-over", "src", "c", 1)), R::kExceedsDebits);
  EXPECT_EQ(Code(Pending("c-debit", "c", "free", 30)), R::kOk);
  EXPECT_EQ(Code(T("c-over2", "src", "c", 1)), R::kExceedsDebits);
  EXPECT_EQ(Code(T("c-debit2", "c", "free", 30)), R::kOk);
  EXPECT_EQ(Code(Pending("c-p", "src", "c", 20)), R::kOk);
  EXPECT_EQ(Code(T("c-over3", "src", "c", 11)), R::kExceedsDebits);
  EXPECT_EQ(Code(T("c-fits", "src", "c", 10)), R::kOk);
  EXPECT_THAT(Balances("c"), ElementsAre(30, 30, 20, 10));
}

TEST_P(LedgerCasesTest, OverflowChangesNothing) {
  const int64_t max = INT64_MAX;
  EXPECT_EQ(Code(T("big", "src", "free", max)), R::kOk);
  auto before_src = Balances("src");
  auto before_free = Balances("free");
  auto head = ledger().Head();
  ASSERT_THAT(head, IsOk());
  auto r = Create({T("one-more", "src", "free", 1)});
  EXPECT_EQ(r[0].result, R::kOverflows);
  EXPECT_THAT(r[0].status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Balances("src"), before_src);
  EXPECT_EQ(Balances("free"), before_free);
  auto head2 = ledger().Head();
  ASSERT_THAT(head2, IsOk());
  EXPECT_EQ(head2->sequence, head->sequence);
  EXPECT_FALSE(GetTransfer("one-more").has_value());

  // Pending plus posted may not overflow either: b2 gets max pending, then 1 posted.
  ASSERT_THAT(ledger().CreateAccounts({NewAccount("p-src"), NewAccount("p-dst"),
                                       NewAccount("q-src"), NewAccount("r-dst")}),
              IsOk());
  EXPECT_EQ(Code(Pending("pmax", "p-src", "p-dst", max)), R::kOk);
  EXPECT_EQ(Code(T("p1", "q-src", "p-dst", 1)), R::kOverflows);
  // A timeout whose expiry time leaves int64.
  EXPECT_EQ(Code(Pending("ptimeout", "q-src", "r-dst", 1, max)), R::kOverflows);
  EXPECT_THAT(Balances("r-dst"), ElementsAre(0, 0, 0, 0));
}

TEST_P(LedgerCasesTest, PartialPostReleasesTheRest) {
  Fund("a", 1000);
  EXPECT_EQ(Code(Pending("p", "a", "b", 100)), R::kOk);
  EXPECT_THAT(Balances("a"), ElementsAre(100, 0, 0, 1000));
  EXPECT_THAT(Balances("b"), ElementsAre(0, 0, 100, 0));
  auto r = Create({Post("post", "p", 60)});
  ASSERT_EQ(r[0].result, R::kOk);
  // Stored resolved: accounts, ledger and type from the pending transfer.
  EXPECT_EQ(r[0].transfer.debit_account_id, "a");
  EXPECT_EQ(r[0].transfer.credit_account_id, "b");
  EXPECT_EQ(r[0].transfer.amount, 60);
  EXPECT_EQ(r[0].transfer.ledger, kLedgerCny);
  EXPECT_EQ(r[0].transfer.type, static_cast<int32_t>(IatiType::kIncomingFunds));
  EXPECT_THAT(Balances("a"), ElementsAre(0, 60, 0, 1000));
  EXPECT_THAT(Balances("b"), ElementsAre(0, 0, 0, 60));
  auto p = GetTransfer("p");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->pending_state, PendingState::kPosted);
}

TEST_P(LedgerCasesTest, PostWithoutAmountPostsEverything) {
  Fund("a", 1000);
  EXPECT_EQ(Code(Pending("p", "a", "b", 100)), R::kOk);
  Transfer post = Post("post", "p");
  post.debit_account_id = "a";  // explicit and matching
  auto r = Create({post});
  ASSERT_EQ(r[0].result, R::kOk);
  EXPECT_EQ(r[0].transfer.amount, 100);
  EXPECT_THAT(Balances("a"), ElementsAre(0, 100, 0, 1000));
}

TEST_P(LedgerCasesTest, PendingTransferResolvesExactlyOnce) {
  Fund("a", 1000);
  EXPECT_THAT(Codes({Pending("p1", "a", "b", 10), Pending("p2", "a", "b", 10),
                     Pending("p3", "a", "b", 10), Pending("p4", "a", "b", 10)}),
              ElementsAre(R::kOk, R::kOk, R::kOk, R::kOk));
  EXPECT_EQ(Code(Post("post1", "p1")), R::kOk);
  EXPECT_EQ(Code(Post("post1-again", "p1")), R::kPendingTransferAlreadyPosted);
  EXPECT_EQ(Code(Void("void-after-post", "p1")), R::kPendingTransferAlreadyPosted);
  EXPECT_EQ(Code(Void("void2", "p2")), R::kOk);
  EXPECT_EQ(Code(Post("post-after-void", "p2")), R::kPendingTransferAlreadyVoided);
  EXPECT_EQ(Code(Void("void2-again", "p2")), R::kPendingTransferAlreadyVoided);
  auto r = Create({Post("too-much", "p3", 11)});
  EXPECT_EQ(r[0].result, R::kExceedsPendingTransferAmount);
  EXPECT_THAT(r[0].status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Code(Void("void-wrong", "p3", 9)), R::kPendingTransferHasDifferentAmount);
  EXPECT_EQ(Code(Void("void-exact", "p3", 10)), R::kOk);
  // Within one request: post then post again.
  EXPECT_THAT(Codes({Post("a4", "p4", 5), Post("b4", "p4", 5)}),
              ElementsAre(R::kOk, R::kPendingTransferAlreadyPosted));
  EXPECT_THAT(Balances("a"), ElementsAre(0, 15, 0, 1000));
  EXPECT_THAT(Balances("b"), ElementsAre(0, 0, 0, 15));
}

TEST_P(LedgerCasesTest, PostAndVoidChecksOnThePendingTransfer) {
  Fund("a", 1000);
  EXPECT_EQ(Code(T("single", "a", "b", 1)), R::kOk);
  EXPECT_EQ(Code(Pending("p", "a", "b", 10)), R::kOk);
  auto r = Create({Post("x1", "nope")});
  EXPECT_EQ(r[0].result, R::kPendingTransferNotFound);
  EXPECT_THAT(r[0].status, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(Code(Post("x2", "single")), R::kPendingTransferNotPending);
  Transfer other_accounts = Post("x3", "p");
  other_accounts.credit_account_id = "free";
  EXPECT_EQ(Code(other_accounts), R::kPendingTransferHasDifferentAccounts);
  Transfer other_ledger = Void("x4", "p");
  other_ledger.ledger = 2;
  EXPECT_EQ(Code(other_ledger), R::kTransferMustHaveTheSameLedgerAsAccounts);
  EXPECT_EQ(Get("a").debits_pending, 10);
}

TEST_P(LedgerCasesTest, LinkedChainFailingInTheMiddle) {
  Fund("a", 100);
  auto before_a = Balances("a");
  auto r = Create({T("solo-before", "src", "free", 1), Linked(T("l0", "src", "b", 500)),
                   Linked(T("l1", "a", "free", 200)),  // exceeds a's credits
                   T("l2", "src", "free", 3), T("solo-after", "src", "free", 4)});
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0].result, R::kOk);
  EXPECT_EQ(r[1].result, R::kLinkedEventFailed);
  EXPECT_EQ(r[1].failed_index, 2);
  EXPECT_THAT(r[1].status, StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(r[2].result, R::kExceedsCredits);
  EXPECT_EQ(r[3].result, R::kLinkedEventFailed);
  EXPECT_EQ(r[3].failed_index, 2);
  EXPECT_EQ(r[4].result, R::kOk);
  // Nothing of the chain stayed, and its ids are free.
  EXPECT_FALSE(GetTransfer("l0").has_value());
  EXPECT_FALSE(GetTransfer("l2").has_value());
  EXPECT_THAT(Balances("b"), ElementsAre(0, 0, 0, 0));
  EXPECT_EQ(Balances("a"), before_a);
  EXPECT_THAT(Balances("free"), ElementsAre(0, 0, 0, 5));
  // Consecutive sequences: the chain's rollback left no gap.
  EXPECT_EQ(r[4].transfer.journal_sequence, r[0].transfer.journal_sequence + 1);
  // Members see each other's effects: b is funded by the first, spent by the second.
  EXPECT_THAT(Codes({Linked(T("m0", "src", "b", 50)), T("m1", "b", "free", 50)}),
              ElementsAre(R::kOk, R::kOk));
  EXPECT_EQ(Code(T("l0", "src", "b", 500)), R::kOk);
}

TEST_P(LedgerCasesTest, LinkedChainOpenAtTheEnd) {
  auto r = Create({T("solo", "src", "free", 1), Linked(T("x0", "src", "free", 1)),
                   Linked(T("x1", "src", "free", 1))});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].result, R::kOk);
  EXPECT_EQ(r[1].result, R::kLinkedEventFailed);
  EXPECT_EQ(r[1].failed_index, 2);
  EXPECT_EQ(r[2].result, R::kLinkedEventChainOpen);
  ASSERT_EQ(FieldViolations(r[2].status).size(), 1u);
  EXPECT_EQ(FieldViolations(r[2].status)[0].field, "transfers[2].flags.linked");
  EXPECT_FALSE(GetTransfer("x0").has_value());
  EXPECT_EQ(Code(Linked(T("alone", "src", "free", 1))), R::kLinkedEventChainOpen);
}

TEST_P(LedgerCasesTest, LinkedChainRollsBackPendingResolution) {
  Fund("a", 100);
  EXPECT_EQ(Code(Pending("p", "a", "b", 50)), R::kOk);
  // The post is undone with its chain, so the pending transfer is still open.
  EXPECT_THAT(Codes({Linked(Post("post", "p")), T("fail", "a", "b", 1000)}),
              ElementsAre(R::kLinkedEventFailed, R::kExceedsCredits));
  auto p = GetTransfer("p");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->pending_state, PendingState::kPending);
  EXPECT_THAT(Balances("a"), ElementsAre(50, 0, 0, 100));
  EXPECT_EQ(Code(Post("post", "p")), R::kOk);
}

TEST_P(LedgerCasesTest, IdempotentReplayOfEveryKind) {
  Fund("a", 1000);
  const std::vector<Transfer> first = {
      T("single", "a", "b", 10),     Pending("pend", "a", "b", 20, 3600'000'000'000),
      Pending("pend2", "a", "b", 5), Linked(T("chain0", "a", "b", 1)),
      T("chain1", "a", "b", 2),
  };
  auto r1 = Create(first);
  for (const auto& r : r1) ASSERT_EQ(r.result, R::kOk) << r.index;
  auto r2 = Create({Post("post", "pend", 15), Void("void", "pend2")});
  for (const auto& r : r2) ASSERT_EQ(r.result, R::kOk) << r.index;
  auto balances = Balances("a");
  auto head = ledger().Head();
  ASSERT_THAT(head, IsOk());

  clock().Advance(absl::Seconds(10));
  auto again1 = Create(first);
  auto again2 = Create({Post("post", "pend", 15), Void("void", "pend2")});
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(again1[i].result, R::kExists) << i;
    EXPECT_THAT(again1[i].status, IsOk());
    Transfer expected = r1[i].transfer;
    if (expected.flags.pending) expected.pending_state = again1[i].transfer.pending_state;
    EXPECT_EQ(again1[i].transfer, expected) << i;
  }
  EXPECT_EQ(again1[1].transfer.pending_state, PendingState::kPosted);
  EXPECT_EQ(again1[2].transfer.pending_state, PendingState::kVoided);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(again2[i].result, R::kExists) << i;
    EXPECT_EQ(again2[i].transfer, r2[i].transfer) << i;
  }
  // A post resent with the accounts and amount spelled out is the same body.
  Transfer explicit_post = Post("post", "pend", 15);
  explicit_post.debit_account_id = "a";
  explicit_post.credit_account_id = "b";
  explicit_post.ledger = kLedgerCny;
  EXPECT_EQ(Code(explicit_post), R::kExists);
  EXPECT_EQ(Code(Void("void", "pend2", 5)), R::kExists);
  EXPECT_EQ(Balances("a"), balances);
  auto head2 = ledger().Head();
  ASSERT_THAT(head2, IsOk());
  EXPECT_EQ(head2->sequence, head->sequence);
  EXPECT_EQ(head2->hash, head->hash);
  // Ids are kept for ever: resent later still EXISTS, even after the account drained.
  EXPECT_EQ(Code(T("drain", "a", "b", Get("a").credits_posted - Get("a").debits_posted)), R::kOk);
  EXPECT_EQ(Code(T("single", "a", "b", 10)), R::kExists);
}

TEST_P(LedgerCasesTest, SameIdDifferentBodyNamesTheField) {
  Fund("a", 1000);
  EXPECT_EQ(Code(T("t", "a", "b", 10)), R::kOk);
  struct Case {
    Transfer t;
    std::string field;
  };
  Transfer memo = T("t", "a", "b", 10);
  memo.memo = "changed";
  Transfer type = T("t", "a", "b", 10);
  type.type = static_cast<int32_t>(IatiType::kDisbursement);
  Transfer project = T("t", "a", "b", 10);
  project.project_id = "p";
  const std::vector<Case> cases = {
      {T("t", "a", "b", 11), "amount"},
      {T("t", "a", "free", 10), "credit_account_id"},
      {T("t", "src", "b", 10), "debit_account_id"},
      {Pending("t", "a", "b", 10), "flags"},
      {Linked(T("t", "a", "b", 10)), "flags"},
      {memo, "memo"},
      {type, "type"},
      {project, "project_id"},
  };
  for (const Case& c : cases) {
    // Linked needs a successor so that the chain is closed.
    std::vector<Transfer> request = {c.t};
    if (c.t.flags.linked) request.push_back(T("succ", "src", "free", 1));
    auto r = Create(request);
    EXPECT_EQ(r[0].result, R::kExistsWithDifferentBody) << c.field;
    EXPECT_THAT(r[0].status, StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(c.field)));
    EXPECT_EQ(r[0].differing_field, c.field);
  }
  EXPECT_THAT(Balances("b"), ElementsAre(0, 0, 0, 10));
}

TEST_P(LedgerCasesTest, DuplicateIdsWithinOneRequest) {
  EXPECT_THAT(Codes({T("d", "src", "free", 1), T("d", "src", "free", 1), T("d", "src", "free", 2)}),
              ElementsAre(R::kOk, R::kExists, R::kExistsWithDifferentBody));
  EXPECT_THAT(Balances("free"), ElementsAre(0, 0, 0, 1));
}

TEST_P(LedgerCasesTest, FailedIdsCanBeUsedAgain) {
  EXPECT_EQ(Code(T("retry", "a", "b", 10)), R::kExceedsCredits);
  Fund("a", 10);
  EXPECT_EQ(Code(T("retry", "a", "b", 10)), R::kOk);
}

TEST_P(LedgerCasesTest, PendingTransfersTimeOut) {
  Fund("a", 100);
  const int64_t ten_s = 10'000'000'000;
  EXPECT_EQ(Code(Pending("p", "a", "b", 40, ten_s)), R::kOk);
  EXPECT_EQ(Code(Pending("q", "a", "b", 30, 2 * ten_s)), R::kOk);
  EXPECT_EQ(Code(Pending("forever", "a", "b", 10)), R::kOk);
  clock().Advance(absl::Seconds(5));
  EXPECT_EQ(Code(T("blocked", "a", "free", 21)), R::kExceedsCredits);
  clock().Advance(absl::Seconds(6));
  // p expired before this request: its reservation is released.
  auto r = Create({Post("post-p", "p")});
  EXPECT_EQ(r[0].result, R::kPendingTransferExpired);
  EXPECT_THAT(r[0].status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Balances("a"), ElementsAre(40, 0, 0, 100));
  auto p = GetTransfer("p");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->pending_state, PendingState::kExpired);
  auto e = GetTransfer("~expire:p");
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->flags.void_pending_transfer);
  EXPECT_EQ(e->pending_id, "p");
  EXPECT_EQ(e->amount, 40);
  EXPECT_EQ(Code(Void("void-p", "p")), R::kPendingTransferExpired);
  // q expires through ExpirePending, with no other transfer.
  clock().Advance(absl::Seconds(10));
  auto n = ledger().ExpirePending();
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(*n, 1);
  EXPECT_THAT(Balances("a"), ElementsAre(10, 0, 0, 100));
  EXPECT_EQ(GetTransfer("q")->pending_state, PendingState::kExpired);
  EXPECT_EQ(GetTransfer("forever")->pending_state, PendingState::kPending);
  auto n2 = ledger().ExpirePending();
  ASSERT_THAT(n2, IsOk());
  EXPECT_EQ(*n2, 0);
  // A pending transfer posted in time does not expire later.
  EXPECT_EQ(Code(Pending("r", "a", "b", 5, ten_s)), R::kOk);
  EXPECT_EQ(Code(Post("post-r", "r")), R::kOk);
  clock().Advance(absl::Seconds(20));
  EXPECT_EQ(*ledger().ExpirePending(), 0);
  EXPECT_EQ(GetTransfer("r")->pending_state, PendingState::kPosted);
}

TEST_P(LedgerCasesTest, TimestampsStrictlyIncreaseWithAStoppedClock) {
  auto r = Create({T("t1", "src", "free", 1), T("t2", "src", "free", 1)});
  auto r2 = Create({T("t3", "src", "free", 1)});
  ASSERT_EQ(r.size(), 2u);
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_LT(r[0].transfer.timestamp_ns, r[1].transfer.timestamp_ns);
  EXPECT_LT(r[1].transfer.timestamp_ns, r2[0].transfer.timestamp_ns);
  EXPECT_EQ(r[0].transfer.timestamp_ns, absl::ToUnixNanos(clock().Now()));
}

TEST_P(LedgerCasesTest, ListAccountTransfersPagesByTime) {
  std::vector<int64_t> stamps;
  for (int i = 0; i < 5; ++i) {
    auto r = Create(
        {T(absl::StrCat("t", i), "src", "free", i + 1), T(absl::StrCat("u", i), "src", "a", 1)});
    stamps.push_back(r[0].transfer.timestamp_ns);
    clock().Advance(absl::Seconds(1));
  }
  AccountTransfersQuery q;
  q.account_id = "free";
  q.page_size = 2;
  std::vector<std::string> ids;
  for (int page = 0; page < 10; ++page) {
    auto p = ledger().ListAccountTransfers(q);
    ASSERT_THAT(p, IsOk());
    for (const auto& t : p->transfers) ids.push_back(t.id);
    if (p->next_start_ns == 0) break;
    q.start_ns = p->next_start_ns;
  }
  EXPECT_THAT(ids, ElementsAre("t0", "t1", "t2", "t3", "t4"));
  q.start_ns = stamps[1];
  q.end_ns = stamps[3];
  q.page_size = 0;
  auto p = ledger().ListAccountTransfers(q);
  ASSERT_THAT(p, IsOk());
  ASSERT_EQ(p->transfers.size(), 2u);
  EXPECT_EQ(p->transfers[0].id, "t1");
  EXPECT_EQ(p->transfers[1].id, "t2");
  EXPECT_EQ(p->next_start_ns, 0);
  q.account_id = "nobody";
  EXPECT_THAT(ledger().ListAccountTransfers(q), StatusIs(absl::StatusCode::kNotFound));
  q.account_id = "free";
  q.end_ns = stamps[0];
  q.start_ns = stamps[1];
  EXPECT_THAT(ledger().ListAccountTransfers(q),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("end_time")));
  q.end_ns = 0;
  q.page_size = 1001;
  EXPECT_THAT(ledger().ListAccountTransfers(q),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
}

TEST_P(LedgerCasesTest, JournalEntriesChain) {
  Create({T("t1", "src", "free", 1), Pending("p", "src", "free", 2)});
  Create({Post("post", "p", 1)});
  auto entries = ledger().ReadJournal(0, 0);
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 3u);
  std::string prev(kZeroHash);
  for (size_t i = 0; i < entries->size(); ++i) {
    const JournalEntry& e = (*entries)[i];
    EXPECT_EQ(e.sequence, static_cast<int64_t>(i + 1));
    EXPECT_EQ(e.prev_hash, prev);
    EXPECT_EQ(e.hash, EntryHash(prev, EncodeTransferRecord(e.transfer)));
    prev = e.hash;
  }
  EXPECT_EQ((*entries)[2].transfer.id, "post");
  EXPECT_EQ((*entries)[2].transfer.amount, 1);
  auto tail = ledger().ReadJournal(2, 10);
  ASSERT_THAT(tail, IsOk());
  ASSERT_EQ(tail->size(), 1u);
  EXPECT_EQ((*tail)[0].prev_hash, (*entries)[1].hash);
  auto head = ledger().Head();
  ASSERT_THAT(head, IsOk());
  EXPECT_EQ(head->sequence, 3);
  EXPECT_EQ(head->hash, prev);
  EXPECT_THAT(ledger().ReadJournal(0, -1), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(LedgerCasesTest, AccountsAreIdempotentOnTheirId) {
  auto r = ledger().CreateAccounts({NewAccount("new", true), NewAccount("new", true)});
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE((*r)[0].created);
  EXPECT_THAT((*r)[1].status, IsOk());
  EXPECT_FALSE((*r)[1].created);
  EXPECT_EQ((*r)[1].account, (*r)[0].account);
  Fund("new", 5);
  Account changed = NewAccount("new", false, true);
  Account bad = NewAccount("bad");
  bad.flags.debits_must_not_exceed_credits = true;
  bad.flags.credits_must_not_exceed_debits = true;
  Account no_kind = NewAccount("nokind");
  no_kind.kind = AccountKind::kUnspecified;
  auto r2 = ledger().CreateAccounts({NewAccount("new", true), changed, bad, no_kind});
  ASSERT_THAT(r2, IsOk());
  EXPECT_THAT((*r2)[0].status, IsOk());
  EXPECT_EQ((*r2)[0].account.credits_posted, 5);
  EXPECT_THAT((*r2)[1].status, StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("flags")));
  EXPECT_THAT((*r2)[2].status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(FieldViolations((*r2)[2].status)[0].field, "accounts[2].flags");
  EXPECT_EQ(FieldViolations((*r2)[3].status)[0].field, "accounts[3].kind");
  auto looked = ledger().LookupAccounts({"bad", "new"});
  ASSERT_THAT(looked, IsOk());
  EXPECT_FALSE((*looked)[0].has_value());
  EXPECT_TRUE((*looked)[1].has_value());
  EXPECT_THAT(ledger().CreateAccounts({}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(LedgerCasesTest, RequestSizeIsChecked) {
  EXPECT_THAT(ledger().CreateTransfers({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("transfers")));
  std::vector<Transfer> too_many(kMaxBatch + 1, T("x", "src", "free", 1));
  EXPECT_THAT(ledger().CreateTransfers(too_many), StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<Transfer> full;
  for (int i = 0; i < kMaxBatch; ++i) full.push_back(T(absl::StrCat("n", i), "src", "free", 1));
  auto r = ledger().CreateTransfers(full);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->back().result, R::kOk);
  EXPECT_EQ(Get("free").credits_posted, kMaxBatch);
}

TEST_P(LedgerCasesTest, FundOperationsEndToEnd) {
  std::vector<Account> accounts = FundAccounts("city-fund");
  for (const Account& a : ProjectAccounts("city-fund", "cloud-pilot")) accounts.push_back(a);
  ASSERT_THAT(ledger().CreateAccounts(accounts), IsOk());
  auto op = [&](FundOperation kind, int64_t amount, std::string request_id,
                std::string pending = "", std::string milestone = "m1") {
    FundOperationRequest r;
    r.operation = kind;
    r.fund_id = "city-fund";
    r.project_id = "cloud-pilot";
    r.amount = amount;
    r.request_id = std::move(request_id);
    r.pending_transfer_id = std::move(pending);
    r.milestone_id = kind == FundOperation::kDisburseMilestone ? milestone : "";
    auto transfers = TransfersFor(r);
    EXPECT_THAT(transfers, IsOk());
    auto results = Create(*transfers);
    return results.empty() ? TransferResult() : results[0];
  };
  using Op = FundOperation;
  EXPECT_EQ(op(Op::kCapitaliseFund, 1000, "r1").result, R::kOk);
  TransferResult commit = op(Op::kCommitToProject, 600, "r2");
  ASSERT_EQ(commit.result, R::kOk);
  EXPECT_EQ(commit.transfer.id, "commit:r2");
  EXPECT_EQ(op(Op::kCommitToProject, 500, "r3").result, R::kExceedsCredits);
  EXPECT_EQ(op(Op::kPostCommitment, 400, "r4", commit.transfer.id).result, R::kOk);
  EXPECT_EQ(op(Op::kDisburseMilestone, 300, "r5").result, R::kOk);
  EXPECT_EQ(op(Op::kDisburseMilestone, 101, "r6", "", "m2").result, R::kExceedsCredits);
  // A milestone is paid once: its transfer id does not depend on the request id.
  EXPECT_EQ(op(Op::kDisburseMilestone, 300, "r5").result, R::kExists);
  EXPECT_EQ(op(Op::kDisburseMilestone, 300, "r5-again").result, R::kExistsWithDifferentBody);
  EXPECT_EQ(op(Op::kReleaseCommitment, 100, "r7").result, R::kOk);
  EXPECT_EQ(op(Op::kClawBack, 50, "r8").result, R::kOk);
  EXPECT_EQ(op(Op::kClawBack, 251, "r9").result, R::kExceedsCredits);
  // fund: credits 1000 capital + 100 released + 50 clawed back; debits 400 posted.
  EXPECT_THAT(Balances("fund:city-fund"), ElementsAre(0, 400, 0, 1150));
  EXPECT_THAT(Balances("fund:city-fund:source"), ElementsAre(0, 1000, 0, 0));
  EXPECT_THAT(Balances("project:cloud-pilot:commitment"), ElementsAre(0, 400, 0, 400));
  EXPECT_THAT(Balances("project:cloud-pilot:disbursed"), ElementsAre(0, 50, 0, 300));
  // Retries create nothing.
  EXPECT_EQ(op(Op::kCapitaliseFund, 1000, "r1").result, R::kExists);
  EXPECT_EQ(op(Op::kPostCommitment, 400, "r4", commit.transfer.id).result, R::kExists);
  EXPECT_EQ(op(Op::kClawBack, 50, "r8").result, R::kExists);
  // The same request id with another amount is a different body.
  EXPECT_EQ(op(Op::kCapitaliseFund, 999, "r1").result, R::kExistsWithDifferentBody);
  // A void of a commitment already posted.
  EXPECT_EQ(op(Op::kVoidCommitment, 0, "r10", commit.transfer.id).result,
            R::kPendingTransferAlreadyPosted);
  EXPECT_THAT(Balances("fund:city-fund"), ElementsAre(0, 400, 0, 1150));
}

}  // namespace iplus::funds::testing_cases
