// Transfer and account validation, and the body comparison behind idempotent ids.

#include "services/funds/domain/validate.h"

#include "common/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::funds {
namespace {

using R = CreateTransferResult;

Transfer Valid() {
  Transfer t;
  t.id = "t-1";
  t.debit_account_id = "x";
  t.credit_account_id = "y";
  t.amount = 1;
  t.ledger = kLedgerCny;
  t.type = static_cast<int32_t>(IatiType::kIncomingFunds);
  return t;
}

R CodeOf(const Transfer& t) {
  auto v = ValidateTransfer(t);
  return v.has_value() ? v->code : R::kOk;
}

TEST(ValidateTest, Ids) {
  EXPECT_TRUE(IsValidTransferId("a"));
  EXPECT_TRUE(IsValidTransferId("A-z_0.9:x"));
  EXPECT_TRUE(IsValidTransferId(std::string(64, 'a')));
  EXPECT_FALSE(IsValidTransferId(""));
  EXPECT_FALSE(IsValidTransferId(std::string(65, 'a')));
  EXPECT_FALSE(IsValidTransferId("a b"));
  EXPECT_FALSE(IsValidTransferId("~expire:a"));
  EXPECT_FALSE(IsValidTransferId("é"));
  EXPECT_TRUE(IsValidAccountId(std::string(128, 'a')));
  EXPECT_FALSE(IsValidAccountId(std::string(129, 'a')));
}

TEST(ValidateTest, ValidTransfersPass) {
  EXPECT_EQ(CodeOf(Valid()), R::kOk);
  Transfer pending = Valid();
  pending.flags.pending = true;
  pending.timeout_ns = 5;
  EXPECT_EQ(CodeOf(pending), R::kOk);
  // Post and void may leave accounts, amount, ledger and type empty.
  Transfer post;
  post.id = "p";
  post.pending_id = "x";
  post.flags.post_pending_transfer = true;
  EXPECT_EQ(CodeOf(post), R::kOk);
  post.flags.post_pending_transfer = false;
  post.flags.void_pending_transfer = true;
  EXPECT_EQ(CodeOf(post), R::kOk);
}

TEST(ValidateTest, OrderOfChecks) {
  // Every defect at once: the id is reported first; fix it and the next shows.
  Transfer t;
  t.flags.pending = true;
  t.flags.void_pending_transfer = true;
  t.timeout_ns = -1;
  t.amount = -1;
  t.type = 77;
  const std::vector<std::pair<R, std::string>> expected = {
      {R::kIdMalformed, "id"},
      {R::kFlagsAreMutuallyExclusive, "flags"},
      {R::kDebitAccountIdMissing, "debit_account_id"},
      {R::kCreditAccountIdMissing, "credit_account_id"},
      {R::kAccountsMustBeDifferent, "credit_account_id"},
      {R::kPendingIdMustBeEmpty, "pending_id"},
      {R::kTimeoutReservedForPendingTransfer, "timeout"},
      {R::kAmountMustBePositive, "amount"},
      {R::kLedgerMissing, "ledger"},
      {R::kTypeMissing, "type"},
  };
  for (size_t step = 0; step < expected.size(); ++step) {
    auto v = ValidateTransfer(t);
    ASSERT_TRUE(v.has_value()) << step;
    EXPECT_EQ(v->code, expected[step].first) << step;
    EXPECT_EQ(v->field, expected[step].second) << step;
    switch (step) {
      case 0:
        t.id = "ok";
        break;
      case 1:
        t.flags.void_pending_transfer = false;
        break;
      case 2:
        t.debit_account_id = "same";
        break;
      case 3:
        t.credit_account_id = "same";
        break;
      case 4:
        t.credit_account_id = "other";
        t.pending_id = "p";
        break;
      case 5:
        t.pending_id = "";
        break;
      case 6:
        t.timeout_ns = 0;
        break;
      case 7:
        t.amount = 3;
        break;
      case 8:
        t.ledger = 1;
        break;
      default:
        break;
    }
  }
  t.type = 1;
  EXPECT_EQ(CodeOf(t), R::kOk);
}

TEST(ValidateTest, ViolationStatusNamesThePrefixedField) {
  Transfer t = Valid();
  t.amount = 0;
  auto v = ValidateTransfer(t);
  ASSERT_TRUE(v.has_value());
  absl::Status s = v->ToStatus("transfers[7]");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(FieldViolations(s).size(), 1u);
  EXPECT_EQ(FieldViolations(s)[0].field, "transfers[7].amount");
}

TEST(ValidateTest, PostAndVoidSpecifics) {
  Transfer post;
  post.id = "p";
  post.flags.post_pending_transfer = true;
  EXPECT_EQ(CodeOf(post), R::kPendingIdMissing);
  post.pending_id = "x";
  post.timeout_ns = 1;
  EXPECT_EQ(CodeOf(post), R::kTimeoutReservedForPendingTransfer);
  post.timeout_ns = 0;
  post.amount = -3;
  EXPECT_EQ(CodeOf(post), R::kAmountMustBePositive);
  post.amount = 0;
  post.debit_account_id = "a";
  post.credit_account_id = "a";
  EXPECT_EQ(CodeOf(post), R::kAccountsMustBeDifferent);
}

TEST(ValidateTest, DifferingField) {
  Transfer stored = Valid();
  stored.timestamp_ns = 5;
  stored.journal_sequence = 9;
  stored.pending_state = PendingState::kPosted;
  Transfer same = Valid();
  EXPECT_EQ(DifferingField(same, stored), "");  // output fields do not count
  Transfer t = Valid();
  t.memo = "m";
  EXPECT_EQ(DifferingField(t, stored), "memo");
  t = Valid();
  t.flags.linked = true;
  t.amount = 2;
  EXPECT_EQ(DifferingField(t, stored), "flags");  // flags come first
  t = Valid();
  t.ledger = 0;
  EXPECT_EQ(DifferingField(t, stored), "ledger");  // not optional for single-phase

  // A resolved post: empty request fields match the stored, filled-in values.
  Transfer post_stored = Valid();
  post_stored.flags.post_pending_transfer = true;
  post_stored.pending_id = "p";
  post_stored.amount = 40;
  Transfer post;
  post.id = post_stored.id;
  post.flags.post_pending_transfer = true;
  post.pending_id = "p";
  EXPECT_EQ(DifferingField(post, post_stored), "");
  post.amount = 40;
  post.debit_account_id = "x";
  EXPECT_EQ(DifferingField(post, post_stored), "");
  post.amount = 39;
  EXPECT_EQ(DifferingField(post, post_stored), "amount");
  post.amount = 0;
  post.credit_account_id = "z";
  EXPECT_EQ(DifferingField(post, post_stored), "credit_account_id");
  post.credit_account_id = "";
  post.pending_id = "q";
  EXPECT_EQ(DifferingField(post, post_stored), "pending_id");
}

TEST(ValidateTest, Accounts) {
  Account a;
  a.id = "fund:x";
  a.kind = AccountKind::kFund;
  EXPECT_TRUE(ValidateAccount(a).ok());
  auto field = [](const Account& account) {
    auto v = FieldViolations(ValidateAccount(account));
    return v.empty() ? std::string() : v[0].field;
  };
  Account b = a;
  b.id = "bad id";
  EXPECT_EQ(field(b), "id");
  b = a;
  b.ledger = 0;
  EXPECT_EQ(field(b), "ledger");
  b = a;
  b.flags.debits_must_not_exceed_credits = b.flags.credits_must_not_exceed_debits = true;
  EXPECT_EQ(field(b), "flags");
  b = a;
  b.kind = static_cast<AccountKind>(9);
  EXPECT_EQ(field(b), "kind");
  b = a;
  b.credits_posted = 1;
  EXPECT_EQ(field(b), "credits_posted");
  b = a;
  b.project_id = "p";
  EXPECT_EQ(DifferingAccountField(b, a), "project_id");
  b.debits_posted = 5;  // balances are not part of the body
  b.project_id = "";
  EXPECT_EQ(DifferingAccountField(b, a), "");
}

TEST(ValidateTest, ResultCodesMapToStatusCodes) {
  EXPECT_EQ(ResultStatusCode(R::kOk), absl::StatusCode::kOk);
  EXPECT_EQ(ResultStatusCode(R::kExists), absl::StatusCode::kOk);
  EXPECT_EQ(ResultStatusCode(R::kExistsWithDifferentBody), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ResultStatusCode(R::kLinkedEventFailed), absl::StatusCode::kAborted);
  EXPECT_EQ(ResultStatusCode(R::kLinkedEventChainOpen), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResultStatusCode(R::kTypeMissing), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResultStatusCode(R::kPendingTransferNotFound), absl::StatusCode::kNotFound);
  EXPECT_EQ(ResultStatusCode(R::kExceedsCredits), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ResultStatusCode(R::kOverflows), absl::StatusCode::kFailedPrecondition);
  for (int i = 1; i <= 31; ++i) {
    EXPECT_STRNE(ResultName(static_cast<R>(i)), "UNKNOWN") << i;
    EXPECT_NE(ResultStatusCode(static_cast<R>(i)), absl::StatusCode::kInternal) << i;
  }
}

}  // namespace
}  // namespace iplus::funds
