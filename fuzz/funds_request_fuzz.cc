// Funds requests from arbitrary bytes, the way the gRPC adapter converts and validates
// them, applied to the reference ledger (services/funds/domain/ledger.h). The input is a
// sequence of at most 8 requests, each
//   a selector byte S, a 2-byte little-endian length L, then L bytes of a serialized
//   request (L is cut to what is left of the input);
// S % 10 chooses the request:
//   0 CreateTransfersRequest     1 CapitaliseFundRequest     2 CommitToProjectRequest
//   3 PostCommitmentRequest      4 VoidCommitmentRequest     5 DisburseMilestoneRequest
//   6 ReleaseCommitmentRequest   7 ClawBackRequest           8 CreateFundRequest
//   9 CreateProjectRequest
// and the fake clock moves 5 * (S / 10) seconds before it (then ExpirePending runs, as
// the service's background expiry does). Every input starts from a fresh ledger holding
// funds "alpha" and "beta" (operations.h FundAccounts), projects "p-one" and "p-two" of
// alpha and "p-three" of beta (ProjectAccounts) with milestones, capital in both funds,
// pending commitments (two with a timeout) and a posted one; plus "ext:limited"
// (credits_must_not_exceed_debits) and "ext:ledger2" (ledger 2), which no fund operation
// creates but CreateTransfers may name.
//
// CreateTransfers: at most 16 transfers, each through TransferFromProto, the batch
// through Ledger::CreateTransfers, then the same batch again. Fund operations: the
// adapter's request checks (PositiveFen, required fields, text lengths, timeout range),
// the project's fund and milestone from the fuzz target's own catalogue, TransfersFor,
// then the ledger, and the same request again. CreateFund / CreateProject: FundContent /
// ProjectContent, ValidateFund / ValidateProject, then the accounts of a new fund or
// project through Ledger::CreateAccounts.
//
// Invariants:
//  - a transfer survives ToProto/TransferFromProto; one result per transfer, in order,
//    each code a defined one with the status code ResultStatusCode gives it; a malformed
//    transfer (LINKED_EVENT_CHAIN_OPEN .. TYPE_MISSING) is INVALID_ARGUMENT naming fields
//    under "transfers[i]." only, and agrees with ValidateTransfer; OK and EXISTS return a
//    stored transfer whose body matches the request (DifferingField) and which survives
//    a proto round trip; LINKED_EVENT_FAILED points at the failing member of its chain;
//  - a linked chain is all or nothing: every member OK or EXISTS, or exactly one failure
//    and LINKED_EVENT_FAILED for every other member;
//  - the journal grows by the expiries of this call (first, each voiding a now EXPIRED
//    pending transfer) and then exactly one entry per OK result, in order, with the
//    result's transfer, sequence and timestamp; sequences have no gaps;
//  - after every call, over every account: debits equal credits (pending and posted
//    separately), no balance is negative, no debits_must_not_exceed_credits account has
//    debits_pending + debits_posted > credits_posted, nor the mirror; Ledger::Verify
//    (journal.h's verifier) accepts the chain, the head and every balance;
//  - sending the same batch again turns every OK into EXISTS with the same stored
//    transfer, keeps every EXISTS, and adds exactly one journal entry per new OK (none
//    new: nothing changes at all);
//  - a copy of each transfer created, unlinked and with one field changed (memo,
//    milestone, project, fund, amount, type, ledger, debit or credit account, rotating),
//    is refused as ValidateTransfer says, or is EXISTS_WITH_DIFFERENT_BODY naming the
//    field DifferingField finds, or (no difference) EXISTS; it changes nothing;
//  - a fund operation's request checks and TransfersFor fail only with INVALID_ARGUMENT
//    naming the operation's own fields; TransfersFor otherwise gives one well-formed
//    transfer (ValidateTransfer passes) with the id TransferIdFor names, which the ledger
//    never reports as malformed;
//  - ValidateFund / ValidateProject are OK or INVALID_ARGUMENT naming only fields under
//    "fund." / "project."; a valid fund or project differs from itself in no field, its
//    milestones add up to at most its budget, and its accounts are created (or exist
//    identically).

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock/clock.h"
#include "common/status/status.h"
#include "fuzz/fuzz_check.h"
#include "google/protobuf/stubs/logging.h"
#include "iplus/funds/v1/funds.pb.h"
#include "services/funds/catalog/validation.h"
#include "services/funds/domain/journal.h"
#include "services/funds/domain/ledger.h"
#include "services/funds/domain/operations.h"
#include "services/funds/domain/types.h"
#include "services/funds/domain/validate.h"
#include "services/funds/grpc/convert.h"

namespace {

namespace f = iplus::funds;
namespace v1 = iplus::funds::v1;
using iplus::FieldViolation;
using Op = f::FundOperation;
using R = f::CreateTransferResult;

constexpr int kMaxRequests = 8;
constexpr int kMaxTransfers = 16;
constexpr int kKinds = 10;
// The adapter's limit on a commitment's timeout: ten years.
constexpr int64_t kMaxTimeoutNs = int64_t{3650} * 86400 * 1'000'000'000;
constexpr char kBeneficiary[] = "91350100M000100Y43";

std::string Describe(const absl::Status& s) { return s.ToString(); }

// OK, or INVALID_ARGUMENT whose violations all name a field accepted by `allowed`.
template <typename Pred>
void CheckFields(const absl::Status& s, Pred allowed, const std::string& what) {
  if (s.ok()) return;
  FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument, absl::StrCat(what, ": ", Describe(s)));
  const std::vector<FieldViolation> violations = iplus::FieldViolations(s);
  FUZZ_CHECK(!violations.empty(), absl::StrCat(what, " names no field: ", Describe(s)));
  for (const FieldViolation& v : violations) {
    FUZZ_CHECK(allowed(v.field), absl::StrCat(what, " names ", v.field, ": ", Describe(s)));
  }
}

