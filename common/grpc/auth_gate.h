#pragma once

// Authentication, authorization, rate limits and the audit hook of every iplus gRPC
// service, applied by the server bootstrap (common/grpc/server.h) before any handler
// runs:
//
//   1. authentication: the `authorization: Bearer <token>` metadata is mapped to a
//      principal by the token file (common/auth/token_store.h); missing or unknown is
//      UNAUTHENTICATED. With allow_unauthenticated and no token file every caller is the
//      anonymous admin (local use only).
//   2. rate limit: one token from the principal's bucket (common/auth/rate_limit.h;
//      none for the anonymous admin, who stands for every caller);
//      an empty bucket is RESOURCE_EXHAUSTED with the retry delay in the trailers
//      (`retry-delay-ms`, and google.rpc.RetryInfo in grpc-status-details-bin), counted
//      in iplus_rate_limited_total{role,grpc_service,grpc_method}.
//   3. authorization: the method's row in the policy table (common/auth/policy.h) must
//      allow the role; a method without a row is PERMISSION_DENIED (fail closed).
//   4. the handler runs; it reads the principal with CurrentPrincipal(context) and narrows the
//      call to the principal's regions and funds (common/auth/scope.h).
//   5. audit: a mutating call (allowed, or refused at step 3 or by the handler) is given
//      to the AuditSink with the principal, role, method, object and status code.
//      Unauthenticated and throttled calls are not audited (they are counted by the
//      gRPC and rate-limit metrics), so that a flood cannot push real records out of the
//      capped stream.
//
// The standard health and reflection services are registered by gRPC itself, not
// through Server::AddService, and stay open.
//
// How: gRPC C++ server interceptors cannot refuse a call, so Server registers, in place
// of each service, a proxy service with the same methods whose handlers run steps 1-3
// and 5 around the original handler (which the original service keeps owning). A small
// interceptor captures the status each call sends, for the audit record.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/auth.h"
#include "common/auth/policy.h"
#include "common/auth/rate_limit.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"

namespace iplus::metrics {
class Registry;
}

namespace iplus {

struct AuthOptions {
  // The token file (format in common/auth/auth.h), reloaded when it changes.
  std::string token_file;
  absl::Duration token_check_interval = absl::Seconds(1);
  // Without a token file: serve every caller as the anonymous admin. Exactly one of
  // token_file and allow_unauthenticated must be set, or the server refuses to start.
  bool allow_unauthenticated = false;
  auth::RateLimits rate_limits = auth::DefaultRateLimits();
  // Null: auth::DefaultPolicy().
  const auth::Policy* policy = nullptr;
};

// The principal of every caller when authentication is off.
const auth::Principal& AnonymousAdmin();

// The principal of the call `context` belongs to, while its handler runs. A context
// that did not come through a guarded server yields a principal with no role rights
// and no regions, so that every region, enterprise and fund check refuses it.
const auth::Principal& CurrentPrincipal(const grpc::ServerContextBase* context);

// One audited call.
struct AuditEvent {
  absl::Time time;
  std::string principal;
  std::string role;
  std::string method;  // full gRPC method name
  std::string object;
  grpc::StatusCode code = grpc::StatusCode::OK;
};

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Called on the handler's thread after the call's status was sent. Must not throw.
  virtual void Record(const AuditEvent& event) = 0;
};

namespace internal {

// Used by Server: the state shared by the proxies of one server.
class AuthGate {
 public:
  // INVALID_ARGUMENT when neither or both of token_file and allow_unauthenticated are
  // set; the token file's load error (FAILED_PRECONDITION, INVALID_ARGUMENT) otherwise.
  // `metrics` must outlive the gate.
  static absl::StatusOr<std::unique_ptr<AuthGate>> Create(const AuthOptions& options,
                                                          metrics::Registry& metrics);
  ~AuthGate();

  // The proxy to register in place of `service` (which must outlive it): a service with
  // the same methods, each guarded. `full_name` is the proto service name.
  // INVALID_ARGUMENT if the service is unknown to the generated descriptor pool or has
  // methods that are not synchronous.
  absl::StatusOr<std::unique_ptr<grpc::Service>> Guard(grpc::Service* service,
                                                       const std::string& full_name);

  // Where audited calls go; may be null. REQUIRES: before the server starts.
  void SetAuditSink(AuditSink* sink);

  // Captures the status each call sends (for the audit record).
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

  class Impl;

 private:
  explicit AuthGate(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace internal
}  // namespace iplus
