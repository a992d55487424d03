#include "services/funds/domain/codec.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/funds/domain/journal.h"

namespace iplus::funds {
namespace {

void AppendString(std::string* out, absl::string_view s) {
  AppendBigEndian32(out, static_cast<int32_t>(s.size()));
  out->append(s.data(), s.size());
}

// Reads a length-prefixed string at *pos; false when it runs past the end.
bool ReadString(absl::string_view data, size_t* pos, std::string* out) {
  if (data.size() - *pos < 4) return false;
  const uint32_t len = static_cast<uint32_t>(ReadBigEndian32(data.data() + *pos));
  *pos += 4;
  if (data.size() - *pos < len) return false;
  out->assign(data.data() + *pos, len);
  *pos += len;
  return true;
}

uint8_t FlagBits(const TransferFlags& f) {
  return static_cast<uint8_t>((f.linked ? 1 : 0) | (f.pending ? 2 : 0) |
                              (f.post_pending_transfer ? 4 : 0) |
                              (f.void_pending_transfer ? 8 : 0));
}

}  // namespace

void AppendBigEndian64(std::string* out, int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v);
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((u >> (56 - 8 * i)) & 0xff);
  out->append(buf, 8);
}

void AppendBigEndian32(std::string* out, int32_t v) {
  const uint32_t u = static_cast<uint32_t>(v);
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>((u >> (24 - 8 * i)) & 0xff);
  out->append(buf, 4);
}

std::string BigEndian64(int64_t v) {
  std::string out;
  AppendBigEndian64(&out, v);
  return out;
}

int64_t ReadBigEndian64(const char* p) {
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<uint8_t>(p[i]);
  return static_cast<int64_t>(u);
}

int32_t ReadBigEndian32(const char* p) {
  uint32_t u = 0;
  for (int i = 0; i < 4; ++i) u = (u << 8) | static_cast<uint8_t>(p[i]);
  return static_cast<int32_t>(u);
}

std::string EncodeTransferRecord(const Transfer& t) {
  std::string out;
  out.reserve(kRecordFixedSize + 32 + t.id.size() + t.debit_account_id.size() +
              t.credit_account_id.size() + t.pending_id.size() + t.fund_id.size() +
              t.project_id.size() + t.milestone_id.size() + t.memo.size());
  out.push_back(static_cast<char>(kRecordVersion));
  AppendBigEndian64(&out, t.journal_sequence);
  AppendBigEndian64(&out, t.timestamp_ns);
  out.push_back(static_cast<char>(FlagBits(t.flags)));
  AppendBigEndian64(&out, t.amount);
  AppendBigEndian32(&out, t.ledger);
  AppendBigEndian32(&out, t.type);
  AppendBigEndian64(&out, t.timeout_ns);
  for (const std::string* s : {&t.id, &t.debit_account_id, &t.credit_account_id, &t.pending_id,
                               &t.fund_id, &t.project_id, &t.milestone_id, &t.memo}) {
    AppendString(&out, *s);
  }
  return out;
}

absl::StatusOr<Transfer> DecodeTransferRecord(absl::string_view r) {
  if (r.size() < kRecordFixedSize || r[0] != static_cast<char>(kRecordVersion)) {
    return absl::DataLossError("journal record: not a version-1 record");
  }
  Transfer t;
  const char* p = r.data();
  t.journal_sequence = ReadBigEndian64(p + 1);
  t.timestamp_ns = ReadBigEndian64(p + 9);
  const uint8_t flags = static_cast<uint8_t>(p[17]);
  if (flags & ~uint8_t{15}) return absl::DataLossError("journal record: unknown flag bits");
  t.flags.linked = flags & 1;
  t.flags.pending = flags & 2;
  t.flags.post_pending_transfer = flags & 4;
  t.flags.void_pending_transfer = flags & 8;
  t.amount = ReadBigEndian64(p + 18);
  t.ledger = ReadBigEndian32(p + 26);
  t.type = ReadBigEndian32(p + 30);
  t.timeout_ns = ReadBigEndian64(p + 34);
  size_t pos = kRecordFixedSize;
  for (std::string* s : {&t.id, &t.debit_account_id, &t.credit_account_id, &t.pending_id,
                         &t.fund_id, &t.project_id, &t.milestone_id, &t.memo}) {
    if (!ReadString(r, &pos, s)) return absl::DataLossError("journal record: truncated");
  }
  if (pos != r.size()) return absl::DataLossError("journal record: trailing bytes");
  return t;
}

// Account: u8 version, u8 kind, u8 flags, i32 ledger, i64 debits_pending,
// debits_posted, credits_pending, credits_posted, create_time_ns, then fund_id and
// project_id as length-prefixed strings.
std::string EncodeAccount(const Account& a) {
  std::string out;
  out.reserve(48 + 8 + a.fund_id.size() + a.project_id.size());
  out.push_back(static_cast<char>(1));
  out.push_back(static_cast<char>(static_cast<int>(a.kind)));
  out.push_back(static_cast<char>((a.flags.debits_must_not_exceed_credits ? 1 : 0) |
                                  (a.flags.credits_must_not_exceed_debits ? 2 : 0)));
  AppendBigEndian32(&out, a.ledger);
  for (int64_t v :
       {a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted, a.create_time_ns}) {
    AppendBigEndian64(&out, v);
  }
  AppendString(&out, a.fund_id);
  AppendString(&out, a.project_id);
  return out;
}

absl::StatusOr<Account> DecodeAccount(absl::string_view id, absl::string_view d) {
  constexpr size_t kFixed = 3 + 4 + 5 * 8;
  if (d.size() < kFixed || d[0] != 1) {
    return absl::DataLossError(absl::StrCat("account ", id, ": not a version-1 record"));
  }
  Account a;
  a.id = std::string(id);
  a.kind = static_cast<AccountKind>(static_cast<uint8_t>(d[1]));
  const uint8_t flags = static_cast<uint8_t>(d[2]);
  a.flags.debits_must_not_exceed_credits = flags & 1;
  a.flags.credits_must_not_exceed_debits = flags & 2;
  a.ledger = ReadBigEndian32(d.data() + 3);
  const char* p = d.data() + 7;
  a.debits_pending = ReadBigEndian64(p);
  a.debits_posted = ReadBigEndian64(p + 8);
  a.credits_pending = ReadBigEndian64(p + 16);
  a.credits_posted = ReadBigEndian64(p + 24);
  a.create_time_ns = ReadBigEndian64(p + 32);
  size_t pos = kFixed;
  if (!ReadString(d, &pos, &a.fund_id) || !ReadString(d, &pos, &a.project_id) || pos != d.size()) {
    return absl::DataLossError(absl::StrCat("account ", id, ": malformed record"));
  }
  return a;
}

std::string EncodeHead(const JournalHead& head) {
  if (head.sequence == 0) return "";
  std::string out;
  AppendBigEndian64(&out, head.sequence);
  AppendBigEndian64(&out, head.timestamp_ns);
  out += absl::HexStringToBytes(head.hash);
  return out;
}

absl::StatusOr<JournalHead> DecodeHead(absl::string_view data) {
  JournalHead head;
  head.hash = std::string(kZeroHash);
  if (data.empty()) return head;
  if (data.size() != 48) return absl::DataLossError("journal head: malformed");
  head.sequence = ReadBigEndian64(data.data());
  head.timestamp_ns = ReadBigEndian64(data.data() + 8);
  head.hash = absl::BytesToHexString(data.substr(16));
  return head;
}

}  // namespace iplus::funds
