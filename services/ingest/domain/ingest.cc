#include "services/ingest/domain/ingest.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/refdata/credit_code.h"
#include "common/status/status.h"

namespace iplus::ingest {
namespace {

constexpr int kDefaultScanBatch = 10000;
constexpr int kMaxScanBatch = 50000;
constexpr int kDefaultChangesPage = 1000;
constexpr int kMaxChangesPage = 10000;
constexpr int kMaxDataKeys = 1000;
constexpr int kMaxRangePeriods = 1200;

ItemResult Reject(int index, RejectReason reason, std::string field, std::string message,
                  bool retryable = false) {
  ItemResult r;
  r.index = index;
  r.outcome = Outcome::kRejected;
  r.reason = reason;
  r.field = std::move(field);
  r.message = std::move(message);
  r.retryable = retryable;
  return r;
}

PlausibleRange ToPlausible(const ValueRange& r) { return PlausibleRange{r.min, r.max}; }

// A period of a read request: well formed and of the indicator's granularity, else
// INVALID_ARGUMENT naming `field`.
absl::StatusOr<refdata::Period> ParsePeriodOf(const Indicator& indicator, const std::string& text,
                                              const char* field) {
  auto p = refdata::ParsePeriod(text);
  if (!p.ok()) return InvalidField(field, p.status().message());
  if (p->granularity != indicator.granularity) {
    return InvalidField(field, absl::StrCat("indicator \"", indicator.id, "\" is reported per ",
                                            refdata::GranularityName(indicator.granularity)));
  }
  return p;
}

// A report's identity: the reporter and its report id.
std::string ReportKey(const std::string& reporter, const ObservationInput& in) {
  return Hash64Bytes(absl::StrCat(reporter, "\n", in.report_id));
}

// What a report says: enterprise, indicator, period and value.
std::string Fingerprint(const ObservationInput& in, const std::string& indicator,
                        const std::string& period, double value) {
  return Hash64Bytes(
      absl::StrCat(in.enterprise_code, "|", indicator, "|", period, "|", CanonicalNumber(value)));
}

}  // namespace

Ingest::Ingest(Store* store, EnterpriseDirectory* directory, Clock* clock, PeerStats* peers,
               ReportPolicy* policy, IngestConfig config)
    : store_(store),
      directory_(directory),
      clock_(clock),
      peers_(peers),
      policy_(policy),
      config_(std::move(config)) {}

Ingest::~Ingest() {
  {
    absl::MutexLock lock(&seed_mu_);
    seed_stop_ = true;
  }
  if (seeder_.joinable()) seeder_.join();
}

void Ingest::RequestPeerSeeding(const Indicator& indicator, const std::string& period) {
  if (!config_.seed_peers || peers_ == nullptr || indicator.value_type != ValueType::kNumber) {
    return;
  }
  absl::MutexLock lock(&seed_mu_);
  if (seed_stop_ || !seed_requested_.insert(absl::StrCat(indicator.id, "|", period)).second) return;
  seed_queue_.emplace_back(indicator.id, period);
  if (!seeder_.joinable()) seeder_ = std::thread([this] { SeedLoop(); });
}

void Ingest::WaitForPeerSeeding() {
  absl::MutexLock lock(&seed_mu_);
  seed_mu_.Await(absl::Condition(
      +[](Ingest* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->seed_mu_) {
        return self->seed_queue_.empty() && self->seeding_ == 0;
      },
      this));
}

void Ingest::SeedLoop() {
  for (;;) {
    std::pair<std::string, std::string> next;
    {
      absl::MutexLock lock(&seed_mu_);
      seed_mu_.Await(absl::Condition(
          +[](Ingest* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->seed_mu_) {
            return self->seed_stop_ || !self->seed_queue_.empty();
          },
          this));
      if (seed_stop_) return;
      next = seed_queue_.front();
      seed_queue_.pop_front();
      ++seeding_;
    }
    SeedPeers(next.first, next.second);
    absl::MutexLock lock(&seed_mu_);
    --seeding_;
  }
}

void Ingest::SeedPeers(const std::string& indicator, const std::string& period) {
  // Values accepted while the scan runs may be counted twice; the sample is a sample.
  absl::Status s =
      store_->Scan(DataKey{indicator, period}, 10000,
                   [&](const std::vector<std::pair<std::string, double>>& rows, int64_t) {
                     if (rows.empty()) return true;
                     std::vector<std::string> codes;
                     codes.reserve(rows.size());
                     for (const auto& row : rows) codes.push_back(row.first);
                     auto infos = directory_->Lookup(codes);
                     absl::flat_hash_map<std::string, std::vector<double>> by_division;
                     for (size_t i = 0; i < rows.size(); ++i) {
                       if (infos[i].ok() && infos[i]->known && !infos[i]->division.empty()) {
                         by_division[infos[i]->division].push_back(rows[i].second);
                       }
                     }
                     for (auto& [division, values] : by_division) {
                       peers_->AddMany(absl::StrCat(indicator, "|", period, "|", division), values);
                     }
                     absl::MutexLock lock(&seed_mu_);
                     return !seed_stop_;
                   });
  if (!s.ok()) {
    // Try again the next time a report for this pair arrives.
    absl::MutexLock lock(&seed_mu_);
    seed_requested_.erase(absl::StrCat(indicator, "|", period));
  }
}

absl::Status Ingest::SeedCatalogue() {
  for (Indicator i : BuiltinIndicators()) {
    i.status = IndicatorStatus::kActive;
    i.create_time = i.update_time = clock_->Now();
    auto r = store_->CreateIndicator(i);
    if (!r.ok()) return r.status();
  }
  return Catalogue(/*force=*/true).status();
}

absl::StatusOr<std::shared_ptr<const absl::flat_hash_map<std::string, Indicator>>>
Ingest::Catalogue(bool force) {
  absl::Time now = clock_->Now();
  {
    absl::MutexLock lock(&mu_);
    if (!force && catalogue_ != nullptr && now - catalogue_time_ < config_.catalogue_refresh) {
      return catalogue_;
    }
  }
  auto list = store_->ListIndicators();
  if (!list.ok()) return list.status();
  auto map = std::make_shared<absl::flat_hash_map<std::string, Indicator>>();
  for (auto& i : *list) map->emplace(i.id, std::move(i));
  absl::MutexLock lock(&mu_);
  catalogue_ = map;
  catalogue_time_ = now;
  return catalogue_;
}

absl::StatusOr<Indicator> Ingest::FindIndicator(const std::string& id, const std::string& field) {
  if (id.empty()) return InvalidField(field, "must not be empty");
  auto catalogue = Catalogue(false);
  if (!catalogue.ok()) return catalogue.status();
  auto it = (*catalogue)->find(id);
  if (it == (*catalogue)->end()) {
    catalogue = Catalogue(true);
    if (!catalogue.ok()) return catalogue.status();
    it = (*catalogue)->find(id);
    if (it == (*catalogue)->end()) {
      return absl::NotFoundError(absl::StrCat("indicator \"", id, "\" not found"));
    }
  }
  return it->second;
}

absl::StatusOr<IndicatorPage> Ingest::ListIndicators(bool include_retired, int page_size,
                                                     const std::string& page_token) {
  if (page_size < 0 || page_size > config_.max_page_size) {
    return InvalidField("page_size", absl::StrCat("must be between 0 and ", config_.max_page_size));
  }
  int limit = page_size == 0 ? config_.default_page_size : page_size;
  std::string after;
  if (!page_token.empty() && !absl::WebSafeBase64Unescape(page_token, &after)) {
    return InvalidField("page_token", "is not a token this service issued");
  }
  auto catalogue = Catalogue(true);
  if (!catalogue.ok()) return catalogue.status();
  std::vector<const Indicator*> sorted;
  for (const auto& [id, i] : **catalogue) {
    if (id <= after && !after.empty()) continue;
    if (!include_retired && i.status == IndicatorStatus::kRetired) continue;
    sorted.push_back(&i);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const Indicator* a, const Indicator* b) { return a->id < b->id; });
  IndicatorPage page;
  for (const Indicator* i : sorted) {
    if (static_cast<int>(page.indicators.size()) == limit) {
      page.next_page_token = absl::WebSafeBase64Escape(page.indicators.back().id);
      break;
    }
    page.indicators.push_back(*i);
  }
  return page;
}

