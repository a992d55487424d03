#include "common/grpc/auth_gate.h"

#include <array>
#include <atomic>
#include <deque>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/auth/token_store.h"
#include "common/clock/clock.h"
#include "common/grpc/status.h"
#include "common/log/log.h"
#include "common/metrics/counter.h"
#include "common/metrics/family.h"
#include "common/metrics/registry.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/impl/rpc_service_method.h"
#include "grpcpp/support/method_handler.h"

namespace iplus {
namespace {

using grpc::internal::MethodHandler;
using grpc::internal::RpcMethod;
using grpc::internal::RpcServiceMethod;

// Reads a service's handler (grpc::Service::GetHandler is protected): naming the member
// through a derived class yields a pointer to the base's member, usable on any service.
struct ServiceAccess : grpc::Service {
  static MethodHandler* Handler(grpc::Service* service, int index) {
    return (service->*(&ServiceAccess::GetHandler))(index);
  }
};

// What a handler may learn about its call while it runs, and the status it sent.
struct CallState {
  const auth::Principal* principal = nullptr;
  int code = -1;  // the grpc::StatusCode sent, -1 until the status goes out
};

// Call states by server context, for CurrentPrincipal and the status interceptor. Sharded by
// pointer so that concurrent calls rarely share a lock.
class CallRegistry {
 public:
  void Insert(const grpc::ServerContextBase* ctx, CallState* state) {
    Shard& s = ShardOf(ctx);
    absl::MutexLock lock(&s.mu);
    s.calls[ctx] = state;
  }
  void Erase(const grpc::ServerContextBase* ctx) {
    Shard& s = ShardOf(ctx);
    absl::MutexLock lock(&s.mu);
    s.calls.erase(ctx);
  }
  const auth::Principal* Principal(const grpc::ServerContextBase* ctx) {
    Shard& s = ShardOf(ctx);
    absl::MutexLock lock(&s.mu);
    auto it = s.calls.find(ctx);
    return it == s.calls.end() ? nullptr : it->second->principal;
  }
  void SetCode(const grpc::ServerContextBase* ctx, int code) {
    Shard& s = ShardOf(ctx);
    absl::MutexLock lock(&s.mu);
    auto it = s.calls.find(ctx);
    if (it != s.calls.end()) it->second->code = code;
  }
  int Code(const grpc::ServerContextBase* ctx) {
    Shard& s = ShardOf(ctx);
    absl::MutexLock lock(&s.mu);
    auto it = s.calls.find(ctx);
    return it == s.calls.end() ? -1 : it->second->code;
  }

 private:
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<const grpc::ServerContextBase*, CallState*> calls ABSL_GUARDED_BY(mu);
  };
  Shard& ShardOf(const grpc::ServerContextBase* ctx) {
    return shards_[(reinterpret_cast<uintptr_t>(ctx) >> 6) % shards_.size()];
  }
  std::array<Shard, 16> shards_;
};

CallRegistry& Calls() {
  static auto* registry = new CallRegistry();
  return *registry;
}

// The principal of a context that did not come through a guarded server.
const auth::Principal& Nobody() {
  static const auto* p = [] {
    auto* nobody = new auth::Principal();
    nobody->name = "";
    nobody->role = auth::Role::kViewer;
    nobody->all_regions = false;
    nobody->all_funds = false;
    return nobody;
  }();
  return *p;
}

RpcMethod::RpcType TypeOf(const google::protobuf::MethodDescriptor& m) {
  if (m.client_streaming() && m.server_streaming()) return RpcMethod::BIDI_STREAMING;
  if (m.client_streaming()) return RpcMethod::CLIENT_STREAMING;
  if (m.server_streaming()) return RpcMethod::SERVER_STREAMING;
  return RpcMethod::NORMAL_RPC;
}

// The value of one dotted field path of `message`, "" when unset; a repeated field
// (anywhere on the path) is recorded as its size.
std::string FieldText(const google::protobuf::Message& message, absl::string_view path) {
  const google::protobuf::Message* m = &message;
  std::vector<absl::string_view> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto* field = m->GetDescriptor()->FindFieldByName(std::string(parts[i]));
    if (field == nullptr) return "";
    const auto* reflection = m->GetReflection();
    if (field->is_repeated()) {
      return absl::StrCat(reflection->FieldSize(*m, field), " items");
    }
    if (i + 1 < parts.size()) {
      if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) return "";
      m = &reflection->GetMessage(*m, field);
      continue;
    }
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_STRING) return "";
    return reflection->GetString(*m, field);
  }
  return "";
}

