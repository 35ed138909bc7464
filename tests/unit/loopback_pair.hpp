// Test helpers for relay tests on real loopback sockets.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <random>
#include <vector>

namespace fqdngate::test {

// A connected pair of loopback TCP sockets: `near` for the test, `far` for the code under test.
struct Pair {
  boost::asio::ip::tcp::socket near;
  boost::asio::ip::tcp::socket far;
};

inline Pair connected_pair(boost::asio::io_context& test_io, boost::asio::io_context& relay_io) {
  using boost::asio::ip::tcp;
  tcp::acceptor acceptor(test_io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket near(test_io);
  near.connect(acceptor.local_endpoint());
  tcp::socket far(relay_io);
  acceptor.accept(far);
  // Blocking test reads and writes must fail rather than hang if the code misbehaves.
  timeval tv{10, 0};
  setsockopt(near.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(near.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return {std::move(near), std::move(far)};
}

inline std::vector<char> random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::vector<char> out(n);
  for (auto& c : out)
    c = static_cast<char>(gen());
  return out;
}

inline std::vector<char> read_to_eof(boost::asio::ip::tcp::socket& s) {
  std::vector<char> out;
  std::array<char, 65536> buf;
  for (;;) {
    boost::system::error_code ec;
    const auto n = s.read_some(boost::asio::buffer(buf), ec);
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    if (ec == boost::asio::error::eof) return out;
    if (ec) throw boost::system::system_error(ec);
  }
}

}  // namespace fqdngate::test