absl::StatusOr<Indicator> Ingest::GetIndicator(const std::string& id) {
  return FindIndicator(id, "id");
}

absl::StatusOr<std::pair<Indicator, bool>> Ingest::CreateIndicator(Indicator indicator) {
  if (absl::Status s = ValidateIndicator(indicator, "indicator"); !s.ok()) return s;
  indicator.status = IndicatorStatus::kActive;
  indicator.retire_reason.clear();
  indicator.create_time = indicator.update_time = clock_->Now();
  auto r = store_->CreateIndicator(indicator);
  if (!r.ok()) return r.status();
  if (!r->second && !r->first.SameDefinition(indicator)) {
    return absl::AlreadyExistsError(
        absl::StrCat("indicator \"", indicator.id, "\" already exists with another definition"));
  }
  Catalogue(true).IgnoreError();
  return r;
}

absl::StatusOr<Indicator> Ingest::RetireIndicator(const std::string& id,
                                                  const std::string& reason) {
  if (reason.size() > 500) return InvalidField("reason", "must be at most 500 bytes");
  auto current = FindIndicator(id, "id");
  if (!current.ok()) return current.status();
  if (current->status == IndicatorStatus::kRetired) return current;
  Indicator retired = *current;
  retired.status = IndicatorStatus::kRetired;
  retired.retire_reason = reason;
  retired.update_time = clock_->Now();
  auto stored = store_->ReplaceIndicator(retired);
  if (!stored.ok()) return stored.status();
  Catalogue(true).IgnoreError();
  return stored;
}