void CheckFieldsUnder(const absl::Status& s, const std::string& prefix, const std::string& what) {
  CheckFields(
      s, [&](const std::string& field) { return absl::StartsWith(field, prefix); }, what);
}

void CheckFieldsIn(const absl::Status& s, const std::set<std::string>& fields,
                   const std::string& what) {
  CheckFields(
      s, [&](const std::string& field) { return fields.count(field) > 0; }, what);
}

// Every violation of several statuses in one INVALID_ARGUMENT, as the adapter merges its
// request checks.
absl::Status Merge(const std::vector<absl::Status>& statuses) {
  std::vector<FieldViolation> all;
  for (const absl::Status& s : statuses) {
    if (s.ok()) continue;
    FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument, Describe(s));
    auto v = iplus::FieldViolations(s);
    FUZZ_CHECK(!v.empty(), Describe(s));
    all.insert(all.end(), v.begin(), v.end());
  }
  return all.empty() ? absl::OkStatus() : iplus::InvalidFields(all);
}

absl::Status Required(const std::string& value, const char* field) {
  return value.empty() ? iplus::InvalidField(field, "must be set") : absl::OkStatus();
}

// The transfer's client fields, without the output-only ones.
f::Transfer Body(f::Transfer t) {
  t.timestamp_ns = 0;
  t.journal_sequence = 0;
  t.pending_state = f::PendingState::kNone;
  return t;
}

// The stored transfer without its current pending state (a journal entry's form).
f::Transfer Entry(f::Transfer t) {
  t.pending_state = f::PendingState::kNone;
  return t;
}

bool IsMalformedCode(R r) { return r >= R::kLinkedEventChainOpen && r <= R::kTypeMissing; }

v1::Project SeedProject(const std::string& id, const std::string& fund_id, int64_t budget,
                        const std::vector<std::pair<std::string, int64_t>>& milestones) {
  v1::Project p;
  p.set_id(id);
  p.set_fund_id(fund_id);
  p.set_beneficiary_code(kBeneficiary);
  p.set_kind(v1::PROJECT_KIND_PILOT_PROJECT);
  p.set_title(absl::StrCat("Project ", id));
  f::SetCny(budget, p.mutable_budget());
  for (const auto& [mid, amount] : milestones) {
    v1::Milestone* m = p.add_milestones();
    m->set_id(mid);
    m->set_title(absl::StrCat("Milestone ", mid));
    f::SetCny(amount, m->mutable_amount());
  }
  return p;
}

v1::Fund SeedFund(const std::string& id) {
  v1::Fund fund;
  fund.set_id(id);
  fund.set_name(absl::StrCat("Fund ", id));
  fund.mutable_sponsor()->set_region_code("440103");
  fund.add_focus_areas(v1::FOCUS_AREA_PLATFORMS);
  fund.set_currency("CNY");
  return fund;
}

class World {
 public:
  World() : ledger_(&clock_) {}

  // The seeded funds, projects, accounts and transfers; aborts if any is refused.
  void Seed();
  void Run(int kind, const uint8_t* data, size_t size);
  void Advance(int64_t seconds);

 private:
  // --- the ledger and its invariants ---
  std::vector<f::Account> AllAccounts();
  void CheckLedger(const std::string& what);
  std::vector<f::TransferResult> ApplyBatch(const std::vector<f::Transfer>& transfers,
                                            const std::string& what);
  // ApplyBatch, then the same batch again; returns the first call's results.
  std::vector<f::TransferResult> SendTwice(const std::vector<f::Transfer>& transfers,
                                           const std::string& what);
  // Sends, unlinked, a copy of each transfer `first` created with one field changed
  // (which one rotates): each must be refused by its own form (ValidateTransfer), be
  // EXISTS_WITH_DIFFERENT_BODY naming the field DifferingField finds, or, with no
  // difference, EXISTS; nothing changes.
  void ReuseIds(const std::vector<f::Transfer>& transfers,
                const std::vector<f::TransferResult>& first,
                const std::vector<f::TransferResult>& second, const std::string& what);
  void CreateAccounts(const std::vector<f::Account>& accounts, const std::string& what);

  // --- requests ---
  void CreateTransfers(const v1::CreateTransfersRequest& req);
  // The adapter's request checks (`pre`, naming only `fields`), then TransfersFor and
  // the ledger. `known` is false when the fund or project is not in the catalogue: then
  // only TransfersFor's output is checked.
  void FundOperation(const f::FundOperationRequest& request, const absl::Status& pre,
                     const std::set<std::string>& fields, bool known);
  // The project, or null (NOT_FOUND in the adapter).
  const v1::Project* FindProject(const std::string& id) const;
  void CreateFund(const v1::CreateFundRequest& req);
  void CreateProject(const v1::CreateProjectRequest& req);

  iplus::FakeClock clock_;
  f::Ledger ledger_;
  std::map<std::string, v1::Fund> funds_;
  std::map<std::string, v1::Project> projects_;
  std::set<std::string> account_ids_;
  int step_ = 0;  // rotates the field ReuseIds changes
};

void World::Advance(int64_t seconds) {
  if (seconds <= 0) return;
  clock_.Advance(absl::Seconds(seconds));
  auto before = ledger_.Head();
  FUZZ_CHECK(before.ok(), Describe(before.status()));
  auto n = ledger_.ExpirePending();
  FUZZ_CHECK(n.ok(), Describe(n.status()));
  auto after = ledger_.Head();
  FUZZ_CHECK(after.ok(), Describe(after.status()));
  FUZZ_CHECK(after->sequence == before->sequence + *n,
             absl::StrCat("ExpirePending reported ", *n, " expiries, the journal grew from ",
                          before->sequence, " to ", after->sequence));
  auto entries = ledger_.ReadJournal(before->sequence, f::kMaxPageSize);
  FUZZ_CHECK(entries.ok(), Describe(entries.status()));
  FUZZ_CHECK(static_cast<int64_t>(entries->size()) == *n, "ExpirePending's entries");
  for (const f::JournalEntry& e : *entries) {
    FUZZ_CHECK(absl::StartsWith(e.transfer.id, f::kExpiryIdPrefix) &&
                   e.transfer.flags.void_pending_transfer,
               absl::StrCat("ExpirePending journalled ", e.transfer.id));
  }
  CheckLedger("ExpirePending");
}

