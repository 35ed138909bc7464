#include "proxy/relay.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "proxy/plain_relay.hpp"

namespace fqdngate {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
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

asio::awaitable<void> relay(tcp::socket& client, tcp::socket& upstream, RelayState& state,
                            RelayResources& resources) {
  auto initiation = [&](auto handler) {
    // std::function needs a copyable callable; the coroutine's handler is move-only.
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    auto executor = upstream.get_executor();
    start_plain_relay(client, upstream, state, resources, nullptr,
                      [shared, executor] { asio::post(executor, std::move(*shared)); });
  };
  auto finished =
      asio::async_initiate<decltype(asio::use_awaitable), void()>(initiation, asio::use_awaitable);
  co_await std::move(finished);
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
