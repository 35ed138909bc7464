// The listening socket of one worker for one listen address.
// Contract: open_listening_socket() returns an acceptor bound and listening on `endpoint`, with
// SO_REUSEPORT (so every worker opens its own on the same port) and non-blocking (accept_loop
// drains the backlog with non-blocking accepts). Connections it accepts already have
// TCP_NODELAY: Linux copies the option from the listening socket, which saves a setsockopt()
// per tunnel. Throws std::runtime_error naming the address when it cannot listen.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace fqdngate {

boost::asio::ip::tcp::acceptor open_listening_socket(
    boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace fqdngate