absl::StatusOr<int> Ingest::ReporterIdOf(const std::string& reporter) {
  {
    absl::MutexLock lock(&mu_);
    auto it = reporter_ids_.find(reporter);
    if (it != reporter_ids_.end()) return it->second;
  }
  auto id = store_->ReporterId(reporter);
  if (!id.ok()) return id.status();
  absl::MutexLock lock(&mu_);
  reporter_ids_[reporter] = *id;
  return *id;
}

std::vector<Flag> Ingest::Score(const Indicator& indicator, const std::string& period,
                                const std::string& division, const std::vector<SeriesEntry>& series,
                                int ordinal, double value) {
  std::vector<Flag> flags;
  if (indicator.value_type != ValueType::kNumber) return flags;
  std::vector<double> earlier;
  for (const auto& e : series) {
    if (e.ordinal < ordinal) earlier.push_back(e.value);
  }
  if (auto c =
          CheckAgainst(value, earlier, config_.own_history_min_points, config_.outlier_threshold);
      c && c->flagged) {
    flags.push_back(Flag{OutlierKind::kOwnHistory, c->score, c->threshold});
  }
  if (peers_ != nullptr && !division.empty()) {
    std::string key = absl::StrCat(indicator.id, "|", period, "|", division);
    if (auto c = peers_->Check(key, value, config_.peer_min_points, config_.outlier_threshold);
        c && c->flagged) {
      flags.push_back(Flag{OutlierKind::kIndustryPeers, c->score, c->threshold});
    }
  }
  if (auto c = CheckPlausible(value, ToPlausible(indicator.plausible_range)); c && c->flagged) {
    flags.push_back(Flag{OutlierKind::kHardRange, c->score, c->threshold});
  }
  return flags;
}

// One observation that passed validation, with what the write needs.
struct Ingest::Prepared {
  int index = 0;
  const ObservationInput* input = nullptr;
  Indicator indicator;
  refdata::Period period;
  std::string period_text;
  double value = 0;
  std::string division;
};

