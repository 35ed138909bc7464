#include "proxy/responses.hpp"

namespace fqdngate {

int http_status_for(Reason r) noexcept {
  switch (r) {
    case Reason::denylisted:
    case Reason::not_allowlisted:
    case Reason::port_not_allowed:
    case Reason::ip_literal:
    case Reason::not_in_scope:
    case Reason::private_address:
    case Reason::client_not_allowed:
      return 403;
    case Reason::bad_request:
      return 400;
    case Reason::method_not_allowed:
      return 405;
    case Reason::auth_required:
    case Reason::auth_failed:
      return 407;
    case Reason::header_timeout:
      return 408;
    case Reason::header_too_large:
      return 431;
    case Reason::dns_failure:
    case Reason::upstream_refused:
    case Reason::upstream_unreachable:
      return 502;
    case Reason::dns_timeout:
    case Reason::upstream_timeout:
      return 504;
    case Reason::shutdown:
    case Reason::too_many_connections:
    case Reason::auth_busy:
      return 503;
    default:
      return 500;
  }
}

namespace {

std::string_view status_text(int status) noexcept {
  switch (status) {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 405:
      return "Method Not Allowed";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Internal Server Error";
  }
}

void append_line(std::string& out, std::string_view text) {
  // Replies echo client-controlled names; never let them inject header or body lines.
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  out.push_back('\n');
}

}  // namespace

std::string error_response(Reason r, std::string_view summary, std::string_view detail,
                           std::string_view auth_realm) {
  const int status = http_status_for(r);
  // The reason code is in the body too: many clients show the body but not the headers.
  std::string body = "fqdngate: ";
  append_line(body, std::string(summary) + " (" + std::string(reason_name(r)) + ")");
  if (!detail.empty()) append_line(body, detail);

  std::string out;
  out.reserve(200 + body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += status_text(status);
  out += "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ";
  out += std::to_string(body.size());
  out += "\r\nConnection: close\r\n";
  if (status == 405) out += "Allow: CONNECT\r\n";
  if (status == 407) {
    // The realm comes from the policy file, which the loader restricts to safe characters.
    out += "Proxy-Authenticate: Basic realm=\"";
    out += auth_realm;
    out += "\", charset=\"UTF-8\"\r\n";
  }
  out += "X-Fqdngate-Reason: ";
  out += reason_name(r);
  out += "\r\n\r\n";
  out += body;
  return out;
}

}  // namespace fqdngate
