#include "tools/iplusctl/import.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/hash/fnv.h"
#include "iplus/ingest/v1/ingest.grpc.pb.h"
#include "iplus/registry/v1/registry.grpc.pb.h"
#include "tools/iplusctl/csv.h"
#include "tools/iplusctl/enums.h"
#include "tools/iplusctl/format.h"

namespace iplus::ctl {

namespace iv1 = ::iplus::ingest::v1;
namespace rv1 = ::iplus::registry::v1;

std::string DerivedReportId(const std::string& enterprise_code, const std::string& indicator,
                            const std::string& period, const std::string& value) {
  const std::string key = absl::StrCat(enterprise_code, "\x1f", indicator, "\x1f", period, "\x1f",
                                       absl::StripAsciiWhitespace(value));
  return absl::StrFormat("row-%016x", Fnv1a64(key));
}

namespace {

struct Row {
  int64_t number = 0;  // 1-based data row number (the header is row 0)
  int64_t offset = 0;  // byte offset of the record
  std::vector<std::string> fields;
  int attempts = 0;
};

struct Batch {
  int64_t id = 0;
  std::vector<Row> rows;
  int attempts = 0;
};

// What both imports share: the file, the header, the checkpoint, the rejects file, the
// counts and the progress display. Thread-safe where noted.
class ImportState {
 public:
  ImportState(const ImportOptions& options, std::ostream& progress, ImportSummary* summary)
      : options_(options), progress_(progress), summary_(summary) {}

