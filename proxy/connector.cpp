#include "proxy/connector.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace fqdngate {

namespace asio = boost::asio;
using asio::ip::tcp;

asio::awaitable<ConnectResult> connect_first(tcp::socket& socket,
                                             std::span<const asio::ip::address> addresses,
                                             std::uint16_t port, const bool& cancelled) {
  ConnectResult result;
  result.detail = "no address to connect to";
  for (const auto& address : addresses) {
    boost::system::error_code ignored;
    socket.close(ignored);
    const tcp::endpoint endpoint(address, port);
    auto token = asio::as_tuple(asio::use_awaitable);
    auto [ec] = co_await socket.async_connect(endpoint, token);
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ignored);
      result.ok = true;
      result.endpoint = endpoint;
      co_return result;
    }
    if (cancelled || ec == asio::error::operation_aborted) {
      result.failure = Reason::upstream_timeout;
      result.detail = "no connection to " + endpoint.address().to_string() + " within the timeout";
      co_return result;
    }
    result.detail = endpoint.address().to_string() + ": " + ec.message();
    if (ec == asio::error::connection_refused) {
      result.failure = Reason::upstream_refused;
    } else if (ec == asio::error::timed_out) {
      result.failure = Reason::upstream_timeout;
    } else {
      result.failure = Reason::upstream_unreachable;
    }
  }
  boost::system::error_code ignored;
  socket.close(ignored);
  co_return result;
}

}  // namespace fqdngate
