// The relay on real loopback sockets: bytes arrive intact, and EOF on one side is passed on as a
// half-close while the other direction keeps flowing.
#include "proxy/relay.hpp"
#include "loopback_pair.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <future>
#include <new>
#include <random>
#include <thread>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace fqdngate;
using fqdngate::test::connected_pair;
using fqdngate::test::random_bytes;
using fqdngate::test::read_to_eof;

// The allocation-counting test replaces operator new and delete. Not under AddressSanitizer: it
// brings its own operator new family, and replacing part of it mixes the allocators.
#if !defined(__SANITIZE_ADDRESS__)
#define FQDNGATE_COUNT_ALLOCATIONS 1
// Counts operator new calls on threads that opt in (the relay's thread), so the test below can
// check that a busy tunnel allocates nothing per chunk. Not inlined: GCC would otherwise see
// malloc and free meet operator new and delete at call sites and warn of a mismatch.
namespace {
std::atomic<long> g_counted_allocations{0};
thread_local bool t_count_allocations = false;
}  // namespace

[[gnu::noinline]] void* operator new(std::size_t n) {
  if (t_count_allocations) g_counted_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#endif

namespace {

// A tunnel's two connections on loopback: the relay gets the far ends, on an io_context of its
// own; the test drives the near ends. The pools are declared first, so they outlive the relay's
// handlers.
struct Rig {
  explicit Rig(RelayMode mode = RelayMode::splice) { resources.mode = mode; }
  RelayResources resources;
  asio::io_context test_io;
  asio::io_context relay_io{1};
  fqdngate::test::Pair client = connected_pair(test_io, relay_io);
  fqdngate::test::Pair upstream = connected_pair(test_io, relay_io);
  RelayState state;

  asio::awaitable<void> relay() {
    return fqdngate::relay(client.far, upstream.far, state, resources);
  }
};

}  // namespace

TEST_CASE("relay carries 8 MiB each way and propagates half-close", "[relay]") {
  // Every path: splice through grown pipes, through the kernel's default pipes (no budget left),
  // and the buffered fallback. 8 MiB is many pipes or buffers full, so each direction also reads
  // on without waiting, and waits again once it has read its share for one wake-up.
  struct Path {
    const char* name;
    RelayMode mode;
    std::size_t large_pipe_budget;
  };
  const auto path = GENERATE(Path{"splice, grown pipes", RelayMode::splice, 1 << 24},
                             Path{"splice, default pipes", RelayMode::splice, 0},
                             Path{"buffered", RelayMode::buffered, 0});
  INFO(path.name);
  const auto mode = path.mode;
  Rig rig(mode);
  auto& [resources, test_io, relay_io, client, upstream, state] = rig;
  resources.pipes.set_large_budget(path.large_pipe_budget);
  std::promise<void> finished;
  auto done = finished.get_future();
  auto task = rig.relay();
  asio::co_spawn(relay_io, std::move(task), [&](std::exception_ptr e) {
    if (e)
      finished.set_exception(e);
    else
      finished.set_value();
  });
  std::thread runner([&] { relay_io.run(); });

  const auto up = random_bytes(8 << 20, 1);
  const auto down = random_bytes(8 << 20, 2);

  // The client sends everything and half-closes; the upstream must see all of it, then EOF,
  // while its own direction is still open.
  std::thread sender([&] {
    asio::write(client.near, asio::buffer(up));
    client.near.shutdown(tcp::socket::shutdown_send);
  });
  const auto got_up = read_to_eof(upstream.near);
  sender.join();
  CHECK(got_up == up);

  // After the client's half-close the reverse direction still delivers all of its bytes.
  asio::write(upstream.near, asio::buffer(down));
  upstream.near.shutdown(tcp::socket::shutdown_send);
  const auto got_down = read_to_eof(client.near);
  CHECK(got_down == down);

  REQUIRE(done.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  done.get();
  runner.join();
  CHECK(state.bytes_up == up.size());
  CHECK(state.bytes_down == down.size());
  CHECK(state.end == Reason::closed);
  // The first EOF (the client's) went on as a half-close, the second as a close: the socket it
  // went to is closed, the other one is left to the caller.
  CHECK(upstream.far.is_open());
  CHECK_FALSE(client.far.is_open());
  // The tunnel is over: what it borrowed is back in the pools, ready for the next one.
  if (mode == RelayMode::splice) {
    CHECK(resources.pipes.idle() >= 1);
    if (path.large_pipe_budget == 0) CHECK(resources.pipes.large_bytes() == 0);
  } else {
    CHECK(resources.buffers.idle() >= 1);
  }
}

TEST_CASE("a reset on one side ends both directions and is noted", "[relay]") {
  Rig rig;
  auto& [resources, test_io, relay_io, client, upstream, state] = rig;
  std::promise<void> finished;
  auto done = finished.get_future();
  auto task = rig.relay();
  asio::co_spawn(relay_io, std::move(task), [&](std::exception_ptr) { finished.set_value(); });
  std::thread runner([&] { relay_io.run(); });

  // An abortive close (RST) from the upstream, with the client idle.
  linger lg{1, 0};
  setsockopt(upstream.near.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  upstream.near.close();

  REQUIRE(done.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  runner.join();
  CHECK(state.end == Reason::closed);
  CHECK(state.note == "upstream reset the connection");
}

#if FQDNGATE_COUNT_ALLOCATIONS
TEST_CASE("a busy tunnel allocates nothing per relayed chunk", "[relay][alloc]") {
  const auto mode = GENERATE(RelayMode::splice, RelayMode::buffered);
  INFO((mode == RelayMode::splice ? "splice" : "buffered"));
  Rig rig(mode);
  auto& [resources, test_io, relay_io, client, upstream, state] = rig;
  auto task = rig.relay();
  asio::co_spawn(relay_io, std::move(task), asio::detached);
  asio::post(relay_io, [] { t_count_allocations = true; });
  std::thread runner([&] { relay_io.run(); });

  constexpr std::size_t kBlock = 16 * 1024;
  const std::vector<char> block(kBlock, 'x');
  // Sends `blocks` blocks client -> upstream and reads them all at the upstream end.
  const auto pass = [&](std::size_t blocks) {
    std::thread reader([&] {
      std::array<char, 65536> buf;
      std::size_t got = 0;
      while (got < blocks * kBlock)
        got += upstream.near.read_some(asio::buffer(buf));
    });
    for (std::size_t i = 0; i < blocks; ++i)
      asio::write(client.near, asio::buffer(block));
    reader.join();
  };
  pass(16);  // warm-up: pools and Asio's frame caches fill
  const long before = g_counted_allocations.load();
  pass(256);  // 4 MiB: at least 64 relay chunks
  const long during = g_counted_allocations.load() - before;
  CHECK(during <= 2);

  client.near.shutdown(tcp::socket::shutdown_send);
  upstream.near.shutdown(tcp::socket::shutdown_send);
  runner.join();
  CHECK(state.bytes_up == 272 * kBlock);  // counted once the relay has finished
}
#endif

TEST_CASE("a relay of a tunnel already cancelled ends at once, on idle sockets", "[relay]") {
  // cancel() ends only the waits already pending: a relay that would start a new one after the
  // tunnel's deadline or a server stop must end instead, or nothing would ever end it.
  const auto mode = GENERATE(RelayMode::splice, RelayMode::buffered);
  INFO((mode == RelayMode::splice ? "splice" : "buffered"));
  Rig rig(mode);
  auto& [resources, test_io, relay_io, client, upstream, state] = rig;
  state.cancelled = true;
  bool finished = false;
  auto task = rig.relay();
  asio::co_spawn(relay_io, std::move(task), [&](std::exception_ptr) { finished = true; });
  // Both peers stay silent: only the cancelled flag can end the relay.
  relay_io.run_for(std::chrono::seconds(5));
  CHECK(finished);
  CHECK(state.end == Reason::closed);  // a cancel is not a failure of either side
  CHECK(state.note.empty());
  CHECK(state.bytes_up + state.bytes_down == 0);
}
