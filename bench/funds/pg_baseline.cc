#include "bench/funds/pg_baseline.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/testing/free_port.h"

namespace iplus::funds::bench {
namespace {

constexpr int kPortAttempts = 5;

// --- signal cleanup -------------------------------------------------------------------

std::mutex& CleanupMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}
std::map<pid_t, std::string>& CleanupEntries() {
  static auto* entries = new std::map<pid_t, std::string>;
  return *entries;
}

void CleanUpAndExit(int sig) {
  std::map<pid_t, std::string> entries;
  {
    std::lock_guard<std::mutex> lock(CleanupMutex());
    entries = CleanupEntries();
  }
  std::fprintf(stderr, "\nsignal %d: stopping %zu server(s) and deleting their directories\n", sig,
               entries.size());
  for (const auto& [pid, dir] : entries) kill(pid, SIGINT);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  for (const auto& [pid, dir] : entries) {
    while (waitpid(pid, nullptr, WNOHANG) == 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, WNOHANG);
    std::error_code ignored;
    if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
  }
  std::_Exit(128 + sig);
}

// --- libpq helpers ----------------------------------------------------------------------

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

absl::Status ResultStatus(PGconn* conn, const Result& r, absl::string_view what) {
  const ExecStatusType s = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) return absl::OkStatus();
  std::string message = r ? PQresultErrorMessage(r.get()) : PQerrorMessage(conn);
  return absl::InternalError(absl::StrCat(what, ": ", absl::StripTrailingAsciiWhitespace(message)));
}

// A PostgreSQL array literal of plain tokens ([A-Za-z0-9._:-] ids and integers need no
// quoting).
template <typename Range, typename Fn>
std::string ArrayLiteral(const Range& items, Fn field) {
  std::string out = "{";
  bool first = true;
  for (const auto& item : items) {
    if (!first) out.push_back(',');
    first = false;
    absl::StrAppend(&out, field(item));
  }
  out.push_back('}');
  return out;
}

constexpr char kSchema[] = R"sql(
-- flags: 1 debits_must_not_exceed_credits, 2 credits_must_not_exceed_debits.
CREATE TABLE accounts (
  id text PRIMARY KEY,
  ledger int NOT NULL,
  flags int NOT NULL,
  debits_pending bigint NOT NULL DEFAULT 0,
  debits_posted bigint NOT NULL DEFAULT 0,
  credits_pending bigint NOT NULL DEFAULT 0,
  credits_posted bigint NOT NULL DEFAULT 0,
  create_time timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE transfers (
  id text PRIMARY KEY,
  debit_account_id text NOT NULL,
  credit_account_id text NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  ledger int NOT NULL,
  type int NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE commit_probe (id int PRIMARY KEY, n bigint NOT NULL);
INSERT INTO commit_probe VALUES (1, 0);

-- One batch, applied in the caller's transaction (one statement: one transaction).
-- Returns one CreateTransferResult code per transfer.
CREATE FUNCTION create_transfers(p_ids text[], p_debits text[], p_credits text[],
                                 p_amounts bigint[], p_ledger int, p_type int)
RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE
  n int := cardinality(p_ids);
  results int[] := array_fill(0, ARRAY[n]);
BEGIN
  -- Every account of the batch, locked in id order: concurrent batches never deadlock.
  PERFORM 1 FROM accounts WHERE id = ANY (p_debits || p_credits) ORDER BY id FOR UPDATE;
  FOR i IN 1 .. n LOOP
    IF p_debits[i] = p_credits[i] THEN
      results[i] := 10;
      CONTINUE;
    END IF;
    INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger, type)
      VALUES (p_ids[i], p_debits[i], p_credits[i], p_amounts[i], p_ledger, p_type)
      ON CONFLICT (id) DO NOTHING;
    IF NOT FOUND THEN
      results[i] := 2;
      CONTINUE;
    END IF;
    UPDATE accounts SET debits_posted = debits_posted + p_amounts[i]
      WHERE id = p_debits[i]
        AND (flags & 1 = 0 OR debits_pending + debits_posted + p_amounts[i] <= credits_posted);
    IF NOT FOUND THEN
      DELETE FROM transfers WHERE id = p_ids[i];
      results[i] := CASE WHEN EXISTS (SELECT 1 FROM accounts WHERE id = p_debits[i])
                         THEN 30 ELSE 17 END;
      CONTINUE;
    END IF;
    UPDATE accounts SET credits_posted = credits_posted + p_amounts[i]
      WHERE id = p_credits[i]
        AND (flags & 2 = 0 OR credits_pending + credits_posted + p_amounts[i] <= debits_posted);
    IF NOT FOUND THEN
      UPDATE accounts SET debits_posted = debits_posted - p_amounts[i] WHERE id = p_debits[i];
      DELETE FROM transfers WHERE id = p_ids[i];
      results[i] := CASE WHEN EXISTS (SELECT 1 FROM accounts WHERE id = p_credits[i])
                         THEN 31 ELSE 18 END;
      CONTINUE;
    END IF;
    results[i] := 1;
  END LOOP;
  RETURN results;
END
$$;
)sql";

}  // namespace

