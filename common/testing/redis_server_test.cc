#include "common/testing/redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/testing/free_port.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::test {
namespace {

// Sends one inline command and returns the first chunk of the response.
std::string Send(int port, const std::string& inline_command) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = inline_command + "\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) > 0) {
      char buf[512];
      const ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n > 0) response.assign(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return response;
}

TEST(FreePortTest, ReturnsBindablePort) {
  const int port = FreePort();
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
}

TEST(RedisServerTest, StartsAnswersAndCleansUp) {
  std::string dir;
  {
    RedisServer redis;
    IPLUS_ASSERT_OK(redis.Start());
    EXPECT_TRUE(redis.running());
    EXPECT_GT(redis.port(), 0);
    EXPECT_EQ(redis.address(), "127.0.0.1:" + std::to_string(redis.port()));
    EXPECT_EQ(Send(redis.port(), "PING"), "+PONG\r\n");
    EXPECT_EQ(Send(redis.port(), "CONFIG GET save"), "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
    EXPECT_THAT(redis.Start(), StatusIs(absl::StatusCode::kFailedPrecondition));
    dir = redis.dir();
    EXPECT_TRUE(std::filesystem::is_directory(dir));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(RedisServerTest, StopThenStartKeepsPort) {
  RedisServer redis;
  IPLUS_ASSERT_OK(redis.Start());
  const int port = redis.port();
  redis.Stop();
  EXPECT_FALSE(redis.running());
  EXPECT_EQ(Send(port, "PING"), "");
  IPLUS_ASSERT_OK(redis.Start());
  EXPECT_EQ(redis.port(), port);
  EXPECT_EQ(Send(port, "PING"), "+PONG\r\n");
}

TEST(RedisServerTest, TwoServersGetDistinctPorts) {
  RedisServer a, b;
  IPLUS_ASSERT_OK(a.Start());
  IPLUS_ASSERT_OK(b.Start());
  EXPECT_NE(a.port(), b.port());
}

TEST(RedisServerTest, PasswordIsRequired) {
  RedisServer::Options options;
  options.password = "s3cret pass";
  RedisServer redis(options);
  IPLUS_ASSERT_OK(redis.Start());
  EXPECT_THAT(Send(redis.port(), "PING"), ::testing::StartsWith("-NOAUTH"));
}

TEST(RedisServerTest, AofSurvivesKill) {
  RedisServer::Options options;
  options.aof = true;
  RedisServer redis(options);
  IPLUS_ASSERT_OK(redis.Start());
  EXPECT_EQ(Send(redis.port(), "SET k durable"), "+OK\r\n");
  redis.Kill();
  EXPECT_FALSE(redis.running());
  IPLUS_ASSERT_OK(redis.Start());
  EXPECT_EQ(Send(redis.port(), "GET k"), "$7\r\ndurable\r\n");
}

TEST(RedisServerTest, ExtraArgs) {
  RedisServer::Options options;
  options.extra_args = {"--maxmemory", "12345678"};
  RedisServer redis(options);
  IPLUS_ASSERT_OK(redis.Start());
  EXPECT_EQ(Send(redis.port(), "CONFIG GET maxmemory"),
            "*2\r\n$9\r\nmaxmemory\r\n$8\r\n12345678\r\n");
}

TEST(RedisServerTest, BadArgumentsFailWithLog) {
  RedisServer::Options options;
  options.extra_args = {"--no-such-option", "1"};
  RedisServer redis(options);
  EXPECT_THAT(redis.Start(), StatusIs(absl::StatusCode::kAborted, ::testing::HasSubstr("exited")));
  EXPECT_FALSE(redis.running());
}

}  // namespace
}  // namespace iplus::test
