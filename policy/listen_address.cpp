#include "policy/listen_address.hpp"

#include <charconv>

namespace fqdngate {

namespace asio = boost::asio;

std::optional<asio::ip::tcp::endpoint> parse_listen_address(std::string_view text,
                                                            std::string* why) {
  auto fail = [why](std::string msg) -> std::optional<asio::ip::tcp::endpoint> {
    if (why != nullptr) *why = std::move(msg);
    return std::nullopt;
  };
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail("expected \"[ipv6]:port\"");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("expected \"ip:port\"");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return fail("an IPv6 address must be written in brackets: \"[ipv6]:port\"");
    }
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return fail("expected a port number 0-65535, got \"" + std::string(port) + "\"");
  }
  boost::system::error_code aec;
  const auto address = asio::ip::make_address(std::string(host), aec);
  if (aec) return fail("expected an IP address, got \"" + std::string(host) + "\"");
  return asio::ip::tcp::endpoint(address, static_cast<unsigned short>(value));
}

std::string endpoint_text(const asio::ip::tcp::endpoint& e) {
  const auto a = e.address();
  if (a.is_v4()) {
    // Every tunnel formats its client and upstream: digits by hand cost a fraction of
    // inet_ntop and a second string.
    const auto bytes = a.to_v4().to_bytes();
    std::string out;  // short addresses stay in the string's inline buffer
    char digits[8];
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      if (i > 0) out += '.';
      out.append(digits, std::to_chars(digits, digits + sizeof digits, bytes[i]).ptr);
    }
    out += ':';
    out.append(digits, std::to_chars(digits, digits + sizeof digits, e.port()).ptr);
    return out;
  }
  std::string out(1, '[');
  out += a.to_string();
  out += "]:";
  out += std::to_string(e.port());
  return out;
}

}  // namespace fqdngate
