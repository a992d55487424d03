#include "services/funds/grpc/convert.h"

#include <limits>

namespace iplus::funds {
namespace {

constexpr int64_t kNanos = 1'000'000'000;

int64_t Nanos(int64_t seconds, int32_t nanos) {
  int64_t out;
  if (__builtin_mul_overflow(seconds, kNanos, &out) || __builtin_add_overflow(out, nanos, &out)) {
    return seconds < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  }
  return out;
}

}  // namespace

int64_t DurationNanos(const google::protobuf::Duration& d) { return Nanos(d.seconds(), d.nanos()); }

int64_t TimestampNanos(const google::protobuf::Timestamp& t) {
  return Nanos(t.seconds(), t.nanos());
}

void SetTimestamp(int64_t ns, google::protobuf::Timestamp* out) {
  int64_t seconds = ns / kNanos;
  int64_t nanos = ns % kNanos;
  if (nanos < 0) {
    nanos += kNanos;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(nanos));
}

Transfer TransferFromProto(const v1::Transfer& in) {
  Transfer t;
  t.id = in.id();
  t.debit_account_id = in.debit_account_id();
  t.credit_account_id = in.credit_account_id();
  t.amount = in.amount();
  t.ledger = in.ledger();
  t.type = static_cast<int32_t>(in.type());
  t.flags.linked = in.flags().linked();
  t.flags.pending = in.flags().pending();
  t.flags.post_pending_transfer = in.flags().post_pending_transfer();
  t.flags.void_pending_transfer = in.flags().void_pending_transfer();
  t.pending_id = in.pending_id();
  t.timeout_ns = in.has_timeout() ? DurationNanos(in.timeout()) : 0;
  t.fund_id = in.fund_id();
  t.project_id = in.project_id();
  t.milestone_id = in.milestone_id();
  t.memo = in.memo();
  return t;
}

void ToProto(const Transfer& in, v1::Transfer* out) {
  out->set_id(in.id);
  out->set_debit_account_id(in.debit_account_id);
  out->set_credit_account_id(in.credit_account_id);
  out->set_amount(in.amount);
  out->set_ledger(in.ledger);
  out->set_type(static_cast<v1::IatiTransactionType>(in.type));
  auto* f = out->mutable_flags();
  f->set_linked(in.flags.linked);
  f->set_pending(in.flags.pending);
  f->set_post_pending_transfer(in.flags.post_pending_transfer);
  f->set_void_pending_transfer(in.flags.void_pending_transfer);
  out->set_pending_id(in.pending_id);
  if (in.timeout_ns != 0) {
    out->mutable_timeout()->set_seconds(in.timeout_ns / kNanos);
    out->mutable_timeout()->set_nanos(static_cast<int32_t>(in.timeout_ns % kNanos));
  }
  out->set_fund_id(in.fund_id);
  out->set_project_id(in.project_id);
  out->set_milestone_id(in.milestone_id);
  out->set_memo(in.memo);
  if (in.timestamp_ns != 0) SetTimestamp(in.timestamp_ns, out->mutable_timestamp());
  out->set_journal_sequence(in.journal_sequence);
}

void ToProto(const Account& in, v1::Account* out) {
  out->set_id(in.id);
  out->set_ledger(in.ledger);
  out->mutable_flags()->set_debits_must_not_exceed_credits(in.flags.debits_must_not_exceed_credits);
  out->mutable_flags()->set_credits_must_not_exceed_debits(in.flags.credits_must_not_exceed_debits);
  out->set_kind(static_cast<v1::AccountKind>(in.kind));
  out->set_fund_id(in.fund_id);
  out->set_project_id(in.project_id);
  out->set_debits_pending(in.debits_pending);
  out->set_debits_posted(in.debits_posted);
  out->set_credits_pending(in.credits_pending);
  out->set_credits_posted(in.credits_posted);
  if (in.create_time_ns != 0) SetTimestamp(in.create_time_ns, out->mutable_create_time());
}

void ToProto(const JournalEntry& in, v1::JournalEntry* out) {
  out->set_sequence(in.sequence);
  ToProto(in.transfer, out->mutable_transfer());
  out->set_prev_hash(in.prev_hash);
  out->set_hash(in.hash);
}

}  // namespace iplus::funds
