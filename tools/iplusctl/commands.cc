#include "tools/iplusctl/commands.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <iostream>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "iplus/evaluation/v1/evaluation.grpc.pb.h"
#include "iplus/ingest/v1/ingest.grpc.pb.h"
#include "iplus/registry/v1/registry.grpc.pb.h"
#include "tools/iplusctl/enums.h"
#include "tools/iplusctl/funds_commands.h"
#include "tools/iplusctl/import.h"
#include "tools/iplusctl/report.h"

namespace iplus::ctl {

namespace cv1 = ::iplus::common::v1;
namespace rv1 = ::iplus::registry::v1;
namespace iv1 = ::iplus::ingest::v1;
namespace ev1 = ::iplus::evaluation::v1;

int Context::Fail(const grpc::Status& status) {
  *err << "iplusctl: " << DescribeStatus(status) << "\n";
  return ExitCodeFor(status.error_code());
}

int Context::Usage(const std::string& message) {
  *err << "iplusctl: " << message << "\n";
  return kExitUsage;
}

std::string Context::Num(double v) const {
  if (format == OutputFormat::kTable) return absl::StrFormat("%.6g", v);
  return FormatDouble(v);
}

namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void OnSignal(int) { g_interrupted.store(true); }

// ---------------------------------------------------------------------------------------
// Shared flags.

const std::vector<FlagSpec>& ScopeFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"region", true, "region code prefix, 1-6 digits (\"44\", \"4401\")"},
      {"industry", true, "industry code prefix (\"C\", \"C26\", \"C261\")"},
      {"ownership", true, "ownership (private, state-owned, joint-stock, ...)"},
      {"size", true, "enterprise size (large, medium, small, micro)"},
      {"kind", true, "organization kind (manufacturer, platform-operator, ...)"},
      {"key-only", false, "only key enterprises"},
  };
  return *flags;
}

