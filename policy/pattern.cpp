#include "policy/pattern.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "policy/hostname.hpp"

namespace fqdngate::policy {
namespace {

void set(std::string* why, std::string_view text) {
  if (why != nullptr) *why = std::string(text);
}

}  // namespace

std::size_t canonical_ip(std::string_view text, char* out) noexcept {
  // inet_pton needs a terminated string; longer inputs cannot be an address anyway.
  char in[kCanonicalIpBufferSize];
  if (text.empty() || text.size() >= sizeof in) return 0;
  std::memcpy(in, text.data(), text.size());
  in[text.size()] = '\0';
  unsigned char bytes[16];
  const int family = text.find(':') == std::string_view::npos ? AF_INET : AF_INET6;
  if (::inet_pton(family, in, bytes) != 1) return 0;
  if (::inet_ntop(family, bytes, out, kCanonicalIpBufferSize) == nullptr) return 0;
  return std::strlen(out);
}

std::optional<Pattern> parse_pattern(std::string_view text, std::string* why) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
    if (!is_ip_literal(text)) {
      set(why, "brackets only enclose an IPv6 address");
      return std::nullopt;
    }
  }
  if (text.find('/') != std::string_view::npos) {
    set(why, "address ranges (CIDR) are not supported: name one address or host");
    return std::nullopt;
  }
  if (is_ip_literal(text)) {
    char buf[kCanonicalIpBufferSize];
    const std::size_t n = canonical_ip(text, buf);
    if (n == 0) {
      set(why, "not a valid IP address");
      return std::nullopt;
    }
    return Pattern{std::string(buf, n), PatternKind::ip};
  }
  if (text == "*") {
    set(why, "\"*\" would match every host; list the names instead");
    return std::nullopt;
  }
  const bool wildcard = text.starts_with("*.");
  const std::string_view name = wildcard ? text.substr(2) : text;
  if (name.find('*') != std::string_view::npos) {
    set(why, "'*' is only allowed as a whole leading label, as in \"*.example.com\"");
    return std::nullopt;
  }
  std::string reason;
  auto normalized = normalize_hostname(name, &reason);
  if (!normalized) {
    set(why, "not a valid host name (" + reason + ")");
    return std::nullopt;
  }
  // A numeric top label is never a DNS name; it is a mistyped address such as "10.0.0.300".
  const std::string_view top = std::string_view(*normalized).substr(normalized->rfind('.') + 1);
  if (std::all_of(top.begin(), top.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    set(why, "not a valid IP address nor a host name (numeric last label)");
    return std::nullopt;
  }
  if (!wildcard) return Pattern{std::move(*normalized), PatternKind::name};
  if (normalized->find('.') == std::string::npos) {
    set(why, "\"*." + *normalized + "\" is too broad: the suffix needs at least two labels");
    return std::nullopt;
  }
  return Pattern{"*." + *normalized, PatternKind::wildcard};
}

}  // namespace fqdngate::policy
