#include "policy/credentials.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <charconv>

namespace fqdngate::policy {
namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kMaxUserBytes = 64;
// Parameter bounds: a typo or a hostile file must not make one check take minutes or gigabytes.
constexpr unsigned kMaxScryptLog2N = 20;
constexpr unsigned kMaxScryptR = 32;
constexpr unsigned kMaxScryptP = 16;
constexpr std::uint64_t kMaxScryptMemory = 256ull * 1024 * 1024;
constexpr unsigned kMinPbkdf2Iterations = 10'000;
constexpr unsigned kMaxPbkdf2Iterations = 10'000'000;

std::uint64_t scrypt_memory(unsigned log2_n, unsigned r, unsigned p) {
  return 128ull * r * ((1ull << log2_n) + p + 2);
}

std::string base64(const std::vector<std::uint8_t>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::vector<std::uint8_t>> unbase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/' || c == '=';
    if (!ok) return std::nullopt;
  }
  std::vector<std::uint8_t> out(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = 0;
  if (text.ends_with("==")) {
    pad = 2;
  } else if (text.ends_with('=')) {
    pad = 1;
  }
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

std::optional<unsigned> number(std::string_view text, std::string_view name) {
  if (!text.starts_with(name) || text.size() <= name.size() || text[name.size()] != '=') {
    return std::nullopt;
  }
  text.remove_prefix(name.size() + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "$scheme$params$salt$key" -> hash; throws std::invalid_argument with the reason.
PasswordHash parse_hash(std::string_view text) {
  const auto parts = split(text, '$');
  const bool known = parts.size() >= 2 && (parts[1] == "scrypt" || parts[1] == "pbkdf2-sha256");
  if (parts.size() >= 2 && parts[0].empty() && !known) {
    throw std::invalid_argument("unknown hash scheme '" + std::string(parts[1]) +
                                "' (scrypt or pbkdf2-sha256)");
  }
  if (parts.size() != 5 || !parts[0].empty()) {
    throw std::invalid_argument(
        "expected $scrypt$ln=L,r=R,p=P$SALT$HASH or $pbkdf2-sha256$i=N$SALT$HASH (as written by "
        "`fqdngate passwd`)");
  }
  PasswordHash h;
  if (parts[1] == "scrypt") {
    h.scheme = HashScheme::scrypt;
    const auto params = split(parts[2], ',');
    const auto ln = params.size() == 3 ? number(params[0], "ln") : std::nullopt;
    const auto r = params.size() == 3 ? number(params[1], "r") : std::nullopt;
    const auto p = params.size() == 3 ? number(params[2], "p") : std::nullopt;
    if (!ln || !r || !p) throw std::invalid_argument("scrypt parameters must be ln=L,r=R,p=P");
    if (*ln < 10 || *ln > kMaxScryptLog2N || *r < 1 || *r > kMaxScryptR || *p < 1 ||
        *p > kMaxScryptP || scrypt_memory(*ln, *r, *p) > kMaxScryptMemory) {
      throw std::invalid_argument(
          "scrypt parameters out of range (ln 10-20, r 1-32, p 1-16, at "
          "most 256 MiB)");
    }
    h.scrypt_log2_n = *ln;
    h.scrypt_r = *r;
    h.scrypt_p = *p;
  } else {
    h.scheme = HashScheme::pbkdf2_sha256;
    const auto i = number(parts[2], "i");
    if (!i || *i < kMinPbkdf2Iterations || *i > kMaxPbkdf2Iterations) {
      throw std::invalid_argument("pbkdf2-sha256 needs i=N with N from 10000 to 10000000");
    }
    h.pbkdf2_iterations = *i;
  }
  auto salt = unbase64(parts[3]);
  auto key = unbase64(parts[4]);
  if (!salt || salt->size() < 8) throw std::invalid_argument("salt must be base64, 8+ bytes");
  if (!key || key->size() < 16 || key->size() > 64) {
    throw std::invalid_argument("hash must be base64, 16-64 bytes");
  }
  h.salt = std::move(*salt);
  h.key = std::move(*key);
  return h;
}

std::vector<std::uint8_t> derive(const PasswordHash& h, std::string_view password,
                                 std::size_t length) {
  std::vector<std::uint8_t> out(length);
  int ok = 0;
  if (h.scheme == HashScheme::scrypt) {
    ok = EVP_PBE_scrypt(password.data(), password.size(), h.salt.data(), h.salt.size(),
                        std::uint64_t{1} << h.scrypt_log2_n, h.scrypt_r, h.scrypt_p,
                        scrypt_memory(h.scrypt_log2_n, h.scrypt_r, h.scrypt_p) + 1024 * 1024,
                        out.data(), out.size());
  } else {
    ok = PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), h.salt.data(),
                           static_cast<int>(h.salt.size()), static_cast<int>(h.pbkdf2_iterations),
                           EVP_sha256(), static_cast<int>(out.size()), out.data());
  }
  if (ok != 1) throw std::runtime_error("password hashing failed (OpenSSL)");
  return out;
}

}  // namespace

std::optional<std::string> invalid_user_name(std::string_view user) {
  if (user.empty()) return "a user name cannot be empty";
  if (user.size() > kMaxUserBytes) return "a user name has at most 64 bytes";
  for (char c : user) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ':') return "a user name cannot contain ':'";
    if (u <= 0x20 || u >= 0x7f) return "a user name is visible ASCII only (no spaces)";
  }
  return std::nullopt;
}

