// allow:, deny:, presets: and prefect: -> rules.
#include <algorithm>

#include "policy/credentials.hpp"
#include "policy/loader_sections.hpp"
#include "policy/pattern.hpp"
#include "policy/profiles.hpp"
#include "policy/server_url.hpp"

namespace fqdngate::policy::sections {
namespace {

constexpr std::string_view kPatternWhat = "a host name, \"*.suffix\" or IP address";

std::string read_pattern(const yaml::Reader& r, const YAML::Node& n, const std::string& path) {
  const std::string text = r.text(n, path, kPatternWhat);
  std::string why;
  auto p = parse_pattern(text, &why);
  if (!p) {
    r.fail(n, path,
           "expected " + std::string(kPatternWhat) + ", got " + yaml::describe(n) + ": " + why);
  }
  return std::move(p->text);
}

std::vector<std::string> read_users(const yaml::Reader& r, const yaml::Field& f) {
  const auto list = r.items(f.at, f.path, "a list of user names");
  if (list.empty()) r.expected(f.at, f.path, "at least one user name");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = yaml::index_path(f.path, i);
    std::string name = r.text(list[i], path, "a user name");
    if (const auto why = invalid_user_name(name)) r.fail(list[i], path, *why);
    out.push_back(std::move(name));
  }
  return out;
}

Rule read_rule(const yaml::Reader& r, const YAML::Node& n, const std::string& path,
               RuleAction action) {
  Rule rule;
  rule.action = action;
  rule.origin = action == RuleAction::allow ? "allow" : "deny";
  rule.where = r.where(n);
  if (action == RuleAction::allow) rule.ports = {443};
  if (n.IsScalar()) {
    rule.pattern = read_pattern(r, n, path);
    return rule;
  }
  const auto fields =
      action == RuleAction::allow
          ? r.fields(n, path,
                     {"host", "ports", "private", "tls", "allow_ech", "sni", "users", "clients"},
                     "a host pattern or a mapping with host, ports, private, tls, allow_ech, sni, "
                     "users, clients")
          : r.fields(n, path, {"host", "ports", "users", "clients"},
                     "a host pattern or a mapping with host, ports, users, clients");
  bool has_host = false;
  for (const auto& f : fields) {
    if (f.key == "host") {
      rule.pattern = read_pattern(r, f.at, f.path);
      has_host = true;
    } else if (f.key == "ports") {
      rule.ports = r.ports(f.at, f.path);
    } else if (f.key == "private") {
      rule.allow_private = r.boolean(f.at, f.path);
    } else if (f.key == "allow_ech") {
      rule.allow_ech = r.boolean(f.at, f.path);
    } else if (f.key == "sni") {
      const std::string mode = r.scalar_or_empty(f.at);
      if (mode == "exact") {
        rule.sni = SniMode::exact;
      } else if (mode == "allowlisted") {
        rule.sni = SniMode::allowlisted;
      } else {
        r.expected(f.at, f.path, "exact or allowlisted");
      }
    } else if (f.key == "users") {
      rule.users = read_users(r, f);
    } else if (f.key == "clients") {
      rule.clients = read_client_networks(r, f, false);
    } else if (f.key == "tls") {
      const std::string mode = r.scalar_or_empty(f.at);
      if (mode == "required") {
        rule.tls = TlsMode::required;
      } else if (mode == "optional") {
        rule.tls = TlsMode::optional;
      } else {
        r.expected(f.at, f.path, "required or optional");
      }
    }
  }
  if (!has_host) r.fail(n, path, "missing key 'host' (the name, \"*.suffix\" or IP address)");
  return rule;
}

std::string list_preset_names() {
  std::string out;
  for (const auto& p : presets()) {
    if (!out.empty()) out += ", ";
    out += p.name;
  }
  return out;
}

void add_endpoints(const std::vector<EndpointEntry>& entries, RuleAction action,
                   const std::string& origin, const SourceRef& where, const std::string& path,
                   std::vector<RuleDraft>& out) {
  for (const auto& e : entries) {
    Rule rule;
    rule.action = action;
    // Built-in lists are normalized by construction; profiles_test checks every entry.
    rule.pattern = std::string(e.pattern);
    // A built-in deny (blocked telemetry) covers every port.
    if (action == RuleAction::allow) {
      rule.ports = e.ports.empty() ? std::vector<std::uint16_t>{443} : e.ports;
    }
    rule.origin = origin;
    rule.where = where;
    out.push_back(RuleDraft{std::move(rule), path});
  }
}

}  // namespace