  // Opens the input, checks that `required` columns are present, restores a checkpoint
  // and opens the rejects file.
  grpc::Status Open(const std::vector<std::string>& required,
                    const std::vector<std::string>& optional) {
    in_.open(options_.input, std::ios::binary);
    if (!in_) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("cannot read ", options_.input));
    }
    in_.seekg(0, std::ios::end);
    file_size_ = static_cast<int64_t>(in_.tellg());
    in_.seekg(0);
    reader_ = std::make_unique<CsvReader>(in_, 0);
    std::vector<std::string> header;
    int64_t start;
    std::string raw, error;
    if (!reader_->Next(&header, &start, &raw, &error)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat(options_.input, ": empty file, no header"));
    }
    header_ = header;
    for (auto& h : header) h = std::string(absl::StripAsciiWhitespace(h));
    for (const auto& name : required) {
      auto it = std::find(header.begin(), header.end(), name);
      if (it == header.end()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            absl::StrCat(options_.input, ": the header has no column \"", name,
                                         "\" (expected ", absl::StrJoin(required, ","), ")"));
      }
      columns_[name] = static_cast<int>(it - header.begin());
    }
    for (const auto& name : optional) {
      auto it = std::find(header.begin(), header.end(), name);
      if (it != header.end()) columns_[name] = static_cast<int>(it - header.begin());
    }
    checkpoint_path_ =
        options_.checkpoint.empty() ? options_.input + ".checkpoint" : options_.checkpoint;
    summary_->rejects_file =
        options_.rejects.empty() ? options_.input + ".rejects.csv" : options_.rejects;
    next_row_ = 1;
    bool resumed = false;
    if (!options_.restart) {
      std::ifstream cp(checkpoint_path_);
      std::string line;
      if (cp && std::getline(cp, line)) {
        // "<row> <offset> <file size>"
        std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
        int64_t row, offset, size;
        if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &row) ||
            !absl::SimpleAtoi(parts[1], &offset) || !absl::SimpleAtoi(parts[2], &size) || row < 1 ||
            offset < 0 || offset > file_size_) {
          return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                              absl::StrCat(checkpoint_path_,
                                           " is not a checkpoint of iplusctl; remove it or pass "
                                           "--restart"));
        }
        if (size != file_size_) {
          return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                              absl::StrCat(options_.input, " changed since the checkpoint ",
                                           checkpoint_path_, "; pass --restart to import it anew"));
        }
        in_.clear();
        in_.seekg(offset);
        reader_ = std::make_unique<CsvReader>(in_, offset);
        next_row_ = row;
        summary_->resumed_from_row = row;
        resumed = true;
      }
    }
    start_offset_ = reader_->offset();
    rejects_.open(summary_->rejects_file, resumed ? std::ios::app : std::ios::trunc);
    if (!rejects_) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("cannot write ", summary_->rejects_file));
    }
    if (!resumed || rejects_.tellp() == 0) {
      std::vector<std::string> h = {"row"};
      h.insert(h.end(), header_.begin(), header_.end());
      h.insert(h.end(), {"reason", "field", "message"});
      rejects_ << CsvLine(h);
      rejects_.flush();
    }
    start_time_ = absl::Now();
    last_progress_ = start_time_;
    return grpc::Status::OK;
  }

  int Column(const std::string& name) const {
    auto it = columns_.find(name);
    return it == columns_.end() ? -1 : it->second;
  }
  // The cell of `name` in `row`, or "" when the column is absent or the row short.
  std::string Cell(const Row& row, const std::string& name) const {
    const int c = Column(name);
    if (c < 0 || c >= static_cast<int>(row.fields.size())) return "";
    return std::string(absl::StripAsciiWhitespace(row.fields[c]));
  }

  // Reads the next row; false at end of file. Not thread-safe (the sending thread).
  bool NextRow(Row* row, std::string* error) {
    std::string raw;
    if (!reader_->Next(&row->fields, &row->offset, &raw, error)) {
      std::lock_guard<std::mutex> lock(mu_);
      eof_ = true;
      return false;
    }
    if (error->empty() && row->fields.size() != header_.size()) {
      *error = absl::StrCat("expected ", header_.size(), " fields, found ", row->fields.size());
    }
    row->number = next_row_++;
    row->attempts = 0;
    std::lock_guard<std::mutex> lock(mu_);
    ++summary_->rows;
    read_offset_ = reader_->offset();
    pending_.insert({row->number, row->offset});
    return true;
  }

  // The row is done with `outcome` (ACCEPTED, ...). Thread-safe; needs mu().
  void Done(const Row& row, const std::string& outcome) {
    ++summary_->outcomes[outcome];
    Finish(row);
  }
  // The row is rejected; writes it to the rejects file. Needs mu().
  void Reject(const Row& row, const std::string& reason, const std::string& field,
              const std::string& message) {
    ++summary_->outcomes["REJECTED"];
    ++summary_->reject_reasons[reason];
    std::vector<std::string> line = {absl::StrCat(row.number)};
    for (size_t i = 0; i < header_.size(); ++i) {
      line.push_back(i < row.fields.size() ? row.fields[i] : "");
    }
    line.insert(line.end(), {reason, field, message});
    rejects_ << CsvLine(line);
    Finish(row);
  }

  // Writes the checkpoint: the first row not yet done. Needs mu(). Call after a batch.
  void SaveCheckpoint() {
    rejects_.flush();
    int64_t row, offset;
    if (!pending_.empty()) {
      row = pending_.begin()->first;
      offset = pending_.begin()->second;
    } else {
      row = next_row_;
      offset = read_offset_;
      if (eof_) return;  // finished; Close removes the checkpoint
    }
    if (row == saved_row_) return;
    saved_row_ = row;
    done_offset_ = offset;
    const std::string tmp = checkpoint_path_ + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << row << " " << offset << " " << file_size_ << "\n";
    }
    std::rename(tmp.c_str(), checkpoint_path_.c_str());
  }

  // Progress display; call often, it rate-limits itself. Needs mu().
  void Progress(bool final) {
    if (options_.quiet) return;
    const absl::Time now = absl::Now();
    const absl::Duration every =
        options_.tty ? absl::Milliseconds(200) : options_.progress_interval;
    if (!final && now - last_progress_ < every) return;
    last_progress_ = now;
    const int64_t done_rows = DoneRows();
    const double secs = std::max(1e-3, absl::ToDoubleSeconds(now - start_time_));
    const double rate = static_cast<double>(done_rows) / secs;
    const int64_t done_offset = pending_.empty() ? read_offset_ : pending_.begin()->second;
    const double fraction =
        file_size_ > 0 ? static_cast<double>(done_offset) / static_cast<double>(file_size_) : 1;
    const double bytes_rate = static_cast<double>(done_offset - start_offset_) / secs;
    std::string eta = "--:--";
    if (bytes_rate > 0) {
      const int64_t left =
          static_cast<int64_t>(static_cast<double>(file_size_ - done_offset) / bytes_rate);
      eta = absl::StrFormat("%d:%02d", left / 60, left % 60);
    }
    if (options_.tty) {
      const int width = 30;
      const int filled = static_cast<int>(fraction * width);
      progress_ << absl::StrFormat("\r[%s%s] %3.0f%%  %d rows  %.0f rows/s  ETA %s ",
                                   std::string(filled, '#'), std::string(width - filled, '.'),
                                   fraction * 100, done_rows, rate, eta);
      if (final) progress_ << "\n";
    } else {
      progress_ << absl::StrFormat("%s: %.0f%%, %d rows done, %.0f rows/s, ETA %s\n",
                                   summary_->kind, fraction * 100, done_rows, rate, eta);
    }
    progress_.flush();
  }

  // Ends the run: removes the checkpoint when every row is done.
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    rejects_.flush();
    summary_->seconds = absl::ToDoubleSeconds(absl::Now() - start_time_);
    summary_->complete = eof_ && pending_.empty();
    if (summary_->complete) {
      std::remove(checkpoint_path_.c_str());
    } else {
      SaveCheckpoint();
    }
    Progress(true);
  }

  absl::Duration Backoff(int attempts) const {
    absl::Duration d = options_.backoff;
    for (int i = 1; i < attempts && d < options_.max_backoff; ++i) d *= 2;
    return std::min(d, options_.max_backoff);
  }

  std::mutex& mu() { return mu_; }
  ImportSummary* summary() { return summary_; }
  bool eof() const { return eof_; }  // needs mu()
  bool interrupted() const {
    return options_.interrupted != nullptr && options_.interrupted->load();
  }
  const ImportOptions& options() const { return options_; }

 private:
  int64_t DoneRows() const {
    int64_t n = 0;
    for (const auto& [k, v] : summary_->outcomes) n += v;
    return n;
  }
  void Finish(const Row& row) {
    auto it = pending_.find({row.number, row.offset});
    if (it != pending_.end()) pending_.erase(it);
  }

  const ImportOptions& options_;
  std::ostream& progress_;
  ImportSummary* summary_;
  std::ifstream in_;
  std::unique_ptr<CsvReader> reader_;
  std::vector<std::string> header_;
  std::map<std::string, int> columns_;
  std::string checkpoint_path_;
  std::ofstream rejects_;
  int64_t file_size_ = 0;
  int64_t start_offset_ = 0;
  absl::Time start_time_;

  std::mutex mu_;
  int64_t next_row_ = 1;
  int64_t read_offset_ = 0;
  bool eof_ = false;
  std::set<std::pair<int64_t, int64_t>> pending_;  // (row, offset) of rows not done
  int64_t saved_row_ = -1;
  int64_t done_offset_ = 0;
  absl::Time last_progress_;
};

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED || code == grpc::StatusCode::ABORTED;
}

