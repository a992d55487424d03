#include "common/auth/policy.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace iplus::auth {
namespace {

constexpr RoleSet kA = RoleBit(Role::kAdmin);
constexpr RoleSet kR = RoleBit(Role::kRegulator);
constexpr RoleSet kF = RoleBit(Role::kFundManager);
constexpr RoleSet kP = RoleBit(Role::kPartner);
constexpr RoleSet kV = RoleBit(Role::kViewer);
constexpr RoleSet kS = RoleBit(Role::kService);
constexpr RoleSet kEveryone = kA | kR | kF | kP | kV | kS;

// Scoping texts shared by several rows.
constexpr char kNone[] = "not region-scoped";
constexpr char kEnterprise[] =
    "the enterprise must be in the caller's regions (its registered region; for a code the "
    "registry does not know, the region embedded in the code)";
constexpr char kScope[] =
    "`scope.region_prefix` must lie within the caller's regions; empty, it is narrowed to "
    "the caller's one region overlapping the instance (refused if several)";
constexpr char kInstance[] = "the caller's regions must cover the instance's whole region";
constexpr char kFund[] = "a fund manager only for the funds in its token";

struct ServiceRows {
  const char* service;  // "iplus.registry.v1.RegistryService"
  std::vector<MethodRule> rows;
};

MethodRule Row(const char* method, RoleSet roles, bool mutating, const char* object,
               const char* scoping) {
  MethodRule r;
  r.method = method;
  r.roles = roles;
  r.mutating = mutating;
  r.object = object;
  r.scoping = scoping;
  return r;
}

std::vector<ServiceRows> Table() {
  return {
      {"iplus.registry.v1.RegistryService",
       {
           Row("CreateEnterprise", kA | kR, true, "enterprise.code",
               "`enterprise.region` in the caller's regions, and the stored enterprise's too "
               "when the code exists"),
           Row("BatchCreateEnterprises", kA | kR, true, "requests",
               "per item as CreateEnterprise: an item outside is PERMISSION_DENIED in its "
               "`status`, the others proceed"),
           Row("GetEnterprise", kEveryone, false, "", kEnterprise),
           Row("BatchGetEnterprises", kEveryone, false, "",
               "every code as GetEnterprise; one outside refuses the call"),
           Row("UpdateEnterprise", kA | kR, true, "enterprise.code",
               "the stored enterprise, and the new `region` when the mask changes it, in the "
               "caller's regions"),
           Row("ArchiveEnterprise", kA | kR, true, "code", kEnterprise),
           Row("ListEnterprises", kEveryone, false, "", kScope),
           Row("CountEnterprises", kEveryone, false, "", kScope),
           Row("ExportEnterprises", kA | kR | kS, false, "", kScope),
           Row("CreateLink", kA | kR, true, "link.from_code,link.to_code",
               "both ends as GetEnterprise"),
           Row("ListLinks", kEveryone, false, "", kEnterprise),
           Row("DeleteLink", kA | kR, true, "from_code,to_code", "both ends as GetEnterprise"),
           Row("ListEvents", kA | kS, false, "", kInstance),
       }},
      {"iplus.ingest.v1.IngestService",
       {
           Row("ListIndicators", kEveryone, false, "", kNone),
           Row("GetIndicator", kEveryone, false, "", kNone),
           Row("CreateIndicator", kA | kR, true, "indicator.id", kNone),
           Row("RetireIndicator", kA | kR, true, "id", kNone),
           Row("ReportObservations", kA | kP, true, "observations",
               "per item: an enterprise outside the caller's regions (as GetEnterprise) is "
               "rejected `NOT_AUTHORIZED`, the others proceed"),
           Row("StreamObservations", kA | kP, true, "", "per item, as ReportObservations"),
           Row("GetSeries", kEveryone, false, "", kEnterprise),
           Row("GetObservationHistory", kEveryone, false, "", kEnterprise),
           Row("ScanIndicator", kA | kR | kS, false, "", kInstance),
           Row("GetCoverage", kA | kR | kV | kS, false, "", kInstance),
           Row("GetDataVersions", kA | kR | kS, false, "", kNone),
           Row("ListChanges", kA | kR | kS, false, "", kInstance),
       }},
      {"iplus.evaluation.v1.EvaluationService",
       {
           Row("CreateTarget", kA | kR, true, "target.id", kNone),
           Row("GetTarget", kEveryone, false, "", kNone),
           Row("UpdateTarget", kA | kR, true, "target.id", kNone),
           Row("ListTargets", kEveryone, false, "", kNone),
           Row("ArchiveTarget", kA | kR, true, "id", kNone),
           Row("Evaluate", kEveryone, false, "", kScope),
           Row("Breakdown", kEveryone, false, "", kScope),
           Row("GetScorecard", kEveryone, false, "", kScope),
           Row("WatchScorecard", kEveryone, false, "", kScope),
           Row("CheckEnterprise", kA | kR | kF | kS, false, "", kEnterprise),
       }},
      {"iplus.funds.v1.FundsService",
       {
           Row("CreateFund", kA | kF, true, "fund.id",
               "a fund manager only for the funds in its token; a region sponsor in the "
               "caller's regions"),
           Row("GetFund", kA | kR | kF | kV, false, "", kFund),
           Row("ListFunds", kA | kR | kF | kV, false, "",
               "a fund manager sees only the funds in its token"),
           Row("CreateProject", kA | kF, true, "project.id",
               "the project's fund as for CreateFund; the beneficiary as GetEnterprise"),
           Row("GetProject", kA | kR | kF | kV, false, "", "the project's fund as GetFund"),
           Row("ListProjects", kA | kR | kF | kV, false, "",
               "a fund manager: `fund_id` required and among its funds"),
           Row("CapitaliseFund", kA | kF, true, "fund_id", kFund),
           Row("CommitToProject", kA | kF, true, "project_id", "the project's fund as GetFund"),
           Row("PostCommitment", kA | kF, true, "project_id", "the project's fund as GetFund"),
           Row("VoidCommitment", kA | kF, true, "project_id", "the project's fund as GetFund"),
           Row("DisburseMilestone", kA | kF, true, "project_id,milestone_id",
               "the project's fund as GetFund"),
           Row("ReleaseCommitment", kA | kF, true, "project_id", "the project's fund as GetFund"),
           Row("ClawBack", kA | kF, true, "project_id", "the project's fund as GetFund"),
           Row("CreateTransfers", kA, true, "transfers", kNone),
           Row("LookupAccounts", kA | kR, false, "", kNone),
           Row("LookupTransfers", kA | kR, false, "", kNone),
           Row("ListAccountTransfers", kA | kR, false, "", kNone),
           Row("GetFundStatement", kA | kR | kF, false, "", kFund),
           Row("GetProjectStatement", kA | kR | kF, false, "", "the project's fund as GetFund"),
           Row("ListJournal", kA | kR, false, "", kNone),
           Row("VerifyJournal", kA | kR, false, "", kNone),
       }},
      {"iplus.audit.v1.AuditService",
       {
           Row("ListAuditRecords", kA | kR, false, "", kInstance),
       }},
  };
}

}  // namespace

