// iplusctl's transport security and bearer tokens end to end: the real binary, run as a
// subprocess, against the registry's real App on loopback serving TLS, mutual TLS or
// requiring the tokens of a token file, on a private redis-server. The certificates (two
// unrelated CAs, server and client certificates, and a server certificate for another
// host name) are made with the openssl CLI into a temporary directory.

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth/auth.h"
#include "common/grpc/auth_gate.h"
#include "common/grpc/tls.h"
#include "common/refdata/credit_code.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/registry/app.h"

extern char** environ;

namespace iplus::ctl {
namespace {

namespace fs = std::filesystem;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a shell command; its exit status (-1 when it did not exit normally), its combined
// output through `output`.
int RunShell(const std::string& command, std::string* output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs `binary` with `args` and an environment of this process's variables less every
// IPLUS_* one and gRPC's logging ones, plus `env` ("NAME=value"); stdout and stderr go to
// the files named.
int RunBinary(const std::string& binary, const std::vector<std::string>& args,
              const std::vector<std::string>& env, const std::string& out, const std::string& err) {
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "IPLUS_", 6) == 0 || std::strncmp(*e, "GRPC_VERBOSITY=", 15) == 0 ||
        std::strncmp(*e, "GRPC_TRACE=", 11) == 0) {
      continue;
    }
    env_storage.emplace_back(*e);
  }
  env_storage.insert(env_storage.end(), env.begin(), env.end());
  // Everything allocated before fork: the child of a threaded process only opens and execs.
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& v : env_storage) envp.push_back(v.data());
  envp.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

// An error as iplusctl promises it: one line on stderr, "iplusctl: ..." .
void ExpectOneLineError(const Result& r) {
  EXPECT_THAT(r.err, StartsWith("iplusctl: "));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_THAT(r.err, EndsWith("\n"));
}

const std::string kCode = refdata::CompleteCreditCode("9144010000000001");
const std::string kOther = refdata::CompleteCreditCode("9144010000000002");

std::vector<std::string> Create(const std::string& code) {
  return {"enterprise",  "create",  "--code",     code,    "--name", "Canton Gear Works",
          "--region",    "440100",  "--industry", "C34",   "--kind", "manufacturer",
          "--ownership", "private", "--size",     "medium"};
}

AuthOptions Unauthenticated() {
  AuthOptions auth;
  auth.allow_unauthenticated = true;
  return auth;
}

// Bearer tokens of the token file; none of them may ever show in iplusctl's output.
const std::string kAdminToken = "adm1n-Tk.7f3a9c0e51d24b6a";
const std::string kViewerToken = "v1ewer-Tk.c2d9e08a4f1b7735";
const std::string kUnknownToken = "unkn0wn-Tk.90ab41cd22ef6613";

class IplusctlSecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = (fs::temp_directory_path() / "iplusctl-security-XXXXXX").string();
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
    WriteFile(Path("elsewhere.ext"),
              "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
              "extendedKeyUsage=serverAuth,clientAuth\n"
              "subjectAltName=DNS:registry.elsewhere.example\n");
    for (const char* ca : {"ca1", "ca2"}) {
      ASSERT_NO_FATAL_FAILURE(OpenSsl(absl::StrCat(
          "req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2",
          " -config ", Path("ca.cnf"), " -extensions v3_ca -subj /CN=iplusctl-test-", ca,
          " -keyout ", Path(ca, ".key"), " -out ", Path(ca, ".crt"))));
    }
    ASSERT_NO_FATAL_FAILURE(Leaf("server1", "ca1", "leaf.ext"));
    ASSERT_NO_FATAL_FAILURE(Leaf("client1", "ca1", "leaf.ext"));
    ASSERT_NO_FATAL_FAILURE(Leaf("client2", "ca2", "leaf.ext"));
    ASSERT_NO_FATAL_FAILURE(Leaf("elsewhere", "ca1", "elsewhere.ext"));
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

  // A certificate issued by `ca` with the extensions of `ext` (its names).
  static void Leaf(const std::string& name, const std::string& ca, const std::string& ext) {
    ASSERT_NO_FATAL_FAILURE(OpenSsl(absl::StrCat(
        "req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=", name,
        " -config ", Path("ca.cnf"), " -keyout ", Path(name, ".key"), " -out ",
        Path(name, ".csr"))));
    ASSERT_NO_FATAL_FAILURE(OpenSsl(
        absl::StrCat("x509 -req -days 2 -set_serial 0x", absl::Hex(absl::ToUnixMicros(absl::Now())),
                     " -in ", Path(name, ".csr"), " -CA ", Path(ca, ".crt"), " -CAkey ",
                     Path(ca, ".key"), " -extfile ", Path(ext), " -out ", Path(name, ".crt"))));
  }

  void SetUp() override { IPLUS_ASSERT_OK(redis_.Start()); }

  void TearDown() override {
    for (auto& app : apps_) app->Shutdown();
  }

  // The registry's TLS files: `server`'s certificate, clients verified with ca1.
  static TlsFiles ServerFiles(bool require_client_cert, const std::string& server = "server1") {
    TlsFiles files;
    files.cert_file = Path(server, ".crt");
    files.key_file = Path(server, ".key");
    files.ca_file = Path("ca1.crt");
    files.require_client_cert = require_client_cert;
    return files;
  }

  // Starts a registry App on 127.0.0.1 (plaintext when `files` has no certificate); its
  // address.
  std::string StartRegistry(const TlsFiles& files, const AuthOptions& auth) {
    IPLUS_EXPECT_OK(ValidateTlsFiles(files));
    registry::AppConfig config;
    config.server.service_name = "registry";
    config.server.grpc_address = "127.0.0.1:0";
    config.server.metrics_address = "";
    config.server.drain_timeout = absl::Seconds(1);
    config.server.credentials = files.enabled() ? ServerCredentialsFor(files) : nullptr;
    config.server.auth = auth;
    config.redis.host = "127.0.0.1";
    config.redis.port = redis_.port();
    apps_.push_back(std::make_unique<registry::App>(config));
    IPLUS_EXPECT_OK(apps_.back()->Start());
    return absl::StrCat("127.0.0.1:", apps_.back()->grpc_port());
  }

  // Runs iplusctl with `args` and the environment `env` (no IPLUS_* variable but these
  // and IPLUS_TIMEOUT=10s). Every run checks that no bearer token reaches its output.
  Result Ctl(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    std::vector<std::string> full_env = {"IPLUS_TIMEOUT=10s"};
    full_env.insert(full_env.end(), env.begin(), env.end());
    Result r;
    r.code = RunBinary(IPLUSCTL_BINARY, args, full_env, Path("ctl.stdout"), Path("ctl.stderr"));
    r.out = ReadFile(Path("ctl.stdout"));
    r.err = ReadFile(Path("ctl.stderr"));
    for (const std::string& token : {kAdminToken, kViewerToken, kUnknownToken}) {
      EXPECT_THAT(r.out, Not(HasSubstr(token))) << "a token on stdout";
      EXPECT_THAT(r.err, Not(HasSubstr(token))) << "a token on stderr";
    }
    return r;
  }

  // The token file the registry reads: an admin and a viewer of every region.
  std::string RegistryTokenFile() {
    const std::string path = Path("registry-tokens-", std::to_string(getpid()));
    WriteFile(path, absl::StrCat("# iplusctl test tokens\n",  //
                                 auth::Sha256Hex(kAdminToken), " ops admin *\n",
                                 auth::Sha256Hex(kViewerToken), " reader viewer *\n"));
    return path;
  }

  // The clients' token files (the admin's with white space around the token).
  void WriteClientTokenFiles() {
    WriteFile(Path("admin.token"), absl::StrCat("  ", kAdminToken, " \r\n# not read\n"));
    WriteFile(Path("viewer.token"), absl::StrCat(kViewerToken, "\n"));
    WriteFile(Path("unknown.token"), absl::StrCat(kUnknownToken, "\n"));
    WriteFile(Path("empty.token"), "\n");
  }

  test::RedisServer redis_;
  std::vector<std::unique_ptr<registry::App>> apps_;
  static std::string* dir_;
};

