#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <vector>

#include "policy/policy.hpp"

using fqdngate::Reason;
using fqdngate::policy::Decision;
using fqdngate::policy::DecisionInput;
using fqdngate::policy::Policy;
using fqdngate::policy::Rule;
using fqdngate::policy::RuleAction;
using fqdngate::policy::Settings;
using fqdngate::policy::Verdict;

namespace {

Rule allow(std::string pattern, std::vector<std::uint16_t> ports = {443}, bool priv = false) {
  Rule r;
  r.action = RuleAction::allow;
  r.pattern = std::move(pattern);
  r.ports = std::move(ports);
  r.allow_private = priv;
  r.origin = "allow";
  return r;
}

Rule deny(std::string pattern, std::vector<std::uint16_t> ports = {}) {
  Rule r;
  r.action = RuleAction::deny;
  r.pattern = std::move(pattern);
  r.ports = std::move(ports);
  r.origin = "deny";
  return r;
}

Policy make(std::vector<Rule> rules) {
  // Each rule's line is its position, so a failing check can say which rule decided.
  for (std::size_t i = 0; i < rules.size(); ++i)
    rules[i].where = {"t.yaml", int(i) + 1, 1};
  return Policy(std::move(rules), Settings{}, "t.yaml", "test");
}

struct Expect {
  const char* host;
  std::uint16_t port;
  Verdict verdict;
  Reason reason;
  int rule_line;  // 0: no rule
};

void check_table(const Policy& p, std::initializer_list<Expect> table) {
  for (const auto& e : table) {
    INFO(e.host << ":" << e.port);
    const Decision d = p.decide(DecisionInput{e.host, e.port, std::nullopt, std::nullopt});
    CHECK(d.verdict == e.verdict);
    CHECK(fqdngate::reason_name(d.reason) == fqdngate::reason_name(e.reason));
    CHECK((d.rule == nullptr ? 0 : d.rule->where.line) == e.rule_line);
  }
}

constexpr auto A = Verdict::allow;
constexpr auto D = Verdict::deny;

}  // namespace

TEST_CASE("deny rules win over allow rules, exact or wildcard", "[policy]") {
  const Policy p = make({
      allow("*.example.com"),       // 1
      allow("bad.example.com"),     // 2
      deny("bad.example.com"),      // 3
      deny("*.evil.example.com"),   // 4
      allow("x.evil.example.com"),  // 5
  });
  check_table(p, {
                     {"good.example.com", 443, A, Reason::allowlisted, 1},
                     {"bad.example.com", 443, D, Reason::denylisted, 3},
                     {"bad.example.com", 8443, D, Reason::denylisted, 3},
                     {"x.evil.example.com", 443, D, Reason::denylisted, 4},
                     {"evil.example.com", 443, A, Reason::allowlisted, 1},
                 });
}

TEST_CASE("deny rules with ports deny only those ports", "[policy]") {
  const Policy p = make({
      allow("api.example.com", {443, 8443}),  // 1
      deny("api.example.com", {8443}),        // 2
      deny("*.example.com", {22}),            // 3
  });
  check_table(p, {
                     {"api.example.com", 443, A, Reason::allowlisted, 1},
                     {"api.example.com", 8443, D, Reason::denylisted, 2},
                     {"api.example.com", 22, D, Reason::denylisted, 3},
                     {"api.example.com", 80, D, Reason::port_not_allowed, 1},
                     {"other.example.com", 443, D, Reason::not_allowlisted, 0},
                 });
}

TEST_CASE("an allow rule allows only its ports", "[policy]") {
  const Policy p = make({
      allow("registry.internal.example", {443, 5000}),  // 1
      allow("plain.example"),                           // 2
  });
  check_table(p, {
                     {"registry.internal.example", 443, A, Reason::allowlisted, 1},
                     {"registry.internal.example", 5000, A, Reason::allowlisted, 1},
                     {"registry.internal.example", 5001, D, Reason::port_not_allowed, 1},
                     {"plain.example", 443, A, Reason::allowlisted, 2},
                     {"plain.example", 80, D, Reason::port_not_allowed, 2},
                     {"nothing.example", 443, D, Reason::not_allowlisted, 0},
                 });
}

