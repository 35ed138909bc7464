#include "proxy/connector.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <tuple>

#include "proxy/errno_code.hpp"

namespace fqdngate {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// The outcome of a connect that is no longer in progress.
boost::system::error_code connect_outcome(tcp::socket& socket) {
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_ERROR, &error, &length) != 0)
    return errno_code();
  return boost::system::error_code(error, boost::system::system_category());
}

// Starts a non-blocking connect. Returns true when it has already ended, with `ec` its outcome:
// to a peer on the same host (loopback) the SYN-ACK is processed before connect() returns, and
// finishing here saves a trip through the reactor (an epoll_ctl, an epoll_wait and, under load,
// a turn of the worker's queue) for every tunnel. False: the handshake is under way (any remote
// peer); wait for writability. Where the attempt stands is asked with a second connect(), which
// answers in one call what poll() and SO_ERROR answer in two: 0 (EISCONN elsewhere) once the
// handshake is over, EALREADY while it is under way, else why it failed. A remote connect pays
// that one call, as it paid the zero-timeout poll() Asio's own connect made after the wake-up.
bool connect_at_once(tcp::socket& socket, const tcp::endpoint& endpoint,
                     boost::system::error_code& ec) {
  socket.open(endpoint.protocol(), ec);
  if (!ec) socket.native_non_blocking(true, ec);
  if (ec) return true;
  const int fd = socket.native_handle();
  const auto* address = endpoint.data();
  const auto length = static_cast<socklen_t>(endpoint.size());
  if (::connect(fd, address, length) == 0) return true;
  if (errno != EINPROGRESS && errno != EINTR) {
    ec = errno_code();
    return true;
  }
  int again = 0;
  do {
    again = ::connect(fd, address, length);
  } while (again != 0 && errno == EINTR);
  if (again == 0 || errno == EISCONN) return true;
  if (errno == EALREADY || errno == EINPROGRESS) return false;
  ec = errno_code();
  return true;
}

}  // namespace

asio::awaitable<ConnectResult> connect_first(tcp::socket& socket,
                                             std::span<const asio::ip::address> addresses,
                                             std::uint16_t port, const bool& cancelled) {
  ConnectResult result;
  if (addresses.empty()) result.detail = "no address to connect to";
  for (const auto& address : addresses) {
    boost::system::error_code ignored;
    socket.close(ignored);
    const tcp::endpoint endpoint(address, port);
    boost::system::error_code ec;
    if (!connect_at_once(socket, endpoint, ec)) {
      auto token = asio::as_tuple(asio::use_awaitable);
      auto wait = socket.async_wait(tcp::socket::wait_write, token);
      std::tie(ec) = co_await std::move(wait);
      if (!ec) ec = connect_outcome(socket);
    }
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
