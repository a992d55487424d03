#pragma once

// gMock matchers for absl::Status and absl::StatusOr<T> (the packaged Abseil predates
// absl's own). They live in iplus::test rather than iplus::testing so that inside
// namespace iplus, `testing::` keeps meaning gMock.
//
//   EXPECT_THAT(store.Get(id), StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(store.Get(id), StatusIs(absl::StatusCode::kInvalidArgument,
//                                       ::testing::HasSubstr("enterprise.code")));
//   EXPECT_THAT(client.Command({"GET", "k"}), IsOkAndHolds(Property(&Reply::str, "v")));
//   IPLUS_ASSERT_OK(client.Ping());
//   IPLUS_ASSERT_OK_AND_ASSIGN(Reply reply, client.Command({"GET", "k"}));
//
// StatusIs and IsOk accept both absl::Status and absl::StatusOr<T>.

#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/base/config.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::test {
namespace internal_status {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }

template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

class StatusIsImpl {
 public:
  StatusIsImpl(::testing::Matcher<absl::StatusCode> code,
               ::testing::Matcher<const std::string&> message)
      : code_(std::move(code)), message_(std::move(message)) {}

  void DescribeTo(std::ostream* os) const {
    *os << "has a status code that ";
    code_.DescribeTo(os);
    *os << ", and has an error message that ";
    message_.DescribeTo(os);
  }

  void DescribeNegationTo(std::ostream* os) const {
    *os << "has a status code that ";
    code_.DescribeNegationTo(os);
    *os << ", or has an error message that ";
    message_.DescribeNegationTo(os);
  }

  bool MatchAndExplain(const absl::Status& status, ::testing::MatchResultListener* listener) const {
    *listener << "whose status is " << status;
    ::testing::StringMatchResultListener inner;
    if (!code_.MatchAndExplain(status.code(), &inner)) {
      if (!inner.str().empty()) *listener << ", and the code " << inner.str();
      return false;
    }
    const std::string message(status.message());
    if (!message_.MatchAndExplain(message, &inner)) {
      if (!inner.str().empty()) *listener << ", and the message " << inner.str();
      return false;
    }
    return true;
  }

 private:
  ::testing::Matcher<absl::StatusCode> code_;
  ::testing::Matcher<const std::string&> message_;
};

template <typename T>
class MonoStatusIsMatcher : public ::testing::MatcherInterface<T> {
 public:
  explicit MonoStatusIsMatcher(StatusIsImpl impl) : impl_(std::move(impl)) {}
  void DescribeTo(std::ostream* os) const override { impl_.DescribeTo(os); }
  void DescribeNegationTo(std::ostream* os) const override { impl_.DescribeNegationTo(os); }
  bool MatchAndExplain(T actual, ::testing::MatchResultListener* listener) const override {
    return impl_.MatchAndExplain(GetStatus(actual), listener);
  }

 private:
  StatusIsImpl impl_;
};

class StatusIsMatcher {
 public:
  StatusIsMatcher(::testing::Matcher<absl::StatusCode> code,
                  ::testing::Matcher<const std::string&> message)
      : impl_(std::move(code), std::move(message)) {}

  template <typename T>
  operator ::testing::Matcher<T>() const {  // NOLINT(google-explicit-constructor)
    return ::testing::Matcher<T>(new MonoStatusIsMatcher<const T&>(impl_));
  }

 private:
  StatusIsImpl impl_;
};

class IsOkMatcher {
 public:
  template <typename T>
  bool MatchAndExplain(const T& actual, ::testing::MatchResultListener* listener) const {
    const absl::Status& status = GetStatus(actual);
    if (!status.ok()) *listener << "whose status is " << status;
    return status.ok();
  }
  void DescribeTo(std::ostream* os) const { *os << "is OK"; }
  void DescribeNegationTo(std::ostream* os) const { *os << "is not OK"; }
};

template <typename StatusOrType>
class IsOkAndHoldsImpl : public ::testing::MatcherInterface<StatusOrType> {
 public:
  using value_type = typename std::remove_cv_t<std::remove_reference_t<StatusOrType>>::value_type;

  template <typename InnerMatcher>
  explicit IsOkAndHoldsImpl(InnerMatcher&& inner)
      : inner_(::testing::SafeMatcherCast<const value_type&>(std::forward<InnerMatcher>(inner))) {}