std::vector<FlagSpec> With(std::vector<FlagSpec> a, const std::vector<FlagSpec>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Fills `scope` from the scope flags; false (after a usage message) for a bad value.
bool BuildScope(Context& ctx, cv1::Scope* scope, int* exit_code) {
  scope->set_region_prefix(ctx.args.Get("region"));
  scope->set_industry_prefix(ctx.args.Get("industry"));
  int v;
  if (ctx.args.Has("ownership")) {
    if (!ParseOwnership(ctx.args.Get("ownership"), &v)) {
      *exit_code = ctx.Usage(
          absl::StrCat("--ownership: \"", ctx.args.Get("ownership"), "\" is not an ownership"));
      return false;
    }
    scope->set_ownership(static_cast<cv1::Ownership>(v));
  }
  if (ctx.args.Has("size")) {
    if (!ParseSize(ctx.args.Get("size"), &v)) {
      *exit_code = ctx.Usage(absl::StrCat("--size: \"", ctx.args.Get("size"), "\" is not a size"));
      return false;
    }
    scope->set_size(static_cast<cv1::EnterpriseSize>(v));
  }
  if (ctx.args.Has("kind")) {
    if (!ParseKind(ctx.args.Get("kind"), &v)) {
      *exit_code = ctx.Usage(
          absl::StrCat("--kind: \"", ctx.args.Get("kind"), "\" is not an organization kind"));
      return false;
    }
    scope->set_kind(static_cast<cv1::OrganizationKind>(v));
  }
  scope->set_key_only(ctx.args.Switch("key-only"));
  return true;
}

template <typename StubT>
std::unique_ptr<typename StubT::Stub> StubFor(Context& ctx, Service service, int* exit_code) {
  auto channel = ctx.client->Channel(service);
  if (!channel.ok()) {
    *ctx.err << "iplusctl: " << channel.status().message() << "\n";
    *exit_code = kExitRejected;
    return nullptr;
  }
  return StubT::NewStub(*channel);
}

#define IPLUS_STUB(var, Svc, service)                 \
  int stub_exit_ = 0;                                 \
  auto var = StubFor<Svc>(ctx, service, &stub_exit_); \
  if (var == nullptr) return stub_exit_;

// A unary call with the connection's deadline and token.
template <typename Stub, typename Req, typename Resp>
grpc::Status Call(Context& ctx, Stub& stub,
                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                  const Req& request, Resp* response) {
  grpc::ClientContext context;
  ctx.client->Prepare(&context);
  return (stub.*method)(&context, request, response);
}

std::string RequestId() {
  // Unique enough per invocation: time and a process-local counter.
  static std::atomic<int64_t> counter{0};
  return absl::StrFormat("iplusctl-%d-%d-%d", absl::ToUnixNanos(absl::Now()), getpid(),
                         counter.fetch_add(1));
}

std::string Time(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

// ---------------------------------------------------------------------------------------
// Enterprises.

std::string Kind(int v) {
  return EnumShortName(cv1::OrganizationKind_descriptor(), "ORGANIZATION_KIND_", v);
}
std::string Ownership(int v) { return EnumShortName(cv1::Ownership_descriptor(), "OWNERSHIP_", v); }
std::string Size(int v) {
  return EnumShortName(cv1::EnterpriseSize_descriptor(), "ENTERPRISE_SIZE_", v);
}

Table EnterpriseTable() {
  Table t;
  t.header = {"code", "name", "region", "industry", "kind", "ownership", "size", "key", "archived"};
  return t;
}
void AddEnterprise(Table* t, const rv1::Enterprise& e) {
  t->Add({e.code(), e.name(), e.region(), e.industry(), Kind(e.kind()), Ownership(e.ownership()),
          Size(e.size()), e.key_enterprise() ? "true" : "false", e.archived() ? "true" : "false"});
}

int EnterpriseCreate(Context& ctx) {
  rv1::CreateEnterpriseRequest request;
  rv1::Enterprise* e = request.mutable_enterprise();
  e->set_code(ctx.args.Get("code"));
  e->set_name(ctx.args.Get("name"));
  e->set_region(ctx.args.Get("region"));
  e->set_industry(ctx.args.Get("industry"));
  int v;
  if (ctx.args.Has("kind")) {
    if (!ParseKind(ctx.args.Get("kind"), &v)) {
      return ctx.Usage(absl::StrCat("--kind: \"", ctx.args.Get("kind"), "\" is not a kind"));
    }
    e->set_kind(static_cast<cv1::OrganizationKind>(v));
  }
  if (ctx.args.Has("ownership")) {
    if (!ParseOwnership(ctx.args.Get("ownership"), &v)) {
      return ctx.Usage(
          absl::StrCat("--ownership: \"", ctx.args.Get("ownership"), "\" is not an ownership"));
    }
    e->set_ownership(static_cast<cv1::Ownership>(v));
  }
  if (ctx.args.Has("size")) {
    if (!ParseSize(ctx.args.Get("size"), &v)) {
      return ctx.Usage(absl::StrCat("--size: \"", ctx.args.Get("size"), "\" is not a size"));
    }
    e->set_size(static_cast<cv1::EnterpriseSize>(v));
  }
  e->set_key_enterprise(ctx.args.Switch("key"));
  for (const auto& label : ctx.args.GetAll("label")) {
    std::pair<std::string, std::string> kv = absl::StrSplit(label, absl::MaxSplits('=', 1));
    if (kv.first.empty() || label.find('=') == std::string::npos) {
      return ctx.Usage(absl::StrCat("--label: \"", label, "\" is not key=value"));
    }
    (*e->mutable_labels())[kv.first] = kv.second;
  }
  request.set_request_id(RequestId());
  IPLUS_STUB(stub, rv1::RegistryService, Service::kRegistry);
  rv1::CreateEnterpriseResponse response;
  grpc::Status s =
      Call(ctx, *stub, &rv1::RegistryService::Stub::CreateEnterprise, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Table t = EnterpriseTable();
  t.header.push_back("created");
  AddEnterprise(&t, response.enterprise());
  t.rows.back().push_back(response.created() ? "true" : "false");
  Print(*ctx.out, ctx.format, t, response);
  return kExitOk;
}

int EnterpriseGet(Context& ctx) {
  IPLUS_STUB(stub, rv1::RegistryService, Service::kRegistry);
  rv1::GetEnterpriseRequest request;
  request.set_code(ctx.positionals[0]);
  rv1::GetEnterpriseResponse response;
  grpc::Status s = Call(ctx, *stub, &rv1::RegistryService::Stub::GetEnterprise, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Table t = EnterpriseTable();
  AddEnterprise(&t, response.enterprise());
  Print(*ctx.out, ctx.format, t, response);
  return kExitOk;
}

int EnterpriseList(Context& ctx) {
  rv1::ListEnterprisesRequest request;
  int code = 0;
  if (!BuildScope(ctx, request.mutable_scope(), &code)) return code;
  request.set_name_prefix(ctx.args.Get("name-prefix"));
  request.set_include_archived(ctx.args.Switch("include-archived"));
  int64_t limit = 0;
  if (ctx.args.Has("limit")) {
    auto l = ParseIntFlag("--limit", ctx.args.Get("limit"), 0, INT64_MAX);
    if (!l.ok()) return ctx.Usage(std::string(l.status().message()));
    limit = *l;
  }
  request.set_page_size(1000);
  IPLUS_STUB(stub, rv1::RegistryService, Service::kRegistry);
  rv1::ListEnterprisesResponse all;
  while (true) {
    rv1::ListEnterprisesResponse page;
    grpc::Status s = Call(ctx, *stub, &rv1::RegistryService::Stub::ListEnterprises, request, &page);
    if (!s.ok()) return ctx.Fail(s);
    for (auto& e : *page.mutable_enterprises()) {
      if (limit > 0 && all.enterprises_size() >= limit) break;
      *all.add_enterprises() = std::move(e);
    }
    if (page.next_page_token().empty()) break;
    if (limit > 0 && all.enterprises_size() >= limit) {
      all.set_next_page_token(page.next_page_token());
      break;
    }
    request.set_page_token(page.next_page_token());
  }
  Table t = EnterpriseTable();
  for (const auto& e : all.enterprises()) AddEnterprise(&t, e);
  Print(*ctx.out, ctx.format, t, all);
  return kExitOk;
}

int EnterpriseArchive(Context& ctx) {
  IPLUS_STUB(stub, rv1::RegistryService, Service::kRegistry);
  rv1::ArchiveEnterpriseRequest request;
  request.set_code(ctx.positionals[0]);
  request.set_reason(ctx.args.Get("reason"));
  request.set_etag(ctx.args.Get("etag"));
  request.set_request_id(RequestId());
  rv1::ArchiveEnterpriseResponse response;
  grpc::Status s =
      Call(ctx, *stub, &rv1::RegistryService::Stub::ArchiveEnterprise, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Table t = EnterpriseTable();
  AddEnterprise(&t, response.enterprise());
  Print(*ctx.out, ctx.format, t, response);
  return kExitOk;
}

int EnterpriseExport(Context& ctx) {
  rv1::ExportEnterprisesRequest request;
  int code = 0;
  if (!BuildScope(ctx, request.mutable_scope(), &code)) return code;
  request.set_include_archived(ctx.args.Switch("include-archived"));
  IPLUS_STUB(stub, rv1::RegistryService, Service::kRegistry);
  grpc::ClientContext context;
  ctx.client->Prepare(&context, /*deadline=*/false);
  auto reader = stub->ExportEnterprises(&context, request);
  rv1::ExportEnterprisesResponse all;
  Table t;
  // The columns of `enterprise import`, so an export imports again.
  t.header = {"code", "name", "region", "industry", "kind", "ownership", "size", "key"};
  rv1::ExportEnterprisesResponse batch;
  while (reader->Read(&batch)) {
    all.set_registry_version(batch.registry_version());
    for (const auto& e : batch.enterprises()) {
      if (ctx.format == OutputFormat::kJson) {
        *all.add_enterprises() = e;
      } else {
        t.Add({e.code(), e.name(), e.region(), e.industry(),
               EnumFullName(cv1::OrganizationKind_descriptor(), e.kind()),
               EnumFullName(cv1::Ownership_descriptor(), e.ownership()),
               EnumFullName(cv1::EnterpriseSize_descriptor(), e.size()),
               e.key_enterprise() ? "true" : "false"});
      }
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return ctx.Fail(s);
  Print(*ctx.out, ctx.format, t, all);
  return kExitOk;
}

// ---------------------------------------------------------------------------------------
// Imports.

const std::vector<FlagSpec>& ImportFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"batch-size", true,
       "rows per batch (observations 1..5000, default 1000; enterprises "
       "1..1000, default 500)"},
      {"window", true, "batches in flight, 1..64 (default 4)"},
      {"rejects", true, "file of rejected rows with their reasons (default FILE.rejects.csv)"},
      {"checkpoint", true, "resume checkpoint (default FILE.checkpoint)"},
      {"restart", false, "ignore an existing checkpoint and import the whole file again"},
      {"max-attempts", true, "sends of one row or batch before it counts as rejected (default 6)"},
      {"backoff", true, "first retry delay, doubled per attempt (default 200ms)"},
      {"progress-interval", true,
       "seconds between progress lines when not on a terminal "
       "(default 10)"},
      {"quiet", false, "no progress display"},
  };
  return *flags;
}

int RunImport(Context& ctx, bool observations) {
  ImportOptions options;
  options.input = ctx.positionals[0];
  options.batch_size = observations ? 1000 : 500;
  auto int_flag = [&](const char* name, int64_t min, int64_t max, int* out) -> bool {
    if (!ctx.args.Has(name)) return true;
    auto v = ParseIntFlag(absl::StrCat("--", name), ctx.args.Get(name), min, max);
    if (!v.ok()) {
      ctx.Usage(std::string(v.status().message()));
      return false;
    }
    *out = static_cast<int>(*v);
    return true;
  };
  int interval = 10;
  if (!int_flag("batch-size", 1, observations ? 5000 : 1000, &options.batch_size) ||
      !int_flag("window", 1, 64, &options.window) ||
      !int_flag("max-attempts", 1, 100, &options.max_attempts) ||
      !int_flag("progress-interval", 1, 3600, &interval)) {
    return kExitUsage;
  }
  options.progress_interval = absl::Seconds(interval);
  if (ctx.args.Has("backoff")) {
    absl::Duration d;
    if (!absl::ParseDuration(ctx.args.Get("backoff"), &d) || d < absl::ZeroDuration()) {
      return ctx.Usage(absl::StrCat("--backoff: \"", ctx.args.Get("backoff"),
                                    "\" is not a duration like 200ms"));
    }
    options.backoff = d;
  }
  options.rejects = ctx.args.Get("rejects");
  options.checkpoint = ctx.args.Get("checkpoint");
  options.restart = ctx.args.Switch("restart");
  options.quiet = ctx.args.Switch("quiet");
  options.tty = ctx.stderr_tty;
  options.interrupted = &g_interrupted;
  g_interrupted.store(false);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  ImportSummary summary;
  grpc::Status s = observations ? ImportObservations(*ctx.client, options, *ctx.err, &summary)
                                : ImportEnterprises(*ctx.client, options, *ctx.err, &summary);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (summary.kind.empty() ||
      (summary.rows == 0 && !s.ok() && summary.sent == 0 && summary.rejects_file.empty())) {
    return ctx.Fail(s);
  }
  if (ctx.format == OutputFormat::kJson) {
    *ctx.out << SummaryJson(summary);
  } else if (ctx.format == OutputFormat::kCsv) {
    Table t;
    t.header = {"outcome", "reason", "count"};
    for (const auto& [k, v] : summary.outcomes) {
      if (k != "REJECTED") t.Add({k, "", absl::StrCat(v)});
    }
    for (const auto& [k, v] : summary.reject_reasons) t.Add({"REJECTED", k, absl::StrCat(v)});
    *ctx.out << RenderCsv(t);
  } else {
    *ctx.out << SummaryText(summary);
  }
  ctx.out->flush();
  if (!s.ok()) return ctx.Fail(s);
  if (summary.interrupted) {
    *ctx.err << "iplusctl: interrupted; run the same command again to resume\n";
    return kExitFailure;
  }
  auto rejected = summary.outcomes.find("REJECTED");
  if (rejected != summary.outcomes.end() && rejected->second > 0) return kExitRejected;
  return kExitOk;
}

// ---------------------------------------------------------------------------------------
// Links.

std::string LinkType(int v) { return EnumShortName(rv1::LinkType_descriptor(), "LINK_TYPE_", v); }

bool LinkKey(Context& ctx, std::string* from, std::string* to, rv1::LinkType* type, int* code) {
  *from = ctx.args.Get("from");
  *to = ctx.args.Get("to");
  int v = 0;
  if (ctx.args.Has("type") && !ParseLinkType(ctx.args.Get("type"), &v)) {
    *code = ctx.Usage(absl::StrCat("--type: \"", ctx.args.Get("type"), "\" is not a link type"));
    return false;
  }
  *type = static_cast<rv1::LinkType>(v);
  return true;
}

Table LinkTable() {
  Table t;
  t.header = {"from", "to", "type", "note", "created"};
  return t;
}
void AddLink(Table* t, const rv1::Link& l) {
  t->Add({l.from_code(), l.to_code(), LinkType(l.type()), l.note(), Time(l.create_time())});
}

int LinkCreate(Context& ctx) {
  rv1::CreateLinkRequest request;
  std::string from, to;
  rv1::LinkType type;
  int code = 0;
  if (!LinkKey(ctx, &from, &to, &type, &code)) return code;
  request.mutable_link()->set_from_code(from);
  request.mutable_link()->set_to_code(to);
  request.mutable_link()->set_type(type);
  request.mutable_link()->set_note(ctx.args.Get("note"));
  request.set_request_id(RequestId());
  IPLUS_STUB(stub, rv1::RegistryService, Service::kRegistry);
  rv1::CreateLinkResponse response;
  grpc::Status s = Call(ctx, *stub, &rv1::RegistryService::Stub::CreateLink, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Table t = LinkTable();
  AddLink(&t, response.link());
  Print(*ctx.out, ctx.format, t, response);
  return kExitOk;
}

int LinkList(Context& ctx) {
  rv1::ListLinksRequest request;
  request.set_code(ctx.positionals[0]);
  request.set_page_size(1000);
  IPLUS_STUB(stub, rv1::RegistryService, Service::kRegistry);
  rv1::ListLinksResponse all;
  while (true) {
    rv1::ListLinksResponse page;
    grpc::Status s = Call(ctx, *stub, &rv1::RegistryService::Stub::ListLinks, request, &page);
    if (!s.ok()) return ctx.Fail(s);
    for (auto& l : *page.mutable_links()) *all.add_links() = std::move(l);
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  Table t = LinkTable();
  for (const auto& l : all.links()) AddLink(&t, l);
  Print(*ctx.out, ctx.format, t, all);
  return kExitOk;
}

int LinkDelete(Context& ctx) {
  rv1::DeleteLinkRequest request;
  std::string from, to;
  rv1::LinkType type;
  int code = 0;
  if (!LinkKey(ctx, &from, &to, &type, &code)) return code;
  request.set_from_code(from);
  request.set_to_code(to);
  request.set_type(type);
  request.set_request_id(RequestId());
  IPLUS_STUB(stub, rv1::RegistryService, Service::kRegistry);
  rv1::DeleteLinkResponse response;
  grpc::Status s = Call(ctx, *stub, &rv1::RegistryService::Stub::DeleteLink, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Table t;
  t.header = {"deleted"};
  t.Add({absl::StrCat(from, " -> ", to, " ", LinkType(type))});
  Print(*ctx.out, ctx.format, t, response);
  return kExitOk;
}

// ---------------------------------------------------------------------------------------
// Indicators and observations.

std::string Range(Context& ctx, const iv1::ValueRange& r, bool set) {
  if (!set || (!r.has_min() && !r.has_max())) return "";
  return absl::StrCat(r.has_min() ? (r.min_inclusive() ? "[" : "(") : "(",
                      r.has_min() ? ctx.Num(r.min()) : "-inf", ", ",
                      r.has_max() ? ctx.Num(r.max()) : "+inf",
                      r.has_max() ? (r.max_inclusive() ? "]" : ")") : ")");
}

Table IndicatorTable() {
  Table t;
  t.header = {"id", "type", "unit", "granularity", "range", "higher_is_better", "status", "title"};
  return t;
}
void AddIndicator(Context& ctx, Table* t, const iv1::Indicator& i) {
  t->Add({i.id(), EnumShortName(iv1::ValueType_descriptor(), "VALUE_TYPE_", i.value_type()),
          i.unit(),
          i.granularity() == 0
              ? "YEAR"
              : EnumShortName(iv1::Granularity_descriptor(), "GRANULARITY_", i.granularity()),
          Range(ctx, i.range(), i.has_range()), i.higher_is_better() ? "true" : "false",
          EnumShortName(iv1::IndicatorStatus_descriptor(), "INDICATOR_STATUS_", i.status()),
          i.title()});
}

int IndicatorList(Context& ctx) {
  iv1::ListIndicatorsRequest request;
  request.set_include_retired(ctx.args.Switch("include-retired"));
  request.set_page_size(1000);
  IPLUS_STUB(stub, iv1::IngestService, Service::kIngest);
  iv1::ListIndicatorsResponse all;
  while (true) {
    iv1::ListIndicatorsResponse page;
    grpc::Status s = Call(ctx, *stub, &iv1::IngestService::Stub::ListIndicators, request, &page);
    if (!s.ok()) return ctx.Fail(s);
    for (auto& i : *page.mutable_indicators()) *all.add_indicators() = std::move(i);
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  Table t = IndicatorTable();
  for (const auto& i : all.indicators()) AddIndicator(ctx, &t, i);
  Print(*ctx.out, ctx.format, t, all);
  return kExitOk;
}

int IndicatorGet(Context& ctx) {
  iv1::GetIndicatorRequest request;
  request.set_id(ctx.positionals[0]);
  IPLUS_STUB(stub, iv1::IngestService, Service::kIngest);
  iv1::GetIndicatorResponse response;
  grpc::Status s = Call(ctx, *stub, &iv1::IngestService::Stub::GetIndicator, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Table t = IndicatorTable();
  AddIndicator(ctx, &t, response.indicator());
  Print(*ctx.out, ctx.format, t, response);
  return kExitOk;
}

std::string Flags(Context& ctx, const google::protobuf::RepeatedPtrField<iv1::OutlierFlag>& flags) {
  std::vector<std::string> parts;
  for (const auto& f : flags) {
    parts.push_back(
        absl::StrCat(EnumShortName(iv1::OutlierKind_descriptor(), "OUTLIER_KIND_", f.kind()), "=",
                     ctx.Num(f.score())));
  }
  return absl::StrJoin(parts, " ");
}

int ObservationReport(Context& ctx) {
  iv1::ReportObservationsRequest request;
  iv1::Observation* o = request.add_observations();
  o->set_enterprise_code(ctx.args.Get("enterprise"));
  o->set_indicator(ctx.args.Get("indicator"));
  o->set_period(ctx.args.Get("period"));
  const std::string value = ctx.args.Get("value");
  const std::string lower = absl::AsciiStrToLower(value);
  if (lower == "true" || lower == "false") {
    o->set_bool_value(lower == "true");
  } else if (!value.empty()) {
    auto d = ParseDoubleFlag("--value", value);
    if (!d.ok())
      return ctx.Usage(absl::StrCat("--value: \"", value, "\" is not a number or true/false"));
    o->set_number_value(*d);
  }
  std::string report_id = ctx.args.Get("report-id");
  if (report_id.empty()) {
    report_id = DerivedReportId(o->enterprise_code(), o->indicator(), o->period(), value);
  }
  o->set_report_id(report_id);
  request.set_request_id(RequestId());
  IPLUS_STUB(stub, iv1::IngestService, Service::kIngest);
  iv1::ReportObservationsResponse response;
  grpc::Status s =
      Call(ctx, *stub, &iv1::IngestService::Stub::ReportObservations, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Table t;
  t.header = {"report_id", "outcome", "revision", "reason", "field", "message", "flags"};
  bool rejected = false;
  for (const auto& r : response.results()) {
    rejected = rejected || r.outcome() == iv1::OUTCOME_REJECTED;
    t.Add({report_id, EnumShortName(iv1::Outcome_descriptor(), "OUTCOME_", r.outcome()),
           absl::StrCat(r.revision()),
           EnumShortName(iv1::RejectReason_descriptor(), "REJECT_REASON_", r.reject_reason()),
           r.field(), r.message(), Flags(ctx, r.flags())});
  }
  Print(*ctx.out, ctx.format, t, response);
  return rejected ? kExitRejected : kExitOk;
}

std::string ValueText(Context& ctx, const iv1::Observation& o) {
  if (o.value_case() == iv1::Observation::kBoolValue) return o.bool_value() ? "true" : "false";
  if (o.value_case() == iv1::Observation::kNumberValue) return ctx.Num(o.number_value());
  return "";
}
std::string ValueText(Context& ctx, const iv1::Value& v) {
  if (v.kind_case() == iv1::Value::kBoolValue) return v.bool_value() ? "true" : "false";
  if (v.kind_case() == iv1::Value::kNumberValue) return ctx.Num(v.number_value());
  return "";
}

int ObservationSeries(Context& ctx) {
  iv1::GetSeriesRequest request;
  request.set_enterprise_code(ctx.args.Get("enterprise"));
  request.set_indicator(ctx.args.Get("indicator"));
  request.mutable_periods()->set_start(ctx.args.Get("from"));
  request.mutable_periods()->set_end(ctx.args.Get("to"));
  IPLUS_STUB(stub, iv1::IngestService, Service::kIngest);
  iv1::GetSeriesResponse response;
  grpc::Status s = Call(ctx, *stub, &iv1::IngestService::Stub::GetSeries, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Table t;
  t.header = {"period", "value", "revision", "report_id", "reporter", "reported", "flags"};
  for (const auto& o : response.observations()) {
    t.Add({o.period(), ValueText(ctx, o), absl::StrCat(o.revision()), o.report_id(), o.reporter(),
           Time(o.report_time()), Flags(ctx, o.flags())});
  }
  Print(*ctx.out, ctx.format, t, response);
  return kExitOk;
}

int ObservationHistory(Context& ctx) {
  iv1::GetObservationHistoryRequest request;
  request.set_enterprise_code(ctx.args.Get("enterprise"));
  request.set_indicator(ctx.args.Get("indicator"));
  request.set_period(ctx.args.Get("period"));
  IPLUS_STUB(stub, iv1::IngestService, Service::kIngest);
  iv1::GetObservationHistoryResponse response;
  grpc::Status s =
      Call(ctx, *stub, &iv1::IngestService::Stub::GetObservationHistory, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Table t;
  t.header = {"revision", "old_value", "new_value", "report_id", "reporter", "reported", "flags"};
  for (const auto& r : response.revisions()) {
    t.Add({absl::StrCat(r.revision()), r.has_old_value() ? ValueText(ctx, r.old_value()) : "",
           ValueText(ctx, r.new_value()), r.report_id(), r.reporter(), Time(r.report_time()),
           Flags(ctx, r.flags())});
  }
  Print(*ctx.out, ctx.format, t, response);
  return kExitOk;
}

int ObservationCoverage(Context& ctx) {
  iv1::GetCoverageRequest request;
  request.set_indicator(ctx.args.Get("indicator"));
  request.mutable_periods()->set_start(ctx.args.Get("from"));
  request.mutable_periods()->set_end(ctx.args.Get("to"));
  IPLUS_STUB(stub, iv1::IngestService, Service::kIngest);
  iv1::GetCoverageResponse response;
  grpc::Status s = Call(ctx, *stub, &iv1::IngestService::Stub::GetCoverage, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Table t;
  t.header = {"period", "reporters", "data_version"};
  for (const auto& p : response.periods()) {
    t.Add({p.period(), absl::StrCat(p.reporters()), absl::StrCat(p.data_version())});
  }
  Print(*ctx.out, ctx.format, t, response);
  return kExitOk;
}

// ---------------------------------------------------------------------------------------
// Targets and evaluation.

std::string RuleText(Context& ctx, const ev1::Rule& r) {
  switch (r.kind_case()) {
    case ev1::Rule::kAbsolute:
      return absl::StrCat(r.absolute().comparison() == ev1::COMPARISON_LE ? "<= " : ">= ",
                          ctx.Num(r.absolute().value()));
    case ev1::Rule::kMultiple:
      return absl::StrCat("x", ctx.Num(r.multiple().multiple()), " baseline");
    case ev1::Rule::kRelativeChange:
      return absl::StrCat(r.relative_change().change() > 0 ? "+" : "",
                          ctx.Num(r.relative_change().change() * 100), "% vs baseline");
    default:
      return "";
  }
}

Table TargetTable() {
  Table t;
  t.header = {"id",       "indicator",  "aggregation", "rule", "baseline",
              "deadline", "population", "archived",    "title"};
  return t;
}
void AddTarget(Context& ctx, Table* t, const ev1::Target& x) {
  std::vector<std::string> pop;
  if (x.population().kind() != 0) pop.push_back(Kind(x.population().kind()));
  if (x.population().key_only()) pop.push_back("KEY");
  if (x.population().ownership() != 0) pop.push_back(Ownership(x.population().ownership()));
  if (x.population().size() != 0) pop.push_back(Size(x.population().size()));
  t->Add({x.id(), x.indicator(),
          EnumShortName(ev1::Aggregation_descriptor(), "AGGREGATION_", x.aggregation()),
          RuleText(ctx, x.rule()), x.baseline_period(), x.deadline_period(),
          pop.empty() ? "ALL" : absl::StrJoin(pop, " "), x.archived() ? "true" : "false",
          x.title()});
}

int TargetList(Context& ctx) {
  ev1::ListTargetsRequest request;
  request.set_include_archived(ctx.args.Switch("include-archived"));
  request.set_page_size(1000);
  IPLUS_STUB(stub, ev1::EvaluationService, Service::kEvaluation);
  ev1::ListTargetsResponse all;
  while (true) {
    ev1::ListTargetsResponse page;
    grpc::Status s = Call(ctx, *stub, &ev1::EvaluationService::Stub::ListTargets, request, &page);
    if (!s.ok()) return ctx.Fail(s);
    for (auto& x : *page.mutable_targets()) *all.add_targets() = std::move(x);
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  Table t = TargetTable();
  for (const auto& x : all.targets()) AddTarget(ctx, &t, x);
  Print(*ctx.out, ctx.format, t, all);
  return kExitOk;
}

int TargetGet(Context& ctx) {
  ev1::GetTargetRequest request;
  request.set_id(ctx.positionals[0]);
  IPLUS_STUB(stub, ev1::EvaluationService, Service::kEvaluation);
  ev1::GetTargetResponse response;
  grpc::Status s = Call(ctx, *stub, &ev1::EvaluationService::Stub::GetTarget, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Table t = TargetTable();
  AddTarget(ctx, &t, response.target());
  Print(*ctx.out, ctx.format, t, response);
  return kExitOk;
}

std::string Status(int s) {
  return EnumShortName(ev1::EvaluationStatus_descriptor(), "EVALUATION_STATUS_", s);
}

const std::vector<std::string> kEvaluationColumns = {
    "status",   "baseline", "current",   "target",     "progress", "expected",
    "forecast", "coverage", "reporters", "population", "reason"};

std::vector<std::string> EvaluationCells(Context& ctx, const ev1::Evaluation& e) {
  auto opt = [&](bool has, double v) { return has ? ctx.Num(v) : std::string(); };
  return {Status(e.status()),
          opt(e.has_baseline_value(), e.baseline_value()),
          opt(e.has_current_value(), e.current_value()),
          opt(e.has_target_value(), e.target_value()),
          opt(e.has_progress(), e.progress()),
          ctx.Num(e.expected_progress()),
          opt(e.has_forecast_value(), e.forecast_value()),
          ctx.Num(e.coverage().ratio()),
          absl::StrCat(e.coverage().current_reporters()),
          absl::StrCat(e.coverage().population()),
          e.status_reason()};
}

bool EvalScope(Context& ctx, cv1::Scope* scope, std::string* period, int* code) {
  if (!BuildScope(ctx, scope, code)) return false;
  *period = ctx.args.Get("period");
  return true;
}

int TargetEvaluate(Context& ctx) {
  ev1::EvaluateRequest request;
  request.set_target_id(ctx.positionals[0]);
  int code = 0;
  if (!EvalScope(ctx, request.mutable_scope(), request.mutable_period(), &code)) return code;
  IPLUS_STUB(stub, ev1::EvaluationService, Service::kEvaluation);
  ev1::EvaluateResponse response;
  grpc::Status s = Call(ctx, *stub, &ev1::EvaluationService::Stub::Evaluate, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Table t;
  t.header = {"target", "period"};
  t.header.insert(t.header.end(), kEvaluationColumns.begin(), kEvaluationColumns.end());
  std::vector<std::string> row = {response.evaluation().target_id(),
                                  response.evaluation().period()};
  for (auto& c : EvaluationCells(ctx, response.evaluation())) row.push_back(std::move(c));
  t.Add(row);
  Print(*ctx.out, ctx.format, t, response);
  return kExitOk;
}

int TargetBreakdown(Context& ctx) {
  ev1::BreakdownRequest request;
  request.set_target_id(ctx.positionals[0]);
  int code = 0;
  if (!EvalScope(ctx, request.mutable_scope(), request.mutable_period(), &code)) return code;
  const std::string d = absl::AsciiStrToLower(ctx.args.Get("dimension", "province"));
  static const std::map<std::string, ev1::BreakdownDimension> kDims = {
      {"province", ev1::BREAKDOWN_DIMENSION_PROVINCE},
      {"prefecture", ev1::BREAKDOWN_DIMENSION_PREFECTURE},
      {"industry", ev1::BREAKDOWN_DIMENSION_INDUSTRY_DIVISION},
      {"ownership", ev1::BREAKDOWN_DIMENSION_OWNERSHIP},
      {"size", ev1::BREAKDOWN_DIMENSION_SIZE}};
  auto it = kDims.find(d);
  if (it == kDims.end()) {
    return ctx.Usage(absl::StrCat("--dimension: \"", d,
                                  "\" is not one of province, prefecture, industry, ownership, "
                                  "size"));
  }
  request.set_dimension(it->second);
  IPLUS_STUB(stub, ev1::EvaluationService, Service::kEvaluation);
  ev1::BreakdownResponse response;
  grpc::Status s = Call(ctx, *stub, &ev1::EvaluationService::Stub::Breakdown, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Table t;
  t.header = {"rank", "key", "label"};
  t.header.insert(t.header.end(), kEvaluationColumns.begin(), kEvaluationColumns.end());
  int rank = 0;
  for (const auto& g : response.groups()) {
    std::vector<std::string> row = {absl::StrCat(++rank), g.key(), g.label()};
    for (auto& c : EvaluationCells(ctx, g.evaluation())) row.push_back(std::move(c));
    t.Add(row);
  }
  std::vector<std::string> total = {"", "TOTAL", ""};
  for (auto& c : EvaluationCells(ctx, response.total())) total.push_back(std::move(c));
  t.Add(total);
  Print(*ctx.out, ctx.format, t, response);
  return kExitOk;
}

Table ScorecardTable(Context& ctx, const ev1::Scorecard& card) {
  Table t;
  t.header = {"target", "period"};
  t.header.insert(t.header.end(), kEvaluationColumns.begin(), kEvaluationColumns.end());
  for (const auto& e : card.evaluations()) {
    std::vector<std::string> row = {e.target_id(), e.period()};
    for (auto& c : EvaluationCells(ctx, e)) row.push_back(std::move(c));
    t.Add(row);
  }
  return t;
}

int TargetScorecard(Context& ctx) {
  ev1::GetScorecardRequest request;
  int code = 0;
  if (!EvalScope(ctx, request.mutable_scope(), request.mutable_period(), &code)) return code;
  IPLUS_STUB(stub, ev1::EvaluationService, Service::kEvaluation);
  ev1::GetScorecardResponse response;
  grpc::Status s =
      Call(ctx, *stub, &ev1::EvaluationService::Stub::GetScorecard, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Print(*ctx.out, ctx.format, ScorecardTable(ctx, response.scorecard()), response);
  return kExitOk;
}

int TargetWatch(Context& ctx) {
  ev1::WatchScorecardRequest request;
  int code = 0;
  if (!EvalScope(ctx, request.mutable_scope(), request.mutable_period(), &code)) return code;
  if (ctx.args.Has("min-interval")) {
    absl::Duration d;
    if (!absl::ParseDuration(ctx.args.Get("min-interval"), &d) || d <= absl::ZeroDuration()) {
      return ctx.Usage(absl::StrCat("--min-interval: \"", ctx.args.Get("min-interval"),
                                    "\" is not a duration like 5s"));
    }
    const int64_t ns = absl::ToInt64Nanoseconds(d);
    request.mutable_min_interval()->set_seconds(ns / 1000000000);
    request.mutable_min_interval()->set_nanos(static_cast<int32_t>(ns % 1000000000));
  }
  int64_t count = 0;
  if (ctx.args.Has("count")) {
    auto c = ParseIntFlag("--count", ctx.args.Get("count"), 1, INT64_MAX);
    if (!c.ok()) return ctx.Usage(std::string(c.status().message()));
    count = *c;
  }
  IPLUS_STUB(stub, ev1::EvaluationService, Service::kEvaluation);
  grpc::ClientContext context;
  ctx.client->Prepare(&context, /*deadline=*/false);
  auto reader = stub->WatchScorecard(&context, request);
  ev1::WatchScorecardResponse message;
  int64_t n = 0;
  while (reader->Read(&message)) {
    ++n;
    if (ctx.format == OutputFormat::kJson) {
      *ctx.out << ToJson(message);
    } else {
      if (ctx.format == OutputFormat::kTable) {
        *ctx.out << "# " << Time(message.scorecard().computed_time());
        if (message.changed_target_ids_size() > 0) {
          *ctx.out << " changed: " << absl::StrJoin(message.changed_target_ids(), ", ");
        }
        if (message.status().code() != 0)
          *ctx.out << " stale: " << DescribeStatus(message.status());
        *ctx.out << "\n";
      }
      Table t = ScorecardTable(ctx, message.scorecard());
      *ctx.out << (ctx.format == OutputFormat::kCsv ? RenderCsv(t) : RenderTable(t));
    }
    ctx.out->flush();
    if (count > 0 && n >= count) {
      context.TryCancel();
      break;
    }
  }
  grpc::Status s = reader->Finish();
  if (count > 0 && n >= count) return kExitOk;
  if (!s.ok()) return ctx.Fail(s);
  return kExitOk;
}

// ---------------------------------------------------------------------------------------
// The table.

std::vector<FlagSpec> EnterpriseFlags() {
  return {{"code", true, "credit code (18 characters)"},
          {"name", true, "name"},
          {"region", true, "6-digit region code"},
          {"industry", true, "GB/T 4754-2017 code, e.g. C26"},
          {"kind", true, "organization kind (manufacturer, ...)"},
          {"ownership", true, "ownership (private, ...)"},
          {"size", true, "size (large, medium, small, micro)"},
          {"key", false, "a key enterprise"},
          {"label", true, "key=value label; repeatable"}};
}

const std::vector<FlagSpec> kSeriesFlags = {
    {"enterprise", true, "enterprise credit code"},
    {"indicator", true, "indicator id"},
    {"from", true, "first period (inclusive)"},
    {"to", true, "last period (inclusive; open when empty)"}};

std::vector<FlagSpec> EvalFlags(std::vector<FlagSpec> extra = {}) {
  std::vector<FlagSpec> f = {{"period", true, "period to evaluate, e.g. 2018"}};
  f = With(f, ScopeFlags());
  return With(f, extra);
}

std::vector<Command>* BuildCommands() {
  auto* c = new std::vector<Command>;
  c->push_back({{"enterprise", "create"},
                "",
                "register an enterprise",
                EnterpriseFlags(),
                0,
                0,
                EnterpriseCreate});
  c->push_back({{"enterprise", "get"}, "CODE", "show one enterprise", {}, 1, 1, EnterpriseGet});
  c->push_back({{"enterprise", "list"},
                "",
                "list enterprises in credit-code order",
                With(ScopeFlags(), {{"name-prefix", true, "literal prefix of the name"},
                                    {"include-archived", false, "include archived enterprises"},
                                    {"limit", true, "at most this many (default: all)"}}),
                0,
                0,
                EnterpriseList});
  c->push_back({{"enterprise", "archive"},
                "CODE",
                "archive an enterprise",
                {{"reason", true, "why"}, {"etag", true, "only if the etag still matches"}},
                1,
                1,
                EnterpriseArchive});
  c->push_back({{"enterprise", "import"},
                "FILE.csv",
                "register the enterprises of a CSV file (BatchCreateEnterprises)",
                ImportFlags(),
                1,
                1,
                [](Context& ctx) { return RunImport(ctx, false); }});
  c->push_back({{"enterprise", "export"},
                "",
                "stream every enterprise of a scope (CSV: the import format)",
                With(ScopeFlags(), {{"include-archived", false, "include archived enterprises"}}),
                0,
                0,
                EnterpriseExport});
  const std::vector<FlagSpec> link_key = {
      {"from", true, "credit code of the providing end"},
      {"to", true, "credit code of the served end"},
      {"type", true,
       "joint-venture, platform-service, rd-cooperation, online-sales, logistics, "
       "brand-cultivation"}};
  c->push_back({{"link", "create"},
                "",
                "create a cooperation link",
                With(link_key, {{"note", true, "free text"}}),
                0,
                0,
                LinkCreate});
  c->push_back({{"link", "list"}, "CODE", "links where CODE is either end", {}, 1, 1, LinkList});
  c->push_back({{"link", "delete"}, "", "delete a cooperation link", link_key, 0, 0, LinkDelete});
  c->push_back({{"indicator", "list"},
                "",
                "the indicator catalogue",
                {{"include-retired", false, "include retired indicators"}},
                0,
                0,
                IndicatorList});
  c->push_back({{"indicator", "get"}, "ID", "one indicator", {}, 1, 1, IndicatorGet});
  c->push_back({{"observation", "report"},
                "",
                "report one value (ReportObservations)",
                {{"enterprise", true, "enterprise credit code"},
                 {"indicator", true, "indicator id"},
                 {"period", true, "period, e.g. 2018"},
                 {"value", true, "a number, or true/false"},
                 {"report-id", true, "report id (default: derived from the values)"}},
                0,
                0,
                ObservationReport});
  c->push_back({{"observation", "import"},
                "FILE.csv",
                "stream the observations of a CSV file (StreamObservations)",
                ImportFlags(),
                1,
                1,
                [](Context& ctx) { return RunImport(ctx, true); }});
  c->push_back({{"observation", "series"},
                "",
                "one enterprise's values over periods",
                kSeriesFlags,
                0,
                0,
                ObservationSeries});
  c->push_back({{"observation", "history"},
                "",
                "every revision of one value",
                {{"enterprise", true, "enterprise credit code"},
                 {"indicator", true, "indicator id"},
                 {"period", true, "period"}},
                0,
                0,
                ObservationHistory});
  c->push_back({{"observation", "coverage"},
                "",
                "reporting enterprises per period",
                {{"indicator", true, "indicator id"},
                 {"from", true, "first period"},
                 {"to", true, "last period"}},
                0,
                0,
                ObservationCoverage});
  c->push_back({{"target", "list"},
                "",
                "the plan's targets",
                {{"include-archived", false, "include archived targets"}},
                0,
                0,
                TargetList});
  c->push_back({{"target", "get"}, "ID", "one target", {}, 1, 1, TargetGet});
  c->push_back({{"target", "evaluate"},
                "ID",
                "evaluate one target for a scope and period",
                EvalFlags(),
                1,
                1,
                TargetEvaluate});
  c->push_back({{"target", "breakdown"},
                "ID",
                "league table of one target by a dimension",
                EvalFlags({{"dimension", true,
                            "province (default), prefecture, industry, ownership or size"}}),
                1,
                1,
                TargetBreakdown});
  c->push_back({{"target", "scorecard"},
                "",
                "every active target for a scope and period",
                EvalFlags(),
                0,
                0,
                TargetScorecard});
  c->push_back({{"target", "watch"},
                "",
                "print the scorecard again whenever its data changes",
                EvalFlags({{"min-interval", true, "least time between two scorecards (1s..1h)"},
                           {"count", true, "stop after this many scorecards"}}),
                0,
                0,
                TargetWatch});
  AddFundsCommands(c);
  AddReportCommands(c);
  return c;
}

const Command* FindCommand(const std::vector<std::string>& words) {
  for (const auto& c : Commands()) {
    // One-word commands (`report`) and two-word ones (`enterprise list`).
    if (words.size() >= c.words.size() &&
        std::equal(c.words.begin(), c.words.end(), words.begin())) {
      return &c;
    }
  }
  return nullptr;
}

const std::vector<FlagSpec>* CommandFlags(const std::vector<std::string>& words, void*) {
  const Command* c = FindCommand(words);
  return c == nullptr ? nullptr : &c->flags;
}

std::string FlagLines(const std::vector<FlagSpec>& flags) {
  std::string out;
  for (const auto& f : flags) {
    std::string name = absl::StrCat("  --", f.name, f.takes_value ? " VALUE" : "");
    absl::StrAppendFormat(&out, "%-26s %s", name, f.help);
    if (!f.env.empty()) absl::StrAppend(&out, " [$", f.env, "]");
    out += "\n";
  }
  return out;
}

std::string CommandHelp(const Command& c) {
  std::string out =
      absl::StrCat("usage: iplusctl ", absl::StrJoin(c.words, " "), c.args_help.empty() ? "" : " ",
                   c.args_help, c.flags.empty() ? "" : " [flags]", "\n\n", c.summary, "\n");
  if (!c.flags.empty()) absl::StrAppend(&out, "\nflags:\n", FlagLines(c.flags));
  absl::StrAppend(&out, "\nglobal flags: see `iplusctl help`\n");
  return out;
}

}  // namespace

const std::vector<FlagSpec>& ScopeFlagSpecs() { return ScopeFlags(); }

bool ScopeFromFlags(Context& ctx, cv1::Scope* scope, int* exit_code) {
  return BuildScope(ctx, scope, exit_code);
}

const std::vector<Command>& Commands() {
  static const std::vector<Command>* commands = BuildCommands();
  return *commands;
}

const std::vector<FlagSpec>& GlobalFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"host", true, "host of every service, on its default port", "IPLUS_HOST"},
      {"registry", true, "registry address host:port (default HOST:50051)", "IPLUS_REGISTRY"},
      {"ingest", true, "ingest address host:port (default HOST:50052)", "IPLUS_INGEST"},
      {"evaluation", true, "evaluation address host:port (default HOST:50053)", "IPLUS_EVALUATION"},
      {"funds", true, "funds address host:port (default HOST:50054)", "IPLUS_FUNDS"},
      {"plaintext", false, "no TLS (local use only)", "IPLUS_PLAINTEXT"},
      {"ca-file", true, "PEM CA bundle verifying the services (default: system roots)",
       "IPLUS_CA_FILE"},
      {"cert-file", true, "PEM client certificate for mutual TLS", "IPLUS_CERT_FILE"},
      {"key-file", true, "PEM private key of --cert-file", "IPLUS_KEY_FILE"},
      {"token-file", true, "file whose first line is the bearer token", "IPLUS_TOKEN_FILE"},
      {"timeout", true, "deadline of each call (default 30s)", "IPLUS_TIMEOUT"},
      {"output", true, "table (default), json or csv", "IPLUS_OUTPUT"},
  };
  return *flags;
}

std::string HelpText() {
  std::string out =
      "usage: iplusctl [global flags] <command> [arguments] [flags]\n\n"
      "The command-line client of the iplus services.\n\ncommands:\n";
  for (const auto& c : Commands()) {
    std::string words =
        absl::StrCat(absl::StrJoin(c.words, " "), c.args_help.empty() ? "" : " ", c.args_help);
    absl::StrAppendFormat(&out, "  %-34s %s\n", words, c.summary);
  }
  absl::StrAppend(&out, "\nglobal flags (any position; each also from its environment variable):\n",
                  FlagLines(GlobalFlags()));
  absl::StrAppend(&out,
                  "\nexit codes: 0 ok; 1 other failure; 2 bad usage; 3 not found; 4 rejected "
                  "(INVALID_ARGUMENT,\nFAILED_PRECONDITION, ALREADY_EXISTS, ABORTED, "
                  "PERMISSION_DENIED, UNAUTHENTICATED,\nor rows rejected by an import); "
                  "5 unavailable (UNAVAILABLE, DEADLINE_EXCEEDED).\n"
                  "\n`iplusctl <command> --help` shows a command's flags.\n");
  return out;
}

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
        const std::function<const char*(const char*)>& getenv, bool stderr_tty) {
  auto parsed = ParseArgs(args, GlobalFlags(), CommandFlags, nullptr);
  if (!parsed.ok()) {
    err << "iplusctl: " << parsed.status().message() << " (see iplusctl --help)\n";
    return kExitUsage;
  }
  Context ctx;
  ctx.args = std::move(*parsed);
  ctx.out = &out;
  ctx.err = &err;
  ctx.stderr_tty = stderr_tty;
  const auto& words = ctx.args.words;
  if (words.empty() || words[0] == "help") {
    if (words.size() >= 2) {
      if (const Command* c = FindCommand({words.begin() + 1, words.end()})) {
        out << CommandHelp(*c);
        return kExitOk;
      }
    }
    if (words.empty() && !ctx.args.help) {
      err << HelpText();
      return kExitUsage;
    }
    out << HelpText();
    return kExitOk;
  }
  const Command* command = FindCommand(words);
  if (command == nullptr) {
    if (ctx.args.help) {
      out << HelpText();
      return kExitOk;
    }
    return ctx.Usage(
        absl::StrCat("unknown command \"", absl::StrJoin(words, " "), "\" (see iplusctl --help)"));
  }
  if (ctx.args.help) {
    out << CommandHelp(*command);
    return kExitOk;
  }
  ctx.positionals.assign(words.begin() + command->words.size(), words.end());
  const int n = static_cast<int>(ctx.positionals.size());
  if (n < command->min_positionals || n > command->max_positionals) {
    return ctx.Usage(absl::StrCat("usage: iplusctl ", absl::StrJoin(command->words, " "), " ",
                                  command->args_help, command->flags.empty() ? "" : " [flags]"));
  }
  // Environment defaults for global flags not given.
  for (const auto& f : GlobalFlags()) {
    if (f.env.empty() || ctx.args.Has(f.name)) continue;
    const char* v = getenv(f.env.c_str());
    if (v != nullptr && *v != '\0') ctx.args.flags[f.name].push_back(v);
  }
  if (!ParseOutputFormat(ctx.args.Get("output", "table"), &ctx.format)) {
    return ctx.Usage(
        absl::StrCat("--output: \"", ctx.args.Get("output"), "\" is not table, json or csv"));
  }
  auto connection = ConnectionFromArgs(ctx.args);
  if (!connection.ok()) return ctx.Usage(std::string(connection.status().message()));
  Client client(*connection);
  ctx.client = &client;
  return command->run(ctx);
}

}  // namespace iplus::ctl
