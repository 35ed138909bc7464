#include "proxy/relay_resources.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace fqdngate {

BufferPool::Lease BufferPool::take() {
  if (idle_.empty()) return Lease(*this, std::make_unique_for_overwrite<char[]>(kBufferSize));
  auto data = std::move(idle_.back());
  idle_.pop_back();
  return Lease(*this, std::move(data));
}

void BufferPool::give(std::unique_ptr<char[]> data) {
  if (idle_.size() < keep_) idle_.push_back(std::move(data));
}

PipePool::~PipePool() {
  for (const auto& p : idle_)
    close(p);
}

std::optional<PipePool::Lease> PipePool::take() {
  if (!idle_.empty()) {
    const Pipe p = idle_.back();
    idle_.pop_back();
    return Lease(*this, p);
  }
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return std::nullopt;
  Pipe p{fds[0], fds[1], 0};
  if (large_bytes_ + kLargePipeBytes <= large_budget_) {
    // Refused (EPERM) above fs.pipe-max-size or over the user's soft limit: the pipe keeps its
    // default capacity, which F_GETPIPE_SZ then reports.
    const int grown = ::fcntl(p.write_end, F_SETPIPE_SZ, static_cast<int>(kLargePipeBytes));
    if (grown >= static_cast<int>(kLargePipeBytes)) {
      p.capacity = static_cast<std::size_t>(grown);
      large_bytes_ += p.capacity;
    }
  }
  if (p.capacity == 0) {
    const int size = ::fcntl(p.write_end, F_GETPIPE_SZ);
    p.capacity = size > 0 ? static_cast<std::size_t>(size) : 4096;  // a pipe holds a page at least
  }
  return Lease(*this, p);
}

void PipePool::give(Pipe pipe, bool dirty) {
  if (pipe.read_end < 0) return;  // moved-from lease
  if (!dirty && idle_.size() < keep_) {
    idle_.push_back(pipe);
    return;
  }
  close(pipe);
}

void PipePool::close(Pipe pipe) noexcept {
  if (pipe.capacity >= kLargePipeBytes) large_bytes_ -= pipe.capacity;
  ::close(pipe.read_end);
  ::close(pipe.write_end);
}

}  // namespace fqdngate
