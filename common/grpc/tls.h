#pragma once

// Transport security of every iplus gRPC port and of the channels between services: TLS
// from PEM files, optionally mutual, reloaded from disk while the process runs.
//
// The files are watched by gRPC's FileWatcherCertificateProvider, which re-reads them
// every refresh_interval: a rotated certificate, key or CA bundle takes effect for new
// connections without a restart (established connections keep their session). A
// certificate and key that do not match (e.g. read between the two writes of a rotation)
// are ignored until the next refresh, which keeps the previous pair in use.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace iplus {

struct TlsFiles {
  // This process's identity (PEM): served to clients and, on channels to other services,
  // presented as the client certificate. Both or neither.
  std::string cert_file;
  std::string key_file;
  // CA bundle (PEM) that verifies client certificates (with require_client_cert) and the
  // servers this process calls. Empty: no client verification, and the system's roots
  // for servers called.
  std::string ca_file;
  // Mutual TLS: clients must present a certificate issued by ca_file.
  bool require_client_cert = false;
  // How often the files are re-read.
  absl::Duration refresh_interval = absl::Seconds(10);

  // True when a certificate and key are configured.
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

// Checks that the files make a usable configuration: cert and key both or neither,
// require_client_cert only with a CA, and every named file readable. INVALID_ARGUMENT
// names the offending flag (--tls_cert_file, --tls_key_file, --tls_ca_file,
// --tls_require_client_cert). Never reads more of a file than needed to open it.
absl::Status ValidateTlsFiles(const TlsFiles& files);

// Server credentials for the files; plaintext (insecure) when no certificate is set.
// REQUIRES: ValidateTlsFiles(files).ok().
std::shared_ptr<grpc::ServerCredentials> ServerCredentialsFor(const TlsFiles& files);

// Channel credentials for calling another service: TLS verifying the server against
// ca_file (the system roots when empty) and its host name against the target, presenting
// cert_file/key_file as the client certificate when set; plaintext when no file is set.
// REQUIRES: ValidateTlsFiles(files).ok().
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const TlsFiles& files);

}  // namespace iplus
