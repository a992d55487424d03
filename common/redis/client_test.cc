#include "common/redis/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/testing/free_port.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::redis {
namespace {

using ::iplus::test::IsOkAndHolds;
using ::iplus::test::RedisServer;
using ::iplus::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Property;

Options OptionsFor(const RedisServer& server) {
  Options options;
  options.host = server.host();
  options.port = server.port();
  return options;
}

auto IsString(const std::string& s) {
  return ::testing::AllOf(Property(&Reply::IsString, true), Property(&Reply::str, s));
}
auto IsInteger(int64_t v) {
  return ::testing::AllOf(Property(&Reply::IsInteger, true), Property(&Reply::integer, v));
}

// Polls `fn` until it returns OK or `timeout` passes; returns how long it took.
template <typename Fn>
absl::StatusOr<absl::Duration> Eventually(Fn fn, absl::Duration timeout) {
  const absl::Time start = absl::Now();
  absl::Status last;
  while (absl::Now() - start < timeout) {
    last = fn();
    if (last.ok()) return absl::Now() - start;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return last;
}

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RedisServer::Options options;
    // Redis 7 refuses DEBUG unless enabled; the timeout test needs DEBUG SLEEP.
    options.extra_args = {"--enable-debug-command", "yes"};
    server_ = std::make_unique<RedisServer>(options);
    IPLUS_ASSERT_OK(server_->Start());
  }

  std::unique_ptr<RedisServer> server_;
};

TEST_F(RedisClientTest, BinarySafeSetAndGet) {
  Client client(OptionsFor(*server_));
  const std::string key("k\0ey\r\n", 6);
  const std::string value("v\0a\r\nl\0", 7);
  EXPECT_THAT(client.Command({"SET", key, value}), IsOkAndHolds(IsString("OK")));
  EXPECT_THAT(client.Command({"GET", key}), IsOkAndHolds(IsString(value)));
  EXPECT_THAT(client.Command({"STRLEN", key}), IsOkAndHolds(IsInteger(7)));
  EXPECT_THAT(client.Command({"GET", "k"}), IsOkAndHolds(Property(&Reply::IsNil, true)));
}

TEST_F(RedisClientTest, ReplyKinds) {
  Client client(OptionsFor(*server_));
  EXPECT_THAT(client.Command({"INCRBY", "n", "41"}), IsOkAndHolds(IsInteger(41)));
  EXPECT_THAT(client.Command({"INCR", "n"}), IsOkAndHolds(IsInteger(42)));
  EXPECT_THAT(client.Command({"RPUSH", "list", "a", "b", "c"}), IsOkAndHolds(IsInteger(3)));
  EXPECT_THAT(client.Command({"LRANGE", "list", "0", "-1"}),
              IsOkAndHolds(Property(&Reply::elements,
                                    ElementsAre(IsString("a"), IsString("b"), IsString("c")))));
  IPLUS_ASSERT_OK_AND_ASSIGN(Reply mget, client.Command({"MGET", "n", "missing"}));
  EXPECT_EQ(mget, Reply::Array({Reply::String("42"), Reply::Nil()}));
  IPLUS_ASSERT_OK_AND_ASSIGN(Reply nested,
                             client.Command({"EVAL", "return {1, {'a', 'b'}, 'x'}", "0"}));
  EXPECT_EQ(nested.DebugString(), "[1, [\"a\", \"b\"], \"x\"]");
  EXPECT_THAT(client.Command({"LRANGE", "none", "0", "-1"}),
              IsOkAndHolds(Property(&Reply::elements, ::testing::IsEmpty())));
}

