// End-to-end tests of the registry: the real wiring (App) serving real gRPC on loopback,
// backed by a real redis-server, called through the generated client. Every RPC and
// every status code docs/api.md lists for the registry is exercised here.

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/refdata/credit_code.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "iplus/registry/v1/registry.grpc.pb.h"
#include "services/registry/app.h"
#include "tests/e2e/registry_e2e_util.h"

namespace iplus::registry::e2e {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;
using Stub = v1::RegistryService::Stub;

constexpr absl::Duration kCallTimeout = absl::Seconds(10);

MATCHER_P(ProtoEq, expected, absl::StrCat("equals ", expected.ShortDebugString())) {
  *result_listener << "which is " << arg.ShortDebugString();
  return MessageDifferencer::Equals(arg, expected);
}

// A running registry (App) and a client connected to it.
class Instance {
 public:
  // Starts an App against Redis at `redis_port`; check ok() afterwards.
  Instance(int redis_port, RegistryConfig registry) {
    AppConfig config;
    config.server.service_name = "registry";
    config.server.grpc_address = "127.0.0.1:0";
    config.server.metrics_address = "127.0.0.1:0";
    config.server.drain_timeout = absl::Seconds(2);
    // Authentication has its own tests (tests/auth).
    config.server.auth.allow_unauthenticated = true;
    config.redis.host = "127.0.0.1";
    config.redis.port = redis_port;
    config.registry = std::move(registry);
    app_ = std::make_unique<App>(config);
    start_status_ = app_->Start();
    if (!start_status_.ok()) return;
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", app_->grpc_port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::RegistryService::NewStub(channel_);
  }

  const absl::Status& start_status() const { return start_status_; }
  App& app() { return *app_; }
  Stub& stub() { return *stub_; }

  // One unary call with a deadline: Call(&Stub::GetEnterprise, request, &response).
  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& request, Resp* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(kCallTimeout));
    return (stub_.get()->*method)(&context, request, response);
  }

 private:
  std::unique_ptr<App> app_;
  absl::Status start_status_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Stub> stub_;
};

class RegistryE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    IPLUS_ASSERT_OK(redis_.Start());
    instance_ = std::make_unique<Instance>(redis_.port(), RegistryConfig{});
    IPLUS_ASSERT_OK(instance_->start_status());
    ASSERT_GT(instance_->app().grpc_port(), 0);
    ASSERT_GT(instance_->app().metrics_port(), 0);
  }

  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& request, Resp* response) {
    return instance_->Call(method, request, response);
  }

  grpc::Status Create(const v1::Enterprise& e, v1::CreateEnterpriseResponse* response) {
    v1::CreateEnterpriseRequest request;
    *request.mutable_enterprise() = e;
    return Call(&Stub::CreateEnterprise, request, response);
  }

  // Creates `e`, which must be new; returns the stored form.
  v1::Enterprise MustCreate(const v1::Enterprise& e) {
    v1::CreateEnterpriseResponse response;
    grpc::Status status = Create(e, &response);
    EXPECT_TRUE(status.ok()) << e.code() << ": " << status.error_message();
    EXPECT_TRUE(response.created()) << e.code();
    return response.enterprise();
  }

  grpc::Status Get(const std::string& code, v1::Enterprise* out = nullptr) {
    v1::GetEnterpriseRequest request;
    request.set_code(code);
    v1::GetEnterpriseResponse response;
    grpc::Status status = Call(&Stub::GetEnterprise, request, &response);
    if (out != nullptr) *out = response.enterprise();
    return status;
  }

  grpc::Status Archive(const std::string& code, const std::string& reason,
                       v1::Enterprise* out = nullptr, const std::string& etag = "") {
    v1::ArchiveEnterpriseRequest request;
    request.set_code(code);
    request.set_reason(reason);
    request.set_etag(etag);
    v1::ArchiveEnterpriseResponse response;
    grpc::Status status = Call(&Stub::ArchiveEnterprise, request, &response);
    if (out != nullptr) *out = response.enterprise();
    return status;
  }

  grpc::Status Update(const v1::Enterprise& e, std::vector<std::string> paths,
                      const std::string& etag, v1::UpdateEnterpriseResponse* response,
                      const std::string& request_id = "") {
    v1::UpdateEnterpriseRequest request;
    *request.mutable_enterprise() = e;
    for (auto& p : paths) request.mutable_update_mask()->add_paths(p);
    request.set_etag(etag);
    request.set_request_id(request_id);
    return Call(&Stub::UpdateEnterprise, request, response);
  }

  // Every event after `after_version`, read in pages of `page_size`.
  std::vector<v1::Event> AllEvents(int64_t after_version = 0, int page_size = 0) {
    std::vector<v1::Event> out;
    for (int guard = 0; guard < 10000; ++guard) {
      v1::ListEventsRequest request;
      request.set_after_version(after_version);
      request.set_page_size(page_size);
      v1::ListEventsResponse response;
      grpc::Status status = Call(&Stub::ListEvents, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok() || response.events().empty()) break;
      EXPECT_FALSE(response.truncated());
      for (const auto& e : response.events()) out.push_back(e);
      after_version = response.events().rbegin()->version();
    }
    return out;
  }

  // Walks every page of `request` and returns the codes in order; `pages` receives the
  // number of calls made. Fails the test on an error or a page larger than page_size.
  std::vector<std::string> ListAll(v1::ListEnterprisesRequest request, int* pages = nullptr) {
    std::vector<std::string> codes;
    int calls = 0;
    int limit = request.page_size() == 0 ? 100 : request.page_size();
    for (;;) {
      v1::ListEnterprisesResponse response;
      grpc::Status status = Call(&Stub::ListEnterprises, request, &response);
      ++calls;
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      EXPECT_LE(response.enterprises_size(), limit);
      for (const auto& e : response.enterprises()) codes.push_back(e.code());
      if (response.next_page_token().empty() || calls > 1000) break;
      request.set_page_token(response.next_page_token());
    }
    if (pages != nullptr) *pages = calls;
    return codes;
  }

  test::RedisServer redis_;
  std::unique_ptr<Instance> instance_;
};

// ---------------------------------------------------------------------------------------
// CreateEnterprise

