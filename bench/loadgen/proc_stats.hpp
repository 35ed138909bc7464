// What a process costs: resident memory (VmRSS), open descriptors and CPU time (user + system,
// all threads), from /proc; and this process's own CPU time.
#pragma once

#include <cstdint>
#include <optional>

namespace loadgen {

std::optional<std::uint64_t> rss_kib(int pid);
std::optional<std::uint64_t> open_fds(int pid);
std::optional<double> cpu_seconds(int pid);
double own_cpu_seconds();

}  // namespace loadgen
