#include "proxy/client_stream.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>

#include "proxy/socket_write.hpp"

namespace fqdngate {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

std::string openssl_reason(unsigned long e) {
  const char* reason = ERR_reason_error_string(e);
  return reason != nullptr ? reason : "TLS error " + std::to_string(e);
}

}  // namespace

ClientStream::ClientStream(tcp::socket socket, SSL_CTX* tls) : socket_(std::move(socket)) {
  if (tls == nullptr) return;
  ssl_.reset(SSL_new(tls));
  boost::system::error_code ignored;
  // OpenSSL reads and writes the descriptor itself; it must never block the worker thread.
  socket_.non_blocking(true, ignored);
  if (ssl_ && SSL_set_fd(ssl_.get(), static_cast<int>(socket_.native_handle())) == 1) {
    SSL_set_accept_state(ssl_.get());
  } else {
    error_text_ = "cannot set up TLS for this connection (out of memory?)";
  }
}

ClientStream::Want ClientStream::classify(int ret, boost::system::error_code& ec) {
  const int saved_errno = errno;
  switch (SSL_get_error(ssl_.get(), ret)) {
    case SSL_ERROR_NONE:
      return Want::done;
    case SSL_ERROR_WANT_READ:
      return Want::read;
    case SSL_ERROR_WANT_WRITE:
      return Want::write;
    case SSL_ERROR_ZERO_RETURN:
      ec = asio::error::eof;
      return Want::failed;
    case SSL_ERROR_SYSCALL:
      ec = saved_errno != 0
               ? boost::system::error_code(saved_errno, boost::system::system_category())
               : asio::error::eof;
      if (saved_errno != 0) error_text_ = ec.message();
      return Want::failed;
    default: {
      const unsigned long e = ERR_peek_last_error();
      error_text_ = openssl_reason(e);
      if (ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        error_text_ +=
            std::string(": ") + X509_verify_cert_error_string(SSL_get_verify_result(ssl_.get()));
      }
      ERR_clear_error();
      ec = boost::system::errc::make_error_code(boost::system::errc::protocol_error);
      return Want::failed;
    }
  }
}

asio::awaitable<boost::system::error_code> ClientStream::wait_for(Want want) {
  const auto what = want == Want::read ? tcp::socket::wait_read : tcp::socket::wait_write;
  auto [ec] = co_await socket_.async_wait(what, kNoThrow);
  co_return ec;
}

asio::awaitable<boost::system::error_code> ClientStream::handshake() {
  if (!ssl_) co_return boost::system::errc::make_error_code(boost::system::errc::not_enough_memory);
  for (;;) {
    ERR_clear_error();
    const int ret = SSL_do_handshake(ssl_.get());
    if (ret == 1) co_return boost::system::error_code{};
    boost::system::error_code ec;
    const Want want = classify(ret, ec);
    if (want == Want::failed) {
      if (error_text_.empty()) {
        error_text_ =
            ec == asio::error::eof ? "client closed during the TLS handshake" : ec.message();
      }
      co_return ec;
    }
    const auto waited = co_await wait_for(want);
    if (waited) co_return waited;
  }
}

std::optional<std::string> ClientStream::peer_identity() const {
  if (!ssl_) return std::nullopt;
  X509* cert = SSL_get0_peer_certificate(ssl_.get());
  if (cert == nullptr || SSL_get_verify_result(ssl_.get()) != X509_V_OK) return std::nullopt;
  X509_NAME* subject = X509_get_subject_name(cert);
  const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at >= 0) {
    unsigned char* utf8 = nullptr;
    const int n =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at)));
    if (n >= 0) {
      std::string cn(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
      OPENSSL_free(utf8);
      return cn;
    }
  }
  BIO* out = BIO_new(BIO_s_mem());
  if (out == nullptr) return std::nullopt;
  X509_NAME_print_ex(out, subject, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(out, &data);
  std::string text(data, n > 0 ? static_cast<std::size_t>(n) : 0);
  BIO_free(out);
  return text;
}

bool ClientStream::has_buffered_input() const noexcept {
  return ssl_ && SSL_has_pending(ssl_.get()) == 1;
}

ClientStream::Step ClientStream::try_read(asio::mutable_buffer buffer) {
  ERR_clear_error();
  Step step;
  const int ret = SSL_read_ex(ssl_.get(), buffer.data(), buffer.size(), &step.n);
  if (ret != 1) step.want = classify(ret, step.ec);
  return step;
}

ClientStream::Step ClientStream::try_write(asio::const_buffer buffer) {
  ERR_clear_error();
  Step step;
  const int ret = SSL_write_ex(ssl_.get(), buffer.data(), buffer.size(), &step.n);
  if (ret != 1) step.want = classify(ret, step.ec);
  return step;
}

ClientStream::Step ClientStream::try_shutdown() {
  ERR_clear_error();
  Step step;
  // 0: our close_notify is sent (the client's may follow); 1: both are done.
  const int ret = SSL_shutdown(ssl_.get());
  if (ret < 0) step.want = classify(ret, step.ec);
  return step;
}

asio::awaitable<boost::system::error_code> ClientStream::wait_readable() {
  if (has_buffered_input()) co_return boost::system::error_code{};
  auto [ec] = co_await socket_.async_wait(tcp::socket::wait_read, kNoThrow);
  co_return ec;
}

asio::awaitable<ClientStream::Result> ClientStream::read_some(asio::mutable_buffer buffer) {
  if (!ssl_) {
    auto [ec, n] = co_await socket_.async_read_some(buffer, kNoThrow);
    co_return Result{ec, n};
  }
  for (;;) {
    const Step step = try_read(buffer);
    if (step.want == Want::done) co_return Result{boost::system::error_code{}, step.n};
    if (step.want == Want::failed) co_return Result{step.ec, 0};
    const auto waited = co_await wait_for(step.want);
    if (waited) co_return Result{waited, 0};
  }
}

asio::awaitable<ClientStream::Result> ClientStream::write_all(asio::const_buffer buffer) {
  if (!ssl_) {
    auto plain = fqdngate::write_all(socket_, buffer);
    co_return co_await std::move(plain);
  }
  const auto* data = static_cast<const char*>(buffer.data());
  std::size_t done = 0;
  while (done < buffer.size()) {
    // A retry after WANT_WRITE repeats the same arguments, as OpenSSL requires.
    const Step step = try_write(asio::buffer(data + done, buffer.size() - done));
    if (step.want == Want::done) {
      done += step.n;
      continue;
    }
    if (step.want == Want::failed) co_return Result{step.ec, done};
    const auto waited = co_await wait_for(step.want);
    if (waited) co_return Result{waited, done};
  }
  co_return Result{boost::system::error_code{}, done};
}

asio::awaitable<void> ClientStream::shutdown_send() {
  if (ssl_ && SSL_is_init_finished(ssl_.get())) {
    for (int attempt = 0; attempt < kShutdownAttempts; ++attempt) {
      const Step step = try_shutdown();
      if (step.want == Want::done || step.want == Want::failed) break;
      const auto waited = co_await wait_for(step.want);
      if (waited) break;
    }
  }
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
}

void ClientStream::cancel() noexcept {
  boost::system::error_code ignored;
  socket_.cancel(ignored);
}

void ClientStream::close() noexcept {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

}  // namespace fqdngate
