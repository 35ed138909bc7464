// Pure, incremental TLS ClientHello parser (SNI, ALPN, ECH presence).
// Contract: feed() the bytes the client sends after CONNECT, in any split. The parser reassembles
// the handshake message across TLS records (type 22), checks every length against its container,
// and returns done once the whole ClientHello has arrived; `consumed` = bytes of the last chunk
// up to the end of the record that completed it. Once done or failed, further feeds return the
// same status and consume nothing. It never stores more than max_bytes of handshake data, never
// reads out of bounds, and does no I/O. The caller keeps the raw bytes (they are forwarded
// upstream unchanged).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "proxy/byte_reader.hpp"
#include "proxy/parse_status.hpp"

namespace fqdngate {

struct ClientHelloInfo {
  bool has_sni = false;
  std::string sni;                // host_name as sent (not normalized), when has_sni
  std::vector<std::string> alpn;  // protocol names, in order
  bool offers_ech = false;        // encrypted_client_hello extension (0xfe0d) present
  std::uint16_t record_version = 0;
  std::uint16_t legacy_version = 0;  // client_version field
};

enum class HelloError {
  none,
  not_tls,    // not a TLS handshake record (incl. SSLv2-style hellos), or SSL 3.0 or older
  malformed,  // bad lengths, wrong handshake type, bad extension framing, >1 host_name
  too_large,  // handshake message larger than max_bytes
};

class ClientHelloParser {
 public:
  explicit ClientHelloParser(std::size_t max_bytes = 16 * 1024);

  FeedResult feed(std::span<const std::uint8_t> chunk);

  const ClientHelloInfo& info() const noexcept { return info_; }
  HelloError error() const noexcept { return error_; }
  const char* error_detail() const noexcept { return detail_; }

 private:
  FeedResult fail(HelloError e, const char* detail, std::size_t consumed);
  bool set_error(HelloError e, const char* detail);
  bool parse_message();
  bool parse_extensions(ByteReader extensions);
  bool parse_server_name(ByteReader data);
  bool parse_alpn(ByteReader data);

  std::size_t max_bytes_;
  std::uint8_t record_header_[5]{};
  std::size_t record_header_have_ = 0;
  std::size_t record_remaining_ = 0;  // body bytes of the current record still to come
  bool seen_record_ = false;
  std::optional<std::size_t> message_length_;  // once the handshake header is complete
  std::vector<std::uint8_t> handshake_;        // header + body, at most 4 + max_bytes_
  ClientHelloInfo info_;
  HelloError error_ = HelloError::none;
  bool done_ = false;
  const char* detail_ = "";
};

}  // namespace fqdngate
