// Unit tests of RegistryDirectory against an in-memory fake of the registry service,
// called through the generated stub over an in-process channel (no network), and a
// Redis client that points at a closed port (every Redis call is UNAVAILABLE, so these
// tests also show that memory alone keeps the directory working).

#include "services/ingest/directory/registry_directory.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock/clock.h"
#include "common/metrics/registry.h"
#include "common/redis/client.h"
#include "common/refdata/credit_code.h"
#include "common/testing/free_port.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "iplus/registry/v1/registry.grpc.pb.h"

namespace iplus::ingest {
namespace {

namespace v1 = ::iplus::registry::v1;
using ::iplus::test::IsOk;
using ::iplus::test::StatusIs;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::Le;
using ::testing::SizeIs;

std::string CodeN(int n) { return refdata::CompleteCreditCode(absl::StrFormat("91440100%08d", n)); }

// The registry's contract for the calls the directory makes, kept in memory. Failures
// and slowness can be switched on; calls are counted.
class FakeRegistry final : public v1::RegistryService::Service {
 public:
  // Creates or replaces an enterprise, as a create/update/archive would.
  void Put(const std::string& code, const std::string& region, const std::string& industry,
           bool archived, v1::EventType type) {
    absl::MutexLock lock(&mu_);
    v1::Enterprise& e = enterprises_[code];
    e.set_code(code);
    e.set_region(region);
    e.set_industry(industry);
    e.set_archived(archived);
    e.set_version(++version_);
    AddEvent(type, code);
  }
  void Create(int n, const std::string& industry = "C2614") {
    Put(CodeN(n), "440103", industry, false, v1::EVENT_TYPE_ENTERPRISE_CREATED);
  }
  void Archive(int n) {
    Put(CodeN(n), "440103", "C2614", true, v1::EVENT_TYPE_ENTERPRISE_ARCHIVED);
  }
  void Link(int from, int to) {
    absl::MutexLock lock(&mu_);
    ++version_;
    AddEvent(v1::EVENT_TYPE_LINK_CREATED, CodeN(from), CodeN(to));
  }
  // Drops all but the newest `keep` events, as the registry's stream cap does.
  void Trim(size_t keep) {
    absl::MutexLock lock(&mu_);
    if (events_.size() > keep) events_.erase(events_.begin(), events_.end() - keep);
  }
  // A new, empty registry: versions start again.
  void Reset() {
    absl::MutexLock lock(&mu_);
    enterprises_.clear();
    events_.clear();
    version_ = 0;
  }

  void set_failing(bool failing) {
    absl::MutexLock lock(&mu_);
    failing_ = failing;
  }
  void set_delay(absl::Duration delay) {
    absl::MutexLock lock(&mu_);
    delay_ = delay;
  }
  int batch_get_calls() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(batch_sizes_.size());
  }
  std::vector<int> batch_sizes() {
    absl::MutexLock lock(&mu_);
    return batch_sizes_;
  }
  int export_calls() {
    absl::MutexLock lock(&mu_);
    return export_calls_;
  }
  int64_t version() {
    absl::MutexLock lock(&mu_);
    return version_;
  }
  std::map<std::string, v1::Enterprise> enterprises() {
    absl::MutexLock lock(&mu_);
    return enterprises_;
  }

