// What the client is told: one table from Reason to HTTP status, and the fixed reply texts.
// Contract: every error reply is a complete HTTP/1.1 response head + plain-text body, built so
// that it can be sent in one write (python-socks parses the status line of its first read).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "policy/reason.hpp"

namespace fqdngate {

inline constexpr std::string_view kConnectEstablished =
    "HTTP/1.1 200 Connection established\r\n\r\n";

// HTTP status for a reason that is answered before the tunnel is established.
int http_status_for(Reason r) noexcept;

// "HTTP/1.1 403 Forbidden\r\n...X-Fqdngate-Reason: <code>\r\n\r\n"
// "fqdngate: <summary> (<code>)\n<detail>\n".
// `summary` and `detail` are single lines (control bytes are replaced). A 407 also carries
// `Proxy-Authenticate: Basic realm="<auth_realm>", charset="UTF-8"`.
std::string error_response(Reason r, std::string_view summary, std::string_view detail,
                           std::string_view auth_realm = {});

// A fatal TLS alert record (access_denied), sent before closing a tunnel whose ClientHello was
// refused, so the client reports a handshake failure instead of a bare reset.
inline constexpr std::array<std::uint8_t, 7> kTlsAccessDeniedAlert = {0x15, 0x03, 0x03, 0x00,
                                                                      0x02, 0x02, 0x31};

}  // namespace fqdngate
