#include "common/grpc/status.h"

#include "common/status/status.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"

namespace iplus {
namespace {

TEST(GrpcStatusTest, OkMapsToOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(GrpcStatusTest, CodesAndMessagesSurvive) {
  grpc::Status g = ToGrpcStatus(absl::AbortedError("etag mismatch"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(g.error_message(), "etag mismatch");
  EXPECT_TRUE(g.error_details().empty());
  EXPECT_EQ(FromGrpcStatus(g), absl::AbortedError("etag mismatch"));
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::INVALID_ARGUMENT), "InvalidArgument");
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::CANCELLED), "Canceled");
}

TEST(GrpcStatusTest, FieldViolationsBecomeBadRequest) {
  grpc::Status g = ToGrpcStatus(InvalidField("enterprise.code", "must be 18 characters"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(g.error_details()));
  EXPECT_EQ(details.code(), 3);
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::BadRequest br;
  ASSERT_TRUE(details.details(0).UnpackTo(&br));
  ASSERT_EQ(br.field_violations_size(), 1);
  EXPECT_EQ(br.field_violations(0).field(), "enterprise.code");
  EXPECT_EQ(br.field_violations(0).description(), "must be 18 characters");

  absl::Status back = FromGrpcStatus(g);
  ASSERT_EQ(FieldViolations(back).size(), 1u);
  EXPECT_EQ(FieldViolations(back)[0].field, "enterprise.code");
}

}  // namespace
}  // namespace iplus
