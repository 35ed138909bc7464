#include "proxy/relay.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace fqdngate {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t kChunk = 16 * 1024;

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

void end_both(tcp::socket& a, tcp::socket& b) {
  boost::system::error_code ignored;
  a.cancel(ignored);
  b.cancel(ignored);
}

// One direction. `from_is_client` only labels failures for the close line.
asio::awaitable<void> pump(tcp::socket& from, tcp::socket& to, std::uint64_t& counter,
                           RelayState& state, bool from_is_client) {
  std::array<char, kChunk> buf;
  auto token = asio::as_tuple(asio::use_awaitable);
  for (;;) {
    auto [rec, n] = co_await from.async_read_some(asio::buffer(buf), token);
    if (rec == asio::error::eof) {
      boost::system::error_code ignored;
      to.shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    if (rec) {
      record_failure(state, rec, from_is_client);
      end_both(from, to);
      co_return;
    }
    state.last_activity = std::chrono::steady_clock::now();
    auto [wec, written] = co_await asio::async_write(to, asio::buffer(buf.data(), n), token);
    counter += written;
    if (wec) {
      record_failure(state, wec, !from_is_client);
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
                                           RelayState& state) {
  std::array<char, kChunk> buf;
  auto token = asio::as_tuple(asio::use_awaitable);
  for (;;) {
    auto read = client.read_some(asio::buffer(buf));
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
    state.last_activity = std::chrono::steady_clock::now();
    auto [wec, written] = co_await asio::async_write(upstream, asio::buffer(buf.data(), n), token);
    state.bytes_up += written;
    if (wec) {
      record_failure(state, wec, false);
      end_both(client, upstream);
      co_return;
    }
  }
}

asio::awaitable<void> pump_to_tls_client(tcp::socket& upstream, ClientStream& client,
                                         RelayState& state) {
  std::array<char, kChunk> buf;
  auto token = asio::as_tuple(asio::use_awaitable);
  for (;;) {
    auto [rec, n] = co_await upstream.async_read_some(asio::buffer(buf), token);
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
    state.last_activity = std::chrono::steady_clock::now();
    auto write = client.write_all(asio::buffer(buf.data(), n));
    auto [wec, written] = co_await std::move(write);
    state.bytes_down += written;
    if (wec) {
      record_failure(state, wec, true);
      end_both(client, upstream);
      co_return;
    }
  }
}

}  // namespace

asio::awaitable<void> relay(ClientStream& client, tcp::socket& upstream, RelayState& state) {
  if (!client.is_tls()) {
    auto plain = relay(client.socket(), upstream, state);
    co_await std::move(plain);
    co_return;
  }
  auto executor = upstream.get_executor();
  auto up_work = pump_from_tls_client(client, upstream, state);
  auto down_work = pump_to_tls_client(upstream, client, state);
  auto up = asio::co_spawn(executor, std::move(up_work), asio::deferred);
  auto down = asio::co_spawn(executor, std::move(down_work), asio::deferred);
  auto group = asio::experimental::make_parallel_group(std::move(up), std::move(down));
  auto condition = asio::experimental::wait_for_all();
  co_await group.async_wait(condition, asio::use_awaitable);
}

asio::awaitable<void> relay(tcp::socket& client, tcp::socket& upstream, RelayState& state) {
  auto executor = client.get_executor();
  // Named locals, not temporaries inside co_await: GCC 12 miscompiles the latter.
  auto up =
      asio::co_spawn(executor, pump(client, upstream, state.bytes_up, state, true), asio::deferred);
  auto down = asio::co_spawn(executor, pump(upstream, client, state.bytes_down, state, false),
                             asio::deferred);
  auto group = asio::experimental::make_parallel_group(std::move(up), std::move(down));
  auto condition = asio::experimental::wait_for_all();
  co_await group.async_wait(condition, asio::use_awaitable);
}

}  // namespace fqdngate
