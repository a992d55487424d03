#pragma once

// Connections of iplusctl to the services: addresses, transport security and the bearer
// token, from flags or IPLUS_* environment variables.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "tools/iplusctl/args.h"

namespace iplus::ctl {

inline constexpr int kRegistryPort = 50051;
inline constexpr int kIngestPort = 50052;
inline constexpr int kEvaluationPort = 50053;
inline constexpr int kFundsPort = 50054;

enum class Service { kRegistry, kIngest, kEvaluation, kFunds };

struct ConnectionOptions {
  std::string registry;  // host:port
  std::string ingest;
  std::string evaluation;
  std::string funds;
  bool plaintext = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string token_file;
  absl::Duration timeout = absl::Seconds(30);
};

// The options from parsed flags (already merged with the environment). An address is
// --registry (etc.), else --host with the service's default port, else localhost.
// INVALID_ARGUMENT naming the flag for a malformed value.
absl::StatusOr<ConnectionOptions> ConnectionFromArgs(const ParsedArgs& args);

class Client {
 public:
  explicit Client(ConnectionOptions options) : options_(std::move(options)) {}

  const ConnectionOptions& options() const { return options_; }

  // A channel to `service` (one per service, created on first use). FAILED_PRECONDITION
  // naming the flag when a TLS or token file cannot be read.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Channel(Service service);

  // Prepares `context` for one call: the deadline (none when `deadline` is false, for
  // long streams) and the authorization header.
  void Prepare(grpc::ClientContext* context, bool deadline = true);

 private:
  absl::Status LoadToken();

  ConnectionOptions options_;
  std::shared_ptr<grpc::Channel> channels_[4];
  bool token_loaded_ = false;
  std::string header_;
};

}  // namespace iplus::ctl
