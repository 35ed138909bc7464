#include "proxy/relay.hpp"

#include <fcntl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>

namespace fqdngate {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// One pipe's default capacity: a splice never moves more than the pipe can hold.
constexpr std::size_t kSpliceChunk = 64 * 1024;

// A reset is how many clients (curl, browsers) end a finished connection, so it ends the tunnel
// as "closed" with a note; other errors say which side failed.
void record_failure(RelayState& state, const boost::system::error_code& ec, bool client_side) {
  // operation_aborted means the deadline or the other direction ended us: it set the reason.
  if (ec == asio::error::operation_aborted || state.end != Reason::closed || !state.note.empty()) {
    return;
  }
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
      ec == asio::error::connection_aborted) {
    state.note = client_side ? "client reset the connection" : "upstream reset the connection";
  } else {
    state.end = client_side ? Reason::client_reset : Reason::upstream_reset;
    state.note = (client_side ? "client: " : "upstream: ") + ec.message();
  }
}

// How one transfer step ended. `write_side`: the failure was on the receiving socket.
enum class Step { more, eof, failed };
struct Moved {
  Step step = Step::more;
  boost::system::error_code ec;
  bool write_side = false;
};

boost::system::error_code errno_code() {
  return boost::system::error_code(errno, boost::system::system_category());
}

