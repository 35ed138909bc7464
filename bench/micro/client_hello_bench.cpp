// ClientHelloParser on the real ClientHellos captured in tests/fixtures/hellos: whole, and fed
// in small chunks. Each iteration is one connection's parse, parser construction included.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "proxy/client_hello_parser.hpp"

namespace {

using fqdngate::ClientHelloParser;
using fqdngate::ParseStatus;

constexpr std::array<const char*, 5> kFixtures = {
    "curl.bin", "openssl_tls13.bin", "openssl_alpn.bin", "openssl_tls12.bin", "openssl_no_sni.bin"};

const std::vector<std::uint8_t>& fixture(std::size_t i) {
  static const auto all = [] {
    std::array<std::vector<std::uint8_t>, kFixtures.size()> out;
    for (std::size_t k = 0; k < kFixtures.size(); ++k) {
      std::ifstream in(std::string(FQDNGATE_FIXTURES) + "/hellos/" + kFixtures[k],
                       std::ios::binary);
      out[k].assign(std::istreambuf_iterator<char>(in), {});
    }
    return out;
  }();
  return all.at(i);
}

// Args: fixture index, bytes per feed (0 = the whole hello in one feed).
void BM_ClientHello(benchmark::State& state) {
  const auto index = static_cast<std::size_t>(state.range(0));
  const std::vector<std::uint8_t>& hello = fixture(index);
  const std::size_t chunk =
      state.range(1) == 0 ? hello.size() : static_cast<std::size_t>(state.range(1));
  state.SetLabel(std::string(kFixtures[index]) + " " + std::to_string(hello.size()) + " B");
  if (hello.empty()) {
    state.SkipWithError("fixture missing");
    return;
  }
  for (auto _ : state) {
    ClientHelloParser parser;
    ParseStatus status = ParseStatus::need_more;
    for (std::size_t at = 0; at < hello.size() && status == ParseStatus::need_more; at += chunk) {
      const std::size_t n = std::min(chunk, hello.size() - at);
      status = parser.feed(std::span<const std::uint8_t>(hello).subspan(at, n)).status;
    }
    if (status != ParseStatus::done) {
      state.SkipWithError("hello did not parse");
      break;
    }
    benchmark::DoNotOptimize(parser.info().sni.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(hello.size()));
}
BENCHMARK(BM_ClientHello)
    ->ArgNames({"fixture", "chunk"})
    ->ArgsProduct({{0, 1, 2, 3, 4}, {0}})
    ->ArgsProduct({{0, 1}, {1, 16, 64}});

}  // namespace
