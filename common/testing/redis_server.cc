#include "common/testing/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/testing/free_port.h"

namespace iplus::test {
namespace {

constexpr int kPortAttempts = 5;

std::string FindBinary(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin", ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// One RESP bulk-string array, so that arguments may contain spaces.
std::string EncodeCommand(const std::vector<std::string>& argv) {
  std::string out = absl::StrCat("*", argv.size(), "\r\n");
  for (const std::string& arg : argv) absl::StrAppend(&out, "$", arg.size(), "\r\n", arg, "\r\n");
  return out;
}

}  // namespace

RedisServer::RedisServer() : RedisServer(Options()) {}

RedisServer::RedisServer(Options options) : options_(std::move(options)) {}

RedisServer::~RedisServer() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string RedisServer::address() const { return absl::StrCat(host(), ":", port_); }

std::string RedisServer::Log() const {
  if (dir_.empty()) return "";
  std::ifstream in(dir_ + "/redis.log");
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::Status RedisServer::Start() {
  if (running()) return absl::FailedPreconditionError("redis-server already running");
  if (binary_.empty()) {
    binary_ = FindBinary("redis-server");
    if (binary_.empty()) return absl::FailedPreconditionError("redis-server not found in PATH");
  }
  if (dir_.empty()) {
    std::error_code ec;
    std::string tmpl = (std::filesystem::temp_directory_path(ec) / "iplus-redis-XXXXXX").string();
    if (ec || mkdtemp(tmpl.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
    }
    dir_ = tmpl;
  }
  if (port_ != 0) return StartOn(port_);

  absl::Status status;
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    const int port = FreePort();
    status = StartOn(port);
    if (status.ok()) {
      port_ = port;
      return status;
    }
    // Only an early exit (typically "Address already in use") is worth another port.
    if (status.code() != absl::StatusCode::kAborted) return status;
  }
  return status;
}

absl::Status RedisServer::StartOn(int port) {
  std::vector<std::string> args = {
      binary_, "--port",       absl::StrCat(port),          "--bind", "127.0.0.1", "--save",
      "",      "--appendonly", options_.aof ? "yes" : "no", "--dir",  dir_,        "--daemonize",
      "no"};
  if (options_.aof) {
    args.insert(args.end(), {"--appendfsync", options_.appendfsync});
    // redis-server 7.0 cuts a truncated append-only file after the last whole command,
    // even inside an unfinished MULTI, so the next restart replays the lost transaction
    // into the writes that followed. Refuse truncated files and repair them the way
    // redis-check-aof does (back to before the MULTI) before every start instead.
    args.insert(args.end(), {"--aof-load-truncated", "no"});
    const std::string manifest = dir_ + "/appendonlydir/appendonly.aof.manifest";
    if (std::filesystem::exists(manifest)) {
      const std::string check = FindBinary("redis-check-aof");
      if (check.empty()) return absl::FailedPreconditionError("redis-check-aof not found in PATH");
      const std::string command = absl::StrCat("echo y | '", check, "' --fix '", manifest, "' >> '",
                                               dir_, "/redis-check-aof.log' 2>&1");
      if (std::system(command.c_str()) != 0) {
        return absl::InternalError(
            absl::StrCat("redis-check-aof --fix failed; see ", dir_, "/redis-check-aof.log"));
      }
    }
  }
  if (!options_.password.empty()) {
    args.insert(args.end(), {"--requirepass", options_.password});
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const std::string log_path = dir_ + "/redis.log";
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    return absl::InternalError(absl::StrCat("open ", log_path, ": ", std::strerror(errno)));

  // fork/exec rather than posix_spawn for PR_SET_PDEATHSIG: a crashed or killed test
  // must not leave servers behind. Between fork and exec only async-signal-safe calls.
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    close_range(3, ~0U, 0);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  pid_ = pid;

  const absl::Time deadline = absl::Now() + options_.start_timeout;
  while (absl::Now() < deadline) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::AbortedError(
          absl::StrCat("redis-server on port ", port, " exited during start-up; log:\n", Log()));
    }
    if (AnswersPing(port)) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(10));
  }
  Kill();
  return absl::UnavailableError(
      absl::StrCat("redis-server on port ", port, " did not answer PING within ",
                   absl::FormatDuration(options_.start_timeout), "; log:\n", Log()));
}

bool RedisServer::AnswersPing(int port) const {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv = absl::ToTimeval(absl::Seconds(1));
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string request;
    if (!options_.password.empty()) request = EncodeCommand({"AUTH", options_.password});
    request += EncodeCommand({"PING"});
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      // Read until PONG, an error (e.g. -LOADING), EOF or the timeout.
      std::string response;
      char buf[256];
      while (!absl::StrContains(response, "+PONG\r\n") && !absl::StrContains(response, "-")) {
        const ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        response.append(buf, static_cast<size_t>(n));
      }
      ok = absl::StrContains(response, "+PONG\r\n");
    }
  }
  close(fd);
  return ok;
}

bool RedisServer::Reap(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int wstatus = 0;
    const pid_t r = waitpid(pid_, &wstatus, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      pid_ = -1;
      return true;
    }
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

void RedisServer::Stop() {
  if (!running()) return;
  kill(pid_, SIGTERM);
  if (Reap(options_.stop_timeout)) return;
  Kill();
}

void RedisServer::Kill() {
  if (!running()) return;
  kill(pid_, SIGKILL);
  Reap(absl::InfiniteDuration());
}

}  // namespace iplus::test
