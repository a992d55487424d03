#include "common/grpc/service_channel.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/config/config.h"
#include "common/log/log.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/support/client_interceptor.h"

namespace iplus {
namespace {

class TokenPlugin : public grpc::MetadataCredentialsPlugin {
 public:
  explicit TokenPlugin(std::shared_ptr<ServiceToken> token) : token_(std::move(token)) {}
  bool IsBlocking() const override { return false; }
  const char* GetType() const override { return "iplus-service-token"; }
  grpc::Status GetMetadata(grpc::string_ref, grpc::string_ref, const grpc::AuthContext&,
                           std::multimap<grpc::string, grpc::string>* metadata) override {
    metadata->insert({"authorization", token_->Header()});
    return grpc::Status::OK;
  }
  grpc::string DebugString() override { return "iplus service token"; }

 private:
  std::shared_ptr<ServiceToken> token_;
};

class TokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(ServiceToken* token) : token_(token) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", token_->Header()});
    }
    methods->Proceed();
  }

 private:
  ServiceToken* token_;
};

class TokenInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(std::shared_ptr<ServiceToken> token)
      : token_(std::move(token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new TokenInterceptor(token_.get());
  }

 private:
  std::shared_ptr<ServiceToken> token_;
};

}  // namespace

ServiceToken::ServiceToken(std::string path, absl::Duration check_interval)
    : path_(std::move(path)), check_interval_(check_interval) {}

absl::StatusOr<std::shared_ptr<ServiceToken>> ServiceToken::Load(std::string path,
                                                                 absl::Duration check_interval) {
  auto token = std::shared_ptr<ServiceToken>(new ServiceToken(std::move(path), check_interval));
  absl::MutexLock lock(&token->mu_);
  if (absl::Status s = token->Read(); !s.ok()) return s;
  token->next_check_ = absl::Now() + check_interval;
  return token;
}

absl::Status ServiceToken::Read() {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot stat service token file ", path_, ": ", std::strerror(errno)));
  }
  int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (mtime_ns == mtime_ns_ && st.st_size == size_ && !header_.empty()) return absl::OkStatus();
  auto text = config::ReadFile(path_);
  if (!text.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read service token file ", path_));
  }
  std::vector<absl::string_view> lines = absl::StrSplit(*text, '\n');
  absl::string_view token = absl::StripAsciiWhitespace(lines.empty() ? "" : lines[0]);
  bool printable = !token.empty();
  for (char c : token) printable = printable && c > ' ' && c < 0x7f;
  if (!printable) {
    return absl::FailedPreconditionError(
        absl::StrCat("service token file ", path_, " must hold one token of printable characters"));
  }
  header_ = absl::StrCat("Bearer ", token);
  mtime_ns_ = mtime_ns;
  size_ = st.st_size;
  return absl::OkStatus();
}

std::string ServiceToken::Header() {
  absl::MutexLock lock(&mu_);
  absl::Time now = absl::Now();
  if (now >= next_check_) {
    next_check_ = now + check_interval_;
    if (absl::Status s = Read(); !s.ok()) {
      log::Warn("service token file check failed; keeping the loaded token",
                {log::Field::Status("error", s)});
    }
  }
  return header_;
}

std::shared_ptr<grpc::CallCredentials> ServiceTokenCallCredentials(
    std::shared_ptr<ServiceToken> token) {
  return grpc::MetadataCredentialsFromPlugin(std::make_unique<TokenPlugin>(std::move(token)));
}

std::shared_ptr<grpc::Channel> CreateServiceChannel(const std::string& target, const TlsFiles& tls,
                                                    std::shared_ptr<ServiceToken> token,
                                                    const grpc::ChannelArguments& args) {
  auto credentials = ChannelCredentialsFor(tls);
  if (token == nullptr) return grpc::CreateCustomChannel(target, credentials, args);
  if (tls.enabled() || !tls.ca_file.empty()) {  // a TLS channel (see ChannelCredentialsFor)
    return grpc::CreateCustomChannel(
        target,
        grpc::CompositeChannelCredentials(credentials,
                                          ServiceTokenCallCredentials(std::move(token))),
        args);
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<TokenInterceptorFactory>(std::move(token)));
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, credentials, args,
                                                                 std::move(factories));
}

}  // namespace iplus
