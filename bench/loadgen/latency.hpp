// Latency samples (milliseconds) and their percentiles.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace loadgen {

struct LatencySummary {
  std::size_t count = 0;
  double p50 = 0, p99 = 0, max = 0;
};

inline LatencySummary summarize(std::vector<double> v) {
  LatencySummary s;
  s.count = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
  };
  s.p50 = at(0.50);
  s.p99 = at(0.99);
  s.max = v.back();
  return s;
}

}  // namespace loadgen