TEST_F(RegistryE2eTest, CreateIsIdempotentOnContent) {
  v1::Enterprise e = Manufacturer(1);
  v1::CreateEnterpriseResponse first;
  ASSERT_THAT(Create(e, &first), GrpcIs(grpc::StatusCode::OK));
  EXPECT_TRUE(first.created());
  EXPECT_EQ(first.enterprise().code(), e.code());
  EXPECT_EQ(first.enterprise().name(), e.name());
  EXPECT_EQ(first.enterprise().region(), "440103");
  EXPECT_EQ(first.enterprise().industry(), "C34");
  EXPECT_EQ(first.enterprise().kind(), cv1::ORGANIZATION_KIND_MANUFACTURER);
  EXPECT_EQ(first.enterprise().labels().at("cluster"), "pearl-river");
  EXPECT_FALSE(first.enterprise().archived());
  EXPECT_FALSE(first.enterprise().etag().empty());
  EXPECT_GT(first.enterprise().version(), 0);
  EXPECT_GT(first.enterprise().create_time().seconds(), 0);

  v1::CreateEnterpriseResponse again;
  ASSERT_THAT(Create(e, &again), GrpcIs(grpc::StatusCode::OK));
  EXPECT_FALSE(again.created());
  EXPECT_THAT(again.enterprise(), ProtoEq(first.enterprise()));

  v1::Enterprise different = e;
  different.set_name("Another Name Co.");
  v1::CreateEnterpriseResponse conflict;
  EXPECT_THAT(Create(different, &conflict), GrpcIs(grpc::StatusCode::ALREADY_EXISTS));

  v1::Enterprise stored;
  ASSERT_THAT(Get(e.code(), &stored), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(stored, ProtoEq(first.enterprise()));
  // One creation, one event: neither the resend nor the conflict changed anything.
  EXPECT_THAT(AllEvents(), SizeIs(1));
}

TEST_F(RegistryE2eTest, CreateRejectsInvalidFieldsByNameAndStoresNothing) {
  struct Case {
    std::string field;
    std::function<void(v1::Enterprise&)> mutate;
  };
  std::string bad_check = CodeN(900);
  bad_check.back() = bad_check.back() == '0' ? '1' : '0';
  std::vector<Case> cases = {
      {"enterprise.code", [&](v1::Enterprise& e) { e.set_code(bad_check); }},
      {"enterprise.code", [](v1::Enterprise& e) { e.set_code("91440100"); }},
      {"enterprise.name", [](v1::Enterprise& e) { e.set_name("  "); }},
      {"enterprise.region", [](v1::Enterprise& e) { e.set_region("990000"); }},
      {"enterprise.region", [](v1::Enterprise& e) { e.set_region("4401"); }},
      {"enterprise.industry", [](v1::Enterprise& e) { e.set_industry("C99"); }},
      // A manufacturer must be in C13-C43; I64 is Internet services.
      {"enterprise.industry", [](v1::Enterprise& e) { e.set_industry("I64"); }},
      {"enterprise.ownership",
       [](v1::Enterprise& e) { e.set_ownership(cv1::OWNERSHIP_UNSPECIFIED); }},
      {"enterprise.size", [](v1::Enterprise& e) { e.set_size(cv1::ENTERPRISE_SIZE_UNSPECIFIED); }},
      {"enterprise.kind",
       [](v1::Enterprise& e) { e.set_kind(cv1::ORGANIZATION_KIND_UNSPECIFIED); }},
      {"enterprise.labels[Bad Key]",
       [](v1::Enterprise& e) { (*e.mutable_labels())["Bad Key"] = "x"; }},
  };
  int n = 100;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    v1::Enterprise e = Manufacturer(++n);
    c.mutate(e);
    v1::CreateEnterpriseResponse response;
    grpc::Status status = Create(e, &response);
    EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
    EXPECT_THAT(ViolationFields(status), ElementsAre(c.field));
    if (c.field != "enterprise.code") {
      EXPECT_THAT(Get(e.code()), GrpcIs(grpc::StatusCode::NOT_FOUND));
    }
  }

  // Several problems at once are all reported.
  v1::Enterprise e = Manufacturer(200);
  e.set_region("990000");
  e.set_size(cv1::ENTERPRISE_SIZE_UNSPECIFIED);
  v1::CreateEnterpriseResponse response;
  grpc::Status status = Create(e, &response);
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(status),
              UnorderedElementsAre("enterprise.region", "enterprise.size"));

  // Nothing was stored: no events, no enterprises.
  EXPECT_THAT(AllEvents(), IsEmpty());
  v1::CountEnterprisesRequest count;
  count.set_group_by(v1::DIMENSION_PROVINCE);
  count.set_include_archived(true);
  v1::CountEnterprisesResponse counted;
  ASSERT_THAT(Call(&Stub::CountEnterprises, count, &counted), GrpcIs(grpc::StatusCode::OK));
  EXPECT_EQ(counted.total(), 0);
}

// ---------------------------------------------------------------------------------------
// BatchCreateEnterprises

TEST_F(RegistryE2eTest, BatchCreateReportsEachItem) {
  v1::Enterprise existing = MustCreate(Manufacturer(1));
  v1::Enterprise conflicting = Manufacturer(2);
  MustCreate(conflicting);
  conflicting.set_name("Changed Name Ltd.");

  v1::Enterprise bad = Manufacturer(4);
  bad.set_region("990000");

  v1::BatchCreateEnterprisesRequest request;
  for (const v1::Enterprise& e :
       {PlatformOperator(3), Manufacturer(1), conflicting, bad, PlatformOperator(3)}) {
    *request.add_requests()->mutable_enterprise() = e;
  }
  v1::BatchCreateEnterprisesResponse response;
  ASSERT_THAT(Call(&Stub::BatchCreateEnterprises, request, &response),
              GrpcIs(grpc::StatusCode::OK));
  ASSERT_THAT(response.results(), SizeIs(5));

  const auto& r = response.results();
  EXPECT_THAT(r[0].status(), RpcStatusIs(google::rpc::OK));
  EXPECT_TRUE(r[0].created());
  EXPECT_EQ(r[0].enterprise().code(), CodeN(3));

  EXPECT_THAT(r[1].status(), RpcStatusIs(google::rpc::OK));
  EXPECT_FALSE(r[1].created());
  EXPECT_THAT(r[1].enterprise(), ProtoEq(existing));

  EXPECT_THAT(r[2].status(), RpcStatusIs(google::rpc::ALREADY_EXISTS));

  EXPECT_THAT(r[3].status(), RpcStatusIs(google::rpc::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(r[3].status()), ElementsAre("requests[3].enterprise.region"));

  // A repeat of an earlier item in the same batch is a resend of it.
  EXPECT_THAT(r[4].status(), RpcStatusIs(google::rpc::OK));
  EXPECT_FALSE(r[4].created());
  EXPECT_EQ(r[4].enterprise().code(), CodeN(3));

  EXPECT_THAT(Get(CodeN(3)), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(Get(CodeN(4)), GrpcIs(grpc::StatusCode::NOT_FOUND));
  v1::Enterprise stored;
  ASSERT_THAT(Get(CodeN(2), &stored), GrpcIs(grpc::StatusCode::OK));
  EXPECT_NE(stored.name(), "Changed Name Ltd.");
}

TEST_F(RegistryE2eTest, BatchCreateRejectsEmptyAndOversizedBatches) {
  v1::BatchCreateEnterprisesRequest empty;
  v1::BatchCreateEnterprisesResponse response;
  EXPECT_THAT(Call(&Stub::BatchCreateEnterprises, empty, &response),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "requests"));

  v1::BatchCreateEnterprisesRequest oversized;
  for (int i = 0; i < 1001; ++i) *oversized.add_requests()->mutable_enterprise() = Manufacturer(i);
  EXPECT_THAT(Call(&Stub::BatchCreateEnterprises, oversized, &response),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "requests"));
  EXPECT_THAT(Get(CodeN(0)), GrpcIs(grpc::StatusCode::NOT_FOUND));

  // Exactly 1000 is allowed.
  oversized.mutable_requests()->RemoveLast();
  ASSERT_THAT(Call(&Stub::BatchCreateEnterprises, oversized, &response),
              GrpcIs(grpc::StatusCode::OK));
  ASSERT_THAT(response.results(), SizeIs(1000));
  for (const auto& r : response.results()) {
    EXPECT_THAT(r.status(), RpcStatusIs(google::rpc::OK));
    EXPECT_TRUE(r.created());
  }
}

// ---------------------------------------------------------------------------------------
// GetEnterprise, BatchGetEnterprises

TEST_F(RegistryE2eTest, GetReturnsStoredOrNotFound) {
  v1::Enterprise created = MustCreate(Manufacturer(1));
  v1::Enterprise got;
  ASSERT_THAT(Get(CodeN(1), &got), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(got, ProtoEq(created));

  EXPECT_THAT(Get(CodeN(2)), GrpcIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(Get("not-a-code"), GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "code"));
  EXPECT_THAT(Get(""), GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "code"));
}