  grpc::Status BatchGetEnterprises(grpc::ServerContext* context,
                                   const v1::BatchGetEnterprisesRequest* request,
                                   v1::BatchGetEnterprisesResponse* response) override {
    if (grpc::Status s = Enter(context); !s.ok()) return s;
    absl::MutexLock lock(&mu_);
    batch_sizes_.push_back(request->codes_size());
    if (request->codes_size() > 1000) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "at most 1000 codes");
    }
    for (const auto& code : request->codes()) {
      auto it = enterprises_.find(code);
      if (it == enterprises_.end()) {
        response->add_missing_codes(code);
      } else {
        *response->add_enterprises() = it->second;
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status ListEvents(grpc::ServerContext* context, const v1::ListEventsRequest* request,
                          v1::ListEventsResponse* response) override {
    if (grpc::Status s = Enter(context); !s.ok()) return s;
    absl::MutexLock lock(&mu_);
    const int64_t after = request->after_version();
    const int limit = request->page_size() == 0 ? 1000 : request->page_size();
    response->set_registry_version(version_);
    if (version_ > after) {
      response->set_truncated(events_.empty() || events_.front().version() > after + 1);
    }
    for (const auto& e : events_) {
      if (e.version() <= after) continue;
      if (response->events_size() >= limit) break;
      *response->add_events() = e;
    }
    return grpc::Status::OK;
  }

  grpc::Status ExportEnterprises(
      grpc::ServerContext* context, const v1::ExportEnterprisesRequest* request,
      grpc::ServerWriter<v1::ExportEnterprisesResponse>* writer) override {
    if (grpc::Status s = Enter(context); !s.ok()) return s;
    std::vector<v1::ExportEnterprisesResponse> batches;
    {
      absl::MutexLock lock(&mu_);
      ++export_calls_;
      v1::ExportEnterprisesResponse batch;
      for (const auto& [code, e] : enterprises_) {
        if (e.archived() && !request->include_archived()) continue;
        *batch.add_enterprises() = e;
        if (batch.enterprises_size() == 3) {
          batch.set_registry_version(version_);
          batches.push_back(std::move(batch));
          batch.Clear();
        }
      }
      if (batch.enterprises_size() > 0) {
        batch.set_registry_version(version_);
        batches.push_back(std::move(batch));
      }
    }
    for (const auto& b : batches) writer->Write(b);
    return grpc::Status::OK;
  }

 private:
  void AddEvent(v1::EventType type, const std::string& code, const std::string& other_code = "")
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    v1::Event event;
    event.set_version(version_);
    event.set_type(type);
    event.set_code(code);
    event.set_other_code(other_code);
    events_.push_back(event);
  }

  // Applies the switched-on failure or delay; a delayed call still ends when the client
  // cancels it.
  grpc::Status Enter(grpc::ServerContext* context) {
    absl::Duration delay;
    {
      absl::MutexLock lock(&mu_);
      if (failing_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "registry is down");
      delay = delay_;
    }
    const absl::Time until = absl::Now() + delay;
    while (absl::Now() < until && !context->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
    return grpc::Status::OK;
  }

  absl::Mutex mu_;
  std::map<std::string, v1::Enterprise> enterprises_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::Event> events_ ABSL_GUARDED_BY(mu_);
  int64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  bool failing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration delay_ ABSL_GUARDED_BY(mu_);
  std::vector<int> batch_sizes_ ABSL_GUARDED_BY(mu_);
  int export_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

double CounterValue(metrics::Registry& registry, const std::string& name,
                    const std::string& result) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      for (const auto& label : m.label) {
        if (label.name == "result" && label.value == result) return m.counter.value;
      }
    }
  }
  return -1;
}

double GaugeValue(metrics::Registry& registry, const std::string& name) {
  for (const auto& family : registry.Collect()) {
    if (family.name == name && !family.metric.empty()) return family.metric[0].gauge.value;
  }
  return -1;
}

bool Eventually(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  while (absl::Now() < until) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return condition();
}

class RegistryDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::RegistryService::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
    redis::Options redis_options;
    redis_options.port = test::FreePort();  // nothing listens there
    redis_ = std::make_unique<redis::Client>(redis_options);
    options_.poll_interval = absl::Milliseconds(20);
    options_.rpc_timeout = absl::Seconds(2);
    options_.clock = &clock_;
  }

  void TearDown() override {
    directory_.reset();
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  RegistryDirectory& MakeDirectory() {
    directory_ = std::make_unique<RegistryDirectory>(stub_.get(), redis_.get(),
                                                     "iplus:{ingest:44}:", metrics_, options_);
    return *directory_;
  }

  EnterpriseInfo Known(const std::string& region, const std::string& division, bool archived) {
    EnterpriseInfo info;
    info.known = true;
    info.archived = archived;
    info.region = region;
    info.division = division;
    return info;
  }

  FakeRegistry fake_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::RegistryService::Stub> stub_;
  std::unique_ptr<redis::Client> redis_;
  metrics::Registry metrics_;
  FakeClock clock_;
  RegistryDirectoryOptions options_;
  std::unique_ptr<RegistryDirectory> directory_;
};

MATCHER_P(InfoIs, expected, "") {
  if (!arg.ok()) {
    *result_listener << "whose status is " << arg.status();
    return false;
  }
  *result_listener << "which is known=" << arg->known << " archived=" << arg->archived
                   << " region=" << arg->region << " division=" << arg->division;
  return arg->known == expected.known && arg->archived == expected.archived &&
         arg->region == expected.region && arg->division == expected.division;
}

