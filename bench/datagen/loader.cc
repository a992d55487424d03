#include "bench/datagen/loader.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/status/status.h"
#include "iplus/ingest/v1/ingest.grpc.pb.h"
#include "iplus/registry/v1/registry.grpc.pb.h"

namespace iplus::datagen {
namespace {

namespace iv1 = ::iplus::ingest::v1;
namespace rv1 = ::iplus::registry::v1;
using Clock = std::chrono::steady_clock;

constexpr int kMaxShownRejections = 5;

void Prepare(grpc::ClientContext* ctx, const LoadOptions& options, bool deadline) {
  for (const auto& [k, v] : options.metadata) ctx->AddMetadata(k, v);
  if (deadline) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      absl::ToChronoNanoseconds(options.call_deadline));
  }
}

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

std::string Uuid(std::mt19937_64& rng) {
  uint64_t a = rng(), b = rng();
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                         0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffULL);
}

void ToProto(const Enterprise& e, rv1::Enterprise* p) {
  p->set_code(e.code);
  p->set_name(e.name);
  p->set_region(e.region);
  p->set_industry(e.industry);
  p->set_kind(e.kind);
  p->set_ownership(e.ownership);
  p->set_size(e.size);
  p->set_key_enterprise(e.key);
}

void ToProto(const Observation& o, iv1::Observation* p) {
  p->set_report_id(o.report_id);
  p->set_enterprise_code(o.enterprise_code);
  p->set_indicator(Indicators()[o.indicator].id);
  p->set_period(o.period());
  if (o.boolean()) {
    p->set_bool_value(o.bool_value);
  } else {
    p->set_number_value(o.number_value);
  }
}

ChannelFactory Channels(const std::string& target,
                        std::shared_ptr<grpc::ChannelCredentials> credentials) {
  return [target, credentials](int index) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("iplus.datagen.channel", index);
    args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
    return grpc::CreateCustomChannel(target, credentials, args);
  };
}

}  // namespace

absl::Status ValidateLoadOptions(const LoadOptions& o) {
  if (o.enterprise_batch < 1 || o.enterprise_batch > 1000) {
    return InvalidField("enterprise_batch", "must be between 1 and 1000");
  }
  if (o.enterprise_concurrency < 1 || o.enterprise_concurrency > 256) {
    return InvalidField("enterprise_concurrency", "must be between 1 and 256");
  }
  if (o.streams < 1 || o.streams > 256) return InvalidField("streams", "must be between 1 and 256");
  if (o.observation_batch < 1 || o.observation_batch > 5000) {
    return InvalidField("observation_batch", "must be between 1 and 5000");
  }
  if (o.window < 1 || o.window > 1000) return InvalidField("window", "must be between 1 and 1000");
  if (o.max_attempts < 1) return InvalidField("max_attempts", "must be at least 1");
  if (o.call_deadline <= absl::ZeroDuration()) {
    return InvalidField("call_deadline", "must be positive");
  }
  return absl::OkStatus();
}

ChannelFactory InsecureChannels(const std::string& target) {
  return Channels(target, grpc::InsecureChannelCredentials());
}

ChannelFactory ChannelsWith(const std::string& target,
                            std::shared_ptr<grpc::ChannelCredentials> credentials) {
  return Channels(target, std::move(credentials));
}

// ---------------------------------------------------------------------------------------

