#include "scenarios.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <exception>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>
#include <vector>

#include "latency.hpp"
#include "proc_stats.hpp"
#include "runner.hpp"

namespace loadgen {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kChunk = 64 * 1024;
constexpr std::size_t kMaxSamplesPerThread = 4'000'000;
constexpr auto kFailureBackoff = std::chrono::milliseconds(10);
constexpr std::size_t kFailures = static_cast<std::size_t>(Failure::count);

// Rethrows a coroutine's exception out of io_context::run(): a bug must not pass silently.
void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

template <class Awaitable>
void spawn(asio::io_context& io, Awaitable&& work) {
  asio::co_spawn(io, std::forward<Awaitable>(work), rethrow);
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// Per-thread results, merged after each phase.
// The steps of a setup-scenario tunnel, each timed from the end of the one before.
constexpr std::array<const char*, 4> kStages = {"connect", "reply", "echo", "close"};
using StageSamples = std::array<std::vector<double>, kStages.size()>;

struct Shard {
  std::vector<double> latency_ms;
  StageSamples stage_ms;
  std::array<std::uint64_t, kFailures> failures{};
  std::uint64_t ok = 0;
  std::uint64_t bytes = 0;
  void fail(Failure f) { ++failures[static_cast<std::size_t>(f)]; }
};

struct Totals {
  std::vector<double> latency_ms;
  StageSamples stage_ms;
  std::array<std::uint64_t, kFailures> failures{};
  std::uint64_t ok = 0;
  std::uint64_t bytes = 0;
  std::uint64_t errors() const {
    std::uint64_t n = 0;
    for (auto f : failures)
      n += f;
    return n;
  }
};

Totals merge(const std::vector<Shard>& shards) {
  Totals t;
  for (const auto& s : shards) {
    t.latency_ms.insert(t.latency_ms.end(), s.latency_ms.begin(), s.latency_ms.end());
    for (std::size_t k = 0; k < kStages.size(); ++k)
      t.stage_ms[k].insert(t.stage_ms[k].end(), s.stage_ms[k].begin(), s.stage_ms[k].end());
    for (std::size_t i = 0; i < kFailures; ++i)
      t.failures[i] += s.failures[i];
    t.ok += s.ok;
    t.bytes += s.bytes;
  }
  return t;
}

class Json {
 public:
  Json& num(const char* key, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return raw(key, buf);
  }
  Json& integer(const char* key, std::uint64_t v) { return raw(key, std::to_string(v)); }
  Json& str(const char* key, const std::string& v) { return raw(key, "\"" + v + "\""); }
  Json& null(const char* key) { return raw(key, "null"); }
  Json& failures(const Totals& t) {
    integer("errors", t.errors());
    for (std::size_t i = 1; i < kFailures; ++i) {
      const std::string key = std::string("err_") + failure_name(static_cast<Failure>(i));
      integer(key.c_str(), t.failures[i]);
    }
    return *this;
  }
  std::string text() const { return "{" + body_ + "}"; }

 private:
  Json& raw(const char* key, const std::string& value) {
    if (!body_.empty()) body_ += ',';
    body_ += "\"" + std::string(key) + "\":" + value;
    return *this;
  }
  std::string body_;
};

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::setup:
      return "setup";
    case Mode::bulk_up:
      return "bulk-up";
    case Mode::bulk_down:
      return "bulk-down";
    case Mode::idle:
      return "idle";
  }
  return "?";
}

Json common(const Options& o) {
  Json j;
  j.str("mode", mode_name(o.mode))
      .str("via", o.plan.via_connect ? "connect" : "direct")
      .integer("clients", o.clients)
      .integer("threads", o.threads);
  return j;
}

std::string failure_text(const Totals& t) {
  std::ostringstream out;
  out << t.errors() << " errors";
  const char* sep = " (";
  for (std::size_t i = 1; i < kFailures; ++i) {
    if (!t.failures[i]) continue;
    out << sep << failure_name(static_cast<Failure>(i)) << ' ' << t.failures[i];
    sep = ", ";
  }
  if (t.errors()) out << ')';
  return out.str();
}

