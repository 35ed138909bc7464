// The OpenSSL server context of a `tls` listener, built once at start-up and shared by every
// worker (SSL_CTX is safe to share for SSL_new).
// Contract: throws std::runtime_error saying which file failed and why (unreadable, not PEM, key
// does not match the certificate). TLS 1.2 is the minimum; with client_ca, a client must
// present a certificate that chains to it or the handshake fails.
#pragma once

#include <openssl/ssl.h>

#include <memory>

#include "policy/policy.hpp"

namespace fqdngate {

using SslContext = std::shared_ptr<SSL_CTX>;

SslContext make_tls_listener_context(const policy::TlsListenerFiles& files);

}  // namespace fqdngate
