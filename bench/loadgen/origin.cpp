// Local origin for the macro benchmarks: plain TCP, one listener per mode.
//
//   origin [--echo ADDR] [--sink ADDR] [--source ADDR] [--threads N] [--connect]
//
//   echo    writes back everything it reads; on EOF it half-closes and closes
//   sink    reads and discards until EOF, then closes; bytes are counted
//   source  waits for the client's first bytes (a ClientHello, as a TLS server would), then
//           writes a constant 64 KiB buffer as fast as the peer takes it until the peer
//           half-closes or goes away
//
// With --connect every connection first reads a request head (a CONNECT) and answers 200, as a
// CONNECT proxy that cost nothing would; bytes after the head are the tunnel's first. Loads sent
// this way give the machine's limit for CONNECT proxies, one round trip above plain direct.
//
// ADDR is HOST:PORT; port 0 picks a free port. Once listening it prints one JSON line on
// stdout, {"echo":PORT,"sink":PORT,"source":PORT} (0 for a mode not asked for), and on
// SIGINT/SIGTERM one JSON line of counters on stderr before it exits.
#include <signal.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fd_limit.hpp"
#include "host_port.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kEchoBuffer = 16 * 1024;
constexpr std::size_t kChunk = 64 * 1024;
constexpr int kBacklog = 4096;

enum class Mode { echo, sink, source };

bool answer_connect = false;  // set once from the command line, before any thread starts
constexpr std::string_view kEstablished = "HTTP/1.1 200 Connection established\r\n\r\n";
constexpr std::size_t kMaxHead = 16 * 1024;

struct Counters {
  std::atomic<std::uint64_t> connections[3] = {};
  std::atomic<std::uint64_t> open = 0;
  std::atomic<std::uint64_t> echo_bytes = 0;
  std::atomic<std::uint64_t> sink_bytes = 0;
  std::atomic<std::uint64_t> source_bytes = 0;
  std::atomic<std::uint64_t> accept_errors = 0;
};

Counters counters;

// Written once, read by every source connection on every thread.
const std::vector<char>& source_block() {
  static const std::vector<char> block(kChunk, 'x');
  return block;
}

void close_quietly(tcp::socket& s) {
  boost::system::error_code ignored;
  s.shutdown(tcp::socket::shutdown_both, ignored);
  s.close(ignored);
}

struct OpenGuard {
  OpenGuard() { ++counters.open; }
  ~OpenGuard() { --counters.open; }
  OpenGuard(const OpenGuard&) = delete;
  OpenGuard& operator=(const OpenGuard&) = delete;
};

// Reads up to the blank line that ends a request head and answers 200. Yields the bytes that
// followed the head, or nullopt when the peer left or sent no end of head within kMaxHead.
asio::awaitable<std::optional<std::string>> answer_request(tcp::socket& s) {
  std::string head;
  char buf[4096];
  while (head.size() <= kMaxHead) {
    auto read = s.async_read_some(asio::buffer(buf), kNoThrow);
    auto [ec, n] = co_await std::move(read);
    if (ec) co_return std::nullopt;
    head.append(buf, n);
    const auto end = head.find("\r\n\r\n");
    if (end == std::string::npos) continue;
    auto write =
        asio::async_write(s, asio::buffer(kEstablished.data(), kEstablished.size()), kNoThrow);
    auto [wec, written] = co_await std::move(write);
    if (wec) co_return std::nullopt;
    co_return head.substr(end + 4);
  }
  co_return std::nullopt;
}