// Rows due for a resend, oldest due first.
struct RetryQueue {
  std::deque<std::pair<absl::Time, Row>> rows;
  std::deque<std::pair<absl::Time, Batch>> batches;

  bool empty() const { return rows.empty() && batches.empty(); }
  absl::Time next_due() const {
    absl::Time t = absl::InfiniteFuture();
    for (const auto& r : rows) t = std::min(t, r.first);
    for (const auto& b : batches) t = std::min(t, b.first);
    return t;
  }
};

// Takes a batch to send: a due resent batch, else due resent rows topped up with new rows.
// Needs state.mu() held through `lock`, released while reading the file.
bool TakeBatch(ImportState& /*state*/, RetryQueue& retry, int batch_size, bool read_more,
               Batch* out, const std::function<bool(Row&, std::string*)>& read_row) {
  const absl::Time now = absl::Now();
  out->rows.clear();
  out->attempts = 0;
  if (!retry.batches.empty() && retry.batches.front().first <= now) {
    *out = std::move(retry.batches.front().second);
    retry.batches.pop_front();
    return true;
  }
  for (auto it = retry.rows.begin();
       it != retry.rows.end() && static_cast<int>(out->rows.size()) < batch_size;) {
    if (it->first <= now) {
      out->rows.push_back(std::move(it->second));
      it = retry.rows.erase(it);
    } else {
      ++it;
    }
  }
  while (read_more && static_cast<int>(out->rows.size()) < batch_size) {
    Row row;
    if (!read_row(row, nullptr)) break;
    out->rows.push_back(std::move(row));
  }
  return !out->rows.empty();
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Observations.

namespace {

// Builds the observation of a row; false (with a reason) for a row that cannot be sent.
bool ToObservation(const ImportState& state, const Row& row, iv1::Observation* o,
                   std::string* field, std::string* message) {
  o->set_enterprise_code(state.Cell(row, "enterprise_code"));
  o->set_indicator(state.Cell(row, "indicator"));
  o->set_period(state.Cell(row, "period"));
  const std::string value = state.Cell(row, "value");
  std::string report_id = state.Cell(row, "report_id");
  if (report_id.empty()) {
    report_id = DerivedReportId(o->enterprise_code(), o->indicator(), o->period(), value);
  }
  o->set_report_id(report_id);
  const std::string lower = absl::AsciiStrToLower(value);
  double number;
  if (lower == "true" || lower == "false") {
    o->set_bool_value(lower == "true");
  } else if (value.empty()) {
    // No value: the service rejects it with WRONG_VALUE_TYPE naming `value`.
  } else if (absl::SimpleAtod(value, &number)) {
    o->set_number_value(number);
  } else {
    *field = "value";
    *message = absl::StrCat("\"", value, "\" is neither a number nor true/false");
    return false;
  }
  return true;
}

}  // namespace

grpc::Status ImportObservations(Client& client, const ImportOptions& options,
                                std::ostream& progress, ImportSummary* summary) {
  summary->kind = "observations";
  ImportState state(options, progress, summary);
  grpc::Status open =
      state.Open({"enterprise_code", "indicator", "period", "value"}, {"report_id"});
  if (!open.ok()) return open;
  auto channel = client.Channel(Service::kIngest);
  if (!channel.ok()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        std::string(channel.status().message()));
  }
  auto stub = iv1::IngestService::NewStub(*channel);

  std::mutex& mu = state.mu();
  std::condition_variable cv;
  RetryQueue retry;
  std::map<int64_t, Batch> inflight;
  int64_t next_id = 1;
  int reconnects = 0;
  grpc::Status fatal = grpc::Status::OK;

  // Reads a row; a malformed one is rejected here and the next is read.
  auto read_row = [&](Row& row, std::string*) {
    while (true) {
      std::string error;
      if (!state.NextRow(&row, &error)) return false;
      std::lock_guard<std::mutex> lock(mu);
      if (!error.empty()) {
        state.Reject(row, "MALFORMED_ROW", "", error);
        continue;
      }
      iv1::Observation o;
      std::string field, message;
      if (!ToObservation(state, row, &o, &field, &message)) {
        state.Reject(row, "MALFORMED_FIELD", field, message);
        continue;
      }
      return true;
    }
  };

  while (true) {
    grpc::ClientContext context;
    client.Prepare(&context, /*deadline=*/false);
    auto stream = stub->StreamObservations(&context);
    bool reader_done = false;
    std::thread reader([&] {
      iv1::StreamObservationsResponse ack;
      while (stream->Read(&ack)) {
        std::lock_guard<std::mutex> lock(mu);
        auto it = inflight.find(ack.batch_id());
        if (it == inflight.end()) continue;
        Batch batch = std::move(it->second);
        inflight.erase(it);
        const auto code = static_cast<grpc::StatusCode>(ack.status().code());
        if (code != grpc::StatusCode::OK) {
          ++batch.attempts;
          if (Retryable(code) && batch.attempts < options.max_attempts) {
            summary->resent += static_cast<int64_t>(batch.rows.size());
            retry.batches.push_back(
                {absl::Now() + state.Backoff(batch.attempts), std::move(batch)});
          } else {
            for (const auto& row : batch.rows) {
              state.Reject(row, CodeName(ack.status().code()), "", DescribeStatus(ack.status()));
            }
          }
        } else {
          std::vector<bool> answered(batch.rows.size(), false);
          for (const auto& r : ack.results()) {
            if (r.index() < 0 || r.index() >= static_cast<int>(batch.rows.size())) continue;
            Row& row = batch.rows[r.index()];
            answered[r.index()] = true;
            switch (r.outcome()) {
              case iv1::OUTCOME_ACCEPTED:
                state.Done(row, "ACCEPTED");
                break;
              case iv1::OUTCOME_DUPLICATE:
                state.Done(row, "DUPLICATE");
                break;
              case iv1::OUTCOME_REVISED:
                state.Done(row, "REVISED");
                break;
              default: {
                ++row.attempts;
                if (r.retryable() && row.attempts < options.max_attempts) {
                  ++summary->resent;
                  retry.rows.push_back({absl::Now() + state.Backoff(row.attempts), row});
                } else {
                  std::string reason =
                      r.reject_reason() == iv1::REJECT_REASON_UNSPECIFIED
                          ? std::string("UNSPECIFIED")
                          : ShortEnumName(iv1::RejectReason_Name(r.reject_reason()),
                                          "REJECT_REASON_");
                  state.Reject(row, reason, r.field(), r.message());
                }
              }
            }
          }
          // An item without a result (not expected) is sent again.
          for (size_t i = 0; i < answered.size(); ++i) {
            if (!answered[i]) retry.rows.push_back({absl::Now(), batch.rows[i]});
          }
        }
        state.SaveCheckpoint();
        state.Progress(false);
        cv.notify_all();
      }
      std::lock_guard<std::mutex> lock(mu);
      reader_done = true;
      cv.notify_all();
    });

    bool broken = false;
    bool done = false;
    while (true) {
      Batch batch;
      {
        std::unique_lock<std::mutex> lock(mu);
        const bool stopping = state.interrupted();
        if (reader_done) {
          broken = true;
          break;
        }
        if (stopping) {
          summary->interrupted = true;
          if (inflight.empty()) {
            done = true;
            break;
          }
          cv.wait_for(lock, std::chrono::milliseconds(100));
          continue;
        }
        if (static_cast<int>(inflight.size()) >= options.window) {
          cv.wait_for(lock, std::chrono::milliseconds(100));
          state.Progress(false);
          continue;
        }
        const bool eof = state.eof();
        lock.unlock();
        // Reading the file happens without the lock; TakeBatch only touches `retry`
        // under it.
        std::unique_lock<std::mutex> relock(mu, std::defer_lock);
        bool have;
        {
          relock.lock();
          RetryQueue due;
          std::swap(due, retry);
          relock.unlock();
          have = TakeBatch(state, due, options.batch_size, !eof, &batch, read_row);
          relock.lock();
          for (auto& r : due.rows) retry.rows.push_back(std::move(r));
          for (auto& b : due.batches) retry.batches.push_back(std::move(b));
        }
        if (!have) {
          if (state.eof() && inflight.empty() && retry.empty()) {
            done = true;
            break;
          }
          const absl::Time due = retry.next_due();
          const absl::Duration wait =
              std::min(absl::Milliseconds(100), std::max(absl::ZeroDuration(), due - absl::Now()));
          cv.wait_for(relock, absl::ToChronoMilliseconds(wait));
          state.Progress(false);
          continue;
        }
        batch.id = next_id++;
        inflight[batch.id] = batch;
        summary->sent += static_cast<int64_t>(batch.rows.size());
      }
      iv1::StreamObservationsRequest request;
      request.set_batch_id(batch.id);
      for (const auto& row : batch.rows) {
        std::string field, message;
        ToObservation(state, row, request.add_observations(), &field, &message);
      }
      if (!stream->Write(request)) {
        broken = true;
        break;
      }
    }
    stream->WritesDone();
    if (broken) context.TryCancel();
    reader.join();
    grpc::Status status = stream->Finish();
    if (done && !broken) break;
    // The stream ended early: resend what was in flight on a new stream.
    {
      std::lock_guard<std::mutex> lock(mu);
      for (auto& [id, b] : inflight) {
        summary->resent += static_cast<int64_t>(b.rows.size());
        retry.batches.push_back({absl::Now(), std::move(b)});
      }
      inflight.clear();
    }
    if (status.ok()) status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream ended early");
    if (state.interrupted()) {
      summary->interrupted = true;
      break;
    }
    if (!Retryable(status.error_code()) || ++reconnects >= options.max_attempts) {
      fatal = status;
      break;
    }
    absl::SleepFor(state.Backoff(reconnects));
  }
  state.Close();
  return fatal;
}