absl::StatusOr<std::vector<ItemResult>> Ingest::Report(const std::string& reporter,
                                                       const std::vector<ObservationInput>& items,
                                                       ReportPolicy* call_policy) {
  if (items.empty()) return InvalidField("observations", "must hold at least one observation");
  if (static_cast<int>(items.size()) > config_.max_batch) {
    return InvalidField("observations", absl::StrCat("at most ", config_.max_batch,
                                                     " observations, got ", items.size()));
  }
  auto catalogue = Catalogue(false);
  if (!catalogue.ok()) return catalogue.status();
  absl::TimeZone zone = absl::FixedTimeZone(config_.utc_offset_hours * 3600);
  absl::CivilDay today = absl::ToCivilDay(clock_->Now(), zone);

  std::vector<ItemResult> results(items.size());
  std::vector<Prepared> valid;
  valid.reserve(items.size());
  bool refreshed = false;
  for (size_t i = 0; i < items.size(); ++i) {
    const ObservationInput& in = items[i];
    int index = static_cast<int>(i);
    auto reject = [&](RejectReason reason, std::string field, std::string message) {
      results[i] = Reject(index, reason, std::move(field), std::move(message));
    };
    if (in.report_id.empty()) {
      reject(RejectReason::kMissingField, "report_id", "must not be empty");
      continue;
    }
    if (!ValidReportId(in.report_id)) {
      reject(RejectReason::kMalformedField, "report_id",
             "must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'");
      continue;
    }
    if (in.enterprise_code.empty()) {
      reject(RejectReason::kMissingField, "enterprise_code", "must not be empty");
      continue;
    }
    if (absl::Status s = refdata::ValidateCreditCode(in.enterprise_code); !s.ok()) {
      reject(RejectReason::kMalformedField, "enterprise_code", std::string(s.message()));
      continue;
    }
    if (in.indicator.empty()) {
      reject(RejectReason::kMissingField, "indicator", "must not be empty");
      continue;
    }
    auto it = (*catalogue)->find(in.indicator);
    if (it == (*catalogue)->end() && !refreshed) {
      // Perhaps created through another replica a moment ago.
      refreshed = true;
      auto fresh = Catalogue(true);
      if (!fresh.ok()) return fresh.status();
      catalogue = fresh;
      it = (*catalogue)->find(in.indicator);
    }
    if (it == (*catalogue)->end()) {
      reject(RejectReason::kUnknownIndicator, "indicator",
             absl::StrCat("no indicator \"", in.indicator, "\""));
      continue;
    }
    const Indicator& indicator = it->second;
    if (indicator.status == IndicatorStatus::kRetired) {
      reject(RejectReason::kRetiredIndicator, "indicator",
             absl::StrCat("indicator \"", in.indicator, "\" is retired"));
      continue;
    }
    if (in.period.empty()) {
      reject(RejectReason::kMissingField, "period", "must not be empty");
      continue;
    }
    auto period = refdata::ParsePeriod(in.period);
    if (!period.ok()) {
      reject(RejectReason::kMalformedPeriod, "period", std::string(period.status().message()));
      continue;
    }
    if (period->granularity != indicator.granularity) {
      reject(RejectReason::kWrongGranularity, "period",
             absl::StrCat("indicator \"", indicator.id, "\" is reported per ",
                          refdata::GranularityName(indicator.granularity), ", got \"", in.period,
                          "\""));
      continue;
    }
    if (refdata::StartsAfter(*period, today)) {
      reject(RejectReason::kFuturePeriod, "period",
             absl::StrCat("period ", in.period, " has not started yet"));
      continue;
    }
    double value = 0;
    if (indicator.value_type == ValueType::kBoolean) {
      if (in.kind != ObservationInput::ValueKind::kBool) {
        reject(RejectReason::kWrongValueType,
               in.kind == ObservationInput::ValueKind::kNone ? "value" : "number_value",
               absl::StrCat("indicator \"", indicator.id, "\" takes bool_value"));
        continue;
      }
      value = in.bool_value ? 1 : 0;
    } else {
      if (in.kind != ObservationInput::ValueKind::kNumber) {
        reject(RejectReason::kWrongValueType,
               in.kind == ObservationInput::ValueKind::kNone ? "value" : "bool_value",
               absl::StrCat("indicator \"", indicator.id, "\" takes number_value"));
        continue;
      }
      if (!std::isfinite(in.number_value)) {
        reject(RejectReason::kValueNotFinite, "number_value", "must be finite");
        continue;
      }
      if (!indicator.range.Contains(in.number_value)) {
        reject(RejectReason::kValueOutOfRange, "number_value",
               absl::StrCat(CanonicalNumber(in.number_value), " is outside ",
                            indicator.range.ToString()));
        continue;
      }
      value = in.number_value == 0 ? 0 : in.number_value;  // no negative zero
    }
    Prepared p;
    p.index = index;
    p.input = &in;
    p.indicator = indicator;
    p.period = *period;
    p.period_text = period->ToString();
    p.value = value;
    valid.push_back(std::move(p));
  }

  // Enterprises, in one directory call.
  if (!valid.empty()) {
    std::vector<std::string> codes;
    absl::flat_hash_map<std::string, size_t> position;
    for (const auto& p : valid) {
      if (position.emplace(p.input->enterprise_code, codes.size()).second) {
        codes.push_back(p.input->enterprise_code);
      }
    }
    auto infos = directory_->Lookup(codes);
    std::vector<Prepared> known;
    known.reserve(valid.size());
    for (auto& p : valid) {
      const auto& info = infos[position[p.input->enterprise_code]];
      if (!info.ok()) {
        results[p.index] = Reject(
            p.index, RejectReason::kRegistryUnavailable, "enterprise_code",
            absl::StrCat("the registry cannot be asked right now: ", info.status().message()),
            /*retryable=*/true);
        continue;
      }
      // Authorization first, so that a refusal says nothing about the enterprise: an
      // unknown code is judged by the region embedded in it.
      EnterpriseInfo judged = *info;
      if (!judged.known) judged.region = refdata::RegionOfCreditCode(p.input->enterprise_code);
      if ((policy_ != nullptr && !policy_->MayReport(reporter, judged)) ||
          (call_policy != nullptr && !call_policy->MayReport(reporter, judged))) {
        results[p.index] = Reject(p.index, RejectReason::kNotAuthorized, "enterprise_code",
                                  "the caller may not report for this enterprise");
        continue;
      }
      if (!info->known) {
        results[p.index] =
            Reject(p.index, RejectReason::kUnknownEnterprise, "enterprise_code",
                   absl::StrCat("the registry does not know ", p.input->enterprise_code));
        continue;
      }
      if (info->archived) {
        results[p.index] =
            Reject(p.index, RejectReason::kArchivedEnterprise, "enterprise_code",
                   absl::StrCat("enterprise ", p.input->enterprise_code, " is archived"));
        continue;
      }
      p.division = info->division;
      RequestPeerSeeding(p.indicator, p.period_text);
      known.push_back(std::move(p));
    }
    valid = std::move(known);
  }
  if (valid.empty()) return results;

  auto reporter_id = ReporterIdOf(reporter);
  if (!reporter_id.ok()) return reporter_id.status();
  int64_t now_s = absl::ToUnixSeconds(clock_->Now());

  std::vector<Prepared*> pending;
  for (auto& p : valid) pending.push_back(&p);
  for (int round = 0; !pending.empty() && round < config_.max_conflict_rounds; ++round) {
    std::vector<Prepared*> settled;  // resent reports found in this round
    if (round > 0) {
      // Items that conflicted may have done so because an earlier item of their series
      // in this batch turned out to be a resent report (a resent chain of revisions).
      // Settle the reports already seen first, so such a chain takes two rounds, not one
      // per link. (Read before the series, to keep the series read close to the write.)
      std::vector<std::string> report_keys;
      report_keys.reserve(pending.size());
      for (Prepared* p : pending) report_keys.push_back(ReportKey(reporter, *p->input));
      auto seen = store_->ReadReports(report_keys);
      if (!seen.ok()) return seen.status();
      std::vector<Prepared*> unseen;
      for (size_t j = 0; j < pending.size(); ++j) {
        Prepared* p = pending[j];
        if ((*seen)[j].empty()) {
          unseen.push_back(p);
        } else if ((*seen)[j] !=
                   Fingerprint(*p->input, p->indicator.id, p->period_text, p->value)) {
          results[p->index] =
              Reject(p->index, RejectReason::kReportIdReused, "report_id",
                     absl::StrCat("report id \"", p->input->report_id,
                                  "\" was used before for a different observation"));
        } else {
          settled.push_back(p);
        }
      }
      pending = std::move(unseen);
    }
    std::vector<SeriesKey> keys;
    absl::flat_hash_map<SeriesKey, size_t> key_index;
    for (Prepared* p : pending) {
      SeriesKey k{p->indicator.id, p->input->enterprise_code};
      if (key_index.emplace(k, keys.size()).second) keys.push_back(std::move(k));
    }
    for (Prepared* p : settled) {
      SeriesKey k{p->indicator.id, p->input->enterprise_code};
      if (key_index.emplace(k, keys.size()).second) keys.push_back(std::move(k));
    }
    auto texts = store_->ReadSeries(keys);
    if (!texts.ok()) return texts.status();
    for (Prepared* p : settled) {
      ItemResult& r = results[p->index];
      r = ItemResult{};
      r.index = p->index;
      r.outcome = Outcome::kDuplicate;
      auto series =
          DecodeSeries((*texts)[key_index[SeriesKey{p->indicator.id, p->input->enterprise_code}]]);
      if (series.ok()) {
        for (const auto& e : *series) {
          if (e.ordinal == refdata::PeriodOrdinal(p->period)) r.revision = e.revision;
        }
      }
    }
    if (pending.empty()) break;
    // The series as this batch will have left it, item by item.
    std::vector<std::string> working = *texts;
    std::vector<ObservationWrite> writes;
    std::vector<Outcome> planned;
    std::vector<int> planned_revision;
    std::vector<std::vector<Flag>> planned_flags;
    writes.reserve(pending.size());
    for (Prepared* p : pending) {
      size_t k = key_index[SeriesKey{p->indicator.id, p->input->enterprise_code}];
      auto series = DecodeSeries(working[k]);
      if (!series.ok()) return series.status();
      int ordinal = refdata::PeriodOrdinal(p->period);
      auto existing = std::find_if(series->begin(), series->end(),
                                   [&](const SeriesEntry& e) { return e.ordinal == ordinal; });
      bool has = existing != series->end();
      std::string canonical = CanonicalNumber(p->value);

      ObservationWrite w;
      w.report_key = ReportKey(reporter, *p->input);
      w.fingerprint = Fingerprint(*p->input, p->indicator.id, p->period_text, p->value);
      w.series = keys[k];
      w.period = p->period_text;
      w.expected_series = working[k];
      w.value = canonical;
      if (has && existing->value == p->value) {
        planned.push_back(Outcome::kDuplicate);
        planned_revision.push_back(existing->revision);
        planned_flags.push_back(existing->flags);
      } else {
        SeriesEntry entry;
        entry.ordinal = ordinal;
        entry.value = p->value;
        entry.revision = has ? existing->revision + 1 : 1;
        entry.reporter_id = *reporter_id;
        entry.time_s = now_s;
        entry.report_id = p->input->report_id;
        entry.flags = Score(p->indicator, p->period_text, p->division, *series, ordinal, p->value);
        if (has) {
          w.replaced_entry = EncodeEntry(*existing);
          *existing = entry;
        } else {
          w.first_value = true;
          series->insert(std::upper_bound(series->begin(), series->end(), entry,
                                          [](const SeriesEntry& a, const SeriesEntry& b) {
                                            return a.ordinal < b.ordinal;
                                          }),
                         entry);
        }
        w.new_series = EncodeSeries(*series);
        working[k] = w.new_series;
        planned.push_back(has ? Outcome::kRevised : Outcome::kAccepted);
        planned_revision.push_back(entry.revision);
        planned_flags.push_back(entry.flags);
      }
      writes.push_back(std::move(w));
    }
    auto statuses = store_->Apply(writes, clock_->Now());
    if (!statuses.ok()) return statuses.status();
    std::vector<Prepared*> retry;
    // The series as the store holds them after each applied write. `working` also holds
    // planned writes that were not applied (a resent report), so the revision of a
    // duplicate report is read from here.
    std::vector<std::string> stored = *texts;
    for (size_t j = 0; j < pending.size(); ++j) {
      Prepared* p = pending[j];
      ItemResult& r = results[p->index];
      r.index = p->index;
      const size_t k = key_index[SeriesKey{p->indicator.id, p->input->enterprise_code}];
      switch ((*statuses)[j]) {
        case WriteStatus::kApplied:
          if (!writes[j].new_series.empty()) stored[k] = writes[j].new_series;
          r.outcome = planned[j];
          r.revision = planned_revision[j];
          r.flags = planned_flags[j];
          if (peers_ != nullptr && planned[j] != Outcome::kDuplicate && !p->division.empty() &&
              p->indicator.value_type == ValueType::kNumber) {
            peers_->Add(absl::StrCat(p->indicator.id, "|", p->period_text, "|", p->division),
                        p->value);
          }
          break;
        case WriteStatus::kDuplicateReport: {
          r.outcome = Outcome::kDuplicate;
          // The revision now current.
          auto series = DecodeSeries(stored[k]);
          int ordinal = refdata::PeriodOrdinal(p->period);
          r.revision = 0;
          if (series.ok()) {
            for (const auto& e : *series) {
              if (e.ordinal == ordinal) r.revision = e.revision;
            }
          }
          break;
        }
        case WriteStatus::kReportIdReused:
          r = Reject(p->index, RejectReason::kReportIdReused, "report_id",
                     absl::StrCat("report id \"", p->input->report_id,
                                  "\" was used before for a different observation"));
          break;
        case WriteStatus::kConflict:
          retry.push_back(p);
          break;
      }
    }
    pending = std::move(retry);
  }
  for (Prepared* p : pending) {
    results[p->index] =
        Reject(p->index, RejectReason::kUnspecified, "",
               "concurrent reports for the same series; resend", /*retryable=*/true);
  }
  return results;
}

