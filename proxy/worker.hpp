// One worker: a thread's io_context and everything its sessions share without locks.
// Contract: every member is used only from the worker's own thread, except `io` (post to it).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "policy/policy.hpp"
#include "proxy/audit_writer.hpp"
#include "proxy/authenticator.hpp"
#include "proxy/connection_limiter.hpp"
#include "proxy/relay_resources.hpp"
#include "proxy/resolver.hpp"
#include "proxy/tls_listener_context.hpp"

namespace fqdngate {

struct Tunnel;

// One listening address and how its clients connect.
struct Listener {
  boost::asio::ip::tcp::endpoint endpoint;
  SslContext tls;                    // null: plain TCP
  bool client_certificates = false;  // tls.client_ca: the certificate CN is the identity
};

struct Acceptor {
  boost::asio::ip::tcp::acceptor socket;
  const Listener* listener;  // owned by the Server
};

struct Worker {
  Worker(unsigned index_, unsigned count_, std::shared_ptr<const policy::Policy> policy_,
         AuditWriter& audit_, ConnectionLimiter& limiter_, PasswordCheckPool* checks)
      : index(index_),
        count(count_),
        policy(std::move(policy_)),
        audit(audit_),
        limiter(limiter_),
        resolver(io, policy->settings().dns, policy->settings().limits.dns_timeout) {
    relay.mode = policy->settings().relay_splice ? RelayMode::splice : RelayMode::buffered;
    relay.pipes.set_large_budget(PipePool::kProcessLargeBudget / count);
    if (checks != nullptr && policy->settings().auth) {
      auth = std::make_unique<Authenticator>(policy->settings().auth->credentials, *checks);
    }
  }

  // Connection ids are unique across workers without sharing a counter.
  std::uint64_t next_connection_id() noexcept { return ++sequence * count + index; }

  const unsigned index;
  const unsigned count;
  // Before io: handlers the io_context destroys at a forced shutdown may still hand pipes and
  // buffers back to these pools.
  RelayResources relay;
  // Declared before everything that holds handlers on it. One thread runs it, and every socket,
  // timer and descriptor of its sessions is used only from that thread, so the reactor's
  // per-descriptor locks (about 12 of the 37 locks a tunnel took) are left out. The scheduler keeps
  // its lock: the control thread posts the stop, the password-check pool posts its results.
  boost::asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::shared_ptr<const policy::Policy> policy;
  AuditWriter& audit;
  ConnectionLimiter& limiter;  // shared by all workers
  Resolver resolver;
  std::unique_ptr<Authenticator> auth;  // null when the policy has no auth:
  std::vector<Acceptor> acceptors;
  std::unordered_set<Tunnel*> live;  // for shutdown
  std::string audit_line;            // reused to format each audit line of this thread
  bool stopping = false;
  std::uint64_t sequence = 0;
};

}  // namespace fqdngate