std::string* IplusctlSecurityTest::dir_ = nullptr;

TEST_F(IplusctlSecurityTest, TlsVerifiesTheRegistryWithTheCaFile) {
  const std::string registry = StartRegistry(ServerFiles(false), Unauthenticated());
  const std::string ca1 = Path("ca1.crt"), ca2 = Path("ca2.crt");

  std::vector<std::string> create = Create(kCode);
  create.insert(create.end(), {"--registry", registry, "--ca-file", ca1});
  Result r = Ctl(create);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(kCode));

  r = Ctl({"enterprise", "get", kCode, "--registry", registry, "--ca-file", ca1});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(kCode));
  EXPECT_THAT(r.out, HasSubstr("Canton Gear Works"));
  EXPECT_EQ(r.err, "");

  // The system roots do not know the test CA: the handshake fails, unavailable.
  r = Ctl({"enterprise", "get", kCode, "--registry", registry});
  EXPECT_EQ(r.code, 5) << r.err;
  ExpectOneLineError(r);
  EXPECT_THAT(r.err, HasSubstr("certificate verify failed (UNAVAILABLE)"));
  EXPECT_THAT(r.out, Not(HasSubstr("Canton Gear Works")));
  // gRPC's own log lines show only when asked for.
  r = Ctl({"enterprise", "get", kCode, "--registry", registry}, {"GRPC_VERBOSITY=error"});
  EXPECT_EQ(r.code, 5) << r.err;
  EXPECT_GT(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  // A CA of another authority: the same.
  r = Ctl({"enterprise", "get", kCode, "--registry", registry, "--ca-file", ca2});
  EXPECT_EQ(r.code, 5) << r.err;
  ExpectOneLineError(r);
  EXPECT_THAT(r.err, HasSubstr("certificate verify failed (UNAVAILABLE)"));
  EXPECT_THAT(r.out, Not(HasSubstr("Canton Gear Works")));

  // Plaintext to a TLS port: no answer either.
  r = Ctl({"enterprise", "get", kCode, "--registry", registry, "--plaintext"});
  EXPECT_EQ(r.code, 5) << r.err;
  ExpectOneLineError(r);

  // The CA and the address from the environment, as a user's shell would set them.
  r = Ctl({"enterprise", "get", kCode},
          {absl::StrCat("IPLUS_REGISTRY=", registry), absl::StrCat("IPLUS_CA_FILE=", ca1)});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Canton Gear Works"));
  r = Ctl({"enterprise", "get", kCode},
          {absl::StrCat("IPLUS_REGISTRY=", registry), absl::StrCat("IPLUS_CA_FILE=", ca2)});
  EXPECT_EQ(r.code, 5) << r.err;
  // The flag wins over its variable, either way.
  r = Ctl({"enterprise", "get", kCode, "--ca-file", ca1},
          {absl::StrCat("IPLUS_REGISTRY=", registry), absl::StrCat("IPLUS_CA_FILE=", ca2)});
  EXPECT_EQ(r.code, 0) << r.err;
  r = Ctl({"enterprise", "get", kCode, "--ca-file", ca2},
          {absl::StrCat("IPLUS_REGISTRY=", registry), absl::StrCat("IPLUS_CA_FILE=", ca1)});
  EXPECT_EQ(r.code, 5) << r.err;
  // IPLUS_PLAINTEXT=true would exclude --ca-file; --plaintext=false on the line wins.
  r = Ctl(
      {"enterprise", "get", kCode, "--registry", registry, "--ca-file", ca1, "--plaintext=false"},
      {"IPLUS_PLAINTEXT=true"});
  EXPECT_EQ(r.code, 0) << r.err;

  // Files that cannot be read: rejected before any call, naming the flag.
  r = Ctl({"enterprise", "get", kCode, "--registry", registry, "--ca-file", Path("no-such.pem")});
  EXPECT_EQ(r.code, 4) << r.err;
  ExpectOneLineError(r);
  EXPECT_THAT(r.err, HasSubstr("--ca-file"));
  // --plaintext with a TLS file is bad usage.
  r = Ctl({"enterprise", "get", kCode, "--registry", registry, "--plaintext", "--ca-file", ca1});
  EXPECT_EQ(r.code, 2) << r.err;
  ExpectOneLineError(r);
  EXPECT_THAT(r.err, HasSubstr("--plaintext"));
}