TEST_F(RegistryE2eTest, BatchGetListsFoundInOrderAndMissingCodes) {
  v1::Enterprise a = MustCreate(Manufacturer(1));
  v1::Enterprise b = MustCreate(PlatformOperator(2));

  v1::BatchGetEnterprisesRequest request;
  for (const std::string& c : {CodeN(2), CodeN(3), CodeN(1), CodeN(4)}) request.add_codes(c);
  v1::BatchGetEnterprisesResponse response;
  ASSERT_THAT(Call(&Stub::BatchGetEnterprises, request, &response), GrpcIs(grpc::StatusCode::OK));
  ASSERT_THAT(response.enterprises(), SizeIs(2));
  EXPECT_THAT(response.enterprises(0), ProtoEq(b));
  EXPECT_THAT(response.enterprises(1), ProtoEq(a));
  EXPECT_THAT(response.missing_codes(), ElementsAre(CodeN(3), CodeN(4)));

  v1::BatchGetEnterprisesRequest malformed;
  malformed.add_codes(CodeN(1));
  malformed.add_codes("91440100XXXX");
  EXPECT_THAT(Call(&Stub::BatchGetEnterprises, malformed, &response),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "codes[1]"));

  v1::BatchGetEnterprisesRequest oversized;
  for (int i = 0; i < 1001; ++i) oversized.add_codes(CodeN(i));
  EXPECT_THAT(Call(&Stub::BatchGetEnterprises, oversized, &response),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "codes"));

  v1::BatchGetEnterprisesRequest none;
  v1::BatchGetEnterprisesResponse nothing;
  ASSERT_THAT(Call(&Stub::BatchGetEnterprises, none, &nothing), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(nothing.enterprises(), IsEmpty());
  EXPECT_THAT(nothing.missing_codes(), IsEmpty());
}

// ---------------------------------------------------------------------------------------
// UpdateEnterprise

