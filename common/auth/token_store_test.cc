#include "common/auth/token_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock/clock.h"
#include "common/log/log.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::auth {
namespace {

using ::iplus::test::IsOk;
using ::iplus::test::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kOldToken[] = "old-token-5f1c9a";
constexpr char kNewToken[] = "new-token-83be02";

class TokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = absl::StrCat(::testing::TempDir(), "/tokens_",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { std::remove(path_.c_str()); }

  // Writes the file and gives it a modification time of its own, so that a rewrite is
  // seen even within the file system's timestamp granularity.
  void Write(const std::string& text) {
    {
      std::ofstream out(path_, std::ios::binary | std::ios::trunc);
      out << text;
    }
    ++generation_;
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec = 1600000000 + generation_;
    times[0].tv_nsec = times[1].tv_nsec = 0;
    ASSERT_EQ(utimensat(AT_FDCWD, path_.c_str(), times, 0), 0);
  }

  std::unique_ptr<TokenStore> LoadOrDie() {
    auto store = TokenStore::Load(path_, &clock_, absl::Seconds(1));
    EXPECT_THAT(store, IsOk());
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::string path_;
  int generation_ = 0;
  FakeClock clock_;
};

std::string Line(absl::string_view token, absl::string_view rest) {
  return absl::StrCat(Sha256Hex(token), " ", rest, "\n");
}

// Runs `f` with stdout sent to a file and returns what was written.
template <typename F>
std::string CaptureStdout(const std::string& path, F f) {
  fflush(stdout);
  int saved = dup(1);
  FILE* file = fopen(path.c_str(), "w");
  if (file == nullptr) return "";
  dup2(fileno(file), 1);
  f();
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  fclose(file);
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::remove(path.c_str());
  return s.str();
}

TEST_F(TokenStoreTest, LoadFailsOnMissingFile) {
  EXPECT_THAT(TokenStore::Load(path_ + ".absent", &clock_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(".absent")));
}

TEST_F(TokenStoreTest, LoadFailsOnMalformedFileNamingLine) {
  Write(absl::StrCat("# tokens\n", Line(kOldToken, "ops admin *"), Line(kNewToken, "x root *")));
  EXPECT_THAT(
      TokenStore::Load(path_, &clock_),
      StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr(absl::StrCat(path_, ":3: role")),
                                                         Not(HasSubstr(Sha256Hex(kNewToken))))));
}

TEST_F(TokenStoreTest, AuthenticateOk) {
  Write(absl::StrCat(Line(kOldToken, "gd-bank partner 44,4501"), Line("t2", "ops admin *")));
  auto store = LoadOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->size(), 2u);

  auto p = store->Authenticate(absl::StrCat("Bearer ", kOldToken));
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->name, "gd-bank");
  EXPECT_EQ(p->role, Role::kPartner);
  EXPECT_TRUE(p->MayTouchRegion("440103"));
  EXPECT_FALSE(p->MayTouchRegion("110101"));

  // The scheme is case-insensitive; surrounding and separating blanks are tolerated.
  for (const std::string& header :
       {absl::StrCat("bearer ", kOldToken), absl::StrCat("BEARER ", kOldToken),
        absl::StrCat("  Bearer \t ", kOldToken, " ")}) {
    SCOPED_TRACE(header);
    auto q = store->Authenticate(header);
    ASSERT_THAT(q, IsOk());
    EXPECT_EQ(q->name, "gd-bank");
  }
  auto admin = store->Authenticate("Bearer t2");
  ASSERT_THAT(admin, IsOk());
  EXPECT_EQ(admin->role, Role::kAdmin);
}

TEST_F(TokenStoreTest, AuthenticateRejectsWithoutEchoingTheToken) {
  Write(Line(kOldToken, "ops admin *"));
  auto store = LoadOrDie();
  ASSERT_NE(store, nullptr);
  const std::string secret = "s3cr3t-guess";
  const std::vector<std::string> headers = {
      "",
      "   ",
      "Bearer",
      "Bearer ",
      secret,                                    // no scheme
      absl::StrCat("Basic ", secret),            // wrong scheme
      absl::StrCat("Bearer ", secret),           // unknown token
      absl::StrCat("Bearer ", secret, " more"),  // blank inside the token
      absl::StrCat("Bearer ", secret, "\x01"),   // control character
      absl::StrCat("Bearer ", kOldToken, "x"),   // near miss
      absl::StrCat("Bearer", kOldToken),         // no separator
  };
  for (const std::string& header : headers) {
    SCOPED_TRACE(header);
    EXPECT_THAT(store->Authenticate(header),
                StatusIs(absl::StatusCode::kUnauthenticated,
                         AllOf(Not(HasSubstr(secret)), Not(HasSubstr(kOldToken)),
                               Not(HasSubstr(Sha256Hex(secret))))));
  }
  EXPECT_THAT(store->Authenticate(absl::StrCat("Bearer ", secret)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("unknown")));
  EXPECT_THAT(store->Authenticate(absl::StrCat("Basic ", secret)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("scheme")));
  EXPECT_THAT(store->Authenticate(""),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("missing")));
  EXPECT_THAT(store->Authenticate("Bearer "),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("malformed")));
}