void InstallSignalCleanup() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    CleanUpAndExit(sig);
  }).detach();
}

void RegisterCleanup(pid_t pid, const std::string& dir) {
  std::lock_guard<std::mutex> lock(CleanupMutex());
  CleanupEntries()[pid] = dir;
}

void UnregisterCleanup(pid_t pid) {
  std::lock_guard<std::mutex> lock(CleanupMutex());
  CleanupEntries().erase(pid);
}

// --- PgServer ---------------------------------------------------------------------------

PgServer::PgServer() : PgServer(Options()) {}
PgServer::PgServer(Options options) : options_(std::move(options)) {}
PgServer::~PgServer() { Stop(); }

std::string PgServer::ConnInfo() const {
  return absl::StrCat("host=127.0.0.1 port=", port_,
                      " dbname=postgres user=bench connect_timeout=10");
}

std::string PgServer::Log() const {
  if (dir_.empty()) return "";
  std::ifstream in(dir_ + "/postgres.log");
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::StatusOr<pid_t> PgServer::Spawn(const std::vector<std::string>& args,
                                      const std::string& log) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::InternalError(absl::StrCat("open ", log, ": ", strerror(errno)));
  if (drop_privileges_ && fchown(log_fd, uid_, gid_) != 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("chown ", log, ": ", strerror(errno)));
  }
  const bool drop = drop_privileges_;
  const uid_t uid = uid_;
  const gid_t gid = gid_;
  const pid_t parent = getpid();
  // fork/exec for PR_SET_PDEATHSIG and the change of user; only async-signal-safe calls
  // between fork and exec.
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    // After the change of user: changing the effective user clears the death signal.
    if (drop) {
      if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(126);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    close_range(3, ~0U, 0);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  return pid;
}

