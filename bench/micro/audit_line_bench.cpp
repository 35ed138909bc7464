// append_audit_line(), as a session calls it (into the worker's reused string): the decision line
// written for every CONNECT and the close line written when the tunnel ends, both naming the rule
// that decided. Timestamp formatting included.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

#include "proxy/audit_record.hpp"

namespace {

using fqdngate::append_audit_line;
using fqdngate::AuditRecord;
using fqdngate::Reason;
using fqdngate::policy::Rule;
using fqdngate::policy::RuleAction;
using fqdngate::policy::Verdict;

// Through a Policy, which renders the rule's description and source once, as in the proxy.
const Rule& the_rule() {
  static const fqdngate::policy::Policy policy = [] {
    Rule r;
    r.action = RuleAction::allow;
    r.pattern = "*.prefect.cloud";
    r.ports = {443};
    r.origin = "prefect.cloud";
    r.where = {"/etc/fqdngate/policy.yaml", 14, 5};
    return fqdngate::policy::Policy({r}, fqdngate::policy::Settings{}, "/etc/fqdngate/policy.yaml",
                                    "3f9a1c02b7de");
  }();
  return policy.rules()[0];
}

AuditRecord base() {
  AuditRecord r;
  r.conn = 421337;
  r.client = "10.20.30.40:51234";
  r.method = "CONNECT";
  r.host = "api.prefect.cloud";
  r.port = 443;
  r.rule = &the_rule();
  r.policy_version = "3f9a1c02b7de";
  return r;
}

// 2026-11-28T23:59:59.123Z
const std::chrono::system_clock::time_point kNow{std::chrono::milliseconds(1'795'910'399'123)};

void run(benchmark::State& state, const AuditRecord& r) {
  std::size_t bytes = 0;
  std::string line;
  for (auto _ : state) {
    line.clear();
    append_audit_line(line, r, kNow);
    bytes = line.size();
    benchmark::DoNotOptimize(line.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(std::to_string(bytes) + " B line");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
}

void BM_AuditLine_Decision(benchmark::State& state) {
  AuditRecord r = base();
  r.event = "decision";
  r.stage = "connect";
  r.decision = Verdict::allow;
  r.reason = Reason::allowlisted;
  run(state, r);
}
BENCHMARK(BM_AuditLine_Decision);

void BM_AuditLine_Close(benchmark::State& state) {
  AuditRecord r = base();
  r.event = "close";
  r.sni = "api.prefect.cloud";
  r.upstream = "104.18.22.97:443";
  r.reason = Reason::closed;
  r.status = 200;
  r.bytes_up = 48'213;
  r.bytes_down = 1'734'902;
  r.duration = std::chrono::milliseconds(8'412);
  run(state, r);
}
BENCHMARK(BM_AuditLine_Close);

}  // namespace
