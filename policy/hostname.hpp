// Host-name normalization shared by the CONNECT parser, the SNI check, the matcher and the loader.
// Contract: pure functions, no allocation beyond the returned string, no locale.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fqdngate::policy {

// Lower-cases ASCII, strips one trailing dot and checks the result is a DNS host name:
// labels of 1..63 octets from [a-z0-9-] not starting or ending with '-', at most 253 octets,
// at least one label. IDN names must be in A-label form ("xn--..."); any octet >= 0x80 is refused.
// On failure returns nullopt and, if `why` is set, a short reason ("empty label", ...).
std::optional<std::string> normalize_hostname(std::string_view name, std::string* why = nullptr);

// True when `text` is an IPv4 dotted quad or an IPv6 address (no brackets).
bool is_ip_literal(std::string_view text);

}  // namespace fqdngate::policy
