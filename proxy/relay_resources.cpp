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
  for (const auto& p : idle_) {
    ::close(p.read_end);
    ::close(p.write_end);
  }
}

std::optional<PipePool::Lease> PipePool::take() {
  if (!idle_.empty()) {
    const Pipe p = idle_.back();
    idle_.pop_back();
    return Lease(*this, p);
  }
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return std::nullopt;
  return Lease(*this, Pipe{fds[0], fds[1]});
}

void PipePool::give(Pipe pipe, bool dirty) {
  if (pipe.read_end < 0) return;  // moved-from lease
  if (!dirty && idle_.size() < keep_) {
    idle_.push_back(pipe);
    return;
  }
  ::close(pipe.read_end);
  ::close(pipe.write_end);
}

}  // namespace fqdngate