TEST_F(RegistryE2eTest, UpdateAppliesOnlyMaskedFieldsAndChecksTheEtag) {
  v1::Enterprise created = MustCreate(Manufacturer(1));

  // Only the name is in the mask; the other differing fields are ignored.
  v1::Enterprise change = created;
  change.set_name("Renamed Precision Co.");
  change.set_region("320505");
  change.set_size(cv1::ENTERPRISE_SIZE_SMALL);
  v1::UpdateEnterpriseResponse renamed;
  ASSERT_THAT(Update(change, {"name"}, created.etag(), &renamed), GrpcIs(grpc::StatusCode::OK));
  EXPECT_EQ(renamed.enterprise().name(), "Renamed Precision Co.");
  EXPECT_EQ(renamed.enterprise().region(), created.region());
  EXPECT_EQ(renamed.enterprise().size(), created.size());
  EXPECT_NE(renamed.enterprise().etag(), created.etag());
  EXPECT_GT(renamed.enterprise().version(), created.version());
  EXPECT_THAT(renamed.enterprise().create_time(), ProtoEq(created.create_time()));
  EXPECT_GE(
      google::protobuf::util::TimeUtil::TimestampToNanoseconds(renamed.enterprise().update_time()),
      google::protobuf::util::TimeUtil::TimestampToNanoseconds(created.update_time()));

  // The old etag no longer matches.
  change.set_name("Stale Write Co.");
  v1::UpdateEnterpriseResponse stale;
  EXPECT_THAT(Update(change, {"name"}, created.etag(), &stale), GrpcIs(grpc::StatusCode::ABORTED));

  // Several paths, with the current etag.
  v1::Enterprise moved = renamed.enterprise();
  moved.set_region("320505");
  moved.set_size(cv1::ENTERPRISE_SIZE_SMALL);
  moved.mutable_labels()->clear();
  (*moved.mutable_labels())["park"] = "suzhou-industrial";
  v1::UpdateEnterpriseResponse updated;
  ASSERT_THAT(Update(moved, {"region", "size", "labels"}, renamed.enterprise().etag(), &updated),
              GrpcIs(grpc::StatusCode::OK));
  EXPECT_EQ(updated.enterprise().region(), "320505");
  EXPECT_EQ(updated.enterprise().size(), cv1::ENTERPRISE_SIZE_SMALL);
  EXPECT_EQ(updated.enterprise().name(), "Renamed Precision Co.");
  ASSERT_THAT(updated.enterprise().labels(), SizeIs(1));
  EXPECT_EQ(updated.enterprise().labels().at("park"), "suzhou-industrial");

  // Without an etag the update is unconditional.
  v1::Enterprise keyed = updated.enterprise();
  keyed.set_key_enterprise(false);
  v1::UpdateEnterpriseResponse unconditional;
  ASSERT_THAT(Update(keyed, {"key_enterprise"}, "", &unconditional), GrpcIs(grpc::StatusCode::OK));
  EXPECT_FALSE(unconditional.enterprise().key_enterprise());

  v1::Enterprise stored;
  ASSERT_THAT(Get(created.code(), &stored), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(stored, ProtoEq(unconditional.enterprise()));
}

TEST_F(RegistryE2eTest, UpdateRejectsBadMasksAndValues) {
  v1::Enterprise created = MustCreate(PlatformOperator(1));
  v1::UpdateEnterpriseResponse response;
  for (const std::vector<std::string>& mask :
       {std::vector<std::string>{}, {"code"}, {"bogus"}, {"name", "archived"}, {"etag"}}) {
    SCOPED_TRACE(mask.empty() ? "<empty>" : mask.back());
    EXPECT_THAT(Update(created, mask, "", &response),
                GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "update_mask"));
  }

  v1::Enterprise bad = created;
  bad.set_region("990000");
  EXPECT_THAT(Update(bad, {"region"}, "", &response),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "enterprise.region"));
  // Becoming a manufacturer while in I64 breaks the C13-C43 rule.
  v1::Enterprise manufacturer = created;
  manufacturer.set_kind(cv1::ORGANIZATION_KIND_MANUFACTURER);
  EXPECT_THAT(Update(manufacturer, {"kind"}, "", &response),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "enterprise.industry"));
  v1::Enterprise unset = created;
  unset.set_ownership(cv1::OWNERSHIP_UNSPECIFIED);
  EXPECT_THAT(Update(unset, {"ownership"}, "", &response),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "enterprise.ownership"));
  v1::Enterprise malformed = created;
  malformed.set_code("91440100");
  EXPECT_THAT(Update(malformed, {"name"}, "", &response),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "enterprise.code"));

  v1::Enterprise stored;
  ASSERT_THAT(Get(created.code(), &stored), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(stored, ProtoEq(created));

  EXPECT_THAT(Update(PlatformOperator(2), {"name"}, "", &response),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
}

TEST_F(RegistryE2eTest, UpdateOfArchivedEnterpriseFailsPrecondition) {
  v1::Enterprise created = MustCreate(Manufacturer(1));
  v1::Enterprise archived;
  ASSERT_THAT(Archive(created.code(), "closed", &archived), GrpcIs(grpc::StatusCode::OK));
  v1::Enterprise change = archived;
  change.set_name("After Archive Co.");
  v1::UpdateEnterpriseResponse response;
  EXPECT_THAT(Update(change, {"name"}, archived.etag(), &response),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(Update(change, {"name"}, "", &response),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION));
}

// ---------------------------------------------------------------------------------------
// ArchiveEnterprise

TEST_F(RegistryE2eTest, ArchiveKeepsTheEnterpriseAndIsIdempotent) {
  v1::Enterprise created = MustCreate(Manufacturer(1));
  MustCreate(Manufacturer(2));

  v1::Enterprise archived;
  ASSERT_THAT(Archive(created.code(), "merged into another enterprise", &archived, created.etag()),
              GrpcIs(grpc::StatusCode::OK));
  EXPECT_TRUE(archived.archived());
  EXPECT_EQ(archived.archive_reason(), "merged into another enterprise");
  EXPECT_NE(archived.etag(), created.etag());
  EXPECT_GT(archived.version(), created.version());

  v1::Enterprise again;
  ASSERT_THAT(Archive(created.code(), "another reason", &again), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(again, ProtoEq(archived));

  v1::Enterprise stored;
  ASSERT_THAT(Get(created.code(), &stored), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(stored, ProtoEq(archived));

  v1::ListEnterprisesRequest list;
  EXPECT_THAT(ListAll(list), ElementsAre(CodeN(2)));
  list.set_include_archived(true);
  EXPECT_THAT(ListAll(list), ElementsAre(CodeN(1), CodeN(2)));

  // A stale etag is ABORTED and archives nothing.
  v1::Enterprise other;
  ASSERT_THAT(Get(CodeN(2), &other), GrpcIs(grpc::StatusCode::OK));
  ASSERT_NE(other.etag(), "not-the-etag");
  EXPECT_THAT(Archive(CodeN(2), "x", nullptr, "not-the-etag"), GrpcIs(grpc::StatusCode::ABORTED));
  ASSERT_THAT(Get(CodeN(2), &stored), GrpcIs(grpc::StatusCode::OK));
  EXPECT_FALSE(stored.archived());

  EXPECT_THAT(Archive(CodeN(3), "x"), GrpcIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(Archive("123", "x"), GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "code"));
  EXPECT_THAT(Archive(CodeN(2), std::string(501, 'r')),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "reason"));
}

// ---------------------------------------------------------------------------------------
// ListEnterprises, CountEnterprises, ExportEnterprises over a varied population

class PopulationTest : public RegistryE2eTest {
 protected:
  static constexpr int kSize = 40;

  void SetUp() override {
    RegistryE2eTest::SetUp();
    if (HasFatalFailure()) return;
    const char* regions[] = {"440103", "440305", "320505", "110101"};
    const char* industries[] = {"I64", "P83", "C26", "C2614", "C3911"};
    const cv1::OrganizationKind kinds[] = {
        cv1::ORGANIZATION_KIND_PLATFORM_OPERATOR, cv1::ORGANIZATION_KIND_UNIVERSITY,
        cv1::ORGANIZATION_KIND_MANUFACTURER, cv1::ORGANIZATION_KIND_MANUFACTURER,
        cv1::ORGANIZATION_KIND_MANUFACTURER};
    v1::BatchCreateEnterprisesRequest request;
    for (int i = 0; i < kSize; ++i) {
      v1::Enterprise e;
      e.set_code(CodeN(1000 + i));
      e.set_name(absl::StrFormat("%s %02d", i % 2 == 0 ? "Alpha Works" : "Beta Tech", i));
      e.set_region(regions[i % 4]);
      e.set_industry(industries[i % 5]);
      e.set_kind(kinds[i % 5]);
      e.set_ownership(static_cast<cv1::Ownership>(1 + i % 7));
      e.set_size(static_cast<cv1::EnterpriseSize>(1 + (i / 2) % 4));
      e.set_key_enterprise(i % 3 == 0);
      *request.add_requests()->mutable_enterprise() = e;
    }
    v1::BatchCreateEnterprisesResponse response;
    ASSERT_THAT(Call(&Stub::BatchCreateEnterprises, request, &response),
                GrpcIs(grpc::StatusCode::OK));
    ASSERT_THAT(response.results(), SizeIs(kSize));
    for (const auto& r : response.results()) {
      ASSERT_THAT(r.status(), RpcStatusIs(google::rpc::OK));
      all_.push_back(r.enterprise());
    }
    for (auto& e : all_) {
      int i = static_cast<int>(&e - all_.data());
      if (i % 10 == 7) {
        ASSERT_THAT(Archive(e.code(), "closed", &e), GrpcIs(grpc::StatusCode::OK));
      }
    }
  }

  // The codes, in code order, that the query should return.
  std::vector<std::string> Expected(const cv1::Scope& scope, const std::string& name_prefix,
                                    bool include_archived) const {
    std::vector<std::string> out;
    for (const auto& e : all_) {
      if (e.archived() && !include_archived) continue;
      if (!absl::StartsWith(e.region(), scope.region_prefix())) continue;
      if (!absl::StartsWith(e.industry(), scope.industry_prefix())) continue;
      if (scope.ownership() != 0 && e.ownership() != scope.ownership()) continue;
      if (scope.size() != 0 && e.size() != scope.size()) continue;
      if (scope.key_only() && !e.key_enterprise()) continue;
      if (scope.kind() != 0 && e.kind() != scope.kind()) continue;
      if (!absl::StartsWith(e.name(), name_prefix)) continue;
      out.push_back(e.code());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  int ActiveCount() const {
    return static_cast<int>(std::count_if(all_.begin(), all_.end(),
                                          [](const v1::Enterprise& e) { return !e.archived(); }));
  }

  std::vector<v1::Enterprise> all_;
};

TEST_F(PopulationTest, ListFiltersMatchTheScope) {
  struct Case {
    std::string label;
    std::function<void(v1::ListEnterprisesRequest&)> set;
  };
  std::vector<Case> cases = {
      {"region 44", [](auto& r) { r.mutable_scope()->set_region_prefix("44"); }},
      {"region 4401", [](auto& r) { r.mutable_scope()->set_region_prefix("4401"); }},
      {"region 320505", [](auto& r) { r.mutable_scope()->set_region_prefix("320505"); }},
      {"industry C", [](auto& r) { r.mutable_scope()->set_industry_prefix("C"); }},
      {"industry C26", [](auto& r) { r.mutable_scope()->set_industry_prefix("C26"); }},
      {"industry C3911", [](auto& r) { r.mutable_scope()->set_industry_prefix("C3911"); }},
      {"ownership", [](auto& r) { r.mutable_scope()->set_ownership(cv1::OWNERSHIP_STATE_OWNED); }},
      {"size", [](auto& r) { r.mutable_scope()->set_size(cv1::ENTERPRISE_SIZE_SMALL); }},
      {"key only", [](auto& r) { r.mutable_scope()->set_key_only(true); }},
      {"kind", [](auto& r) { r.mutable_scope()->set_kind(cv1::ORGANIZATION_KIND_UNIVERSITY); }},
      {"name prefix", [](auto& r) { r.set_name_prefix("Beta"); }},
      {"include archived", [](auto& r) { r.set_include_archived(true); }},
      {"combined",
       [](auto& r) {
         r.mutable_scope()->set_region_prefix("44");
         r.mutable_scope()->set_kind(cv1::ORGANIZATION_KIND_MANUFACTURER);
         r.mutable_scope()->set_key_only(true);
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    v1::ListEnterprisesRequest request;
    c.set(request);
    request.set_page_size(3);
    std::vector<std::string> expected =
        Expected(request.scope(), request.name_prefix(), request.include_archived());
    // Each filter selects something, but not everything.
    ASSERT_FALSE(expected.empty());
    if (!request.include_archived()) {
      ASSERT_LT(static_cast<int>(expected.size()), ActiveCount());
    }
    EXPECT_EQ(ListAll(request), expected);
  }
  v1::ListEnterprisesRequest everything;
  everything.set_include_archived(true);
  EXPECT_THAT(ListAll(everything), SizeIs(kSize));
}

TEST_F(PopulationTest, ListPagesInCodeOrder) {
  v1::ListEnterprisesRequest request;
  request.set_page_size(7);
  int pages = 0;
  std::vector<std::string> codes = ListAll(request, &pages);
  EXPECT_EQ(codes, Expected(cv1::Scope(), "", false));
  EXPECT_GE(pages, (ActiveCount() + 6) / 7);
  EXPECT_TRUE(std::is_sorted(codes.begin(), codes.end()));
  EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), codes.size());

  // page_size 0 is the default of 100: one page.
  v1::ListEnterprisesRequest whole;
  v1::ListEnterprisesResponse response;
  ASSERT_THAT(Call(&Stub::ListEnterprises, whole, &response), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(response.enterprises(), SizeIs(ActiveCount()));
  EXPECT_TRUE(response.next_page_token().empty());
}

TEST_F(PopulationTest, PageTokensStayValidWhileOthersWrite) {
  v1::ListEnterprisesRequest request;
  request.set_page_size(5);
  request.set_include_archived(true);
  std::vector<std::string> seen;
  int n = 0;
  for (int page = 0; page < 100; ++page) {
    v1::ListEnterprisesResponse response;
    ASSERT_THAT(Call(&Stub::ListEnterprises, request, &response), GrpcIs(grpc::StatusCode::OK));
    for (const auto& e : response.enterprises()) seen.push_back(e.code());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
    // Writes between pages: new enterprises on both sides of the cursor, and updates.
    MustCreate(Manufacturer(10 + n++));
    MustCreate(Manufacturer(5000 + n++));
    v1::Enterprise e = all_[(page * 7) % kSize];
    if (!e.archived()) {
      e.set_name(absl::StrCat("Renamed ", page));
      v1::UpdateEnterpriseResponse updated;
      ASSERT_THAT(Update(e, {"name"}, "", &updated), GrpcIs(grpc::StatusCode::OK));
    }
  }
  for (const auto& e : all_) {
    EXPECT_EQ(std::count(seen.begin(), seen.end(), e.code()), 1) << e.code();
  }
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

TEST_F(PopulationTest, ListRejectsBadRequests) {
  v1::ListEnterprisesRequest first;
  first.mutable_scope()->set_region_prefix("44");
  first.set_page_size(2);
  v1::ListEnterprisesResponse response;
  ASSERT_THAT(Call(&Stub::ListEnterprises, first, &response), GrpcIs(grpc::StatusCode::OK));
  ASSERT_FALSE(response.next_page_token().empty());

  // The token belongs to the region-44 query; reusing it with other filters is refused.
  v1::ListEnterprisesRequest other = first;
  other.set_page_token(response.next_page_token());
  other.mutable_scope()->set_region_prefix("32");
  v1::ListEnterprisesResponse ignored;
  EXPECT_THAT(Call(&Stub::ListEnterprises, other, &ignored),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "page_token"));
  other = first;
  other.set_page_token(response.next_page_token());
  other.set_include_archived(true);
  EXPECT_THAT(Call(&Stub::ListEnterprises, other, &ignored),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "page_token"));
  other = first;
  other.set_page_token(response.next_page_token());
  other.set_name_prefix("Alpha");
  EXPECT_THAT(Call(&Stub::ListEnterprises, other, &ignored),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "page_token"));
  // The same filters with a different page size are the same query.
  other = first;
  other.set_page_token(response.next_page_token());
  other.set_page_size(5);
  EXPECT_THAT(Call(&Stub::ListEnterprises, other, &ignored), GrpcIs(grpc::StatusCode::OK));

  other = first;
  other.set_page_token("not a token");
  EXPECT_THAT(Call(&Stub::ListEnterprises, other, &ignored),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "page_token"));

  for (int size : {1001, -1}) {
    v1::ListEnterprisesRequest bad;
    bad.set_page_size(size);
    EXPECT_THAT(Call(&Stub::ListEnterprises, bad, &ignored),
                GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "page_size"))
        << size;
  }
  v1::ListEnterprisesRequest max;
  max.set_page_size(1000);
  EXPECT_THAT(Call(&Stub::ListEnterprises, max, &ignored), GrpcIs(grpc::StatusCode::OK));

  v1::ListEnterprisesRequest bad_region;
  bad_region.mutable_scope()->set_region_prefix("99");
  EXPECT_THAT(Call(&Stub::ListEnterprises, bad_region, &ignored),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "scope.region_prefix"));
  v1::ListEnterprisesRequest bad_industry;
  bad_industry.mutable_scope()->set_industry_prefix("C99");
  EXPECT_THAT(Call(&Stub::ListEnterprises, bad_industry, &ignored),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "scope.industry_prefix"));
}

