// The audit writer with a real file: nothing lost under a burst, and a line written to an idle
// writer (asleep without a timeout) still reaches the file promptly.
#include "proxy/audit_writer.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using fqdngate::AuditWriter;

namespace {

std::string temp_path() {
  char name[] = "/tmp/fqdngate-audit-XXXXXX";
  const int fd = ::mkstemp(name);
  REQUIRE(fd >= 0);
  ::close(fd);
  return name;
}

std::string contents(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("a burst from several threads is written whole, in per-thread order", "[audit]") {
  const auto path = temp_path();
  {
    AuditWriter writer(path);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&writer, t] {
        for (int i = 0; i < 5000; ++i)
          writer.write("t" + std::to_string(t) + " " + std::to_string(i) + "\n");
      });
    }
    for (auto& t : threads)
      t.join();
    writer.stop();
  }
  std::istringstream lines(contents(path));
  std::vector<int> next(4, 0);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    const int t = line[1] - '0';
    REQUIRE(line == "t" + std::to_string(t) + " " + std::to_string(next[t]));
    ++next[t];
    ++count;
  }
  CHECK(count == 20000);
  std::remove(path.c_str());
}

TEST_CASE("a line written to an idle writer reaches the file without a stop", "[audit]") {
  const auto path = temp_path();
  AuditWriter writer(path);
  // Long enough for the writer to give up lingering and sleep until woken.
  const auto idle_until = std::chrono::steady_clock::now() + 5 * AuditWriter::kLinger;
  while (std::chrono::steady_clock::now() < idle_until)
    std::this_thread::yield();
  writer.write("first\n");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (contents(path) != "first\n" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  CHECK(contents(path) == "first\n");
  writer.stop();
  std::remove(path.c_str());
}
