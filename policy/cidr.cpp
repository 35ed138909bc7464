#include "policy/cidr.hpp"

#include <charconv>

namespace fqdngate::policy {

namespace ip = boost::asio::ip;

namespace {

// The address as 16 bytes; IPv4 in its mapped form, so one comparison serves both families.
ip::address_v6::bytes_type as_v6_bytes(const ip::address& a) {
  if (a.is_v4()) return ip::make_address_v6(ip::v4_mapped, a.to_v4()).to_bytes();
  return a.to_v6().to_bytes();
}

unsigned effective_prefix(const Cidr& c) {
  return c.network.is_v4() ? c.prefix + 96 : c.prefix;
}

bool prefix_equal(const ip::address_v6::bytes_type& a, const ip::address_v6::bytes_type& b,
                  unsigned bits) {
  for (unsigned i = 0; i < 16 && bits > 0; ++i) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - take));
    if ((a[i] & mask) != (b[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

}  // namespace

bool Cidr::contains(const ip::address& a) const noexcept {
  // IPv4 ranges also match IPv4-mapped IPv6 clients (a dual-stack listener sees those).
  if (network.is_v4() && a.is_v6() && !a.to_v6().is_v4_mapped()) return false;
  if (network.is_v6() && a.is_v4() && !network.to_v6().is_v4_mapped()) return false;
  return prefix_equal(as_v6_bytes(network), as_v6_bytes(a), effective_prefix(*this));
}

std::string Cidr::str() const {
  return network.to_string() + "/" + std::to_string(prefix);
}

std::optional<Cidr> parse_cidr(std::string_view text, std::string* why) {
  auto fail = [why](std::string msg) -> std::optional<Cidr> {
    if (why != nullptr) *why = std::move(msg);
    return std::nullopt;
  };
  const auto slash = text.find('/');
  boost::system::error_code ec;
  const auto address = ip::make_address(std::string(text.substr(0, slash)), ec);
  if (ec) return fail("not an IP address");
  const unsigned max = address.is_v4() ? 32 : 128;
  unsigned prefix = max;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    const auto [end, perr] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || perr != std::errc() || end != digits.data() + digits.size() ||
        prefix > max) {
      return fail("prefix length must be 0-" + std::to_string(max));
    }
  }
  Cidr c{address, prefix};
  auto bytes = as_v6_bytes(address);
  const auto zeroed = [&] {
    auto b = bytes;
    unsigned keep = effective_prefix(c);
    for (unsigned i = 0; i < 16; ++i) {
      const unsigned take = keep >= 8 ? 8 : keep;
      b[i] &= static_cast<std::uint8_t>(take == 0 ? 0 : 0xff << (8 - take));
      keep -= take;
    }
    return b;
  }();
  if (zeroed != bytes)
    return fail("host bits are set; did you mean " +
                (address.is_v4()
                     ? ip::address(ip::make_address_v4(ip::v4_mapped, ip::address_v6(zeroed)))
                     : ip::address(ip::address_v6(zeroed)))
                    .to_string() +
                "/" + std::to_string(prefix) + "?");
  return c;
}

}  // namespace fqdngate::policy
