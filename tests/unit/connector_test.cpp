// Upstream connects on real loopback sockets: the handshake that completes inside connect(), the
// wait for one that does not (a listener whose accept queue is full drops the SYN), falling
// through refused addresses, and the caller's deadline ending a wait.
#include "proxy/connector.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace fqdngate;
using namespace std::chrono_literals;

namespace {

asio::ip::address loopback(const char* text) {
  return asio::ip::make_address(text);
}

// Starts connect_first on `io`; `result` is set when it ends, then `then` runs. `addresses` must
// outlive the attempt, which keeps a span of it.
void start_connect(
    asio::io_context& io, tcp::socket& socket, const std::vector<asio::ip::address>& addresses,
    std::uint16_t port, const bool& cancelled, std::optional<ConnectResult>& result,
    std::function<void()> then = [] {}) {
  auto attempt = connect_first(socket, addresses, port, cancelled);
  asio::co_spawn(io, std::move(attempt), [&result, then](std::exception_ptr e, ConnectResult r) {
    if (e) std::rethrow_exception(e);
    result = std::move(r);
    then();
  });
}

// Runs connect_first to completion on `io` (bounded: a hung attempt fails the test).
ConnectResult run_connect(asio::io_context& io, tcp::socket& socket,
                          std::vector<asio::ip::address> addresses, std::uint16_t port,
                          const bool& cancelled) {
  std::optional<ConnectResult> result;
  start_connect(io, socket, addresses, port, cancelled, result);
  io.run_for(10s);
  REQUIRE(result.has_value());
  return *result;
}

// A listener that never accepts on its own, with its one-slot accept queue filled, so the
// kernel drops the next SYN (tcp_abort_on_overflow=0, the Linux default) and a connect to it
// stays in SYN_SENT until the SYN is retransmitted after about a second.
struct FullListener {
  tcp::acceptor acceptor;
  std::vector<int> fillers;
  bool full = false;

  explicit FullListener(asio::io_context& io) : acceptor(io) {
    acceptor.open(tcp::v4());
    acceptor.bind(tcp::endpoint(loopback("127.0.0.1"), 0));
    acceptor.listen(0);
    const auto to = acceptor.local_endpoint();
    for (int i = 0; i < 8 && !full; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      REQUIRE(fd >= 0);
      fillers.push_back(fd);
      ::connect(fd, to.data(), static_cast<socklen_t>(to.size()));
      pollfd p{fd, POLLOUT, 0};
      full = ::poll(&p, 1, 500) == 0;  // no handshake within half a second: SYN dropped
    }
  }
  ~FullListener() {
    for (int fd : fillers)
      ::close(fd);
  }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
  // False (with a warning) where the queue could not be filled: the test has nothing to test.
  bool dropping_syns() const {
    if (!full) WARN("could not fill the accept queue here; the waiting path is not exercised");
    return full;
  }
};

}  // namespace

TEST_CASE("a loopback connect succeeds and leaves a connected, non-blocking, no-delay socket") {
  asio::io_context io;
  tcp::acceptor listener(io, tcp::endpoint(loopback("127.0.0.1"), 0));
  tcp::socket socket(io);
  const bool cancelled = false;
  const auto r =
      run_connect(io, socket, {loopback("127.0.0.1")}, listener.local_endpoint().port(), cancelled);
  REQUIRE(r.ok);
  CHECK(r.endpoint == listener.local_endpoint());
  CHECK(socket.remote_endpoint() == listener.local_endpoint());
  // The relay splices on this descriptor; already non-blocking, it needs no ioctl of its own.
  CHECK(socket.native_non_blocking());
  CHECK((::fcntl(socket.native_handle(), F_GETFL) & O_NONBLOCK) != 0);
  int nodelay = 0;
  socklen_t length = sizeof nodelay;
  ::getsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NODELAY, &nodelay, &length);
  CHECK(nodelay == 1);

  tcp::socket peer(io);
  listener.accept(peer);
  const std::string sent = "ping";
  asio::write(socket, asio::buffer(sent));
  std::string got(sent.size(), '\0');
  asio::read(peer, asio::buffer(got));
  CHECK(got == sent);
}