TEST_F(RegistryDirectoryTest, MissesAskTheRegistryOnceAndHitsDoNot) {
  fake_.Create(1);
  fake_.Create(2, "C34");
  fake_.Archive(2);
  RegistryDirectory& directory = MakeDirectory();

  auto results = directory.Lookup({CodeN(1), CodeN(2), CodeN(3), "not-a-code", CodeN(1)});
  EXPECT_THAT(results,
              ElementsAre(InfoIs(Known("440103", "C26", false)),
                          InfoIs(Known("440103", "C26", true)), InfoIs(EnterpriseInfo{}),
                          InfoIs(EnterpriseInfo{}), InfoIs(Known("440103", "C26", false))));
  // One call, for the three distinct well-formed codes.
  EXPECT_THAT(fake_.batch_sizes(), ElementsAre(3));

  results = directory.Lookup({CodeN(1), CodeN(2)});
  EXPECT_THAT(results, ElementsAre(InfoIs(Known("440103", "C26", false)),
                                   InfoIs(Known("440103", "C26", true))));
  EXPECT_EQ(fake_.batch_get_calls(), 1);
  EXPECT_EQ(directory.size(), 2u);

  const std::string name = "iplus_ingest_registry_cache_lookups_total";
  EXPECT_EQ(CounterValue(metrics_, name, "hit"), 2);
  EXPECT_EQ(CounterValue(metrics_, name, "miss"), 5);
  EXPECT_EQ(CounterValue(metrics_, name, "unavailable"), 0);
  EXPECT_EQ(GaugeValue(metrics_, "iplus_ingest_registry_cache_entries"), 2);
}

TEST_F(RegistryDirectoryTest, UnknownCodesAreRememberedOnlyBriefly) {
  options_.negative_ttl = absl::Seconds(1);
  RegistryDirectory& directory = MakeDirectory();

  EXPECT_THAT(directory.Lookup({CodeN(7)}), ElementsAre(InfoIs(EnterpriseInfo{})));
  EXPECT_THAT(directory.Lookup({CodeN(7)}), ElementsAre(InfoIs(EnterpriseInfo{})));
  EXPECT_EQ(fake_.batch_get_calls(), 1);

  fake_.Create(7);
  clock_.Advance(absl::Milliseconds(1100));
  EXPECT_THAT(directory.Lookup({CodeN(7)}), ElementsAre(InfoIs(Known("440103", "C26", false))));
  EXPECT_EQ(fake_.batch_get_calls(), 2);
}

TEST_F(RegistryDirectoryTest, AnEventForAnUnknownCodeEndsItsNegativeEntry) {
  options_.negative_ttl = absl::Hours(1);
  RegistryDirectory& directory = MakeDirectory();
  directory.SyncNow().IgnoreError();  // Redis is down in these tests

  EXPECT_THAT(directory.Lookup({CodeN(8)}), ElementsAre(InfoIs(EnterpriseInfo{})));
  fake_.Create(8);
  directory.SyncNow().IgnoreError();
  EXPECT_THAT(directory.Lookup({CodeN(8)}), ElementsAre(InfoIs(Known("440103", "C26", false))));
}

