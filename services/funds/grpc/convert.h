#pragma once

// Conversions between the ledger's domain types (services/funds/domain/types.h) and the
// v1 protos. Times: int64 nanoseconds since the Unix epoch <-> google.protobuf.Timestamp;
// timeouts: nanoseconds <-> google.protobuf.Duration.

#include <cstdint>

#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "iplus/funds/v1/funds.pb.h"
#include "services/funds/domain/types.h"

namespace iplus::funds {

// Saturates at the int64 range instead of overflowing.
int64_t DurationNanos(const google::protobuf::Duration& d);
int64_t TimestampNanos(const google::protobuf::Timestamp& t);
void SetTimestamp(int64_t ns, google::protobuf::Timestamp* out);

// Every field a client sets; the output-only timestamp and journal sequence are ignored.
Transfer TransferFromProto(const v1::Transfer& in);
void ToProto(const Transfer& in, v1::Transfer* out);
void ToProto(const Account& in, v1::Account* out);
void ToProto(const JournalEntry& in, v1::JournalEntry* out);

}  // namespace iplus::funds
