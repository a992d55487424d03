#pragma once

// The funds service's gRPC adapter: funds and projects (validation, idempotent creates,
// paging) over the FundCatalog, the fund operations as ledger transfers
// (services/funds/domain/operations.h) with the checks the ledger cannot make alone
// (budget, closed projects, milestone conditions through EvaluationService, the
// beneficiary through the registry), statements from account balances, and the
// low-level ledger calls. docs/funds.md describes the rules; docs/api.md the codes.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/auth.h"
#include "common/clock/clock.h"
#include "common/metrics/counter.h"
#include "common/metrics/family.h"
#include "common/metrics/histogram.h"
#include "common/metrics/registry.h"
#include "common/replay/replay_cache.h"
#include "iplus/evaluation/v1/evaluation.grpc.pb.h"
#include "iplus/funds/v1/funds.grpc.pb.h"
#include "iplus/registry/v1/registry.grpc.pb.h"
#include "services/funds/catalog/catalog.h"
#include "services/funds/domain/ledger_store.h"
#include "services/funds/domain/operations.h"

namespace iplus::funds {

struct FundsServiceOptions {
  // Region prefix of the instance ("" national): beneficiaries and region sponsors must
  // lie within it.
  std::string region_prefix;
  // Longest wait for EvaluationService.CheckEnterprise and RegistryService.GetEnterprise
  // (shortened by the client's own deadline).
  absl::Duration evaluation_deadline = absl::Seconds(5);
  absl::Duration registry_deadline = absl::Seconds(5);
  // Longest wait for a project's lock (ProjectLocks) before ABORTED.
  absl::Duration lock_wait = absl::Seconds(10);
  // Statements: reads of the balances retried while the journal moves under them.
  int statement_attempts = 10;
};

class FundsServiceImpl final : public v1::FundsService::Service {
 public:
  // Nothing is owned; everything but `replay` (may be null) must outlive the service.
  // `writable` says whether mutations may run (OK once Redis was found durable;
  // UNAVAILABLE, returned to the caller, otherwise); null: always.
  FundsServiceImpl(LedgerStore* ledger, FundCatalog* catalog, ProjectLocks* locks,
                   registry::v1::RegistryService::StubInterface* registry,
                   evaluation::v1::EvaluationService::StubInterface* evaluation,
                   redis::ReplayCache* replay, Clock* clock, metrics::Registry& metrics,
                   std::function<absl::Status()> writable, FundsServiceOptions options = {});

  grpc::Status CreateFund(grpc::ServerContext*, const v1::CreateFundRequest*,
                          v1::CreateFundResponse*) override;
  grpc::Status GetFund(grpc::ServerContext*, const v1::GetFundRequest*,
                       v1::GetFundResponse*) override;
  grpc::Status ListFunds(grpc::ServerContext*, const v1::ListFundsRequest*,
                         v1::ListFundsResponse*) override;
  grpc::Status CreateProject(grpc::ServerContext*, const v1::CreateProjectRequest*,
                             v1::CreateProjectResponse*) override;
  grpc::Status GetProject(grpc::ServerContext*, const v1::GetProjectRequest*,
                          v1::GetProjectResponse*) override;
  grpc::Status ListProjects(grpc::ServerContext*, const v1::ListProjectsRequest*,
                            v1::ListProjectsResponse*) override;

  grpc::Status CapitaliseFund(grpc::ServerContext*, const v1::CapitaliseFundRequest*,
                              v1::CapitaliseFundResponse*) override;
  grpc::Status CommitToProject(grpc::ServerContext*, const v1::CommitToProjectRequest*,
                               v1::CommitToProjectResponse*) override;
  grpc::Status PostCommitment(grpc::ServerContext*, const v1::PostCommitmentRequest*,
                              v1::PostCommitmentResponse*) override;
  grpc::Status VoidCommitment(grpc::ServerContext*, const v1::VoidCommitmentRequest*,
                              v1::VoidCommitmentResponse*) override;
  grpc::Status DisburseMilestone(grpc::ServerContext*, const v1::DisburseMilestoneRequest*,
                                 v1::DisburseMilestoneResponse*) override;
  grpc::Status ReleaseCommitment(grpc::ServerContext*, const v1::ReleaseCommitmentRequest*,
                                 v1::ReleaseCommitmentResponse*) override;
  grpc::Status ClawBack(grpc::ServerContext*, const v1::ClawBackRequest*,
                        v1::ClawBackResponse*) override;

