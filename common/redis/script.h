#pragma once

// A Lua script identified by its SHA-1, for Client::Eval / Client::EvalPipeline, which
// call it with EVALSHA and load it on demand. Immutable after construction, so one
// instance (typically a static or a member of a store) is safe to share across threads.

#include <string>

namespace iplus::redis {

class Script {
 public:
  explicit Script(std::string lua);

  const std::string& lua() const { return lua_; }
  // 40 lowercase hex characters, equal to what SCRIPT LOAD returns for lua().
  const std::string& sha() const { return sha_; }

 private:
  std::string lua_;
  std::string sha_;
};

}  // namespace iplus::redis
