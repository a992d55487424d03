#pragma once

// Bulk imports from CSV files: observations through IngestService.StreamObservations and
// enterprises through RegistryService.BatchCreateEnterprises. Both send numbered
// batches with a window of batches in flight, resend retryable rejects with back-off,
// write every rejected row with its reason to a rejects file, report progress, and keep
// a checkpoint next to the input so that an interrupted import resumes where it stopped
// (rows resent after the checkpoint come back as duplicates and are counted as such).

#include <atomic>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "tools/iplusctl/client.h"

namespace iplus::ctl {

struct ImportOptions {
  std::string input;       // the CSV file
  std::string rejects;     // "" means <input>.rejects.csv
  std::string checkpoint;  // "" means <input>.checkpoint
  int batch_size = 1000;   // rows per batch
  int window = 4;          // batches in flight
  int max_attempts = 6;    // sends of one row (or batch) before it counts as rejected
  absl::Duration backoff = absl::Milliseconds(200);  // first retry delay, doubled each time
  absl::Duration max_backoff = absl::Seconds(10);
  bool restart = false;  // ignore an existing checkpoint
  // Progress: a bar redrawn on a terminal, else a line every interval; none when quiet.
  bool tty = false;
  bool quiet = false;
  absl::Duration progress_interval = absl::Seconds(10);
  // Set (e.g. by a signal handler) to stop sending and end after the batches in flight.
  const std::atomic<bool>* interrupted = nullptr;
};

struct ImportSummary {
  std::string kind;  // "observations" or "enterprises"
  int64_t rows = 0;  // rows read in this run
  int64_t sent = 0;  // item sends, resends included
  int64_t resent = 0;
  // Observations: ACCEPTED, DUPLICATE, REVISED, REJECTED. Enterprises: CREATED, EXISTING,
  // REJECTED.
  std::map<std::string, int64_t> outcomes;
  // Rejected rows by reason (a RejectReason name without its prefix, a status code name,
  // or MALFORMED_ROW for a row the client could not read).
  std::map<std::string, int64_t> reject_reasons;
  int64_t resumed_from_row = 0;  // 0: from the start
  double seconds = 0;
  std::string rejects_file;
  bool complete = false;     // every row of the file was handled
  bool interrupted = false;  // stopped by a signal; resumable
};

// Runs the import. A non-OK status is a failure of the whole import (file unreadable:
// INVALID_ARGUMENT or NOT_FOUND; a call error that is not retryable, or retries
// exhausted); the checkpoint is kept so the same command resumes.
grpc::Status ImportObservations(Client& client, const ImportOptions& options,
                                std::ostream& progress, ImportSummary* summary);
grpc::Status ImportEnterprises(Client& client, const ImportOptions& options, std::ostream& progress,
                               ImportSummary* summary);

// The report id used for a row without one: "row-" and 16 hex digits of a hash of
// enterprise code, indicator, period and value text, so the same row always gets the same
// id and a changed value a new one.
std::string DerivedReportId(const std::string& enterprise_code, const std::string& indicator,
                            const std::string& period, const std::string& value);

// The summary as lines for people, or as one JSON object.
std::string SummaryText(const ImportSummary& summary);
std::string SummaryJson(const ImportSummary& summary);

}  // namespace iplus::ctl