TEST_F(IplusctlSecurityTest, TlsChecksTheRegistrysHostName) {
  // A certificate of the right CA for another host name: refused.
  const std::string registry = StartRegistry(ServerFiles(false, "elsewhere"), Unauthenticated());
  Result r =
      Ctl({"enterprise", "get", kCode, "--registry", registry, "--ca-file", Path("ca1.crt")});
  EXPECT_EQ(r.code, 5) << r.err;
  ExpectOneLineError(r);
  EXPECT_THAT(r.err, HasSubstr("Hostname Verification Check failed"));
  EXPECT_THAT(r.err, EndsWith("(UNAVAILABLE)\n"));
}

TEST_F(IplusctlSecurityTest, MutualTlsNeedsAClientCertificateOfTheCa) {
  const std::string registry = StartRegistry(ServerFiles(true), Unauthenticated());
  const std::vector<std::string> client1 = {"--ca-file",   Path("ca1.crt"),
                                            "--cert-file", Path("client1.crt"),
                                            "--key-file",  Path("client1.key")};
  auto with = [&](std::vector<std::string> args, const std::vector<std::string>& flags) {
    args.insert(args.end(), {"--registry", registry});
    args.insert(args.end(), flags.begin(), flags.end());
    return args;
  };

  Result r = Ctl(with(Create(kCode), client1));
  ASSERT_EQ(r.code, 0) << r.err;
  r = Ctl(with({"enterprise", "get", kCode}, client1));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Canton Gear Works"));

  // Without a client certificate, or with one of another authority: the handshake fails,
  // unavailable (docs/iplusctl.md, exit codes).
  r = Ctl(with({"enterprise", "get", kCode}, {"--ca-file", Path("ca1.crt")}));
  EXPECT_EQ(r.code, 5) << r.err;
  ExpectOneLineError(r);
  EXPECT_THAT(r.err, EndsWith("(UNAVAILABLE)\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("Canton Gear Works")));
  r = Ctl(
      with({"enterprise", "get", kCode}, {"--ca-file", Path("ca1.crt"), "--cert-file",
                                          Path("client2.crt"), "--key-file", Path("client2.key")}));
  EXPECT_EQ(r.code, 5) << r.err;
  ExpectOneLineError(r);
  // Nothing was created by a refused client.
  r = Ctl(with(Create(kOther), {"--ca-file", Path("ca1.crt")}));
  EXPECT_EQ(r.code, 5) << r.err;
  r = Ctl(with({"enterprise", "get", kOther}, client1));
  EXPECT_EQ(r.code, 3) << r.err;

  // A certificate without its key, or a key without its certificate: bad usage.
  r = Ctl(with({"enterprise", "get", kCode},
               {"--ca-file", Path("ca1.crt"), "--cert-file", Path("client1.crt")}));
  EXPECT_EQ(r.code, 2) << r.err;
  ExpectOneLineError(r);
  EXPECT_THAT(r.err, HasSubstr("--cert-file and --key-file go together"));
  r = Ctl(with({"enterprise", "get", kCode},
               {"--ca-file", Path("ca1.crt"), "--key-file", Path("client1.key")}));
  EXPECT_EQ(r.code, 2) << r.err;
  // A key file that cannot be read: rejected, naming the flag.
  r = Ctl(
      with({"enterprise", "get", kCode}, {"--ca-file", Path("ca1.crt"), "--cert-file",
                                          Path("client1.crt"), "--key-file", Path("no-such.key")}));
  EXPECT_EQ(r.code, 4) << r.err;
  ExpectOneLineError(r);
  EXPECT_THAT(r.err, HasSubstr("--key-file"));

  // The same from the environment; the flags win over their variables.
  const std::vector<std::string> env1 = {absl::StrCat("IPLUS_REGISTRY=", registry),
                                         absl::StrCat("IPLUS_CA_FILE=", Path("ca1.crt")),
                                         absl::StrCat("IPLUS_CERT_FILE=", Path("client1.crt")),
                                         absl::StrCat("IPLUS_KEY_FILE=", Path("client1.key"))};
  r = Ctl({"enterprise", "get", kCode}, env1);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Canton Gear Works"));
  const std::vector<std::string> env2 = {absl::StrCat("IPLUS_REGISTRY=", registry),
                                         absl::StrCat("IPLUS_CA_FILE=", Path("ca1.crt")),
                                         absl::StrCat("IPLUS_CERT_FILE=", Path("client2.crt")),
                                         absl::StrCat("IPLUS_KEY_FILE=", Path("client2.key"))};
  EXPECT_EQ(Ctl({"enterprise", "get", kCode}, env2).code, 5);
  r = Ctl({"enterprise", "get", kCode, "--cert-file", Path("client1.crt"), "--key-file",
           Path("client1.key")},
          env2);
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(IplusctlSecurityTest, BearerTokensOverTls) {
  AuthOptions auth;
  auth.token_file = RegistryTokenFile();
  const std::string registry = StartRegistry(ServerFiles(false), auth);
  WriteClientTokenFiles();
  // The address and the CA from the environment; tokens from flags or IPLUS_TOKEN_FILE.
  const std::vector<std::string> tls = {absl::StrCat("IPLUS_REGISTRY=", registry),
                                        absl::StrCat("IPLUS_CA_FILE=", Path("ca1.crt"))};
  auto env = [&](const std::vector<std::string>& more) {
    std::vector<std::string> e = tls;
    e.insert(e.end(), more.begin(), more.end());
    return e;
  };

  std::vector<std::string> create = Create(kCode);
  create.insert(create.end(), {"--token-file", Path("admin.token")});
  Result r = Ctl(create, tls);
  ASSERT_EQ(r.code, 0) << r.err;
  r = Ctl({"enterprise", "get", kCode, "--token-file", Path("admin.token")}, tls);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Canton Gear Works"));
  // A viewer reads.
  r = Ctl({"enterprise", "get", kCode, "--token-file", Path("viewer.token"), "--output", "json"},
          tls);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Canton Gear Works"));

  // No token, an unknown token: UNAUTHENTICATED, rejected.
  r = Ctl({"enterprise", "get", kCode}, tls);
  EXPECT_EQ(r.code, 4) << r.err;
  ExpectOneLineError(r);
  EXPECT_THAT(r.err, HasSubstr("(UNAUTHENTICATED)"));
  r = Ctl({"enterprise", "get", kCode, "--token-file", Path("unknown.token")}, tls);
  EXPECT_EQ(r.code, 4) << r.err;
  ExpectOneLineError(r);
  EXPECT_THAT(r.err, HasSubstr("(UNAUTHENTICATED)"));
  EXPECT_THAT(r.out, Not(HasSubstr("Canton Gear Works")));

  // A viewer creating an enterprise: PERMISSION_DENIED naming the role, and nothing stored.
  create = Create(kOther);
  create.insert(create.end(), {"--token-file", Path("viewer.token")});
  r = Ctl(create, tls);
  EXPECT_EQ(r.code, 4) << r.err;
  ExpectOneLineError(r);
  EXPECT_THAT(r.err, HasSubstr("role viewer may not call this method (PERMISSION_DENIED)"));
  r = Ctl({"enterprise", "get", kOther, "--token-file", Path("admin.token")}, tls);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("(NOT_FOUND)"));

  // IPLUS_TOKEN_FILE works as the flag does, and the flag wins over it.
  r = Ctl({"enterprise", "get", kCode},
          env({absl::StrCat("IPLUS_TOKEN_FILE=", Path("admin.token"))}));
  EXPECT_EQ(r.code, 0) << r.err;
  r = Ctl({"enterprise", "get", kCode},
          env({absl::StrCat("IPLUS_TOKEN_FILE=", Path("unknown.token"))}));
  EXPECT_EQ(r.code, 4) << r.err;
  r = Ctl({"enterprise", "get", kCode, "--token-file", Path("admin.token")},
          env({absl::StrCat("IPLUS_TOKEN_FILE=", Path("unknown.token"))}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Canton Gear Works"));
  r = Ctl({"enterprise", "get", kCode, "--token-file", Path("admin.token")},
          env({absl::StrCat("IPLUS_TOKEN_FILE=", Path("no-such.token"))}));
  EXPECT_EQ(r.code, 0) << r.err;
  create = Create(kOther);
  create.insert(create.end(), {"--token-file", Path("viewer.token")});
  r = Ctl(create, env({absl::StrCat("IPLUS_TOKEN_FILE=", Path("admin.token"))}));
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("(PERMISSION_DENIED)"));

  // A token file that cannot be read or holds no token: rejected before any call, naming
  // the flag.
  r = Ctl({"enterprise", "get", kCode, "--token-file", Path("no-such.token")}, tls);
  EXPECT_EQ(r.code, 4) << r.err;
  ExpectOneLineError(r);
  EXPECT_THAT(r.err, HasSubstr("--token-file"));
  r = Ctl({"enterprise", "get", kCode, "--token-file", Path("empty.token")}, tls);
  EXPECT_EQ(r.code, 4) << r.err;
  ExpectOneLineError(r);
  EXPECT_THAT(r.err, HasSubstr("holds no token"));
}

TEST_F(IplusctlSecurityTest, BearerTokensOverPlaintext) {
  AuthOptions auth;
  auth.token_file = RegistryTokenFile();
  const std::string registry = StartRegistry(TlsFiles(), auth);
  WriteClientTokenFiles();
  const std::vector<std::string> plain = {absl::StrCat("IPLUS_REGISTRY=", registry),
                                          "IPLUS_PLAINTEXT=true"};

  std::vector<std::string> create = Create(kCode);
  create.insert(create.end(), {"--token-file", Path("admin.token")});
  Result r = Ctl(create, plain);
  ASSERT_EQ(r.code, 0) << r.err;
  r = Ctl({"--plaintext", "--registry", registry, "enterprise", "get", kCode, "--token-file",
           Path("admin.token")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Canton Gear Works"));
  r = Ctl({"enterprise", "get", kCode, "--token-file", Path("unknown.token")}, plain);
  EXPECT_EQ(r.code, 4) << r.err;
  ExpectOneLineError(r);
  EXPECT_THAT(r.err, HasSubstr("(UNAUTHENTICATED)"));
  create = Create(kOther);
  create.insert(create.end(), {"--token-file", Path("viewer.token")});
  r = Ctl(create, plain);
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("(PERMISSION_DENIED)"));
  // The same tokens from the environment, with every output format.
  for (const char* output : {"table", "json", "csv"}) {
    std::vector<std::string> env = plain;
    env.push_back(absl::StrCat("IPLUS_TOKEN_FILE=", Path("admin.token")));
    env.push_back(absl::StrCat("IPLUS_OUTPUT=", output));
    r = Ctl({"enterprise", "list"}, env);
    EXPECT_EQ(r.code, 0) << output << ": " << r.err;
    EXPECT_THAT(r.out, HasSubstr(kCode)) << output;
  }
}

}  // namespace
}  // namespace iplus::ctl