TEST_F(PopulationTest, CountGroupsAddUpToTheTotal) {
  std::map<std::string, int64_t> provinces;
  std::map<std::string, int64_t> divisions;
  for (const auto& e : all_) {
    if (e.archived()) continue;
    ++provinces[e.region().substr(0, 2) + "0000"];
    ++divisions[e.industry().substr(0, 3)];
  }
  auto groups = [](const v1::CountEnterprisesResponse& r) {
    std::map<std::string, int64_t> out;
    for (const auto& g : r.groups()) out[g.key()] = g.count();
    return out;
  };
  auto sum = [](const v1::CountEnterprisesResponse& r) {
    int64_t total = 0;
    for (const auto& g : r.groups()) total += g.count();
    return total;
  };

  v1::CountEnterprisesRequest request;
  request.set_group_by(v1::DIMENSION_PROVINCE);
  v1::CountEnterprisesResponse by_province;
  ASSERT_THAT(Call(&Stub::CountEnterprises, request, &by_province), GrpcIs(grpc::StatusCode::OK));
  EXPECT_EQ(by_province.total(), ActiveCount());
  EXPECT_EQ(sum(by_province), by_province.total());
  EXPECT_EQ(groups(by_province), provinces);
  EXPECT_GT(by_province.registry_version(), 0);
  for (int i = 1; i < by_province.groups_size(); ++i) {
    EXPECT_LT(by_province.groups(i - 1).key(), by_province.groups(i).key());
  }

  request.set_group_by(v1::DIMENSION_INDUSTRY_DIVISION);
  v1::CountEnterprisesResponse by_division;
  ASSERT_THAT(Call(&Stub::CountEnterprises, request, &by_division), GrpcIs(grpc::StatusCode::OK));
  EXPECT_EQ(by_division.total(), ActiveCount());
  EXPECT_EQ(sum(by_division), by_division.total());
  EXPECT_EQ(groups(by_division), divisions);

  request.set_include_archived(true);
  v1::CountEnterprisesResponse with_archived;
  ASSERT_THAT(Call(&Stub::CountEnterprises, request, &with_archived), GrpcIs(grpc::StatusCode::OK));
  EXPECT_EQ(with_archived.total(), kSize);
  EXPECT_EQ(sum(with_archived), kSize);

  v1::CountEnterprisesRequest scoped;
  scoped.mutable_scope()->set_region_prefix("44");
  scoped.mutable_scope()->set_kind(cv1::ORGANIZATION_KIND_MANUFACTURER);
  scoped.set_group_by(v1::DIMENSION_KEY_ENTERPRISE);
  v1::CountEnterprisesResponse scoped_counts;
  ASSERT_THAT(Call(&Stub::CountEnterprises, scoped, &scoped_counts), GrpcIs(grpc::StatusCode::OK));
  EXPECT_EQ(scoped_counts.total(),
            static_cast<int64_t>(Expected(scoped.scope(), "", false).size()));
  EXPECT_EQ(sum(scoped_counts), scoped_counts.total());
  for (const auto& g : scoped_counts.groups()) {
    EXPECT_TRUE(g.key() == "true" || g.key() == "false") << g.key();
  }

  v1::CountEnterprisesRequest unspecified;
  v1::CountEnterprisesResponse ignored;
  EXPECT_THAT(Call(&Stub::CountEnterprises, unspecified, &ignored),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "group_by"));
  v1::CountEnterprisesRequest bad_scope;
  bad_scope.set_group_by(v1::DIMENSION_SIZE);
  bad_scope.mutable_scope()->set_region_prefix("4x");
  EXPECT_THAT(Call(&Stub::CountEnterprises, bad_scope, &ignored),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "scope.region_prefix"));
}

