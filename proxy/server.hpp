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
  Server(std::shared_ptr<const policy::Policy> policy, std::vector<Listener> listen,
         unsigned threads, AuditWriter& audit);

  // The listeners with their bound addresses (ports resolved when 0 was asked for).
  const std::vector<Listener>& listeners() const { return *listeners_; }

  void run();

 private:
  // Installed before any listener exists, so a signal sent as soon as the "listening" line is
  // printed still stops the proxy cleanly.
  boost::asio::io_context control_{1};
  boost::asio::signal_set signals_{control_, SIGINT, SIGTERM};
  std::unique_ptr<ConnectionLimiter> limiter_;
  std::unique_ptr<std::vector<Listener>> listeners_;  // stable addresses for the acceptors
  std::vector<std::unique_ptr<Worker>> workers_;
  // Declared after the workers so it is destroyed (joined) first: a check finishing late must
  // find its worker's io_context alive.
  std::unique_ptr<PasswordCheckPool> password_checks_;
};

}  // namespace fqdngate
