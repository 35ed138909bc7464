#include "proxy/client_hello_parser.hpp"

#include <algorithm>
#include <array>

#include "proxy/byte_reader.hpp"

namespace fqdngate {

namespace {

constexpr std::uint8_t kHandshakeRecord = 22;
constexpr std::uint8_t kClientHello = 1;
constexpr std::size_t kRecordHeader = 5;
constexpr std::size_t kHandshakeHeader = 4;
// TLSPlaintext fragments are at most 2^14 bytes; the 256 bytes of slack that TLS 1.3 grants
// ciphertext keep an odd but harmless client from being refused for framing alone.
constexpr std::size_t kMaxRecord = (1u << 14) + 256;
constexpr std::uint16_t kServerName = 0;
constexpr std::uint16_t kAlpn = 16;
constexpr std::uint16_t kEncryptedClientHello = 0xfe0d;

}  // namespace

ClientHelloParser::ClientHelloParser(std::size_t max_bytes) : max_bytes_(max_bytes) {}

FeedResult ClientHelloParser::fail(HelloError e, const char* detail, std::size_t consumed) {
  error_ = e;
  detail_ = detail;
  return FeedResult{ParseStatus::error, consumed};
}

FeedResult ClientHelloParser::feed(std::span<const std::uint8_t> chunk) {
  // A finished parser keeps its verdict: bytes after the hello belong to the TLS session.
  if (error_ != HelloError::none) return FeedResult{ParseStatus::error, 0};
  if (done_) return FeedResult{ParseStatus::done, 0};
  std::size_t i = 0;
  while (i < chunk.size()) {
    if (record_remaining_ == 0) {
      const std::size_t take = std::min(kRecordHeader - record_header_have_, chunk.size() - i);
      std::copy_n(chunk.begin() + static_cast<std::ptrdiff_t>(i), take,
                  record_header_ + record_header_have_);
      record_header_have_ += take;
      i += take;
      if (record_header_[0] != kHandshakeRecord) {
        // Plain HTTP, SSLv2-style hellos (high bit set) and anything else that is not TLS.
        if (!seen_record_) return fail(HelloError::not_tls, "not a TLS handshake record", i);
        return fail(HelloError::malformed, "non-handshake record inside the ClientHello", i);
      }
      if (record_header_have_ < kRecordHeader) break;
      if (record_header_[1] != 3) {
        return fail(seen_record_ ? HelloError::malformed : HelloError::not_tls,
                    "record version is not TLS", i);
      }
      const std::size_t length = std::size_t{record_header_[3]} << 8 | record_header_[4];
      if (length == 0) return fail(HelloError::malformed, "empty handshake record", i);
      if (length > kMaxRecord)
        return fail(HelloError::malformed, "record length exceeds 2^14+256", i);
      if (!seen_record_)
        info_.record_version = std::uint16_t(record_header_[1] << 8 | record_header_[2]);
      seen_record_ = true;
      record_remaining_ = length;
      record_header_have_ = 0;
      continue;
    }

    const std::size_t take = std::min(record_remaining_, chunk.size() - i);
    // Keep only the ClientHello itself; bytes after it in the same record are not ours to parse.
    const std::size_t wanted = message_length_
                                   ? kHandshakeHeader + *message_length_ - handshake_.size()
                                   : kHandshakeHeader - handshake_.size();
    const std::size_t keep = std::min(take, wanted);
    handshake_.insert(handshake_.end(), chunk.begin() + static_cast<std::ptrdiff_t>(i),
                      chunk.begin() + static_cast<std::ptrdiff_t>(i + keep));
    if (!message_length_ && handshake_.size() == kHandshakeHeader) {
      if (handshake_[0] != kClientHello) {
        return fail(HelloError::malformed, "first handshake message is not a ClientHello",
                    i + keep);
      }
      const std::size_t length =
          std::size_t{handshake_[1]} << 16 | std::size_t{handshake_[2]} << 8 | handshake_[3];
      if (length > max_bytes_) {
        return fail(HelloError::too_large, "ClientHello larger than the limit", i + keep);
      }
      message_length_ = length;
    }
    const bool complete =
        message_length_ && handshake_.size() == kHandshakeHeader + *message_length_;
    // Only a just-completed handshake header leaves body bytes of this record unread here.
    const std::size_t advance = complete || keep == take ? take : keep;
    i += advance;
    record_remaining_ -= advance;
    if (complete) {
      if (!parse_message()) return FeedResult{ParseStatus::error, i};
      done_ = true;
      return FeedResult{ParseStatus::done, i};
    }
  }
  return FeedResult{ParseStatus::need_more, chunk.size()};
}

bool ClientHelloParser::set_error(HelloError e, const char* detail) {
  error_ = e;
  detail_ = detail;
  return false;
}

bool ClientHelloParser::parse_message() {
  ByteReader body(std::span<const std::uint8_t>(handshake_).subspan(kHandshakeHeader));
  ByteReader session_id;
  ByteReader cipher_suites;
  ByteReader compression;
  if (!body.get_u16(info_.legacy_version) || !body.skip(32)) {
    return set_error(HelloError::malformed, "ClientHello shorter than version and random");
  }
  if (info_.legacy_version < 0x0301) {
    // SSL 3.0 and older are broken protocols, and no client fqdngate serves still speaks them.
    return set_error(HelloError::not_tls, "SSL 3.0 or older ClientHello");
  }
  if (!body.get_u8_prefixed(session_id) || session_id.remaining() > 32) {
    return set_error(HelloError::malformed, "bad session id");
  }
  if (!body.get_u16_prefixed(cipher_suites) || cipher_suites.empty() ||
      cipher_suites.remaining() % 2 != 0) {
    return set_error(HelloError::malformed, "bad cipher suite list");
  }
  if (!body.get_u8_prefixed(compression) || compression.empty()) {
    return set_error(HelloError::malformed, "bad compression method list");
  }
  if (body.empty()) return true;  // no extensions: legal, and then there is no SNI
  ByteReader extensions;
  if (!body.get_u16_prefixed(extensions) || !body.empty()) {
    return set_error(HelloError::malformed, "extension block length does not match the message");
  }
  return parse_extensions(extensions);
}

bool ClientHelloParser::parse_extensions(ByteReader extensions) {
  // Framing and duplicates are checked over the whole block before any extension is read, so a
  // repeated server_name is reported as the duplicate it is. Real hellos carry a few dozen
  // extensions: their types are sorted on the stack, and only an odd block needs the heap.
  constexpr std::size_t kInlineTypes = 64;
  std::array<std::uint16_t, kInlineTypes> inline_types;
  std::vector<std::uint16_t> more_types;
  std::size_t count = 0;
  for (ByteReader scan = extensions; !scan.empty(); ++count) {
    std::uint16_t type = 0;
    ByteReader data;
    if (!scan.get_u16(type) || !scan.get_u16_prefixed(data)) {
      return set_error(HelloError::malformed, "extension runs past the end of the block");
    }
    if (count < kInlineTypes) {
      inline_types[count] = type;
    } else {
      if (more_types.empty()) more_types.assign(inline_types.begin(), inline_types.end());
      more_types.push_back(type);
    }
  }
  const std::span<std::uint16_t> types = count <= kInlineTypes
                                             ? std::span<std::uint16_t>(inline_types.data(), count)
                                             : std::span<std::uint16_t>(more_types);
  std::sort(types.begin(), types.end());
  if (std::adjacent_find(types.begin(), types.end()) != types.end()) {
    return set_error(HelloError::malformed, "duplicate extension");
  }
  while (!extensions.empty()) {
    std::uint16_t type = 0;
    ByteReader data;
    extensions.get_u16(type);  // the framing was checked above
    extensions.get_u16_prefixed(data);
    if (type == kServerName && !parse_server_name(data)) return false;
    if (type == kAlpn && !parse_alpn(data)) return false;
    if (type == kEncryptedClientHello) info_.offers_ech = true;
  }
  return true;
}

bool ClientHelloParser::parse_server_name(ByteReader data) {
  ByteReader list;
  if (!data.get_u16_prefixed(list) || !data.empty() || list.empty()) {
    return set_error(HelloError::malformed, "bad server_name list");
  }
  while (!list.empty()) {
    std::uint8_t name_type = 0;
    ByteReader name;
    if (!list.get_u8(name_type) || !list.get_u16_prefixed(name)) {
      return set_error(HelloError::malformed, "server_name entry runs past the list");
    }
    if (name_type != 0) continue;  // only host_name (0) is defined; others are skipped
    if (info_.has_sni) return set_error(HelloError::malformed, "multiple SNI host names");
    if (name.empty()) return set_error(HelloError::malformed, "empty SNI host name");
    const auto bytes = name.rest();
    if (!std::all_of(bytes.begin(), bytes.end(),
                     [](std::uint8_t c) { return c > 0x20 && c < 0x7f; })) {
      return set_error(HelloError::malformed, "SNI host name has non-printable bytes");
    }
    info_.has_sni = true;
    info_.sni.assign(bytes.begin(), bytes.end());
  }
  return true;
}

bool ClientHelloParser::parse_alpn(ByteReader data) {
  ByteReader list;
  if (!data.get_u16_prefixed(list) || !data.empty() || list.empty()) {
    return set_error(HelloError::malformed, "bad ALPN list");
  }
  while (!list.empty()) {
    ByteReader protocol;
    if (!list.get_u8_prefixed(protocol) || protocol.empty()) {
      return set_error(HelloError::malformed, "bad ALPN protocol name");
    }
    const auto bytes = protocol.rest();
    info_.alpn.emplace_back(bytes.begin(), bytes.end());
  }
  return true;
}

}  // namespace fqdngate
