#include <catch2/catch.hpp>

#include <string>

#include "proxy/proxy_authorization.hpp"

using fqdngate::parse_proxy_authorization;

namespace {

std::string why_not(std::string_view value) {
  std::string why;
  const auto c = parse_proxy_authorization(value, &why);
  return c ? "parsed" : why;
}

}  // namespace

TEST_CASE("Basic credentials decode to user and password", "[auth]") {
  std::string why;
  std::string hint;
  // "alice:s3cr:et" - the password may itself contain ':'.
  const auto c = parse_proxy_authorization("Basic YWxpY2U6czNjcjpldA==", &why, &hint);
  REQUIRE(c);
  CHECK(c->user == "alice");
  CHECK(c->password == "s3cr:et");
  CHECK(hint == "alice");
  // The scheme is case-insensitive; extra spaces before the token are tolerated.
  CHECK(parse_proxy_authorization("basic   YWxpY2U6czNjcjpldA==", &why));
  // Empty password: parsed here, refused by the check.
  const auto empty = parse_proxy_authorization("Basic Ym9iOg==", &why);
  REQUIRE(empty);
  CHECK(empty->password.empty());
}

TEST_CASE("malformed Proxy-Authorization values are refused with a reason", "[auth]") {
  CHECK(why_not("Bearer abc") == "only the Basic scheme is supported");
  CHECK(why_not("Digest username=\"a\"") == "only the Basic scheme is supported");
  CHECK(why_not("Basic") == "expected \"Basic <base64 user:password>\"");
  CHECK(why_not("Basic !!!!") == "credentials are not valid base64");
  CHECK(why_not("Basic YWxpY2U") == "credentials are not valid base64");   // unpadded
  CHECK(why_not("Basic YW=jZQ==") == "credentials are not valid base64");  // data after '='
  CHECK(why_not("Basic YWxpY2U=") == "decoded credentials have no ':' (user:password)");
  CHECK(why_not("Basic OnB3") == "bad user name: a user name cannot be empty");  // ":pw"
  CHECK(why_not("Basic " + std::string(2000, 'A')) == "credentials too long");
}
