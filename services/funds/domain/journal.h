#pragma once

// The journal's hash chain and its verification.
//
// Every applied transfer (and every expiry of a pending transfer) is a journal entry
// with a sequence from 1 without gaps. Its hash is the lower-case hex SHA-256 of the
// previous entry's hash, as its 64 hex characters, followed by the entry's canonical
// encoding (codec.h); the first entry's previous hash is 64 zeros. Changing, removing
// or reordering any entry changes every later hash, so a head hash recorded elsewhere
// pins the whole history.

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "services/funds/domain/types.h"

namespace iplus::funds {

// The previous hash of the first entry.
inline constexpr absl::string_view kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

// The hash of an entry: Sha256Hex(prev_hash + record).
std::string EntryHash(absl::string_view prev_hash, absl::string_view record);

// Recomputes the chain and every balance from the entries fed to it, in order, and
// compares them with what is stored. The first discrepancy wins; once one is found
// further calls are ignored. Not thread-safe.
class JournalVerifier {
 public:
  JournalVerifier();

  // Feeds the next stored entry: its sequence as stored (the entry's key), its record
  // and its stored hash. False once a discrepancy has been found.
  bool AddEntry(int64_t sequence, absl::string_view record, absl::string_view stored_hash);
  // Records a discrepancy found by the caller (e.g. an index pointing at the wrong
  // entry); `sequence` is the bad entry or 0.
  void Fail(int64_t sequence, std::string discrepancy);
  // Compares the stored head with the last entry fed.
  bool CheckHead(const JournalHead& stored);
  // Compares a stored account's four balances with the recomputed ones (zero for an
  // account no entry touched).
  bool CheckAccount(const Account& stored);
  // Reports accounts the entries touched that were never checked (not stored), and
  // checks that the checked accounts' debits equal their credits, pending and posted.
  VerifyReport Finish();

  bool ok() const { return discrepancy_.empty(); }
  int64_t entries_checked() const { return entries_; }
  const std::string& head_hash() const { return hash_; }

 private:
  struct Balances {
    int64_t debits_pending = 0;
    int64_t debits_posted = 0;
    int64_t credits_pending = 0;
    int64_t credits_posted = 0;
    bool checked = false;
  };
  bool Apply(int64_t sequence, const Transfer& t);
  bool Add(int64_t sequence, int64_t* field, int64_t delta, const std::string& account,
           const char* name);

  int64_t entries_ = 0;
  int64_t balances_checked_ = 0;
  int64_t last_timestamp_ = 0;
  std::string hash_;
  // Node-based: Apply holds references to two entries at once.
  absl::node_hash_map<std::string, Balances> balances_;
  // Pending transfers not yet resolved: id -> (amount, debit, credit).
  struct Open {
    int64_t amount;
    std::string debit;
    std::string credit;
  };
  absl::flat_hash_map<std::string, Open> open_;
  __int128 sum_debits_pending_ = 0, sum_debits_posted_ = 0;
  __int128 sum_credits_pending_ = 0, sum_credits_posted_ = 0;
  int64_t first_bad_sequence_ = 0;
  std::string discrepancy_;
};

}  // namespace iplus::funds
