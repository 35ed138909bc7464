// Two-way byte pump for an established tunnel.
// Contract: returns when both directions have ended. EOF on one side is propagated as
// shutdown(send) on the other and the reverse direction keeps running (half-close); the second
// EOF closes the socket it goes to (plain tunnels). An error on either side ends both. Idle time is
// not enforced here: every read stores `last_activity`, and the session's deadline cancels both
// sockets when it goes stale. Each direction waits for readability holding nothing; only then does
// it borrow a pipe (splice mode) or a buffer from the worker's pools, so an idle tunnel costs no
// buffer and no extra descriptor, and a busy one allocates nothing per chunk. The sockets are
// switched to non-blocking mode.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "policy/reason.hpp"
#include "proxy/client_stream.hpp"
#include "proxy/relay_resources.hpp"

namespace fqdngate {

struct RelayState {
  std::uint64_t bytes_up = 0;    // client -> upstream
  std::uint64_t bytes_down = 0;  // upstream -> client
  std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();
  Reason end = Reason::closed;  // first failure seen, or closed (a reset counts as closed)
  std::string note;             // how it ended, when not by FIN both ways
  // Set with the sockets' cancel() (deadline, server stop). cancel() only ends operations
  // already pending, so a relay handler that completed just before it checks this instead of
  // starting a new wait that nothing would end.
  bool cancelled = false;
};

// Records how a direction failed, once: a reset is how many clients (curl, browsers) end a
// finished connection, so it ends the tunnel as "closed" with a note; other errors say which
// side failed. operation_aborted (the deadline, shutdown or the other direction) records nothing.
void record_failure(RelayState& state, const boost::system::error_code& ec, bool client_side);

boost::asio::awaitable<void> relay(boost::asio::ip::tcp::socket& client,
                                   boost::asio::ip::tcp::socket& upstream, RelayState& state,
                                   RelayResources& resources);

// The same for any client stream: plain ones take the socket path above; on a tls listener the
// client side is decrypted and re-encrypted, and its half-close is a close_notify plus FIN.
boost::asio::awaitable<void> relay(ClientStream& client, boost::asio::ip::tcp::socket& upstream,
                                   RelayState& state, RelayResources& resources);

}  // namespace fqdngate
