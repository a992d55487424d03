#include "common/log/log.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::log {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

TEST(LogTest, JsonQuoteEscapes) {
  EXPECT_EQ(JsonQuote("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
}

TEST(LogTest, ParseLevel) {
  EXPECT_EQ(*ParseLevel("WARNING"), Level::kWarning);
  EXPECT_FALSE(ParseLevel("loud").ok());
}

// Captures stdout into a file while logging, then checks one JSON object a line.
TEST(LogTest, WritesOneJsonObjectPerLine) {
  std::string path = ::testing::TempDir() + "/log_test.out";
  fflush(stdout);
  int saved = dup(1);
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  dup2(fileno(f), 1);
  Init("registry", Level::kInfo);
  Info("listening", {Field::Str("grpc_address", "127.0.0.1:1"), Field::Int("pool", 8),
                     Field::Bool("tls", false), Field::Num("ratio", 0.5)});
  Debug("not shown");
  Warn("multi\nline \"quoted\"");
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  fclose(f);
  std::ifstream in(path);
  std::string line1, line2, extra;
  ASSERT_TRUE(std::getline(in, line1));
  ASSERT_TRUE(std::getline(in, line2));
  EXPECT_FALSE(std::getline(in, extra)) << extra;
  EXPECT_THAT(line1,
              MatchesRegex(R"(\{"time":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z","level":"info",)"
                           R"("service":"registry","msg":"listening","grpc_address":)"
                           R"("127.0.0.1:1","pool":8,"tls":false,"ratio":0.5\})"));
  EXPECT_THAT(line2, HasSubstr(R"("level":"warning")"));
  EXPECT_THAT(line2, HasSubstr(R"("msg":"multi\nline \"quoted\"")"));
  EXPECT_THAT(line2, Not(HasSubstr("not shown")));
}

}  // namespace
}  // namespace iplus::log