absl::StatusOr<std::vector<refdata::Period>> Ingest::PeriodRange(const Indicator& indicator,
                                                                 const std::string& start,
                                                                 const std::string& end) {
  auto first = ParsePeriodOf(indicator, start, "periods.start");
  if (!first.ok()) return first.status();
  auto last = ParsePeriodOf(indicator, end, "periods.end");
  if (!last.ok()) return last.status();
  if (*last < *first) return InvalidField("periods.end", "must not be before periods.start");
  std::vector<refdata::Period> out;
  for (refdata::Period p = *first; p <= *last; p = p.Next()) {
    out.push_back(p);
    if (static_cast<int>(out.size()) > kMaxRangePeriods) {
      return InvalidField("periods", absl::StrCat("at most ", kMaxRangePeriods, " periods"));
    }
  }
  return out;
}

absl::StatusOr<std::vector<StoredObservation>> Ingest::GetSeries(const std::string& code,
                                                                 const std::string& indicator_id,
                                                                 const std::string& start,
                                                                 const std::string& end) {
  if (absl::Status s = refdata::ValidateCreditCode(code); !s.ok()) {
    return InvalidField("enterprise_code", s.message());
  }
  auto indicator = FindIndicator(indicator_id, "indicator");
  if (!indicator.ok()) return indicator.status();
  absl::optional<int> lo, hi;
  for (const auto& [text, field, bound] :
       {std::make_tuple(start, "periods.start", &lo), std::make_tuple(end, "periods.end", &hi)}) {
    if (text.empty()) continue;
    auto p = ParsePeriodOf(*indicator, text, field);
    if (!p.ok()) return p.status();
    *bound = refdata::PeriodOrdinal(*p);
  }
  auto texts = store_->ReadSeries({SeriesKey{indicator_id, code}});
  if (!texts.ok()) return texts.status();
  auto series = DecodeSeries((*texts)[0]);
  if (!series.ok()) return series.status();
  std::vector<StoredObservation> out;
  for (const auto& e : *series) {
    if ((lo && e.ordinal < *lo) || (hi && e.ordinal > *hi)) continue;
    StoredObservation o;
    o.code = code;
    o.indicator = indicator_id;
    o.period = refdata::PeriodFromOrdinal(indicator->granularity, e.ordinal).ToString();
    o.entry = e;
    auto name = store_->ReporterName(e.reporter_id);
    o.reporter = name.ok() ? *name : "";
    out.push_back(std::move(o));
  }
  return out;
}