TEST_F(PopulationTest, ExportStreamsEveryEnterpriseOnceInBatches) {
  v1::ListEventsRequest events;
  events.set_page_size(1);
  v1::ListEventsResponse head;
  ASSERT_THAT(Call(&Stub::ListEvents, events, &head), GrpcIs(grpc::StatusCode::OK));

  struct Export {
    std::vector<int> batch_sizes;
    std::vector<std::string> codes;
    std::set<int64_t> versions;
    grpc::Status status;
  };
  auto run = [&](const v1::ExportEnterprisesRequest& request) {
    Export out;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(kCallTimeout));
    auto reader = instance_->stub().ExportEnterprises(&context, request);
    v1::ExportEnterprisesResponse batch;
    while (reader->Read(&batch)) {
      out.batch_sizes.push_back(batch.enterprises_size());
      out.versions.insert(batch.registry_version());
      for (const auto& e : batch.enterprises()) out.codes.push_back(e.code());
    }
    out.status = reader->Finish();
    return out;
  };

  v1::ExportEnterprisesRequest request;
  request.set_batch_size(7);
  Export all = run(request);
  ASSERT_THAT(all.status, GrpcIs(grpc::StatusCode::OK));
  std::vector<std::string> expected = Expected(cv1::Scope(), "", false);
  EXPECT_THAT(all.codes, UnorderedElementsAreArray(expected));
  EXPECT_EQ(std::set<std::string>(all.codes.begin(), all.codes.end()).size(), all.codes.size());
  ASSERT_EQ(all.batch_sizes.size(), (expected.size() + 6) / 7);
  for (size_t i = 0; i + 1 < all.batch_sizes.size(); ++i) EXPECT_EQ(all.batch_sizes[i], 7);
  EXPECT_EQ(all.batch_sizes.back(),
            static_cast<int>(expected.size() - 7 * (all.batch_sizes.size() - 1)));
  EXPECT_THAT(all.versions, ElementsAre(head.registry_version()));

  request.set_include_archived(true);
  request.mutable_scope()->set_region_prefix("32");
  Export scoped = run(request);
  ASSERT_THAT(scoped.status, GrpcIs(grpc::StatusCode::OK));
  cv1::Scope scope;
  scope.set_region_prefix("32");
  EXPECT_THAT(scoped.codes, UnorderedElementsAreArray(Expected(scope, "", true)));

  v1::ExportEnterprisesRequest whole;  // batch_size 0 means 1000: one batch
  Export one = run(whole);
  ASSERT_THAT(one.status, GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(one.batch_sizes, ElementsAre(ActiveCount()));

  v1::ExportEnterprisesRequest oversized;
  oversized.set_batch_size(5001);
  Export rejected = run(oversized);
  EXPECT_THAT(rejected.status, GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "batch_size"));
  EXPECT_THAT(rejected.codes, IsEmpty());
  v1::ExportEnterprisesRequest bad_scope;
  bad_scope.mutable_scope()->set_industry_prefix("Z");
  EXPECT_THAT(run(bad_scope).status,
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "scope.industry_prefix"));
}

// ---------------------------------------------------------------------------------------
// CreateLink, ListLinks, DeleteLink