TEST_CASE("the most specific rule that allows the port decides", "[policy]") {
  const Policy p = make({
      allow("*.example.com", {443}),                   // 1
      allow("*.b.example.com", {8443}),                // 2
      allow("a.b.example.com", {9000}),                // 3
      allow("*.c.example.com", {443}, /*priv*/ true),  // 4
      allow("c.example.com", {443}),                   // 5
  });
  check_table(p, {
                     {"a.b.example.com", 9000, A, Reason::allowlisted, 3},
                     {"a.b.example.com", 8443, A, Reason::allowlisted, 2},
                     {"a.b.example.com", 443, A, Reason::allowlisted, 1},
                     {"a.b.example.com", 1, D, Reason::port_not_allowed, 3},
                     {"x.b.example.com", 443, A, Reason::allowlisted, 1},
                     {"x.b.example.com", 80, D, Reason::port_not_allowed, 2},
                     {"x.c.example.com", 443, A, Reason::allowlisted, 4},
                     {"c.example.com", 443, A, Reason::allowlisted, 5},
                     {"example.com", 443, D, Reason::not_allowlisted, 0},
                 });
}

TEST_CASE("on a tie a private rule wins, then the earliest", "[policy]") {
  const Policy p = make({
      allow("db.example.com"),                        // 1
      allow("db.example.com", {443}, /*priv*/ true),  // 2
      allow("db.example.com", {443}, /*priv*/ true),  // 3
      allow("web.example.com", {443, 80}),            // 4
      allow("web.example.com"),                       // 5
      allow("*.example.com"),                         // 6
      allow("*.example.com", {443}, /*priv*/ true),   // 7
  });
  check_table(p, {
                     {"db.example.com", 443, A, Reason::allowlisted, 2},
                     {"web.example.com", 443, A, Reason::allowlisted, 4},
                     {"web.example.com", 80, A, Reason::allowlisted, 4},
                     {"other.example.com", 443, A, Reason::allowlisted, 7},
                 });
  const auto d = p.decide(DecisionInput{"db.example.com", 443, std::nullopt, std::nullopt});
  REQUIRE(d.rule != nullptr);
  CHECK(d.rule->allow_private);
}

TEST_CASE("IP literals are decided only by rules naming that address", "[policy]") {
  const Policy p = make({
      allow("203.0.113.5", {443, 8443}),  // 1
      deny("192.0.2.1"),                  // 2
      allow("192.0.2.1"),                 // 3
      allow("2001:db8::1"),               // 4
      allow("*.0.113.6"),                 // 5: a name pattern never matches an address
      allow("*.example.com"),             // 6
  });
  check_table(p, {
                     {"203.0.113.5", 443, A, Reason::allowlisted, 1},
                     {"203.0.113.5", 8443, A, Reason::allowlisted, 1},
                     {"203.0.113.5", 80, D, Reason::port_not_allowed, 1},
                     {"192.0.2.1", 443, D, Reason::denylisted, 2},
                     {"198.51.100.1", 443, D, Reason::ip_literal, 0},
                     {"203.0.113.6", 443, D, Reason::ip_literal, 0},
                     {"2001:db8::1", 443, A, Reason::allowlisted, 4},
                     {"2001:DB8:0:0::1", 443, A, Reason::allowlisted, 4},
                     {"2001:db8::2", 443, D, Reason::ip_literal, 0},
                 });
}

TEST_CASE("a policy without rules denies everything", "[policy]") {
  const Policy p = make({});
  check_table(p, {
                     {"api.prefect.cloud", 443, D, Reason::not_allowlisted, 0},
                     {"127.0.0.1", 443, D, Reason::ip_literal, 0},
                 });
}

TEST_CASE("rules describe themselves in one line", "[policy]") {
  Rule r = allow("registry.internal.example", {443, 5000}, true);
  r.tls = fqdngate::policy::TlsMode::optional;
  CHECK(r.describe() == "allow registry.internal.example:443,5000 private tls=optional (allow)");
  Rule s3 = allow("*.s3.amazonaws.com");
  s3.origin = "preset:s3";
  CHECK(s3.describe() == "allow *.s3.amazonaws.com:443 (preset:s3)");
  CHECK(deny("*.evil.example").describe() == "deny *.evil.example:* (deny)");
  CHECK(allow("2001:db8::1").describe() == "allow [2001:db8::1]:443 (allow)");
  CHECK((fqdngate::policy::SourceRef{"p.yaml", 12, 5}.str()) == "p.yaml:12");
}

