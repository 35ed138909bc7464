// Raise the soft descriptor limit to the hard limit: the idle scenario keeps thousands of
// sockets open in the load generator and the origin alike.
#pragma once

#include <sys/resource.h>

#include <cstdint>

namespace loadgen {

// Returns the soft limit in force afterwards.
inline std::uint64_t raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit want = lim;
    want.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) lim = want;
  }
  return lim.rlim_cur;
}

}  // namespace loadgen
