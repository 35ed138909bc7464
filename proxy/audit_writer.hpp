// The audit sink: I/O threads hand over finished lines; one writer thread does the file I/O.
// Contract: write() never blocks on I/O and never throws; it copies the line into a queue that
// the writer takes whole, so no allocation is made or freed per line once the two buffers have
// grown. If the queue is over its bound (in lines) the line is dropped and counted, and the writer
// reports the count in an "audit_dropped" line, so loss is never silent. stop() flushes everything
// queued and joins the thread. A line reaches the file within kLinger of being written (the writer
// polls while busy, so a busy I/O thread does not pay a futex wake-up per line; only a writer
// asleep on an idle queue is woken).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace fqdngate {

class AuditWriter {
 public:
  // path "-" = stdout; otherwise the file is opened for append (created 0640). Throws
  // std::runtime_error naming the path when it cannot be opened.
  explicit AuditWriter(const std::string& path, std::size_t max_queued_lines = 1 << 17);
  ~AuditWriter();
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  static constexpr std::chrono::milliseconds kLinger{10};

  void write(std::string_view line);
  void stop();

 private:
  void run();
  void write_all(const std::string& data);

  int fd_ = -1;
  bool owns_fd_ = false;
  std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string queue_;  // whole lines, in the order written
  std::size_t queued_lines_ = 0;
  std::uint64_t dropped_ = 0;
  bool stopping_ = false;
  bool asleep_ = false;  // the writer waits without a timeout: the next write must wake it
  std::thread thread_;
};

}  // namespace fqdngate
