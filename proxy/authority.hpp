// CONNECT request-target ("authority-form") parsing.
// Contract: pure. Accepts "name:port", "a.b.c.d:port" and "[v6]:port"; the port is required
// (1..65535, decimal digits only). The host is normalized with policy::normalize_hostname, IP
// literals are returned in canonical text form (IPv6 without brackets). A name whose last label
// is a number ("127.1", "0x7f000001") is refused: other parsers read it as IPv4.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fqdngate {

struct Authority {
  std::string host;  // normalized name or canonical IP literal
  std::uint16_t port = 0;
  bool is_ip = false;
};

// On failure returns nullopt and sets `why` to a reason fit for a 400 body.
std::optional<Authority> parse_connect_authority(std::string_view target, std::string* why);

// Host header value "h" or "h:port" (or "[v6]:port"); returns the normalized host part.
std::optional<std::string> host_of_host_header(std::string_view value);

}  // namespace fqdngate
