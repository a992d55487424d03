#pragma once

// Loads a generated data set into a running registry and ingestion service through gRPC:
// enterprises with BatchCreateEnterprises (several calls in flight), then observations
// over several StreamObservations streams, each keeping a window of batches in flight.
//
// Loading the same data set again is a no-op: creation is idempotent on the credit code
// (an identical enterprise comes back created=false) and report ids are derived from the
// rows (a resend comes back DUPLICATE). Batches acknowledged UNAVAILABLE and items
// rejected as retryable (e.g. REGISTRY_UNAVAILABLE) are sent again after a pause, up to
// max_attempts times.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/datagen/datagen.h"
#include "grpcpp/grpcpp.h"

namespace iplus::datagen {

struct LoadOptions {
  // Enterprises per BatchCreateEnterprises call (1..1000) and calls in flight.
  int enterprise_batch = 1000;
  int enterprise_concurrency = 4;
  // Concurrent StreamObservations streams (each on its own connection), observations per
  // batch (1..5000) and unacknowledged batches per stream.
  int streams = 8;
  int observation_batch = 1000;
  int window = 2;
  // Deadline of each unary call; a stream has no deadline.
  absl::Duration call_deadline = absl::Seconds(120);
  // Sends of one batch or item before giving up, and the pause before a resend.
  int max_attempts = 8;
  absl::Duration retry_pause = absl::Milliseconds(500);
  // Metadata sent with every call, e.g. {"authorization", "Bearer ..."}.
  std::vector<std::pair<std::string, std::string>> metadata;
  // Called now and then from loader threads with the items done so far and the total
  // (the observation total is unknown before the end: 0).
  std::function<void(int64_t done, int64_t total)> progress;
};

// OK, or INVALID_ARGUMENT naming the field.
absl::Status ValidateLoadOptions(const LoadOptions& options);

// A channel to the target; `index` distinguishes channels that must not share a
// connection (pass it into a channel argument).
using ChannelFactory = std::function<std::shared_ptr<grpc::Channel>(int index)>;

// Insecure channels to `target`, one TCP connection per index.
ChannelFactory InsecureChannels(const std::string& target);
// Channels to `target` with the given credentials, one TCP connection per index.
ChannelFactory ChannelsWith(const std::string& target,
                            std::shared_ptr<grpc::ChannelCredentials> credentials);

struct EnterpriseLoadStats {
  int64_t created = 0;
  int64_t existing = 0;  // identical enterprise already registered
  double seconds = 0;
};

// Registers every enterprise of `gen`. Fails on the first item that is neither created nor
// identical to the registered one (e.g. ALREADY_EXISTS: another data set was loaded), or a
// call that fails max_attempts times.
absl::StatusOr<EnterpriseLoadStats> LoadEnterprises(const ChannelFactory& registry,
                                                    const Generator& gen,
                                                    const LoadOptions& options);

struct ObservationLoadStats {
  int64_t observations = 0;  // distinct observations generated and sent
  int64_t accepted = 0;
  int64_t duplicate = 0;
  int64_t revised = 0;
  int64_t rejected = 0;  // finally, after the retries
  int64_t resent = 0;    // items sent again (batch UNAVAILABLE or retryable reject)
  int64_t batches = 0;   // acknowledged batches, resends included
  double seconds = 0;
  std::vector<int64_t> batch_latency_ns;  // Write to acknowledgement, sorted
  std::vector<std::string> first_rejections;
};

// Streams every observation of `gen` to ingestion. Fails when a stream breaks or a batch
// stays UNAVAILABLE; rejected observations are counted (with the first few reasons in
// first_rejections), not an error: callers decide.
absl::StatusOr<ObservationLoadStats> LoadObservations(const ChannelFactory& ingest,
                                                      const Generator& gen,
                                                      const LoadOptions& options);

}  // namespace iplus::datagen
