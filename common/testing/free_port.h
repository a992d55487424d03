#pragma once

// A TCP port on 127.0.0.1 that was free a moment ago: bound to port 0, read back,
// released. Another process may take it before the caller binds it, so callers retry
// with a fresh port when binding fails (RedisServer does). Aborts the test process if
// no socket can be bound at all. Thread-safe.

namespace iplus::test {

int FreePort();

}  // namespace iplus::test
