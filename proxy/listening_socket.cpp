#include "proxy/listening_socket.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <stdexcept>
#include <string>

#include "policy/listen_address.hpp"

namespace fqdngate {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr int kBacklog = 4096;

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

}  // namespace

tcp::acceptor open_listening_socket(asio::io_context& io, const tcp::endpoint& endpoint) {
  tcp::acceptor acceptor(io);
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.set_option(reuse_port(true), ec);
  if (!ec) acceptor.set_option(tcp::no_delay(true), ec);  // inherited by accepted sockets
  if (!ec && endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(kBacklog, ec);
  if (!ec) acceptor.non_blocking(true, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + endpoint_text(endpoint) + ": " + ec.message());
  return acceptor;
}

}  // namespace fqdngate