absl::StatusOr<std::vector<Revision>> Ingest::GetHistory(const std::string& code,
                                                         const std::string& indicator_id,
                                                         const std::string& period_text) {
  if (absl::Status s = refdata::ValidateCreditCode(code); !s.ok()) {
    return InvalidField("enterprise_code", s.message());
  }
  auto indicator = FindIndicator(indicator_id, "indicator");
  if (!indicator.ok()) return indicator.status();
  auto period = ParsePeriodOf(*indicator, period_text, "period");
  if (!period.ok()) return period.status();
  SeriesKey key{indicator_id, code};
  auto history = store_->History(key, period->ToString());
  if (!history.ok()) return history.status();
  auto texts = store_->ReadSeries({key});
  if (!texts.ok()) return texts.status();
  auto series = DecodeSeries((*texts)[0]);
  if (!series.ok()) return series.status();
  int ordinal = refdata::PeriodOrdinal(*period);
  std::vector<SeriesEntry> entries = *history;
  for (const auto& e : *series) {
    if (e.ordinal == ordinal) entries.push_back(e);
  }
  std::vector<Revision> out;
  absl::optional<double> previous;
  for (const auto& e : entries) {
    Revision r;
    r.revision = e.revision;
    r.report_id = e.report_id;
    auto name = store_->ReporterName(e.reporter_id);
    r.reporter = name.ok() ? *name : "";
    r.time = absl::FromUnixSeconds(e.time_s);
    r.old_value = previous;
    r.new_value = e.value;
    r.flags = e.flags;
    previous = e.value;
    out.push_back(std::move(r));
  }
  return out;
}