std::vector<f::Account> World::AllAccounts() {
  const std::vector<std::string> ids(account_ids_.begin(), account_ids_.end());
  auto found = ledger_.LookupAccounts(ids);
  FUZZ_CHECK(found.ok(), Describe(found.status()));
  FUZZ_CHECK(found->size() == ids.size(), "LookupAccounts: one answer per id");
  std::vector<f::Account> out;
  for (size_t i = 0; i < ids.size(); ++i) {
    FUZZ_CHECK((*found)[i].has_value(), absl::StrCat("account ", ids[i], " vanished"));
    out.push_back(*(*found)[i]);
  }
  return out;
}

void World::CheckLedger(const std::string& what) {
  __int128 debits_pending = 0, debits_posted = 0, credits_pending = 0, credits_posted = 0;
  const std::vector<f::Account> accounts = AllAccounts();
  for (const f::Account& a : accounts) {
    const auto where = [&] {
      return absl::StrCat(what, ": account ", a.id, " dp ", a.debits_pending, " dP ",
                          a.debits_posted, " cp ", a.credits_pending, " cP ", a.credits_posted);
    };
    FUZZ_CHECK(a.debits_pending >= 0 && a.debits_posted >= 0 && a.credits_pending >= 0 &&
                   a.credits_posted >= 0,
               where());
    if (a.flags.debits_must_not_exceed_credits) {
      FUZZ_CHECK(__int128{a.debits_pending} + a.debits_posted <= a.credits_posted, where());
    }
    if (a.flags.credits_must_not_exceed_debits) {
      FUZZ_CHECK(__int128{a.credits_pending} + a.credits_posted <= a.debits_posted, where());
    }
    debits_pending += a.debits_pending;
    debits_posted += a.debits_posted;
    credits_pending += a.credits_pending;
    credits_posted += a.credits_posted;
  }
  FUZZ_CHECK(debits_pending == credits_pending, absl::StrCat(what, ": pending debits != credits"));
  FUZZ_CHECK(debits_posted == credits_posted, absl::StrCat(what, ": posted debits != credits"));

  auto head = ledger_.Head();
  FUZZ_CHECK(head.ok(), Describe(head.status()));
  auto report = ledger_.Verify();
  FUZZ_CHECK(report.ok(), Describe(report.status()));
  FUZZ_CHECK(report->ok, absl::StrCat(what, ": journal does not verify at entry ",
                                      report->first_bad_sequence, ": ", report->discrepancy));
  FUZZ_CHECK(
      report->entries_checked == head->sequence && report->head_sequence == head->sequence,
      absl::StrCat(what, ": verified ", report->entries_checked, " entries of ", head->sequence));
  FUZZ_CHECK(report->head_hash == head->hash, absl::StrCat(what, ": head hash"));
  FUZZ_CHECK(
      report->balances_checked == static_cast<int64_t>(accounts.size()),
      absl::StrCat(what, ": ", report->balances_checked, " balances checked of ", accounts.size()));
}

