#include "proxy/socket_write.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>

#include "proxy/errno_code.hpp"

namespace fqdngate {

namespace asio = boost::asio;
using asio::ip::tcp;

asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> write_all(
    tcp::socket& socket, asio::const_buffer buffer) {
  // MSG_DONTWAIT: non-blocking whatever mode Asio has put the descriptor in so far.
  ssize_t sent = 0;
  do {
    sent =
        ::send(socket.native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  std::size_t done = 0;
  if (sent < 0) {
    const auto ec = errno_code();
    if (ec != asio::error::would_block && ec != asio::error::try_again)
      co_return std::tuple{ec, std::size_t{0}};
  } else {
    done = static_cast<std::size_t>(sent);
    if (done == buffer.size()) co_return std::tuple{boost::system::error_code{}, done};
  }
  auto rest = asio::async_write(socket, buffer + done, asio::as_tuple(asio::use_awaitable));
  auto [ec, n] = co_await std::move(rest);
  co_return std::tuple{ec, done + n};
}

}  // namespace fqdngate
