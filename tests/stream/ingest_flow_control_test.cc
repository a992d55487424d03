// A client streams batches to StreamObservations as fast as it can without reading any
// acknowledgement. The server handles one batch at a time per stream, so the batches the
// client writes must stall once the HTTP/2 flow-control windows are full, far short of
// the whole load; once the client reads, everything completes.

#include <atomic>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/refdata/credit_code.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "iplus/ingest/v1/ingest.grpc.pb.h"
#include "services/ingest/app.h"
#include "services/registry/app.h"

namespace iplus::ingest {
namespace {

using ::iplus::test::IsOk;

// About 46 MB in all; the flow-control windows hold a fraction of it.
constexpr int kBatches = 400;
constexpr int kPerBatch = 1000;

// About 130 KB: a thousand observations with long report ids. They are rejected
// (future period) by validation alone, so the server's cost per batch is small and the
// test measures buffering, not Redis.
v1::StreamObservationsRequest Batch(int id) {
  v1::StreamObservationsRequest req;
  req.set_batch_id(id);
  std::string code = refdata::CompleteCreditCode("9144010000000001");
  for (int i = 0; i < kPerBatch; ++i) {
    auto* o = req.add_observations();
    o->set_report_id(
        absl::StrFormat("flow-control-batch-%06d-item-%06d-padding-to-64-chars", id, i));
    o->set_enterprise_code(code);
    o->set_indicator("inventory_turnover");
    o->set_period("2999");
    o->set_number_value(1.5);
  }
  return req;
}

TEST(IngestFlowControlTest, AWriterThatNeverReadsIsHeldBack) {
  test::RedisServer redis;
  ASSERT_THAT(redis.Start(), IsOk());
  registry::AppConfig rc;
  rc.redis.port = redis.port();
  rc.server.metrics_address = "";
  rc.server.auth.allow_unauthenticated = true;
  registry::App registry(rc);
  ASSERT_THAT(registry.Start(), IsOk());
  AppConfig ic;
  ic.redis.port = redis.port();
  ic.server.metrics_address = "";
  ic.server.auth.allow_unauthenticated = true;
  ic.registry_target = absl::StrCat("127.0.0.1:", registry.grpc_port());
  App ingest(ic);
  ASSERT_THAT(ingest.Start(), IsOk());

  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", ingest.grpc_port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::IngestService::NewStub(channel);
  grpc::ClientContext ctx;
  auto stream = stub->StreamObservations(&ctx);

  std::vector<v1::StreamObservationsRequest> batches;
  for (int i = 0; i < kBatches; ++i) batches.push_back(Batch(i));
  const size_t batch_bytes = batches[0].ByteSizeLong();

  std::atomic<int> written{0};
  std::thread writer([&] {
    for (const auto& b : batches) {
      if (!stream->Write(b)) return;
      written.fetch_add(1);
    }
    stream->WritesDone();
  });

  // Without reading, the writer must stall well before the end.
  absl::SleepFor(absl::Seconds(3));
  int stalled_at = written.load();
  EXPECT_LT(stalled_at, kBatches * 3 / 4) << "the client wrote " << stalled_at << " batches of "
                                          << batch_bytes << " bytes without reading an ack";
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(written.load(), stalled_at) << "still writing: nothing holds the client back";

  // Reading resumes the flow; every batch is acknowledged, in order.
  v1::StreamObservationsResponse ack;
  int acked = 0;
  while (stream->Read(&ack)) {
    EXPECT_EQ(ack.batch_id(), acked);
    EXPECT_EQ(ack.results_size(), kPerBatch);
    ++acked;
  }
  writer.join();
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(acked, kBatches);
  EXPECT_EQ(written.load(), kBatches);
  RecordProperty("batches_written_before_stall", stalled_at);
  std::printf("[ measured ] %d of %d batches (%zu bytes each) written before the stall\n",
              stalled_at, kBatches, batch_bytes);
}

}  // namespace
}  // namespace iplus::ingest
