// The request-head parser on arbitrary bytes, fed in chunks whose sizes the input chooses.
#include <cstddef>
#include <cstdint>

#include "proxy/request_head_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 64;  // the first byte picks the segment size
  fqdngate::RequestHeadParser parser(4096, 32);
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  std::size_t left = size - 1;
  while (left > 0) {
    const std::size_t n = left < chunk ? left : chunk;
    const auto r = parser.feed(std::span<const char>(bytes, n));
    if (r.consumed > n) __builtin_trap();
    if (r.status == fqdngate::ParseStatus::done) {
      if (parser.head().method.empty() || parser.head().target.empty()) __builtin_trap();
      break;
    }
    if (r.status == fqdngate::ParseStatus::error) {
      if (parser.error() == fqdngate::HeadError::none) __builtin_trap();
      break;
    }
    bytes += n;
    left -= n;
  }
  return 0;
}
