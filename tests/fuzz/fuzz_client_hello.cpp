// The ClientHello parser on arbitrary bytes, fed in chunks whose sizes the input chooses; the
// result must not depend on the chunking.
#include <cstddef>
#include <cstdint>

#include "proxy/client_hello_parser.hpp"

namespace {

struct Outcome {
  fqdngate::ParseStatus status;
  fqdngate::ClientHelloInfo info;
};

Outcome run(const std::uint8_t* data, std::size_t size, std::size_t chunk) {
  fqdngate::ClientHelloParser parser(4096);
  std::size_t at = 0;
  fqdngate::ParseStatus status = fqdngate::ParseStatus::need_more;
  while (at < size) {
    const std::size_t n = size - at < chunk ? size - at : chunk;
    const auto r = parser.feed(std::span<const std::uint8_t>(data + at, n));
    if (r.consumed > n) __builtin_trap();
    status = r.status;
    if (status != fqdngate::ParseStatus::need_more) break;
    at += n;
  }
  if (status == fqdngate::ParseStatus::done && parser.info().has_sni && parser.info().sni.empty()) {
    __builtin_trap();
  }
  return {status, parser.info()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 32;
  const auto whole = run(data + 1, size - 1, size);
  const auto split = run(data + 1, size - 1, chunk);
  if (whole.status != split.status) __builtin_trap();
  if (whole.status == fqdngate::ParseStatus::done &&
      (whole.info.sni != split.info.sni || whole.info.alpn != split.info.alpn)) {
    __builtin_trap();
  }
  return 0;
}
