#pragma once

// Compact binary encodings of the ledger's records: the canonical encoding of a journal
// entry (which is also how a transfer is stored, and what the hash chain covers), an
// account's stored form, and the journal head. All integers are big-endian two's
// complement, so an encoding sorts like its leading integers.
//
// Journal entry, version 1 (docs/funds.md gives the same table):
//   u8  version (1)
//   i64 sequence          i64 timestamp_ns
//   u8  flags             bit 0 linked, 1 pending, 2 post_pending_transfer,
//                         3 void_pending_transfer
//   i64 amount            i32 ledger          i32 type          i64 timeout_ns
//   then eight strings, each a u32 length and its bytes: id, debit_account_id,
//   credit_account_id, pending_id, fund_id, project_id, milestone_id, memo.
// The fixed part is kRecordFixedSize bytes, so the strings start at that offset.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/funds/domain/types.h"

namespace iplus::funds {

inline constexpr int kRecordVersion = 1;
inline constexpr size_t kRecordFixedSize = 42;

void AppendBigEndian64(std::string* out, int64_t v);
void AppendBigEndian32(std::string* out, int32_t v);
std::string BigEndian64(int64_t v);
// REQUIRES: at least 8 (4) readable bytes at p.
int64_t ReadBigEndian64(const char* p);
int32_t ReadBigEndian32(const char* p);

// The canonical encoding of a transfer as journal entry `transfer.journal_sequence`
// (pending_state is not encoded).
std::string EncodeTransferRecord(const Transfer& transfer);
// DATA_LOSS when the bytes are not a version-1 record.
absl::StatusOr<Transfer> DecodeTransferRecord(absl::string_view record);

// An account's stored form (its id is the key it is stored under).
std::string EncodeAccount(const Account& account);
absl::StatusOr<Account> DecodeAccount(absl::string_view id, absl::string_view data);

// The journal head as 8 bytes sequence, 8 bytes timestamp and the 32 raw bytes of the
// hash; "" for the empty journal.
std::string EncodeHead(const JournalHead& head);
absl::StatusOr<JournalHead> DecodeHead(absl::string_view data);

}  // namespace iplus::funds