std::vector<f::TransferResult> World::ApplyBatch(const std::vector<f::Transfer>& transfers,
                                                 const std::string& what) {
  auto head_before = ledger_.Head();
  FUZZ_CHECK(head_before.ok(), Describe(head_before.status()));
  const int64_t now = absl::ToUnixNanos(clock_.Now());

  auto applied = ledger_.CreateTransfers(transfers);
  FUZZ_CHECK(applied.ok(), absl::StrCat(what, ": ", Describe(applied.status())));
  const std::vector<f::TransferResult>& results = *applied;
  const int n = static_cast<int>(transfers.size());
  FUZZ_CHECK(static_cast<int>(results.size()) == n,
             absl::StrCat(what, ": ", results.size(), " results for ", n, " transfers"));

  std::vector<const f::TransferResult*> oks;
  for (int i = 0; i < n; ++i) {
    const f::TransferResult& r = results[i];
    const f::Transfer& t = transfers[i];
    const auto where = [&] {
      return absl::StrCat(what, ": transfers[", i, "] ", t.id, " -> ", f::ResultName(r.result), " ",
                          Describe(r.status));
    };
    FUZZ_CHECK(r.index == i, where());
    FUZZ_CHECK(r.result >= R::kOk && r.result <= R::kExceedsDebits, where());
    FUZZ_CHECK(r.status.code() == f::ResultStatusCode(r.result), where());
    FUZZ_CHECK(r.succeeded() == r.status.ok(), where());

    const std::optional<f::TransferViolation> violation = f::ValidateTransfer(t);
    if (IsMalformedCode(r.result)) {
      CheckFieldsUnder(r.status, absl::StrCat("transfers[", i, "]."), where());
    }
    if (r.result == R::kLinkedEventChainOpen) {
      FUZZ_CHECK(i == n - 1 && t.flags.linked, where());
    } else if (IsMalformedCode(r.result)) {
      FUZZ_CHECK(violation.has_value() && violation->code == r.result, where());
    }
    if (violation.has_value() && r.result != R::kLinkedEventFailed &&
        r.result != R::kLinkedEventChainOpen) {
      FUZZ_CHECK(r.result == violation->code,
                 absl::StrCat(where(), "; ValidateTransfer says ", f::ResultName(violation->code)));
    }

    switch (r.result) {
      case R::kOk:
      case R::kExists: {
        FUZZ_CHECK(r.transfer.id == t.id, where());
        const std::string differs = f::DifferingField(t, r.transfer);
        FUZZ_CHECK(differs.empty(), absl::StrCat(where(), "; differs in ", differs));
        FUZZ_CHECK(r.transfer.journal_sequence > 0 && r.transfer.timestamp_ns > 0, where());
        FUZZ_CHECK(!f::ValidateTransfer(r.transfer).has_value(), where());
        v1::Transfer proto;
        f::ToProto(r.transfer, &proto);
        FUZZ_CHECK(Body(f::TransferFromProto(proto)) == Body(r.transfer),
                   absl::StrCat(where(), "; stored transfer changed in a proto round trip"));
        if (r.result == R::kOk) {
          FUZZ_CHECK(r.transfer.timestamp_ns >= now, where());
          FUZZ_CHECK(r.transfer.pending_state ==
                         (t.flags.pending ? f::PendingState::kPending : f::PendingState::kNone),
                     where());
          oks.push_back(&r);
        }
        break;
      }
      case R::kExistsWithDifferentBody:
        FUZZ_CHECK(!r.differing_field.empty(), where());
        break;
      case R::kLinkedEventFailed: {
        const int k = r.failed_index;
        FUZZ_CHECK(k >= 0 && k < n && k != i, where());
        FUZZ_CHECK(!results[k].succeeded() && results[k].result != R::kLinkedEventFailed, where());
        // k is in i's chain: every transfer from min(i, k) up to max(i, k) - 1 is linked.
        for (int j = std::min(i, k); j < std::max(i, k); ++j) {
          FUZZ_CHECK(transfers[j].flags.linked, absl::StrCat(where(), "; failed_index ", k));
        }
        break;
      }
      default:
        break;
    }
  }

  // Linked chains are all or nothing.
  for (int i = 0; i < n;) {
    int end = i;
    while (end < n - 1 && transfers[end].flags.linked) ++end;
    if (end > i) {
      int failures = 0, linked_failed = 0, succeeded = 0, failed_at = -1;
      for (int k = i; k <= end; ++k) {
        if (results[k].succeeded()) {
          ++succeeded;
        } else if (results[k].result == R::kLinkedEventFailed) {
          ++linked_failed;
        } else {
          ++failures;
          failed_at = k;
        }
      }
      const auto where = [&] {
        return absl::StrCat(what, ": chain ", i, "..", end, ": ", succeeded, " succeeded, ",
                            failures, " failed, ", linked_failed, " linked failures");
      };
      FUZZ_CHECK(succeeded == end - i + 1 || (failures == 1 && linked_failed == end - i), where());
      if (failures == 1) {
        for (int k = i; k <= end; ++k) {
          if (k != failed_at) FUZZ_CHECK(results[k].failed_index == failed_at, where());
        }
      }
    }
    i = end + 1;
  }

  // The journal: this call's expiries, then one entry per OK result, in order.
  auto head_after = ledger_.Head();
  FUZZ_CHECK(head_after.ok(), Describe(head_after.status()));
  auto entries = ledger_.ReadJournal(head_before->sequence, f::kMaxPageSize);
  FUZZ_CHECK(entries.ok(), Describe(entries.status()));
  FUZZ_CHECK(static_cast<int64_t>(entries->size()) == head_after->sequence - head_before->sequence,
             absl::StrCat(what, ": journal grew from ", head_before->sequence, " to ",
                          head_after->sequence, " but ", entries->size(), " entries follow"));
  size_t expiries = 0;
  while (expiries < entries->size() &&
         absl::StartsWith((*entries)[expiries].transfer.id, f::kExpiryIdPrefix)) {
    ++expiries;
  }
  FUZZ_CHECK(entries->size() == expiries + oks.size(),
             absl::StrCat(what, ": ", entries->size(), " new journal entries for ", expiries,
                          " expiries and ", oks.size(), " OK results"));
  int64_t prev_ts = head_before->timestamp_ns;
  for (size_t k = 0; k < entries->size(); ++k) {
    const f::JournalEntry& e = (*entries)[k];
    const auto where = [&] {
      return absl::StrCat(what, ": journal entry ", e.sequence, " ", e.transfer.id);
    };
    FUZZ_CHECK(e.sequence == head_before->sequence + static_cast<int64_t>(k) + 1, where());
    FUZZ_CHECK(e.transfer.journal_sequence == e.sequence, where());
    FUZZ_CHECK(e.transfer.timestamp_ns > prev_ts, where());
    prev_ts = e.transfer.timestamp_ns;
    if (k < expiries) {
      const f::Transfer& x = e.transfer;
      FUZZ_CHECK(x.flags.void_pending_transfer && x.memo == "expired" &&
                     x.id == absl::StrCat(f::kExpiryIdPrefix, x.pending_id),
                 where());
      auto pending = ledger_.LookupTransfers({x.pending_id});
      FUZZ_CHECK(pending.ok() && pending->size() == 1 && (*pending)[0].has_value(), where());
      FUZZ_CHECK((*pending)[0]->pending_state == f::PendingState::kExpired, where());
    } else {
      const f::TransferResult& r = *oks[k - expiries];
      FUZZ_CHECK(e.transfer == Entry(r.transfer),
                 absl::StrCat(where(), " is not transfers[", r.index, "] ", r.transfer.id));
    }
  }
  FUZZ_CHECK(head_after->timestamp_ns == prev_ts, absl::StrCat(what, ": head timestamp"));

  // A pending transfer an OK post or void resolved is in that state now.
  for (const f::TransferResult* r : oks) {
    if (!r->transfer.is_post_or_void()) continue;
    auto pending = ledger_.LookupTransfers({r->transfer.pending_id});
    FUZZ_CHECK(pending.ok() && pending->size() == 1 && (*pending)[0].has_value(),
               r->transfer.pending_id);
    const f::PendingState want = r->transfer.flags.post_pending_transfer ? f::PendingState::kPosted
                                                                         : f::PendingState::kVoided;
    FUZZ_CHECK((*pending)[0]->pending_state == want,
               absl::StrCat(what, ": ", r->transfer.id, " resolved ", r->transfer.pending_id));
  }

  CheckLedger(what);
  return results;
}

