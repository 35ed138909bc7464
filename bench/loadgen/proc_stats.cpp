#include "proc_stats.hpp"

#include <dirent.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace loadgen {

std::optional<std::uint64_t> rss_kib(int pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return std::nullopt;
  std::optional<std::uint64_t> out;
  char line[256];
  for (int i = 0; i < 100 && std::fgets(line, sizeof line, f); ++i) {
    unsigned long long kib = 0;
    if (std::sscanf(line, "VmRSS: %llu kB", &kib) == 1) {
      out = kib;
      break;
    }
  }
  std::fclose(f);
  return out;
}

std::optional<std::uint64_t> open_fds(int pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(path.c_str());
  if (!d) return std::nullopt;
  std::uint64_t n = 0;
  // Bounded: the hard descriptor limit here is far below this.
  for (std::uint64_t i = 0; i < 10'000'000; ++i) {
    const dirent* e = readdir(d);
    if (!e) break;
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n;
}

}  // namespace loadgen