// ---------------------------------------------------------------------------------------
// Enterprises.

namespace {

bool ToEnterprise(const ImportState& state, const Row& row, rv1::Enterprise* e, std::string* field,
                  std::string* message) {
  e->set_code(state.Cell(row, "code"));
  e->set_name(state.Cell(row, "name"));
  e->set_region(state.Cell(row, "region"));
  e->set_industry(state.Cell(row, "industry"));
  auto set_enum = [&](const std::string& column, auto parse, auto setter) {
    const std::string v = state.Cell(row, column);
    if (v.empty()) return true;
    int value;
    if (!parse(v, &value)) {
      *field = column;
      *message = absl::StrCat("\"", v, "\" is not a known value");
      return false;
    }
    setter(value);
    return true;
  };
  if (!set_enum("kind", ParseKind,
                [&](int v) { e->set_kind(static_cast<common::v1::OrganizationKind>(v)); })) {
    return false;
  }
  if (!set_enum("ownership", ParseOwnership,
                [&](int v) { e->set_ownership(static_cast<common::v1::Ownership>(v)); })) {
    return false;
  }
  if (!set_enum("size", ParseSize,
                [&](int v) { e->set_size(static_cast<common::v1::EnterpriseSize>(v)); })) {
    return false;
  }
  const std::string key = absl::AsciiStrToLower(state.Cell(row, "key"));
  if (key == "true" || key == "1" || key == "yes") {
    e->set_key_enterprise(true);
  } else if (!key.empty() && key != "false" && key != "0" && key != "no") {
    *field = "key";
    *message = absl::StrCat("\"", key, "\" is not true or false");
    return false;
  }
  return true;
}

}  // namespace

