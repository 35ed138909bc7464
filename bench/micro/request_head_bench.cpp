// RequestHeadParser on the head curl sends through a proxy: whole, one byte per feed, and in
// small chunks. Each iteration is one connection's parse, parser construction included.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <span>
#include <string_view>

#include "proxy/request_head_parser.hpp"

namespace {

using fqdngate::ParseStatus;
using fqdngate::RequestHeadParser;

// `curl -p -x http://127.0.0.1:3128 https://api.prefect.cloud/api/health` (curl 7.88).
constexpr std::string_view kCurlHead =
    "CONNECT api.prefect.cloud:443 HTTP/1.1\r\n"
    "Host: api.prefect.cloud:443\r\n"
    "User-Agent: curl/7.88.1\r\n"
    "Proxy-Connection: Keep-Alive\r\n"
    "\r\n";

// Feeds kCurlHead in chunks of `chunk` bytes until the parser is done.
void parse_in_chunks(benchmark::State& state, std::size_t chunk) {
  for (auto _ : state) {
    RequestHeadParser parser;
    ParseStatus status = ParseStatus::need_more;
    for (std::size_t at = 0; at < kCurlHead.size() && status == ParseStatus::need_more;
         at += chunk) {
      const std::size_t n = std::min(chunk, kCurlHead.size() - at);
      status = parser.feed(std::span<const char>(kCurlHead.data() + at, n)).status;
    }
    if (status != ParseStatus::done) {
      state.SkipWithError("head did not parse");
      break;
    }
    benchmark::DoNotOptimize(parser.head().target.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kCurlHead.size()));
}

void BM_RequestHead_Whole(benchmark::State& state) {
  parse_in_chunks(state, kCurlHead.size());
}
BENCHMARK(BM_RequestHead_Whole);

// Arg: bytes per feed (1 = a client writing byte by byte).
void BM_RequestHead_Split(benchmark::State& state) {
  parse_in_chunks(state, static_cast<std::size_t>(state.range(0)));
}
BENCHMARK(BM_RequestHead_Split)->Arg(1)->Arg(16);

}  // namespace
