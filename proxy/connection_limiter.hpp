// Caps on concurrent client connections: in total and per client address.
// Contract: thread-safe; try_acquire() either returns a ticket that releases its slot when
// destroyed, or nothing (over a cap). Per-client counts live in shards with their own locks, so
// workers rarely contend: a client's connections land on different workers (SO_REUSEPORT), so the
// count has to be shared.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace fqdngate {

class ConnectionLimiter {
 public:
  enum class Refusal { none, total, per_client };

  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept { *this = std::move(other); }
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { release(); }

   private:
    friend class ConnectionLimiter;
    Ticket(ConnectionLimiter* owner, const boost::asio::ip::address& client)
        : owner_(owner), client_(client) {}
    void release() noexcept;

    ConnectionLimiter* owner_ = nullptr;
    boost::asio::ip::address client_;
  };

  ConnectionLimiter(std::size_t max_total, std::size_t max_per_client)
      : max_total_(max_total), max_per_client_(max_per_client) {}

  // On success `ticket` holds the slot; otherwise says which cap was hit.
  Refusal try_acquire(const boost::asio::ip::address& client, Ticket& ticket);

  std::size_t total() const noexcept { return total_.load(std::memory_order_relaxed); }

 private:
  struct Shard {
    std::mutex mutex;
    std::unordered_map<boost::asio::ip::address, std::size_t> counts;
  };
  static constexpr std::size_t kShards = 64;
  Shard& shard_of(const boost::asio::ip::address& a) noexcept;
  void release(const boost::asio::ip::address& client) noexcept;

  const std::size_t max_total_;
  const std::size_t max_per_client_;
  std::atomic<std::size_t> total_{0};
  std::array<Shard, kShards> shards_;
};

}  // namespace fqdngate
