#include "policy/credentials_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "policy/loader.hpp"

namespace fqdngate::policy {

Credentials read_credentials_file(const std::string& path, const SourceRef& named_at) {
  const std::string from = " (auth.credentials at " + named_at.str() + ")";
  // A file that cannot be read is an error of the policy line that names it.
  const auto unreadable = [&](const std::string& why) {
    return PolicyError(named_at.file, named_at.line, named_at.column,
                       "auth.credentials: cannot read " + path + ": " + why);
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw unreadable("is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw unreadable(std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return Credentials::parse(text.str());
  } catch (const CredentialsError& e) {
    throw PolicyError(path, e.line(), 1, e.what() + from);
  }
}

}  // namespace fqdngate::policy
