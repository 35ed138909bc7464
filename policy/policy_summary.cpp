#include "policy/policy_summary.hpp"

#include <map>

#include "policy/profiles.hpp"

namespace fqdngate::policy {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += ", ";
    out += i;
  }
  return out.empty() ? "(none)" : out;
}

std::string seconds(std::chrono::milliseconds ms) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(ms).count()) + "s";
}

void append_rules(std::string& out, const Policy& p, RuleAction action) {
  for (const auto& r : p.rules()) {
    if (r.action == action) out += "  " + r.describe() + "  at " + r.where.str() + "\n";
  }
}

}  // namespace

std::string summarize_policy(const Policy& p) {
  const Settings& s = p.settings();
  std::string out;
  std::vector<std::string> listeners;
  for (const auto& l : s.listen) {
    std::string text = l.address;
    if (l.tls) text += l.tls->client_ca.empty() ? " (tls)" : " (tls, client certificates)";
    listeners.push_back(std::move(text));
  }
  out += "listen: " + join(listeners) + "\n";
  if (s.auth) {
    out += "auth: basic, " + std::to_string(s.auth->credentials->size()) + " user(s) from " +
           s.auth->credentials_path + ", realm \"" + s.auth->realm + "\"\n";
  }
  out += "threads: " + (s.threads == 0 ? std::string("one per core") : std::to_string(s.threads)) +
         "\n";
  out += "audit: " + (s.audit_path == "-" ? std::string("stdout") : s.audit_path) + "\n";
  out +=
      "dns servers: " + (s.dns.servers.empty() ? "system resolv.conf" : join(s.dns.servers)) + "\n";
  // Sorted: the map's own order changes between builds and would make diffs of `check` noisy.
  std::map<std::string, std::string> hosts;
  for (const auto& [name, addresses] : s.dns.hosts) {
    std::vector<std::string> text;
    for (const auto& a : addresses)
      text.push_back(a.to_string());
    hosts[name] = join(text);
  }
  for (const auto& [name, addresses] : hosts)
    out += "dns host: " + name + " -> " + addresses + "\n";
  const Limits& l = s.limits;
  out += "limits: header " + seconds(l.header_timeout) + "/" + std::to_string(l.max_header_bytes) +
         "B, dns " + seconds(l.dns_timeout) + ", connect " + seconds(l.connect_timeout) +
         ", client hello " + seconds(l.client_hello_timeout) + "/" +
         std::to_string(l.max_client_hello_bytes) + "B, idle " + seconds(l.idle_timeout) + "\n";
  out += "presets: " + join(s.presets) + "\n";
  std::size_t denies = 0;
  for (const auto& r : p.rules())
    denies += r.action == RuleAction::deny ? 1 : 0;
  out += "deny rules (" + std::to_string(denies) + ", checked first):\n";
  append_rules(out, p, RuleAction::deny);
  out +=
      "allow rules (" + std::to_string(p.rules().size() - denies) + "; anything else is denied):\n";
  append_rules(out, p, RuleAction::allow);
  return out;
}

std::string describe_presets() {
  std::string out;
  for (const auto& preset : presets()) {
    out += std::string(preset.name) + ": " + std::string(preset.description) + "\n";
    out += "  docs: " + std::string(preset.docs) + "\n";
    for (const auto& e : preset.entries) {
      out += "  " + std::string(e.pattern) + ":";
      if (e.ports.empty()) out += "443";
      for (std::size_t i = 0; i < e.ports.size(); ++i) {
        if (i != 0) out += ',';
        out += std::to_string(e.ports[i]);
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace fqdngate::policy