// Readable `from` -> pipe -> `to`, without copying through user space. The pipe is drained
// before returning, so the next step starts with an empty one.
asio::awaitable<Moved> splice_some(tcp::socket& from, tcp::socket& to, PipePool::Lease& lease,
                                   std::uint64_t& counter) {
  const Pipe& pipe = lease.pipe();
  ssize_t in = 0;
  do {
    in = ::splice(from.native_handle(), nullptr, pipe.write_end, nullptr, kSpliceChunk,
                  SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  } while (in < 0 && errno == EINTR);
  if (in == 0) co_return Moved{Step::eof, {}, false};
  if (in < 0) {
    if (errno == EAGAIN) co_return Moved{};  // woken without data
    co_return Moved{Step::failed, errno_code(), false};
  }
  lease.set_dirty(true);
  auto pending = static_cast<std::size_t>(in);
  while (pending > 0) {
    const ssize_t out = ::splice(pipe.read_end, nullptr, to.native_handle(), nullptr, pending,
                                 SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (out > 0) {
      pending -= static_cast<std::size_t>(out);
      counter += static_cast<std::uint64_t>(out);
      continue;
    }
    if (out < 0 && errno == EINTR) continue;
    if (out < 0 && errno == EAGAIN) {  // the receiver's socket buffer is full
      auto [ec] = co_await to.async_wait(tcp::socket::wait_write, kNoThrow);
      if (ec) co_return Moved{Step::failed, ec, true};
      continue;
    }
    co_return Moved{Step::failed, out == 0 ? asio::error::broken_pipe : errno_code(), true};
  }
  lease.set_dirty(false);
  co_return Moved{};
}

// The fallback: readable `from` -> a pooled buffer -> `to`.
asio::awaitable<Moved> copy_some(tcp::socket& from, tcp::socket& to, BufferPool& buffers,
                                 std::uint64_t& counter) {
  auto lease = buffers.take();
  boost::system::error_code ec;
  const std::size_t n = from.read_some(asio::buffer(lease.data(), BufferPool::kBufferSize), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) co_return Moved{};
  if (ec == asio::error::eof) co_return Moved{Step::eof, {}, false};
  if (ec) co_return Moved{Step::failed, ec, false};
  auto [wec, written] = co_await asio::async_write(to, asio::buffer(lease.data(), n), kNoThrow);
  counter += written;
  if (wec) co_return Moved{Step::failed, wec, true};
  co_return Moved{};
}

void end_both(tcp::socket& a, tcp::socket& b) {
  boost::system::error_code ignored;
  a.cancel(ignored);
  b.cancel(ignored);
}

// One direction between plain sockets. It waits for readability holding nothing, so an idle
// tunnel owns no buffer and no pipe. `from_is_client` labels failures for the close line.
asio::awaitable<void> pump(tcp::socket& from, tcp::socket& to, std::uint64_t& counter,
                           RelayState& state, bool from_is_client, RelayResources& resources) {
  for (;;) {
    auto [ec] = co_await from.async_wait(tcp::socket::wait_read, kNoThrow);
    if (ec) {
      record_failure(state, ec, from_is_client);
      end_both(from, to);
      co_return;
    }
    state.last_activity = Clock::now();
    Moved moved;
    auto pipe = resources.mode == RelayMode::splice ? resources.pipes.take() : std::nullopt;
    if (pipe) {
      auto step = splice_some(from, to, *pipe, counter);
      moved = co_await std::move(step);
    } else {
      auto step = copy_some(from, to, resources.buffers, counter);
      moved = co_await std::move(step);
    }
    pipe.reset();
    if (moved.step == Step::eof) {
      boost::system::error_code ignored;
      to.shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    if (moved.step == Step::failed) {
      record_failure(state, moved.ec, moved.write_side ? !from_is_client : from_is_client);
      end_both(from, to);
      co_return;
    }
  }
}

void end_both(ClientStream& client, tcp::socket& upstream) {
  boost::system::error_code ignored;
  client.cancel();
  upstream.cancel(ignored);
}

asio::awaitable<void> pump_from_tls_client(ClientStream& client, tcp::socket& upstream,
                                           RelayState& state, BufferPool& buffers) {
  for (;;) {
    auto readable = client.wait_readable();
    const auto wec = co_await std::move(readable);
    if (wec) {
      record_failure(state, wec, true);
      end_both(client, upstream);
      co_return;
    }
    auto lease = buffers.take();
    auto read = client.read_some(asio::buffer(lease.data(), BufferPool::kBufferSize));
    auto [rec, n] = co_await std::move(read);
    if (rec == asio::error::eof) {
      boost::system::error_code ignored;
      upstream.shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    if (rec) {
      record_failure(state, rec, true);
      end_both(client, upstream);
      co_return;
    }
    state.last_activity = Clock::now();
    auto [ec, written] =
        co_await asio::async_write(upstream, asio::buffer(lease.data(), n), kNoThrow);
    state.bytes_up += written;
    if (ec) {
      record_failure(state, ec, false);
      end_both(client, upstream);
      co_return;
    }
  }
}

asio::awaitable<void> pump_to_tls_client(tcp::socket& upstream, ClientStream& client,
                                         RelayState& state, BufferPool& buffers) {
  for (;;) {
    auto [wec] = co_await upstream.async_wait(tcp::socket::wait_read, kNoThrow);
    if (wec) {
      record_failure(state, wec, false);
      end_both(client, upstream);
      co_return;
    }
    auto lease = buffers.take();
    boost::system::error_code rec;
    const std::size_t n =
        upstream.read_some(asio::buffer(lease.data(), BufferPool::kBufferSize), rec);
    if (rec == asio::error::would_block || rec == asio::error::try_again) continue;
    if (rec == asio::error::eof) {
      auto shutdown = client.shutdown_send();
      co_await std::move(shutdown);
      co_return;
    }
    if (rec) {
      record_failure(state, rec, false);
      end_both(client, upstream);
      co_return;
    }
    state.last_activity = Clock::now();
    auto write = client.write_all(asio::buffer(lease.data(), n));
    auto [ec, written] = co_await std::move(write);
    state.bytes_down += written;
    if (ec) {
      record_failure(state, ec, true);
      end_both(client, upstream);
      co_return;
    }
  }
}

// Both directions until both are done. Not `&&`: it would cancel one direction when the other
// finishes, which breaks half-close.
template <class Up, class Down>
asio::awaitable<void> run_both(const asio::any_io_executor& executor, Up up_work, Down down_work) {
  auto up = asio::co_spawn(executor, std::move(up_work), asio::deferred);
  auto down = asio::co_spawn(executor, std::move(down_work), asio::deferred);
  auto group = asio::experimental::make_parallel_group(std::move(up), std::move(down));
  auto condition = asio::experimental::wait_for_all();
  co_await group.async_wait(condition, asio::use_awaitable);
}

}  // namespace

asio::awaitable<void> relay(tcp::socket& client, tcp::socket& upstream, RelayState& state,
                            RelayResources& resources) {
  // The pumps read and splice with system calls that must never block the worker.
  boost::system::error_code ignored;
  client.non_blocking(true, ignored);
  upstream.non_blocking(true, ignored);
  auto up = pump(client, upstream, state.bytes_up, state, true, resources);
  auto down = pump(upstream, client, state.bytes_down, state, false, resources);
  auto both = run_both(upstream.get_executor(), std::move(up), std::move(down));
  co_await std::move(both);
}

asio::awaitable<void> relay(ClientStream& client, tcp::socket& upstream, RelayState& state,
                            RelayResources& resources) {
  if (!client.is_tls()) {
    auto plain = relay(client.socket(), upstream, state, resources);
    co_await std::move(plain);
    co_return;
  }
  boost::system::error_code ignored;
  upstream.non_blocking(true, ignored);
  auto up = pump_from_tls_client(client, upstream, state, resources.buffers);
  auto down = pump_to_tls_client(upstream, client, state, resources.buffers);
  auto both = run_both(upstream.get_executor(), std::move(up), std::move(down));
  co_await std::move(both);
}

}  // namespace fqdngate