TEST_F(RegistryDirectoryTest, RegistryDownMakesMissesUnavailableAndHitsStillAnswer) {
  fake_.Create(1);
  RegistryDirectory& directory = MakeDirectory();
  ASSERT_THAT(directory.Lookup({CodeN(1)}), ElementsAre(InfoIs(Known("440103", "C26", false))));

  fake_.set_failing(true);
  auto results = directory.Lookup({CodeN(1), CodeN(2)});
  ASSERT_THAT(results, SizeIs(2));
  EXPECT_THAT(results[0], InfoIs(Known("440103", "C26", false)));
  EXPECT_THAT(results[1], StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(CounterValue(metrics_, "iplus_ingest_registry_cache_lookups_total", "unavailable"), 1);

  fake_.set_failing(false);
  EXPECT_THAT(directory.Lookup({CodeN(2)}), ElementsAre(InfoIs(EnterpriseInfo{})));
}

TEST_F(RegistryDirectoryTest, ASlowRegistryCostsAtMostTheRpcTimeout) {
  options_.rpc_timeout = absl::Milliseconds(200);
  RegistryDirectory& directory = MakeDirectory();
  fake_.set_delay(absl::Seconds(5));

  const absl::Time start = absl::Now();
  auto results = directory.Lookup({CodeN(1)});
  const absl::Duration took = absl::Now() - start;
  EXPECT_THAT(results, ElementsAre(StatusIs(absl::StatusCode::kUnavailable)));
  EXPECT_LT(took, absl::Milliseconds(1000));
}

TEST_F(RegistryDirectoryTest, LargeLookupsAreChunkedByAThousand) {
  RegistryDirectory& directory = MakeDirectory();
  std::vector<std::string> codes;
  for (int n = 0; n < 2500; ++n) codes.push_back(CodeN(n));
  auto results = directory.Lookup(codes);
  EXPECT_THAT(results, Each(InfoIs(EnterpriseInfo{})));
  EXPECT_THAT(fake_.batch_sizes(), ElementsAre(1000, 1000, 500));
}

TEST_F(RegistryDirectoryTest, StartRebuildsFromTheExportWhenTheCacheCannotBeLoaded) {
  for (int n = 1; n <= 10; ++n) fake_.Create(n);
  fake_.Archive(4);
  RegistryDirectory& directory = MakeDirectory();
  IPLUS_ASSERT_OK(directory.Start());
  ASSERT_TRUE(Eventually([&] { return directory.version() == fake_.version(); }, absl::Seconds(5)));
  EXPECT_EQ(directory.size(), 10u);
  EXPECT_EQ(fake_.export_calls(), 1);

  auto results = directory.Lookup({CodeN(4), CodeN(5)});
  EXPECT_THAT(results, ElementsAre(InfoIs(Known("440103", "C26", true)),
                                   InfoIs(Known("440103", "C26", false))));
  EXPECT_EQ(fake_.batch_get_calls(), 0);
  EXPECT_EQ(GaugeValue(metrics_, "iplus_ingest_registry_cache_version"), fake_.version());
}

TEST_F(RegistryDirectoryTest, TheFollowerAppliesEnterpriseEventsAndSkipsLinkEvents) {
  fake_.Create(1);
  RegistryDirectory& directory = MakeDirectory();
  IPLUS_ASSERT_OK(directory.Start());
  ASSERT_TRUE(Eventually([&] { return directory.version() == fake_.version(); }, absl::Seconds(5)));

  fake_.Create(2, "C34");
  fake_.Archive(1);
  fake_.Link(1, 2);
  ASSERT_TRUE(Eventually([&] { return directory.version() == fake_.version(); }, absl::Seconds(5)));
  const int calls = fake_.batch_get_calls();
  EXPECT_THAT(fake_.batch_sizes(), Each(Le(1000)));
  EXPECT_THAT(
      directory.Lookup({CodeN(1), CodeN(2)}),
      ElementsAre(InfoIs(Known("440103", "C26", true)), InfoIs(Known("440103", "C34", false))));
  EXPECT_EQ(fake_.batch_get_calls(), calls);  // both answered from memory
}

TEST_F(RegistryDirectoryTest, TruncatedEventsTriggerARebuild) {
  for (int n = 1; n <= 5; ++n) fake_.Create(n);
  RegistryDirectory& directory = MakeDirectory();
  directory.SyncNow().IgnoreError();  // Redis is down: only the Redis part fails
  ASSERT_EQ(directory.version(), fake_.version());
  EXPECT_EQ(fake_.export_calls(), 0);

  for (int n = 6; n <= 20; ++n) fake_.Create(n);
  for (int n = 1; n <= 20; n += 3) fake_.Archive(n);
  fake_.Trim(3);
  directory.SyncNow().IgnoreError();
  EXPECT_EQ(fake_.export_calls(), 1);
  EXPECT_EQ(directory.version(), fake_.version());
  EXPECT_EQ(directory.size(), 20u);
  for (const auto& [code, e] : fake_.enterprises()) {
    EXPECT_THAT(directory.Lookup({code}), ElementsAre(InfoIs(Known("440103", "C26", e.archived()))))
        << code;
  }
}

TEST_F(RegistryDirectoryTest, ARegistryWhoseVersionWentBackIsReExported) {
  for (int n = 1; n <= 5; ++n) fake_.Create(n);
  RegistryDirectory& directory = MakeDirectory();
  directory.SyncNow().IgnoreError();
  ASSERT_EQ(directory.size(), 5u);

  fake_.Reset();
  fake_.Create(9);
  directory.SyncNow().IgnoreError();
  EXPECT_EQ(fake_.export_calls(), 1);
  EXPECT_EQ(directory.version(), 1);
  EXPECT_EQ(directory.size(), 1u);
}

TEST_F(RegistryDirectoryTest, StopCancelsACallInFlight) {
  options_.rpc_timeout = absl::Seconds(30);
  RegistryDirectory& directory = MakeDirectory();
  fake_.set_delay(absl::Seconds(30));
  IPLUS_ASSERT_OK(directory.Start());
  absl::SleepFor(absl::Milliseconds(100));  // the follower is now waiting on the registry
  const absl::Time start = absl::Now();
  directory.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  fake_.set_delay(absl::ZeroDuration());
}

TEST_F(RegistryDirectoryTest, StartTwiceIsRefused) {
  RegistryDirectory& directory = MakeDirectory();
  IPLUS_ASSERT_OK(directory.Start());
  EXPECT_THAT(directory.Start(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace iplus::ingest