// CPU time of the process under test (--pid) and of the load generator over one window.
struct CpuWindow {
  explicit CpuWindow(int pid) : pid_(pid) {
    if (pid_ > 0) {
      const auto t0 = cpu_seconds(pid_);
      have_target_ = t0.has_value();
      target_ = t0.value_or(0);
    }
    own_ = own_cpu_seconds();
  }
  void stop() {
    if (have_target_) {
      const auto t1 = cpu_seconds(pid_);
      have_target_ = t1.has_value();
      target_ = t1.value_or(0) - target_;
    }
    own_ = own_cpu_seconds() - own_;
  }
  // Adds pid_cpu_s (and `per_key`: pid CPU per `units`, times `scale`) and loadgen_cpu_s.
  void add(Json& j, const char* per_key, double units, double scale) const {
    if (have_target_) {
      j.num("pid_cpu_s", target_);
      if (units > 0)
        j.num(per_key, target_ / units * scale);
      else
        j.null(per_key);
    }
    j.num("loadgen_cpu_s", own_);
  }
  std::string text(double units, double scale, const char* per) const {
    char buf[160];
    if (have_target_ && units > 0)
      std::snprintf(buf, sizeof buf, "; pid CPU %.2f s (%.3g %s), loadgen CPU %.2f s", target_,
                    target_ / units * scale, per, own_);
    else
      std::snprintf(buf, sizeof buf, "; loadgen CPU %.2f s", own_);
    return buf;
  }

 private:
  int pid_;
  bool have_target_ = false;
  double target_ = 0;  // CPU seconds at the start, then over the window
  double own_ = 0;
};

// --- setup: open, echo, close, again, until the window ends ---------------------------------

asio::awaitable<void> setup_client(const Options& o, Shard& shard, Clock::time_point end,
                                   std::atomic<std::int64_t>& budget) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer backoff(ex);
  while (Clock::now() < end && budget.fetch_sub(1) > 0) {
    auto c = std::make_shared<Conn>(ex);
    const auto t0 = Clock::now();
    auto open = open_tunnel(c, o.plan, true);
    Failure f = co_await std::move(open);
    if (f == Failure::none) {
      auto close = close_tunnel(c, o.plan);
      f = co_await std::move(close);
    }
    if (f == Failure::none) {
      ++shard.ok;
      if (shard.latency_ms.size() < kMaxSamplesPerThread) {
        const auto done = Clock::now();
        shard.latency_ms.push_back(ms_between(t0, done));
        const std::array<double, kStages.size()> steps = {
            ms_between(t0, c->connected), ms_between(c->connected, c->replied),
            ms_between(c->replied, c->echoed), ms_between(c->echoed, done)};
        for (std::size_t k = 0; k < kStages.size(); ++k)
          shard.stage_ms[k].push_back(steps[k]);
      }
      continue;
    }
    shard.fail(f);
    // A refused or reset tunnel returns at once: do not turn it into a busy loop.
    backoff.expires_after(kFailureBackoff);
    auto wait = backoff.async_wait(kNoThrow);
    co_await std::move(wait);
  }
}

// --- opening and closing many tunnels (bulk, idle) -------------------------------------------

struct Slot {
  ConnPtr conn;
  unsigned thread = 0;
};

asio::awaitable<void> opener(const Options& o, bool read_echo, unsigned thread,
                             std::vector<Slot>& slots, std::atomic<std::size_t>& next,
                             Clock::time_point end, Shard& shard) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer backoff(ex);
  for (;;) {
    if (Clock::now() >= end) co_return;
    const std::size_t i = next.fetch_add(1);
    if (i >= slots.size()) co_return;
    auto c = std::make_shared<Conn>(ex);
    const auto t0 = Clock::now();
    auto open = open_tunnel(c, o.plan, read_echo);
    const Failure f = co_await std::move(open);
    if (f != Failure::none) {
      shard.fail(f);
      backoff.expires_after(kFailureBackoff);
      auto wait = backoff.async_wait(kNoThrow);
      co_await std::move(wait);
      continue;
    }
    ++shard.ok;
    if (shard.latency_ms.size() < kMaxSamplesPerThread)
      shard.latency_ms.push_back(seconds_since(t0) * 1000.0);
    slots[i] = Slot{std::move(c), thread};
  }
}

// Opens up to slots.size() tunnels, `o.clients` at a time, until `limit` passes.
Totals open_all(Runner& runner, const Options& o, bool read_echo, std::vector<Slot>& slots,
                Clock::duration limit) {
  std::vector<Shard> shards(runner.size());
  std::atomic<std::size_t> next = 0;
  const auto end = Clock::now() + limit;
  const unsigned openers = std::max(1u, std::min<unsigned>(o.clients, slots.size()));
  runner.phase([&](unsigned t, asio::io_context& io) {
    for (unsigned k = t; k < openers; k += runner.size()) {
      auto work = opener(o, read_echo, t, slots, next, end, shards[t]);
      spawn(io, std::move(work));
    }
  });
  return merge(shards);
}

asio::awaitable<void> closer(const Options& o, ConnPtr c, Shard& shard) {
  auto close = close_tunnel(c, o.plan);
  const Failure f = co_await std::move(close);
  if (f == Failure::none)
    ++shard.ok;
  else
    shard.fail(f);
}

