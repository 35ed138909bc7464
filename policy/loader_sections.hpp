// The policy loader's section readers: one function per top-level key. Internal to the loader.
#pragma once

#include <string>
#include <vector>

#include "policy/policy.hpp"
#include "policy/yaml_reader.hpp"

namespace fqdngate::policy::sections {

// A rule plus the key path it came from, for errors found after all sections are read.
struct RuleDraft {
  Rule rule;
  std::string path;
};

// allow: / deny: lists of "pattern" or {host, ports[, private, tls, allow_ech, sni, users,
// clients]}.
void read_rules(const yaml::Reader& r, const yaml::Field& f, RuleAction action,
                std::vector<RuleDraft>& out);
// presets: [name, ...]; records the names in `settings.presets`.
void read_presets(const yaml::Reader& r, const yaml::Field& f, Settings& settings,
                  std::vector<RuleDraft>& out);
// prefect: {cloud, server_url, telemetry, github_login}; `f` is null when the key is absent
// (defaults still apply). Fails if telemetry is blocked but `explicit_rules` allow a telemetry
// host by name.
void read_prefect(const yaml::Reader& r, const yaml::Field* f,
                  const std::vector<RuleDraft>& explicit_rules, std::vector<RuleDraft>& out);

void read_listen(const yaml::Reader& r, const yaml::Field& f, Settings& settings);
// A list of networks ("10.0.0.0/8", "::1"), each checked; for clients.allow and rule scopes.
std::vector<Cidr> read_client_networks(const yaml::Reader& r, const yaml::Field& f,
                                       bool allow_empty);
// clients: {allow: [CIDR, ...]}.
void read_clients(const yaml::Reader& r, const yaml::Field& f, Settings& settings);
// Refuses a listener on a non-loopback address when clients.allow was not written: that would be
// an open proxy. `listen` is the listen: field, or null when the default applies.
void check_open_proxy(const yaml::Reader& r, const yaml::Field* listen, const Settings& settings);
// auth: {credentials, realm}; reads and checks the credentials file.
void read_auth(const yaml::Reader& r, const yaml::Field& f, Settings& settings);
void read_threads(const yaml::Reader& r, const yaml::Field& f, Settings& settings);
void read_dns(const yaml::Reader& r, const yaml::Field& f, Settings& settings);
void read_audit(const yaml::Reader& r, const yaml::Field& f, Settings& settings);
void read_limits(const yaml::Reader& r, const yaml::Field& f, Settings& settings);
// relay: {splice: true|false}.
void read_relay(const yaml::Reader& r, const yaml::Field& f, Settings& settings);

}  // namespace fqdngate::policy::sections