std::string ObjectOf(const google::protobuf::Message& request, const std::string& spec) {
  if (spec.empty()) return "";
  std::vector<std::string> values;
  for (absl::string_view path : absl::StrSplit(spec, ',')) {
    values.push_back(FieldText(request, path));
  }
  return absl::StrJoin(values, ",");
}

}  // namespace

const auth::Principal& AnonymousAdmin() {
  static const auto* p = [] {
    auto* anonymous = new auth::Principal();
    anonymous->name = "anonymous";
    anonymous->role = auth::Role::kAdmin;
    anonymous->all_regions = true;
    anonymous->all_funds = true;
    return anonymous;
  }();
  return *p;
}

const auth::Principal& CurrentPrincipal(const grpc::ServerContextBase* context) {
  const auth::Principal* p = Calls().Principal(context);
  return p != nullptr ? *p : Nobody();
}

namespace internal {

class AuthGate::Impl {
 public:
  Impl(const AuthOptions& options, std::unique_ptr<auth::TokenStore> tokens,
       metrics::Registry& metrics)
      : options_(options),
        policy_(options.policy != nullptr ? options.policy : &auth::DefaultPolicy()),
        tokens_(std::move(tokens)),
        limiter_(options.rate_limits, &clock_),
        throttled_(metrics::BuildCounter()
                       .Name("iplus_rate_limited_total")
                       .Help("Calls refused with RESOURCE_EXHAUSTED by the per-principal rate "
                             "limit, by the caller's role and the method.")
                       .Register(metrics)) {}

  // The outcome of steps 1-3 for one call.
  struct Admission {
    grpc::Status status;
    auth::Principal principal;
    bool authenticated = false;
    bool throttled = false;
    absl::Duration retry_delay;
  };

  Admission Admit(const grpc::ServerContextBase* ctx, const std::string& method,
                  const auth::MethodRule* rule) {
    Admission a;
    if (tokens_ == nullptr) {
      a.principal = AnonymousAdmin();
    } else {
      absl::string_view header;
      const auto& metadata = ctx->client_metadata();
      auto it = metadata.find("authorization");
      if (it != metadata.end()) header = absl::string_view(it->second.data(), it->second.size());
      auto principal = tokens_->Authenticate(header);
      if (!principal.ok()) {
        // The status message never carries the header's value.
        a.status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                std::string(principal.status().message()));
        return a;
      }
      a.principal = *std::move(principal);
    }
    a.authenticated = true;
    // Without authentication every caller is the same anonymous principal, so a limit
    // per principal would throttle all callers together: there is none then.
    absl::Duration wait = tokens_ == nullptr ? absl::ZeroDuration()
                                             : limiter_.Acquire(a.principal.name, a.principal.role);
    if (wait > absl::ZeroDuration()) {
      a.throttled = true;
      a.retry_delay = wait;
      Throttled(method, a.principal.role);
      a.status = ResourceExhaustedRetryAfter(
          absl::StrCat("rate limit of role ", auth::RoleName(a.principal.role),
                       " exceeded; retry in ", absl::ToInt64Milliseconds(wait), " ms"),
          wait);
      return a;
    }
    if (rule == nullptr) {
      a.status = grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                              "the method is not in the authorization table");
    } else if (!rule->Allows(a.principal.role)) {
      a.status = grpc::Status(
          grpc::StatusCode::PERMISSION_DENIED,
          absl::StrCat("role ", auth::RoleName(a.principal.role), " may not call this method"));
    }
    return a;
  }

  void Audit(const std::string& method, const auth::Principal& p, const std::string& object,
             grpc::StatusCode code) {
    AuditSink* sink = audit_.load(std::memory_order_acquire);
    if (sink == nullptr) return;
    AuditEvent e;
    e.time = absl::Now();
    e.principal = p.name;
    e.role = auth::RoleName(p.role);
    e.method = method;
    e.object = object;
    e.code = code;
    sink->Record(e);
  }

  const auth::Policy& policy() const { return *policy_; }
  bool authenticating() const { return tokens_ != nullptr; }
  void set_audit(AuditSink* sink) { audit_.store(sink, std::memory_order_release); }

 private:
  void Throttled(const std::string& method, auth::Role role) {
    // Never labelled by principal: names may identify people or partners, and the set
    // is unbounded for Prometheus.
    size_t slash = method.rfind('/');
    std::string service = slash == std::string::npos ? "" : method.substr(1, slash - 1);
    std::string name = slash == std::string::npos ? method : method.substr(slash + 1);
    throttled_
        .Add({{"role", auth::RoleName(role)}, {"grpc_service", service}, {"grpc_method", name}})
        .Increment();
  }

  const AuthOptions options_;
  const auth::Policy* policy_;
  RealClock clock_;
  std::unique_ptr<auth::TokenStore> tokens_;
  auth::RateLimiter limiter_;
  metrics::Family<metrics::Counter>& throttled_;
  std::atomic<AuditSink*> audit_{nullptr};
};

