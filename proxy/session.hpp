// One client connection through the nine steps of DESIGN.md.
// Contract: start_session() takes ownership of the accepted socket and returns at once; the
// session writes exactly one "close" audit line however it ends, and never throws.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include "proxy/worker.hpp"

namespace fqdngate {

// `peer` is the client's address as accept() returned it. `listener` (owned by the Server,
// outlives every session) says whether the client speaks TLS.
void start_session(Worker& worker, boost::asio::ip::tcp::socket socket,
                   const boost::asio::ip::tcp::endpoint& peer, const Listener& listener);

// Ends every session of the worker promptly (server shutdown); their close lines say "shutdown".
void stop_all_sessions(Worker& worker);

}  // namespace fqdngate
