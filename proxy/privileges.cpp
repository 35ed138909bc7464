#include "proxy/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace fqdngate {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("--user: " + what + ": " + std::strerror(errno));
}

}  // namespace

bool running_as_root() {
  return ::geteuid() == 0;
}

void drop_privileges(const std::string& user) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  errno = 0;
  if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    throw std::runtime_error("--user: no such user \"" + user + "\"");
  }
  if (!running_as_root()) {
    if (found->pw_uid == ::geteuid()) return;  // already that user
    throw std::runtime_error("--user " + user + " needs fqdngate to be started as root");
  }
  // Groups first, uid last: once the uid is gone we could no longer change the groups.
  if (::initgroups(found->pw_name, found->pw_gid) != 0) fail("initgroups");
  if (::setgid(found->pw_gid) != 0) fail("setgid");
  if (::setuid(found->pw_uid) != 0) fail("setuid");
  // A process that could become root again has not dropped anything.
  if (::setuid(0) == 0 || ::geteuid() == 0) {
    throw std::runtime_error("--user: privileges could be regained after dropping them");
  }
}

}  // namespace fqdngate
