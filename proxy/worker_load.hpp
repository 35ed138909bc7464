// How many tunnels a worker holds, for the other workers' acceptors, and the rule that keeps the
// workers' shares even. SO_REUSEPORT spreads new connections by a hash of their addresses, not
// by load: at a few dozen concurrent clients the two workers' shares drift apart by several
// tunnels at a time, and the busier worker's clients wait longer (the setup latency's tail).
// Contract: count() may be read from any thread. A Share adds one to the count when taken and
// removes it when destroyed, on whichever thread that happens; moving a Share moves its one.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

namespace fqdngate {

class WorkerLoad {
 public:
  class Share {
   public:
    Share() = default;
    Share(Share&& other) noexcept : load_(std::exchange(other.load_, nullptr)) {}
    Share& operator=(Share&& other) noexcept {
      if (this != &other) {
        release();
        load_ = std::exchange(other.load_, nullptr);
      }
      return *this;
    }
    Share(const Share&) = delete;
    Share& operator=(const Share&) = delete;
    ~Share() { release(); }

   private:
    friend class WorkerLoad;
    explicit Share(WorkerLoad* load) noexcept : load_(load) {}
    void release() noexcept {
      if (load_ != nullptr) load_->count_.fetch_sub(1, std::memory_order_relaxed);
      load_ = nullptr;
    }
    WorkerLoad* load_ = nullptr;
  };

  // Counted from the moment an acceptor picks this worker, so connections still on their way
  // to it count too and a burst is not all sent to the same worker.
  Share take() noexcept {
    count_.fetch_add(1, std::memory_order_relaxed);
    return Share(this);
  }
  std::uint32_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint32_t> count_{0};
};

// Shares may differ by this much before a connection is handed to the other worker: a tunnel
// handed over costs an epoll_ctl on each worker and a post, so an even split is not chased one
// tunnel at a time.
inline constexpr std::uint32_t kHandOverMargin = 2;

// Whether a connection accepted by a worker holding `mine` tunnels goes to one holding `other`.
constexpr bool prefer_other(std::uint32_t mine, std::uint32_t other) noexcept {
  return mine >= other + kHandOverMargin;
}

}  // namespace fqdngate
