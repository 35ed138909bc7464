// Test-side builder for synthetic TLS ClientHellos: every length prefix is computed from the
// fields, so a test breaks exactly the one field it is about and nothing else.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tls_test {

using Bytes = std::vector<std::uint8_t>;

inline void put_u8(Bytes& b, std::size_t v) {
  b.push_back(static_cast<std::uint8_t>(v));
}

inline void put_u16(Bytes& b, std::size_t v) {
  put_u8(b, v >> 8);
  put_u8(b, v & 0xff);
}

inline void put_u24(Bytes& b, std::size_t v) {
  put_u8(b, v >> 16);
  put_u16(b, v & 0xffff);
}

inline void append(Bytes& b, const Bytes& more) {
  b.insert(b.end(), more.begin(), more.end());
}

inline void append(Bytes& b, const std::string& more) {
  b.insert(b.end(), more.begin(), more.end());
}

// type(2) + u16-prefixed extension_data
inline Bytes extension(std::uint16_t type, const Bytes& data) {
  Bytes b;
  put_u16(b, type);
  put_u16(b, data.size());
  append(b, data);
  return b;
}

// server_name (0): u16 list length, then per entry name_type(1) + u16-prefixed name.
struct ServerName {
  std::uint8_t type = 0;  // 0 = host_name
  std::string name;
};

inline Bytes sni_extension(const std::vector<ServerName>& entries) {
  Bytes list;
  for (const auto& e : entries) {
    put_u8(list, e.type);
    put_u16(list, e.name.size());
    append(list, e.name);
  }
  Bytes data;
  put_u16(data, list.size());
  append(data, list);
  return extension(0, data);
}

inline Bytes sni_extension(const std::string& host) {
  return sni_extension({{0, host}});
}

// application_layer_protocol_negotiation (16): u16 list length, entries u8-prefixed names.
inline Bytes alpn_extension(const std::vector<std::string>& protocols) {
  Bytes list;
  for (const auto& p : protocols) {
    put_u8(list, p.size());
    append(list, p);
  }
  Bytes data;
  put_u16(data, list.size());
  append(data, list);
  return extension(16, data);
}

// The ClientHello body, field by field (RFC 8446 section 4.1.2).
struct HelloFields {
  std::uint16_t legacy_version = 0x0303;  // TLS 1.2, as TLS 1.3 clients send
  Bytes random = Bytes(32, 0xab);
  Bytes session_id = Bytes(32, 0xcd);              // u8-prefixed, at most 32
  Bytes cipher_suites = {0x13, 0x01, 0x13, 0x02};  // u16-prefixed: AES-128-GCM, AES-256-GCM
  Bytes compression_methods = {0};                 // u8-prefixed: null
  std::optional<std::vector<Bytes>> extensions = std::vector<Bytes>{};  // nullopt: no block
  Bytes after_extensions;  // bytes past the extensions block (none in a valid hello)
};

// Handshake message: msg_type(1) = client_hello, u24 length, body.
inline Bytes hello_message(const HelloFields& f) {
  Bytes body;
  put_u16(body, f.legacy_version);
  append(body, f.random);
  put_u8(body, f.session_id.size());
  append(body, f.session_id);
  put_u16(body, f.cipher_suites.size());
  append(body, f.cipher_suites);
  put_u8(body, f.compression_methods.size());
  append(body, f.compression_methods);
  if (f.extensions) {
    Bytes block;
    for (const auto& e : *f.extensions)
      append(block, e);
    put_u16(body, block.size());
    append(body, block);
  }
  append(body, f.after_extensions);
  Bytes msg{1};
  put_u24(msg, body.size());
  append(msg, body);
  return msg;
}

inline Bytes hello_message(const std::vector<Bytes>& extensions) {
  HelloFields f;
  f.extensions = extensions;
  return hello_message(f);
}

// Record header: content_type(1) = handshake (22), version(2), u16 length, then the fragment.
inline Bytes record(const Bytes& fragment, std::uint8_t type = 22, std::uint16_t version = 0x0301) {
  Bytes b;
  put_u8(b, type);
  put_u16(b, version);
  put_u16(b, fragment.size());
  append(b, fragment);
  return b;
}

// Frames a handshake message into handshake records whose sizes cycle through `sizes`.
inline Bytes in_records(const Bytes& message, const std::vector<std::size_t>& sizes) {
  Bytes out;
  std::size_t at = 0;
  for (std::size_t i = 0; at < message.size(); ++i) {
    const std::size_t n = std::min(sizes[i % sizes.size()], message.size() - at);
    append(out, record(Bytes(message.begin() + static_cast<std::ptrdiff_t>(at),
                             message.begin() + static_cast<std::ptrdiff_t>(at + n))));
    at += n;
  }
  return out;
}

inline Bytes in_record(const Bytes& message) {
  return record(message);
}

// The handshake message inside a capture that is a single record.
inline Bytes message_of(const Bytes& single_record) {
  return Bytes(single_record.begin() + 5, single_record.end());
}

}  // namespace tls_test
