// prefect.server_url (a self-hosted PREFECT_API_URL) -> the one host and port it reaches.
// Contract: pure; accepts http:// and https:// URLs with a host name or IP literal
// ("[v6]" bracketed) and an optional port; path, query and fragment are ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fqdngate::policy {

struct ServerUrl {
  std::string host;        // normalized name or canonical IP literal
  std::uint16_t port = 0;  // explicit, or 443 for https / 80 for http
  bool tls = true;         // false for http:// (plain ws:// through CONNECT)
};

// On failure returns nullopt and, if `why` is set, a short reason.
std::optional<ServerUrl> parse_server_url(std::string_view url, std::string* why = nullptr);

}  // namespace fqdngate::policy