asio::awaitable<void> echo_connection(tcp::socket s, std::string first) {
  OpenGuard guard;
  if (!first.empty()) {
    auto write = asio::async_write(s, asio::buffer(first), kNoThrow);
    auto [wec, written] = co_await std::move(write);
    if (wec) {
      close_quietly(s);
      co_return;
    }
    counters.echo_bytes += written;
  }
  // Allocated per connection but touched only as far as bytes arrive: an idle echo tunnel
  // costs one page.
  std::unique_ptr<char[]> buf(new char[kEchoBuffer]);
  for (;;) {
    auto read = s.async_read_some(asio::buffer(buf.get(), kEchoBuffer), kNoThrow);
    auto [rec, n] = co_await std::move(read);
    if (rec) break;
    auto write = asio::async_write(s, asio::buffer(buf.get(), n), kNoThrow);
    auto [wec, written] = co_await std::move(write);
    if (wec) break;
    counters.echo_bytes += written;
  }
  boost::system::error_code ignored;
  s.shutdown(tcp::socket::shutdown_send, ignored);
  s.close(ignored);
}

asio::awaitable<void> sink_connection(tcp::socket s, std::string first) {
  OpenGuard guard;
  std::unique_ptr<char[]> buf(new char[kChunk]);
  std::uint64_t total = first.size();
  for (;;) {
    auto read = s.async_read_some(asio::buffer(buf.get(), kChunk), kNoThrow);
    auto [ec, n] = co_await std::move(read);
    if (ec) break;
    total += n;
  }
  counters.sink_bytes += total;
  close_quietly(s);
}

struct SourceState {
  explicit SourceState(tcp::socket sock) : s(std::move(sock)) {}
  tcp::socket s;
  bool reader_done = false;
};

// Reads (and drops) what the client sends after its first bytes; on EOF or error it stops the
// writer by shutting our sending side, which fails the pending write.
asio::awaitable<void> source_reader(std::shared_ptr<SourceState> st) {
  char buf[4096];
  for (;;) {
    auto read = st->s.async_read_some(asio::buffer(buf), kNoThrow);
    auto [ec, n] = co_await std::move(read);
    if (ec) break;
  }
  st->reader_done = true;
  boost::system::error_code ignored;
  st->s.cancel(ignored);
}

asio::awaitable<void> source_connection(tcp::socket sock, std::string first) {
  OpenGuard guard;
  auto st = std::make_shared<SourceState>(std::move(sock));
  if (first.empty()) {
    char first[4096];
    auto read = st->s.async_read_some(asio::buffer(first), kNoThrow);
    auto [ec, n] = co_await std::move(read);
    if (ec) {
      close_quietly(st->s);
      co_return;
    }
  }
  auto reader = source_reader(st);
  asio::co_spawn(st->s.get_executor(), std::move(reader), asio::detached);
  const auto& block = source_block();
  std::uint64_t total = 0;
  while (!st->reader_done) {
    auto write = asio::async_write(st->s, asio::buffer(block), kNoThrow);
    auto [ec, n] = co_await std::move(write);
    total += n;
    if (ec) break;
  }
  counters.source_bytes += total;
  boost::system::error_code ignored;
  st->s.shutdown(tcp::socket::shutdown_send, ignored);
  if (st->reader_done) st->s.close(ignored);
  // Otherwise the reader still holds the state and sees EOF or an error soon; it closes the
  // socket when the last reference goes.
}

// A connection's life in its mode; `first`: bytes already read after a CONNECT head.
asio::awaitable<void> serve(tcp::socket s, Mode mode, std::string first) {
  switch (mode) {
    case Mode::echo: {
      auto conn = echo_connection(std::move(s), std::move(first));
      co_await std::move(conn);
      break;
    }
    case Mode::sink: {
      auto conn = sink_connection(std::move(s), std::move(first));
      co_await std::move(conn);
      break;
    }
    case Mode::source: {
      auto conn = source_connection(std::move(s), std::move(first));
      co_await std::move(conn);
      break;
    }
  }
}

