#include "policy/hostname.hpp"

#include <boost/asio/ip/address.hpp>

namespace fqdngate::policy {

namespace {

constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxName = 253;

bool fail(std::string* why, const char* reason) {
  if (why != nullptr) *why = reason;
  return false;
}

bool is_ldh(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

// Checks one lower-cased label.
bool valid_label(std::string_view label, std::string* why) {
  if (label.empty()) return fail(why, "empty label");
  if (label.size() > kMaxLabel) return fail(why, "label longer than 63 octets");
  if (label.front() == '-' || label.back() == '-') {
    return fail(why, "label starts or ends with '-'");
  }
  for (char c : label) {
    if (!is_ldh(c)) return fail(why, "character outside letters, digits and '-'");
  }
  return true;
}

}  // namespace

std::optional<std::string> normalize_hostname(std::string_view name, std::string* why) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) {
    fail(why, "empty name");
    return std::nullopt;
  }
  if (name.size() > kMaxName) {
    fail(why, "name longer than 253 octets");
    return std::nullopt;
  }
  std::string out(name);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      fail(why, "non-ASCII name: write internationalized names in A-label form (xn--...)");
      return std::nullopt;
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  std::string_view rest = out;
  for (;;) {
    const auto dot = rest.find('.');
    if (!valid_label(rest.substr(0, dot), why)) return std::nullopt;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return out;
}

bool is_ip_literal(std::string_view text) {
  if (text.empty() || text.find('%') != std::string_view::npos) return false;  // no zone ids
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(text), ec);
  return !ec;
}

}  // namespace fqdngate::policy