namespace {

// Runs the gate around one method's original handler.
class GuardedHandler : public MethodHandler {
 public:
  GuardedHandler(AuthGate::Impl* gate, std::string method, MethodHandler* inner)
      : gate_(gate),
        method_(std::move(method)),
        rule_(gate->policy().Find(method_)),
        inner_(inner) {}

  void* Deserialize(grpc_call* call, grpc_byte_buffer* req, grpc::Status* status,
                    void** handler_data) override {
    return inner_->Deserialize(call, req, status, handler_data);
  }

  void RunHandler(const HandlerParameter& param) override {
    const grpc::ServerContextBase* ctx = param.server_context;
    AuthGate::Impl::Admission a = gate_->Admit(ctx, method_, rule_);
    const bool audited = rule_ != nullptr && rule_->mutating;
    // Read before the handler runs: it destroys the request. Requests of the services
    // served here are generated protobuf messages, whose Message base is at their start.
    std::string object;
    if (audited && param.request != nullptr && a.authenticated && !a.throttled) {
      object =
          ObjectOf(*static_cast<const google::protobuf::Message*>(param.request), rule_->object);
    }
    if (!a.status.ok()) {
      if (audited && a.authenticated && !a.throttled) {
        gate_->Audit(method_, a.principal, object, a.status.error_code());
      }
      Refuse(param, a);
      return;
    }
    CallState state;
    state.principal = &a.principal;
    Calls().Insert(ctx, &state);
    inner_->RunHandler(param);
    int code = Calls().Code(ctx);
    Calls().Erase(ctx);
    if (audited) {
      gate_->Audit(method_, a.principal, object,
                   code < 0 ? grpc::StatusCode::CANCELLED : static_cast<grpc::StatusCode>(code));
    }
  }

 private:
  // Sends `a.status` without running the original handler.
  void Refuse(const HandlerParameter& param, const AuthGate::Impl::Admission& a) {
    grpc::ServerContextBase* ctx = param.server_context;
    if (a.throttled) {
      ctx->AddTrailingMetadata("retry-delay-ms",
                               absl::StrCat(absl::ToInt64Milliseconds(a.retry_delay)));
    }
    if (!a.status.error_details().empty()) {
      ctx->AddTrailingMetadata("grpc-status-details-bin", a.status.error_details());
    }
    if (param.request != nullptr) {
      // The original handler would have destroyed it after use (it lives in the call's
      // arena, its fields on the heap).
      static_cast<google::protobuf::MessageLite*>(param.request)->~MessageLite();
    }
    const std::string& message = a.status.error_message();
    switch (a.status.error_code()) {
      case grpc::StatusCode::UNAUTHENTICATED:
        grpc::internal::ErrorMethodHandler<grpc::StatusCode::UNAUTHENTICATED>(message).RunHandler(
            param);
        break;
      case grpc::StatusCode::RESOURCE_EXHAUSTED:
        grpc::internal::ErrorMethodHandler<grpc::StatusCode::RESOURCE_EXHAUSTED>(message)
            .RunHandler(param);
        break;
      default:
        grpc::internal::ErrorMethodHandler<grpc::StatusCode::PERMISSION_DENIED>(message).RunHandler(
            param);
        break;
    }
  }