TEST_F(RedisClientTest, ErrorRepliesBecomeStatuses) {
  Client client(OptionsFor(*server_));
  IPLUS_ASSERT_OK(client.Command({"SET", "s", "text"}));
  EXPECT_THAT(client.Command({"INCR", "s"}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("not an integer")));
  EXPECT_THAT(client.Command({"LPUSH", "s", "x"}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("WRONGTYPE")));
  EXPECT_THAT(client.Command({"NOSUCHCOMMAND"}), StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(client.Command({}), StatusIs(absl::StatusCode::kInvalidArgument));
  // An error reply does not cost the connection: the client keeps working.
  EXPECT_THAT(client.Command({"GET", "s"}), IsOkAndHolds(IsString("text")));
  EXPECT_TRUE(client.Healthy());
}

TEST_F(RedisClientTest, PipelineOfAThousandWithAnErrorInTheMiddle) {
  Client client(OptionsFor(*server_));
  IPLUS_ASSERT_OK(client.Command({"SET", "text", "abc"}));
  std::vector<std::vector<std::string>> commands;
  for (int i = 0; i < 1000; ++i) {
    if (i == 500) {
      commands.push_back({"INCR", "text"});
    } else {
      commands.push_back({"SET", absl::StrCat("key:", i), absl::StrCat(i)});
    }
  }
  IPLUS_ASSERT_OK_AND_ASSIGN(std::vector<Reply> replies, client.Pipeline(commands));
  ASSERT_EQ(replies.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    if (i == 500) {
      EXPECT_TRUE(replies[i].IsError()) << replies[i];
      EXPECT_THAT(ReplyStatus(replies[i]), StatusIs(absl::StatusCode::kInternal));
    } else {
      EXPECT_THAT(replies[i], IsString("OK")) << i;
    }
  }
  EXPECT_THAT(client.Command({"GET", "key:999"}), IsOkAndHolds(IsString("999")));
  EXPECT_THAT(client.Command({"DBSIZE"}), IsOkAndHolds(IsInteger(1000)));
  EXPECT_THAT(client.Pipeline({}), IsOkAndHolds(::testing::IsEmpty()));
  EXPECT_THAT(client.Pipeline({{"PING"}, {}}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RedisClientTest, ScriptBySha1ReloadsAfterFlush) {
  Client client(OptionsFor(*server_));
  const Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  EXPECT_THAT(client.Command({"SCRIPT", "LOAD", script.lua()}),
              IsOkAndHolds(IsString(script.sha())));
  EXPECT_THAT(client.Eval(script, {"counter"}, {"5"}), IsOkAndHolds(IsInteger(5)));
  IPLUS_ASSERT_OK(client.Command({"SCRIPT", "FLUSH"}));
  EXPECT_THAT(client.Command({"SCRIPT", "EXISTS", script.sha()}),
              IsOkAndHolds(Property(&Reply::elements, ElementsAre(IsInteger(0)))));
  // NOSCRIPT -> SCRIPT LOAD -> EVALSHA again; the script ran exactly once more.
  EXPECT_THAT(client.Eval(script, {"counter"}, {"5"}), IsOkAndHolds(IsInteger(10)));
  EXPECT_THAT(client.Command({"SCRIPT", "EXISTS", script.sha()}),
              IsOkAndHolds(Property(&Reply::elements, ElementsAre(IsInteger(1)))));
  EXPECT_THAT(client.Command({"GET", "counter"}), IsOkAndHolds(IsString("10")));
}

TEST_F(RedisClientTest, EvalPipelineResendsOnlyWhatDidNotRun) {
  Client client(OptionsFor(*server_));
  const Script script(
      "if ARGV[1] == 'fail' then return redis.error_reply('ERR asked to fail') end\n"
      "return redis.call('INCRBY', KEYS[1], ARGV[1])");
  std::vector<Client::ScriptCall> calls;
  for (int i = 0; i < 100; ++i) {
    calls.push_back({{absl::StrCat("{batch}:", i % 10)}, {i == 50 ? "fail" : "1"}});
  }
  IPLUS_ASSERT_OK(client.Command({"SCRIPT", "FLUSH"}));
  IPLUS_ASSERT_OK_AND_ASSIGN(std::vector<Reply> replies, client.EvalPipeline(script, calls));
  ASSERT_EQ(replies.size(), 100u);
  EXPECT_THAT(replies[50], Property(&Reply::IsError, true));
  EXPECT_THAT(replies[50].str(), HasSubstr("asked to fail"));
  int64_t total = 0;
  for (int i = 0; i < 10; ++i) {
    IPLUS_ASSERT_OK_AND_ASSIGN(Reply r, client.Command({"GET", absl::StrCat("{batch}:", i)}));
    total += std::stoll(r.str());
  }
  EXPECT_EQ(total, 99);  // every call but the failing one ran exactly once

  // Already loaded: a second batch goes straight through.
  IPLUS_ASSERT_OK_AND_ASSIGN(replies, client.EvalPipeline(script, calls));
  EXPECT_THAT(replies[1], IsInteger(11));  // {batch}:1 had 10, now 11
  EXPECT_THAT(client.EvalPipeline(script, {}), IsOkAndHolds(::testing::IsEmpty()));
}

TEST_F(RedisClientTest, ScriptErrorsMapLikeCommandErrors) {
  Client client(OptionsFor(*server_));
  EXPECT_THAT(client.Eval(Script("return redis.error_reply('OOM pretend')"), {}, {}),
              StatusIs(absl::StatusCode::kResourceExhausted, "OOM pretend"));
  EXPECT_THAT(client.Eval(Script("return redis.error_reply('BUSY later')"), {}, {}),
              StatusIs(absl::StatusCode::kUnavailable));
  // Does not compile: the SCRIPT LOAD error is what the caller sees.
  EXPECT_THAT(client.Eval(Script("this is not lua"), {}, {}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("compiling script")));
  EXPECT_THAT(client.Eval(Script("return {ARGV[1], #KEYS}"), {"a", "b"}, {"x"}),
              IsOkAndHolds(Reply::Array({Reply::String("x"), Reply::Integer(2)})));
}

TEST_F(RedisClientTest, SixteenThreadsShareOnePool) {
  Options options = OptionsFor(*server_);
  options.pool_size = 4;
  Client client(options);
  const Script add("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string own = absl::StrCat("thread:", t);
        const std::string value = absl::StrCat(t, ":", i);
        if (!client.Command({"INCR", "shared"}).ok()) ++failures;
        if (!client.Command({"SET", own, value}).ok()) ++failures;
        absl::StatusOr<Reply> got = client.Command({"GET", own});
        if (!got.ok() || got->str() != value) ++failures;
        if (!client.Eval(add, {"scripted"}, {"2"}).ok()) ++failures;
        if (i % 50 == 0) {
          absl::StatusOr<std::vector<Reply>> p =
              client.Pipeline({{"INCR", "piped"}, {"GET", own}, {"INCR", "piped"}});
          if (!p.ok() || (*p)[1].str() != value) ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_THAT(client.Command({"GET", "shared"}), IsOkAndHolds(IsString("3200")));
  EXPECT_THAT(client.Command({"GET", "scripted"}), IsOkAndHolds(IsString("6400")));
  EXPECT_THAT(client.Command({"GET", "piped"}), IsOkAndHolds(IsString("128")));
  // Never more connections than the pool allows (plus the INFO connection itself).
  IPLUS_ASSERT_OK_AND_ASSIGN(Reply info, client.Command({"CLIENT", "LIST"}));
  EXPECT_LE(std::count(info.str().begin(), info.str().end(), '\n'), 4);
}

TEST_F(RedisClientTest, WaiterGetsTheConnectionWhenReleased) {
  Options options = OptionsFor(*server_);
  options.pool_size = 1;
  options.command_timeout = absl::Milliseconds(200);
  Client client(options);
  IPLUS_ASSERT_OK(client.Ping());
  // DEBUG SLEEP (unlike BLPOP, whose timeout Redis checks only every few ticks) holds
  // the connection for a precise time.
  std::thread blocker([&] { (void)client.Command({"DEBUG", "SLEEP", "0.1"}); });
  absl::SleepFor(absl::Milliseconds(20));
  // The blocker holds the only connection for 100 ms, within our 200 ms wait.
  const absl::Time start = absl::Now();
  EXPECT_THAT(client.Command({"PING"}), IsOkAndHolds(IsString("PONG")));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));  // it did wait
  blocker.join();
}

// A listener that never accepts and whose accept queue is full: the kernel drops
// further SYNs, so a connect to it hangs until the client's connect timeout.
class BlackHole {
 public:
  BlackHole() {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(listener_, 0);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    for (int i = 0; i < 3; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      fillers_.push_back(fd);
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  ~BlackHole() {
    for (int fd : fillers_) close(fd);
    close(listener_);
  }
  int port() const { return port_; }

 private:
  int listener_ = -1;
  int port_ = 0;
  std::vector<int> fillers_;
};

TEST(RedisClientDownTest, ConnectTimeoutAndBoundedPoolWait) {
  BlackHole hole;
  Options options;
  options.port = hole.port();
  options.pool_size = 1;
  options.connect_timeout = absl::Milliseconds(500);
  options.command_timeout = absl::Milliseconds(200);
  options.reconnect_backoff_initial = absl::Seconds(1);
  Client client(options);
  // The first caller holds the only slot while its connect hangs...
  std::atomic<bool> started{false};
  std::thread connecting([&] {
    const absl::Time start = absl::Now();
    started = true;
    EXPECT_THAT(client.Ping(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("unreachable")));
    const absl::Duration took = absl::Now() - start;
    EXPECT_GE(took, absl::Milliseconds(450));
    EXPECT_LT(took, absl::Milliseconds(1500));  // generous: the machine may be loaded
  });
  // Let the first caller take the slot (on a loaded machine the thread may start late).
  while (!started) absl::SleepFor(absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(50));
  // ...so a second caller waits for a free connection for command_timeout, then gives up.
  const absl::Time start = absl::Now();
  EXPECT_THAT(client.Ping(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("no free connection")));
  const absl::Duration waited = absl::Now() - start;
  EXPECT_GE(waited, absl::Milliseconds(190));
  EXPECT_LT(waited, absl::Milliseconds(700));
  connecting.join();
  // Within the back-off window after the failed connect, calls fail at once.
  const absl::Time again = absl::Now();
  EXPECT_THAT(client.Ping(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - again, absl::Milliseconds(20));
}

TEST_F(RedisClientTest, SelectsTheConfiguredDatabase) {
  Options options = OptionsFor(*server_);
  options.db = 3;
  Client db3(options);
  Client db0(OptionsFor(*server_));
  IPLUS_ASSERT_OK(db3.Command({"SET", "where", "three"}));
  EXPECT_THAT(db0.Command({"GET", "where"}), IsOkAndHolds(Property(&Reply::IsNil, true)));
  EXPECT_THAT(db3.Command({"GET", "where"}), IsOkAndHolds(IsString("three")));
}

TEST(RedisClientAuthTest, PasswordRightAndWrong) {
  RedisServer::Options server_options;
  server_options.password = "s3cret";
  RedisServer server(server_options);
  IPLUS_ASSERT_OK(server.Start());

  Options options = OptionsFor(server);
  options.password = "s3cret";
  Client right(options);
  IPLUS_EXPECT_OK(right.Ping());
  EXPECT_TRUE(right.Healthy());

  options.username = "default";
  Client with_user(options);
  IPLUS_EXPECT_OK(with_user.Ping());

  options.username.clear();
  options.password = "wrong";
  Client wrong(options);
  absl::Status status = wrong.Ping();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("AUTH failed")));
  EXPECT_THAT(std::string(status.message()), ::testing::Not(HasSubstr("wrong")));
  EXPECT_FALSE(wrong.Healthy());

  Client missing(OptionsFor(server));
  EXPECT_THAT(missing.Command({"GET", "k"}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("NOAUTH")));
  EXPECT_THAT(missing.Ping(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_FALSE(missing.Healthy());
}

TEST(RedisClientDownTest, NothingListeningFailsFastWithBackoff) {
  Options options;
  options.port = iplus::test::FreePort();
  Client client(options);
  EXPECT_FALSE(client.Healthy());
  for (int i = 0; i < 5; ++i) {
    const absl::Time start = absl::Now();
    absl::Status status = client.Ping();
    const absl::Duration took = absl::Now() - start;
    EXPECT_THAT(
        status,
        StatusIs(absl::StatusCode::kUnavailable,
                 HasSubstr(absl::StrCat("redis 127.0.0.1:", options.port, " unreachable"))));
    EXPECT_LT(took, absl::Milliseconds(100));
    if (i == 1) {
      EXPECT_THAT(std::string(status.message()), HasSubstr("next reconnect in"));
    }
  }
  EXPECT_FALSE(client.Healthy());
}

TEST_F(RedisClientTest, ServerStoppedThenRestarted) {
  Options options = OptionsFor(*server_);
  options.reconnect_backoff_max = absl::Milliseconds(500);
  Client client(options);
  IPLUS_ASSERT_OK(client.Command({"SET", "k", "v"}));
  EXPECT_TRUE(client.Healthy());

  server_->Stop();
  absl::Duration worst;
  for (int i = 0; i < 20; ++i) {
    const absl::Time start = absl::Now();
    EXPECT_THAT(client.Command({"GET", "k"}),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr("unreachable")));
    worst = std::max(worst, absl::Now() - start);
    absl::SleepFor(absl::Milliseconds(5));
  }
  std::printf("[ measured ] UNAVAILABLE after stop: worst of 20 calls %s\n",
              absl::FormatDuration(worst).c_str());
  EXPECT_LT(worst, absl::Milliseconds(100));
  EXPECT_FALSE(client.Healthy());

  IPLUS_ASSERT_OK(server_->Start());
  absl::StatusOr<absl::Duration> recovered = Eventually(
      [&] {
        return client.Command({"SET", "k", "again"}).status();
      },
      absl::Seconds(5));
  IPLUS_ASSERT_OK(recovered);
  std::printf("[ measured ] recovered %s after restart\n",
              absl::FormatDuration(*recovered).c_str());
  EXPECT_TRUE(client.Healthy());
  EXPECT_THAT(client.Command({"GET", "k"}), IsOkAndHolds(IsString("again")));
}

TEST_F(RedisClientTest, ServerKilledWhileConnectionsAreIdle) {
  Options options = OptionsFor(*server_);
  Client client(options);
  // Open several connections so that the pool holds idle ones when the server dies.
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] { (void)client.Command({"BLPOP", "never", "0.05"}); });
  }
  for (std::thread& thread : threads) thread.join();

  server_->Kill();
  const absl::Time start = absl::Now();
  EXPECT_THAT(client.Ping(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(100));
  EXPECT_FALSE(client.Healthy());

  IPLUS_ASSERT_OK(server_->Start());
  IPLUS_ASSERT_OK(Eventually([&] { return client.Ping(); }, absl::Seconds(5)));
  // Stale idle connections were dropped, so every later call succeeds at once.
  for (int i = 0; i < 20; ++i) IPLUS_EXPECT_OK(client.Command({"INCR", "n"}));
}

TEST_F(RedisClientTest, CommandTimeoutIsUnavailableAndTheClientRecovers) {
  Options options = OptionsFor(*server_);
  options.command_timeout = absl::Milliseconds(100);
  Client client(options);
  IPLUS_ASSERT_OK(client.Command({"SET", "k", "v"}));

  const absl::Time start = absl::Now();
  absl::StatusOr<Reply> slept = client.Command({"DEBUG", "SLEEP", "1"});
  const absl::Duration took = absl::Now() - start;
  std::printf("[ measured ] command timeout (100ms) returned after %s\n",
              absl::FormatDuration(took).c_str());
  EXPECT_THAT(slept, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("timeout")));
  EXPECT_LT(took, absl::Milliseconds(200));
  // A slow command is not an outage.
  EXPECT_TRUE(client.Healthy());

  // Redis is single-threaded and still asleep; once it wakes, the client works again and
  // the late "+OK" of DEBUG SLEEP is never mistaken for another command's reply.
  IPLUS_ASSERT_OK(Eventually(
      [&] {
        return client.Command({"GET", "k"}).status();
      },
      absl::Seconds(3)));
  for (int i = 0; i < 10; ++i) {
    EXPECT_THAT(client.Command({"GET", "k"}), IsOkAndHolds(IsString("v")));
  }
}

TEST_F(RedisClientTest, ObserverSeesEveryCall) {
  struct Call {
    std::string command;
    bool ok;
  };
  absl::Mutex mu;
  std::vector<Call> calls;
  Options options = OptionsFor(*server_);
  options.observer = [&](absl::string_view command, absl::Duration latency, bool ok) {
    EXPECT_GE(latency, absl::ZeroDuration());
    absl::MutexLock lock(&mu);
    calls.push_back({std::string(command), ok});
  };
  Client client(options);
  IPLUS_ASSERT_OK(client.Command({"set", "k", "v"}));
  (void)client.Command({"INCR", "k"});
  IPLUS_ASSERT_OK(client.Pipeline({{"GET", "k"}, {"INCR", "k"}}));
  IPLUS_ASSERT_OK(client.Eval(Script("return 1"), {}, {}));
  IPLUS_ASSERT_OK(client.Ping());
  absl::MutexLock lock(&mu);
  ASSERT_EQ(calls.size(), 5u);
  EXPECT_EQ(calls[0].command, "SET");
  EXPECT_TRUE(calls[0].ok);
  EXPECT_EQ(calls[1].command, "INCR");
  EXPECT_FALSE(calls[1].ok);
  EXPECT_EQ(calls[2].command, "PIPELINE");
  EXPECT_TRUE(calls[2].ok);  // per-command errors do not fail a pipeline
  EXPECT_EQ(calls[3].command, "EVALSHA");
  EXPECT_EQ(calls[4].command, "PING");
}

TEST_F(RedisClientTest, HealthyReflectsLastKnownState) {
  Client client(OptionsFor(*server_));
  EXPECT_FALSE(client.Healthy());  // nothing known before the first connection
  IPLUS_ASSERT_OK(client.Ping());
  EXPECT_TRUE(client.Healthy());
  EXPECT_EQ(client.address(), server_->address());
}

}  // namespace
}  // namespace iplus::redis