TEST_CASE("users: and clients: scopes: a rule outside its scope is as if absent",
          "[policy][scope]") {
  namespace ip = boost::asio::ip;
  Rule for_ci = allow("registry.example.com");
  for_ci.users = {"ci", "build-runner"};
  Rule from_builders = allow("builds.example.com");
  from_builders.clients = {fqdngate::policy::Cidr{ip::make_address("10.1.0.0"), 16}};
  Rule both = allow("both.example.com");
  both.users = {"ci"};
  both.clients = {fqdngate::policy::Cidr{ip::make_address("10.1.0.0"), 16}};
  Rule no_worker = deny("*.example.com");
  no_worker.users = {"worker"};
  const Policy p = make({for_ci, from_builders, both, no_worker, allow("open.example.com")});

  const auto decide = [&](const char* host, std::optional<std::string_view> user,
                          const char* client) {
    const auto d = p.decide(DecisionInput{host, 443, ip::make_address(client), user});
    return std::string(d.verdict == Verdict::allow ? "allow " : "deny ") +
           std::string(fqdngate::reason_name(d.reason)) + " " +
           std::to_string(d.rule == nullptr ? 0 : d.rule->where.line);
  };
  CHECK(decide("registry.example.com", "ci", "127.0.0.1") == "allow allowlisted 1");
  CHECK(decide("registry.example.com", "build-runner", "127.0.0.1") == "allow allowlisted 1");
  CHECK(decide("registry.example.com", "bob", "127.0.0.1") == "deny not_in_scope 1");
  CHECK(decide("registry.example.com", std::nullopt, "127.0.0.1") == "deny not_in_scope 1");
  // Names compare exactly: no case folding, no prefixes.
  CHECK(decide("registry.example.com", "CI", "127.0.0.1") == "deny not_in_scope 1");
  CHECK(decide("registry.example.com", "ci2", "127.0.0.1") == "deny not_in_scope 1");
  CHECK(decide("builds.example.com", std::nullopt, "10.1.200.7") == "allow allowlisted 2");
  CHECK(decide("builds.example.com", std::nullopt, "10.2.0.1") == "deny not_in_scope 2");
  CHECK(decide("both.example.com", "ci", "10.1.0.1") == "allow allowlisted 3");
  CHECK(decide("both.example.com", "ci", "10.9.0.1") == "deny not_in_scope 3");
  CHECK(decide("both.example.com", "bob", "10.1.0.1") == "deny not_in_scope 3");
  // A scoped deny denies only its scope.
  CHECK(decide("open.example.com", "worker", "127.0.0.1") == "deny denylisted 4");
  CHECK(decide("open.example.com", "ci", "127.0.0.1") == "allow allowlisted 5");
  CHECK(decide("open.example.com", std::nullopt, "127.0.0.1") == "allow allowlisted 5");
  // Out of scope is only reported when name and port matched; otherwise the usual reasons.
  CHECK(decide("unknown.test", "bob", "127.0.0.1") == "deny not_allowlisted 0");
  const auto wrong_port =
      p.decide(DecisionInput{"registry.example.com", 8443, ip::make_address("127.0.0.1"), "bob"});
  CHECK(wrong_port.reason == Reason::port_not_allowed);
}

TEST_CASE("a scoped rule does not shadow a broader rule that applies", "[policy][scope]") {
  Rule exact_for_ci = allow("pkg.example.com");
  exact_for_ci.users = {"ci"};
  const Policy p = make({exact_for_ci, allow("*.example.com")});
  const auto d = p.decide(DecisionInput{"pkg.example.com", 443, std::nullopt, "bob"});
  CHECK(d.verdict == Verdict::allow);
  CHECK(d.rule->where.line == 2);
}

TEST_CASE("metadata endpoints are reachable only by a rule naming them", "[policy][address]") {
  namespace ip = boost::asio::ip;
  using fqdngate::policy::AddressClass;
  using fqdngate::policy::classify;
  using fqdngate::policy::may_reach;
  const auto reach = [](const Rule& r, const char* address) {
    const auto a = ip::make_address(address);
    return may_reach(r, a, classify(a));
  };
  const Rule plain = allow("registry.internal.example");
  const Rule priv = allow("registry.internal.example", {443}, true);
  const Rule named = allow("169.254.169.254", {80}, true);
  const Rule named_v6 = allow("fd00:ec2::254", {80}, true);
  CHECK(reach(plain, "93.184.216.34"));
  CHECK_FALSE(reach(plain, "10.1.2.3"));
  CHECK(reach(priv, "10.1.2.3"));
  CHECK(reach(priv, "127.0.0.1"));
  // A name whose DNS points at instance metadata never gets there, private: true or not.
  CHECK_FALSE(reach(priv, "169.254.169.254"));
  CHECK_FALSE(reach(priv, "::ffff:169.254.169.254"));
  CHECK_FALSE(reach(priv, "fd00:ec2::254"));
  CHECK_FALSE(reach(priv, "100.100.100.200"));
  CHECK(reach(named, "169.254.169.254"));
  CHECK_FALSE(reach(named, "100.100.100.200"));
  CHECK(reach(named_v6, "fd00:ec2::254"));
  CHECK(fqdngate::policy::unreachable_reason(plain) == "the rule does not say private: true");
}
