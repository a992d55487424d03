#include "services/funds/domain/journal.h"

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/funds/domain/codec.h"

namespace iplus::funds {

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

std::string EntryHash(absl::string_view prev_hash, absl::string_view record) {
  // One buffer and the one-shot SHA256(), which unlike SHA256_Init/Update/Final is not
  // deprecated in OpenSSL 3.
  std::string buf;
  buf.reserve(prev_hash.size() + record.size());
  buf.append(prev_hash.data(), prev_hash.size());
  buf.append(record.data(), record.size());
  return Sha256Hex(buf);
}

JournalVerifier::JournalVerifier() : hash_(kZeroHash) {}

void JournalVerifier::Fail(int64_t sequence, std::string discrepancy) {
  if (!discrepancy_.empty()) return;
  first_bad_sequence_ = sequence;
  discrepancy_ = std::move(discrepancy);
}

bool JournalVerifier::AddEntry(int64_t sequence, absl::string_view record,
                               absl::string_view stored_hash) {
  if (!ok()) return false;
  const int64_t expected = entries_ + 1;
  if (sequence != expected) {
    Fail(expected, absl::StrCat("entry ", expected, " missing: next stored entry is ", sequence));
    return false;
  }
  const std::string hash = EntryHash(hash_, record);
  if (hash != stored_hash) {
    Fail(sequence,
         absl::StrCat("entry ", sequence, " hash ", stored_hash, " != ", hash, " recomputed"));
    return false;
  }
  auto t = DecodeTransferRecord(record);
  if (!t.ok()) {
    Fail(sequence, absl::StrCat("entry ", sequence, ": ", t.status().message()));
    return false;
  }
  if (t->journal_sequence != sequence) {
    Fail(sequence, absl::StrCat("entry ", sequence, " records sequence ", t->journal_sequence));
    return false;
  }
  if (t->timestamp_ns <= last_timestamp_) {
    Fail(sequence, absl::StrCat("entry ", sequence, " timestamp ", t->timestamp_ns,
                                " not after the previous entry's ", last_timestamp_));
    return false;
  }
  if (!Apply(sequence, *t)) return false;
  last_timestamp_ = t->timestamp_ns;
  hash_ = hash;
  ++entries_;
  return true;
}

bool JournalVerifier::Add(int64_t sequence, int64_t* field, int64_t delta,
                          const std::string& account, const char* name) {
  int64_t out;
  if (__builtin_add_overflow(*field, delta, &out) || out < 0) {
    Fail(sequence, absl::StrCat("entry ", sequence, ": account ", account, " ", name,
                                " leaves the range of int64 or goes negative"));
    return false;
  }
  *field = out;
  return true;
}

bool JournalVerifier::Apply(int64_t seq, const Transfer& t) {
  if (t.amount <= 0 || t.debit_account_id.empty() || t.credit_account_id.empty() ||
      t.debit_account_id == t.credit_account_id) {
    Fail(seq, absl::StrCat("entry ", seq, ": malformed transfer ", t.id));
    return false;
  }
  Balances& dr = balances_[t.debit_account_id];
  Balances& cr = balances_[t.credit_account_id];
  const std::string& d = t.debit_account_id;
  const std::string& c = t.credit_account_id;
  if (t.is_post_or_void()) {
    auto it = open_.find(t.pending_id);
    if (it == open_.end()) {
      Fail(seq, absl::StrCat("entry ", seq, ": ", t.id, " resolves ", t.pending_id,
                             ", which is not an open pending transfer"));
      return false;
    }
    const Open o = it->second;
    if (o.debit != d || o.credit != c || t.amount > o.amount ||
        (t.flags.void_pending_transfer && t.amount != o.amount)) {
      Fail(seq, absl::StrCat("entry ", seq, ": ", t.id, " does not match pending transfer ",
                             t.pending_id));
      return false;
    }
    open_.erase(it);
    if (!Add(seq, &dr.debits_pending, -o.amount, d, "debits_pending") ||
        !Add(seq, &cr.credits_pending, -o.amount, c, "credits_pending")) {
      return false;
    }
    if (t.flags.post_pending_transfer) {
      return Add(seq, &dr.debits_posted, t.amount, d, "debits_posted") &&
             Add(seq, &cr.credits_posted, t.amount, c, "credits_posted");
    }
    return true;
  }
  if (t.flags.pending) {
    if (!open_.emplace(t.id, Open{t.amount, d, c}).second) {
      Fail(seq, absl::StrCat("entry ", seq, ": pending transfer ", t.id, " appears twice"));
      return false;
    }
    return Add(seq, &dr.debits_pending, t.amount, d, "debits_pending") &&
           Add(seq, &cr.credits_pending, t.amount, c, "credits_pending");
  }
  return Add(seq, &dr.debits_posted, t.amount, d, "debits_posted") &&
         Add(seq, &cr.credits_posted, t.amount, c, "credits_posted");
}

bool JournalVerifier::CheckHead(const JournalHead& stored) {
  if (!ok()) return false;
  if (stored.sequence != entries_ || (entries_ > 0 && stored.hash != hash_)) {
    Fail(entries_ + 1 > stored.sequence ? stored.sequence : entries_ + 1,
         absl::StrCat("head says sequence ", stored.sequence, " hash ", stored.hash,
                      "; the journal ends at ", entries_, " hash ", hash_));
    return false;
  }
  return true;
}

bool JournalVerifier::CheckAccount(const Account& a) {
  if (!ok()) return false;
  Balances& b = balances_[a.id];
  b.checked = true;
  ++balances_checked_;
  sum_debits_pending_ += a.debits_pending;
  sum_debits_posted_ += a.debits_posted;
  sum_credits_pending_ += a.credits_pending;
  sum_credits_posted_ += a.credits_posted;
  const struct {
    const char* name;
    int64_t stored;
    int64_t recomputed;
  } fields[] = {{"debits_pending", a.debits_pending, b.debits_pending},
                {"debits_posted", a.debits_posted, b.debits_posted},
                {"credits_pending", a.credits_pending, b.credits_pending},
                {"credits_posted", a.credits_posted, b.credits_posted}};
  for (const auto& f : fields) {
    if (f.stored != f.recomputed) {
      Fail(0, absl::StrCat("account ", a.id, " ", f.name, " ", f.stored, " != ", f.recomputed,
                           " recomputed"));
      return false;
    }
  }
  return true;
}

VerifyReport JournalVerifier::Finish() {
  if (ok()) {
    for (const auto& [id, b] : balances_) {
      if (!b.checked) {
        Fail(0, absl::StrCat("account ", id, " is moved by the journal but not stored"));
        break;
      }
    }
  }
  if (ok() &&
      (sum_debits_posted_ != sum_credits_posted_ || sum_debits_pending_ != sum_credits_pending_)) {
    Fail(0, "the accounts' debits do not equal their credits");
  }
  VerifyReport r;
  r.ok = ok();
  r.entries_checked = entries_;
  r.first_bad_sequence = first_bad_sequence_;
  r.discrepancy = discrepancy_;
  r.balances_checked = balances_checked_;
  r.head_sequence = entries_;
  r.head_hash = hash_;
  return r;
}

}  // namespace iplus::funds
