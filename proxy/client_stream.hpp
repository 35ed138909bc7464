// The client side of a session: an accepted TCP socket, used as is on a plain listener or
// wrapped in TLS on a `tls` listener (clients with an https:// proxy URL).
// Contract: all members run on the session's worker thread. One read and one write may be in
// flight at once (the relay's two directions); cancel() ends both, and the TLS handshake, with
// operation_aborted. TLS I/O is driven by OpenSSL on the non-blocking descriptor with readiness
// waits, so no OpenSSL call ever blocks the thread.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

namespace fqdngate {

class ClientStream {
 public:
  using Result = std::tuple<boost::system::error_code, std::size_t>;

  // `tls` null: plain TCP.
  ClientStream(boost::asio::ip::tcp::socket socket, SSL_CTX* tls);

  boost::asio::ip::tcp::socket& socket() noexcept { return socket_; }
  bool is_tls() const noexcept { return ssl_ != nullptr; }

  // TLS only: the server side of the handshake. On failure `error_text()` says why in words an
  // operator can act on (OpenSSL's reason, e.g. "peer did not return a certificate").
  boost::asio::awaitable<boost::system::error_code> handshake();
  const std::string& error_text() const noexcept { return error_text_; }
  // The verified client certificate's subject CN (or the whole subject when it has no CN).
  std::optional<std::string> peer_identity() const;

  // Completes when a read would make progress: decrypted bytes are buffered or the socket is
  // readable. Lets the relay wait without holding a buffer.
  boost::asio::awaitable<boost::system::error_code> wait_readable();
  // Reads what is available (at least one byte); eof when the client finished sending.
  boost::asio::awaitable<Result> read_some(boost::asio::mutable_buffer buffer);
  boost::asio::awaitable<Result> write_all(boost::asio::const_buffer buffer);
  // Tells the client we will send nothing more: TLS close_notify (when TLS), then FIN. Reads may
  // continue (half-close).
  boost::asio::awaitable<void> shutdown_send();

  void cancel() noexcept;
  void close() noexcept;

  // TLS only, for relays driven by completion handlers: one non-blocking attempt each. `want`
  // says what the socket must become before the same call is repeated (with the same arguments
  // for a write); done means `n` bytes moved (or the close_notify went out); failed carries
  // `ec`, eof when the client finished sending.
  enum class Want { done, read, write, failed };
  struct Step {
    Want want = Want::done;
    boost::system::error_code ec;
    std::size_t n = 0;
  };
  Step try_read(boost::asio::mutable_buffer buffer);
  Step try_write(boost::asio::const_buffer buffer);
  Step try_shutdown();
  // close_notify is one small record; a client that will not take it within a few tries of
  // writability is dropped by the session deadline anyway.
  static constexpr int kShutdownAttempts = 4;
  // Decrypted bytes are waiting: a read makes progress without the socket being readable.
  bool has_buffered_input() const noexcept;

 private:
  struct SslFree {
    void operator()(SSL* s) const noexcept { SSL_free(s); }
  };
  // Turns the result of an SSL_* call into what to wait for; sets `ec` when it failed.
  Want classify(int ret, boost::system::error_code& ec);
  boost::asio::awaitable<boost::system::error_code> wait_for(Want want);

  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<SSL, SslFree> ssl_;
  std::string error_text_;
};

}  // namespace fqdngate
