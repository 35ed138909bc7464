#include "proxy/passwd_command.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <istream>
#include <ostream>
#include <sstream>

namespace fqdngate {
namespace {

constexpr int kOk = 0;
constexpr int kUsage = 2;

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

int run_passwd(const std::string& file, const std::string& user, policy::HashScheme scheme,
               std::istream& password_in, std::ostream& err) {
  if (const auto why = policy::invalid_user_name(user)) {
    err << "fqdngate: passwd: bad user name \"" << user << "\": " << *why << '\n';
    return kUsage;
  }
  std::string password;
  std::getline(password_in, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) {
    err << "fqdngate: passwd: no password on standard input (first line)\n";
    return kUsage;
  }

  std::string kept;
  bool replaced = false;
  const std::string entry = policy::make_credentials_line(user, password, scheme);
  {
    std::ifstream in(file, std::ios::binary);
    if (in) {
      std::string line;
      while (std::getline(in, line)) {
        if (line.starts_with(user + ":")) {
          if (!replaced) kept += entry + "\n";
          replaced = true;
          continue;
        }
        kept += line + "\n";
      }
    } else if (errno != ENOENT) {
      err << "fqdngate: passwd: cannot read " << file << ": " << std::strerror(errno) << '\n';
      return kUsage;
    }
  }
  if (!replaced) kept += entry + "\n";
  // Validate what we are about to write: a file that fqdngate would refuse must never be left.
  try {
    (void)policy::Credentials::parse(kept);
  } catch (const policy::CredentialsError& e) {
    err << "fqdngate: passwd: " << file << ":" << e.line() << ": " << e.what()
        << " (fix that line first)\n";
    return kUsage;
  }

  const std::string temp = file + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    err << "fqdngate: passwd: cannot create " << temp << ": " << std::strerror(errno) << '\n';
    return kUsage;
  }
  const bool ok = write_all(fd, kept) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), file.c_str()) != 0) {
    err << "fqdngate: passwd: cannot write " << file << ": " << std::strerror(ok ? errno : saved)
        << '\n';
    ::unlink(temp.c_str());
    return kUsage;
  }
  err << "fqdngate: passwd: " << (replaced ? "replaced" : "added") << " user " << user << " in "
      << file << '\n';
  return kOk;
}

}  // namespace fqdngate
