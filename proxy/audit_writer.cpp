#include "proxy/audit_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "proxy/audit_record.hpp"

namespace fqdngate {

namespace {

constexpr std::size_t kKeptBufferBytes = 1 << 20;

}  // namespace

AuditWriter::AuditWriter(const std::string& path, std::size_t max_queued_lines)
    : max_queued_(max_queued_lines) {
  if (path == "-") {
    fd_ = STDOUT_FILENO;
  } else {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd_ < 0) {
      throw std::runtime_error("cannot open audit log " + path + ": " + std::strerror(errno));
    }
    owns_fd_ = true;
  }
  thread_ = std::thread([this] { run(); });
}

AuditWriter::~AuditWriter() {
  stop();
  if (owns_fd_) ::close(fd_);
}

void AuditWriter::write(std::string_view line) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (queued_lines_ >= max_queued_) {
      ++dropped_;
      return;
    }
    queue_.append(line);
    ++queued_lines_;
    wake = asleep_;
    asleep_ = false;
  }
  if (wake) wake_.notify_one();
}

void AuditWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      if (thread_.joinable()) thread_.join();
      return;
    }
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void AuditWriter::write_all(const std::string& data) {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Nowhere left to report to but stderr; the proxy keeps running.
      std::fprintf(stderr, "fqdngate: audit write failed: %s\n", std::strerror(errno));
      return;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void AuditWriter::run() {
  // Swapped with queue_ each round: the two buffers keep their capacity.
  std::string data;
  for (;;) {
    std::uint64_t dropped = 0;
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      const auto ready = [this] { return stopping_ || !queue_.empty(); };
      // Busy: collect for up to kLinger without being signalled. Idle: sleep until woken.
      if (!wake_.wait_for(lock, kLinger, ready)) {
        asleep_ = true;
        wake_.wait(lock, ready);
        asleep_ = false;
      }
      data.clear();
      data.swap(queue_);
      queued_lines_ = 0;
      dropped = dropped_;
      dropped_ = 0;
      stopping = stopping_;
    }
    if (dropped > 0) {
      data += "{\"time\":\"";
      append_rfc3339_ms(data, std::chrono::system_clock::now());
      data += "\",\"event\":\"audit_dropped\",\"count\":" + std::to_string(dropped) + "}\n";
    }
    if (!data.empty()) write_all(data);
    // A burst may have grown the buffer to many megabytes; do not keep that for good.
    if (data.capacity() > kKeptBufferBytes) std::string().swap(data);
    if (stopping) {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) return;
    }
  }
}

}  // namespace fqdngate
