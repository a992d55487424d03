#include "common/metrics/exposer.h"
#include <atomic>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/metrics/build_info.h"
#include "common/metrics/counter.h"
#include "common/metrics/family.h"
#include "common/metrics/gauge.h"
#include "common/metrics/histogram.h"
#include "common/metrics/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::metrics {
namespace {

using ::testing::HasSubstr;

// ---- Small test-only helpers: HTTP/1.0 GET over a POSIX socket, free ports, child
// processes and temporary directories. ----

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

std::optional<HttpResponse> HttpRequest(int port, const std::string& target,
                                        const std::string& method = "GET") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return std::nullopt;
  }
  const std::string request =
      absl::StrCat(method, " ", target, " HTTP/1.0\r\nHost: 127.0.0.1:", port, "\r\n\r\n");
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return std::nullopt;
  }
  std::string raw;
  char buffer[8192];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) raw.append(buffer, n);
  close(fd);
  if (n < 0) return std::nullopt;

  const size_t header_end = raw.find("\r\n\r\n");
  if (header_end == std::string::npos) return std::nullopt;
  HttpResponse response;
  response.body = raw.substr(header_end + 4);
  std::vector<std::string> lines = absl::StrSplit(raw.substr(0, header_end), "\r\n");
  std::vector<std::string> status_line = absl::StrSplit(lines[0], ' ');
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &response.status)) {
    return std::nullopt;
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    response.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  return response;
}

// A port that was free a moment ago (the OS picks it); good enough for a child process
// that is started right away.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "iplus_metrics_XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs argv[0] (looked up in PATH) with stdin from `stdin_path` (if not empty) and
// stdout+stderr to `output_path`. Returns the pid, or -1.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& stdin_path,
            const std::string& output_path) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  // Child: only async-signal-safe calls until exec.
  if (!stdin_path.empty()) {
    const int in = open(stdin_path.c_str(), O_RDONLY);
    if (in < 0 || dup2(in, STDIN_FILENO) < 0) _exit(126);
  }
  const int out = open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0) _exit(126);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  _exit(127);
}

// Exit code of a process run to completion, -1 if it could not be waited for.
int RunToCompletion(const std::vector<std::string>& argv, const std::string& stdin_path,
                    const std::string& output_path) {
  const pid_t pid = Spawn(argv, stdin_path, output_path);
  if (pid < 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A long-running child, stopped with SIGTERM (then SIGKILL after 10 s) on destruction.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& output_path)
      : pid_(Spawn(argv, "", output_path)) {}
  ~ChildProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  bool started() const { return pid_ > 0; }
  bool running() const { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_;
};

std::string UrlEncode(absl::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

// ---- Fixture: a registry with conventional metrics behind an exposer on port 0. ----

class MetricsExposerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_shared<Registry>();
    auto& requests = BuildCounter()
                         .Name("iplus_test_requests_total")
                         .Help("Requests seen by the test.")
                         .Register(*registry_);
    requests.Add({{"method", "get"}}).Increment(7);
    requests.Add({{"method", "put"}}).Increment(2);
    BuildGauge()
        .Name("iplus_test_queue_depth")
        .Help("Items waiting, with \\ and\nnewline in help.")
        .Register(*registry_)
        .Add({{"queue", "a\"b\\c\nd"}})
        .Set(4.5);
    auto& latency = BuildHistogram()
                        .Name("iplus_test_latency_seconds")
                        .Help("Latency of test operations.")
                        .Register(*registry_)
                        .Add({{"op", "read"}}, DefaultLatencyBuckets());
    latency.Observe(0.003);
    latency.Observe(0.2);
    latency.Observe(20);
    SetBuildInfo(*registry_, "metrics_test", "0.0.1");

    auto exposer = Exposer::Create("127.0.0.1:0");
    ASSERT_TRUE(exposer.ok()) << exposer.status();
    exposer_ = std::move(*exposer);
    exposer_->RegisterCollectable(registry_);
  }

  std::shared_ptr<Registry> registry_;
  std::unique_ptr<Exposer> exposer_;
};

