// policy::classify() on one address of each family the resolver can return.
#include <benchmark/benchmark.h>

#include <array>
#include <boost/asio/ip/address.hpp>

#include "policy/address_class.hpp"

namespace {

using boost::asio::ip::make_address;
using fqdngate::policy::AddressClass;
using fqdngate::policy::classify;

struct Sample {
  const char* label;
  const char* address;
  AddressClass expected;
};

constexpr std::array<Sample, 6> kSamples{{
    {"ipv4_global", "93.184.216.34", AddressClass::global},
    {"ipv4_rfc1918", "192.168.10.20", AddressClass::private_use},
    {"ipv4_metadata", "169.254.169.254", AddressClass::metadata},
    {"ipv6_global", "2606:4700:4700::1111", AddressClass::global},
    {"ipv4_mapped", "::ffff:10.1.2.3", AddressClass::private_use},
    {"nat64", "64:ff9b::5db8:d822", AddressClass::global},
}};

// Arg: index into kSamples.
void BM_AddressClass(benchmark::State& state) {
  const Sample& s = kSamples.at(static_cast<std::size_t>(state.range(0)));
  state.SetLabel(s.label);
  auto address = make_address(s.address);
  if (classify(address) != s.expected) {
    state.SkipWithError("unexpected class");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(address);
    benchmark::DoNotOptimize(classify(address));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddressClass)->DenseRange(0, kSamples.size() - 1);

}  // namespace
