// The request-head parser on arbitrary bytes, fed in chunks whose sizes the input chooses, and
// checked against the same bytes fed one at a time: feed() copies runs of line bytes at once, so
// both must agree on the result, the byte where it stopped, the error and the parsed head.
#include <cstddef>
#include <cstdint>

#include "proxy/request_head_parser.hpp"

namespace {

struct Outcome {
  fqdngate::ParseStatus status = fqdngate::ParseStatus::need_more;
  std::size_t consumed = 0;  // bytes of the input the parser took, over all feeds
};

Outcome run(fqdngate::RequestHeadParser& parser, const char* bytes, std::size_t size,
            std::size_t chunk) {
  Outcome out;
  while (size > 0) {
    const std::size_t n = size < chunk ? size : chunk;
    const auto r = parser.feed(std::span<const char>(bytes, n));
    if (r.consumed > n) __builtin_trap();
    out.consumed += r.consumed;
    out.status = r.status;
    if (r.status != fqdngate::ParseStatus::need_more) break;
    bytes += n;
    size -= n;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t chunk = 1 + data[0] % 64;  // the first byte picks the segment size
  const std::size_t limit = 1 + data[1] * 4;   // the second the size limit, crossed often
  const char* bytes = reinterpret_cast<const char*>(data + 2);
  fqdngate::RequestHeadParser parser(limit, 32);
  fqdngate::RequestHeadParser reference(limit, 32);
  const Outcome got = run(parser, bytes, size - 2, chunk);
  const Outcome want = run(reference, bytes, size - 2, 1);
  if (got.status != want.status || got.consumed != want.consumed) __builtin_trap();
  if (parser.error() != reference.error()) __builtin_trap();
  // The limit stops the head on the first byte past it.
  if (parser.error() == fqdngate::HeadError::too_large && got.consumed != limit + 1) {
    __builtin_trap();
  }
  if (got.status == fqdngate::ParseStatus::done) {
    if (parser.head().method.empty() || parser.head().target.empty()) __builtin_trap();
    if (parser.head().target != reference.head().target) __builtin_trap();
    if (parser.head().headers != reference.head().headers) __builtin_trap();
  }
  if (got.status == fqdngate::ParseStatus::error && parser.error() == fqdngate::HeadError::none) {
    __builtin_trap();
  }
  return 0;
}
