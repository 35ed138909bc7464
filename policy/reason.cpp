#include "policy/reason.hpp"

namespace fqdngate {

std::string_view reason_name(Reason r) noexcept {
  switch (r) {
    case Reason::allowlisted:
      return "allowlisted";
    case Reason::denylisted:
      return "denylisted";
    case Reason::not_allowlisted:
      return "not_allowlisted";
    case Reason::port_not_allowed:
      return "port_not_allowed";
    case Reason::ip_literal:
      return "ip_literal";
    case Reason::not_in_scope:
      return "not_in_scope";
    case Reason::tls_handshake_failed:
      return "tls_handshake_failed";
    case Reason::authenticated:
      return "authenticated";
    case Reason::auth_required:
      return "auth_required";
    case Reason::auth_failed:
      return "auth_failed";
    case Reason::auth_busy:
      return "auth_busy";
    case Reason::client_not_allowed:
      return "client_not_allowed";
    case Reason::too_many_connections:
      return "too_many_connections";
    case Reason::ech_not_allowed:
      return "ech_not_allowed";
    case Reason::bad_request:
      return "bad_request";
    case Reason::method_not_allowed:
      return "method_not_allowed";
    case Reason::header_timeout:
      return "header_timeout";
    case Reason::header_too_large:
      return "header_too_large";
    case Reason::private_address:
      return "private_address";
    case Reason::dns_failure:
      return "dns_failure";
    case Reason::dns_timeout:
      return "dns_timeout";
    case Reason::upstream_refused:
      return "upstream_refused";
    case Reason::upstream_unreachable:
      return "upstream_unreachable";
    case Reason::upstream_timeout:
      return "upstream_timeout";
    case Reason::sni_mismatch:
      return "sni_mismatch";
    case Reason::no_sni:
      return "no_sni";
    case Reason::not_tls:
      return "not_tls";
    case Reason::client_hello_malformed:
      return "client_hello_malformed";
    case Reason::client_hello_too_large:
      return "client_hello_too_large";
    case Reason::client_hello_timeout:
      return "client_hello_timeout";
    case Reason::closed:
      return "closed";
    case Reason::idle_timeout:
      return "idle_timeout";
    case Reason::client_reset:
      return "client_reset";
    case Reason::upstream_reset:
      return "upstream_reset";
    case Reason::shutdown:
      return "shutdown";
    case Reason::internal_error:
      return "internal_error";
  }
  return "internal_error";
}

}  // namespace fqdngate
