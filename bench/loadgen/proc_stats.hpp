// What a process costs: resident memory (VmRSS) and open descriptors, from /proc.
#pragma once

#include <cstdint>
#include <optional>

namespace loadgen {

std::optional<std::uint64_t> rss_kib(int pid);
std::optional<std::uint64_t> open_fds(int pid);

}  // namespace loadgen