asio::awaitable<void> answer_then_serve(tcp::socket s, Mode mode) {
  auto answered = answer_request(s);
  auto tail = co_await std::move(answered);
  if (!tail) {
    close_quietly(s);
    co_return;
  }
  auto conn = serve(std::move(s), mode, std::move(*tail));
  co_await std::move(conn);
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, Mode mode) {
  asio::steady_timer pause(acceptor.get_executor());
  for (;;) {
    auto strand = asio::make_strand(acceptor.get_executor());
    auto accept = acceptor.async_accept(strand, kNoThrow);
    auto [ec, s] = co_await std::move(accept);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors and the like: pause, never spin.
      ++counters.accept_errors;
      std::fprintf(stderr, "origin: accept: %s; pausing\n", ec.message().c_str());
      pause.expires_after(100ms);
      auto wait = pause.async_wait(kNoThrow);
      co_await std::move(wait);
      continue;
    }
    ++counters.connections[static_cast<int>(mode)];
    boost::system::error_code ignored;
    s.set_option(tcp::no_delay(true), ignored);
    auto ex = s.get_executor();
    if (answer_connect) {
      auto conn = answer_then_serve(std::move(s), mode);
      asio::co_spawn(ex, std::move(conn), asio::detached);
    } else {
      auto conn = serve(std::move(s), mode, std::string());
      asio::co_spawn(ex, std::move(conn), asio::detached);
    }
  }
}

int usage() {
  std::fprintf(stderr,
               "usage: origin [--echo HOST:PORT] [--sink HOST:PORT] [--source HOST:PORT] "
               "[--threads N] [--connect]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<loadgen::HostPort> addr[3];
  unsigned threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--connect") {
      answer_connect = true;
      continue;
    }
    if (i + 1 >= argc) return usage();
    const std::string_view v = argv[++i];
    if (a == "--threads") {
      threads = static_cast<unsigned>(std::strtoul(std::string(v).c_str(), nullptr, 10));
      if (threads == 0 || threads > 64) return usage();
      continue;
    }
    int m = a == "--echo" ? 0 : a == "--sink" ? 1 : a == "--source" ? 2 : -1;
    if (m < 0) return usage();
    addr[m] = loadgen::parse_host_port(v);
    if (!addr[m]) return usage();
  }
  if (!addr[0] && !addr[1] && !addr[2]) return usage();
  loadgen::raise_fd_limit();
  std::signal(SIGPIPE, SIG_IGN);

  asio::io_context io(static_cast<int>(threads));
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  unsigned ports[3] = {0, 0, 0};
  try {
    for (int m = 0; m < 3; ++m) {
      if (!addr[m]) continue;
      tcp::endpoint ep(asio::ip::make_address(addr[m]->host), addr[m]->port);
      auto acc = std::make_unique<tcp::acceptor>(io);
      acc->open(ep.protocol());
      acc->set_option(tcp::acceptor::reuse_address(true));
      acc->bind(ep);
      acc->listen(kBacklog);
      ports[m] = acc->local_endpoint().port();
      auto loop = accept_loop(*acc, static_cast<Mode>(m));
      asio::co_spawn(io, std::move(loop), asio::detached);
      acceptors.push_back(std::move(acc));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "origin: %s\n", e.what());
    return 1;
  }
  std::printf("{\"echo\":%u,\"sink\":%u,\"source\":%u}\n", ports[0], ports[1], ports[2]);
  std::fflush(stdout);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });

  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t)
    pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool)
    t.join();
  std::fprintf(stderr,
               "{\"echo_connections\":%llu,\"sink_connections\":%llu,"
               "\"source_connections\":%llu,\"open\":%llu,\"echo_bytes\":%llu,"
               "\"sink_bytes\":%llu,\"source_bytes\":%llu,\"accept_errors\":%llu}\n",
               static_cast<unsigned long long>(counters.connections[0].load()),
               static_cast<unsigned long long>(counters.connections[1].load()),
               static_cast<unsigned long long>(counters.connections[2].load()),
               static_cast<unsigned long long>(counters.open.load()),
               static_cast<unsigned long long>(counters.echo_bytes.load()),
               static_cast<unsigned long long>(counters.sink_bytes.load()),
               static_cast<unsigned long long>(counters.source_bytes.load()),
               static_cast<unsigned long long>(counters.accept_errors.load()));
  return 0;
}
