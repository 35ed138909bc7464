// The relay's pipe pool: grown pipes within the pool's budget, the kernel's default beyond it,
// and each lease reporting the capacity its pipe really has.
#include "proxy/relay_resources.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <optional>
#include <vector>

using namespace fqdngate;

namespace {

std::size_t kernel_capacity(const Pipe& p) {
  const int size = ::fcntl(p.write_end, F_GETPIPE_SZ);
  REQUIRE(size > 0);
  return static_cast<std::size_t>(size);
}

// Unprivileged users cannot grow a pipe beyond fs.pipe-max-size (1 MiB unless lowered).
bool kernel_allows_large_pipes() {
  if (::geteuid() == 0) return true;
  std::ifstream in("/proc/sys/fs/pipe-max-size");
  std::size_t max = 0;
  return (in >> max) && max >= PipePool::kLargePipeBytes;
}

}  // namespace

TEST_CASE("pipes are grown while the pool's budget lasts, then keep the default", "[pipes]") {
  if (!kernel_allows_large_pipes()) {
    WARN("fs.pipe-max-size is below 1 MiB here: only the default pipes can be checked");
  }
  PipePool pool(8, 2 * PipePool::kLargePipeBytes);
  std::vector<PipePool::Lease> held;
  for (int i = 0; i < 3; ++i) {
    auto lease = pool.take();
    REQUIRE(lease);
    held.push_back(std::move(*lease));
  }
  for (const auto& lease : held)
    CHECK(lease.pipe().capacity == kernel_capacity(lease.pipe()));
  if (kernel_allows_large_pipes()) {
    CHECK(held[0].pipe().capacity == PipePool::kLargePipeBytes);
    CHECK(held[1].pipe().capacity == PipePool::kLargePipeBytes);
    CHECK(pool.large_bytes() == 2 * PipePool::kLargePipeBytes);
  }
  CHECK(held[2].pipe().capacity < PipePool::kLargePipeBytes);  // over budget
}

TEST_CASE("a grown pipe that is closed gives its share of the budget back", "[pipes]") {
  if (!kernel_allows_large_pipes()) return;     // nothing is grown, nothing to give back
  PipePool pool(0, PipePool::kLargePipeBytes);  // keeps nothing idle: every return closes
  {
    auto first = pool.take();
    REQUIRE(first);
    CHECK(first->pipe().capacity == PipePool::kLargePipeBytes);
    auto second = pool.take();
    REQUIRE(second);
    CHECK(second->pipe().capacity < PipePool::kLargePipeBytes);
  }
  CHECK(pool.large_bytes() == 0);
  auto again = pool.take();
  REQUIRE(again);
  CHECK(again->pipe().capacity == PipePool::kLargePipeBytes);
}

TEST_CASE("a dirty grown pipe is closed, not pooled, and its budget returns", "[pipes]") {
  if (!kernel_allows_large_pipes()) return;
  PipePool pool(8, PipePool::kLargePipeBytes);
  {
    auto lease = pool.take();
    REQUIRE(lease);
    lease->set_dirty(true);
  }
  CHECK(pool.idle() == 0);
  CHECK(pool.large_bytes() == 0);
  {
    auto clean = pool.take();
    REQUIRE(clean);
    CHECK(clean->pipe().capacity == PipePool::kLargePipeBytes);
  }
  // Pooled, it still counts against the budget: the next new pipe is not grown.
  CHECK(pool.idle() == 1);
  CHECK(pool.large_bytes() == PipePool::kLargePipeBytes);
  auto reused = pool.take();
  auto fresh = pool.take();
  REQUIRE(reused);
  REQUIRE(fresh);
  CHECK(reused->pipe().capacity == PipePool::kLargePipeBytes);
  CHECK(fresh->pipe().capacity < PipePool::kLargePipeBytes);
}
