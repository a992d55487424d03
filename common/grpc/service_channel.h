#pragma once

// Channels from one iplus service to another, carrying the calling service's own bearer
// token (a token of role `service` in the callee's token file).
//
//   auto token = ServiceToken::Load(flag_service_token_file);   // once, at start
//   auto channel = CreateServiceChannel(target, config.tls, *token, args);
//
// Over TLS the token travels as gRPC call credentials (a metadata credentials plugin
// composed with the channel's TLS credentials). gRPC sends call credentials only over
// secure channels, so on a plaintext channel (--plaintext, local use only) a client
// interceptor adds the same `authorization` header instead.
//
// The token file holds the token itself on its first line (surrounding white space is
// ignored), mounted from a Secret; it is re-read when it changes, so a rotated Secret
// applies without a restart. The token never appears in a log or a status message.

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/grpc/tls.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace iplus {

class ServiceToken {
 public:
  // Reads `path`. FAILED_PRECONDITION naming the file (never its content) when it cannot
  // be read or holds no token. The file is checked for changes at most once per
  // `check_interval`.
  static absl::StatusOr<std::shared_ptr<ServiceToken>> Load(
      std::string path, absl::Duration check_interval = absl::Seconds(10));

  // "Bearer <token>", the value of the authorization header. Thread-safe.
  std::string Header();

 private:
  ServiceToken(std::string path, absl::Duration check_interval);
  absl::Status Read();

  const std::string path_;
  const absl::Duration check_interval_;
  absl::Mutex mu_;
  std::string header_ ABSL_GUARDED_BY(mu_);
  int64_t mtime_ns_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t size_ ABSL_GUARDED_BY(mu_) = -1;
  absl::Time next_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// Call credentials adding `token`'s header to every call (TLS channels only).
std::shared_ptr<grpc::CallCredentials> ServiceTokenCallCredentials(
    std::shared_ptr<ServiceToken> token);

// A channel to `target` with the transport security of `tls` (ChannelCredentialsFor) whose
// calls carry `token` when it is not null.
std::shared_ptr<grpc::Channel> CreateServiceChannel(const std::string& target, const TlsFiles& tls,
                                                    std::shared_ptr<ServiceToken> token,
                                                    const grpc::ChannelArguments& args);

}  // namespace iplus
