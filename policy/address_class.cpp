#include "policy/address_class.hpp"

#include <array>
#include <cstdint>

namespace fqdngate::policy {
namespace {

using V4 = std::uint32_t;

constexpr V4 v4(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (V4{a} << 24) | (V4{b} << 16) | (V4{c} << 8) | V4{d};
}

constexpr bool in_v4(V4 addr, V4 net, unsigned prefix) {
  const V4 mask = prefix == 0 ? 0 : ~V4{0} << (32 - prefix);
  return (addr & mask) == (net & mask);
}

AddressClass classify_v4(V4 a) noexcept {
  // Metadata first: it sits inside ranges (link-local, CGNAT) that a rule could otherwise reach.
  if (a == v4(169, 254, 169, 254) || a == v4(100, 100, 100, 200)) return AddressClass::metadata;
  if (in_v4(a, v4(0, 0, 0, 0), 8)) return AddressClass::unspecified;
  if (in_v4(a, v4(127, 0, 0, 0), 8)) return AddressClass::loopback;
  if (in_v4(a, v4(10, 0, 0, 0), 8) || in_v4(a, v4(172, 16, 0, 0), 12) ||
      in_v4(a, v4(192, 168, 0, 0), 16)) {
    return AddressClass::private_use;
  }
  if (in_v4(a, v4(169, 254, 0, 0), 16)) return AddressClass::link_local;
  if (in_v4(a, v4(100, 64, 0, 0), 10)) return AddressClass::cgnat;
  if (in_v4(a, v4(224, 0, 0, 0), 4)) return AddressClass::multicast;
  struct Net {
    V4 net;
    unsigned prefix;
  };
  // RFC 6890 special-purpose blocks that are never a public service.
  static constexpr std::array<Net, 7> kReserved{{
      {v4(192, 0, 0, 0), 24},     // IETF protocol assignments
      {v4(192, 0, 2, 0), 24},     // TEST-NET-1
      {v4(198, 18, 0, 0), 15},    // benchmarking
      {v4(198, 51, 100, 0), 24},  // TEST-NET-2
      {v4(203, 0, 113, 0), 24},   // TEST-NET-3
      {v4(240, 0, 0, 0), 4},      // future use, includes 255.255.255.255
      {v4(192, 88, 99, 0), 24},   // deprecated 6to4 relay anycast
  }};
  for (const auto& r : kReserved) {
    if (in_v4(a, r.net, r.prefix)) return AddressClass::reserved;
  }
  return AddressClass::global;
}

using V6 = boost::asio::ip::address_v6::bytes_type;

bool in_v6(const V6& a, std::initializer_list<std::uint8_t> prefix_bytes, unsigned prefix_bits) {
  unsigned i = 0;
  for (const std::uint8_t b : prefix_bytes) {
    const unsigned bits = prefix_bits >= 8 * (i + 1) ? 8 : prefix_bits - 8 * i;
    if (bits == 0) break;
    const std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((a[i] & mask) != (b & mask)) return false;
    ++i;
  }
  return true;
}

V4 v4_at(const V6& a, unsigned offset) {
  return (V4{a[offset]} << 24) | (V4{a[offset + 1]} << 16) | (V4{a[offset + 2]} << 8) |
         V4{a[offset + 3]};
}

bool zero_until(const V6& a, unsigned end) {
  for (unsigned i = 0; i < end; ++i) {
    if (a[i] != 0) return false;
  }
  return true;
}

AddressClass classify_v6(const V6& a) noexcept {
  if (zero_until(a, 16)) return AddressClass::unspecified;
  if (zero_until(a, 15) && a[15] == 1) return AddressClass::loopback;
  // Embedded IPv4: the packet ends up at the IPv4 address, so that address is what counts.
  if (zero_until(a, 10) && a[10] == 0xff && a[11] == 0xff) return classify_v4(v4_at(a, 12));
  if (zero_until(a, 12)) return classify_v4(v4_at(a, 12));  // IPv4-compatible (deprecated)
  if (in_v6(a, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}, 96)) {
    return classify_v4(v4_at(a, 12));  // NAT64 well-known prefix
  }
  if (in_v6(a, {0x20, 0x02}, 16)) return classify_v4(v4_at(a, 2));  // 6to4: 2002:V4ADDR::/48
  if (in_v6(a, {0x20, 0x01, 0x00, 0x00}, 32)) {
    return classify_v4(v4_at(a, 4));  // Teredo: the server IPv4 follows the prefix
  }
  // fd00:ec2::254 (AWS IMDS over IPv6) lies inside the ULA range: check it first.
  static constexpr V6 kAwsMetadata{0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0,    0,
                                   0,    0,    0,    0,    0, 0, 0x02, 0x54};
  if (a == kAwsMetadata) return AddressClass::metadata;
  if (in_v6(a, {0xfc}, 7)) return AddressClass::private_use;
  if (in_v6(a, {0xfe, 0x80}, 10)) return AddressClass::link_local;
  if (in_v6(a, {0xff}, 8)) return AddressClass::multicast;
  if (in_v6(a, {0xfe, 0xc0}, 10)) return AddressClass::reserved;                    // site-local
  if (in_v6(a, {0x20, 0x01, 0x0d, 0xb8}, 32)) return AddressClass::reserved;        // documentation
  if (in_v6(a, {0x01, 0x00, 0, 0, 0, 0, 0, 0}, 64)) return AddressClass::reserved;  // discard
  return AddressClass::global;
}

}  // namespace

AddressClass classify(const boost::asio::ip::address& a) noexcept {
  if (a.is_v4()) return classify_v4(a.to_v4().to_uint());
  return classify_v6(a.to_v6().to_bytes());
}

std::string_view class_name(AddressClass c) noexcept {
  switch (c) {
    case AddressClass::global:
      return "global";
    case AddressClass::loopback:
      return "loopback";
    case AddressClass::private_use:
      return "private";
    case AddressClass::link_local:
      return "link_local";
    case AddressClass::metadata:
      return "metadata";
    case AddressClass::cgnat:
      return "cgnat";
    case AddressClass::multicast:
      return "multicast";
    case AddressClass::unspecified:
      return "unspecified";
    case AddressClass::reserved:
      return "reserved";
  }
  return "reserved";
}

}  // namespace fqdngate::policy
