// Parses a `Proxy-Authorization: Basic <base64(user:password)>` header value (RFC 7617).
// Contract: pure. On failure returns nullopt and sets `why` to a reason fit for the client;
// `user_hint` gets the attempted user name when one could be decoded (for the audit line).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fqdngate {

struct BasicCredentials {
  std::string user;
  std::string password;
};

std::optional<BasicCredentials> parse_proxy_authorization(std::string_view value, std::string* why,
                                                          std::string* user_hint = nullptr);

}  // namespace fqdngate
