// Policy::decide() against synthetic policies of 10, 1 000 and 100 000 rules: an exact hit, a
// wildcard hit and a miss (default deny). The cost per decision must not grow with the rules.
//
// Rules, for N: N/2 exact allows "host-I.example-(I%100).com", max(1, N/100) wildcard denies
// "*.blocked-I.example", the rest wildcard allows "*.zone-I.example"; all on port 443.
// Second argument: how many distinct names the queries rotate through. 1 keeps the one hash
// bucket hot (the algorithmic cost); 1024 names spread over the whole rule set make a large
// policy pay its cache misses, as a gate serving many hosts would.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "policy/policy.hpp"

namespace {

using fqdngate::policy::Decision;
using fqdngate::policy::DecisionInput;
using fqdngate::policy::Policy;
using fqdngate::policy::Rule;
using fqdngate::policy::RuleAction;
using fqdngate::policy::Settings;
using fqdngate::policy::Verdict;

struct Shape {
  std::size_t exact;
  std::size_t deny;
  std::size_t wildcard;
};

Shape shape(std::size_t n) {
  const std::size_t exact = n / 2;
  const std::size_t deny = std::max<std::size_t>(1, n / 100);
  return {exact, deny, n - exact - deny};
}

std::string exact_name(std::size_t i) {
  return "host-" + std::to_string(i) + ".example-" + std::to_string(i % 100) + ".com";
}

Rule rule(RuleAction action, std::string pattern, std::size_t line) {
  Rule r;
  r.action = action;
  r.pattern = std::move(pattern);
  if (action == RuleAction::allow) r.ports = {443};
  r.origin = action == RuleAction::allow ? "allow" : "deny";
  r.where = {"bench.yaml", static_cast<int>(line), 3};
  return r;
}

// One policy per size, built on first use and kept for the whole run.
const Policy& policy_of(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<Policy>> cache;
  auto& slot = cache[n];
  if (!slot) {
    const Shape s = shape(n);
    std::vector<Rule> rules;
    rules.reserve(n);
    for (std::size_t i = 0; i < s.exact; ++i)
      rules.push_back(rule(RuleAction::allow, exact_name(i), rules.size() + 1));
    for (std::size_t i = 0; i < s.deny; ++i)
      rules.push_back(
          rule(RuleAction::deny, "*.blocked-" + std::to_string(i) + ".example", rules.size() + 1));
    for (std::size_t i = 0; i < s.wildcard; ++i)
      rules.push_back(
          rule(RuleAction::allow, "*.zone-" + std::to_string(i) + ".example", rules.size() + 1));
    slot = std::make_unique<Policy>(std::move(rules), Settings{}, "bench.yaml", "bench");
  }
  return *slot;
}

enum class Query { exact_hit, wildcard_hit, miss };

// `count` query names spread evenly over the rules they target.
std::vector<std::string> queries(Query q, std::size_t n, std::size_t count) {
  const Shape s = shape(n);
  std::vector<std::string> out;
  for (std::size_t k = 0; k < count; ++k) {
    switch (q) {
      case Query::exact_hit:
        out.push_back(exact_name(k * s.exact / count));
        break;
      case Query::wildcard_hit:
        out.push_back("api.v1.zone-" + std::to_string(k * s.wildcard / count) + ".example");
        break;
      case Query::miss:
        out.push_back("www.unknown-" + std::to_string(k) + ".example.org");
        break;
    }
  }
  return out;
}

void run(benchmark::State& state, Query q, Verdict expected) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto count = static_cast<std::size_t>(state.range(1));  // a power of two
  const Policy& policy = policy_of(n);
  const std::vector<std::string> names = queries(q, n, count);
  for (const auto& name : names) {
    if (policy.decide(DecisionInput{name, 443, std::nullopt, std::nullopt}).verdict != expected) {
      state.SkipWithError(("unexpected verdict for " + name).c_str());
      return;
    }
  }
  std::size_t k = 0;
  for (auto _ : state) {
    const Decision d =
        policy.decide(DecisionInput{names[k & (count - 1)], 443, std::nullopt, std::nullopt});
    benchmark::DoNotOptimize(d);
    ++k;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Decide_ExactHit(benchmark::State& state) {
  run(state, Query::exact_hit, Verdict::allow);
}
void BM_Decide_WildcardHit(benchmark::State& state) {
  run(state, Query::wildcard_hit, Verdict::allow);
}
void BM_Decide_Miss(benchmark::State& state) {
  run(state, Query::miss, Verdict::deny);
}

void sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"rules", "names"});
  b->ArgsProduct({{10, 1000, 100000}, {1, 1024}});
}
BENCHMARK(BM_Decide_ExactHit)->Apply(sizes);
BENCHMARK(BM_Decide_WildcardHit)->Apply(sizes);
BENCHMARK(BM_Decide_Miss)->Apply(sizes);

}  // namespace