grpc::Status ImportEnterprises(Client& client, const ImportOptions& options, std::ostream& progress,
                               ImportSummary* summary) {
  summary->kind = "enterprises";
  ImportState state(options, progress, summary);
  grpc::Status open =
      state.Open({"code", "name", "region", "industry"}, {"kind", "ownership", "size", "key"});
  if (!open.ok()) return open;
  auto channel = client.Channel(Service::kRegistry);
  if (!channel.ok()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        std::string(channel.status().message()));
  }
  auto stub = rv1::RegistryService::NewStub(*channel);
  std::mutex& mu = state.mu();
  std::condition_variable cv;
  RetryQueue retry;
  int inflight = 0;
  grpc::Status fatal = grpc::Status::OK;
  std::vector<std::thread> workers;

  auto read_row = [&](Row& row, std::string*) {
    while (true) {
      std::string error;
      if (!state.NextRow(&row, &error)) return false;
      std::lock_guard<std::mutex> lock(mu);
      if (!error.empty()) {
        state.Reject(row, "MALFORMED_ROW", "", error);
        continue;
      }
      rv1::Enterprise e;
      std::string field, message;
      if (!ToEnterprise(state, row, &e, &field, &message)) {
        state.Reject(row, "MALFORMED_FIELD", field, message);
        continue;
      }
      return true;
    }
  };

  // One call per batch, on its own thread; at most `window` at once.
  auto send = [&](Batch batch) {
    rv1::BatchCreateEnterprisesRequest request;
    for (const auto& row : batch.rows) {
      std::string field, message;
      ToEnterprise(state, row, request.add_requests()->mutable_enterprise(), &field, &message);
    }
    rv1::BatchCreateEnterprisesResponse response;
    grpc::ClientContext context;
    client.Prepare(&context);
    grpc::Status status = stub->BatchCreateEnterprises(&context, request, &response);
    std::lock_guard<std::mutex> lock(mu);
    --inflight;
    if (!status.ok() || response.results_size() != static_cast<int>(batch.rows.size())) {
      ++batch.attempts;
      if (status.ok()) status = grpc::Status(grpc::StatusCode::INTERNAL, "wrong number of results");
      if (Retryable(status.error_code()) && batch.attempts < options.max_attempts) {
        summary->resent += static_cast<int64_t>(batch.rows.size());
        retry.batches.push_back({absl::Now() + state.Backoff(batch.attempts), std::move(batch)});
      } else if (fatal.ok()) {
        fatal = status;
      }
    } else {
      for (int i = 0; i < response.results_size(); ++i) {
        const auto& r = response.results(i);
        Row& row = batch.rows[i];
        const auto code = static_cast<grpc::StatusCode>(r.status().code());
        if (code == grpc::StatusCode::OK) {
          state.Done(row, r.created() ? "CREATED" : "EXISTING");
        } else if (Retryable(code) && ++row.attempts < options.max_attempts) {
          ++summary->resent;
          retry.rows.push_back({absl::Now() + state.Backoff(row.attempts), row});
        } else {
          std::string field;
          google::rpc::Status s = r.status();
          state.Reject(row, CodeName(r.status().code()), field, DescribeStatus(s));
        }
      }
    }
    state.SaveCheckpoint();
    state.Progress(false);
    cv.notify_all();
  };

  while (true) {
    Batch batch;
    std::unique_lock<std::mutex> lock(mu);
    if (!fatal.ok()) break;
    if (state.interrupted()) {
      summary->interrupted = true;
      break;
    }
    if (inflight >= options.window) {
      cv.wait_for(lock, std::chrono::milliseconds(100));
      state.Progress(false);
      continue;
    }
    RetryQueue due;
    std::swap(due, retry);
    const bool eof = state.eof();
    lock.unlock();
    const bool have = TakeBatch(state, due, options.batch_size, !eof, &batch, read_row);
    lock.lock();
    for (auto& r : due.rows) retry.rows.push_back(std::move(r));
    for (auto& b : due.batches) retry.batches.push_back(std::move(b));
    if (!have) {
      if (state.eof() && inflight == 0 && retry.empty()) break;
      const absl::Duration wait = std::min(
          absl::Milliseconds(100), std::max(absl::ZeroDuration(), retry.next_due() - absl::Now()));
      cv.wait_for(lock, absl::ToChronoMilliseconds(wait));
      continue;
    }
    ++inflight;
    summary->sent += static_cast<int64_t>(batch.rows.size());
    lock.unlock();
    workers.emplace_back(send, std::move(batch));
    // Reap finished threads now and then so they do not pile up.
    if (workers.size() > static_cast<size_t>(4 * options.window)) {
      std::unique_lock<std::mutex> wait_lock(mu);
      cv.wait(wait_lock, [&] { return inflight == 0; });
      wait_lock.unlock();
      for (auto& w : workers) w.join();
      workers.clear();
    }
  }
  for (auto& w : workers) w.join();
  state.Close();
  return fatal;
}