  grpc::Status CreateTransfers(grpc::ServerContext*, const v1::CreateTransfersRequest*,
                               v1::CreateTransfersResponse*) override;
  grpc::Status LookupAccounts(grpc::ServerContext*, const v1::LookupAccountsRequest*,
                              v1::LookupAccountsResponse*) override;
  grpc::Status LookupTransfers(grpc::ServerContext*, const v1::LookupTransfersRequest*,
                               v1::LookupTransfersResponse*) override;
  grpc::Status ListAccountTransfers(grpc::ServerContext*, const v1::ListAccountTransfersRequest*,
                                    v1::ListAccountTransfersResponse*) override;
  grpc::Status GetFundStatement(grpc::ServerContext*, const v1::GetFundStatementRequest*,
                                v1::GetFundStatementResponse*) override;
  grpc::Status GetProjectStatement(grpc::ServerContext*, const v1::GetProjectStatementRequest*,
                                   v1::GetProjectStatementResponse*) override;
  grpc::Status ListJournal(grpc::ServerContext*, const v1::ListJournalRequest*,
                           v1::ListJournalResponse*) override;
  grpc::Status VerifyJournal(grpc::ServerContext*, const v1::VerifyJournalRequest*,
                             v1::VerifyJournalResponse*) override;

 private:
  // What a fund operation's failure messages need.
  struct Operation {
    FundOperationRequest request;
    // The milestone's amount, for DisburseMilestone's messages.
    int64_t amount = 0;
  };

  absl::Status Writable() const;
  // The ledger's CreateTransfers, counted in the metrics.
  absl::StatusOr<std::vector<TransferResult>> Apply(const std::vector<Transfer>& transfers);
  // The transfer with this id, if any.
  absl::StatusOr<std::optional<Transfer>> FindTransfer(const std::string& id);
  // Creates the operation's transfer and maps a failed result to a status (docs/api.md).
  absl::StatusOr<Transfer> Run(const Operation& op);
  absl::Status OperationError(const Operation& op, const TransferResult& r);
  // A project named by a request (`field`), after the caller's fund check.
  absl::StatusOr<v1::Project> LoadProject(const grpc::ServerContext* ctx, const std::string& id,
                                          const char* field);
  // The project's commitment and disbursed accounts.
  absl::StatusOr<std::pair<Account, Account>> ProjectAccountsOf(const std::string& project_id);
  // Fills the milestones that the ledger shows disbursed but the catalog does not yet
  // (a catalog update lost after its transfer), and repairs the catalog.
  absl::Status Reconcile(std::vector<v1::Project*> projects);
  // Marks the milestone disbursed by `t` in the catalog; the project as it is now.
  absl::StatusOr<v1::Project> MarkDisbursed(const std::string& project_id,
                                            const std::string& milestone_id, const Transfer& t);
  // Calls EvaluationService.CheckEnterprise for a conditioned milestone.
  absl::StatusOr<evaluation::v1::CheckEnterpriseResponse> CheckCondition(
      const grpc::ServerContext& ctx, const v1::Project& project, int milestone_index);
  // The beneficiary exists in the registry, in the caller's regions and this instance's,
  // and (unless allow_archived) is not archived.
  absl::Status CheckBeneficiary(const grpc::ServerContext& ctx, const auth::Principal& caller,
                                const std::string& code, bool allow_archived);
  // The scope checks of the mutating calls, made before the request id is looked up.
  absl::Status AuthorizeFundCreation(const grpc::ServerContext& ctx, const v1::Fund& fund);
  absl::Status AuthorizeFund(const grpc::ServerContext& ctx, const std::string& fund_id);
  absl::Status AuthorizeProject(const grpc::ServerContext& ctx, const std::string& project_id);
  absl::Status AuthorizeProjectCreation(const grpc::ServerContext& ctx, const v1::Project& project);
  absl::Time Deadline(const grpc::ServerContext& ctx, absl::Duration limit) const;
  // Reads `ids` (any number) with the journal head before and after; retried while the
  // head moves. The accounts in order (zero balances for one not found) and the head.
  absl::StatusOr<std::pair<std::vector<Account>, int64_t>> StableBalances(
      const std::vector<std::string>& ids);

  LedgerStore* const ledger_;
  FundCatalog* const catalog_;
  ProjectLocks* const locks_;
  registry::v1::RegistryService::StubInterface* const registry_;
  evaluation::v1::EvaluationService::StubInterface* const evaluation_;
  redis::ReplayCache* const replay_;
  Clock* const clock_;
  const std::function<absl::Status()> writable_;
  const FundsServiceOptions options_;
  metrics::Family<metrics::Counter>& transfers_;
  metrics::Histogram& batch_sizes_;
  metrics::Family<metrics::Counter>& verifications_;
};

}  // namespace iplus::funds
