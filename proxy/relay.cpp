#include "proxy/relay.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "proxy/plain_relay.hpp"
#include "proxy/tls_relay.hpp"

namespace fqdngate {

namespace asio = boost::asio;
using asio::ip::tcp;

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

namespace {

// Turns a callback relay into an awaitable: `start(on_done)` starts it, the coroutine resumes
// once on_done has run.
template <class Start>
asio::awaitable<void> until_done(asio::any_io_executor executor, Start start) {
  auto initiation = [&](auto handler) {
    // std::function needs a copyable callable; the coroutine's handler is move-only.
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    start([shared, executor] { asio::post(executor, std::move(*shared)); });
  };
  auto finished =
      asio::async_initiate<decltype(asio::use_awaitable), void()>(initiation, asio::use_awaitable);
  co_await std::move(finished);
}

}  // namespace

asio::awaitable<void> relay(tcp::socket& client, tcp::socket& upstream, RelayState& state,
                            RelayResources& resources) {
  auto start = [&](std::function<void()> on_done) {
    start_plain_relay(client, upstream, state, resources, nullptr, std::move(on_done));
  };
  auto finished = until_done(upstream.get_executor(), start);
  co_await std::move(finished);
}

asio::awaitable<void> relay(ClientStream& client, tcp::socket& upstream, RelayState& state,
                            RelayResources& resources) {
  if (!client.is_tls()) {
    auto plain = relay(client.socket(), upstream, state, resources);
    co_await std::move(plain);
    co_return;
  }
  auto start = [&](std::function<void()> on_done) {
    start_tls_relay(client, upstream, state, resources, std::move(on_done));
  };
  auto finished = until_done(upstream.get_executor(), start);
  co_await std::move(finished);
}

}  // namespace fqdngate