absl::Status PgServer::RunInitdb() {
  if (geteuid() == 0) {
    std::string user = options_.os_user;
    if (user.empty()) user = getpwnam("postgres") != nullptr ? "postgres" : "nobody";
    const passwd* pw = getpwnam(user.c_str());
    if (pw == nullptr) return absl::FailedPreconditionError(absl::StrCat("no user ", user));
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    drop_privileges_ = true;
    run_as_ = absl::StrCat("as ", user, " (initdb and postgres refuse root)");
    if (chown(dir_.c_str(), uid_, gid_) != 0) {
      return absl::InternalError(absl::StrCat("chown ", dir_, ": ", strerror(errno)));
    }
  } else {
    run_as_ = "as the caller";
  }
  const std::string log = dir_ + "/initdb.log";
  auto pid = Spawn({options_.bin_dir + "/initdb", "-D", data_dir(), "-U", "bench", "--auth=trust",
                    "--encoding=UTF8", "--no-locale", "--no-sync"},
                   log);
  if (!pid.ok()) return pid.status();
  RegisterCleanup(*pid, dir_);
  int wstatus = 0;
  while (waitpid(*pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  UnregisterCleanup(*pid);
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    std::ifstream in(log);
    std::stringstream content;
    content << in.rdbuf();
    return absl::InternalError(
        absl::StrCat("initdb failed (status ", wstatus, "):\n", content.str()));
  }
  initialised_ = true;
  return absl::OkStatus();
}

absl::Status PgServer::Start() {
  if (pid_ > 0) return absl::FailedPreconditionError("postgres already running");
  if (!std::filesystem::exists(options_.bin_dir + "/postgres")) {
    return absl::FailedPreconditionError(
        absl::StrCat(options_.bin_dir, "/postgres not found (PostgreSQL 15 server)"));
  }
  if (dir_.empty()) {
    std::error_code ec;
    std::string tmpl = (std::filesystem::temp_directory_path(ec) / "iplus-pg-XXXXXX").string();
    if (ec || mkdtemp(tmpl.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp: ", strerror(errno)));
    }
    dir_ = tmpl;
  }
  if (!initialised_) {
    if (absl::Status s = RunInitdb(); !s.ok()) return s;
  }
  if (port_ != 0) return StartOn(port_);
  absl::Status status;
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    const int port = test::FreePort();
    status = StartOn(port);
    if (status.ok()) {
      port_ = port;
      return status;
    }
    if (status.code() != absl::StatusCode::kAborted) return status;
  }
  return status;
}

absl::Status PgServer::StartOn(int port) {
  std::vector<std::string> args = {options_.bin_dir + "/postgres",
                                   "-D",
                                   data_dir(),
                                   "-p",
                                   absl::StrCat(port),
                                   "-k",
                                   data_dir(),
                                   "-c",
                                   "listen_addresses=127.0.0.1",
                                   "-c",
                                   "fsync=on",
                                   "-c",
                                   "synchronous_commit=on",
                                   "-c",
                                   "max_connections=64"};
  for (const std::string& s : options_.settings) args.insert(args.end(), {"-c", s});
  auto pid = Spawn(args, dir_ + "/postgres.log");
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  RegisterCleanup(pid_, dir_);
  const std::string conninfo =
      absl::StrCat("host=127.0.0.1 port=", port, " dbname=postgres user=bench connect_timeout=2");
  const absl::Time deadline = absl::Now() + options_.start_timeout;
  while (absl::Now() < deadline) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      UnregisterCleanup(pid_);
      pid_ = -1;
      return absl::AbortedError(
          absl::StrCat("postgres on port ", port, " exited during start-up; log:\n", Log()));
    }
    if (PQping(conninfo.c_str()) == PQPING_OK) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(50));
  }
  Stop();
  return absl::UnavailableError(absl::StrCat("postgres on port ", port,
                                             " did not accept connections in time; log:\n", Log()));
}

void PgServer::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGINT);  // fast shutdown
    const absl::Time deadline = absl::Now() + options_.stop_timeout;
    bool reaped = false;
    while (absl::Now() < deadline) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        reaped = true;
        break;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (!reaped) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    UnregisterCleanup(pid_);
    pid_ = -1;
  }
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    dir_.clear();
    initialised_ = false;
  }
}

// --- PgLedger ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<PgLedger>> PgLedger::Connect(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    std::string message = conn ? PQerrorMessage(conn) : "out of memory";
    if (conn) PQfinish(conn);
    return absl::UnavailableError(absl::StrCat("connect to PostgreSQL: ", message));
  }
  return std::unique_ptr<PgLedger>(new PgLedger(conn));
}

PgLedger::~PgLedger() { PQfinish(conn_); }

absl::Status PgLedger::Exec(const std::string& sql) {
  Result r(PQexec(conn_, sql.c_str()));
  return ResultStatus(conn_, r, sql.substr(0, 60));
}

absl::Status PgLedger::CreateSchema() { return Exec(kSchema); }

absl::Status PgLedger::CreateAccounts(const std::string& id_prefix, int n,
                                      int64_t opening_balance) {
  // The prefix is the benchmark's own ([a-z-]); n and the balance are integers.
  return Exec(
      absl::StrCat("BEGIN;"
                   "INSERT INTO accounts (id, ledger, flags, credits_posted) SELECT '",
                   id_prefix, "' || g, 1, 1, ", opening_balance, " FROM generate_series(0, ", n - 1,
                   ") AS g;"
                   "INSERT INTO accounts (id, ledger, flags, debits_posted) VALUES ('",
                   id_prefix, "source', 1, 0, ", opening_balance, "::bigint * ", n,
                   ");"
                   "COMMIT; ANALYZE accounts;"));
}