std::vector<f::TransferResult> World::SendTwice(const std::vector<f::Transfer>& transfers,
                                                const std::string& what) {
  const std::vector<f::TransferResult> first = ApplyBatch(transfers, what);
  const std::vector<f::Account> accounts = AllAccounts();
  auto head = ledger_.Head();
  FUZZ_CHECK(head.ok(), Describe(head.status()));

  const std::string again = absl::StrCat(what, " sent again");
  const std::vector<f::TransferResult> second = ApplyBatch(transfers, again);
  int64_t new_oks = 0;
  for (size_t i = 0; i < first.size(); ++i) {
    const auto where = [&] {
      return absl::StrCat(again, ": transfers[", i, "] ", transfers[i].id, " ",
                          f::ResultName(first[i].result), " then ",
                          f::ResultName(second[i].result));
    };
    if (first[i].succeeded()) {
      FUZZ_CHECK(second[i].result == R::kExists, where());
      FUZZ_CHECK(Entry(second[i].transfer) == Entry(first[i].transfer), where());
    }
    if (second[i].result == R::kOk) ++new_oks;
  }
  auto head_again = ledger_.Head();
  FUZZ_CHECK(head_again.ok(), Describe(head_again.status()));
  FUZZ_CHECK(head_again->sequence == head->sequence + new_oks,
             absl::StrCat(again, ": journal grew from ", head->sequence, " to ",
                          head_again->sequence, " with ", new_oks, " new OK results"));
  if (new_oks == 0) {
    FUZZ_CHECK(*head_again == *head, absl::StrCat(again, ": head changed"));
    const std::vector<f::Account> now = AllAccounts();
    FUZZ_CHECK(now == accounts, absl::StrCat(again, ": balances changed"));
  }
  ReuseIds(transfers, first, second, what);
  return first;
}

void World::ReuseIds(const std::vector<f::Transfer>& transfers,
                     const std::vector<f::TransferResult>& first,
                     const std::vector<f::TransferResult>& second, const std::string& what) {
  std::vector<f::Transfer> variants;
  std::vector<const f::Transfer*> stored;
  for (size_t i = 0; i < first.size(); ++i) {
    if (first[i].result != R::kOk) continue;
    const f::Transfer& s = second[i].transfer;
    f::Transfer v = transfers[i];
    v.flags.linked = false;
    switch (step_++ % 9) {
      case 0:
        v.memo += "~";
        break;
      case 1:
        v.milestone_id += "m";
        break;
      case 2:
        v.project_id += "p";
        break;
      case 3:
        v.fund_id += "f";
        break;
      case 4:
        v.amount = v.amount < INT64_MAX ? v.amount + 1 : v.amount - 1;
        break;
      case 5:
        v.type = s.type % f::kMaxIatiType + 1;
        break;
      case 6:
        v.ledger = s.ledger < INT32_MAX ? s.ledger + 1 : 1;
        break;
      case 7:
        v.debit_account_id = absl::StrCat(s.debit_account_id, ":x");
        break;
      default:
        v.credit_account_id = absl::StrCat(s.credit_account_id, ":x");
        break;
    }
    variants.push_back(std::move(v));
    stored.push_back(&s);
  }
  if (variants.empty()) return;
  const std::vector<f::Account> accounts = AllAccounts();
  auto head = ledger_.Head();
  FUZZ_CHECK(head.ok(), Describe(head.status()));
  auto results = ledger_.CreateTransfers(variants);
  FUZZ_CHECK(results.ok() && results->size() == variants.size(),
             absl::StrCat(what, " with ids reused: ", Describe(results.status())));
  for (size_t k = 0; k < variants.size(); ++k) {
    const f::TransferResult& r = (*results)[k];
    const f::Transfer& v = variants[k];
    const std::optional<f::TransferViolation> violation = f::ValidateTransfer(v);
    const std::string differs = f::DifferingField(v, *stored[k]);
    const auto where = [&] {
      return absl::StrCat(
          what, " with id ", v.id, " reused: ", f::ResultName(r.result), " ", Describe(r.status),
          "; ValidateTransfer: ", violation ? f::ResultName(violation->code) : "passes",
          "; DifferingField: ", differs);
    };
    if (violation) {
      FUZZ_CHECK(r.result == violation->code, where());
    } else if (!differs.empty()) {
      FUZZ_CHECK(r.result == R::kExistsWithDifferentBody && r.differing_field == differs, where());
    } else {
      FUZZ_CHECK(r.result == R::kExists && Entry(r.transfer) == Entry(*stored[k]), where());
    }
  }
  auto head_after = ledger_.Head();
  FUZZ_CHECK(head_after.ok() && *head_after == *head,
             absl::StrCat(what, " with ids reused: the journal changed"));
  FUZZ_CHECK(AllAccounts() == accounts, absl::StrCat(what, " with ids reused: balances changed"));
}

void World::CreateAccounts(const std::vector<f::Account>& accounts, const std::string& what) {
  auto created = ledger_.CreateAccounts(accounts);
  FUZZ_CHECK(created.ok(), absl::StrCat(what, ": ", Describe(created.status())));
  FUZZ_CHECK(created->size() == accounts.size(), what);
  for (size_t i = 0; i < accounts.size(); ++i) {
    const f::AccountResult& r = (*created)[i];
    FUZZ_CHECK(r.status.ok(),
               absl::StrCat(what, ": account ", accounts[i].id, ": ", Describe(r.status)));
    FUZZ_CHECK(
        r.account.id == accounts[i].id && f::DifferingAccountField(accounts[i], r.account).empty(),
        absl::StrCat(what, ": account ", accounts[i].id));
    if (r.created) {
      FUZZ_CHECK(r.account.debits_pending == 0 && r.account.debits_posted == 0 &&
                     r.account.credits_pending == 0 && r.account.credits_posted == 0,
                 absl::StrCat(what, ": new account ", accounts[i].id, " has a balance"));
    }
    account_ids_.insert(accounts[i].id);
  }
  CheckLedger(what);
}

