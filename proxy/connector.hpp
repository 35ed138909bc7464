// Upstream TCP connection to the first reachable address of a checked list.
// Contract: tries the addresses in order, one at a time; the caller bounds the whole attempt
// with its deadline (cancelling `socket` ends the attempt with status timeout). Only addresses
// the caller passed are ever dialled.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <span>
#include <string>

#include "policy/reason.hpp"

namespace fqdngate {

struct ConnectResult {
  bool ok = false;
  Reason failure = Reason::upstream_refused;  // when !ok
  std::string detail;                         // last error, for the reply and the audit line
  boost::asio::ip::tcp::endpoint endpoint;    // when ok
};

// `cancelled` is polled after each failed attempt: the session's deadline sets it.
boost::asio::awaitable<ConnectResult> connect_first(
    boost::asio::ip::tcp::socket& socket, std::span<const boost::asio::ip::address> addresses,
    std::uint16_t port, const bool& cancelled);

}  // namespace fqdngate