Totals close_all(Runner& runner, const Options& o, std::vector<Slot>& slots) {
  std::vector<Shard> shards(runner.size());
  runner.phase([&](unsigned t, asio::io_context& io) {
    for (auto& s : slots) {
      if (!s.conn || s.thread != t) continue;
      if (!s.conn->sock.is_open()) {
        shards[t].fail(Failure::close);
        continue;
      }
      auto work = closer(o, s.conn, shards[t]);
      spawn(io, std::move(work));
    }
  });
  for (auto& s : slots)
    s.conn.reset();
  return merge(shards);
}

// --- bulk: stream through open tunnels for the window ----------------------------------------

asio::awaitable<void> stream(ConnPtr c, bool up, const std::vector<char>& block,
                             Clock::time_point end, Clock::duration grace, Shard& shard) {
  arm(c, (end - Clock::now()) + grace);
  std::vector<char> in(up ? 0 : kChunk);
  while (Clock::now() < end) {
    std::size_t n = 0;
    boost::system::error_code ec;
    if (up) {
      auto write = asio::async_write(c->sock, asio::buffer(block), kNoThrow);
      std::tie(ec, n) = co_await std::move(write);
    } else {
      auto read = c->sock.async_read_some(asio::buffer(in), kNoThrow);
      std::tie(ec, n) = co_await std::move(read);
    }
    if (Clock::now() <= end) shard.bytes += n;
    if (ec) {
      shard.fail(c->timed_out ? Failure::timeout : Failure::echo);
      boost::system::error_code ignored;
      c->sock.close(ignored);
      break;
    }
  }
  disarm(c);
}

}  // namespace

Report run_setup(const Options& o) {
  Runner runner(o.threads);
  std::vector<Shard> shards(runner.size());
  std::atomic<std::int64_t> budget = static_cast<std::int64_t>(o.max_tunnels);
  CpuWindow cpu(o.pid);
  const auto t0 = Clock::now();
  const auto end =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  runner.phase([&](unsigned t, asio::io_context& io) {
    for (unsigned k = t; k < o.clients; k += runner.size()) {
      auto work = setup_client(o, shards[t], end, budget);
      spawn(io, std::move(work));
    }
  });
  const double elapsed = seconds_since(t0);
  cpu.stop();
  const Totals t = merge(shards);
  const LatencySummary lat = summarize(t.latency_ms);
  const double rate = static_cast<double>(t.ok) / elapsed;
  Report r;
  Json j = common(o);
  j.num("seconds", elapsed)
      .integer("tunnels_ok", t.ok)
      .failures(t)
      .num("rate_per_s", rate)
      .num("p50_ms", lat.p50)
      .num("p99_ms", lat.p99)
      .num("max_ms", lat.max);
  // Per step: where the time of a slow tunnel went (the reply step is 0 without CONNECT).
  std::string steps_text = "; steps p50/p99 ms:";
  for (std::size_t k = 0; k < kStages.size(); ++k) {
    const LatencySummary step = summarize(t.stage_ms[k]);
    const std::string key = kStages[k];
    j.num((key + "_p50_ms").c_str(), step.p50).num((key + "_p99_ms").c_str(), step.p99);
    char one[64];
    std::snprintf(one, sizeof one, " %s %.2f/%.2f", kStages[k], step.p50, step.p99);
    steps_text += one;
  }
  cpu.add(j, "pid_cpu_us_per_tunnel", static_cast<double>(t.ok), 1e6);
  r.json = j.text();
  char human[512];
  std::snprintf(human, sizeof human,
                "setup via %s, %u clients, %.1f s: %llu tunnels (%.0f/s), %s; latency p50 "
                "%.2f ms, p99 %.2f ms, max %.2f ms",
                o.plan.via_connect ? "CONNECT" : "direct", o.clients, elapsed,
                static_cast<unsigned long long>(t.ok), rate, failure_text(t).c_str(), lat.p50,
                lat.p99, lat.max);
  r.human = human + steps_text + cpu.text(static_cast<double>(t.ok), 1e6, "us per tunnel");
  return r;
}