// ---------------------------------------------------------------------------------------

std::string SummaryText(const ImportSummary& s) {
  int64_t done = 0;
  for (const auto& [k, v] : s.outcomes) done += v;
  std::string out =
      absl::StrFormat("%s: %d rows in %.1f s (%.0f rows/s)", s.kind, s.rows, s.seconds,
                      s.seconds > 0 ? static_cast<double>(done) / s.seconds : 0);
  if (s.resumed_from_row > 0) absl::StrAppend(&out, ", resumed at row ", s.resumed_from_row);
  absl::StrAppend(&out, "\n");
  for (const auto& [k, v] : s.outcomes) absl::StrAppendFormat(&out, "  %-10s %d\n", k, v);
  for (const auto& [k, v] : s.reject_reasons) absl::StrAppendFormat(&out, "    %-28s %d\n", k, v);
  if (s.resent > 0) absl::StrAppendFormat(&out, "  resent     %d\n", s.resent);
  auto rejected = s.outcomes.find("REJECTED");
  if (rejected != s.outcomes.end() && rejected->second > 0) {
    absl::StrAppend(&out, "rejected rows: ", s.rejects_file, "\n");
  }
  if (s.interrupted || !s.complete) {
    absl::StrAppend(&out, "not finished: run the same command again to resume\n");
  }
  return out;
}

namespace {
std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}
std::string JsonMap(const std::map<std::string, int64_t>& m) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : m) {
    absl::StrAppend(&out, first ? "" : ", ", JsonString(k), ": ", v);
    first = false;
  }
  return out + "}";
}
}  // namespace

std::string SummaryJson(const ImportSummary& s) {
  return absl::StrCat("{\n  \"kind\": ", JsonString(s.kind), ",\n  \"rows\": ", s.rows,
                      ",\n  \"sent\": ", s.sent, ",\n  \"resent\": ", s.resent,
                      ",\n  \"outcomes\": ", JsonMap(s.outcomes),
                      ",\n  \"rejectReasons\": ", JsonMap(s.reject_reasons),
                      ",\n  \"resumedFromRow\": ", s.resumed_from_row,
                      ",\n  \"seconds\": ", FormatDouble(s.seconds),
                      ",\n  \"rejectsFile\": ", JsonString(s.rejects_file),
                      ",\n  \"complete\": ", s.complete ? "true" : "false",
                      ",\n  \"interrupted\": ", s.interrupted ? "true" : "false", "\n}\n");
}

}  // namespace iplus::ctl
