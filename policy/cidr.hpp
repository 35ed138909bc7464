// Address ranges for client admission ("10.0.0.0/8", "fd00::/8", or a single address).
// Contract: pure. An IPv4-mapped IPv6 client address (::ffff:a.b.c.d) matches IPv4 ranges.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace fqdngate::policy {

struct Cidr {
  boost::asio::ip::address network;  // host bits cleared
  unsigned prefix = 0;

  bool contains(const boost::asio::ip::address& a) const noexcept;
  std::string str() const;  // "10.0.0.0/8"
};

// On failure returns nullopt and sets `why`. Host bits set in the network ("10.0.0.1/8") are
// refused: such an entry is usually a typo for a narrower range.
std::optional<Cidr> parse_cidr(std::string_view text, std::string* why);

}  // namespace fqdngate::policy
