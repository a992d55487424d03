#include "common/auth/policy.h"

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "iplus/audit/v1/audit.pb.h"
#include "iplus/evaluation/v1/evaluation.pb.h"
#include "iplus/funds/v1/funds.pb.h"
#include "iplus/ingest/v1/ingest.pb.h"
#include "iplus/registry/v1/registry.pb.h"

namespace iplus::auth {
namespace {

using ::testing::HasSubstr;

// Every RPC of the v1 services and of the audit service, from the generated descriptors.
std::set<std::string> AllMethods() {
  // Referencing one message of each file links it, registering its descriptors.
  const google::protobuf::FileDescriptor* files[] = {
      registry::v1::Enterprise::descriptor()->file(), ingest::v1::Observation::descriptor()->file(),
      evaluation::v1::Target::descriptor()->file(),   funds::v1::Fund::descriptor()->file(),
      audit::v1::AuditRecord::descriptor()->file(),
  };
  std::set<std::string> methods;
  for (const auto* file : files) {
    for (int s = 0; s < file->service_count(); ++s) {
      const auto* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        methods.insert(absl::StrCat("/", service->full_name(), "/", service->method(m)->name()));
      }
    }
  }
  return methods;
}

TEST(PolicyTest, EveryRpcOfEveryServiceHasARowAndEveryRowAnRpc) {
  const std::set<std::string> methods = AllMethods();
  EXPECT_GE(methods.size(), 13u + 12u + 10u + 21u + 1u);
  for (const std::string& m : methods) {
    EXPECT_NE(DefaultPolicy().Find(m), nullptr) << m << " has no row in the policy table";
  }
  for (const MethodRule& rule : DefaultPolicy().rules()) {
    EXPECT_TRUE(methods.count(rule.method)) << rule.method << " is not an RPC of any service";
    EXPECT_NE(rule.roles, 0u) << rule.method << " allows no role";
    EXPECT_FALSE(rule.scoping.empty()) << rule.method;
    EXPECT_TRUE(rule.Allows(Role::kAdmin)) << rule.method << ": admin may call everything";
  }
}

TEST(PolicyTest, UnknownMethodsHaveNoRow) {
  EXPECT_EQ(DefaultPolicy().Find("/iplus.registry.v1.RegistryService/DropEverything"), nullptr);
  EXPECT_EQ(DefaultPolicy().Find("/grpc.health.v1.Health/Check"), nullptr);
  EXPECT_EQ(DefaultPolicy().Find("CreateEnterprise"), nullptr);
  EXPECT_EQ(DefaultPolicy().Find(""), nullptr);
}

TEST(PolicyTest, RolesFollowTheDesign) {
  auto allows = [](const char* method, Role role) {
    const MethodRule* rule = DefaultPolicy().Find(method);
    return rule != nullptr && rule->Allows(role);
  };
  // Viewers read; they never write.
  EXPECT_TRUE(allows("/iplus.registry.v1.RegistryService/GetEnterprise", Role::kViewer));
  EXPECT_FALSE(allows("/iplus.registry.v1.RegistryService/CreateEnterprise", Role::kViewer));
  // Partners report observations; regulators do not.
  EXPECT_TRUE(allows("/iplus.ingest.v1.IngestService/ReportObservations", Role::kPartner));
  EXPECT_TRUE(allows("/iplus.ingest.v1.IngestService/StreamObservations", Role::kPartner));
  EXPECT_FALSE(allows("/iplus.ingest.v1.IngestService/ReportObservations", Role::kRegulator));
  // Regulators manage indicators and targets; partners do not.
  EXPECT_TRUE(allows("/iplus.ingest.v1.IngestService/CreateIndicator", Role::kRegulator));
  EXPECT_FALSE(allows("/iplus.ingest.v1.IngestService/CreateIndicator", Role::kPartner));
  EXPECT_TRUE(allows("/iplus.evaluation.v1.EvaluationService/UpdateTarget", Role::kRegulator));
  // Fund managers run funds; only admins write raw transfers.
  EXPECT_TRUE(allows("/iplus.funds.v1.FundsService/DisburseMilestone", Role::kFundManager));
  EXPECT_FALSE(allows("/iplus.funds.v1.FundsService/DisburseMilestone", Role::kRegulator));
  EXPECT_FALSE(allows("/iplus.funds.v1.FundsService/CreateTransfers", Role::kFundManager));
  EXPECT_TRUE(allows("/iplus.funds.v1.FundsService/VerifyJournal", Role::kRegulator));
  // The service role reads what other services need, and writes nothing.
  EXPECT_TRUE(allows("/iplus.registry.v1.RegistryService/ListEvents", Role::kService));
  EXPECT_TRUE(allows("/iplus.registry.v1.RegistryService/ExportEnterprises", Role::kService));
  EXPECT_TRUE(allows("/iplus.evaluation.v1.EvaluationService/CheckEnterprise", Role::kService));
  for (const MethodRule& rule : DefaultPolicy().rules()) {
    if (!rule.mutating) continue;
    EXPECT_FALSE(rule.Allows(Role::kService)) << rule.method;
    EXPECT_FALSE(rule.Allows(Role::kViewer)) << rule.method;
  }
  // The audit trail: admin and regulator only.
  const char* audit = "/iplus.audit.v1.AuditService/ListAuditRecords";
  EXPECT_TRUE(allows(audit, Role::kAdmin));
  EXPECT_TRUE(allows(audit, Role::kRegulator));
  for (Role r : {Role::kFundManager, Role::kPartner, Role::kViewer, Role::kService}) {
    EXPECT_FALSE(allows(audit, r)) << RoleName(r);
  }
}

TEST(PolicyTest, MutatingRowsNameTheirObject) {
  for (const MethodRule& rule : DefaultPolicy().rules()) {
    if (!rule.mutating) continue;
    if (rule.method == "/iplus.ingest.v1.IngestService/StreamObservations") continue;
    EXPECT_FALSE(rule.object.empty()) << rule.method;
  }
}

// docs/security.md carries the rendered table between two markers; it must be exactly
// what the code says (regenerate with the security_doc tool).
TEST(PolicyTest, SecurityDocMatchesTheTable) {
  std::ifstream in(IPLUS_SECURITY_DOC);
  ASSERT_TRUE(in) << "cannot read " << IPLUS_SECURITY_DOC;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string doc = buffer.str();
  const std::string begin = "<!-- BEGIN GENERATED: authorization table -->\n";
  const std::string end = "<!-- END GENERATED: authorization table -->";
  size_t b = doc.find(begin);
  size_t e = doc.find(end);
  ASSERT_NE(b, std::string::npos) << "marker missing: " << begin;
  ASSERT_NE(e, std::string::npos) << "marker missing: " << end;
  ASSERT_LT(b, e);
  const std::string in_doc = doc.substr(b + begin.size(), e - b - begin.size());
  EXPECT_EQ(in_doc, RenderPolicyTable(DefaultPolicy()))
      << "docs/security.md is out of date; run: <build>/common/auth/security_doc --write "
         "docs/security.md";
}

TEST(PolicyTest, RenderedTableHasARowPerMethodAndAColumnPerRole) {
  const std::string table = RenderPolicyTable(DefaultPolicy());
  for (Role r : AllRoles()) EXPECT_THAT(table, HasSubstr(RoleName(r)));
  EXPECT_THAT(table, HasSubstr("### `iplus.registry.v1.RegistryService`"));
  EXPECT_THAT(table, HasSubstr("### `iplus.audit.v1.AuditService`"));
  EXPECT_THAT(table, HasSubstr("| ListAuditRecords | ✓ | ✓ |"));
  size_t rows = 0;
  for (size_t pos = 0; (pos = table.find("\n| ", pos)) != std::string::npos; ++pos) ++rows;
  // One header row per service plus one row per method.
  EXPECT_EQ(rows, DefaultPolicy().rules().size() + 5);
}

}  // namespace
}  // namespace iplus::auth
