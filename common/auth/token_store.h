#pragma once

// TokenStore: authenticates bearer tokens against a token file (format in auth.h) and
// follows changes to that file, as when Kubernetes updates a mounted Secret.
//
//   Use:
//     auto store = auth::TokenStore::Load(flag_token_file, &clock);
//     if (!store.ok()) { ...fatal: bad configuration... }
//     auto principal = (*store)->Authenticate(authorization_metadata_value);
//
// Thread-safe. Tokens are never logged and never appear in a status message.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/auth.h"
#include "common/clock/clock.h"

namespace iplus::auth {

class TokenStore {
 public:
  // Reads and parses `path`. A missing, unreadable or malformed file is an error (the
  // caller should refuse to start). `clock` must outlive the store.
  static absl::StatusOr<std::unique_ptr<TokenStore>> Load(
      std::string path, Clock* clock, absl::Duration check_interval = absl::Seconds(1));

  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;

  // Maps the raw `authorization` metadata value, "Bearer <token>" (scheme matched
  // case-insensitively), to its principal. A missing or malformed value, another scheme
  // or an unknown token is UNAUTHENTICATED.
  //
  // Before answering, at most once per check_interval, compares the file's modification
  // time, size and inode with those last seen and reloads it if they differ. A reload
  // that fails (unreadable or malformed file) keeps the previous tokens and logs a
  // warning naming the file and line; it is not retried until the file changes again.
  absl::StatusOr<Principal> Authenticate(absl::string_view authorization_header_value);

  // Number of tokens currently loaded.
  size_t size() const;

 private:
  struct FileStamp {
    int64_t mtime_sec = 0;
    int64_t mtime_nsec = 0;
    int64_t size = 0;
    uint64_t inode = 0;
    bool operator==(const FileStamp& o) const {
      return mtime_sec == o.mtime_sec && mtime_nsec == o.mtime_nsec && size == o.size &&
             inode == o.inode;
    }
  };
  using TokenMap = absl::flat_hash_map<std::string, Principal>;

  TokenStore(std::string path, Clock* clock, absl::Duration check_interval);

  static absl::StatusOr<FileStamp> Stat(const std::string& path);
  // Reads and parses the file; on success replaces the tokens.
  absl::Status Reload(const FileStamp& stamp);
  void MaybeReload();

  const std::string path_;
  Clock* const clock_;
  const absl::Duration check_interval_;

  absl::Mutex check_mu_;
  absl::Time next_check_ ABSL_GUARDED_BY(check_mu_) = absl::InfinitePast();

  absl::Mutex reload_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  FileStamp stamp_ ABSL_GUARDED_BY(reload_mu_);

  mutable absl::Mutex mu_;
  std::shared_ptr<const TokenMap> tokens_ ABSL_GUARDED_BY(mu_);
};

}  // namespace iplus::auth
