#include "proxy/connection_limiter.hpp"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

using fqdngate::ConnectionLimiter;
namespace ip = boost::asio::ip;

TEST_CASE("per-client and total caps, released by tickets", "[limiter]") {
  ConnectionLimiter limiter(3, 2);
  const auto a = ip::make_address("10.0.0.1");
  const auto b = ip::make_address("10.0.0.2");
  ConnectionLimiter::Ticket a1, a2, a3, b1, b2;
  CHECK(limiter.try_acquire(a, a1) == ConnectionLimiter::Refusal::none);
  CHECK(limiter.try_acquire(a, a2) == ConnectionLimiter::Refusal::none);
  CHECK(limiter.try_acquire(a, a3) == ConnectionLimiter::Refusal::per_client);
  CHECK(limiter.try_acquire(b, b1) == ConnectionLimiter::Refusal::none);
  CHECK(limiter.try_acquire(b, b2) == ConnectionLimiter::Refusal::total);
  CHECK(limiter.total() == 3);

  a1 = ConnectionLimiter::Ticket();  // dropping a ticket frees its slot
  CHECK(limiter.total() == 2);
  CHECK(limiter.try_acquire(b, b2) == ConnectionLimiter::Refusal::none);

  ConnectionLimiter::Ticket moved(std::move(a2));  // a move keeps exactly one owner
  CHECK(limiter.total() == 3);
  { ConnectionLimiter::Ticket gone(std::move(moved)); }
  CHECK(limiter.total() == 2);
  CHECK(limiter.try_acquire(a, a3) == ConnectionLimiter::Refusal::none);
}

TEST_CASE("concurrent acquire and release from several threads keeps counts exact", "[limiter]") {
  ConnectionLimiter limiter(1'000'000, 1'000'000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&limiter, t] {
      const auto client = ip::make_address_v4(0x0a000000u + static_cast<unsigned>(t % 2));
      for (int i = 0; i < 10'000; ++i) {
        ConnectionLimiter::Ticket ticket;
        REQUIRE(limiter.try_acquire(ip::address(client), ticket) ==
                ConnectionLimiter::Refusal::none);
      }
    });
  }
  for (auto& t : threads)
    t.join();
  CHECK(limiter.total() == 0);
}
