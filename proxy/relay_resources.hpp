// Per-worker pools for the relay, so an idle tunnel holds no buffer and no pipe, and a busy one
// allocates nothing per chunk.
// Contract: used only from the worker's thread. A lease returns its buffer or pipe to the pool
// when it goes out of scope; a pipe that may still hold bytes (the transfer failed half-way) is
// closed instead of reused. Pools keep at most `keep` idle items; beyond that they free them, so a
// burst does not pin its peak memory or descriptors. New pipes are grown to kLargePipeBytes while
// the pool's grown pipes (idle or leased) stay within its budget; the others keep the kernel's
// default capacity. Pipe::capacity says which a lease got.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

namespace fqdngate {

enum class RelayMode { splice, buffered };

class BufferPool {
 public:
  static constexpr std::size_t kBufferSize = 64 * 1024;

  explicit BufferPool(std::size_t keep) : keep_(keep) {}

  class Lease {
   public:
    Lease(BufferPool& pool, std::unique_ptr<char[]> data) : pool_(&pool), data_(std::move(data)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (data_) pool_->give(std::move(data_));
    }
    char* data() const noexcept { return data_.get(); }

   private:
    BufferPool* pool_;
    std::unique_ptr<char[]> data_;
  };

  Lease take();
  std::size_t idle() const noexcept { return idle_.size(); }

 private:
  void give(std::unique_ptr<char[]> data);
  std::size_t keep_;
  std::vector<std::unique_ptr<char[]>> idle_;
};

struct Pipe {
  int read_end = -1;
  int write_end = -1;
  std::size_t capacity = 0;  // bytes it holds: the most one splice into it can move
};

class PipePool {
 public:
  // One splice moves at most a pipe's capacity: through the kernel's default 64 KiB pipe a bulk
  // transfer needs at least 32 splices per MiB, through 1 MiB as few as 2 (measured: 31 against
  // 11-21, bench/RESULTS.md). The kernel charges capacity, not content, to a per-user soft limit
  // (fs.pipe-user-pages-soft, 64 MiB by default) and gives a user over it 8 KiB pipes from then on,
  // so grown pipes are rationed per pool rather than made for every tunnel.
  static constexpr std::size_t kLargePipeBytes = 1 << 20;
  // What all workers' pools may hold in grown pipes together: a quarter of that soft limit.
  static constexpr std::size_t kProcessLargeBudget = 16 << 20;

  explicit PipePool(std::size_t keep, std::size_t large_budget = kProcessLargeBudget)
      : keep_(keep), large_budget_(large_budget) {}
  ~PipePool();
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;

  class Lease {
   public:
    Lease(PipePool& pool, Pipe pipe) : pool_(&pool), pipe_(pipe) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), pipe_(other.pipe_), dirty_(other.dirty_) {
      other.pipe_ = Pipe{};
    }
    Lease& operator=(Lease&&) = delete;
    ~Lease() { pool_->give(pipe_, dirty_); }
    const Pipe& pipe() const noexcept { return pipe_; }
    // Bytes were spliced in and not all out: the pipe must not be reused.
    void set_dirty(bool dirty) noexcept { dirty_ = dirty; }

   private:
    PipePool* pool_;
    Pipe pipe_;
    bool dirty_ = false;
  };

  // nullopt when no pipe can be made (out of descriptors): the caller copies through a buffer.
  std::optional<Lease> take();
  std::size_t idle() const noexcept { return idle_.size(); }
  // Bytes of grown pipes alive (idle or leased), never more than the budget.
  std::size_t large_bytes() const noexcept { return large_bytes_; }
  void set_large_budget(std::size_t bytes) noexcept { large_budget_ = bytes; }

 private:
  void give(Pipe pipe, bool dirty);
  void close(Pipe pipe) noexcept;
  std::size_t keep_;
  std::size_t large_budget_;
  std::size_t large_bytes_ = 0;
  std::vector<Pipe> idle_;
};

struct RelayResources {
  RelayMode mode = RelayMode::splice;
  BufferPool buffers{64};
  PipePool pipes{64};
};

}  // namespace fqdngate