// What every input starts from, built once.
struct SeedData {
  std::map<std::string, v1::Fund> funds;
  std::map<std::string, v1::Project> projects;
  std::vector<f::Account> accounts;
  std::vector<f::Transfer> transfers;
};

const SeedData& Seeds() {
  static const SeedData* const seeds = [] {
    auto* d = new SeedData;
    for (const char* id : {"alpha", "beta"}) {
      d->funds[id] = SeedFund(id);
      for (f::Account& a : f::FundAccounts(id)) d->accounts.push_back(std::move(a));
    }
    d->projects["p-one"] = SeedProject("p-one", "alpha", 400000, {{"m1", 30000}, {"m2", 50000}});
    d->projects["p-two"] = SeedProject("p-two", "alpha", 100000, {{"m1", 20000}});
    d->projects["p-three"] = SeedProject("p-three", "beta", 60000, {{"final", 10000}});
    for (const auto& [id, fund] : d->funds) {
      FUZZ_CHECK(f::ValidateFund(fund).ok(), Describe(f::ValidateFund(fund)));
    }
    for (const auto& [id, p] : d->projects) {
      FUZZ_CHECK(f::ValidateProject(p).ok(), Describe(f::ValidateProject(p)));
      for (f::Account& a : f::ProjectAccounts(p.fund_id(), id)) d->accounts.push_back(std::move(a));
    }
    f::Account limited;
    limited.id = "ext:limited";
    limited.kind = f::AccountKind::kFundSource;
    limited.flags.credits_must_not_exceed_debits = true;
    d->accounts.push_back(limited);
    f::Account other_ledger;
    other_ledger.id = "ext:ledger2";
    other_ledger.ledger = 2;
    other_ledger.kind = f::AccountKind::kFundSource;
    d->accounts.push_back(other_ledger);

    struct SeedOp {
      Op op;
      const char* fund;
      const char* project;
      int64_t amount;
      int64_t timeout_s;
      const char* pending;
      const char* request_id;
    };
    const SeedOp ops[] = {
        {Op::kCapitaliseFund, "alpha", "", 1000000, 0, "", "seed-alpha"},
        {Op::kCapitaliseFund, "beta", "", 500000, 0, "", "seed-beta"},
        {Op::kCommitToProject, "alpha", "p-one", 200000, 0, "", "seed-1"},
        {Op::kCommitToProject, "alpha", "p-one", 100000, 60, "", "seed-2"},
        {Op::kCommitToProject, "alpha", "p-two", 50000, 0, "", "seed-3"},
        {Op::kPostCommitment, "alpha", "p-two", 0, 0, "commit:seed-3", "seed-3"},
        {Op::kCommitToProject, "beta", "p-three", 30000, 30, "", "seed-4"},
    };
    for (const SeedOp& s : ops) {
      f::FundOperationRequest r;
      r.operation = s.op;
      r.fund_id = s.fund;
      r.project_id = s.project;
      r.amount = s.amount;
      r.timeout_ns = s.timeout_s * 1'000'000'000;
      r.pending_transfer_id = s.pending;
      r.request_id = s.request_id;
      auto transfers = f::TransfersFor(r);
      FUZZ_CHECK(transfers.ok(), Describe(transfers.status()));
      d->transfers.push_back((*transfers)[0]);
    }
    return d;
  }();
  return *seeds;
}

void World::Seed() {
  const SeedData& seeds = Seeds();
  funds_ = seeds.funds;
  projects_ = seeds.projects;
  auto accounts = ledger_.CreateAccounts(seeds.accounts);
  FUZZ_CHECK(accounts.ok(), Describe(accounts.status()));
  for (const f::AccountResult& r : *accounts) {
    FUZZ_CHECK(r.status.ok() && r.created, Describe(r.status));
    account_ids_.insert(r.account.id);
  }
  auto results = ledger_.CreateTransfers(seeds.transfers);
  FUZZ_CHECK(results.ok(), Describe(results.status()));
  for (const f::TransferResult& r : *results) {
    FUZZ_CHECK(r.result == R::kOk, absl::StrCat("seed transfer ", r.index, ": ",
                                                f::ResultName(r.result), " ", Describe(r.status)));
  }
  // The same every time: checked on the first input only.
  static bool checked = false;
  if (!checked) {
    CheckLedger("seed");
    checked = true;
  }
}

const v1::Project* World::FindProject(const std::string& id) const {
  auto it = projects_.find(id);
  return it == projects_.end() ? nullptr : &it->second;
}

void World::CreateTransfers(const v1::CreateTransfersRequest& req) {
  const int n = req.transfers_size();
  const absl::Status size = f::CheckBatchSize("transfers", static_cast<size_t>(n), false);
  if (n == 0) {
    CheckFieldsIn(size, {"transfers"}, "CreateTransfers");
    FUZZ_CHECK(!size.ok(), "an empty batch is accepted");
    auto refused = ledger_.CreateTransfers({});
    FUZZ_CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument,
               Describe(refused.status()));
    return;
  }
  FUZZ_CHECK(size.ok(), Describe(size));
  if (n > kMaxTransfers) return;
  std::vector<f::Transfer> transfers;
  transfers.reserve(n);
  for (const v1::Transfer& p : req.transfers()) {
    f::Transfer t = f::TransferFromProto(p);
    v1::Transfer out;
    f::ToProto(t, &out);
    FUZZ_CHECK(Body(f::TransferFromProto(out)) == Body(t),
               absl::StrCat("transfer ", t.id, " changed in a proto round trip"));
    transfers.push_back(std::move(t));
  }
  SendTwice(transfers, "CreateTransfers");
}

