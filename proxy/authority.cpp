#include "proxy/authority.hpp"

#include <boost/asio/ip/address.hpp>

#include "policy/hostname.hpp"

namespace fqdngate {

namespace {

std::optional<Authority> fail(std::string* why, std::string reason) {
  if (why != nullptr) *why = std::move(reason);
  return std::nullopt;
}

// Decimal digits only: no sign, no spaces, no leading '+', 1..65535.
std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// Splits "host:port" / "[v6]:port" / (port optional) "host" / "[v6]". Sets `bracketed`.
bool split_host_port(std::string_view text, std::string_view& host, std::string_view& port,
                     bool& has_port, bool& bracketed) {
  bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return false;
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    has_port = !rest.empty();
    if (has_port && rest.front() != ':') return false;
    port = has_port ? rest.substr(1) : std::string_view{};
    return true;
  }
  const auto colon = text.rfind(':');
  has_port = colon != std::string_view::npos;
  host = has_port ? text.substr(0, colon) : text;
  port = has_port ? text.substr(colon + 1) : std::string_view{};
  return true;
}

// WHATWG URL hosts whose last label is a number ("127.1", "0x7f000001", "10.0.0.1.") are IPv4
// to browsers and inet_aton, but plain names to the policy matcher: refuse the disagreement.
bool ends_in_number(std::string_view name) noexcept {
  const auto dot = name.rfind('.');
  auto last = dot == std::string_view::npos ? name : name.substr(dot + 1);
  if (last.starts_with("0x")) {
    last.remove_prefix(2);
    return last.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  }
  return last.find_first_not_of("0123456789") == std::string_view::npos;
}

// A host (no port): canonical IP literal or normalized name.
std::optional<Authority> parse_host(std::string_view host, bool bracketed, std::string* why) {
  if (host.empty()) return fail(why, "empty host");
  boost::system::error_code ec;
  if (bracketed) {
    if (host.find('%') != std::string_view::npos) return fail(why, "IPv6 zone ids are not allowed");
    const auto v6 = boost::asio::ip::make_address_v6(std::string(host), ec);
    if (ec) return fail(why, "brackets must hold an IPv6 address");
    return Authority{v6.to_string(), 0, true};
  }
  if (host.find(':') != std::string_view::npos) {
    return fail(why, "an IPv6 address must be written in brackets");
  }
  const auto v4 = boost::asio::ip::make_address_v4(std::string(host), ec);
  if (!ec) return Authority{v4.to_string(), 0, true};
  std::string reason;
  auto name = policy::normalize_hostname(host, &reason);
  if (!name) return fail(why, "bad host name: " + reason);
  if (ends_in_number(*name)) {
    return fail(why, "not an IPv4 address in dotted-quad form (a.b.c.d) nor a host name");
  }
  return Authority{std::move(*name), 0, false};
}

}  // namespace

std::optional<Authority> parse_connect_authority(std::string_view target, std::string* why) {
  if (target.find_first_of("@/?#%\\") != std::string_view::npos) {
    return fail(why, "CONNECT takes host:port only (no user info, path or escapes)");
  }
  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  bool bracketed = false;
  if (!split_host_port(target, host, port_text, has_port, bracketed)) {
    return fail(why, "expected host:port or [ipv6]:port");
  }
  if (!has_port) return fail(why, "the port is missing: expected host:port");
  const auto port = parse_port(port_text);
  if (!port) return fail(why, "the port must be a number from 1 to 65535");
  auto authority = parse_host(host, bracketed, why);
  if (!authority) return std::nullopt;
  authority->port = *port;
  return authority;
}

std::optional<std::string> host_of_host_header(std::string_view value) {
  if (value.find_first_of("@/?#%\\") != std::string_view::npos) return std::nullopt;
  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  bool bracketed = false;
  if (!split_host_port(value, host, port_text, has_port, bracketed)) return std::nullopt;
  if (has_port && !parse_port(port_text)) return std::nullopt;
  auto authority = parse_host(host, bracketed, nullptr);
  if (!authority) return std::nullopt;
  return std::move(authority->host);
}

}  // namespace fqdngate
