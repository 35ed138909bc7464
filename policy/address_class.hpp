// Classification of resolved upstream addresses, so a rule reaches only the ranges it may.
// Contract: pure; IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96) and NAT64 (64:ff9b::/96)
// IPv6 addresses are classified by the IPv4 address they embed.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <string_view>

namespace fqdngate::policy {

enum class AddressClass {
  global,       // public unicast: the only class reachable without `private: true`
  loopback,     // 127/8, ::1
  private_use,  // RFC 1918, fc00::/7 (ULA)
  link_local,   // 169.254/16, fe80::/10
  metadata,     // cloud instance metadata: 169.254.169.254, fd00:ec2::254, 100.100.100.200
  cgnat,        // 100.64/10
  multicast,    // 224/4, ff00::/8
  unspecified,  // 0.0.0.0/8, ::
  reserved,     // 240/4, 255.255.255.255, other special-purpose ranges (fec0::/10, ...)
};

AddressClass classify(const boost::asio::ip::address& a) noexcept;
std::string_view class_name(AddressClass c) noexcept;

}  // namespace fqdngate::policy
