// A worker's load count: a share is one tunnel from the moment it is taken until it is gone,
// moved with the tunnel, and the hand-over rule keeps two workers within the margin.
#include "proxy/worker_load.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <utility>
#include <vector>

using namespace fqdngate;

TEST_CASE("a share counts one tunnel until it is destroyed, wherever it was moved",
          "[worker_load]") {
  WorkerLoad load;
  CHECK(load.count() == 0);
  std::optional<WorkerLoad::Share> first(load.take());
  auto second = load.take();
  CHECK(load.count() == 2);

  WorkerLoad::Share moved(std::move(second));
  CHECK(load.count() == 2);  // a move is still the same tunnel
  WorkerLoad::Share assigned;
  assigned = std::move(moved);
  CHECK(load.count() == 2);

  first.reset();
  CHECK(load.count() == 1);
  assigned = WorkerLoad::Share();  // giving up the last share
  CHECK(load.count() == 0);
}

TEST_CASE("a connection goes to the other worker only when it holds the margin fewer",
          "[worker_load]") {
  CHECK_FALSE(prefer_other(0, 0));
  CHECK_FALSE(prefer_other(10, 10 - kHandOverMargin + 1));
  CHECK(prefer_other(10, 10 - kHandOverMargin));
  CHECK(prefer_other(kHandOverMargin, 0));
  CHECK_FALSE(prefer_other(0, 100));  // never away from the less loaded worker
}

TEST_CASE("two workers taking turns by the rule never drift apart by more than the margin",
          "[worker_load]") {
  // Whichever worker the kernel's hash hands a connection to (here: a fixed, lopsided pattern),
  // the split stays within the margin.
  WorkerLoad loads[2];
  std::vector<WorkerLoad::Share> tunnels;
  for (int i = 0; i < 200; ++i) {
    const int acceptor = (i % 7 == 0) ? 1 : 0;  // six of every seven land on worker 0
    const int other = 1 - acceptor;
    const int target =
        prefer_other(loads[acceptor].count(), loads[other].count()) ? other : acceptor;
    tunnels.push_back(loads[target].take());
    const auto a = loads[0].count();
    const auto b = loads[1].count();
    REQUIRE((a > b ? a - b : b - a) <= kHandOverMargin);
  }
}
