#pragma once

// The one server bootstrap every iplus service uses: listening port, the standard
// grpc.health.v1 service driven by a readiness probe, server reflection, keepalive and
// message-size limits, the metrics interceptor, the /metrics endpoint, authentication,
// authorization, rate limits and the audit hook of every service added
// (common/grpc/auth_gate.h), and a graceful drain on shutdown.

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/grpc/auth_gate.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"

namespace iplus::metrics {
class Registry;
class Exposer;
}  // namespace iplus::metrics

namespace iplus {

namespace internal {
class CallCounter;
}  // namespace internal

struct ServerOptions {
  // Service name for logs and iplus_build_info, e.g. "registry".
  std::string service_name;
  std::string version = "0.1.0";
  // host:port; port 0 picks a free port (see Server::grpc_port()).
  std::string grpc_address = "127.0.0.1:0";
  // host:port for the plain-HTTP /metrics endpoint; empty disables it.
  std::string metrics_address = "127.0.0.1:0";
  // Null means plaintext.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  int max_message_bytes = 32 * 1024 * 1024;
  absl::Duration keepalive_time = absl::Seconds(30);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // How long Shutdown() lets in-flight calls finish before cancelling them. Connections
  // with no call in flight are not waited for (see Server::Shutdown).
  absl::Duration drain_timeout = absl::Seconds(10);
  // How often the readiness probe runs.
  absl::Duration probe_interval = absl::Milliseconds(250);
  // Bearer tokens (or explicitly none), rate limits and the policy table. Start()
  // refuses to serve with neither a token file nor allow_unauthenticated.
  AuthOptions auth;
};

// Lifecycle: construct, AddService..., SetReadinessProbe, Start, then Shutdown (or
// RunUntilSignal). Services added must outlive the Server. Not copyable.
class Server {
 public:
  // `registry` receives the gRPC series and build info; it must outlive the server.
  Server(ServerOptions options, std::shared_ptr<metrics::Registry> registry);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // `full_name` is the service's proto name (e.g. "iplus.registry.v1.RegistryService"),
  // under which the health service reports it too. Every method of the service is
  // guarded: authenticated, rate limited, authorized by the policy table and, when
  // mutating, audited. REQUIRES: before Start.
  void AddService(grpc::Service* service, std::string full_name);

  // Where mutating calls are recorded (e.g. common/audit's Redis stream); null: nowhere.
  // `sink` must outlive the server. REQUIRES: before Start.
  void SetAuditSink(AuditSink* sink) { audit_sink_ = sink; }

  // Called every probe_interval; OK means SERVING. Typically pings Redis. Without a probe
  // the server is SERVING once started.
  void SetReadinessProbe(std::function<absl::Status()> probe);

  // Binds the ports and starts serving. FAILED_PRECONDITION if a port cannot be bound;
  // INVALID_ARGUMENT or the token file's error when authentication is misconfigured
  // (see AuthOptions).
  absl::Status Start();

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const;
  bool serving() const;

  // Marks every service NOT_SERVING, stops accepting calls, lets in-flight calls finish
  // within drain_timeout, then cancels what remains. Returns soon after no call is in
  // flight any more: connections of clients that have not read the shutdown notice yet
  // (an idle client may not read it for seconds) are closed then, not waited for.
  // Idempotent; thread-safe.
  void Shutdown();

  // Blocks until SIGTERM or SIGINT, then Shutdown(). REQUIRES: BlockTerminationSignals()
  // was called at the start of main, before any thread was created.
  void RunUntilSignal();

 private:
  void ProbeLoop();
  void SetServing(bool serving);
  // Runs while Shutdown waits for gRPC's: closes the connections left once no call has
  // been in flight for a moment.
  void CloseIdleConnections();

  ServerOptions options_;
  std::shared_ptr<metrics::Registry> registry_;
  std::vector<grpc::Service*> services_;
  std::vector<std::string> service_names_;
  std::function<absl::Status()> probe_;
  AuditSink* audit_sink_ = nullptr;
  // Declared before server_, so that they outlive it.
  std::unique_ptr<internal::CallCounter> calls_;
  std::unique_ptr<internal::AuthGate> gate_;
  std::vector<std::unique_ptr<grpc::Service>> guarded_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<metrics::Exposer> exposer_;
  int grpc_port_ = 0;
  std::thread probe_thread_;
  absl::Notification stop_probe_;
  mutable absl::Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

// Blocks SIGTERM and SIGINT in the calling thread and every thread it creates later, so
// that Server::RunUntilSignal can receive them with sigwait.
void BlockTerminationSignals();

}  // namespace iplus
