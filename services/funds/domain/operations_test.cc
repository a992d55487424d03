// The fund operations' transfers.

#include "services/funds/domain/operations.h"

#include "common/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/funds/domain/validate.h"

namespace iplus::funds {
namespace {

using Op = FundOperation;

FundOperationRequest Req(Op op, int64_t amount = 100) {
  FundOperationRequest r;
  r.operation = op;
  r.fund_id = "gd-fund";
  r.project_id = "pilot-1";
  r.amount = amount;
  r.request_id = "5f0c6a52-8c1e-4a3e-9d43-0b2f6b1c9e10";
  if (op == Op::kPostCommitment || op == Op::kVoidCommitment) r.pending_transfer_id = "commit:x";
  if (op == Op::kDisburseMilestone) r.milestone_id = "m1";
  return r;
}

Transfer One(const FundOperationRequest& r) {
  auto t = TransfersFor(r);
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok()) return Transfer();
  EXPECT_EQ(t->size(), 1u);
  EXPECT_FALSE(ValidateTransfer((*t)[0]).has_value());
  return (*t)[0];
}

std::string Field(const FundOperationRequest& r) {
  auto t = TransfersFor(r);
  auto v = FieldViolations(t.status());
  return v.empty() ? std::string() : v[0].field;
}

TEST(OperationsTest, AccountsOfFundsAndProjects) {
  auto f = FundAccounts("gd-fund");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].id, "fund:gd-fund:source");
  EXPECT_EQ(f[0].kind, AccountKind::kFundSource);
  EXPECT_FALSE(f[0].flags.debits_must_not_exceed_credits);
  EXPECT_EQ(f[1].id, "fund:gd-fund");
  EXPECT_EQ(f[1].kind, AccountKind::kFund);
  EXPECT_TRUE(f[1].flags.debits_must_not_exceed_credits);
  auto p = ProjectAccounts("gd-fund", "pilot-1");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].id, "project:pilot-1:commitment");
  EXPECT_EQ(p[0].project_id, "pilot-1");
  EXPECT_EQ(p[0].fund_id, "gd-fund");
  EXPECT_TRUE(p[0].flags.debits_must_not_exceed_credits);
  EXPECT_EQ(p[1].id, "project:pilot-1:disbursed");
  EXPECT_TRUE(p[1].flags.debits_must_not_exceed_credits);
  for (const Account& a : f) EXPECT_TRUE(ValidateAccount(a).ok());
  for (const Account& a : p) EXPECT_TRUE(ValidateAccount(a).ok());
}

