// iplus-datagen: generates the realistic evaluation data set (bench/datagen/datagen.h)
// and writes it as CSV files, loads it into a running registry and ingestion service, or
// both.
//
//   iplus-datagen --enterprises 20000 --out_dir data/
//   iplus-datagen --enterprises 20000 --plaintext
//       --registry_target 127.0.0.1:50051 --ingest_target 127.0.0.1:50052
//
// The same --seed and --enterprises always give the same data; loading it again is a
// no-op. The bearer token, when the services require one, is read from --token_file
// (never from a flag). Exit status: 0 done, 1 failed, 2 bad flags.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/datagen/datagen.h"
#include "bench/datagen/loader.h"
#include "common/grpc/tls.h"

ABSL_FLAG(uint64_t, seed, 1, "seed of the data set");
ABSL_FLAG(int64_t, enterprises, 20000, "number of enterprises");
ABSL_FLAG(std::string, out_dir, "",
          "write enterprises.csv and observations.csv into this existing directory");
ABSL_FLAG(std::string, registry_target, "", "load enterprises into this registry (host:port)");
ABSL_FLAG(std::string, ingest_target, "", "then load observations into this ingestion service");
ABSL_FLAG(bool, plaintext, false, "call the services without TLS (local use only)");
ABSL_FLAG(std::string, tls_ca_file, "", "PEM CA bundle verifying the services (TLS)");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM client certificate for mutual TLS");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, token_file, "",
          "file whose first line is the bearer token sent with every call");
ABSL_FLAG(int, enterprise_concurrency, 4, "BatchCreateEnterprises calls in flight");
ABSL_FLAG(int, streams, 8, "concurrent StreamObservations streams");
ABSL_FLAG(int, observation_batch, 1000, "observations per stream batch");
ABSL_FLAG(int, window, 2, "unacknowledged batches per stream");

namespace {

namespace dg = ::iplus::datagen;

int Usage(const std::string& message) {
  std::cerr << "iplus-datagen: " << message << "\n";
  return 2;
}

int Run() {
  dg::Options options;
  options.seed = absl::GetFlag(FLAGS_seed);
  options.enterprises = absl::GetFlag(FLAGS_enterprises);
  if (absl::Status s = dg::ValidateOptions(options); !s.ok()) {
    return Usage(absl::StrCat("--", s.message()));
  }
  const std::string out_dir = absl::GetFlag(FLAGS_out_dir);
  const std::string registry = absl::GetFlag(FLAGS_registry_target);
  const std::string ingest = absl::GetFlag(FLAGS_ingest_target);
  if (out_dir.empty() && registry.empty()) {
    return Usage("nothing to do: give --out_dir, or --registry_target and --ingest_target");
  }
  if (registry.empty() != ingest.empty()) {
    return Usage("--registry_target and --ingest_target go together");
  }

  dg::LoadOptions load;
  load.enterprise_concurrency = absl::GetFlag(FLAGS_enterprise_concurrency);
  load.streams = absl::GetFlag(FLAGS_streams);
  load.observation_batch = absl::GetFlag(FLAGS_observation_batch);
  load.window = absl::GetFlag(FLAGS_window);
  if (absl::Status s = dg::ValidateLoadOptions(load); !s.ok()) {
    return Usage(absl::StrCat("--", s.message()));
  }
  iplus::TlsFiles tls;
  tls.ca_file = absl::GetFlag(FLAGS_tls_ca_file);
  tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  const bool plaintext = absl::GetFlag(FLAGS_plaintext);
  if (!registry.empty()) {
    if (plaintext && (!tls.ca_file.empty() || tls.enabled())) {
      return Usage("--plaintext excludes the --tls_* flags");
    }
    if (absl::Status s = iplus::ValidateTlsFiles(tls); !s.ok()) {
      return Usage(std::string(s.message()));
    }
    if (const std::string path = absl::GetFlag(FLAGS_token_file); !path.empty()) {
      std::ifstream in(path);
      std::string token;
      if (!in || !std::getline(in, token)) return Usage("cannot read --token_file");
      token = std::string(absl::StripAsciiWhitespace(token));
      if (token.empty()) return Usage("--token_file holds no token");
      load.metadata.emplace_back("authorization", absl::StrCat("Bearer ", token));
    }
  }

  dg::Generator gen(options);
  if (!out_dir.empty()) {
    dg::CsvCounts counts;
    const absl::Time start = absl::Now();
    if (absl::Status s = dg::WriteCsvFiles(gen, out_dir, &counts); !s.ok()) {
      std::cerr << "iplus-datagen: " << s.message() << "\n";
      return 1;
    }
    std::printf("wrote %lld enterprises and %lld observations to %s in %.1f s\n",
                static_cast<long long>(counts.enterprises),
                static_cast<long long>(counts.observations), out_dir.c_str(),
                absl::ToDoubleSeconds(absl::Now() - start));
  }
  if (registry.empty()) return 0;

  auto credentials =
      plaintext ? grpc::InsecureChannelCredentials() : iplus::ChannelCredentialsFor(tls);
  auto e = dg::LoadEnterprises(dg::ChannelsWith(registry, credentials), gen, load);
  if (!e.ok()) {
    std::cerr << "iplus-datagen: loading enterprises: " << e.status() << "\n";
    return 1;
  }
  std::printf("enterprises: %lld created, %lld already registered, in %.1f s\n",
              static_cast<long long>(e->created), static_cast<long long>(e->existing), e->seconds);
  std::fflush(stdout);
  auto o = dg::LoadObservations(dg::ChannelsWith(ingest, credentials), gen, load);
  if (!o.ok()) {
    std::cerr << "iplus-datagen: loading observations: " << o.status() << "\n";
    return 1;
  }
  std::printf(
      "observations: %lld sent in %.1f s: %lld accepted, %lld duplicate, %lld revised, %lld "
      "rejected (%lld resent)\n",
      static_cast<long long>(o->observations), o->seconds, static_cast<long long>(o->accepted),
      static_cast<long long>(o->duplicate), static_cast<long long>(o->revised),
      static_cast<long long>(o->rejected), static_cast<long long>(o->resent));
  for (const auto& r : o->first_rejections) std::printf("  rejected: %s\n", r.c_str());
  return o->rejected == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "generate the evaluation data set; write it as CSV (--out_dir) and/or load it "
      "(--registry_target, --ingest_target)");
  absl::ParseCommandLine(argc, argv);
  return Run();
}
