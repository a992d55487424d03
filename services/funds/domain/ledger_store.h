#pragma once

// The ledger's operations, implemented by the in-memory reference Ledger (ledger.h)
// and by the Redis store (services/funds/store/redis_ledger.h). ledger.h is the
// specification both follow.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/funds/domain/types.h"

namespace iplus::funds {

// Most items a CreateAccounts, CreateTransfers or lookup call takes.
inline constexpr int kMaxBatch = 1000;
// Page sizes: 1..kMaxPageSize, 0 meaning kDefaultPageSize.
inline constexpr int kMaxPageSize = 1000;
inline constexpr int kDefaultPageSize = 100;

struct AccountTransfersQuery {
  std::string account_id;
  // Inclusive; 0 from the first transfer.
  int64_t start_ns = 0;
  // Exclusive; 0 without bound.
  int64_t end_ns = 0;
  // 0 means kDefaultPageSize.
  int page_size = 0;
};

struct AccountTransfersPage {
  // Transfers debiting or crediting the account, oldest first.
  std::vector<Transfer> transfers;
  // start_ns for the next page (the last transfer's timestamp + 1); 0 when there is
  // no more.
  int64_t next_start_ns = 0;
};

class LedgerStore {
 public:
  virtual ~LedgerStore() = default;

  // 1..kMaxBatch accounts; one result per account, in order. A create of an existing
  // id with the same ledger, flags, kind, fund and project returns it with created=false;
  // otherwise ALREADY_EXISTS. Accounts are never deleted.
  virtual absl::StatusOr<std::vector<AccountResult>> CreateAccounts(
      const std::vector<Account>& accounts) = 0;
  // Up to kMaxBatch ids; nullopt for an id not found.
  virtual absl::StatusOr<std::vector<std::optional<Account>>> LookupAccounts(
      const std::vector<std::string>& ids) = 0;

  // 1..kMaxBatch transfers; one result per transfer, in order (ledger.h). The call fails
  // as a whole only for a bad size or when the store is unreachable (UNAVAILABLE: the
  // outcome is unknown, and a retry with the same transfers is safe).
  virtual absl::StatusOr<std::vector<TransferResult>> CreateTransfers(
      const std::vector<Transfer>& transfers) = 0;
  // Expires the pending transfers whose timeout has passed (as CreateTransfers does
  // before applying anything) without creating others; returns how many expired.
  virtual absl::StatusOr<int> ExpirePending() = 0;
  // Up to kMaxBatch ids; nullopt for an id not found. Pending transfers carry their state.
  virtual absl::StatusOr<std::vector<std::optional<Transfer>>> LookupTransfers(
      const std::vector<std::string>& ids) = 0;
  // NOT_FOUND for an unknown account; INVALID_ARGUMENT for page_size outside 0..1000 or
  // an end before the start.
  virtual absl::StatusOr<AccountTransfersPage> ListAccountTransfers(
      const AccountTransfersQuery& query) = 0;

  // Entries with sequence > after_sequence, in order; page_size as above.
  virtual absl::StatusOr<std::vector<JournalEntry>> ReadJournal(int64_t after_sequence,
                                                                int page_size) = 0;
  virtual absl::StatusOr<JournalHead> Head() = 0;
  // Recomputes the hash chain and every balance from the journal and compares them with
  // what is stored; a discrepancy is reported in the result, not as an error.
  virtual absl::StatusOr<VerifyReport> Verify() = 0;
};

// Shared argument checks, INVALID_ARGUMENT naming the field.
absl::Status CheckBatchSize(const char* field, size_t n, bool allow_empty);
absl::StatusOr<int> CheckPageSize(int page_size);
absl::Status CheckAccountTransfersQuery(const AccountTransfersQuery& query);

}  // namespace iplus::funds
