// `fqdngate passwd [--pbkdf2] FILE USER`: adds or replaces USER's entry in a credentials file.
// Contract: the password is the first line of `password_in`; other lines of FILE are kept
// byte for byte; FILE is replaced atomically (temporary file + rename) with mode 0600. Returns
// the exit status; messages go to `err`.
#pragma once

#include <iosfwd>
#include <string>

#include "policy/credentials.hpp"

namespace fqdngate {

int run_passwd(const std::string& file, const std::string& user, policy::HashScheme scheme,
               std::istream& password_in, std::ostream& err);

}  // namespace fqdngate
