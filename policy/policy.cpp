#include "policy/policy.hpp"

#include <algorithm>

#include "policy/pattern.hpp"

namespace fqdngate::policy {
namespace {

bool in_scope(const Rule& r, const DecisionInput& in) noexcept {
  if (!r.users.empty()) {
    if (!in.user) return false;
    if (std::find(r.users.begin(), r.users.end(), *in.user) == r.users.end()) return false;
  }
  if (!r.clients.empty()) {
    if (!in.client) return false;
    const auto within = [&](const Cidr& c) { return c.contains(*in.client); };
    if (std::none_of(r.clients.begin(), r.clients.end(), within)) return false;
  }
  return true;
}

bool covers_port(const Rule& r, std::uint16_t port) noexcept {
  // An allow rule always lists its ports; a deny rule without ports covers every port.
  if (r.ports.empty()) return r.action == RuleAction::deny;
  return std::find(r.ports.begin(), r.ports.end(), port) != r.ports.end();
}

}  // namespace

std::string SourceRef::str() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line);
}

std::string Rule::describe() const {
  std::string out = action == RuleAction::allow ? "allow " : "deny ";
  const bool v6 = pattern.find(':') != std::string::npos;
  out += v6 ? "[" + pattern + "]" : pattern;
  out += ':';
  if (ports.empty()) out += '*';
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (i != 0) out += ',';
    out += std::to_string(ports[i]);
  }
  if (allow_private) out += " private";
  if (allow_ech) out += " allow_ech";
  if (tls == TlsMode::optional) out += " tls=optional";
  if (sni == SniMode::allowlisted) out += " sni=allowlisted";
  for (std::size_t i = 0; i < users.size(); ++i) {
    out += i == 0 ? " users=" : ",";
    out += users[i];
  }
  for (std::size_t i = 0; i < clients.size(); ++i) {
    out += i == 0 ? " clients=" : ",";
    out += clients[i].str();
  }
  out += " (" + origin + ")";
  return out;
}

bool may_reach(const Rule& r, const boost::asio::ip::address& a, AddressClass cls) {
  if (cls == AddressClass::global) return true;
  if (!r.allow_private) return false;
  if (cls != AddressClass::metadata) return true;
  char buf[kCanonicalIpBufferSize];
  const std::size_t n = canonical_ip(r.pattern, buf);
  return n != 0 && std::string_view(buf, n) == a.to_string();
}

std::string_view unreachable_reason(const Rule& r) {
  return r.allow_private
             ? "cloud metadata addresses are reachable only by a rule naming the address"
             : "the rule does not say private: true";
}

Policy::Policy(std::vector<Rule> rules, Settings settings, std::string source, std::string version)
    : rules_(std::move(rules)),
      settings_(std::move(settings)),
      source_(std::move(source)),
      version_(std::move(version)) {
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    rules_[i].description = rules_[i].describe();
    rules_[i].source = rules_[i].where.str();
    names_.add(rules_[i].pattern, static_cast<std::uint32_t>(i));
  }
}

bool Policy::admits(const boost::asio::ip::address& a) const noexcept {
  for (const auto& range : settings_.clients_allow) {
    if (range.contains(a)) return true;
  }
  return false;
}

Decision Policy::decide(const DecisionInput& in) const noexcept {
  char ip_buf[kCanonicalIpBufferSize];
  const std::size_t ip_len = canonical_ip(in.host, ip_buf);
  const std::string_view host = ip_len != 0 ? std::string_view(ip_buf, ip_len) : in.host;
  // An IP literal is decided only by rules naming that exact address: the visitor stops before
  // the wildcard specificities (which are shorter than the exact match's host.size() + 1).
  const auto exact_only = [&](std::size_t specificity) {
    return ip_len == 0 || specificity > host.size();
  };

  // One pass over one table, most specific first: every lookup serves deny and allow rules alike.
  const Rule* deny = nullptr;
  const Rule* best = nullptr;
  std::size_t best_specificity = 0;
  const Rule* most_specific = nullptr;  // the most specific allow rule for the name
  const Rule* out_of_scope =
      nullptr;  // the most specific allow rule for name and port, other scope
  names_.for_each_match(host, [&](std::uint32_t i, std::size_t specificity) {
    if (!exact_only(specificity)) return false;
    const Rule& r = rules_[i];
    if (r.action == RuleAction::deny) {
      // Any deny rule that applies wins over every allow rule, however specific.
      if (!covers_port(r, in.port) || !in_scope(r, in)) return true;
      deny = &r;
      return false;
    }
    // Less specific allow rules change nothing once one decided; deny rules still might.
    if (best != nullptr && specificity < best_specificity) return true;
    if (most_specific == nullptr) most_specific = &r;
    if (!covers_port(r, in.port)) return true;
    if (!in_scope(r, in)) {
      if (out_of_scope == nullptr) out_of_scope = &r;
      return true;
    }
    // Same specificity: private: true wins, then the earliest rule (values come in file order).
    if (best == nullptr || (r.allow_private && !best->allow_private)) {
      best = &r;
      best_specificity = specificity;
    }
    return true;
  });
  if (deny != nullptr) return Decision{Verdict::deny, Reason::denylisted, deny};
  if (best != nullptr) return Decision{Verdict::allow, Reason::allowlisted, best};
  if (out_of_scope != nullptr) return Decision{Verdict::deny, Reason::not_in_scope, out_of_scope};
  if (most_specific != nullptr)
    return Decision{Verdict::deny, Reason::port_not_allowed, most_specific};
  return Decision{Verdict::deny, ip_len != 0 ? Reason::ip_literal : Reason::not_allowlisted,
                  nullptr};
}

}  // namespace fqdngate::policy
