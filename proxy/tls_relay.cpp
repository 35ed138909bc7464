#include "proxy/tls_relay.hpp"

#include <sys/socket.h>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <memory>
#include <optional>

namespace fqdngate {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

using Want = ClientStream::Want;

class TlsJob : public std::enable_shared_from_this<TlsJob> {
 public:
  TlsJob(ClientStream& client, tcp::socket& upstream, RelayState& state, RelayResources& resources,
         std::function<void()> on_done)
      : client_(client),
        upstream_(upstream),
        state_(state),
        resources_(resources),
        on_done_(std::move(on_done)) {}

  void start() {
    wait_client_readable();
    wait_upstream_readable();
  }

 private:
  // Each direction has at most one operation in flight, and only its own handlers touch its
  // buffer; `done` once it has passed on its end or failed.
  struct Direction {
    std::optional<BufferPool::Lease> buffer;
    bool done = false;
  };

  // Runs `then` once `socket` is ready for what `want` asks; an error fails `d`.
  template <class Then>
  void wait(Direction& d, tcp::socket& socket, Want want, bool client_side, Then then) {
    if (state_.cancelled) return fail(d, asio::error::operation_aborted, client_side);
    const auto what = want == Want::write ? tcp::socket::wait_write : tcp::socket::wait_read;
    socket.async_wait(what, [self = shared_from_this(), &d, client_side,
                             then](const boost::system::error_code& ec) {
      if (ec) return self->fail(d, ec, client_side);
      then(*self);
    });
  }

  // --- client -> upstream: decrypt, write in the clear ----------------------------------------

  void wait_client_readable() {
    // Bytes OpenSSL has already decrypted will not make the socket readable again.
    if (client_.has_buffered_input()) {
      asio::post(upstream_.get_executor(),
                 [self = shared_from_this()] { self->read_from_client(); });
      return;
    }
    wait(up_, client_.socket(), Want::read, true, [](TlsJob& j) { j.read_from_client(); });
  }

  void read_from_client() {
    up_.buffer.emplace(resources_.buffers.take());
    const auto step = client_.try_read(asio::buffer(up_.buffer->data(), BufferPool::kBufferSize));
    if (step.want == Want::done) {
      if (state_.cancelled) return fail(up_, asio::error::operation_aborted, false);
      state_.last_activity = Clock::now();
      asio::async_write(
          upstream_, asio::buffer(up_.buffer->data(), step.n),
          [self = shared_from_this()](const boost::system::error_code& ec, std::size_t written) {
            self->state_.bytes_up += written;
            self->up_.buffer.reset();
            if (ec) return self->fail(self->up_, ec, false);
            self->wait_client_readable();
          });
      return;
    }
    up_.buffer.reset();
    if (step.want == Want::failed) {
      if (step.ec != asio::error::eof) return fail(up_, step.ec, true);
      boost::system::error_code ignored;
      upstream_.shutdown(tcp::socket::shutdown_send, ignored);
      return finish(up_);
    }
    wait(up_, client_.socket(), step.want, true, [](TlsJob& j) { j.read_from_client(); });
  }

  // --- upstream -> client: read in the clear, encrypt ------------------------------------------

  void wait_upstream_readable() {
    if (state_.cancelled) return fail(down_, asio::error::operation_aborted, false);
    upstream_.async_wait(tcp::socket::wait_read,
                         [self = shared_from_this()](const boost::system::error_code& ec) {
                           if (ec) return self->fail(self->down_, ec, false);
                           self->read_from_upstream();
                         });
  }

  void read_from_upstream() {
    down_.buffer.emplace(resources_.buffers.take());
    ssize_t got = 0;
    do {
      got = ::recv(upstream_.native_handle(), down_.buffer->data(), BufferPool::kBufferSize,
                   MSG_DONTWAIT);
    } while (got < 0 && errno == EINTR);
    if (got <= 0) {
      const boost::system::error_code ec(errno, boost::system::system_category());
      down_.buffer.reset();
      if (got == 0) return close_client();
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        return wait_upstream_readable();  // woken without data
      }
      return fail(down_, ec, false);
    }
    state_.last_activity = Clock::now();
    down_length_ = static_cast<std::size_t>(got);
    down_written_ = 0;
    write_to_client();
  }

  void write_to_client() {
    while (down_written_ < down_length_) {
      // After WANT_READ or WANT_WRITE OpenSSL wants the same arguments again: they are.
      const auto step = client_.try_write(
          asio::buffer(down_.buffer->data() + down_written_, down_length_ - down_written_));
      if (step.want == Want::done) {
        down_written_ += step.n;
        state_.bytes_down += step.n;
        continue;
      }
      if (step.want == Want::failed) {
        down_.buffer.reset();
        return fail(down_, step.ec, true);
      }
      return wait(down_, client_.socket(), step.want, true, [](TlsJob& j) { j.write_to_client(); });
    }
    down_.buffer.reset();
    wait_upstream_readable();
  }

  // The upstream finished sending: close_notify, then FIN; the client may keep sending.
  void close_client() {
    const auto step = client_.try_shutdown();
    if ((step.want == Want::read || step.want == Want::write) &&
        ++shutdown_attempts_ < ClientStream::kShutdownAttempts && !state_.cancelled) {
      const auto what = step.want == Want::write ? tcp::socket::wait_write : tcp::socket::wait_read;
      client_.socket().async_wait(
          what, [self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec) return self->end_client_side();  // FIN without the close_notify
            self->close_client();
          });
      return;
    }
    end_client_side();
  }

  void end_client_side() {
    boost::system::error_code ignored;
    client_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    finish(down_);
  }

  // ---------------------------------------------------------------------------------------------

  void fail(Direction& d, const boost::system::error_code& ec, bool client_side) {
    d.buffer.reset();
    record_failure(state_, ec, client_side);
    boost::system::error_code ignored;
    client_.cancel();
    upstream_.cancel(ignored);
    finish(d);
  }

  void finish(Direction& d) {
    d.done = true;
    if (!up_.done || !down_.done) return;
    auto done = std::move(on_done_);
    done();
  }

  ClientStream& client_;
  tcp::socket& upstream_;
  RelayState& state_;
  RelayResources& resources_;
  std::function<void()> on_done_;
  Direction up_;                  // client -> upstream
  Direction down_;                // upstream -> client
  std::size_t down_length_ = 0;   // bytes read from upstream into down_.buffer
  std::size_t down_written_ = 0;  // of which the client has taken this many
  int shutdown_attempts_ = 0;
};

}  // namespace

void start_tls_relay(ClientStream& client, tcp::socket& upstream, RelayState& state,
                     RelayResources& resources, std::function<void()> on_done) {
  auto job = std::make_shared<TlsJob>(client, upstream, state, resources, std::move(on_done));
  job->start();
}

}  // namespace fqdngate