TEST_F(RegistryE2eTest, LinksBetweenEnterprises) {
  v1::Enterprise platform = MustCreate(PlatformOperator(1));
  v1::Enterprise maker = MustCreate(Manufacturer(2));
  v1::Enterprise other = MustCreate(Manufacturer(3));
  v1::Enterprise closed = MustCreate(Manufacturer(4));
  ASSERT_THAT(Archive(closed.code(), "closed"), GrpcIs(grpc::StatusCode::OK));

  auto link = [](const std::string& from, const std::string& to, v1::LinkType type,
                 const std::string& note = "") {
    v1::CreateLinkRequest request;
    request.mutable_link()->set_from_code(from);
    request.mutable_link()->set_to_code(to);
    request.mutable_link()->set_type(type);
    request.mutable_link()->set_note(note);
    return request;
  };
  v1::CreateLinkResponse response;
  ASSERT_THAT(
      Call(&Stub::CreateLink,
           link(platform.code(), maker.code(), v1::LINK_TYPE_PLATFORM_SERVICE, "cloud"), &response),
      GrpcIs(grpc::StatusCode::OK));
  EXPECT_TRUE(response.created());
  EXPECT_EQ(response.link().note(), "cloud");
  EXPECT_GT(response.link().create_time().seconds(), 0);
  v1::Link first = response.link();

  ASSERT_THAT(
      Call(&Stub::CreateLink,
           link(platform.code(), maker.code(), v1::LINK_TYPE_PLATFORM_SERVICE, "cloud"), &response),
      GrpcIs(grpc::StatusCode::OK));
  EXPECT_FALSE(response.created());
  EXPECT_THAT(response.link(), ProtoEq(first));
  EXPECT_THAT(
      Call(&Stub::CreateLink,
           link(platform.code(), maker.code(), v1::LINK_TYPE_PLATFORM_SERVICE, "other"), &response),
      GrpcIs(grpc::StatusCode::ALREADY_EXISTS));

  ASSERT_THAT(Call(&Stub::CreateLink, link(platform.code(), other.code(), v1::LINK_TYPE_LOGISTICS),
                   &response),
              GrpcIs(grpc::StatusCode::OK));
  ASSERT_THAT(Call(&Stub::CreateLink,
                   link(maker.code(), platform.code(), v1::LINK_TYPE_RD_COOPERATION), &response),
              GrpcIs(grpc::StatusCode::OK));

  // Errors.
  EXPECT_THAT(
      Call(&Stub::CreateLink, link(platform.code(), CodeN(99), v1::LINK_TYPE_LOGISTICS), &response),
      GrpcIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(
      Call(&Stub::CreateLink, link(CodeN(99), platform.code(), v1::LINK_TYPE_LOGISTICS), &response),
      GrpcIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(Call(&Stub::CreateLink, link(platform.code(), closed.code(), v1::LINK_TYPE_LOGISTICS),
                   &response),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(Call(&Stub::CreateLink, link(closed.code(), platform.code(), v1::LINK_TYPE_LOGISTICS),
                   &response),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(
      Call(&Stub::CreateLink, link(maker.code(), maker.code(), v1::LINK_TYPE_LOGISTICS), &response),
      GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "link.to_code"));
  EXPECT_THAT(Call(&Stub::CreateLink,
                   link(platform.code(), maker.code(), v1::LINK_TYPE_UNSPECIFIED), &response),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "link.type"));
  EXPECT_THAT(
      Call(&Stub::CreateLink, link("bad", maker.code(), v1::LINK_TYPE_LOGISTICS), &response),
      GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "link.from_code"));

  // ListLinks: both ends see a link; paging one at a time.
  auto list_all = [&](const std::string& code, int page_size) {
    std::vector<std::string> keys;
    v1::ListLinksRequest request;
    request.set_code(code);
    request.set_page_size(page_size);
    for (int guard = 0; guard < 100; ++guard) {
      v1::ListLinksResponse page;
      grpc::Status status = Call(&Stub::ListLinks, request, &page);
      EXPECT_TRUE(status.ok()) << status.error_message();
      EXPECT_LE(page.links_size(), page_size);
      for (const auto& l : page.links()) {
        keys.push_back(absl::StrCat(l.from_code(), ">", l.to_code(), ":", l.type()));
      }
      if (!status.ok() || page.next_page_token().empty()) break;
      request.set_page_token(page.next_page_token());
    }
    return keys;
  };
  auto key = [](const v1::Enterprise& from, const v1::Enterprise& to, v1::LinkType t) {
    return absl::StrCat(from.code(), ">", to.code(), ":", t);
  };
  EXPECT_THAT(list_all(platform.code(), 1),
              UnorderedElementsAre(key(platform, maker, v1::LINK_TYPE_PLATFORM_SERVICE),
                                   key(platform, other, v1::LINK_TYPE_LOGISTICS),
                                   key(maker, platform, v1::LINK_TYPE_RD_COOPERATION)));
  EXPECT_THAT(list_all(maker.code(), 100),
              UnorderedElementsAre(key(platform, maker, v1::LINK_TYPE_PLATFORM_SERVICE),
                                   key(maker, platform, v1::LINK_TYPE_RD_COOPERATION)));
  EXPECT_THAT(list_all(closed.code(), 10), IsEmpty());

  v1::ListLinksRequest paged;
  paged.set_code(platform.code());
  paged.set_page_size(1);
  v1::ListLinksResponse page;
  ASSERT_THAT(Call(&Stub::ListLinks, paged, &page), GrpcIs(grpc::StatusCode::OK));
  ASSERT_FALSE(page.next_page_token().empty());
  paged.set_code(maker.code());
  paged.set_page_token(page.next_page_token());
  EXPECT_THAT(Call(&Stub::ListLinks, paged, &page),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "page_token"));
  v1::ListLinksRequest bad_code;
  bad_code.set_code("nope");
  EXPECT_THAT(Call(&Stub::ListLinks, bad_code, &page),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "code"));
  v1::ListLinksRequest bad_size;
  bad_size.set_code(maker.code());
  bad_size.set_page_size(1001);
  EXPECT_THAT(Call(&Stub::ListLinks, bad_size, &page),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "page_size"));

  // DeleteLink: once OK, then NOT_FOUND.
  v1::DeleteLinkRequest del;
  del.set_from_code(platform.code());
  del.set_to_code(maker.code());
  del.set_type(v1::LINK_TYPE_PLATFORM_SERVICE);
  v1::DeleteLinkResponse deleted;
  EXPECT_THAT(Call(&Stub::DeleteLink, del, &deleted), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(Call(&Stub::DeleteLink, del, &deleted), GrpcIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(list_all(maker.code(), 100),
              ElementsAre(key(maker, platform, v1::LINK_TYPE_RD_COOPERATION)));
  // The same ends with another type were never linked.
  del.set_type(v1::LINK_TYPE_JOINT_VENTURE);
  EXPECT_THAT(Call(&Stub::DeleteLink, del, &deleted), GrpcIs(grpc::StatusCode::NOT_FOUND));
  del.set_type(v1::LINK_TYPE_UNSPECIFIED);
  EXPECT_THAT(Call(&Stub::DeleteLink, del, &deleted),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "type"));
}

// ---------------------------------------------------------------------------------------
// ListEvents

TEST_F(RegistryE2eTest, EventsRecordEveryChangeInOrder) {
  v1::ListEventsRequest head_request;
  v1::ListEventsResponse head;
  ASSERT_THAT(Call(&Stub::ListEvents, head_request, &head), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(head.events(), IsEmpty());
  const int64_t start = head.registry_version();

  v1::Enterprise a = MustCreate(Manufacturer(1));
  v1::Enterprise b = MustCreate(PlatformOperator(2));
  v1::Enterprise renamed = a;
  renamed.set_name("Renamed Co.");
  v1::UpdateEnterpriseResponse updated;
  ASSERT_THAT(Update(renamed, {"name"}, a.etag(), &updated), GrpcIs(grpc::StatusCode::OK));
  v1::CreateLinkRequest link;
  link.mutable_link()->set_from_code(b.code());
  link.mutable_link()->set_to_code(a.code());
  link.mutable_link()->set_type(v1::LINK_TYPE_PLATFORM_SERVICE);
  v1::CreateLinkResponse linked;
  ASSERT_THAT(Call(&Stub::CreateLink, link, &linked), GrpcIs(grpc::StatusCode::OK));
  v1::DeleteLinkRequest unlink;
  unlink.set_from_code(b.code());
  unlink.set_to_code(a.code());
  unlink.set_type(v1::LINK_TYPE_PLATFORM_SERVICE);
  v1::DeleteLinkResponse unlinked;
  ASSERT_THAT(Call(&Stub::DeleteLink, unlink, &unlinked), GrpcIs(grpc::StatusCode::OK));
  v1::Enterprise archived;
  ASSERT_THAT(Archive(a.code(), "closed", &archived), GrpcIs(grpc::StatusCode::OK));
  // No-ops add no events.
  v1::CreateEnterpriseResponse resent;
  ASSERT_THAT(Create(PlatformOperator(2), &resent), GrpcIs(grpc::StatusCode::OK));
  ASSERT_THAT(Archive(a.code(), "closed"), GrpcIs(grpc::StatusCode::OK));

  std::vector<v1::Event> events = AllEvents(start);
  ASSERT_THAT(events, SizeIs(6));
  std::vector<v1::EventType> types;
  for (const auto& e : events) types.push_back(e.type());
  EXPECT_THAT(types,
              ElementsAre(v1::EVENT_TYPE_ENTERPRISE_CREATED, v1::EVENT_TYPE_ENTERPRISE_CREATED,
                          v1::EVENT_TYPE_ENTERPRISE_UPDATED, v1::EVENT_TYPE_LINK_CREATED,
                          v1::EVENT_TYPE_LINK_DELETED, v1::EVENT_TYPE_ENTERPRISE_ARCHIVED));
  std::vector<std::string> codes;
  for (const auto& e : events) codes.push_back(e.code());
  EXPECT_THAT(codes, ElementsAre(a.code(), b.code(), a.code(), b.code(), b.code(), a.code()));
  EXPECT_EQ(events[3].other_code(), a.code());
  EXPECT_EQ(events[4].other_code(), a.code());
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0) {
      EXPECT_GT(events[i].version(), events[i - 1].version());
    }
    EXPECT_GT(events[i].version(), start);
    EXPECT_GT(events[i].time().seconds(), 0);
  }
  // An enterprise's version is the version of its last change.
  EXPECT_EQ(a.version(), events[0].version());
  EXPECT_EQ(b.version(), events[1].version());
  EXPECT_EQ(updated.enterprise().version(), events[2].version());
  EXPECT_EQ(archived.version(), events[5].version());

  // Paging by after_version, two at a time, yields the same events.
  std::vector<v1::Event> paged = AllEvents(start, 2);
  ASSERT_EQ(paged.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) EXPECT_THAT(paged[i], ProtoEq(events[i]));

  v1::ListEventsRequest tail;
  tail.set_after_version(events[3].version());
  v1::ListEventsResponse rest;
  ASSERT_THAT(Call(&Stub::ListEvents, tail, &rest), GrpcIs(grpc::StatusCode::OK));
  ASSERT_THAT(rest.events(), SizeIs(2));
  EXPECT_EQ(rest.events(0).version(), events[4].version());
  EXPECT_EQ(rest.registry_version(), events.back().version());
  EXPECT_FALSE(rest.truncated());

  v1::ListEventsRequest negative;
  negative.set_after_version(-1);
  EXPECT_THAT(Call(&Stub::ListEvents, negative, &rest),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "after_version"));
  v1::ListEventsRequest oversized;
  oversized.set_page_size(10001);
  EXPECT_THAT(Call(&Stub::ListEvents, oversized, &rest),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "page_size"));
}

