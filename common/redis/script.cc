#include "common/redis/script.h"

#include <utility>

#include "common/redis/internal/sha1.h"

namespace iplus::redis {

Script::Script(std::string lua) : lua_(std::move(lua)), sha_(internal::Sha1Hex(lua_)) {}

}  // namespace iplus::redis
