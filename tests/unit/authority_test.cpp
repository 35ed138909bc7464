#include "proxy/authority.hpp"

#include <catch2/catch.hpp>

using namespace fqdngate;

TEST_CASE("CONNECT targets are normalized", "[authority]") {
  struct Case {
    const char* target;
    const char* host;
    std::uint16_t port;
    bool is_ip;
  };
  const Case cases[] = {
      {"api.prefect.cloud:443", "api.prefect.cloud", 443, false},
      {"API.Prefect.Cloud.:443", "api.prefect.cloud", 443, false},
      {"xn--bcher-kva.example:8443", "xn--bcher-kva.example", 8443, false},
      {"123.example:443", "123.example", 443, false},  // numeric labels are fine but the last
      {"0x7f.example:443", "0x7f.example", 443, false},
      {"127.0.0.1:1", "127.0.0.1", 1, true},
      {"[::1]:65535", "::1", 65535, true},
      {"[2001:DB8:0:0::1]:443", "2001:db8::1", 443, true},
      {"[::ffff:127.0.0.1]:443", "::ffff:127.0.0.1", 443, true},
  };
  for (const auto& c : cases) {
    INFO(c.target);
    std::string why;
    const auto a = parse_connect_authority(c.target, &why);
    REQUIRE(a);
    CHECK(a->host == c.host);
    CHECK(a->port == c.port);
    CHECK(a->is_ip == c.is_ip);
  }
}

TEST_CASE("bad CONNECT targets are refused with a reason", "[authority]") {
  const char* bad[] = {
      "api.prefect.cloud",           // no port
      "api.prefect.cloud:",          // empty port
      "api.prefect.cloud:0",         // port 0
      "api.prefect.cloud:65536",     // too large
      "api.prefect.cloud:+443",      // sign
      "api.prefect.cloud: 443",      // space
      "api.prefect.cloud:44a",       // not digits
      "api.prefect.cloud:0443443",   // too many digits
      "user@api.prefect.cloud:443",  // userinfo
      "api%2eprefect.cloud:443",     // percent-escape
      "api.prefect.cloud/x:443",     // path
      "api.prefect.cloud?:443",      // query
      ":443",                        // empty host
      "a..b:443",                    // empty label
      "-a.b:443",                    // leading hyphen
      "a_b.example:443",             // underscore
      "::1:443",                     // unbracketed IPv6
      "[example.com]:443",           // brackets around a name
      "[::1%eth0]:443",              // zone id
      "[::1]443",                    // no colon after bracket
      "[::1:443",                    // unclosed bracket
      // Hosts that browsers and inet_aton read as IPv4 but that are not dotted quads.
      "127.1:443",
      "2130706433:443",
      "0x7f000001:443",
      "0x7f.0.0.1:443",
      "1.2.3.256:443",
      "127.0.0.1.:443",
      "example.0x1:443",
  };
  for (const char* target : bad) {
    INFO(target);
    std::string why;
    CHECK_FALSE(parse_connect_authority(target, &why));
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("Host header values with or without a port", "[authority]") {
  CHECK(host_of_host_header("api.prefect.cloud") == "api.prefect.cloud");
  CHECK(host_of_host_header("API.prefect.cloud:443") == "api.prefect.cloud");
  CHECK(host_of_host_header("[::1]:443") == "::1");
  CHECK(host_of_host_header("[::1]") == "::1");
  CHECK_FALSE(host_of_host_header("api.prefect.cloud:99999"));
  CHECK_FALSE(host_of_host_header("a@b"));
  CHECK_FALSE(host_of_host_header(""));
  CHECK_FALSE(host_of_host_header("127.1"));
}