// ---------------------------------------------------------------------------------------
// Request ids

TEST_F(RegistryE2eTest, RequestIdReplaysTheFirstResponse) {
  v1::CreateEnterpriseRequest create;
  *create.mutable_enterprise() = Manufacturer(1);
  (*create.mutable_enterprise()->mutable_labels())["park"] = "tianhe";
  (*create.mutable_enterprise()->mutable_labels())["tier"] = "gold";
  create.set_request_id("6f1c2a52-7d0e-4f1b-9a8e-3c1d2b4a5e60");
  v1::CreateEnterpriseResponse created;
  ASSERT_THAT(Call(&Stub::CreateEnterprise, create, &created), GrpcIs(grpc::StatusCode::OK));
  EXPECT_TRUE(created.created());
  v1::CreateEnterpriseResponse replayed;
  ASSERT_THAT(Call(&Stub::CreateEnterprise, create, &replayed), GrpcIs(grpc::StatusCode::OK));
  // The replay is the first response (created=true), not a fresh idempotent create.
  EXPECT_THAT(replayed, ProtoEq(created));

  // An update with an etag, sent twice: the second is replayed rather than ABORTED.
  v1::UpdateEnterpriseRequest update;
  *update.mutable_enterprise() = created.enterprise();
  update.mutable_enterprise()->set_name("Renamed Once Co.");
  (*update.mutable_enterprise()->mutable_labels())["stage"] = "pilot";
  (*update.mutable_enterprise()->mutable_labels())["zone"] = "south";
  update.mutable_update_mask()->add_paths("name");
  update.mutable_update_mask()->add_paths("labels");
  update.set_etag(created.enterprise().etag());
  update.set_request_id("0b7e9d3c-5a41-4c1e-8f2d-6e9a7b3c1d20");
  v1::UpdateEnterpriseResponse first;
  ASSERT_THAT(Call(&Stub::UpdateEnterprise, update, &first), GrpcIs(grpc::StatusCode::OK));
  v1::UpdateEnterpriseResponse second;
  ASSERT_THAT(Call(&Stub::UpdateEnterprise, update, &second), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(second, ProtoEq(first));
  v1::Enterprise stored;
  ASSERT_THAT(Get(CodeN(1), &stored), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(stored, ProtoEq(first.enterprise()));  // applied once

  // Without the request id the same request is a stale etag.
  v1::UpdateEnterpriseRequest without_id = update;
  without_id.clear_request_id();
  v1::UpdateEnterpriseResponse aborted;
  EXPECT_THAT(Call(&Stub::UpdateEnterprise, without_id, &aborted),
              GrpcIs(grpc::StatusCode::ABORTED));

  // The same id with a different request.
  v1::UpdateEnterpriseRequest different = update;
  different.mutable_enterprise()->set_name("Renamed Twice Co.");
  v1::UpdateEnterpriseResponse ignored;
  EXPECT_THAT(Call(&Stub::UpdateEnterprise, different, &ignored),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "request_id"));
  ASSERT_THAT(Get(CodeN(1), &stored), GrpcIs(grpc::StatusCode::OK));
  EXPECT_EQ(stored.name(), "Renamed Once Co.");

  v1::UpdateEnterpriseRequest bad_id = update;
  bad_id.set_request_id("has a space");
  EXPECT_THAT(Call(&Stub::UpdateEnterprise, bad_id, &ignored),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "request_id"));

  // Ids are per method: the create's id on an archive is a fresh request.
  v1::ArchiveEnterpriseRequest archive;
  archive.set_code(CodeN(1));
  archive.set_reason("closed");
  archive.set_request_id(create.request_id());
  v1::ArchiveEnterpriseResponse archived;
  ASSERT_THAT(Call(&Stub::ArchiveEnterprise, archive, &archived), GrpcIs(grpc::StatusCode::OK));
  EXPECT_TRUE(archived.enterprise().archived());
}

// ---------------------------------------------------------------------------------------
// A regional instance

TEST_F(RegistryE2eTest, RegionalInstanceRejectsEnterprisesOutsideItsRegion) {
  RegistryConfig regional;
  regional.region_prefix = "44";
  Instance guangdong(redis_.port(), regional);
  IPLUS_ASSERT_OK(guangdong.start_status());

  v1::CreateEnterpriseRequest request;
  *request.mutable_enterprise() = Manufacturer(1);
  request.mutable_enterprise()->set_region("110101");
  v1::CreateEnterpriseResponse response;
  grpc::Status status = guangdong.Call(&Stub::CreateEnterprise, request, &response);
  EXPECT_THAT(status, GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "enterprise.region"));
  EXPECT_THAT(ViolationFields(status), ElementsAre("enterprise.region"));

  request.mutable_enterprise()->set_region("440103");
  ASSERT_THAT(guangdong.Call(&Stub::CreateEnterprise, request, &response),
              GrpcIs(grpc::StatusCode::OK));
  EXPECT_TRUE(response.created());

  // Moving it out of the region is refused too.
  v1::UpdateEnterpriseRequest move;
  *move.mutable_enterprise() = response.enterprise();
  move.mutable_enterprise()->set_region("110101");
  move.mutable_update_mask()->add_paths("region");
  v1::UpdateEnterpriseResponse moved;
  EXPECT_THAT(guangdong.Call(&Stub::UpdateEnterprise, move, &moved),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "enterprise.region"));

  v1::BatchCreateEnterprisesRequest batch;
  *batch.add_requests()->mutable_enterprise() = Manufacturer(2);
  *batch.add_requests()->mutable_enterprise() = Manufacturer(3);
  batch.mutable_requests(1)->mutable_enterprise()->set_region("320505");
  v1::BatchCreateEnterprisesResponse batched;
  ASSERT_THAT(guangdong.Call(&Stub::BatchCreateEnterprises, batch, &batched),
              GrpcIs(grpc::StatusCode::OK));
  ASSERT_THAT(batched.results(), SizeIs(2));
  EXPECT_THAT(batched.results(0).status(), RpcStatusIs(google::rpc::OK));
  EXPECT_THAT(ViolationFields(batched.results(1).status()),
              ElementsAre("requests[1].enterprise.region"));

  v1::ListEnterprisesRequest outside;
  outside.mutable_scope()->set_region_prefix("11");
  v1::ListEnterprisesResponse listed;
  EXPECT_THAT(guangdong.Call(&Stub::ListEnterprises, outside, &listed),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "scope.region_prefix"));
  v1::ListEnterprisesRequest inside;
  inside.mutable_scope()->set_region_prefix("4401");
  ASSERT_THAT(guangdong.Call(&Stub::ListEnterprises, inside, &listed),
              GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(listed.enterprises(), SizeIs(2));
}

}  // namespace
}  // namespace iplus::registry::e2e