  AuthGate::Impl* const gate_;
  const std::string method_;
  const auth::MethodRule* const rule_;
  MethodHandler* const inner_;  // owned by the original service
};

class GuardedService : public grpc::Service {
 public:
  void Add(AuthGate::Impl* gate, std::string method, RpcMethod::RpcType type,
           MethodHandler* inner) {
    names_.push_back(std::move(method));
    const std::string& name = names_.back();  // RpcMethod keeps the pointer
    AddMethod(new RpcServiceMethod(name.c_str(), type, new GuardedHandler(gate, name, inner)));
  }

 private:
  std::deque<std::string> names_;
};

class StatusInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit StatusInterceptor(const grpc::ServerContextBase* ctx) : ctx_(ctx) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      Calls().SetCode(ctx_, static_cast<int>(methods->GetSendStatus().error_code()));
    }
    methods->Proceed();
  }

 private:
  const grpc::ServerContextBase* ctx_;
};

class StatusInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    if (info->server_context() == nullptr) return nullptr;
    return new StatusInterceptor(info->server_context());
  }
};

}  // namespace

AuthGate::AuthGate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuthGate::~AuthGate() = default;

absl::StatusOr<std::unique_ptr<AuthGate>> AuthGate::Create(const AuthOptions& options,
                                                           metrics::Registry& metrics) {
  if (options.token_file.empty() && !options.allow_unauthenticated) {
    return absl::InvalidArgumentError(
        "no token file: pass --token_file (IPLUS_TOKEN_FILE) with the callers' bearer tokens, "
        "or --allow_unauthenticated to serve every caller as an anonymous admin (local use "
        "only)");
  }
  if (!options.token_file.empty() && options.allow_unauthenticated) {
    return absl::InvalidArgumentError(
        "--allow_unauthenticated conflicts with --token_file; pass one or the other");
  }
  std::unique_ptr<auth::TokenStore> tokens;
  if (!options.token_file.empty()) {
    static RealClock clock;
    auto store = auth::TokenStore::Load(options.token_file, &clock, options.token_check_interval);
    if (!store.ok()) return store.status();
    tokens = *std::move(store);
  }
  return std::unique_ptr<AuthGate>(
      new AuthGate(std::make_unique<Impl>(options, std::move(tokens), metrics)));
}

absl::StatusOr<std::unique_ptr<grpc::Service>> AuthGate::Guard(grpc::Service* service,
                                                               const std::string& full_name) {
  const auto* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(full_name);
  if (descriptor == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown service ", full_name));
  }
  auto guarded = std::make_unique<GuardedService>();
  // The generated service adds its methods in the order of the descriptor.
  for (int i = 0; i < descriptor->method_count(); ++i) {
    const auto& m = *descriptor->method(i);
    MethodHandler* inner = ServiceAccess::Handler(service, i);
    if (inner == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("method ", m.full_name(), " is not synchronous; it cannot be guarded"));
    }
    guarded->Add(impl_.get(), absl::StrCat("/", full_name, "/", m.name()), TypeOf(m), inner);
  }
  return std::unique_ptr<grpc::Service>(std::move(guarded));
}

void AuthGate::SetAuditSink(AuditSink* sink) { impl_->set_audit(sink); }

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
AuthGate::InterceptorFactory() {
  return std::make_unique<StatusInterceptorFactory>();
}

}  // namespace internal
}  // namespace iplus