Credentials Credentials::parse(std::string_view text) {
  Credentials out;
  int line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      throw CredentialsError(line_number, "expected NAME:HASH");
    }
    const std::string_view user = line.substr(0, colon);
    if (const auto why = invalid_user_name(user)) {
      throw CredentialsError(line_number, "bad user name: " + *why);
    }
    PasswordHash hash;
    try {
      hash = parse_hash(line.substr(colon + 1));
    } catch (const std::invalid_argument& e) {
      throw CredentialsError(line_number, "user " + std::string(user) + ": " + e.what());
    }
    if (!out.users_.emplace(std::string(user), std::move(hash)).second) {
      throw CredentialsError(line_number, "user " + std::string(user) + " is listed twice");
    }
  }
  return out;
}

const PasswordHash* Credentials::find(std::string_view user) const {
  const auto it = users_.find(std::string(user));
  return it == users_.end() ? nullptr : &it->second;
}

std::string make_credentials_line(std::string_view user, std::string_view password,
                                  HashScheme scheme) {
  PasswordHash h;
  h.scheme = scheme;
  h.salt.resize(kSaltBytes);
  if (RAND_bytes(h.salt.data(), static_cast<int>(h.salt.size())) != 1) {
    throw std::runtime_error("no random bytes for a salt (OpenSSL)");
  }
  h.key = derive(h, password, kKeyBytes);
  std::string params = scheme == HashScheme::scrypt
                           ? "$scrypt$ln=" + std::to_string(h.scrypt_log2_n) +
                                 ",r=" + std::to_string(h.scrypt_r) +
                                 ",p=" + std::to_string(h.scrypt_p)
                           : "$pbkdf2-sha256$i=" + std::to_string(h.pbkdf2_iterations);
  return std::string(user) + ":" + params + "$" + base64(h.salt) + "$" + base64(h.key);
}

bool verify_password(const PasswordHash& hash, std::string_view password) {
  const auto key = derive(hash, password, hash.key.size());
  return CRYPTO_memcmp(key.data(), hash.key.data(), key.size()) == 0;
}

void burn_password_check(std::string_view password) {
  static const PasswordHash decoy = [] {
    PasswordHash h;
    h.salt.assign(kSaltBytes, 0x5a);
    h.key.assign(kKeyBytes, 0);
    return h;
  }();
  (void)verify_password(decoy, password);
}

}  // namespace fqdngate::policy
