// Bounds-checked reading of binary protocol fields, after BoringSSL's CBS.
// Contract: every getter returns false (and consumes nothing) when the input is too short, so a
// parser built on it never indexes out of bounds. Does not own the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace fqdngate {

class ByteReader {
 public:
  ByteReader() = default;
  explicit ByteReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  std::size_t remaining() const noexcept { return bytes_.size(); }
  bool empty() const noexcept { return bytes_.empty(); }
  std::span<const std::uint8_t> rest() const noexcept { return bytes_; }

  bool get_u8(std::uint8_t& out) noexcept {
    std::uint32_t v = 0;
    if (!get_uint(1, v)) return false;
    out = static_cast<std::uint8_t>(v);
    return true;
  }
  bool get_u16(std::uint16_t& out) noexcept {
    std::uint32_t v = 0;
    if (!get_uint(2, v)) return false;
    out = static_cast<std::uint16_t>(v);
    return true;
  }
  bool get_u24(std::uint32_t& out) noexcept { return get_uint(3, out); }

  bool skip(std::size_t n) noexcept {
    if (n > bytes_.size()) return false;
    bytes_ = bytes_.subspan(n);
    return true;
  }
  bool get_bytes(std::size_t n, ByteReader& out) noexcept {
    if (n > bytes_.size()) return false;
    out = ByteReader(bytes_.first(n));
    bytes_ = bytes_.subspan(n);
    return true;
  }
  // A field prefixed by its length in 1, 2 or 3 bytes.
  bool get_u8_prefixed(ByteReader& out) noexcept { return get_prefixed(1, out); }
  bool get_u16_prefixed(ByteReader& out) noexcept { return get_prefixed(2, out); }
  bool get_u24_prefixed(ByteReader& out) noexcept { return get_prefixed(3, out); }

 private:
  bool get_uint(std::size_t width, std::uint32_t& out) noexcept {
    if (width > bytes_.size()) return false;
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < width; ++i)
      v = v << 8 | bytes_[i];
    bytes_ = bytes_.subspan(width);
    out = v;
    return true;
  }
  bool get_prefixed(std::size_t width, ByteReader& out) noexcept {
    auto saved = bytes_;
    std::uint32_t len = 0;
    if (!get_uint(width, len) || !get_bytes(len, out)) {
      bytes_ = saved;
      return false;
    }
    return true;
  }

  std::span<const std::uint8_t> bytes_;
};

}  // namespace fqdngate