  void DescribeTo(std::ostream* os) const override {
    *os << "is OK and has a value that ";
    inner_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const override {
    *os << "isn't OK or has a value that ";
    inner_.DescribeNegationTo(os);
  }
  bool MatchAndExplain(StatusOrType actual,
                       ::testing::MatchResultListener* listener) const override {
    if (!actual.ok()) {
      *listener << "whose status is " << actual.status();
      return false;
    }
    ::testing::StringMatchResultListener inner;
    const bool matches = inner_.MatchAndExplain(*actual, &inner);
    *listener << "whose value is " << ::testing::PrintToString(*actual);
    if (!inner.str().empty()) *listener << ", " << inner.str();
    return matches;
  }

 private:
  const ::testing::Matcher<const value_type&> inner_;
};

template <typename InnerMatcher>
class IsOkAndHoldsMatcher {
 public:
  explicit IsOkAndHoldsMatcher(InnerMatcher inner) : inner_(std::move(inner)) {}

  template <typename StatusOrType>
  operator ::testing::Matcher<StatusOrType>() const {  // NOLINT(google-explicit-constructor)
    return ::testing::Matcher<StatusOrType>(new IsOkAndHoldsImpl<const StatusOrType&>(inner_));
  }

 private:
  const InnerMatcher inner_;
};

}  // namespace internal_status

// Matches a Status or StatusOr whose code matches `code` (a StatusCode or a matcher)
// and, in the two-argument form, whose message matches `message` (a string for
// equality, or a matcher such as ::testing::HasSubstr).
inline internal_status::StatusIsMatcher StatusIs(::testing::Matcher<absl::StatusCode> code,
                                                 ::testing::Matcher<const std::string&> message) {
  return internal_status::StatusIsMatcher(std::move(code), std::move(message));
}
inline internal_status::StatusIsMatcher StatusIs(::testing::Matcher<absl::StatusCode> code) {
  return StatusIs(std::move(code), ::testing::_);
}

// Matches an OK Status or StatusOr.
inline ::testing::PolymorphicMatcher<internal_status::IsOkMatcher> IsOk() {
  return ::testing::MakePolymorphicMatcher(internal_status::IsOkMatcher());
}

// Matches an OK StatusOr<T> whose value matches `inner` (a value or a matcher).
template <typename InnerMatcher>
internal_status::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>> IsOkAndHolds(
    InnerMatcher&& inner) {
  return internal_status::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>>(
      std::forward<InnerMatcher>(inner));
}

}  // namespace iplus::test

// gtest finds PrintTo by argument-dependent lookup, so it must live in absl's namespace.
// Abseil gained its own PrintTo for StatusOr after this LTS; the guard keeps the two from
// colliding when the packaged version moves on.
#if defined(ABSL_LTS_RELEASE_VERSION) && ABSL_LTS_RELEASE_VERSION <= 20230125
namespace absl {
template <typename T>
void PrintTo(const StatusOr<T>& status_or, std::ostream* os) {
  if (status_or.ok()) {
    *os << "OK: " << ::testing::PrintToString(*status_or);
  } else {
    *os << status_or.status();
  }
}
}  // namespace absl
#endif

// Project-prefixed so they cannot collide with other libraries' ASSERT_OK.
#define IPLUS_EXPECT_OK(expr) EXPECT_THAT((expr), ::iplus::test::IsOk())
#define IPLUS_ASSERT_OK(expr) ASSERT_THAT((expr), ::iplus::test::IsOk())

// IPLUS_ASSERT_OK_AND_ASSIGN(lhs, rexpr): evaluates `rexpr` (a StatusOr), fails the
// test (returning from the function) if it is not OK, else moves its value into `lhs`,
// which may be a declaration such as `Reply reply`.
#define IPLUS_ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  IPLUS_ASSERT_OK_AND_ASSIGN_IMPL_(IPLUS_STATUS_CONCAT_(iplus_status_or_, __LINE__), lhs, rexpr)
#define IPLUS_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                     \
  ASSERT_TRUE(statusor.ok()) << statusor.status();             \
  lhs = std::move(statusor).value()
#define IPLUS_STATUS_CONCAT_(a, b) IPLUS_STATUS_CONCAT_INNER_(a, b)
#define IPLUS_STATUS_CONCAT_INNER_(a, b) a##b
