// The relay with a TLS client side (a `tls` listener) on real loopback sockets: the handshake,
// bytes intact both ways, and half-close as close_notify in both directions.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <memory>
#include <random>
#include <thread>

#include "loopback_pair.hpp"
#include "proxy/client_stream.hpp"
#include "proxy/relay.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace fqdngate;
using fqdngate::test::connected_pair;
using fqdngate::test::random_bytes;
using fqdngate::test::read_to_eof;

namespace {

// A throw-away self-signed server certificate, made in memory.
std::shared_ptr<SSL_CTX> server_context() {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("proxy.test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  SSL_CTX_use_certificate(ctx.get(), cert);
  SSL_CTX_use_PrivateKey(ctx.get(), key);
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ctx;
}

// Blocking TLS client on the test's end of the socket.
struct TlsClient {
  explicit TlsClient(tcp::socket& s)
      : ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free), ssl(SSL_new(ctx.get()), SSL_free) {
    SSL_set_fd(ssl.get(), static_cast<int>(s.native_handle()));
  }
  bool connect() { return SSL_connect(ssl.get()) == 1; }
  bool write_all(const std::vector<char>& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      std::size_t n = 0;
      if (SSL_write_ex(ssl.get(), data.data() + done, data.size() - done, &n) != 1) return false;
      done += n;
    }
    return true;
  }
  // Everything until the server's close_notify; false on any other ending.
  bool read_to_close_notify(std::vector<char>& out) {
    std::array<char, 65536> buf;
    for (;;) {
      std::size_t n = 0;
      const int ret = SSL_read_ex(ssl.get(), buf.data(), buf.size(), &n);
      if (ret == 1) {
        out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
        continue;
      }
      return SSL_get_error(ssl.get(), ret) == SSL_ERROR_ZERO_RETURN;
    }
  }
  std::shared_ptr<SSL_CTX> ctx;
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl;
};

// A tunnel from a TLS client on loopback: the relay side (a ClientStream on an io_context of its
// own) shakes hands and then relays to the upstream pair's far end; the test drives client.near
// with TlsClient, and upstream.near. `done` says how the relay side ended.
struct TlsRig {
  RelayResources resources;  // first: it outlives the relay's handlers
  asio::io_context test_io;
  asio::io_context relay_io{1};
  fqdngate::test::Pair client = connected_pair(test_io, relay_io);
  fqdngate::test::Pair upstream = connected_pair(test_io, relay_io);
  std::shared_ptr<SSL_CTX> ctx = server_context();
  ClientStream stream{std::move(client.far), ctx.get()};
  RelayState state;
  std::promise<std::string> finished;
  std::future<std::string> done = finished.get_future();

  // What the test body works with, by name.
  struct Parts {
    fqdngate::test::Pair& client;
    fqdngate::test::Pair& upstream;
    RelayState& state;
    std::future<std::string>& done;
  };
  Parts parts() { return {client, upstream, state, done}; }

  // `cancelled`: the relay starts as after the session's cancel_io().
  void start(bool cancelled) {
    auto task = handshake_then_relay(cancelled);
    asio::co_spawn(relay_io, std::move(task), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }

  asio::awaitable<void> handshake_then_relay(bool cancelled) {
    auto shake = stream.handshake();
    const auto ec = co_await std::move(shake);
    if (ec) {
      finished.set_value("handshake: " + stream.error_text());
      co_return;
    }
    state.cancelled = cancelled;
    auto both_ways = relay(stream, upstream.far, state, resources);
    co_await std::move(both_ways);
    finished.set_value("relayed");
  }
};

}  // namespace

TEST_CASE("TLS client side: 1 MiB each way and half-close as close_notify", "[relay][tls]") {
  TlsRig rig;
  auto [client, upstream, state, done] = rig.parts();
  rig.start(false);
  std::thread runner([&] { rig.relay_io.run(); });

  TlsClient tls(client.near);
  REQUIRE(tls.connect());
  const auto up = random_bytes(1 << 20, 3);
  const auto down = random_bytes(1 << 20, 4);

  // The client sends everything and then close_notify; upstream sees all of it, then FIN.
  std::promise<bool> sent;
  std::thread sender([&] {
    const bool ok = tls.write_all(up);
    sent.set_value(ok && SSL_shutdown(tls.ssl.get()) >= 0);
  });
  const auto got_up = read_to_eof(upstream.near);
  sender.join();
  CHECK(sent.get_future().get());
  CHECK(got_up == up);

  // The other direction still works after the client's close_notify, and the upstream's FIN
  // reaches the client as close_notify (not a bare TCP close).
  asio::write(upstream.near, asio::buffer(down));
  upstream.near.shutdown(tcp::socket::shutdown_send);
  std::vector<char> got_down;
  CHECK(tls.read_to_close_notify(got_down));
  CHECK(got_down == down);

  REQUIRE(done.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(done.get() == "relayed");
  runner.join();
  CHECK(state.bytes_up == up.size());
  CHECK(state.bytes_down == down.size());
  CHECK(state.end == Reason::closed);
}

TEST_CASE("TLS client side: a client that is not speaking TLS fails the handshake with a reason",
          "[relay][tls]") {
  asio::io_context test_io;
  asio::io_context relay_io(1);
  auto client = connected_pair(test_io, relay_io);
  const auto ctx = server_context();
  ClientStream stream(std::move(client.far), ctx.get());
  std::promise<std::string> finished;
  auto done = finished.get_future();
  auto task = [&]() -> asio::awaitable<void> {
    auto shake = stream.handshake();
    const auto ec = co_await std::move(shake);
    finished.set_value(ec ? stream.error_text() : "handshake succeeded");
  };
  asio::co_spawn(relay_io, task(), asio::detached);
  std::thread runner([&] { relay_io.run(); });
  // A plain-HTTP client pointed at a TLS listener.
  asio::write(client.near, asio::buffer(std::string("CONNECT a.test:443 HTTP/1.1\r\n\r\n")));
  REQUIRE(done.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  runner.join();
  // OpenSSL recognises a proxy request sent in clear to a TLS port.
  CHECK(done.get() == "https proxy request");
}

TEST_CASE("TLS client side: a relay of a tunnel already cancelled ends at once", "[relay][tls]") {
  // As for plain tunnels: after the deadline or a server stop, no new wait may start.
  TlsRig rig;
  auto [client, upstream, state, done] = rig.parts();
  rig.start(true);
  std::thread runner([&] { rig.relay_io.run_for(std::chrono::seconds(10)); });

  TlsClient tls(client.near);
  REQUIRE(tls.connect());
  // The client stays silent after its handshake: only the flag can end the relay.
  const bool ended = done.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  rig.relay_io.stop();
  runner.join();
  REQUIRE(ended);
  CHECK(done.get() == "relayed");
  CHECK(state.end == Reason::closed);
  CHECK(state.bytes_up + state.bytes_down == 0);
}