const std::vector<Role>& AllRoles() {
  static const auto* roles =
      new std::vector<Role>{Role::kAdmin,   Role::kRegulator, Role::kFundManager,
                            Role::kPartner, Role::kViewer,    Role::kService};
  return *roles;
}

Policy::Policy(std::vector<MethodRule> rules) : rules_(std::move(rules)) {
  for (size_t i = 0; i < rules_.size(); ++i) index_.emplace(rules_[i].method, i);
}

const MethodRule* Policy::Find(absl::string_view full_method) const {
  auto it = index_.find(full_method);
  return it == index_.end() ? nullptr : &rules_[it->second];
}

const Policy& DefaultPolicy() {
  static const Policy* policy = [] {
    std::vector<MethodRule> rules;
    for (auto& service : Table()) {
      for (auto& row : service.rows) {
        row.method = absl::StrCat("/", service.service, "/", row.method);
        rules.push_back(std::move(row));
      }
    }
    return new Policy(std::move(rules));
  }();
  return *policy;
}

std::string RenderPolicyTable(const Policy& policy) {
  std::string out;
  std::string current_service;
  for (const MethodRule& rule : policy.rules()) {
    std::vector<std::string> parts = absl::StrSplit(rule.method, '/');
    // "", "<package>.<Service>", "<Method>"
    const std::string service = parts.size() == 3 ? parts[1] : rule.method;
    const std::string method = parts.size() == 3 ? parts[2] : rule.method;
    if (service != current_service) {
      if (!current_service.empty()) out += "\n";
      current_service = service;
      absl::StrAppend(&out, "### `", service, "`\n\n| RPC |");
      for (Role role : AllRoles()) absl::StrAppend(&out, " ", RoleName(role), " |");
      out += " audited | scoping |\n|---|";
      for (size_t i = 0; i < AllRoles().size(); ++i) out += ":-:|";
      out += ":-:|---|\n";
    }
    absl::StrAppend(&out, "| ", method, " |");
    for (Role role : AllRoles()) absl::StrAppend(&out, rule.Allows(role) ? " ✓ |" : "   |");
    absl::StrAppend(&out, rule.mutating ? " ✓ |" : "   |", " ", rule.scoping, " |\n");
  }
  return out;
}

}  // namespace iplus::auth
