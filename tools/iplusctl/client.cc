#include "tools/iplusctl/client.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/tls.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace iplus::ctl {

absl::StatusOr<ConnectionOptions> ConnectionFromArgs(const ParsedArgs& args) {
  ConnectionOptions o;
  const std::string host = args.Get("host", "localhost");
  auto address = [&](const std::string& flag, int port) {
    std::string a = args.Get(flag);
    return a.empty() ? absl::StrCat(host, ":", port) : a;
  };
  o.registry = address("registry", kRegistryPort);
  o.ingest = address("ingest", kIngestPort);
  o.evaluation = address("evaluation", kEvaluationPort);
  o.funds = address("funds", kFundsPort);
  auto plaintext = ParseBool("--plaintext", args.Get("plaintext", "false"));
  if (!plaintext.ok()) return plaintext.status();
  o.plaintext = *plaintext;
  o.ca_file = args.Get("ca-file");
  o.cert_file = args.Get("cert-file");
  o.key_file = args.Get("key-file");
  o.token_file = args.Get("token-file");
  if (o.plaintext && (!o.ca_file.empty() || !o.cert_file.empty() || !o.key_file.empty())) {
    return absl::InvalidArgumentError("--plaintext excludes --ca-file, --cert-file, --key-file");
  }
  if (o.cert_file.empty() != o.key_file.empty()) {
    return absl::InvalidArgumentError("--cert-file and --key-file go together");
  }
  if (args.Has("timeout")) {
    absl::Duration d;
    if (!absl::ParseDuration(args.Get("timeout"), &d) || d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--timeout: \"", args.Get("timeout"), "\" is not a duration like 30s"));
    }
    o.timeout = d;
  }
  return o;
}

absl::Status Client::LoadToken() {
  if (token_loaded_) return absl::OkStatus();
  token_loaded_ = true;
  if (options_.token_file.empty()) return absl::OkStatus();
  std::ifstream in(options_.token_file);
  std::string token;
  if (!in || !std::getline(in, token)) {
    return absl::FailedPreconditionError(
        absl::StrCat("--token-file: cannot read ", options_.token_file));
  }
  token = std::string(absl::StripAsciiWhitespace(token));
  if (token.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("--token-file: ", options_.token_file, " holds no token"));
  }
  header_ = absl::StrCat("Bearer ", token);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Client::Channel(Service service) {
  const int i = static_cast<int>(service);
  if (channels_[i] != nullptr) return channels_[i];
  if (absl::Status s = LoadToken(); !s.ok()) return s;
  std::string target;
  switch (service) {
    case Service::kRegistry:
      target = options_.registry;
      break;
    case Service::kIngest:
      target = options_.ingest;
      break;
    case Service::kEvaluation:
      target = options_.evaluation;
      break;
    case Service::kFunds:
      target = options_.funds;
      break;
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options_.plaintext) {
    credentials = grpc::InsecureChannelCredentials();
  } else if (options_.ca_file.empty() && options_.cert_file.empty()) {
    credentials = grpc::SslCredentials(grpc::SslCredentialsOptions());
  } else {
    TlsFiles tls;
    tls.ca_file = options_.ca_file;
    tls.cert_file = options_.cert_file;
    tls.key_file = options_.key_file;
    if (absl::Status s = ValidateTlsFiles(tls); !s.ok()) {
      std::string m(s.message());
      // The validator names the services' flags; name ours.
      for (auto [from, to] : {std::pair<std::string, std::string>{"--tls_ca_file", "--ca-file"},
                              {"--tls_cert_file", "--cert-file"},
                              {"--tls_key_file", "--key-file"}}) {
        for (size_t p = m.find(from); p != std::string::npos; p = m.find(from)) {
          m.replace(p, from.size(), to);
        }
      }
      return absl::FailedPreconditionError(m);
    }
    credentials = ChannelCredentialsFor(tls);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  channels_[i] = grpc::CreateCustomChannel(target, credentials, args);
  return channels_[i];
}

void Client::Prepare(grpc::ClientContext* context, bool deadline) {
  if (deadline) {
    context->set_deadline(std::chrono::system_clock::now() +
                          absl::ToChronoMilliseconds(options_.timeout));
  }
  if (!header_.empty()) context->AddMetadata("authorization", header_);
}

}  // namespace iplus::ctl
