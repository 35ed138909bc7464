#include "proxy/connection_limiter.hpp"

#include <functional>

namespace fqdngate {

ConnectionLimiter::Ticket& ConnectionLimiter::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = other.owner_;
    client_ = other.client_;
    other.owner_ = nullptr;
  }
  return *this;
}

void ConnectionLimiter::Ticket::release() noexcept {
  if (owner_ != nullptr) owner_->release(client_);
  owner_ = nullptr;
}

ConnectionLimiter::Shard& ConnectionLimiter::shard_of(const boost::asio::ip::address& a) noexcept {
  return shards_[std::hash<boost::asio::ip::address>{}(a) % kShards];
}

ConnectionLimiter::Refusal ConnectionLimiter::try_acquire(const boost::asio::ip::address& client,
                                                          Ticket& ticket) {
  if (total_.fetch_add(1, std::memory_order_relaxed) >= max_total_) {
    total_.fetch_sub(1, std::memory_order_relaxed);
    return Refusal::total;
  }
  Shard& shard = shard_of(client);
  {
    std::lock_guard lock(shard.mutex);
    auto& count = shard.counts[client];
    if (count >= max_per_client_) {
      if (count == 0) shard.counts.erase(client);
      total_.fetch_sub(1, std::memory_order_relaxed);
      return Refusal::per_client;
    }
    ++count;
  }
  ticket = Ticket(this, client);
  return Refusal::none;
}

void ConnectionLimiter::release(const boost::asio::ip::address& client) noexcept {
  Shard& shard = shard_of(client);
  {
    std::lock_guard lock(shard.mutex);
    auto it = shard.counts.find(client);
    if (it != shard.counts.end() && --it->second == 0) shard.counts.erase(it);
  }
  total_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace fqdngate