TEST_CASE("a refused address is passed over for the next one") {
  asio::io_context io;
  // Bound to 127.0.0.3 only: the same port on 127.0.0.2 has no listener and refuses.
  tcp::acceptor listener(io, tcp::endpoint(loopback("127.0.0.3"), 0));
  const auto port = listener.local_endpoint().port();
  tcp::socket socket(io);
  const bool cancelled = false;
  const auto r =
      run_connect(io, socket, {loopback("127.0.0.2"), loopback("127.0.0.3")}, port, cancelled);
  REQUIRE(r.ok);
  CHECK(r.endpoint == tcp::endpoint(loopback("127.0.0.3"), port));
  CHECK(socket.remote_endpoint() == r.endpoint);
}

TEST_CASE("when every address refuses, the reason is upstream_refused and names the last one") {
  asio::io_context io;
  tcp::acceptor listener(io, tcp::endpoint(loopback("127.0.0.3"), 0));
  const auto port = listener.local_endpoint().port();
  listener.close();  // nothing listens on that port any more
  tcp::socket socket(io);
  const bool cancelled = false;
  const auto r =
      run_connect(io, socket, {loopback("127.0.0.2"), loopback("127.0.0.3")}, port, cancelled);
  CHECK_FALSE(r.ok);
  CHECK(r.failure == Reason::upstream_refused);
  CHECK(r.detail.rfind("127.0.0.3: ", 0) == 0);
  CHECK_FALSE(socket.is_open());
}

TEST_CASE("a connect whose SYN is dropped waits for the handshake instead of failing") {
  asio::io_context io;
  FullListener blackhole(io);
  if (!blackhole.dropping_syns()) return;
  tcp::socket socket(io);
  const bool cancelled = false;
  std::optional<ConnectResult> result;
  const std::vector addresses{loopback("127.0.0.1")};
  // Cancelling the acceptor ends the accept loop below, and so io.run_for().
  start_connect(io, socket, addresses, blackhole.port(), cancelled, result,
                [&] { blackhole.acceptor.cancel(); });
  // The first SYN has been dropped once the attempt is waiting. From now on the listener takes
  // every connection (the filler still in SYN_SENT too), so the retransmitted SYN, about a
  // second later, is answered.
  io.run_for(100ms);
  REQUIRE_FALSE(result.has_value());
  std::vector<tcp::socket> taken;
  std::function<void()> take_next = [&] {
    blackhole.acceptor.async_accept([&](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      taken.push_back(std::move(s));
      if (taken.size() < 8) take_next();
    });
  };
  take_next();
  io.run_for(10s);
  REQUIRE(result.has_value());
  CHECK(result->ok);
  CHECK(socket.remote_endpoint() == blackhole.acceptor.local_endpoint());
}

TEST_CASE("the caller's deadline ends a waiting connect as upstream_timeout") {
  asio::io_context io;
  FullListener blackhole(io);
  if (!blackhole.dropping_syns()) return;
  tcp::socket socket(io);
  bool cancelled = false;
  // What the session's deadline does: set the flag, cancel the socket's operations.
  asio::steady_timer deadline(io, 200ms);
  deadline.async_wait([&](boost::system::error_code) {
    cancelled = true;
    socket.cancel();
  });
  const auto started = std::chrono::steady_clock::now();
  const auto r = run_connect(io, socket, {loopback("127.0.0.1")}, blackhole.port(), cancelled);
  CHECK_FALSE(r.ok);
  CHECK(r.failure == Reason::upstream_timeout);
  CHECK(r.detail == "no connection to 127.0.0.1 within the timeout");
  // Ended by the deadline, not by the kernel giving up on the SYN (minutes).
  CHECK(std::chrono::steady_clock::now() - started < 5s);
}
