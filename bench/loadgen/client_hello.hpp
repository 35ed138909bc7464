// A TLS 1.3 ClientHello record carrying a given SNI, shaped like OpenSSL 3's default one
// (cipher suites, groups, signature algorithms, a 32-byte X25519 key share), ~250 bytes plus
// the name. fqdngate parses it and compares the SNI with the CONNECT host; the echo origin
// returns it unchanged.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace loadgen {

std::vector<unsigned char> build_client_hello(std::string_view sni);

}  // namespace loadgen
