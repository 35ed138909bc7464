// Name resolution on a worker's event loop: dns.hosts first, then a TTL cache, then c-ares.
// Contract: one Resolver per io_context, used only from that io_context's thread. resolve() never
// blocks the thread and completes within the configured timeout (status timeout otherwise).
#pragma once

#include <ares.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "policy/policy.hpp"

namespace fqdngate {

enum class ResolveStatus { ok, not_found, failure, timeout, cancelled };

struct ResolveResult {
  ResolveStatus status = ResolveStatus::failure;
  std::vector<boost::asio::ip::address> addresses;
  std::string detail;  // c-ares' message on failure
};

class Resolver {
 public:
  // Throws std::runtime_error when c-ares cannot be set up or dns.servers is invalid.
  Resolver(boost::asio::io_context& io, const policy::DnsSettings& dns,
           std::chrono::milliseconds timeout);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  boost::asio::awaitable<ResolveResult> resolve(std::string name);

  // Completes every outstanding query with status cancelled (used when stopping).
  void cancel_all();

  // Call once per process before any Resolver exists.
  static void global_init();

 private:
  struct Query;
  struct Watch;
  static void on_socket_state(void* self, ares_socket_t fd, int readable, int writable);
  static void on_result(void* arg, int status, int timeouts, struct ares_addrinfo* res);
  void watch(ares_socket_t fd, bool readable, bool writable);
  void arm(const std::shared_ptr<Watch>& w);
  void update_timer();

  struct CacheEntry {
    std::vector<boost::asio::ip::address> addresses;
    std::chrono::steady_clock::time_point expires;
  };

  boost::asio::io_context& io_;
  const policy::DnsSettings& dns_;
  std::chrono::milliseconds timeout_;
  ares_channel channel_ = nullptr;
  boost::asio::steady_timer timer_;
  std::unordered_map<ares_socket_t, std::shared_ptr<Watch>> watches_;
  std::unordered_map<std::string, CacheEntry> cache_;
};

}  // namespace fqdngate
