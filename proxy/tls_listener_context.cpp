#include "proxy/tls_listener_context.hpp"

#include <openssl/err.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

namespace fqdngate {
namespace {

[[noreturn]] void fail(const std::string& what) {
  const unsigned long e = ERR_peek_last_error();
  std::string message = what;
  if (e != 0) {
    const char* reason = ERR_reason_error_string(e);
    message += ": " + std::string(reason != nullptr ? reason : "OpenSSL error");
  }
  ERR_clear_error();
  throw std::runtime_error(message);
}

// OpenSSL reports a missing file as "system lib"; say what the operator can fix.
void check_readable(const char* key, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    throw std::runtime_error(std::string(key) + " " + path +
                             ": cannot read: " + std::strerror(errno));
  }
  std::fclose(f);
}

}  // namespace

SslContext make_tls_listener_context(const policy::TlsListenerFiles& files) {
  check_readable("tls.cert", files.cert);
  check_readable("tls.key", files.key);
  if (!files.client_ca.empty()) check_readable("tls.client_ca", files.client_ca);
  ERR_clear_error();
  SslContext ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) fail("cannot create a TLS context");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // A client that drops the TCP connection without close_notify ends its direction like a FIN:
  // the tunnelled TLS carries its own integrity, so truncation of the outer layer is harmless.
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  // Idle tunnels should not hold OpenSSL's 16 KiB record buffers.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.cert.c_str()) != 1) {
    fail("tls.cert " + files.cert + ": cannot load the certificate chain (PEM)");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    fail("tls.key " + files.key + ": cannot load the private key (PEM, unencrypted)");
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    fail("tls.key " + files.key + " does not match tls.cert " + files.cert);
  }
  if (!files.client_ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), files.client_ca.c_str(), nullptr) != 1) {
      fail("tls.client_ca " + files.client_ca + ": cannot load the CA certificates (PEM)");
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str());
    if (names == nullptr) fail("tls.client_ca " + files.client_ca + ": no CA names");
    SSL_CTX_set_client_CA_list(ctx.get(), names);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    // Resumed sessions keep the identity of the certificate verified in the full handshake.
    static constexpr unsigned char kContext[] = "fqdngate";
    SSL_CTX_set_session_id_context(ctx.get(), kContext, sizeof kContext - 1);
  }
  return ctx;
}

}  // namespace fqdngate
