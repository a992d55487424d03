#include "common/config/config.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(std::string, cfgtest_address, "127.0.0.1:1", "test flag");
ABSL_FLAG(int, cfgtest_pool, 4, "test flag");

namespace iplus::config {
namespace {

using ::testing::ElementsAre;

TEST(ConfigTest, EnvironmentSetsFlagsAndReportsUnknown) {
  setenv("CFGTEST_X_CFGTEST_ADDRESS", "0.0.0.0:9", 1);
  setenv("CFGTEST_X_CFGTEST_POOL", "16", 1);
  setenv("CFGTEST_X_NOT_A_FLAG", "1", 1);
  setenv("CFGTEST_X_SECRET", "hunter2", 1);
  auto unknown = ApplyEnvironment("CFGTEST_X_", {"CFGTEST_X_SECRET"});
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_THAT(*unknown, ElementsAre("CFGTEST_X_NOT_A_FLAG"));
  EXPECT_EQ(absl::GetFlag(FLAGS_cfgtest_address), "0.0.0.0:9");
  EXPECT_EQ(absl::GetFlag(FLAGS_cfgtest_pool), 16);
  unsetenv("CFGTEST_X_CFGTEST_ADDRESS");
  unsetenv("CFGTEST_X_CFGTEST_POOL");
  unsetenv("CFGTEST_X_NOT_A_FLAG");
  unsetenv("CFGTEST_X_SECRET");
}

TEST(ConfigTest, BadValueNamesTheVariable) {
  setenv("CFGTEST_Y_CFGTEST_POOL", "many", 1);
  auto r = ApplyEnvironment("CFGTEST_Y_");
  unsetenv("CFGTEST_Y_CFGTEST_POOL");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), ::testing::HasSubstr("CFGTEST_Y_CFGTEST_POOL"));
}

TEST(ConfigTest, SecretFromEnvironmentThenFile) {
  std::string path = ::testing::TempDir() + "/secret.txt";
  std::ofstream(path) << "s3cret\n";
  unsetenv("CFGTEST_PASSWORD");
  auto from_file = ReadSecret("CFGTEST_PASSWORD", path);
  ASSERT_TRUE(from_file.ok());
  EXPECT_EQ(*from_file, "s3cret");
  setenv("CFGTEST_PASSWORD", "fromenv", 1);
  EXPECT_EQ(*ReadSecret("CFGTEST_PASSWORD", path), "fromenv");
  unsetenv("CFGTEST_PASSWORD");
  EXPECT_EQ(*ReadSecret("CFGTEST_PASSWORD", ""), "");
  auto missing = ReadSecret("CFGTEST_PASSWORD", path + ".missing");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace iplus::config