absl::StatusOr<EnterpriseLoadStats> LoadEnterprises(const ChannelFactory& registry,
                                                    const Generator& gen,
                                                    const LoadOptions& options) {
  if (absl::Status s = ValidateLoadOptions(options); !s.ok()) return s;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> created{0}, existing{0};
  std::atomic<bool> failed{false};
  absl::Mutex mu;
  absl::Status first_error;
  const Clock::time_point start = Clock::now();
  std::random_device device;
  const uint64_t salt = (static_cast<uint64_t>(device()) << 32) ^ device();

  auto fail = [&](absl::Status s) {
    absl::MutexLock lock(&mu);
    if (first_error.ok()) first_error = std::move(s);
    failed = true;
  };

  std::vector<std::thread> workers;
  for (int w = 0; w < options.enterprise_concurrency; ++w) {
    workers.emplace_back([&, w] {
      auto stub = rv1::RegistryService::NewStub(registry(w));
      std::mt19937_64 rng(salt + static_cast<uint64_t>(w));
      while (!failed) {
        const int64_t first = next.fetch_add(options.enterprise_batch);
        if (first >= gen.size()) break;
        const int64_t end = std::min(gen.size(), first + options.enterprise_batch);
        rv1::BatchCreateEnterprisesRequest req;
        req.set_request_id(Uuid(rng));
        for (int64_t i = first; i < end; ++i) {
          ToProto(gen.EnterpriseAt(i), req.add_requests()->mutable_enterprise());
        }
        rv1::BatchCreateEnterprisesResponse resp;
        grpc::Status status;
        for (int attempt = 1;; ++attempt) {
          grpc::ClientContext ctx;
          Prepare(&ctx, options, true);
          resp.Clear();
          status = stub->BatchCreateEnterprises(&ctx, req, &resp);
          if (status.ok() || !Retryable(status.error_code()) || attempt >= options.max_attempts) {
            break;
          }
          absl::SleepFor(options.retry_pause);
        }
        if (!status.ok()) {
          fail(absl::UnavailableError(absl::StrCat("BatchCreateEnterprises: ", status.error_code(),
                                                   " ", status.error_message())));
          break;
        }
        if (resp.results_size() != req.requests_size()) {
          fail(absl::InternalError("BatchCreateEnterprises: wrong number of results"));
          break;
        }
        for (int j = 0; j < resp.results_size(); ++j) {
          const auto& r = resp.results(j);
          if (r.status().code() != 0) {
            fail(absl::FailedPreconditionError(
                absl::StrCat("enterprise ", req.requests(j).enterprise().code(), " (index ",
                             first + j, "): code ", r.status().code(), " ", r.status().message())));
            break;
          }
          (r.created() ? created : existing)++;
        }
        if (options.progress) options.progress(created + existing, gen.size());
      }
    });
  }
  for (auto& t : workers) t.join();
  if (!first_error.ok()) return first_error;
  EnterpriseLoadStats stats;
  stats.created = created;
  stats.existing = existing;
  stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return stats;
}

// ---------------------------------------------------------------------------------------