absl::Status Ingest::Scan(
    const std::string& indicator_id, const std::string& period_text, int batch_size,
    const std::function<bool(const std::vector<std::pair<std::string, double>>&, int64_t)>& sink) {
  auto indicator = FindIndicator(indicator_id, "indicator");
  if (!indicator.ok()) return indicator.status();
  auto period = ParsePeriodOf(*indicator, period_text, "period");
  if (!period.ok()) return period.status();
  if (batch_size < 0 || batch_size > kMaxScanBatch) {
    return InvalidField("batch_size", absl::StrCat("must be between 0 and ", kMaxScanBatch));
  }
  return store_->Scan(DataKey{indicator_id, period->ToString()},
                      batch_size == 0 ? kDefaultScanBatch : batch_size, sink);
}

absl::StatusOr<std::vector<PeriodCoverage>> Ingest::GetCoverage(const std::string& indicator_id,
                                                                const std::string& start,
                                                                const std::string& end) {
  auto indicator = FindIndicator(indicator_id, "indicator");
  if (!indicator.ok()) return indicator.status();
  auto periods = PeriodRange(*indicator, start, end);
  if (!periods.ok()) return periods.status();
  std::vector<DataKey> keys;
  for (const auto& p : *periods) keys.push_back(DataKey{indicator_id, p.ToString()});
  auto counts = store_->Coverage(keys);
  if (!counts.ok()) return counts.status();
  std::vector<PeriodCoverage> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    out.push_back(PeriodCoverage{keys[i].period, (*counts)[i].first, (*counts)[i].second});
  }
  return out;
}

