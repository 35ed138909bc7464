// The relay of a tunnel whose client came through a tls listener, driven by completion handlers
// like the plain relay: an idle tunnel costs its two sockets, the client's TLS state and two
// pending readiness waits, and no coroutine frame.
// Contract: start_tls_relay() returns at once; `on_done` runs exactly once on the sockets'
// executor when both directions have ended. The client's close_notify or FIN is passed on as
// shutdown(send) upstream; the upstream's FIN as close_notify then FIN to the client; reads go
// on in the other direction (half-close). An error, or a cancel() of either socket, ends both.
// Bytes are decrypted into and encrypted from a buffer borrowed from `resources` only while they
// are in flight; nothing is allocated per chunk.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <functional>

#include "proxy/client_stream.hpp"
#include "proxy/relay.hpp"
#include "proxy/relay_resources.hpp"

namespace fqdngate {

void start_tls_relay(ClientStream& client, boost::asio::ip::tcp::socket& upstream,
                     RelayState& state, RelayResources& resources, std::function<void()> on_done);

}  // namespace fqdngate
