// The calling thread's errno as a Boost error code, for the raw system calls (splice, connect)
// made beside Asio's own. Contract: read it right after the failing call, before anything else
// can change errno.
#pragma once

#include <boost/system/error_code.hpp>
#include <cerrno>

namespace fqdngate {

inline boost::system::error_code errno_code() {
  return boost::system::error_code(errno, boost::system::system_category());
}

}  // namespace fqdngate
