#include "common/grpc/tls.h"

#include <algorithm>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace iplus {
namespace {

absl::Status CheckReadable(const char* flag, const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  std::ifstream in(path);
  if (!in.is_open()) return InvalidField(flag, absl::StrCat("cannot read ", path));
  return absl::OkStatus();
}

unsigned int RefreshSeconds(const TlsFiles& files) {
  int64_t s = absl::ToInt64Seconds(files.refresh_interval);
  return static_cast<unsigned int>(std::clamp<int64_t>(s, 1, 24 * 3600));
}

// The provider behind both kinds of credentials: identity when cert and key are set,
// roots when ca_file is set.
std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> ProviderFor(
    const TlsFiles& files) {
  return std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key_file, files.cert_file, files.ca_file, RefreshSeconds(files));
}

}  // namespace

absl::Status ValidateTlsFiles(const TlsFiles& files) {
  if (files.cert_file.empty() && !files.key_file.empty()) {
    return InvalidField("--tls_cert_file", "must be set together with --tls_key_file");
  }
  if (!files.cert_file.empty() && files.key_file.empty()) {
    return InvalidField("--tls_key_file", "must be set together with --tls_cert_file");
  }
  if (files.require_client_cert && files.ca_file.empty()) {
    return InvalidField("--tls_require_client_cert",
                        "needs --tls_ca_file to verify client certificates");
  }
  if (files.require_client_cert && !files.enabled()) {
    return InvalidField("--tls_require_client_cert", "needs --tls_cert_file and --tls_key_file");
  }
  if (absl::Status s = CheckReadable("--tls_cert_file", files.cert_file); !s.ok()) return s;
  if (absl::Status s = CheckReadable("--tls_key_file", files.key_file); !s.ok()) return s;
  return CheckReadable("--tls_ca_file", files.ca_file);
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentialsFor(const TlsFiles& files) {
  if (!files.enabled()) return grpc::InsecureServerCredentials();
  grpc::experimental::TlsServerCredentialsOptions options(ProviderFor(files));
  options.watch_identity_key_cert_pairs();
  if (!files.ca_file.empty()) options.watch_root_certs();
  options.set_cert_request_type(files.require_client_cert
                                    ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                    : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  return grpc::experimental::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const TlsFiles& files) {
  if (!files.enabled() && files.ca_file.empty()) return grpc::InsecureChannelCredentials();
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_verify_server_certs(true);
  options.set_check_call_host(true);
  options.set_certificate_provider(ProviderFor(files));
  if (files.enabled()) options.watch_identity_key_cert_pairs();
  if (!files.ca_file.empty()) options.watch_root_certs();
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace iplus