TEST_F(MetricsExposerTest, ServesMetricsWithContentType) {
  ASSERT_GT(exposer_->port(), 0);
  auto response = HttpRequest(exposer_->port(), "/metrics");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(response->headers["content-length"], absl::StrCat(response->body.size()));
  EXPECT_EQ(response->body, exposer_->Scrape());
  EXPECT_THAT(response->body, HasSubstr("# TYPE iplus_test_requests_total counter\n"
                                        "iplus_test_requests_total{method=\"get\"} 7\n"
                                        "iplus_test_requests_total{method=\"put\"} 2\n"));
  EXPECT_THAT(response->body, HasSubstr("iplus_test_queue_depth{queue=\"a\\\"b\\\\c\\nd\"} 4.5\n"));
  EXPECT_THAT(response->body,
              HasSubstr("iplus_test_latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 3\n"));
  EXPECT_THAT(response->body, HasSubstr("iplus_build_info{service=\"metrics_test\""));
}

TEST_F(MetricsExposerTest, SeesUpdatesBetweenScrapes) {
  registry_->Collect();  // no side effects
  BuildCounter()
      .Name("iplus_test_requests_total")
      .Register(*registry_)
      .Add({{"method", "get"}})
      .Increment(5);
  auto response = HttpRequest(exposer_->port(), "/metrics");
  ASSERT_TRUE(response.has_value());
  EXPECT_THAT(response->body, HasSubstr("iplus_test_requests_total{method=\"get\"} 12\n"));
}

TEST_F(MetricsExposerTest, ReadyzFollowsTheReadinessFunction) {
  auto unset = HttpRequest(exposer_->port(), "/readyz");
  ASSERT_TRUE(unset.has_value());
  EXPECT_EQ(unset->status, 200);
  std::atomic<bool> ready{false};
  exposer_->SetReadiness([&] { return ready.load(); });
  auto not_ready = HttpRequest(exposer_->port(), "/readyz");
  ASSERT_TRUE(not_ready.has_value());
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(not_ready->body, "not ready");
  ready = true;
  auto now_ready = HttpRequest(exposer_->port(), "/readyz");
  ASSERT_TRUE(now_ready.has_value());
  EXPECT_EQ(now_ready->status, 200);
  EXPECT_EQ(now_ready->body, "ready");
  exposer_->SetReadiness(nullptr);
}

TEST_F(MetricsExposerTest, HealthzAndNotFound) {
  auto health = HttpRequest(exposer_->port(), "/healthz");
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok");
  for (const char* path : {"/", "/metric", "/metrics/x", "/other"}) {
    auto missing = HttpRequest(exposer_->port(), path);
    ASSERT_TRUE(missing.has_value()) << path;
    EXPECT_EQ(missing->status, 404) << path;
  }
  auto post = HttpRequest(exposer_->port(), "/metrics", "POST");
  ASSERT_TRUE(post.has_value());
  EXPECT_EQ(post->status, 405);
  auto head = HttpRequest(exposer_->port(), "/metrics", "HEAD");
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
}

TEST_F(MetricsExposerTest, ForgetsDestroyedCollectablesAndRemoved) {
  auto other = std::make_shared<Registry>();
  BuildGauge().Name("iplus_test_other").Register(*other).Add({}).Set(1);
  exposer_->RegisterCollectable(other);
  exposer_->RegisterCollectable(other);  // no duplicate output
  auto body = HttpRequest(exposer_->port(), "/metrics")->body;
  EXPECT_EQ(body.find("iplus_test_other 1\n"), body.rfind("iplus_test_other 1\n"));
  EXPECT_THAT(body, HasSubstr("iplus_test_other 1\n"));
  other.reset();
  body = HttpRequest(exposer_->port(), "/metrics")->body;
  EXPECT_THAT(body, Not(HasSubstr("iplus_test_other")));
  EXPECT_THAT(body, HasSubstr("iplus_test_requests_total"));
  exposer_->RemoveCollectable(registry_);
  auto empty = HttpRequest(exposer_->port(), "/metrics");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->status, 200);
  EXPECT_EQ(empty->body, "");
}

TEST(MetricsExposerCreateTest, RejectsBadAddressesAndBusyPorts) {
  EXPECT_EQ(Exposer::Create("127.0.0.1:http").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Exposer::Create("127.0.0.1:70000").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Exposer::Create("localhost:0").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Exposer::Create("").status().code(), absl::StatusCode::kInvalidArgument);

  auto first = Exposer::Create("127.0.0.1:0");
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Exposer::Create(absl::StrCat("127.0.0.1:", (*first)->port()));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
}

