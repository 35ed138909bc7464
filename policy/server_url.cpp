#include "policy/server_url.hpp"

#include <charconv>

#include "policy/pattern.hpp"

namespace fqdngate::policy {
namespace {

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const char c = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] + 32) : text[i];
    if (c != prefix[i]) return false;
  }
  return true;
}

std::nullopt_t fail(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
  return std::nullopt;
}

}  // namespace

std::optional<ServerUrl> parse_server_url(std::string_view url, std::string* why) {
  ServerUrl out;
  std::string_view rest;
  if (starts_with_nocase(url, "https://")) {
    rest = url.substr(8);
    out.port = 443;
  } else if (starts_with_nocase(url, "http://")) {
    rest = url.substr(7);
    out.port = 80;
    out.tls = false;
  } else {
    return fail(why, "the URL must start with http:// or https://");
  }
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    return fail(why, "user information (user@) is not supported in the URL");
  }
  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail(why, "unterminated '[' in the host");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return fail(why, "junk after ']'");
    has_port = !after.empty();
    if (has_port) port = after.substr(1);
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    has_port = true;
  }
  if (host.empty()) return fail(why, "the URL has no host");
  if (has_port) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
      return fail(why, "the port must be a number 1-65535");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  std::string reason;
  auto pattern = parse_pattern(host, &reason);
  if (!pattern || pattern->kind == PatternKind::wildcard) {
    return fail(why,
                "bad host \"" + std::string(host) + "\"" + (reason.empty() ? "" : ": " + reason));
  }
  out.host = std::move(pattern->text);
  return out;
}

}  // namespace fqdngate::policy
