// Reason codes: the stable vocabulary of every decision, HTTP answer and audit line.
// Contract: the names returned by reason_name() are part of the audit-log interface
// documented in README.md; never rename one, only add.
#pragma once

#include <cstdint>
#include <string_view>

namespace fqdngate {

enum class Reason : std::uint8_t {
  // Policy verdicts.
  allowlisted,       // an allow rule matched name and port
  denylisted,        // a deny rule matched
  not_allowlisted,   // no allow rule matches the name (default deny)
  port_not_allowed,  // an allow rule matches the name but not the port
  ip_literal,        // CONNECT to an IP address that no rule names
  not_in_scope,      // rules match name and port, but their users:/clients: exclude this client
  // Admission.
  client_not_allowed,    // source address outside clients.allow
  too_many_connections,  // limits.max_connections or max_connections_per_client reached
  tls_handshake_failed,  // TLS listener: handshake failed (no or untrusted client certificate, ...)
  // Authentication.
  authenticated,  // Basic credentials verified (an allow verdict of the auth stage)
  auth_required,  // auth: is configured and the request has no Proxy-Authorization
  auth_failed,    // wrong or malformed credentials
  auth_busy,      // too many password checks in progress; retry
  // Request.
  bad_request,         // malformed request head or CONNECT target
  method_not_allowed,  // anything but CONNECT
  header_timeout,      // request head not complete within limits.header_timeout_s
  header_too_large,    // request head over limits.max_header_bytes
  // Resolution and upstream connection.
  private_address,       // every resolved address is in a range the rule may not reach
  dns_failure,           // NXDOMAIN, no addresses, or resolver error
  dns_timeout,           // no answer within limits.dns_timeout_s
  upstream_refused,      // every checked address refused the connection
  upstream_unreachable,  // network or host unreachable
  upstream_timeout,      // no connection within limits.connect_timeout_s
  // Tunnel inspection.
  sni_mismatch,            // ClientHello SNI differs from the CONNECT host
  no_sni,                  // ClientHello without server_name
  not_tls,                 // first bytes after CONNECT are not a TLS ClientHello
  client_hello_malformed,  // TLS record / handshake framing is invalid
  client_hello_too_large,  // ClientHello over the size cap
  client_hello_timeout,    // ClientHello not complete within limits.client_hello_timeout_s
  ech_not_allowed,         // ClientHello offers Encrypted Client Hello; the rule does not allow it
  // Tunnel end (close lines).
  closed,        // both sides finished normally
  idle_timeout,  // no bytes either way within limits.idle_timeout_s
  client_reset,  // client side failed (reset, error)
  upstream_reset,
  shutdown,       // fqdngate is stopping
  internal_error  // a bug; logged with detail
};

std::string_view reason_name(Reason r) noexcept;

}  // namespace fqdngate
