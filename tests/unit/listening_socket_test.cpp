// open_listening_socket on real loopback sockets: accepted connections carry TCP_NODELAY without
// a setsockopt of their own (the session no longer sets it), workers share a port, and an
// address that cannot be bound is an error naming it.
#include "proxy/listening_socket.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

namespace asio = boost::asio;
using asio::ip::tcp;
using fqdngate::open_listening_socket;

namespace {

const tcp::endpoint kAnyLoopbackPort(asio::ip::make_address("127.0.0.1"), 0);

}  // namespace

TEST_CASE("accepted connections have TCP_NODELAY from the listening socket", "[listen]") {
  asio::io_context io;
  auto acceptor = open_listening_socket(io, kAnyLoopbackPort);
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket accepted(io);
  // The acceptor is non-blocking; the connection is in its queue once connect() returned.
  boost::system::error_code ec;
  acceptor.accept(accepted, ec);
  REQUIRE_FALSE(ec);
  tcp::no_delay option;
  accepted.get_option(option);
  CHECK(option.value());
}

TEST_CASE("every worker opens its own socket on the same port", "[listen]") {
  asio::io_context io;
  auto first = open_listening_socket(io, kAnyLoopbackPort);
  auto second = open_listening_socket(io, first.local_endpoint());
  CHECK(second.local_endpoint() == first.local_endpoint());
}

TEST_CASE("an address that cannot be bound is an error naming it", "[listen]") {
  asio::io_context io;
  // 192.0.2.0/24 (TEST-NET-1) is never assigned to this machine: bind() fails.
  const tcp::endpoint unassigned(asio::ip::make_address("192.0.2.1"), 8080);
  try {
    open_listening_socket(io, unassigned);
    FAIL("listening on an unassigned address succeeded");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("192.0.2.1:8080") != std::string::npos);
  }
}
