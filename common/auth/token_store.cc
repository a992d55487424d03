#include "common/auth/token_store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/config/config.h"
#include "common/log/log.h"

namespace iplus::auth {
namespace {

constexpr char kMalformed[] = "malformed authorization header; expected \"Bearer <token>\"";

bool IsTokenChar(char c) { return c > ' ' && c < 0x7f; }

}  // namespace

TokenStore::TokenStore(std::string path, Clock* clock, absl::Duration check_interval)
    : path_(std::move(path)), clock_(clock), check_interval_(check_interval) {}

absl::StatusOr<std::unique_ptr<TokenStore>> TokenStore::Load(std::string path, Clock* clock,
                                                             absl::Duration check_interval) {
  auto store = std::unique_ptr<TokenStore>(new TokenStore(std::move(path), clock, check_interval));
  auto stamp = Stat(store->path_);
  if (!stamp.ok()) return stamp.status();
  absl::MutexLock lock(&store->reload_mu_);
  absl::Status status = store->Reload(*stamp);
  if (!status.ok()) return status;
  store->stamp_ = *stamp;
  {
    absl::MutexLock check_lock(&store->check_mu_);
    store->next_check_ = clock->Now() + check_interval;
  }
  return store;
}

absl::StatusOr<TokenStore::FileStamp> TokenStore::Stat(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot stat token file ", path, ": ", std::strerror(errno)));
  }
  FileStamp stamp;
  stamp.mtime_sec = st.st_mtim.tv_sec;
  stamp.mtime_nsec = st.st_mtim.tv_nsec;
  stamp.size = st.st_size;
  stamp.inode = st.st_ino;
  return stamp;
}

absl::Status TokenStore::Reload(const FileStamp& stamp) {
  auto text = config::ReadFile(path_);
  if (!text.ok()) return text.status();
  auto parsed = ParseTokenFile(*text, path_);
  if (!parsed.ok()) return parsed.status();
  auto tokens = std::make_shared<TokenMap>();
  for (auto& [hash, principal] : *parsed) tokens->emplace(std::move(hash), std::move(principal));
  size_t count = tokens->size();
  {
    absl::MutexLock lock(&mu_);
    tokens_ = std::move(tokens);
  }
  log::Info("token file loaded",
            {log::Field::Str("file", path_), log::Field::Int("tokens", static_cast<int64_t>(count)),
             log::Field::Int("size", stamp.size)});
  return absl::OkStatus();
}

void TokenStore::MaybeReload() {
  absl::Time now = clock_->Now();
  {
    absl::MutexLock lock(&check_mu_);
    if (now < next_check_) return;
    next_check_ = now + check_interval_;
  }
  absl::MutexLock lock(&reload_mu_);
  auto stamp = Stat(path_);
  if (!stamp.ok()) {
    // Kept as is: a Secret update may briefly hide the file; the next check retries.
    log::Warn("token file check failed; keeping the loaded tokens",
              {log::Field::Str("file", path_), log::Field::Status("error", stamp.status())});
    return;
  }
  if (*stamp == stamp_) return;
  // Recorded even if the reload fails, so that a broken file is reported once, not at
  // every check; fixing the file changes the stamp again.
  stamp_ = *stamp;
  absl::Status status = Reload(*stamp);
  if (!status.ok()) {
    log::Warn("token file reload failed; keeping the previous tokens",
              {log::Field::Str("file", path_), log::Field::Status("error", status)});
  }
}

absl::StatusOr<Principal> TokenStore::Authenticate(absl::string_view authorization_header_value) {
  MaybeReload();
  absl::string_view value = absl::StripAsciiWhitespace(authorization_header_value);
  if (value.empty()) return absl::UnauthenticatedError("missing authorization header");
  size_t space = value.find_first_of(" \t");
  if (space == absl::string_view::npos) return absl::UnauthenticatedError(kMalformed);
  absl::string_view scheme = value.substr(0, space);
  absl::string_view token = absl::StripLeadingAsciiWhitespace(value.substr(space));
  if (!absl::EqualsIgnoreCase(scheme, "bearer")) {
    return absl::UnauthenticatedError("unsupported authorization scheme; expected Bearer");
  }
  if (token.empty()) return absl::UnauthenticatedError(kMalformed);
  for (char c : token) {
    if (!IsTokenChar(c)) return absl::UnauthenticatedError(kMalformed);
  }
  std::string hash = Sha256Hex(token);
  std::shared_ptr<const TokenMap> tokens;
  {
    absl::MutexLock lock(&mu_);
    tokens = tokens_;
  }
  auto it = tokens->find(hash);
  if (it == tokens->end()) return absl::UnauthenticatedError("unknown bearer token");
  return it->second;
}

size_t TokenStore::size() const {
  absl::MutexLock lock(&mu_);
  return tokens_ == nullptr ? 0 : tokens_->size();
}

}  // namespace iplus::auth