TEST_F(TokenStoreTest, ReloadsOnChangeAfterCheckInterval) {
  Write(Line(kOldToken, "ops admin *"));
  auto store = LoadOrDie();
  ASSERT_NE(store, nullptr);
  const std::string old_header = absl::StrCat("Bearer ", kOldToken);
  const std::string new_header = absl::StrCat("Bearer ", kNewToken);

  Write(absl::StrCat(Line(kNewToken, "acme fund_manager 44 F001"), Line("t3", "v viewer *")));
  // Within the interval the file is not looked at.
  clock_.Advance(absl::Milliseconds(500));
  EXPECT_THAT(store->Authenticate(old_header), IsOk());
  EXPECT_THAT(store->Authenticate(new_header), StatusIs(absl::StatusCode::kUnauthenticated));

  clock_.Advance(absl::Milliseconds(600));
  auto p = store->Authenticate(new_header);
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->name, "acme");
  EXPECT_TRUE(p->MayTouchFund("F001"));
  EXPECT_FALSE(p->MayTouchFund("F002"));
  EXPECT_EQ(store->size(), 2u);
  EXPECT_THAT(store->Authenticate(old_header), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(TokenStoreTest, ReplacedFileIsSeen) {
  Write(Line(kOldToken, "ops admin *"));
  auto store = LoadOrDie();
  ASSERT_NE(store, nullptr);
  // A new file renamed over the old one, as a Secret update does through its symlinks.
  const std::string tmp = path_ + ".new";
  {
    std::ofstream out(tmp);
    out << Line(kNewToken, "ops admin *");
  }
  ASSERT_EQ(std::rename(tmp.c_str(), path_.c_str()), 0);
  clock_.Advance(absl::Seconds(2));
  EXPECT_THAT(store->Authenticate(absl::StrCat("Bearer ", kNewToken)), IsOk());
  EXPECT_THAT(store->Authenticate(absl::StrCat("Bearer ", kOldToken)),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(TokenStoreTest, BrokenRewriteKeepsPreviousTokensAndWarns) {
  Write(Line(kOldToken, "ops admin *"));
  auto store = LoadOrDie();
  ASSERT_NE(store, nullptr);
  const std::string old_header = absl::StrCat("Bearer ", kOldToken);

  Write(absl::StrCat("# broken\n", Line(kNewToken, "ops admin *"), Line(kNewToken, "x admin")));
  clock_.Advance(absl::Seconds(2));
  std::string out = CaptureStdout(path_ + ".log", [&] {
    EXPECT_THAT(store->Authenticate(old_header), IsOk());
    EXPECT_THAT(store->Authenticate(absl::StrCat("Bearer ", kNewToken)),
                StatusIs(absl::StatusCode::kUnauthenticated));
  });
  EXPECT_EQ(store->size(), 1u);
  EXPECT_THAT(out, HasSubstr("\"level\":\"warning\""));
  EXPECT_THAT(out, HasSubstr(absl::StrCat(path_, ":3:")));
  EXPECT_THAT(out, Not(HasSubstr(kNewToken)));
  EXPECT_THAT(out, Not(HasSubstr(kOldToken)));
  EXPECT_THAT(out, Not(HasSubstr(Sha256Hex(kNewToken))));
  EXPECT_THAT(out, Not(HasSubstr(Sha256Hex(kOldToken))));

  // The file vanishing for a moment is not fatal either.
  std::remove(path_.c_str());
  clock_.Advance(absl::Seconds(2));
  EXPECT_THAT(store->Authenticate(old_header), IsOk());

  // Fixed: the next check picks it up.
  Write(Line(kNewToken, "ops admin *"));
  clock_.Advance(absl::Seconds(2));
  EXPECT_THAT(store->Authenticate(absl::StrCat("Bearer ", kNewToken)), IsOk());
  EXPECT_THAT(store->Authenticate(old_header), StatusIs(absl::StatusCode::kUnauthenticated));
}

}  // namespace
}  // namespace iplus::auth
