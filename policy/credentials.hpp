// Proxy users and their salted, slow password hashes (the `auth.credentials` file).
// Contract: one entry per line, "NAME:$scrypt$ln=L,r=R,p=P$SALT$HASH" or
// "NAME:$pbkdf2-sha256$i=N$SALT$HASH" (standard base64); blank lines and '#' comments are
// ignored. Parsing is pure and reports the 1-based line of the first bad entry. Hashing and
// verifying are deliberately slow (tens to hundreds of milliseconds): never call them on an I/O
// thread. Comparison of derived keys is constant-time.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fqdngate::policy {

enum class HashScheme { scrypt, pbkdf2_sha256 };

struct PasswordHash {
  HashScheme scheme = HashScheme::scrypt;
  unsigned scrypt_log2_n = 15;  // scrypt: N = 2^ln
  unsigned scrypt_r = 8;
  unsigned scrypt_p = 1;
  unsigned pbkdf2_iterations = 600'000;
  std::vector<std::uint8_t> salt;
  std::vector<std::uint8_t> key;  // the derived key to compare against
};

class CredentialsError : public std::runtime_error {
 public:
  CredentialsError(int line, const std::string& message)
      : std::runtime_error(message), line_(line) {}
  int line() const noexcept { return line_; }

 private:
  int line_;
};

class Credentials {
 public:
  // Throws CredentialsError naming the line and what is wrong with it.
  static Credentials parse(std::string_view text);

  const PasswordHash* find(std::string_view user) const;
  std::size_t size() const noexcept { return users_.size(); }

 private:
  std::unordered_map<std::string, PasswordHash> users_;
};

// Why `user` cannot be a proxy user name (empty, over 64 bytes, ':' or a byte outside visible
// ASCII), or nullopt when it can.
std::optional<std::string> invalid_user_name(std::string_view user);

// A new entry line (without newline) with a fresh random salt. Slow.
std::string make_credentials_line(std::string_view user, std::string_view password,
                                  HashScheme scheme);

// Whether `password` derives `hash.key`. Slow; constant-time in the comparison.
bool verify_password(const PasswordHash& hash, std::string_view password);

// The same work as a failed verify_password, so an unknown user name takes as long as a known
// one with a wrong password.
void burn_password_check(std::string_view password);

}  // namespace fqdngate::policy
