#include "services/funds/domain/ledger_store.h"

#include "absl/strings/str_cat.h"
#include "common/status/status.h"

namespace iplus::funds {

absl::Status CheckBatchSize(const char* field, size_t n, bool allow_empty) {
  if ((n == 0 && !allow_empty) || n > static_cast<size_t>(kMaxBatch)) {
    return InvalidField(
        field, absl::StrCat(allow_empty ? "at most " : "1 to ", kMaxBatch, " items; got ", n));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> CheckPageSize(int page_size) {
  if (page_size < 0 || page_size > kMaxPageSize) {
    return InvalidField("page_size", absl::StrCat("must be 0 to ", kMaxPageSize));
  }
  return page_size == 0 ? kDefaultPageSize : page_size;
}

absl::Status CheckAccountTransfersQuery(const AccountTransfersQuery& q) {
  if (q.start_ns < 0) return InvalidField("start_time", "must not be negative");
  if (q.end_ns < 0) return InvalidField("end_time", "must not be negative");
  if (q.end_ns != 0 && q.end_ns < q.start_ns) {
    return InvalidField("end_time", "must not be before start_time");
  }
  auto size = CheckPageSize(q.page_size);
  return size.status();
}

}  // namespace iplus::funds
