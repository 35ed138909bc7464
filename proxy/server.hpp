// The running proxy: N workers (one thread, one io_context, one SO_REUSEPORT acceptor per
// listen address each), and the signals that stop it.
// Contract: the constructor binds every listener (throws std::runtime_error naming the address
// on failure) so start-up errors surface before any thread runs; run() blocks until SIGINT or
// SIGTERM, then stops accepting, ends open tunnels (their close lines are written) and returns.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <memory>
#include <vector>

#include "policy/policy.hpp"
#include "proxy/audit_writer.hpp"
#include "proxy/worker.hpp"

namespace fqdngate {

class Server {
 public:
  Server(std::shared_ptr<const policy::Policy> policy,
         const std::vector<boost::asio::ip::tcp::endpoint>& listen, unsigned threads,
         AuditWriter& audit);

  // The bound addresses (ports resolved when 0 was asked for).
  const std::vector<boost::asio::ip::tcp::endpoint>& endpoints() const { return bound_; }

  void run();

 private:
  // Installed before any listener exists, so a signal sent as soon as the "listening" line is
  // printed still stops the proxy cleanly.
  boost::asio::io_context control_{1};
  boost::asio::signal_set signals_{control_, SIGINT, SIGTERM};
  std::unique_ptr<ConnectionLimiter> limiter_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<boost::asio::ip::tcp::endpoint> bound_;
};

}  // namespace fqdngate
