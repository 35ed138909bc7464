#include "proxy/plain_relay.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <boost/asio/error.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <optional>

#include "proxy/errno_code.hpp"

namespace fqdngate {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// A direction that keeps filling its pipe (or buffer) goes on reading without waiting for the
// next readiness event, which would cost an epoll_ctl and an epoll_wait per chunk; after this
// many bytes it waits anyway, so one busy tunnel cannot hold up the others on its worker.
constexpr std::size_t kBytesPerWake = 1 << 20;

class Job : public std::enable_shared_from_this<Job> {
 public:
  Job(tcp::socket& client, tcp::socket& upstream, RelayState& state, RelayResources& resources,
      std::shared_ptr<void> keep_alive, std::function<void()> on_done)
      : up_{&client, &upstream, &state.bytes_up, true, std::nullopt, 0, std::nullopt, false},
        down_{&upstream, &client, &state.bytes_down, false, std::nullopt, 0, std::nullopt, false},
        state_(state),
        resources_(resources),
        keep_alive_(std::move(keep_alive)),
        on_done_(std::move(on_done)) {}

  void start() {
    wait_readable(up_);
    wait_readable(down_);
  }

 private:
  struct Direction {
    tcp::socket* from;
    tcp::socket* to;
    std::uint64_t* counter;
    bool from_is_client;
    std::optional<PipePool::Lease> pipe;  // held only while bytes are in it
    std::size_t in_pipe = 0;
    std::optional<BufferPool::Lease> buffer;  // held only while a write is in flight
    std::size_t this_wake = 0;                // bytes read since the last readiness event
    bool filled = false;  // the last read took all the pipe or buffer could hold
    bool done = false;
  };

  // Waits holding nothing: this is where an idle tunnel spends its life.
  void wait_readable(Direction& d) {
    if (state_.cancelled) return fail(d, asio::error::operation_aborted, d.from_is_client);
    d.from->async_wait(tcp::socket::wait_read,
                       [self = shared_from_this(), &d](const boost::system::error_code& ec) {
                         self->on_readable(d, ec);
                       });
  }

  void on_readable(Direction& d, const boost::system::error_code& ec) {
    if (ec) return fail(d, ec, d.from_is_client);
    state_.last_activity = std::chrono::steady_clock::now();
    d.this_wake = 0;
    read_more(d);
  }

  void read_more(Direction& d) {
    if (resources_.mode == RelayMode::splice && !d.pipe) {
      if (auto lease = resources_.pipes.take()) d.pipe.emplace(std::move(*lease));
    }
    if (d.pipe) {
      splice_in(d);
    } else {
      copy(d);
    }
  }

  // After a chunk went out: read on at once while the source kept up, else wait holding nothing.
  void next_read(Direction& d) {
    if (d.filled && d.this_wake < kBytesPerWake) return read_more(d);
    d.pipe.reset();
    wait_readable(d);
  }