void World::FundOperation(const f::FundOperationRequest& request, const absl::Status& pre,
                          const std::set<std::string>& fields, bool known) {
  const std::string what =
      absl::StrCat(f::OperationName(request.operation), " request ", request.request_id);
  CheckFieldsIn(pre, fields, what);
  if (!pre.ok()) return;
  auto transfers = f::TransfersFor(request);
  CheckFieldsIn(transfers.status(),
                {"request_id", "fund_id", "project_id", "amount", "timeout", "pending_transfer_id",
                 "milestone_id"},
                absl::StrCat(what, ": TransfersFor"));
  if (!transfers.ok()) return;
  FUZZ_CHECK(transfers->size() == 1, what);
  const f::Transfer& t = (*transfers)[0];
  FUZZ_CHECK(t.id == f::TransferIdFor(request) && f::IsValidTransferId(t.id),
             absl::StrCat(what, ": transfer id ", t.id));
  const std::optional<f::TransferViolation> violation = f::ValidateTransfer(t);
  FUZZ_CHECK(!violation.has_value(),
             absl::StrCat(what, ": TransfersFor built a malformed transfer: ",
                          violation ? f::ResultName(violation->code) : "", " ",
                          violation ? violation->field : ""));
  FUZZ_CHECK(!t.flags.linked, what);
  if (!known) return;
  const std::vector<f::TransferResult> results = SendTwice(*transfers, what);
  FUZZ_CHECK(!IsMalformedCode(results[0].result) && results[0].result != R::kLinkedEventFailed,
             absl::StrCat(what, ": ", f::ResultName(results[0].result)));
}

void World::CreateFund(const v1::CreateFundRequest& req) {
  const v1::Fund fund = f::FundContent(req.fund());
  const absl::Status valid = f::ValidateFund(fund);
  CheckFieldsUnder(valid, "fund.", "ValidateFund");
  if (!valid.ok()) return;
  FUZZ_CHECK(f::DifferingFundField(fund, fund).empty(), fund.id());
  auto it = funds_.find(fund.id());
  if (it != funds_.end() && !f::DifferingFundField(fund, it->second).empty()) return;
  CreateAccounts(f::FundAccounts(fund.id()), absl::StrCat("CreateFund ", fund.id()));
  funds_[fund.id()] = fund;
}

void World::CreateProject(const v1::CreateProjectRequest& req) {
  const v1::Project project = f::ProjectContent(req.project());
  const absl::Status valid = f::ValidateProject(project);
  CheckFieldsUnder(valid, "project.", "ValidateProject");
  if (!valid.ok()) return;
  FUZZ_CHECK(f::DifferingProjectField(project, project).empty(), project.id());
  FUZZ_CHECK(f::MilestonesTotal(project) <= project.budget().fen(),
             absl::StrCat(project.id(), ": milestones above the budget"));
  if (!funds_.count(project.fund_id())) return;  // NOT_FOUND
  auto it = projects_.find(project.id());
  if (it != projects_.end() && !f::DifferingProjectField(project, it->second).empty()) return;
  CreateAccounts(f::ProjectAccounts(project.fund_id(), project.id()),
                 absl::StrCat("CreateProject ", project.id()));
  projects_[project.id()] = project;
}