TEST(OperationsTest, TheTableOfFundsProto) {
  struct Row {
    Op op;
    std::string debit, credit;
    IatiType type;
  };
  const std::vector<Row> rows = {
      {Op::kCapitaliseFund, "fund:gd-fund:source", "fund:gd-fund", IatiType::kIncomingFunds},
      {Op::kCommitToProject, "fund:gd-fund", "project:pilot-1:commitment",
       IatiType::kOutgoingCommitment},
      {Op::kPostCommitment, "fund:gd-fund", "project:pilot-1:commitment",
       IatiType::kOutgoingCommitment},
      {Op::kVoidCommitment, "fund:gd-fund", "project:pilot-1:commitment",
       IatiType::kOutgoingCommitment},
      {Op::kDisburseMilestone, "project:pilot-1:commitment", "project:pilot-1:disbursed",
       IatiType::kDisbursement},
      {Op::kReleaseCommitment, "project:pilot-1:commitment", "fund:gd-fund",
       IatiType::kOutgoingCommitment},
      {Op::kClawBack, "project:pilot-1:disbursed", "fund:gd-fund", IatiType::kIncomingFunds},
  };
  for (const Row& row : rows) {
    Transfer t = One(Req(row.op));
    EXPECT_EQ(t.debit_account_id, row.debit) << OperationName(row.op);
    EXPECT_EQ(t.credit_account_id, row.credit) << OperationName(row.op);
    EXPECT_EQ(t.type, static_cast<int32_t>(row.type)) << OperationName(row.op);
    EXPECT_EQ(t.ledger, kLedgerCny);
    EXPECT_EQ(t.fund_id, "gd-fund");
    if (row.op == Op::kDisburseMilestone) {
      EXPECT_EQ(t.id, MilestoneTransferId("pilot-1", "m1"));
      EXPECT_EQ(t.id, "disburse:pilot-1:m1");
    } else {
      EXPECT_EQ(t.id, OperationTransferId(row.op, "5f0c6a52-8c1e-4a3e-9d43-0b2f6b1c9e10"));
    }
  }
  EXPECT_TRUE(One(Req(Op::kCommitToProject)).flags.pending);
  Transfer post = One(Req(Op::kPostCommitment, 0));
  EXPECT_TRUE(post.flags.post_pending_transfer);
  EXPECT_EQ(post.pending_id, "commit:x");
  EXPECT_EQ(post.amount, 0);
  Transfer v = One(Req(Op::kVoidCommitment, 55));
  EXPECT_TRUE(v.flags.void_pending_transfer);
  EXPECT_EQ(v.amount, 0);
  EXPECT_EQ(One(Req(Op::kDisburseMilestone)).milestone_id, "m1");
  FundOperationRequest commit = Req(Op::kCommitToProject);
  commit.timeout_ns = 5'000'000'000;
  EXPECT_EQ(One(commit).timeout_ns, 5'000'000'000);
}

TEST(OperationsTest, TransferIdsDeriveFromTheRequestId) {
  EXPECT_EQ(OperationTransferId(Op::kCommitToProject, "abc-123"), "commit:abc-123");
  EXPECT_EQ(OperationTransferId(Op::kClawBack, "5f0c6a52-8c1e-4a3e-9d43-0b2f6b1c9e10"),
            "clawback:5f0c6a52-8c1e-4a3e-9d43-0b2f6b1c9e10");
  // Deterministic, and distinct per operation.
  EXPECT_EQ(OperationTransferId(Op::kCapitaliseFund, "r"),
            OperationTransferId(Op::kCapitaliseFund, "r"));
  EXPECT_NE(OperationTransferId(Op::kCapitaliseFund, "r"),
            OperationTransferId(Op::kDisburseMilestone, "r"));
  // Characters outside the plain set, or too long: hashed, still a valid transfer id.
  for (const std::string& rid :
       {std::string("a b"), std::string("x.y"), std::string(60, 'z'), std::string("日本")}) {
    std::string id = OperationTransferId(Op::kReleaseCommitment, rid);
    EXPECT_TRUE(IsValidTransferId(id)) << id;
    EXPECT_THAT(id, ::testing::StartsWith("release:h."));
  }
  EXPECT_NE(OperationTransferId(Op::kReleaseCommitment, "a b"),
            OperationTransferId(Op::kReleaseCommitment, "a  b"));
}

TEST(OperationsTest, AMilestoneHasOneTransferWhateverTheRequestId) {
  FundOperationRequest a = Req(Op::kDisburseMilestone);
  a.memo = "ignored";
  FundOperationRequest b = a;
  b.request_id = "another-request";
  Transfer ta = One(a);
  Transfer tb = One(b);
  // The same id, so the ledger can hold only one of them ...
  EXPECT_EQ(ta.id, tb.id);
  EXPECT_EQ(ta.id, TransferIdFor(a));
  // ... and the request id in the memo tells a retry (same body) from another request.
  EXPECT_EQ(ta.memo, "5f0c6a52-8c1e-4a3e-9d43-0b2f6b1c9e10");
  EXPECT_EQ(tb.memo, "another-request");
  EXPECT_EQ(DifferingField(tb, ta), "memo");
  EXPECT_EQ(DifferingField(ta, ta), "");
  // Other milestones and projects get other ids.
  EXPECT_NE(MilestoneTransferId("pilot-1", "m1"), MilestoneTransferId("pilot-1", "m2"));
  EXPECT_NE(MilestoneTransferId("pilot-1", "m1"), MilestoneTransferId("pilot-2", "m1"));
  // Too long for the plain form: hashed, still valid, still distinct.
  const std::string long_project(60, 'p');
  for (const auto& [project, milestone] :
       {std::pair<std::string, std::string>{long_project, "m1"},
        std::pair<std::string, std::string>{"pilot-1", std::string(64, 'm')},
        std::pair<std::string, std::string>{"pilot-1", "m 1"}}) {
    std::string id = MilestoneTransferId(project, milestone);
    EXPECT_TRUE(IsValidTransferId(id)) << id;
    EXPECT_THAT(id, ::testing::StartsWith("disburse:h.")) << id;
  }
  EXPECT_NE(MilestoneTransferId(long_project, "m1"), MilestoneTransferId(long_project, "m2"));
  // The request id does not matter.
  EXPECT_EQ(OperationTransferId(Op::kCommitToProject, "r1"), "commit:r1");
}

TEST(OperationsTest, BadRequestsNameTheField) {
  FundOperationRequest r = Req(Op::kCapitaliseFund);
  r.request_id = "";
  EXPECT_EQ(Field(r), "request_id");
  r = Req(Op::kCapitaliseFund);
  r.fund_id = "";
  EXPECT_EQ(Field(r), "fund_id");
  r = Req(Op::kCapitaliseFund);
  r.project_id = "";
  EXPECT_EQ(Field(r), "");  // capitalising needs no project
  r = Req(Op::kCommitToProject);
  r.project_id = "";
  EXPECT_EQ(Field(r), "project_id");
  EXPECT_EQ(Field(Req(Op::kCapitaliseFund, 0)), "amount");
  EXPECT_EQ(Field(Req(Op::kClawBack, -1)), "amount");
  EXPECT_EQ(Field(Req(Op::kPostCommitment, -1)), "amount");
  EXPECT_EQ(Field(Req(Op::kPostCommitment, 0)), "");
  r = Req(Op::kDisburseMilestone);
  r.timeout_ns = 1;
  EXPECT_EQ(Field(r), "timeout");
  r = Req(Op::kCommitToProject);
  r.timeout_ns = -1;
  EXPECT_EQ(Field(r), "timeout");
  r = Req(Op::kVoidCommitment);
  r.pending_transfer_id = "";
  EXPECT_EQ(Field(r), "pending_transfer_id");
  r = Req(Op::kDisburseMilestone);
  r.milestone_id = "";
  EXPECT_EQ(Field(r), "milestone_id");
}

}  // namespace
}  // namespace iplus::funds