  void splice_in(Direction& d) {
    const std::size_t capacity = d.pipe->pipe().capacity;
    ssize_t n = 0;
    do {
      n = ::splice(d.from->native_handle(), nullptr, d.pipe->pipe().write_end, nullptr, capacity,
                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
      d.pipe.reset();
      return end_of_input(d);
    }
    if (n < 0) {
      const auto ec = errno_code();
      d.pipe.reset();
      if (ec == asio::error::would_block) return wait_readable(d);  // woken without data
      return fail(d, ec, d.from_is_client);
    }
    d.pipe->set_dirty(true);
    d.in_pipe = static_cast<std::size_t>(n);
    d.this_wake += d.in_pipe;
    d.filled = d.in_pipe == capacity;
    drain(d);
  }

  void drain(Direction& d) {
    while (d.in_pipe > 0) {
      const ssize_t n = ::splice(d.pipe->pipe().read_end, nullptr, d.to->native_handle(), nullptr,
                                 d.in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        d.in_pipe -= static_cast<std::size_t>(n);
        *d.counter += static_cast<std::uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {  // the receiver's socket buffer is full
        if (state_.cancelled) return fail(d, asio::error::operation_aborted, !d.from_is_client);
        d.to->async_wait(tcp::socket::wait_write,
                         [self = shared_from_this(), &d](const boost::system::error_code& ec) {
                           if (ec) return self->fail(d, ec, !d.from_is_client);
                           self->drain(d);
                         });
        return;
      }
      return fail(d, n == 0 ? asio::error::broken_pipe : errno_code(), !d.from_is_client);
    }
    d.pipe->set_dirty(false);
    next_read(d);
  }

  // The fallback: through a pooled buffer.
  void copy(Direction& d) {
    d.buffer.emplace(resources_.buffers.take());
    ssize_t got = 0;
    do {
      got =
          ::recv(d.from->native_handle(), d.buffer->data(), BufferPool::kBufferSize, MSG_DONTWAIT);
    } while (got < 0 && errno == EINTR);
    if (got <= 0) {
      const auto ec = errno_code();
      d.buffer.reset();
      if (got == 0) return end_of_input(d);
      if (ec == asio::error::would_block || ec == asio::error::try_again) return wait_readable(d);
      return fail(d, ec, d.from_is_client);
    }
    const auto n = static_cast<std::size_t>(got);
    d.this_wake += n;
    d.filled = n == BufferPool::kBufferSize;
    if (state_.cancelled) return fail(d, asio::error::operation_aborted, !d.from_is_client);
    asio::async_write(
        *d.to, asio::buffer(d.buffer->data(), n),
        [self = shared_from_this(), &d](const boost::system::error_code& wec, std::size_t written) {
          *d.counter += written;
          d.buffer.reset();
          if (wec) return self->fail(d, wec, !d.from_is_client);
          self->next_read(d);
        });
  }

  // When the other direction has ended already, nothing more can go either way: close() sends
  // the same FIN as shutdown() and the tunnel needs no second call to close the socket (HAProxy
  // does the same). Its receive queue is empty, read to EOF by the other direction, so the close
  // is graceful, not a reset.
  void end_of_input(Direction& d) {
    boost::system::error_code ignored;
    const Direction& other = &d == &up_ ? down_ : up_;
    if (other.done) {
      d.to->close(ignored);
    } else {
      d.to->shutdown(tcp::socket::shutdown_send, ignored);
    }
    finish(d);
  }

  void fail(Direction& d, const boost::system::error_code& ec, bool client_side) {
    d.pipe.reset();  // a dirty pipe is closed, never reused
    d.buffer.reset();
    record_failure(state_, ec, client_side);
    boost::system::error_code ignored;
    up_.from->cancel(ignored);
    down_.from->cancel(ignored);
    finish(d);
  }

  void finish(Direction& d) {
    d.done = true;
    if (!up_.done || !down_.done) return;
    auto done = std::move(on_done_);
    auto keep = std::move(keep_alive_);
    done();
  }

  Direction up_;
  Direction down_;
  RelayState& state_;
  RelayResources& resources_;
  std::shared_ptr<void> keep_alive_;
  std::function<void()> on_done_;
};

}  // namespace

void start_plain_relay(tcp::socket& client, tcp::socket& upstream, RelayState& state,
                       RelayResources& resources, std::shared_ptr<void> keep_alive,
                       std::function<void()> on_done) {
  // splice(2) waits on a blocking socket whatever its flags say. Asio switches a descriptor to
  // non-blocking for its first asynchronous operation, so a session's sockets already are and
  // this costs no system call.
  boost::system::error_code ignored;
  if (!client.native_non_blocking()) client.native_non_blocking(true, ignored);
  if (!upstream.native_non_blocking()) upstream.native_non_blocking(true, ignored);
  auto job = std::make_shared<Job>(client, upstream, state, resources, std::move(keep_alive),
                                   std::move(on_done));
  job->start();
}

}  // namespace fqdngate
