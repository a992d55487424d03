#pragma once

// The PostgreSQL side of the funds benchmark: a private PostgreSQL server the benchmark
// starts itself, and the same double-entry workload as the ledger's on it.
//
// PgServer runs `initdb` into a fresh temporary directory and then `postgres` on a free
// port of 127.0.0.1 (unix socket in the data directory) with fsync on, synchronous_commit
// on and full_page_writes left at its default (on): every commit is on disk before it is
// acknowledged, as with redis-server's appendfsync always. initdb and postgres refuse to
// run as root, so a root caller runs them as an unprivileged user (the `postgres` system
// user when it exists, else `nobody`) that owns the directory. Stop() (also the
// destructor) shuts the server down and deletes the directory; the server is started
// with PR_SET_PDEATHSIG so that it dies with the benchmark even when that crashes.
//
// PgLedger keeps accounts and transfers in two tables and applies a batch of transfers
// in one transaction, through one call of a PL/pgSQL function (one round trip per batch,
// as the ledger makes one script call per batch). The function first locks every
// account of the batch in id order (SELECT ... ORDER BY id FOR UPDATE), so that
// concurrent batches never deadlock, then for each transfer: inserts the transfer row
// (its id is the primary key; an existing id is reported, not applied), adds the amount
// to the debit account's debits_posted unless the account is flagged
// debits_must_not_exceed_credits and would go below zero, and adds it to the credit
// account's credits_posted (with the mirror check). A transfer that fails leaves no
// trace; the others of the batch still apply, as unlinked transfers do in the ledger.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

// libpq's connection type, without including libpq-fe.h here.
typedef struct pg_conn PGconn;

namespace iplus::funds::bench {

// Child processes and directories to clean up when the benchmark is interrupted.
// InstallSignalCleanup() blocks SIGINT, SIGTERM and SIGHUP in the calling thread (call
// it first in main, before any thread starts, so that every thread inherits the mask)
// and starts a thread that, on one of them, sends SIGINT to every registered process
// (then SIGKILL after a grace period), deletes every registered directory and exits
// with 128 + the signal number.
void InstallSignalCleanup();
void RegisterCleanup(pid_t pid, const std::string& dir);
void UnregisterCleanup(pid_t pid);

class PgServer {
 public:
  struct Options {
    // Where initdb and postgres are.
    std::string bin_dir = "/usr/lib/postgresql/15/bin";
    // The operating-system user to run them as when the caller is root; empty: the
    // `postgres` user when it exists, else `nobody`. Ignored for other callers.
    std::string os_user;
    // Extra `-c name=value` settings for postgres.
    std::vector<std::string> settings;
    absl::Duration start_timeout = absl::Seconds(60);
    absl::Duration stop_timeout = absl::Seconds(30);
  };

  PgServer();
  explicit PgServer(Options options);
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // initdb (first call only) and postgres; returns once the server accepts connections.
  absl::Status Start();
  // Fast shutdown (SIGINT), SIGKILL after stop_timeout, then deletes the directory.
  void Stop();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  std::string data_dir() const { return dir_ + "/data"; }
  // Who runs the server ("root caller: as postgres", or "as the caller").
  const std::string& run_as() const { return run_as_; }
  // libpq connection string: TCP to 127.0.0.1:port, database postgres, user bench.
  std::string ConnInfo() const;
  // The server's log so far.
  std::string Log() const;

 private:
  absl::Status RunInitdb();
  absl::Status StartOn(int port);
  absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& args, const std::string& log);

  Options options_;
  std::string dir_;
  std::string run_as_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool drop_privileges_ = false;
  bool initialised_ = false;
  int port_ = 0;
  pid_t pid_ = -1;
};

// One transfer of the benchmark's workload.
struct PgTransfer {
  std::string id;
  std::string debit_account_id;
  std::string credit_account_id;
  int64_t amount = 0;
};

// Result codes the function returns per transfer; the numbers are the ledger's
// CreateTransferResult codes.
enum PgResult : int {
  kPgOk = 1,
  kPgExists = 2,
  kPgAccountsMustBeDifferent = 10,
  kPgDebitAccountNotFound = 17,
  kPgCreditAccountNotFound = 18,
  kPgExceedsCredits = 30,
  kPgExceedsDebits = 31,
};

struct PgTotals {
  int64_t accounts = 0;
  int64_t transfers = 0;
  int64_t debits_posted = 0;
  int64_t credits_posted = 0;
  // Accounts flagged debits_must_not_exceed_credits whose debits exceed their credits.
  int64_t flagged_negative = 0;
};

class PgLedger {
 public:
  // One connection; not thread-safe: one PgLedger per client thread.
  static absl::StatusOr<std::unique_ptr<PgLedger>> Connect(const std::string& conninfo);
  ~PgLedger();
  PgLedger(const PgLedger&) = delete;
  PgLedger& operator=(const PgLedger&) = delete;

  // Creates the tables and the function (in a fresh database).
  absl::Status CreateSchema();
  // Accounts id_prefix0 .. id_prefix(n-1), all flagged debits_must_not_exceed_credits,
  // each credited with opening_balance (and a matching total on one unflagged source
  // account, so that debits equal credits).
  absl::Status CreateAccounts(const std::string& id_prefix, int n, int64_t opening_balance);
  // Applies the batch in one transaction; one result code per transfer, in order.
  absl::StatusOr<std::vector<int>> CreateTransfers(const std::vector<PgTransfer>& batch);
  // Commits of a one-row update, one per call: the per-commit floor.
  absl::Status CommitOneRow();
  absl::StatusOr<PgTotals> Totals();
  // Bytes of write-ahead log written since the cluster was created (pg_current_wal_lsn).
  absl::StatusOr<int64_t> WalBytes();
  // SHOW name.
  absl::StatusOr<std::string> Show(const std::string& name);
  absl::StatusOr<std::string> Version();

 private:
  explicit PgLedger(PGconn* conn) : conn_(conn) {}
  absl::Status Exec(const std::string& sql);
  absl::Status Prepare();

  PGconn* conn_;
  bool prepared_ = false;
};

}  // namespace iplus::funds::bench