void read_rules(const yaml::Reader& r, const yaml::Field& f, RuleAction action,
                std::vector<RuleDraft>& out) {
  if (f.value.IsNull()) return;  // "allow:" with nothing under it: no rules
  const auto list = r.items(f.at, f.path, "a list of host patterns");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = yaml::index_path(f.path, i);
    out.push_back(RuleDraft{read_rule(r, list[i], path, action), path});
  }
}

void read_presets(const yaml::Reader& r, const yaml::Field& f, Settings& settings,
                  std::vector<RuleDraft>& out) {
  if (f.value.IsNull()) return;
  const auto list = r.items(f.at, f.path, "a list of preset names");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = yaml::index_path(f.path, i);
    const std::string name = r.text(list[i], path, "a preset name");
    const Preset* preset = find_preset(name);
    if (preset == nullptr) {
      std::string message = "unknown preset '" + name + "'";
      std::string_view guess;
      for (const auto& p : presets()) {
        if (yaml::closest(name, {p.name}) == p.name) guess = p.name;
      }
      if (!guess.empty()) message += ", did you mean '" + std::string(guess) + "'?";
      r.fail(list[i], path, message + " (valid presets: " + list_preset_names() + ")");
    }
    if (std::find(settings.presets.begin(), settings.presets.end(), name) !=
        settings.presets.end()) {
      r.fail(list[i], path, "preset '" + name + "' is listed twice");
    }
    settings.presets.push_back(name);
    add_endpoints(preset->entries, RuleAction::allow, "preset:" + name, r.where(list[i]), path,
                  out);
  }
}

void read_prefect(const yaml::Reader& r, const yaml::Field* f,
                  const std::vector<RuleDraft>& explicit_rules, std::vector<RuleDraft>& out) {
  // Defaults: Cloud allowed, telemetry blocked, no GitHub login. Rules from a default point at
  // the prefect: key when present, else at the file.
  SourceRef cloud_at = f != nullptr ? r.where(f->at) : SourceRef{r.file(), 0, 0};
  SourceRef telemetry_at = cloud_at;
  std::string cloud_path = "prefect.cloud";
  std::string telemetry_path = "prefect.telemetry";
  bool cloud = true;
  bool telemetry_allowed = false;
  if (f != nullptr && !f->value.IsNull()) {
    const auto fields =
        r.fields(f->at, f->path, {"cloud", "server_url", "telemetry", "github_login"});
    for (const auto& k : fields) {
      if (k.key == "cloud") {
        cloud = r.boolean(k.at, k.path);
        cloud_at = r.where(k.at);
      } else if (k.key == "server_url") {
        if (k.value.IsNull()) continue;
        const std::string text = r.text(k.at, k.path, "an http:// or https:// URL");
        std::string why;
        const auto url = parse_server_url(text, &why);
        if (!url) {
          r.fail(k.at, k.path,
                 "expected an http:// or https:// URL, got " + yaml::describe(k.at) + ": " + why);
        }
        Rule rule;
        rule.pattern = url->host;
        rule.ports = {url->port};
        rule.allow_private = true;  // a self-hosted server normally lives inside the network
        rule.tls = url->tls ? TlsMode::required : TlsMode::optional;
        rule.origin = "prefect.server_url";
        rule.where = r.where(k.at);
        out.push_back(RuleDraft{std::move(rule), k.path});
      } else if (k.key == "telemetry") {
        const std::string mode = r.scalar_or_empty(k.at);
        if (mode != "allow" && mode != "block") r.expected(k.at, k.path, "allow or block");
        telemetry_allowed = mode == "allow";
        telemetry_at = r.where(k.at);
      } else if (k.key == "github_login") {
        if (r.boolean(k.at, k.path)) {
          add_endpoints(prefect_github_login_endpoints(), RuleAction::allow, "prefect.github_login",
                        r.where(k.at), k.path, out);
        }
      }
    }
  }
  if (cloud) {
    add_endpoints(prefect_cloud_endpoints(), RuleAction::allow, "prefect.cloud", cloud_at,
                  cloud_path, out);
  }
  add_endpoints(prefect_telemetry_endpoints(),
                telemetry_allowed ? RuleAction::allow : RuleAction::deny, "prefect.telemetry",
                telemetry_at, telemetry_path, out);
  if (telemetry_allowed) return;
  // Deny wins over allow, so such a rule would be silently dead: say how to get what was meant.
  for (const auto& d : explicit_rules) {
    if (d.rule.action != RuleAction::allow) continue;
    for (const auto& t : prefect_telemetry_endpoints()) {
      if (d.rule.pattern == t.pattern) {
        r.fail(d.rule.where, d.path,
               std::string(t.pattern) +
                   " is a Prefect telemetry host, blocked by prefect.telemetry (default block); "
                   "set prefect.telemetry: allow instead of listing it under allow");
      }
    }
  }
}

}  // namespace fqdngate::policy::sections