absl::Status PgLedger::Prepare() {
  if (prepared_) return absl::OkStatus();
  Result r(PQprepare(conn_, "create_transfers",
                     "SELECT create_transfers($1::text[], $2::text[], $3::text[], "
                     "$4::bigint[], 1, 1)",
                     4, nullptr));
  if (absl::Status s = ResultStatus(conn_, r, "prepare create_transfers"); !s.ok()) return s;
  Result r2(PQprepare(conn_, "commit_probe", "UPDATE commit_probe SET n = n + 1 WHERE id = 1", 0,
                      nullptr));
  if (absl::Status s = ResultStatus(conn_, r2, "prepare commit_probe"); !s.ok()) return s;
  prepared_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int>> PgLedger::CreateTransfers(const std::vector<PgTransfer>& batch) {
  if (absl::Status s = Prepare(); !s.ok()) return s;
  const std::string ids = ArrayLiteral(batch, [](const PgTransfer& t) { return t.id; });
  const std::string debits =
      ArrayLiteral(batch, [](const PgTransfer& t) { return t.debit_account_id; });
  const std::string credits =
      ArrayLiteral(batch, [](const PgTransfer& t) { return t.credit_account_id; });
  const std::string amounts =
      ArrayLiteral(batch, [](const PgTransfer& t) { return absl::StrCat(t.amount); });
  const char* values[4] = {ids.c_str(), debits.c_str(), credits.c_str(), amounts.c_str()};
  Result r(PQexecPrepared(conn_, "create_transfers", 4, values, nullptr, nullptr, 0));
  if (absl::Status s = ResultStatus(conn_, r, "create_transfers"); !s.ok()) return s;
  if (PQntuples(r.get()) != 1) return absl::InternalError("create_transfers: no row");
  absl::string_view text = PQgetvalue(r.get(), 0, 0);
  text = absl::StripPrefix(absl::StripSuffix(text, "}"), "{");
  std::vector<int> results;
  results.reserve(batch.size());
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int v = 0;
    if (!absl::SimpleAtoi(part, &v)) return absl::InternalError("create_transfers: bad result");
    results.push_back(v);
  }
  if (results.size() != batch.size()) {
    return absl::InternalError(absl::StrCat("create_transfers: ", results.size(), " results for ",
                                            batch.size(), " transfers"));
  }
  return results;
}

absl::Status PgLedger::CommitOneRow() {
  if (absl::Status s = Prepare(); !s.ok()) return s;
  Result r(PQexecPrepared(conn_, "commit_probe", 0, nullptr, nullptr, nullptr, 0));
  return ResultStatus(conn_, r, "commit_probe");
}

absl::StatusOr<PgTotals> PgLedger::Totals() {
  Result r(PQexec(conn_,
                  "SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM transfers), "
                  "sum(debits_posted), sum(credits_posted), "
                  "count(*) FILTER (WHERE flags & 1 = 1 AND "
                  "debits_pending + debits_posted > credits_posted) FROM accounts"));
  if (absl::Status s = ResultStatus(conn_, r, "totals"); !s.ok()) return s;
  PgTotals t;
  int64_t* fields[] = {&t.accounts, &t.transfers, &t.debits_posted, &t.credits_posted,
                       &t.flagged_negative};
  for (int i = 0; i < 5; ++i) {
    if (!absl::SimpleAtoi(PQgetvalue(r.get(), 0, i), fields[i])) {
      return absl::InternalError("totals: bad value");
    }
  }
  return t;
}

absl::StatusOr<int64_t> PgLedger::WalBytes() {
  Result r(PQexec(conn_, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint"));
  if (absl::Status s = ResultStatus(conn_, r, "wal bytes"); !s.ok()) return s;
  int64_t bytes = 0;
  if (!absl::SimpleAtoi(PQgetvalue(r.get(), 0, 0), &bytes)) {
    return absl::InternalError("wal bytes: bad value");
  }
  return bytes;
}

absl::StatusOr<std::string> PgLedger::Show(const std::string& name) {
  Result r(PQexec(conn_, absl::StrCat("SHOW ", name).c_str()));
  if (absl::Status s = ResultStatus(conn_, r, "SHOW"); !s.ok()) return s;
  return std::string(PQgetvalue(r.get(), 0, 0));
}

absl::StatusOr<std::string> PgLedger::Version() {
  Result r(PQexec(conn_, "SHOW server_version"));
  if (absl::Status s = ResultStatus(conn_, r, "version"); !s.ok()) return s;
  return std::string(PQgetvalue(r.get(), 0, 0));
}

}  // namespace iplus::funds::bench