void World::Run(int kind, const uint8_t* data, size_t size) {
  const int len = static_cast<int>(size);
  f::FundOperationRequest r;
  switch (kind) {
    case 0: {
      v1::CreateTransfersRequest req;
      if (req.ParseFromArray(data, len)) CreateTransfers(req);
      return;
    }
    case 1: {
      v1::CapitaliseFundRequest req;
      if (!req.ParseFromArray(data, len)) return;
      auto amount = f::PositiveFen(req.amount(), req.has_amount(), "amount");
      const absl::Status pre =
          Merge({Required(req.request_id(), "request_id"), Required(req.fund_id(), "fund_id"),
                 amount.status(), f::CheckText(req.memo(), "memo", 0, f::kMaxMemoChars)});
      r.operation = Op::kCapitaliseFund;
      r.fund_id = req.fund_id();
      r.amount = amount.ok() ? *amount : 0;
      r.memo = req.memo();
      r.request_id = req.request_id();
      FundOperation(r, pre,
                    {"request_id", "fund_id", "amount", "amount.currency", "amount.fen", "memo"},
                    funds_.count(req.fund_id()) > 0);
      return;
    }
    case 2: {
      v1::CommitToProjectRequest req;
      if (!req.ParseFromArray(data, len)) return;
      auto amount = f::PositiveFen(req.amount(), req.has_amount(), "amount");
      absl::Status timeout;
      int64_t timeout_ns = 0;
      if (req.has_timeout()) {
        timeout_ns = f::DurationNanos(req.timeout());
        if (timeout_ns <= 0 || timeout_ns > kMaxTimeoutNs) {
          timeout = iplus::InvalidField("timeout", "must be positive and at most 3650 days");
        }
      }
      const absl::Status pre =
          Merge({Required(req.request_id(), "request_id"), Required(req.project_id(), "project_id"),
                 amount.status(), timeout, f::CheckText(req.memo(), "memo", 0, f::kMaxMemoChars)});
      const v1::Project* p = FindProject(req.project_id());
      r.operation = Op::kCommitToProject;
      r.fund_id = p ? p->fund_id() : "unknown-fund";
      r.project_id = req.project_id();
      r.amount = amount.ok() ? *amount : 0;
      r.timeout_ns = timeout_ns;
      r.memo = req.memo();
      r.request_id = req.request_id();
      FundOperation(r, pre,
                    {"request_id", "project_id", "amount", "amount.currency", "amount.fen",
                     "timeout", "memo"},
                    p != nullptr);
      return;
    }
    case 3: {
      v1::PostCommitmentRequest req;
      if (!req.ParseFromArray(data, len)) return;
      absl::StatusOr<int64_t> amount = 0;
      if (req.has_amount()) amount = f::PositiveFen(req.amount(), true, "amount");
      const absl::Status pre =
          Merge({Required(req.request_id(), "request_id"), Required(req.project_id(), "project_id"),
                 Required(req.pending_transfer_id(), "pending_transfer_id"), amount.status()});
      const v1::Project* p = FindProject(req.project_id());
      r.operation = Op::kPostCommitment;
      r.fund_id = p ? p->fund_id() : "unknown-fund";
      r.project_id = req.project_id();
      r.amount = amount.ok() ? *amount : 0;
      r.pending_transfer_id = req.pending_transfer_id();
      r.request_id = req.request_id();
      FundOperation(r, pre,
                    {"request_id", "project_id", "pending_transfer_id", "amount", "amount.currency",
                     "amount.fen"},
                    p != nullptr);
      return;
    }
    case 4: {
      v1::VoidCommitmentRequest req;
      if (!req.ParseFromArray(data, len)) return;
      const absl::Status pre =
          Merge({Required(req.request_id(), "request_id"), Required(req.project_id(), "project_id"),
                 Required(req.pending_transfer_id(), "pending_transfer_id"),
                 f::CheckText(req.reason(), "reason", 0, f::kMaxMemoChars)});
      const v1::Project* p = FindProject(req.project_id());
      r.operation = Op::kVoidCommitment;
      r.fund_id = p ? p->fund_id() : "unknown-fund";
      r.project_id = req.project_id();
      r.pending_transfer_id = req.pending_transfer_id();
      r.memo = req.reason();
      r.request_id = req.request_id();
      FundOperation(r, pre, {"request_id", "project_id", "pending_transfer_id", "reason"},
                    p != nullptr);
      return;
    }
    case 5: {
      v1::DisburseMilestoneRequest req;
      if (!req.ParseFromArray(data, len)) return;
      const absl::Status pre =
          Merge({Required(req.request_id(), "request_id"), Required(req.project_id(), "project_id"),
                 Required(req.milestone_id(), "milestone_id")});
      const v1::Project* p = FindProject(req.project_id());
      const v1::Milestone* milestone = nullptr;
      if (p != nullptr) {
        for (const v1::Milestone& m : p->milestones()) {
          if (m.id() == req.milestone_id()) milestone = &m;
        }
      }
      r.operation = Op::kDisburseMilestone;
      r.fund_id = p ? p->fund_id() : "unknown-fund";
      r.project_id = req.project_id();
      r.milestone_id = req.milestone_id();
      // An unknown milestone is NOT_FOUND in the adapter: only TransfersFor is checked,
      // with an amount of 1.
      r.amount = milestone ? milestone->amount().fen() : 1;
      r.request_id = req.request_id();
      FundOperation(r, pre, {"request_id", "project_id", "milestone_id"}, milestone != nullptr);
      return;
    }
    case 6: {
      v1::ReleaseCommitmentRequest req;
      if (!req.ParseFromArray(data, len)) return;
      absl::StatusOr<int64_t> amount = 0;
      if (req.has_amount()) amount = f::PositiveFen(req.amount(), true, "amount");
      const absl::Status pre =
          Merge({Required(req.request_id(), "request_id"), Required(req.project_id(), "project_id"),
                 amount.status(), f::CheckText(req.reason(), "reason", 0, f::kMaxMemoChars)});
      const v1::Project* p = FindProject(req.project_id());
      r.operation = Op::kReleaseCommitment;
      r.fund_id = p ? p->fund_id() : "unknown-fund";
      r.project_id = req.project_id();
      r.memo = req.reason();
      r.request_id = req.request_id();
      r.amount = amount.ok() ? *amount : 0;
      if (pre.ok() && p != nullptr && !req.has_amount()) {
        // Everything posted and not disbursed, as the adapter resolves it.
        auto c = ledger_.LookupAccounts({f::ProjectCommitmentAccountId(p->id())});
        FUZZ_CHECK(c.ok() && c->size() == 1 && (*c)[0].has_value(), p->id());
        const f::Account& a = *(*c)[0];
        r.amount = a.credits_posted - a.debits_posted - a.debits_pending;
        if (r.amount <= 0) return;  // nothing to release: no transfer
      }
      FundOperation(
          r, pre, {"request_id", "project_id", "amount", "amount.currency", "amount.fen", "reason"},
          p != nullptr);
      return;
    }
    case 7: {
      v1::ClawBackRequest req;
      if (!req.ParseFromArray(data, len)) return;
      auto amount = f::PositiveFen(req.amount(), req.has_amount(), "amount");
      const absl::Status pre =
          Merge({Required(req.request_id(), "request_id"), Required(req.project_id(), "project_id"),
                 amount.status(), f::CheckText(req.reason(), "reason", 0, f::kMaxMemoChars)});
      const v1::Project* p = FindProject(req.project_id());
      bool known = p != nullptr;
      if (known && !req.milestone_id().empty()) {
        known = false;
        for (const v1::Milestone& m : p->milestones()) known |= m.id() == req.milestone_id();
      }
      r.operation = Op::kClawBack;
      r.fund_id = p ? p->fund_id() : "unknown-fund";
      r.project_id = req.project_id();
      r.amount = amount.ok() ? *amount : 0;
      r.milestone_id = req.milestone_id();
      r.memo = req.reason();
      r.request_id = req.request_id();
      FundOperation(
          r, pre, {"request_id", "project_id", "amount", "amount.currency", "amount.fen", "reason"},
          known);
      return;
    }
    case 8: {
      v1::CreateFundRequest req;
      if (req.ParseFromArray(data, len)) CreateFund(req);
      return;
    }
    case 9: {
      v1::CreateProjectRequest req;
      if (req.ParseFromArray(data, len)) CreateProject(req);
      return;
    }
    default:
      return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Unparsable requests are skipped; protobuf need not log each one.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World world;
  world.Seed();
  size_t pos = 0;
  for (int request = 0; request < kMaxRequests && size - pos >= 3; ++request) {
    const uint8_t selector = data[pos];
    size_t len = static_cast<size_t>(data[pos + 1]) | (static_cast<size_t>(data[pos + 2]) << 8);
    pos += 3;
    if (len > size - pos) len = size - pos;
    world.Advance(5 * (selector / kKinds));
    world.Run(selector % kKinds, data + pos, len);
    pos += len;
  }
  return 0;
}
