// The four scenarios. Each returns its figures as one flat JSON object and one human line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "tunnel.hpp"

namespace loadgen {

enum class Mode { setup, bulk_up, bulk_down, idle };

struct Options {
  Mode mode = Mode::setup;
  Plan plan;
  unsigned clients = 1;     // concurrent clients (setup), openers (bulk, idle)
  double seconds = 4;       // measuring window (setup, bulk); time allowed to open (idle)
  unsigned tunnels = 1;     // bulk and idle: tunnels held open together
  unsigned threads = 1;     // load generator threads
  int pid = 0;              // idle: the process whose memory and descriptors are read
  double hold_seconds = 2;  // idle: settle time before reading them
  std::uint64_t max_tunnels = 10'000'000;  // setup: upper bound on tunnels started
};

struct Report {
  std::string json;
  std::string human;
};

Report run_setup(const Options& o);
Report run_bulk(const Options& o);
Report run_idle(const Options& o);

}  // namespace loadgen
