#include "proxy/proxy_authorization.hpp"

#include <cstdint>

#include "policy/credentials.hpp"

namespace fqdngate {
namespace {

constexpr std::size_t kMaxToken = 1024;  // user (64) and any sane password, base64-encoded

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict base64 with padding: what every client sends for Basic.
std::optional<std::string> decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + static_cast<std::size_t>(k)];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad != 0) return std::nullopt;  // data after padding
      v[k] = sextet(c);
      if (v[k] < 0) return std::nullopt;
    }
    const std::uint32_t bits =
        (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
        (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    out.push_back(static_cast<char>(bits >> 16));
    if (pad < 2) out.push_back(static_cast<char>((bits >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(bits & 0xff));
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::optional<BasicCredentials> parse_proxy_authorization(std::string_view value, std::string* why,
                                                          std::string* user_hint) {
  const auto fail = [&](const char* reason) -> std::optional<BasicCredentials> {
    if (why != nullptr) *why = reason;
    return std::nullopt;
  };
  const auto space = value.find(' ');
  if (space == std::string_view::npos) return fail("expected \"Basic <base64 user:password>\"");
  if (!iequals(value.substr(0, space), "Basic")) {
    return fail("only the Basic scheme is supported");
  }
  std::string_view token = value.substr(space + 1);
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  if (token.size() > kMaxToken) return fail("credentials too long");
  const auto plain = decode(token);
  if (!plain) return fail("credentials are not valid base64");
  const auto colon = plain->find(':');
  if (colon == std::string::npos) return fail("decoded credentials have no ':' (user:password)");
  BasicCredentials c{plain->substr(0, colon), plain->substr(colon + 1)};
  if (const auto bad = policy::invalid_user_name(c.user)) {
    if (why != nullptr) *why = "bad user name: " + *bad;
    return std::nullopt;
  }
  if (user_hint != nullptr) *user_hint = c.user;
  return c;
}

}  // namespace fqdngate
