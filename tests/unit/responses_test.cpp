#include "proxy/responses.hpp"

#include <catch2/catch.hpp>

using namespace fqdngate;

TEST_CASE("each refusal reason maps to the documented HTTP status", "[responses]") {
  CHECK(http_status_for(Reason::not_allowlisted) == 403);
  CHECK(http_status_for(Reason::denylisted) == 403);
  CHECK(http_status_for(Reason::port_not_allowed) == 403);
  CHECK(http_status_for(Reason::ip_literal) == 403);
  CHECK(http_status_for(Reason::private_address) == 403);
  CHECK(http_status_for(Reason::client_not_allowed) == 403);
  CHECK(http_status_for(Reason::too_many_connections) == 503);
  CHECK(http_status_for(Reason::bad_request) == 400);
  CHECK(http_status_for(Reason::method_not_allowed) == 405);
  CHECK(http_status_for(Reason::header_timeout) == 408);
  CHECK(http_status_for(Reason::header_too_large) == 431);
  CHECK(http_status_for(Reason::dns_failure) == 502);
  CHECK(http_status_for(Reason::upstream_refused) == 502);
  CHECK(http_status_for(Reason::upstream_unreachable) == 502);
  CHECK(http_status_for(Reason::dns_timeout) == 504);
  CHECK(http_status_for(Reason::upstream_timeout) == 504);
  CHECK(http_status_for(Reason::not_in_scope) == 403);
  CHECK(http_status_for(Reason::auth_required) == 407);
  CHECK(http_status_for(Reason::auth_failed) == 407);
  CHECK(http_status_for(Reason::auth_busy) == 503);
}

TEST_CASE("407 asks for Basic credentials in the policy's realm", "[responses]") {
  const auto reply =
      error_response(Reason::auth_required, "proxy authentication required", "", "corp egress");
  CHECK(reply.rfind("HTTP/1.1 407 Proxy Authentication Required\r\n", 0) == 0);
  CHECK(reply.find("\r\nProxy-Authenticate: Basic realm=\"corp egress\", charset=\"UTF-8\"\r\n") !=
        std::string::npos);
  CHECK(reply.find("X-Fqdngate-Reason: auth_required\r\n") != std::string::npos);
  // Other statuses never ask for credentials.
  CHECK(error_response(Reason::not_allowlisted, "x", "", "corp").find("Proxy-Authenticate") ==
        std::string::npos);
}

TEST_CASE("an error reply is a complete response with the reason in header and body",
          "[responses]") {
  const auto reply = error_response(Reason::not_allowlisted, "CONNECT example.com:443 denied",
                                    "rule: default deny");
  const std::string body =
      "fqdngate: CONNECT example.com:443 denied (not_allowlisted)\nrule: default deny\n";
  CHECK(reply ==
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
            std::to_string(body.size()) +
            "\r\nConnection: close\r\nX-Fqdngate-Reason: not_allowlisted\r\n\r\n" + body);
}

TEST_CASE("405 names the allowed method", "[responses]") {
  const auto reply = error_response(Reason::method_not_allowed, "method GET is not supported", "");
  CHECK(reply.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
  CHECK(reply.find("\r\nAllow: CONNECT\r\n") != std::string::npos);
}

TEST_CASE("client-controlled text cannot inject headers or lines", "[responses]") {
  const auto reply =
      error_response(Reason::bad_request, "bad target \"a\r\nSet-Cookie: x\"", "why\n\x01");
  const auto body_start = reply.find("\r\n\r\n");
  REQUIRE(body_start != std::string::npos);
  CHECK(reply.find("\r\nSet-Cookie") == std::string::npos);
  CHECK(reply.substr(body_start + 4) ==
        "fqdngate: bad target \"a??Set-Cookie: x\" (bad_request)\nwhy??\n");
}

TEST_CASE("the 200 and the TLS alert are the exact wire bytes", "[responses]") {
  CHECK(kConnectEstablished == "HTTP/1.1 200 Connection established\r\n\r\n");
  // record: alert(21), TLS 1.2, length 2; fatal(2), access_denied(49)
  CHECK(kTlsAccessDeniedAlert == std::array<std::uint8_t, 7>{21, 3, 3, 0, 2, 2, 49});
}
