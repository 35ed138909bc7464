// Load generator for the macro benchmarks: tunnel setup rate and latency, bulk throughput in
// either direction, and memory and descriptors per idle tunnel. See bench/README.md.
//
//   loadgen --mode setup|bulk-up|bulk-down|idle --via connect|direct --proxy HOST:PORT
//           [--target NAME:PORT] [--clients N] [--seconds S] [--tunnels K] [--threads T]
//           [--hello FILE | --sni NAME] [--pid PID] [--hold S] [--timeout-ms MS]
//           [--max-tunnels N]
//
// It always connects to --proxy; with --via connect it sends CONNECT --target first and needs
// a 200, with --via direct that address is the origin (or a plain TCP relay). Output: one JSON
// line, then one human line. Exit status 0 when the scenario ran (errors are counted in the
// output), 2 on bad arguments.
#include <signal.h>

#include <boost/asio/ip/address.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "client_hello.hpp"
#include "fd_limit.hpp"
#include "host_port.hpp"
#include "scenarios.hpp"

namespace {

using namespace loadgen;

const char* const kUsage =
    "usage: loadgen --mode setup|bulk-up|bulk-down|idle --via connect|direct --proxy HOST:PORT\n"
    "               [--target NAME:PORT] [--clients N] [--seconds S] [--tunnels K]\n"
    "               [--threads T] [--hello FILE | --sni NAME] [--pid PID] [--hold S]\n"
    "               [--timeout-ms MS] [--max-tunnels N]\n"
    "  --proxy      address connected to: the proxy, or with --via direct the origin/relay\n"
    "  --target     CONNECT target (needed with --via connect); its name is the default SNI\n"
    "  --clients    setup: concurrent clients; bulk/idle: tunnels opened at once (default 1;\n"
    "               idle default 64)\n"
    "  --seconds    setup/bulk: measuring window; idle: time allowed to open (default 4)\n"
    "  --tunnels    bulk/idle: tunnels held open together (default 1)\n"
    "  --hello      send this file's bytes as the ClientHello instead of a built one\n"
    "  --sni        name in the built ClientHello (default: the --target name)\n"
    "  --pid        the process under test: idle reads its VmRSS and descriptors before and\n"
    "               after; setup and bulk its CPU time over the window\n"
    "  --hold       idle: seconds to wait with all tunnels open before reading them (2)\n"
    "  --timeout-ms deadline for opening one tunnel, and for closing it (10000)\n";

int usage(const char* why) {
  if (why) std::fprintf(stderr, "loadgen: %s\n", why);
  std::fputs(kUsage, stderr);
  return 2;
}

bool number(std::string_view v, double& out) {
  char* end = nullptr;
  const std::string s(v);
  out = std::strtod(s.c_str(), &end);
  return !s.empty() && end && *end == '\0' && out >= 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::optional<HostPort> proxy, target;
  std::string via, mode, hello_file, sni;
  bool clients_given = false;
  double timeout_ms = 10000;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") return usage(nullptr), 0;
    if (i + 1 >= argc) return usage("missing value");
    const std::string_view v = argv[++i];
    double d = 0;
    if (a == "--mode") {
      mode = v;
    } else if (a == "--via") {
      via = v;
    } else if (a == "--proxy") {
      if (!(proxy = parse_host_port(v))) return usage("bad --proxy");
    } else if (a == "--target") {
      if (!(target = parse_host_port(v))) return usage("bad --target");
    } else if (a == "--hello") {
      hello_file = v;
    } else if (a == "--sni") {
      sni = v;
    } else if (!number(v, d)) {
      return usage("bad number");
    } else if (a == "--clients") {
      o.clients = static_cast<unsigned>(d);
      clients_given = true;
    } else if (a == "--seconds") {
      o.seconds = d;
    } else if (a == "--tunnels") {
      o.tunnels = static_cast<unsigned>(d);
    } else if (a == "--threads") {
      o.threads = static_cast<unsigned>(d);
    } else if (a == "--pid") {
      o.pid = static_cast<int>(d);
    } else if (a == "--hold") {
      o.hold_seconds = d;
    } else if (a == "--timeout-ms") {
      timeout_ms = d;
    } else if (a == "--max-tunnels") {
      o.max_tunnels = static_cast<std::uint64_t>(d);
    } else {
      return usage("unknown option");
    }
  }
  if (mode == "setup")
    o.mode = Mode::setup;
  else if (mode == "bulk-up")
    o.mode = Mode::bulk_up;
  else if (mode == "bulk-down")
    o.mode = Mode::bulk_down;
  else if (mode == "idle")
    o.mode = Mode::idle;
  else
    return usage("bad --mode");
  if (via != "connect" && via != "direct") return usage("bad --via");
  o.plan.via_connect = via == "connect";
  if (!proxy) return usage("--proxy is required");
  if (o.plan.via_connect && !target) return usage("--target is required with --via connect");
  if (o.clients == 0 || o.clients > 100000) return usage("--clients out of range");
  if (o.tunnels == 0 || o.tunnels > 100000) return usage("--tunnels out of range");
  if (o.threads == 0 || o.threads > 64) return usage("--threads out of range");
  if (o.seconds <= 0 || o.seconds > 3600) return usage("--seconds out of range");
  if (o.hold_seconds > 600) return usage("--hold out of range");
  if (timeout_ms < 1 || timeout_ms > 600000) return usage("--timeout-ms out of range");
  if (o.mode == Mode::idle && !clients_given) o.clients = 64;
  o.plan.step_timeout = std::chrono::milliseconds(static_cast<long>(timeout_ms));

  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(proxy->host, ec);
  if (ec) return usage("--proxy must be an IP address");
  o.plan.connect_to = tcp::endpoint(address, proxy->port);
  if (target) {
    const std::string t = target->text();
    o.plan.connect_request = "CONNECT " + t + " HTTP/1.1\r\nHost: " + t + "\r\n\r\n";
  }
  if (!hello_file.empty()) {
    std::ifstream in(hello_file, std::ios::binary);
    if (!in) return usage("cannot read --hello file");
    o.plan.hello.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (o.plan.hello.empty()) return usage("empty --hello file");
  } else {
    if (sni.empty() && target) sni = target->host;
    if (sni.empty()) return usage("--sni (or --target) is required to build a ClientHello");
    o.plan.hello = build_client_hello(sni);
  }

  const auto limit = raise_fd_limit();
  if (o.mode != Mode::setup && limit < o.tunnels + 64) {
    std::fprintf(stderr, "loadgen: descriptor limit %llu is too low for %u tunnels\n",
                 static_cast<unsigned long long>(limit), o.tunnels);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);

  Report r;
  switch (o.mode) {
    case Mode::setup:
      r = run_setup(o);
      break;
    case Mode::bulk_up:
    case Mode::bulk_down:
      r = run_bulk(o);
      break;
    case Mode::idle:
      r = run_idle(o);
      break;
  }
  std::printf("%s\n%s\n", r.json.c_str(), r.human.c_str());
  return 0;
}
