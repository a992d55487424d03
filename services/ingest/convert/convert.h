#pragma once

// Conversions between the ingestion domain types and the v1 protos, shared by the gRPC
// adapter and the Redis store (which keeps indicators as v1 messages).

#include "iplus/ingest/v1/ingest.pb.h"
#include "services/ingest/domain/ingest.h"

namespace iplus::ingest {

void ToProto(const Indicator& indicator, v1::Indicator* out);
// Unspecified granularity means annual.
Indicator FromProto(const v1::Indicator& in);

ObservationInput FromProto(const v1::Observation& in);
void ToProto(const ItemResult& result, v1::ItemResult* out);
void ToProto(const Flag& flag, v1::OutlierFlag* out);
void ToProto(const StoredObservation& o, ValueType type, v1::Observation* out);
void SetValue(double value, ValueType type, v1::Value* out);

}  // namespace iplus::ingest
