// write_all on real loopback sockets: a reply that fits goes out whole, a payload larger than the
// socket buffers arrives whole and in order once the reader catches up, and a reset peer is an
// error code, never a SIGPIPE.
#include "proxy/socket_write.hpp"
#include "loopback_pair.hpp"

#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace fqdngate;
using namespace std::chrono_literals;
using fqdngate::test::connected_pair;
using fqdngate::test::random_bytes;
using fqdngate::test::read_to_eof;

namespace {

using WriteResult = std::tuple<boost::system::error_code, std::size_t>;

// Runs write_all to completion on `io` (bounded: a write that never ends fails the test).
WriteResult run_write(asio::io_context& io, tcp::socket& socket, asio::const_buffer buffer) {
  std::optional<WriteResult> result;
  auto write = write_all(socket, buffer);
  asio::co_spawn(io, std::move(write), [&result](std::exception_ptr e, WriteResult r) {
    if (e) std::rethrow_exception(e);
    result = r;
  });
  io.run_for(10s);
  REQUIRE(result.has_value());
  return *result;
}

}  // namespace

TEST_CASE("a reply that fits the socket buffer goes out whole", "[socket_write]") {
  asio::io_context test_io;
  asio::io_context io;
  auto pair = connected_pair(test_io, io);
  constexpr std::string_view reply = "HTTP/1.1 200 Connection established\r\n\r\n";

  const auto [ec, n] = run_write(io, pair.far, asio::buffer(reply));
  CHECK_FALSE(ec);
  CHECK(n == reply.size());
  // Asio switches a descriptor to non-blocking for its first asynchronous operation on it: still
  // blocking, the socket was written without one (the send() in the caller's handler).
  CHECK_FALSE(pair.far.native_non_blocking());
  std::string got(reply.size(), '\0');
  asio::read(pair.near, asio::buffer(got));
  CHECK(got == reply);
}

TEST_CASE("a payload larger than the socket buffers arrives whole and in order", "[socket_write]") {
  asio::io_context test_io;
  asio::io_context io;
  auto pair = connected_pair(test_io, io);
  // Small fixed buffers on both ends: the first send() takes only part of the payload, and the
  // rest must wait for writability while the reader drains.
  const int small = 16 * 1024;
  setsockopt(pair.far.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  setsockopt(pair.near.native_handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  const auto payload = random_bytes(4 << 20, 7);

  std::vector<char> got;
  std::thread reader([&] { got = read_to_eof(pair.near); });
  const auto [ec, n] = run_write(io, pair.far, asio::buffer(payload));
  pair.far.shutdown(tcp::socket::shutdown_send);
  reader.join();
  CHECK_FALSE(ec);
  CHECK(n == payload.size());
  CHECK(pair.far.native_non_blocking());  // the rest went through Asio's asynchronous write
  CHECK(got.size() == payload.size());
  CHECK(got == payload);
}

TEST_CASE("a write to a peer that reset is an error, not a SIGPIPE", "[socket_write]") {
  asio::io_context test_io;
  asio::io_context io;
  auto pair = connected_pair(test_io, io);
  // SO_LINGER 0: close() sends a reset, which loopback delivers before close() returns.
  const linger reset{1, 0};
  setsockopt(pair.near.native_handle(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  pair.near.close();

  const std::vector<char> payload(1000, 'x');
  const auto [ec, n] = run_write(io, pair.far, asio::buffer(payload));
  CHECK((ec == asio::error::connection_reset || ec == asio::error::broken_pipe));
  CHECK(n == 0);
}
