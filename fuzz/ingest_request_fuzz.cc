// ReportObservations from arbitrary bytes, the way the gRPC adapter handles it: the
// input is a serialized v1::ReportObservationsRequest; every observation goes through
// FromProto and the batch through Ingest::Report, against a fresh Ingest over a
// MemoryStore with the built-in catalogue and a FakeDirectory that knows three
// enterprises (one archived). The batch is then reported a second time, which exercises
// the duplicate and revision paths.
//
// Invariants: Report ends in OK or INVALID_ARGUMENT (an empty or oversized batch); on OK
// there is one result per observation, in order; a REJECTED result names a reason, every
// other result is ACCEPTED, DUPLICATE or REVISED with a revision of at least 1.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock/clock.h"
#include "fuzz/fuzz_check.h"
#include "iplus/ingest/v1/ingest.pb.h"
#include "services/ingest/convert/convert.h"
#include "services/ingest/domain/fake_directory.h"
#include "services/ingest/domain/ingest.h"
#include "services/ingest/domain/memory_store.h"

namespace {

using iplus::ingest::ItemResult;
using iplus::ingest::Outcome;
using iplus::ingest::RejectReason;

// Known to the directory; fuzz/corpus/ingest_request uses the same codes.
constexpr char kCodeA[] = "91350100M000100Y43";
constexpr char kCodeB[] = "91110000100006485K";
constexpr char kArchived[] = "914401000000000191";

void CheckResults(const absl::StatusOr<std::vector<ItemResult>>& results, size_t items) {
  const absl::StatusCode c = results.status().code();
  FUZZ_CHECK(c == absl::StatusCode::kOk || c == absl::StatusCode::kInvalidArgument,
             results.status().ToString());
  if (!results.ok()) return;
  FUZZ_CHECK(results->size() == items, absl::StrCat(results->size(), " results for ", items));
  for (size_t i = 0; i < results->size(); ++i) {
    const ItemResult& r = (*results)[i];
    const std::string where = absl::StrCat("item ", i, ": ", r.field, " ", r.message);
    FUZZ_CHECK(r.index == static_cast<int>(i), where);
    if (r.outcome == Outcome::kRejected) {
      FUZZ_CHECK(r.reason != RejectReason::kUnspecified, where);
    } else {
      FUZZ_CHECK(r.outcome == Outcome::kAccepted || r.outcome == Outcome::kDuplicate ||
                     r.outcome == Outcome::kRevised,
                 absl::StrCat(where, " outcome ", static_cast<int>(r.outcome)));
      FUZZ_CHECK(r.reason == RejectReason::kUnspecified, where);
      FUZZ_CHECK(r.revision >= 1, absl::StrCat(where, " revision ", r.revision));
    }
    iplus::ingest::v1::ItemResult out;
    iplus::ingest::ToProto(r, &out);
    FUZZ_CHECK(out.index() == r.index, where);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  iplus::ingest::v1::ReportObservationsRequest req;
  if (!req.ParseFromArray(data, static_cast<int>(size))) return 0;

  std::vector<iplus::ingest::ObservationInput> items;
  items.reserve(req.observations_size());
  for (const auto& o : req.observations()) items.push_back(iplus::ingest::FromProto(o));

  iplus::ingest::MemoryStore store;
  iplus::ingest::FakeDirectory directory;
  directory.Add(kCodeA, "C26", false, "350102");
  directory.Add(kCodeB, "C34", false, "110101");
  directory.Add(kArchived, "C26", /*archived=*/true);
  iplus::FakeClock clock(absl::FromUnixSeconds(1559347200));  // 2019-06-01
  iplus::ingest::PeerStats peers;
  iplus::ingest::Ingest ingest(&store, &directory, &clock, &peers, nullptr,
                               iplus::ingest::IngestConfig{});
  FUZZ_CHECK(ingest.SeedCatalogue().ok(), "setup");

  CheckResults(ingest.Report("partner-a", items), items.size());
  clock.Advance(absl::Minutes(1));
  CheckResults(ingest.Report("partner-a", items), items.size());
  return 0;
}