TEST(MetricsExposerCreateTest, AcceptsPortOnlyForms) {
  const int port = FreePort();
  ASSERT_GT(port, 0);
  auto exposer = Exposer::Create(absl::StrCat(":", port));
  ASSERT_TRUE(exposer.ok()) << exposer.status();
  EXPECT_EQ((*exposer)->port(), port);
  auto response = HttpRequest(port, "/healthz");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

TEST_F(MetricsExposerTest, PromtoolAcceptsTheExposition) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  auto response = HttpRequest(exposer_->port(), "/metrics");
  ASSERT_TRUE(response.has_value());
  const std::string metrics_path = dir.path() + "/metrics.txt";
  const std::string output_path = dir.path() + "/promtool.out";
  std::ofstream(metrics_path) << response->body;

  const int code = RunToCompletion({"promtool", "check", "metrics"}, metrics_path, output_path);
  const std::string output = ReadFile(output_path);
  EXPECT_EQ(code, 0) << output;
  EXPECT_EQ(output, "") << "promtool reported problems";

  // The check must be able to fail: a counter without the _total suffix is linted.
  std::ofstream(metrics_path) << "# HELP bad_counter x\n# TYPE bad_counter counter\n"
                                 "bad_counter 1\n";
  EXPECT_NE(RunToCompletion({"promtool", "check", "metrics"}, metrics_path, output_path), 0);
  EXPECT_THAT(ReadFile(output_path), HasSubstr("_total"));
}

// Extracts the sample value of the first result of a Prometheus instant query, e.g.
// ..."value":[1700000000.123,"1"]... → "1".
std::optional<std::string> QueryValue(int prometheus_port, const std::string& query,
                                      std::string* raw_body = nullptr) {
  auto response =
      HttpRequest(prometheus_port, absl::StrCat("/api/v1/query?query=", UrlEncode(query)));
  if (!response.has_value() || response->status != 200) return std::nullopt;
  if (raw_body != nullptr) *raw_body = response->body;
  const std::string marker = "\"value\":[";
  size_t start = response->body.find(marker);
  if (start == std::string::npos) return std::nullopt;
  start = response->body.find(",\"", start + marker.size());
  if (start == std::string::npos) return std::nullopt;
  start += 2;
  const size_t end = response->body.find('"', start);
  if (end == std::string::npos) return std::nullopt;
  return response->body.substr(start, end - start);
}

TEST_F(MetricsExposerTest, RealPrometheusScrapesTheExposer) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string job = "iplus_metrics_test";
  const std::string config_path = dir.path() + "/prometheus.yml";
  std::ofstream(config_path) << "global:\n"
                                "  scrape_interval: 1s\n"
                                "  scrape_timeout: 1s\n"
                                "scrape_configs:\n"
                                "  - job_name: "
                             << job
                             << "\n"
                                "    static_configs:\n"
                                "      - targets: ['127.0.0.1:"
                             << exposer_->port() << "']\n";

  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string log_path = dir.path() + "/prometheus.log";
  ChildProcess prometheus(
      {"prometheus", "--config.file=" + config_path, "--storage.tsdb.path=" + dir.path() + "/data",
       absl::StrCat("--web.listen-address=127.0.0.1:", port)},
      log_path);
  ASSERT_TRUE(prometheus.started());

  const std::string up_query = absl::StrCat("up{job=\"", job, "\"}");
  const std::string requests_query =
      absl::StrCat("iplus_test_requests_total{job=\"", job, "\",method=\"get\"}");
  const std::string count_query =
      absl::StrCat("iplus_test_latency_seconds_count{job=\"", job, "\"}");
  const std::string queue_query = absl::StrCat("iplus_test_queue_depth{job=\"", job, "\"}");
  std::optional<std::string> up, requests, count, queue;
  std::string queue_body;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(prometheus.running()) << ReadFile(log_path);
    up = QueryValue(port, up_query);
    if (up == "1") {
      requests = QueryValue(port, requests_query);
      count = QueryValue(port, count_query);
      queue = QueryValue(port, queue_query, &queue_body);
      if (requests.has_value() && count.has_value() && queue.has_value()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_EQ(up, "1") << "target never up; prometheus log:\n" << ReadFile(log_path);
  EXPECT_EQ(requests, "7");
  EXPECT_EQ(count, "3");
  EXPECT_EQ(queue, "4.5");
  // Prometheus parsed the escaped label value back to a"b\c<newline>d, which its JSON
  // answer escapes again.
  EXPECT_THAT(queue_body, HasSubstr(R"("queue":"a\"b\\c\nd")"));
}

}  // namespace
}  // namespace iplus::metrics
