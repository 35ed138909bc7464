// The relay of a plain (non-TLS client) tunnel, driven by completion handlers instead of
// coroutines: an idle tunnel costs its two sockets and two pending readiness waits, nothing else.
// Contract: start_plain_relay() returns at once; `on_done` runs exactly once on the sockets'
// executor when both directions have ended (EOF passed on as shutdown(send), or as close() of
// the socket it goes to when it is the second; an error or a cancel() of either socket ends both).
// `keep_alive` owns whatever the references point into and is held until then. Both descriptors are
// put in non-blocking mode (Asio's own internal mode: synchronous Asio calls on them keep blocking
// semantics). Data moves with splice(2) through a pipe borrowed from `resources` only while bytes
// are in flight, or through a borrowed buffer (RelayMode::buffered, or no pipe available); nothing
// is allocated per chunk. A direction whose reads keep filling the pipe or buffer reads on without
// waiting for the next readiness event, up to 1 MiB per event, then waits like any other.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>

#include "proxy/relay.hpp"
#include "proxy/relay_resources.hpp"

namespace fqdngate {

void start_plain_relay(boost::asio::ip::tcp::socket& client, boost::asio::ip::tcp::socket& upstream,
                       RelayState& state, RelayResources& resources,
                       std::shared_ptr<void> keep_alive, std::function<void()> on_done);

}  // namespace fqdngate