absl::StatusOr<std::pair<std::vector<int64_t>, int64_t>> Ingest::GetDataVersions(
    const std::vector<DataKey>& keys) {
  if (keys.empty() || static_cast<int>(keys.size()) > kMaxDataKeys) {
    return InvalidField("keys", absl::StrCat("must hold 1 to ", kMaxDataKeys, " keys"));
  }
  std::vector<DataKey> normalized;
  for (size_t i = 0; i < keys.size(); ++i) {
    std::string field = absl::StrCat("keys[", i, "]");
    auto indicator = FindIndicator(keys[i].indicator, field + ".indicator");
    if (!indicator.ok()) {
      if (absl::IsNotFound(indicator.status())) {
        return InvalidField(field + ".indicator", indicator.status().message());
      }
      return indicator.status();
    }
    auto period = refdata::ParsePeriod(keys[i].period);
    if (!period.ok()) return InvalidField(field + ".period", period.status().message());
    normalized.push_back(DataKey{keys[i].indicator, period->ToString()});
  }
  return store_->DataVersions(normalized);
}

absl::StatusOr<ChangesPage> Ingest::ListChanges(int64_t after_version, int page_size) {
  if (after_version < 0) return InvalidField("after_version", "must not be negative");
  if (page_size < 0 || page_size > kMaxChangesPage) {
    return InvalidField("page_size", absl::StrCat("must be between 0 and ", kMaxChangesPage));
  }
  return store_->ListChanges(after_version, page_size == 0 ? kDefaultChangesPage : page_size);
}

}  // namespace iplus::ingest