namespace {

struct Batch {
  std::shared_ptr<iv1::StreamObservationsRequest> request;
  int attempts = 0;
  Clock::time_point not_before;
  Clock::time_point sent;
};

struct StreamResult {
  ObservationLoadStats stats;
  absl::Status status;
};

StreamResult RunStream(const ChannelFactory& ingest, const Generator& gen,
                       const LoadOptions& options, int s, std::atomic<int64_t>* done) {
  StreamResult out;
  ObservationLoadStats& st = out.stats;
  auto stub = iv1::IngestService::NewStub(ingest(s));
  grpc::ClientContext ctx;
  Prepare(&ctx, options, false);
  auto stream = stub->StreamObservations(&ctx);

  std::mutex mu;
  std::condition_variable cv;
  std::map<int64_t, Batch> in_flight;
  std::deque<Batch> resend;
  bool generated_all = false;
  bool reader_done = false;
  absl::Status error;  // guarded by mu

  std::thread writer([&] {
    int64_t next_enterprise = s;
    int64_t next_id = 0;
    std::vector<Observation> pending;  // generated, not yet batched
    size_t pending_pos = 0;
    for (;;) {
      std::optional<Batch> job;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] {
          const bool room = static_cast<int>(in_flight.size()) < options.window;
          return reader_done || !error.ok() || (room && (!resend.empty() || !generated_all)) ||
                 (generated_all && resend.empty() && in_flight.empty());
        });
        if (reader_done || !error.ok()) break;
        if (!resend.empty()) {
          job = std::move(resend.front());
          resend.pop_front();
        } else if (generated_all) {
          break;  // nothing in flight, nothing to resend
        }
      }
      if (!job) {
        auto req = std::make_shared<iv1::StreamObservationsRequest>();
        while (req->observations_size() < options.observation_batch) {
          if (pending_pos == pending.size()) {
            if (next_enterprise >= gen.size()) break;
            pending.clear();
            pending_pos = 0;
            gen.AppendObservations(gen.EnterpriseAt(next_enterprise), &pending);
            next_enterprise += options.streams;
            continue;
          }
          ToProto(pending[pending_pos++], req->add_observations());
        }
        if (req->observations_size() == 0) {
          std::lock_guard<std::mutex> lock(mu);
          generated_all = true;
          continue;
        }
        st.observations += req->observations_size();
        job = Batch{std::move(req), 0, Clock::now(), {}};
      }
      std::this_thread::sleep_until(job->not_before);
      const int64_t id = next_id++;
      job->request->set_batch_id(id);
      ++job->attempts;
      auto request = job->request;
      {
        std::lock_guard<std::mutex> lock(mu);
        job->sent = Clock::now();
        in_flight.emplace(id, std::move(*job));
      }
      if (!stream->Write(*request)) break;
    }
    stream->WritesDone();
  });

  iv1::StreamObservationsResponse ack;
  int64_t acks = 0;
  while (stream->Read(&ack)) {
    std::unique_lock<std::mutex> lock(mu);
    auto it = in_flight.find(ack.batch_id());
    if (it == in_flight.end()) {
      error =
          absl::InternalError(absl::StrCat("acknowledgement of unknown batch ", ack.batch_id()));
      break;
    }
    Batch batch = std::move(it->second);
    in_flight.erase(it);
    ++st.batches;
    st.batch_latency_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - batch.sent).count());
    const auto& req = *batch.request;
    if (ack.status().code() != 0) {
      if (ack.status().code() == grpc::StatusCode::UNAVAILABLE &&
          batch.attempts < options.max_attempts) {
        st.resent += req.observations_size();
        batch.not_before = Clock::now() + absl::ToChronoNanoseconds(options.retry_pause);
        resend.push_back(std::move(batch));
        cv.notify_all();
        continue;
      }
      error =
          absl::UnavailableError(absl::StrCat("stream ", s, ": batch failed with code ",
                                              ack.status().code(), ": ", ack.status().message()));
      break;
    }
    if (ack.results_size() != req.observations_size()) {
      error =
          absl::InternalError(absl::StrCat("stream ", s, ": ", ack.results_size(), " results for ",
                                           req.observations_size(), " observations"));
      break;
    }
    auto retry = std::make_shared<iv1::StreamObservationsRequest>();
    int64_t finished = 0;
    for (const auto& r : ack.results()) {
      switch (r.outcome()) {
        case iv1::OUTCOME_ACCEPTED:
          ++st.accepted;
          ++finished;
          continue;
        case iv1::OUTCOME_DUPLICATE:
          ++st.duplicate;
          ++finished;
          continue;
        case iv1::OUTCOME_REVISED:
          ++st.revised;
          ++finished;
          continue;
        default:
          break;
      }
      if (r.retryable() && batch.attempts < options.max_attempts) {
        *retry->add_observations() = req.observations(r.index());
        continue;
      }
      ++st.rejected;
      ++finished;
      if (st.first_rejections.size() < kMaxShownRejections) {
        const auto& o = req.observations(r.index());
        st.first_rejections.push_back(absl::StrCat(o.enterprise_code(), " ", o.indicator(), " ",
                                                   o.period(), ": ", iv1::Outcome_Name(r.outcome()),
                                                   " ", iv1::RejectReason_Name(r.reject_reason()),
                                                   " field \"", r.field(), "\": ", r.message()));
      }
    }
    if (retry->observations_size() > 0) {
      st.resent += retry->observations_size();
      resend.push_back(Batch{retry,
                             batch.attempts,
                             Clock::now() + absl::ToChronoNanoseconds(options.retry_pause),
                             {}});
    }
    cv.notify_all();
    lock.unlock();
    const int64_t total_done = done->fetch_add(finished) + finished;
    if (options.progress && ++acks % 100 == 0) options.progress(total_done, 0);
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    reader_done = true;
    if (error.ok() && (!in_flight.empty() || !resend.empty() || !generated_all)) {
      error = absl::UnavailableError(absl::StrCat("stream ", s, " ended early"));
    }
  }
  cv.notify_all();
  if (!error.ok()) ctx.TryCancel();
  writer.join();
  grpc::Status finish = stream->Finish();
  out.status = error;
  if (out.status.ok() && !finish.ok()) {
    out.status = absl::UnavailableError(
        absl::StrCat("stream ", s, ": ", finish.error_code(), " ", finish.error_message()));
  }
  return out;
}

}  // namespace

absl::StatusOr<ObservationLoadStats> LoadObservations(const ChannelFactory& ingest,
                                                      const Generator& gen,
                                                      const LoadOptions& options) {
  if (absl::Status s = ValidateLoadOptions(options); !s.ok()) return s;
  const Clock::time_point start = Clock::now();
  std::atomic<int64_t> done{0};
  std::vector<StreamResult> results(options.streams);
  std::vector<std::thread> threads;
  for (int s = 0; s < options.streams; ++s) {
    threads.emplace_back([&, s] { results[s] = RunStream(ingest, gen, options, s, &done); });
  }
  for (auto& t : threads) t.join();
  ObservationLoadStats total;
  for (auto& r : results) {
    if (!r.status.ok()) return r.status;
    total.observations += r.stats.observations;
    total.accepted += r.stats.accepted;
    total.duplicate += r.stats.duplicate;
    total.revised += r.stats.revised;
    total.rejected += r.stats.rejected;
    total.resent += r.stats.resent;
    total.batches += r.stats.batches;
    total.batch_latency_ns.insert(total.batch_latency_ns.end(), r.stats.batch_latency_ns.begin(),
                                  r.stats.batch_latency_ns.end());
    for (auto& p : r.stats.first_rejections) {
      if (total.first_rejections.size() < kMaxShownRejections) total.first_rejections.push_back(p);
    }
  }
  std::sort(total.batch_latency_ns.begin(), total.batch_latency_ns.end());
  total.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return total;
}

}  // namespace iplus::datagen
