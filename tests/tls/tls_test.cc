// Transport security of the services: TLS and mutual TLS on the gRPC port, rotation of
// the certificate files without a restart, ingestion calling the registry over mutual
// TLS (and with its service token as call credentials to a registry that requires
// tokens), and the binary's refusal to start with neither TLS files nor --plaintext. The
// certificates (two unrelated CAs, server and client certificates) are made with the
// openssl CLI into a temporary directory.

#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth/auth.h"
#include "common/grpc/service_channel.h"
#include "common/grpc/tls.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "gtest/gtest.h"
#include "tests/e2e/ingest_e2e_util.h"

namespace iplus::ingest::e2e {
namespace {

namespace fs = std::filesystem;
using ::iplus::registry::e2e::CheckHealth;
using ::testing::HasSubstr;

constexpr absl::Duration kRefresh = absl::Seconds(1);

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// Runs a shell command; returns its exit status (-1 when it did not exit normally) and
// its combined output through `output`.
int RunShell(const std::string& command, std::string* output = nullptr) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  int status = pclose(pipe);
  if (output != nullptr) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The status of a grpc.health.v1 Check over `credentials` (OK once the handshake and the
// call succeed; the health answer itself does not matter).
grpc::Status Probe(int port, const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), credentials, args);
  grpc::Status status;
  CheckHealth(channel.get(), "", absl::Seconds(5), &status);
  return status;
}

// A client verifying the server with `ca` and presenting `cert`/`key` when set.
std::shared_ptr<grpc::ChannelCredentials> Client(const std::string& ca,
                                                 const std::string& cert = "",
                                                 const std::string& key = "") {
  TlsFiles files;
  files.ca_file = ca;
  files.cert_file = cert;
  files.key_file = key;
  files.refresh_interval = kRefresh;
  return ChannelCredentialsFor(files);
}

AuthOptions Unauthenticated() {
  AuthOptions auth;
  auth.allow_unauthenticated = true;
  return auth;
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = (fs::temp_directory_path() / "iplus-tls-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = new std::string(tmpl);
    WriteFile(Path("ca.cnf"),
              "[req]\ndistinguished_name=dn\n[dn]\n[v3_ca]\n"
              "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
              "subjectKeyIdentifier=hash\n");
    WriteFile(Path("leaf.ext"),
              "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
              "extendedKeyUsage=serverAuth,clientAuth\n"
              "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    for (const char* ca : {"ca1", "ca2"}) {
      ASSERT_NO_FATAL_FAILURE(OpenSsl(absl::StrCat(
          "req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2",
          " -config ", Path("ca.cnf"), " -extensions v3_ca -subj /CN=iplus-test-", ca, " -keyout ",
          Path(ca, ".key"), " -out ", Path(ca, ".crt"))));
    }
    ASSERT_NO_FATAL_FAILURE(Leaf("server1", "ca1"));
    ASSERT_NO_FATAL_FAILURE(Leaf("client1", "ca1"));
    ASSERT_NO_FATAL_FAILURE(Leaf("server2", "ca2"));
    ASSERT_NO_FATAL_FAILURE(Leaf("client2", "ca2"));
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    fs::remove_all(*dir_, ignored);
    delete dir_;
    dir_ = nullptr;
  }

  static std::string Path(const std::string& name, const std::string& suffix = "") {
    return absl::StrCat(*dir_, "/", name, suffix);
  }

  static void OpenSsl(const std::string& args) {
    std::string out;
    ASSERT_EQ(RunShell(absl::StrCat(IPLUS_OPENSSL, " ", args), &out), 0) << out;
  }

  // A certificate for 127.0.0.1 and localhost, for server and client use, issued by `ca`.
  static void Leaf(const std::string& name, const std::string& ca) {
    ASSERT_NO_FATAL_FAILURE(OpenSsl(absl::StrCat(
        "req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=", name,
        " -config ", Path("ca.cnf"), " -keyout ", Path(name, ".key"), " -out ",
        Path(name, ".csr"))));
    ASSERT_NO_FATAL_FAILURE(OpenSsl(absl::StrCat(
        "x509 -req -days 2 -set_serial 0x", absl::Hex(absl::ToUnixMicros(absl::Now())), " -in ",
        Path(name, ".csr"), " -CA ", Path(ca, ".crt"), " -CAkey ", Path(ca, ".key"), " -extfile ",
        Path("leaf.ext"), " -out ", Path(name, ".crt"))));
  }

  void SetUp() override { IPLUS_ASSERT_OK(redis_.Start()); }

  // The server's TLS files: copies of server1's certificate and key (rotation overwrites
  // them), verifying clients with ca1.
  TlsFiles ServerFiles(bool require_client_cert, const std::string& tag) {
    TlsFiles files;
    files.cert_file = Path(tag, "-serving.crt");
    files.key_file = Path(tag, "-serving.key");
    fs::copy_file(Path("server1.crt"), files.cert_file, fs::copy_options::overwrite_existing);
    fs::copy_file(Path("server1.key"), files.key_file, fs::copy_options::overwrite_existing);
    files.ca_file = Path("ca1.crt");
    files.require_client_cert = require_client_cert;
    files.refresh_interval = kRefresh;
    return files;
  }

  // Authentication is off unless `auth` says otherwise (it has its own tests, tests/auth).
  std::unique_ptr<registry::App> StartRegistry(const TlsFiles& files,
                                               AuthOptions auth = Unauthenticated()) {
    IPLUS_EXPECT_OK(ValidateTlsFiles(files));
    registry::AppConfig config;
    config.server.service_name = "registry";
    config.server.grpc_address = "127.0.0.1:0";
    config.server.metrics_address = "";
    config.server.drain_timeout = absl::Seconds(1);
    config.server.credentials = ServerCredentialsFor(files);
    config.server.auth = auth;
    config.redis.host = "127.0.0.1";
    config.redis.port = redis_.port();
    auto app = std::make_unique<registry::App>(config);
    IPLUS_EXPECT_OK(app->Start());
    return app;
  }

  test::RedisServer redis_;
  static std::string* dir_;
};

std::string* TlsTest::dir_ = nullptr;

TEST_F(TlsTest, ServesTlsToClientsTrustingItsCaOnly) {
  auto app = StartRegistry(ServerFiles(/*require_client_cert=*/false, "one-way"));
  EXPECT_THAT(Probe(app->grpc_port(), Client(Path("ca1.crt"))), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(Probe(app->grpc_port(), Client(Path("ca2.crt"))),
              GrpcIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_FALSE(Probe(app->grpc_port(), grpc::InsecureChannelCredentials()).ok());
  // Without mutual TLS a client certificate is not needed, and one is accepted.
  EXPECT_THAT(
      Probe(app->grpc_port(), Client(Path("ca1.crt"), Path("client1.crt"), Path("client1.key"))),
      GrpcIs(grpc::StatusCode::OK));
  app->Shutdown();
}

TEST_F(TlsTest, MutualTlsNeedsAClientCertificateFromTheCa) {
  auto app = StartRegistry(ServerFiles(/*require_client_cert=*/true, "mutual"));
  EXPECT_THAT(Probe(app->grpc_port(), Client(Path("ca1.crt"))),
              GrpcIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_THAT(
      Probe(app->grpc_port(), Client(Path("ca1.crt"), Path("client2.crt"), Path("client2.key"))),
      GrpcIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_FALSE(Probe(app->grpc_port(), grpc::InsecureChannelCredentials()).ok());
  EXPECT_THAT(
      Probe(app->grpc_port(), Client(Path("ca1.crt"), Path("client1.crt"), Path("client1.key"))),
      GrpcIs(grpc::StatusCode::OK));
  app->Shutdown();
}

TEST_F(TlsTest, RotatedCertificateTakesEffectWithoutRestart) {
  TlsFiles files = ServerFiles(/*require_client_cert=*/false, "rotate");
  auto app = StartRegistry(files);
  ASSERT_THAT(Probe(app->grpc_port(), Client(Path("ca1.crt"))), GrpcIs(grpc::StatusCode::OK));

  // The key first, then the certificate, each replaced by a rename: until both are in
  // place the pair does not match and the server keeps the previous one.
  for (const auto& [from, to] : {std::pair{Path("server2.key"), files.key_file},
                                 std::pair{Path("server2.crt"), files.cert_file}}) {
    fs::copy_file(from, to + ".new", fs::copy_options::overwrite_existing);
    fs::rename(to + ".new", to);
  }
  const absl::Time deadline = absl::Now() + 10 * kRefresh + absl::Seconds(5);
  grpc::Status second;
  while (absl::Now() < deadline) {
    second = Probe(app->grpc_port(), Client(Path("ca2.crt")));
    if (second.ok()) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_THAT(second, GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(Probe(app->grpc_port(), Client(Path("ca1.crt"))),
              GrpcIs(grpc::StatusCode::UNAVAILABLE));
  app->Shutdown();
}

TEST_F(TlsTest, IngestCallsTheRegistryOverMutualTls) {
  TlsFiles files = ServerFiles(/*require_client_cert=*/true, "services");
  auto registry = StartRegistry(files);
  auto client = Client(Path("ca1.crt"), Path("client1.crt"), Path("client1.key"));

  // Register an enterprise through the registry over mutual TLS.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto registry_stub = rv1::RegistryService::NewStub(
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", registry->grpc_port()), client, args));
  rv1::BatchCreateEnterprisesRequest create;
  *create.add_requests()->mutable_enterprise() = registry::e2e::Manufacturer(1);
  rv1::BatchCreateEnterprisesResponse created;
  ASSERT_THAT(Call(*registry_stub, &RegistryStub::BatchCreateEnterprises, create, &created),
              GrpcIs(grpc::StatusCode::OK));

  // Ingestion serves mutual TLS too and calls the registry with its own certificate.
  AppConfig config;
  config.server.service_name = "ingest";
  config.server.grpc_address = "127.0.0.1:0";
  config.server.metrics_address = "";
  config.server.drain_timeout = absl::Seconds(1);
  config.server.credentials = ServerCredentialsFor(files);
  config.server.auth.allow_unauthenticated = true;
  config.redis.host = "127.0.0.1";
  config.redis.port = redis_.port();
  config.registry_target = absl::StrCat("127.0.0.1:", registry->grpc_port());
  config.registry_tls = files;
  config.directory.poll_interval = absl::Milliseconds(100);
  App ingest(config);
  IPLUS_ASSERT_OK(ingest.Start());
  auto stub = v1::IngestService::NewStub(
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", ingest.grpc_port()), client, args));

  v1::ReportObservationsResponse response;
  grpc::Status status;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    response.Clear();
    status = Report(*stub, {Number("tls-1", CodeN(1), "energy_utilization_rate", "2020", 70)},
                    &response);
    if (status.ok() && response.results_size() == 1 &&
        response.results(0).outcome() == v1::OUTCOME_ACCEPTED) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_THAT(status, GrpcIs(grpc::StatusCode::OK));
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_THAT(response.results(0), ItemIs(v1::OUTCOME_ACCEPTED, 1));
  ingest.Shutdown();
  registry->Shutdown();
}

// Over TLS the service token travels as call credentials: a registry that requires
// tokens answers ingestion's directory calls, and reports are accepted.
TEST_F(TlsTest, IngestSendsItsServiceTokenAsCallCredentials) {
  const std::string admin_token = "tls-admin-token-0c1f";
  const std::string service_token = "tls-service-token-9a2e";
  const std::string tokens = Path("tls-tokens");
  WriteFile(tokens, absl::StrCat(auth::Sha256Hex(admin_token), " ops admin *\n",
                                 auth::Sha256Hex(service_token), " ingest service *\n"));
  const std::string token_file = Path("tls-service-token");
  WriteFile(token_file, service_token + "\n");
  AuthOptions auth;
  auth.token_file = tokens;
  TlsFiles files = ServerFiles(/*require_client_cert=*/false, "tokens");
  auto registry = StartRegistry(files, auth);
  auto client = Client(Path("ca1.crt"));
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto registry_stub = rv1::RegistryService::NewStub(
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", registry->grpc_port()), client, args));
  rv1::CreateEnterpriseRequest create;
  *create.mutable_enterprise() = registry::e2e::Manufacturer(7);
  rv1::CreateEnterpriseResponse created;
  {
    grpc::ClientContext ctx;
    ASSERT_THAT(registry_stub->CreateEnterprise(&ctx, create, &created),
                GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + admin_token);
    ASSERT_THAT(registry_stub->CreateEnterprise(&ctx, create, &created),
                GrpcIs(grpc::StatusCode::OK));
  }

  auto token = ServiceToken::Load(token_file);
  IPLUS_ASSERT_OK(token.status());
  AppConfig config;
  config.server.service_name = "ingest";
  config.server.grpc_address = "127.0.0.1:0";
  config.server.metrics_address = "";
  config.server.drain_timeout = absl::Seconds(1);
  config.server.credentials = ServerCredentialsFor(files);
  config.server.auth.allow_unauthenticated = true;
  config.redis.host = "127.0.0.1";
  config.redis.port = redis_.port();
  config.registry_target = absl::StrCat("127.0.0.1:", registry->grpc_port());
  TlsFiles to_registry;
  to_registry.ca_file = Path("ca1.crt");
  to_registry.refresh_interval = kRefresh;
  config.registry_tls = to_registry;
  config.registry_token = *token;
  config.directory.poll_interval = absl::Milliseconds(100);
  App ingest(config);
  IPLUS_ASSERT_OK(ingest.Start());
  auto stub = v1::IngestService::NewStub(
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", ingest.grpc_port()), client, args));
  v1::ReportObservationsResponse response;
  grpc::Status status;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    response.Clear();
    status = Report(*stub, {Number("tls-tok-1", CodeN(7), "energy_utilization_rate", "2020", 70)},
                    &response);
    if (status.ok() && response.results_size() == 1 &&
        response.results(0).outcome() == v1::OUTCOME_ACCEPTED) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_THAT(status, GrpcIs(grpc::StatusCode::OK));
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_THAT(response.results(0), ItemIs(v1::OUTCOME_ACCEPTED, 1));
  ingest.Shutdown();
  registry->Shutdown();
}

// The binary with a clean environment and `flags`; returns its exit status and output.
int RunRegistry(const std::string& flags, std::string* output) {
  return RunShell(absl::StrCat("env -i PATH=/usr/bin:/bin ", IPLUS_REGISTRY_BINARY,
                               " --redis_address=127.0.0.1:1 --metrics_address= --grpc_address=",
                               "127.0.0.1:0 ", flags),
                  output);
}

TEST_F(TlsTest, BinaryRefusesToStartWithoutTlsFilesOrPlaintext) {
  std::string out;
  EXPECT_EQ(RunRegistry("", &out), 2) << out;
  EXPECT_THAT(out, HasSubstr("--tls_cert_file"));
  EXPECT_THAT(out, HasSubstr("--plaintext"));

  EXPECT_EQ(RunRegistry(absl::StrCat("--tls_key_file=", Path("server1.key")), &out), 2) << out;
  EXPECT_THAT(out, HasSubstr("--tls_cert_file"));

  EXPECT_EQ(RunRegistry(absl::StrCat("--tls_cert_file=", Path("server1.crt"), " --tls_key_file=",
                                     Path("server1.key"), " --tls_require_client_cert"),
                        &out),
            2)
      << out;
  EXPECT_THAT(out, HasSubstr("--tls_require_client_cert"));

  EXPECT_EQ(RunRegistry(absl::StrCat("--tls_cert_file=", Path("missing.crt"),
                                     " --tls_key_file=", Path("server1.key")),
                        &out),
            2)
      << out;
  EXPECT_THAT(out, HasSubstr("--tls_cert_file"));
  // Paths may be logged, key material never.
  EXPECT_THAT(out, ::testing::Not(HasSubstr("PRIVATE KEY")));

  EXPECT_EQ(RunRegistry("--plaintext --tls_ca_file=" + Path("ca1.crt"), &out), 2) << out;
  EXPECT_THAT(out, HasSubstr("--plaintext"));
}

}  // namespace
}  // namespace iplus::ingest::e2e