Report run_bulk(const Options& o) {
  const bool up = o.mode == Mode::bulk_up;
  Runner runner(o.threads);
  std::vector<Slot> slots(o.tunnels);
  const Totals opened = open_all(runner, o, false, slots, o.plan.step_timeout);

  const std::vector<char> block(kChunk, 'u');
  std::vector<Shard> shards(runner.size());
  const auto t0 = Clock::now();
  const auto window =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  const auto end = t0 + window;
  CpuWindow cpu(o.pid);
  runner.phase([&](unsigned t, asio::io_context& io) {
    for (auto& s : slots) {
      if (!s.conn || s.thread != t) continue;
      auto work = stream(s.conn, up, block, end, o.plan.step_timeout, shards[t]);
      spawn(io, std::move(work));
    }
  });
  cpu.stop();
  const Totals streamed = merge(shards);
  const Totals closed = close_all(runner, o, slots);

  Totals all = opened;
  for (std::size_t i = 0; i < kFailures; ++i)
    all.failures[i] += streamed.failures[i] + closed.failures[i];
  const double mbps = static_cast<double>(streamed.bytes) / o.seconds / 1e6;
  Report r;
  Json j = common(o);
  j.num("seconds", o.seconds)
      .integer("tunnels", o.tunnels)
      .integer("tunnels_ok", opened.ok)
      .failures(all)
      .integer("bytes", streamed.bytes)
      .num("mb_per_s", mbps);
  cpu.add(j, "pid_cpu_s_per_gb", static_cast<double>(streamed.bytes), 1e9);
  r.json = j.text();
  char human[512];
  std::snprintf(human, sizeof human,
                "%s via %s, %u tunnels (%llu open), %.1f s: %.1f MB/s (%llu bytes), %s",
                up ? "bulk up" : "bulk down", o.plan.via_connect ? "CONNECT" : "direct", o.tunnels,
                static_cast<unsigned long long>(opened.ok), o.seconds, mbps,
                static_cast<unsigned long long>(streamed.bytes), failure_text(all).c_str());
  r.human = human + cpu.text(static_cast<double>(streamed.bytes), 1e9, "s per GB");
  return r;
}

Report run_idle(const Options& o) {
  Runner runner(o.threads);
  std::optional<std::uint64_t> rss0, fds0, rss1, fds1;
  if (o.pid > 0) {
    rss0 = rss_kib(o.pid);
    fds0 = open_fds(o.pid);
  }
  std::vector<Slot> slots(o.tunnels);
  const auto t0 = Clock::now();
  const auto limit =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  const Totals opened = open_all(runner, o, true, slots, limit);
  const double open_seconds = seconds_since(t0);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.hold_seconds));
  if (o.pid > 0) {
    rss1 = rss_kib(o.pid);
    fds1 = open_fds(o.pid);
  }
  const Totals closed = close_all(runner, o, slots);

  Totals all = opened;
  for (std::size_t i = 0; i < kFailures; ++i)
    all.failures[i] += closed.failures[i];
  const LatencySummary lat = summarize(opened.latency_ms);
  const double n = static_cast<double>(opened.ok);
  Json j = common(o);
  j.integer("tunnels", o.tunnels)
      .integer("tunnels_ok", opened.ok)
      .failures(all)
      .num("open_seconds", open_seconds)
      .num("open_rate_per_s", n / open_seconds)
      .num("p99_ms", lat.p99);
  std::string measured = "no --pid: memory not measured";
  if (rss0 && rss1 && fds0 && fds1 && opened.ok > 0) {
    const double kib = (static_cast<double>(*rss1) - static_cast<double>(*rss0)) / n;
    const double fds = (static_cast<double>(*fds1) - static_cast<double>(*fds0)) / n;
    j.integer("pid", static_cast<std::uint64_t>(o.pid))
        .integer("rss_before_kib", *rss0)
        .integer("rss_after_kib", *rss1)
        .num("kib_per_tunnel", kib)
        .integer("fds_before", *fds0)
        .integer("fds_after", *fds1)
        .num("fds_per_tunnel", fds);
    char buf[256];
    std::snprintf(
        buf, sizeof buf,
        "pid %d: RSS %llu -> %llu KiB (%.1f KiB per tunnel), fds %llu -> %llu (%.2f "
        "per tunnel)",
        o.pid, static_cast<unsigned long long>(*rss0), static_cast<unsigned long long>(*rss1), kib,
        static_cast<unsigned long long>(*fds0), static_cast<unsigned long long>(*fds1), fds);
    measured = buf;
  } else {
    j.null("kib_per_tunnel").null("fds_per_tunnel");
    if (o.pid > 0) measured = "cannot read /proc of pid " + std::to_string(o.pid);
  }
  Report r;
  r.json = j.text();
  char human[768];
  std::snprintf(human, sizeof human, "idle via %s: %llu of %u tunnels open in %.1f s, %s; %s",
                o.plan.via_connect ? "CONNECT" : "direct",
                static_cast<unsigned long long>(opened.ok), o.tunnels, open_seconds,
                failure_text(all).c_str(), measured.c_str());
  r.human = human;
  return r;
}

}  // namespace loadgen
