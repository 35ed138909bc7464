#include "policy/cidr.hpp"

#include <catch2/catch.hpp>

#include "policy/loader.hpp"

using namespace fqdngate::policy;
namespace ip = boost::asio::ip;

namespace {

Cidr cidr(const char* text) {
  std::string why;
  auto c = parse_cidr(text, &why);
  INFO(why);
  REQUIRE(c);
  return *c;
}

bool in(const char* range, const char* address) {
  return cidr(range).contains(ip::make_address(address));
}

}  // namespace

TEST_CASE("client networks contain exactly their addresses", "[cidr]") {
  CHECK(in("10.0.0.0/8", "10.255.1.2"));
  CHECK_FALSE(in("10.0.0.0/8", "11.0.0.1"));
  CHECK(in("192.168.1.0/25", "192.168.1.127"));
  CHECK_FALSE(in("192.168.1.0/25", "192.168.1.128"));
  CHECK(in("192.0.2.7", "192.0.2.7"));
  CHECK_FALSE(in("192.0.2.7", "192.0.2.8"));
  CHECK(in("0.0.0.0/0", "203.0.113.9"));
  CHECK_FALSE(in("0.0.0.0/0", "2001:db8::1"));
  CHECK(in("fd00::/8", "fd12:3456::1"));
  CHECK_FALSE(in("fd00::/8", "fe80::1"));
  CHECK(in("::1", "::1"));
  CHECK_FALSE(in("::1", "127.0.0.1"));
  // A dual-stack listener reports IPv4 clients as mapped IPv6 addresses.
  CHECK(in("10.0.0.0/8", "::ffff:10.1.2.3"));
  CHECK_FALSE(in("10.0.0.0/8", "::ffff:11.1.2.3"));
  CHECK_FALSE(in("10.0.0.0/8", "::a01:203"));  // IPv4-compatible is not mapped
}

TEST_CASE("malformed networks are refused with a reason", "[cidr]") {
  std::string why;
  CHECK_FALSE(parse_cidr("10.0.0.0/33", &why));
  CHECK(why == "prefix length must be 0-32");
  CHECK_FALSE(parse_cidr("fd00::/129", &why));
  CHECK(why == "prefix length must be 0-128");
  CHECK_FALSE(parse_cidr("10.0.0.0/", &why));
  CHECK_FALSE(parse_cidr("10.0.0.0/8x", &why));
  CHECK_FALSE(parse_cidr("example.com/8", &why));
  CHECK(why == "not an IP address");
  CHECK_FALSE(parse_cidr("10.0.0.1/8", &why));
  CHECK(why == "host bits are set; did you mean 10.0.0.0/8?");
  CHECK_FALSE(parse_cidr("fd00::1/8", &why));
  CHECK(why == "host bits are set; did you mean fd00::/8?");
  CHECK(cidr("10.0.0.0/8").str() == "10.0.0.0/8");
}

TEST_CASE("clients.allow: loopback only by default, explicit list replaces it", "[cidr]") {
  const auto defaults = load_policy_text("", "p.yaml");
  CHECK(defaults->admits(ip::make_address("127.0.0.1")));
  CHECK(defaults->admits(ip::make_address("127.9.9.9")));
  CHECK(defaults->admits(ip::make_address("::1")));
  CHECK_FALSE(defaults->admits(ip::make_address("10.0.0.1")));
  CHECK_FALSE(defaults->settings().clients_allow_explicit);

  const auto listed =
      load_policy_file(std::string(FQDNGATE_FIXTURES) + "/policies/clients_allow.yaml");
  CHECK(listed->settings().clients_allow_explicit);
  CHECK(listed->admits(ip::make_address("10.20.30.40")));
  CHECK(listed->admits(ip::make_address("fd00::5")));
  CHECK(listed->admits(ip::make_address("192.0.2.7")));
  CHECK_FALSE(listed->admits(ip::make_address("127.0.0.1")));
  CHECK_FALSE(listed->admits(ip::make_address("192.0.2.8")));
}
