#include <catch2/catch.hpp>

#include "policy/address_class.hpp"

using fqdngate::policy::AddressClass;
using fqdngate::policy::class_name;
using fqdngate::policy::classify;

namespace {

std::string class_of(const char* text) {
  return std::string(class_name(classify(boost::asio::ip::make_address(text))));
}

}  // namespace

TEST_CASE("IPv4 ranges and their edges", "[address_class]") {
  struct Case {
    const char* address;
    const char* expected;
  };
  const Case cases[] = {
      {"8.8.8.8", "global"},
      {"1.1.1.1", "global"},
      {"0.0.0.0", "unspecified"},
      {"0.255.255.255", "unspecified"},
      {"1.0.0.0", "global"},
      {"126.255.255.255", "global"},
      {"127.0.0.0", "loopback"},
      {"127.0.0.1", "loopback"},
      {"127.255.255.255", "loopback"},
      {"128.0.0.0", "global"},
      {"9.255.255.255", "global"},
      {"10.0.0.0", "private"},
      {"10.255.255.255", "private"},
      {"11.0.0.0", "global"},
      {"172.15.255.255", "global"},
      {"172.16.0.0", "private"},
      {"172.31.255.255", "private"},
      {"172.32.0.0", "global"},
      {"192.167.255.255", "global"},
      {"192.168.0.0", "private"},
      {"192.168.255.255", "private"},
      {"192.169.0.0", "global"},
      {"169.253.255.255", "global"},
      {"169.254.0.0", "link_local"},
      {"169.254.169.253", "link_local"},
      {"169.254.169.254", "metadata"},
      {"169.254.169.255", "link_local"},
      {"169.254.255.255", "link_local"},
      {"169.255.0.0", "global"},
      {"100.63.255.255", "global"},
      {"100.64.0.0", "cgnat"},
      {"100.100.100.200", "metadata"},
      {"100.127.255.255", "cgnat"},
      {"100.128.0.0", "global"},
      {"223.255.255.255", "global"},
      {"224.0.0.0", "multicast"},
      {"239.255.255.255", "multicast"},
      {"240.0.0.0", "reserved"},
      {"255.255.255.254", "reserved"},
      {"255.255.255.255", "reserved"},
      {"192.0.0.0", "reserved"},
      {"192.0.0.255", "reserved"},
      {"192.0.1.0", "global"},
      {"192.0.2.1", "reserved"},
      {"192.0.3.0", "global"},
      {"198.17.255.255", "global"},
      {"198.18.0.0", "reserved"},
      {"198.19.255.255", "reserved"},
      {"198.20.0.0", "global"},
      {"198.51.100.7", "reserved"},
      {"203.0.113.200", "reserved"},
      {"203.0.114.0", "global"},
  };
  for (const auto& c : cases) {
    INFO(c.address);
    CHECK(class_of(c.address) == c.expected);
  }
}

TEST_CASE("IPv6 ranges and their edges", "[address_class]") {
  struct Case {
    const char* address;
    const char* expected;
  };
  const Case cases[] = {
      {"2606:4700::6810:85e5", "global"},
      {"::", "unspecified"},
      {"::1", "loopback"},
      {"fc00::", "private"},
      {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private"},
      {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "global"},
      {"fe00::", "global"},
      {"fd00:ec2::254", "metadata"},
      {"fd00:ec2::253", "private"},
      {"fe80::1", "link_local"},
      {"febf:ffff::1", "link_local"},
      {"fec0::1", "reserved"},
      {"feff:ffff::1", "reserved"},
      {"ff02::1", "multicast"},
      {"ff0e::1", "multicast"},
      {"2001:db8::1", "reserved"},
      {"2001:db9::1", "global"},
      {"100::1", "reserved"},
      {"100::ffff:ffff:ffff:ffff", "reserved"},
      {"100:0:0:1::", "global"},
  };
  for (const auto& c : cases) {
    INFO(c.address);
    CHECK(class_of(c.address) == c.expected);
  }
}

TEST_CASE("IPv6 forms embedding IPv4 take the class of the IPv4 address", "[address_class]") {
  struct Case {
    const char* address;
    const char* expected;
  };
  const Case cases[] = {
      // IPv4-mapped
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:10.1.2.3", "private"},
      {"::ffff:169.254.169.254", "metadata"},
      {"::ffff:8.8.8.8", "global"},
      // IPv4-compatible (deprecated)
      {"::10.0.0.1", "private"},
      {"::127.0.0.1", "loopback"},
      // NAT64 well-known prefix
      {"64:ff9b::a9fe:a9fe", "metadata"},
      {"64:ff9b::7f00:1", "loopback"},
      {"64:ff9b::808:808", "global"},
      {"64:ff9b:1::7f00:1", "global"},
      // 6to4: 2002:AABB:CCDD::/48 embeds AA.BB.CC.DD
      {"2002:a9fe:a9fe::1", "metadata"},
      {"2002:c0a8:0101::1", "private"},
      {"2002:0808:0808::1", "global"},
      // Teredo: the server IPv4 follows 2001:0000
      {"2001:0:7f00:1::1", "loopback"},
      {"2001:0:808:808::1", "global"},
  };
  for (const auto& c : cases) {
    INFO(c.address);
    CHECK(class_of(c.address) == c.expected);
  }
}

TEST_CASE("every class has its documented name", "[address_class]") {
  CHECK(class_name(AddressClass::global) == "global");
  CHECK(class_name(AddressClass::loopback) == "loopback");
  CHECK(class_name(AddressClass::private_use) == "private");
  CHECK(class_name(AddressClass::link_local) == "link_local");
  CHECK(class_name(AddressClass::metadata) == "metadata");
  CHECK(class_name(AddressClass::cgnat) == "cgnat");
  CHECK(class_name(AddressClass::multicast) == "multicast");
  CHECK(class_name(AddressClass::unspecified) == "unspecified");
  CHECK(class_name(AddressClass::reserved) == "reserved");
}
