#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "policy/loader.hpp"
#include "policy/policy_summary.hpp"
#include "policy/server_url.hpp"

using fqdngate::Reason;
using fqdngate::policy::DecisionInput;
using fqdngate::policy::Limits;
using fqdngate::policy::load_policy_file;
using fqdngate::policy::load_policy_text;
using fqdngate::policy::Policy;
using fqdngate::policy::PolicyError;
using fqdngate::policy::Rule;
using fqdngate::policy::TlsMode;
using fqdngate::policy::Verdict;

namespace {

std::string fixture(const std::string& name) {
  return std::string(FQDNGATE_FIXTURES) + "/policies/" + name;
}

// The PolicyError text a fixture produces, or "" if it loads.
std::string error_of(const std::string& name) {
  try {
    load_policy_file(fixture(name));
  } catch (const PolicyError& e) {
    return e.what();
  }
  return "";
}

const Rule* find_rule(const Policy& p, std::string_view pattern, std::string_view origin) {
  for (const auto& r : p.rules()) {
    if (r.pattern == pattern && r.origin == origin) return &r;
  }
  return nullptr;
}

std::string decide(const Policy& p, std::string_view host, std::uint16_t port) {
  const auto d = p.decide(DecisionInput{host, port, std::nullopt, std::nullopt});
  return std::string(d.verdict == Verdict::allow ? "allow " : "deny ") +
         std::string(fqdngate::reason_name(d.reason));
}

}  // namespace

TEST_CASE("every error names file:line:column, the key path and what was wrong", "[loader]") {
  struct Case {
    const char* file;
    const char* position;
    const char* message;
  };
  const Case cases[] = {
      {"unknown_key.yaml", "1:1",
       "unknown key 'alow', did you mean 'allow'? (expected one of: listen, threads, clients, "
       "auth, prefect, presets, allow, deny, dns, audit, limits, relay)"},
      {"open_proxy_listen.yaml", "2:28",
       "listen[1]: \"0.0.0.0:3128\" is not a loopback address and clients.allow is not set: "
       "fqdngate would be an open proxy for anyone who can reach it; list the client networks in "
       "clients.allow (e.g. [\"10.0.0.0/8\"])"},
      {"bad_client_network.yaml", "3:11",
       "clients.allow[1]: expected a network such as \"10.0.0.0/8\" or an address, got "
       "\"10.0.0.1/8\": host bits are set; did you mean 10.0.0.0/8?"},
      {"unknown_nested_key.yaml", "2:3",
       "limits: unknown key 'idle_timeout', did you mean 'idle_timeout_s'? (expected one of: "
       "header_timeout_s, max_header_bytes, dns_timeout_s, connect_timeout_s, "
       "client_hello_timeout_s, max_client_hello_bytes, idle_timeout_s, max_connections, "
       "max_connections_per_client)"},
      {"deny_private_key.yaml", "3:5",
       "deny[0]: unknown key 'private' (expected one of: host, ports, users, clients)"},
      {"duplicate_key.yaml", "3:1", "key 'threads' appears twice"},
      {"root_is_list.yaml", "1:1",
       "expected a mapping of policy keys (listen, prefect, allow, deny, ...), got a list"},
      {"bad_port_string.yaml", "3:18",
       "allow[0].ports[1]: expected a port number 1-65535, got \"https\""},
      {"bad_port_range.yaml", "3:13",
       "allow[0].ports[0]: expected a port number 1-65535, got \"70000\""},
      {"duplicate_port.yaml", "3:17", "deny[0].ports[1]: port 22 is listed twice"},
      {"empty_ports.yaml", "3:12",
       "allow[0].ports: expected at least one port (leave ports out for the default), got an "
       "empty list"},
      {"allow_not_list.yaml", "1:8",
       "allow: expected a list of host patterns, got \"files.example.com\""},
      {"wildcard_in_middle.yaml", "2:5",
       "allow[0]: expected a host name, \"*.suffix\" or IP address, got \"a.*.example.com\": '*' "
       "is only allowed as a whole leading label, as in \"*.example.com\""},
      {"wildcard_partial_label.yaml", "2:5",
       "allow[0]: expected a host name, \"*.suffix\" or IP address, got \"*foo.example.com\": "
       "'*' is only allowed as a whole leading label, as in \"*.example.com\""},
      {"wildcard_too_broad.yaml", "2:5",
       "allow[0]: expected a host name, \"*.suffix\" or IP address, got \"*.com\": \"*.com\" is "
       "too broad: the suffix needs at least two labels"},
      {"wildcard_everything.yaml", "2:5",
       "deny[0]: expected a host name, \"*.suffix\" or IP address, got \"*\": \"*\" would match "
       "every host; list the names instead"},
      {"cidr.yaml", "3:5",
       "allow[1]: expected a host name, \"*.suffix\" or IP address, got \"10.0.0.0/8\": address "
       "ranges (CIDR) are not supported: name one address or host"},
      {"missing_host.yaml", "2:5",
       "allow[0]: missing key 'host' (the name, \"*.suffix\" or IP address)"},
      {"bad_tls.yaml", "3:10", "allow[0].tls: expected required or optional, got \"maybe\""},
      {"bad_private.yaml", "3:14", "allow[0].private: expected true or false, got \"yes\""},
      {"bad_threads.yaml", "1:10",
       "threads: expected a thread count 0-256 (0 = one per core), got \"1000\""},
      {"bad_listen.yaml", "1:10",
       "listen[0]: expected \"ip:port\" or \"[v6]:port\" (port 0-65535), got \"localhost:3128\""},
      {"listen_not_list.yaml", "1:9",
       "listen: expected a list of \"ip:port\" or \"[v6]:port\" addresses, got "
       "\"127.0.0.1:3128\""},
      {"bad_dns_server.yaml", "2:13",
       "dns.servers[0]: expected \"ip\", \"ip:port\" or \"[v6]:port\", got \"10.0.0.53:dns\""},
      {"bad_dns_host_address.yaml", "3:28",
       "dns.hosts.db.example[1]: expected an IP address, got \"10.0.0.300\""},
      {"bad_timeout.yaml", "2:19",
       "limits.idle_timeout_s: expected a whole number of seconds 1-604800, got \"1.5\""},
      {"server_url_bad_scheme.yaml", "2:15",
       "prefect.server_url: expected an http:// or https:// URL, got "
       "\"ftp://prefect.example/api\": the URL must start with http:// or https://"},
      {"server_url_no_host.yaml", "2:15",
       "prefect.server_url: expected an http:// or https:// URL, got \"https:///api\": the URL "
       "has no host"},
      {"bad_telemetry.yaml", "2:14", "prefect.telemetry: expected allow or block, got \"off\""},
      {"bad_cloud_bool.yaml", "2:10", "prefect.cloud: expected true or false, got \"1\""},
      {"telemetry_conflict.yaml", "3:5",
       "allow[1]: api2.amplitude.com is a Prefect telemetry host, blocked by prefect.telemetry "
       "(default block); set prefect.telemetry: allow instead of listing it under allow"},
      {"unknown_preset.yaml", "1:17",
       "presets[1]: unknown preset 'pypy', did you mean 'pypi'? (valid presets: azure-blob, "
       "bitbucket, docker-hub, ecr, gar, gcs, ghcr, github, gitlab, pypi, s3)"},
      {"duplicate_preset.yaml", "1:21", "presets[2]: preset 'pypi' is listed twice"},
      {"users_without_identity.yaml", "2:5",
       "allow[0].users: a rule scoped to users needs auth: (Basic credentials) or a listener "
       "with tls.client_ca (client certificates); without either no client has an identity"},
      {"bad_sni_mode.yaml", "3:10", "allow[0].sni: expected exact or allowlisted, got \"loose\""},
      {"bad_user_name.yaml", "3:13", "allow[0].users[0]: a user name cannot contain ':'"},
      {"tls_listener_no_key.yaml", "3:10",
       "listen[0].tls: a tls listener needs both cert and key (PEM files)"},
      {"tls_listener_no_address.yaml", "2:5", "listen[0]: missing key 'address' (\"ip:port\")"},
      {"bad_realm.yaml", "2:10",
       "auth.realm: expected a realm of letters, digits, space, '.', '_', '-' (64 max), got "
       "\"a\\\"b\""},
  };
  for (const auto& c : cases) {
    INFO(c.file);
    CHECK(error_of(c.file) == fixture(c.file) + ":" + c.position + ": " + c.message);
  }
}

TEST_CASE("a bad host name reports the normalizer's reason", "[loader]") {
  const std::string e = error_of("bad_hostname.yaml");
  const std::string prefix = fixture("bad_hostname.yaml") +
                             ":2:5: allow[0]: expected a host name, \"*.suffix\" or IP address, "
                             "got \"bad_name.example\": not a valid host name (";
  CHECK(e.starts_with(prefix));
  CHECK(e.size() > prefix.size() + 1);  // the reason itself is not empty
  CHECK(e.ends_with(")"));
}

TEST_CASE("PolicyError carries file, line and column", "[loader]") {
  try {
    load_policy_text("threads: 2\nlimits:\n  dns_timeout_s: 0\n", "inline.yaml");
    FAIL("no error");
  } catch (const PolicyError& e) {
    CHECK(e.file() == "inline.yaml");
    CHECK(e.line() == 3);
    CHECK(e.column() == 18);
    CHECK(std::string(e.what()) ==
          "inline.yaml:3:18: limits.dns_timeout_s: expected a whole number of seconds 1-300, "
          "got \"0\"");
  }
}

TEST_CASE("a YAML syntax error is a PolicyError at the parser's position", "[loader]") {
  const std::string e = error_of("syntax_error.yaml");
  CHECK(e == fixture("syntax_error.yaml") + ":2:17: YAML syntax error: illegal map value");
}

TEST_CASE("a file that cannot be read names the path and the system error", "[loader]") {
  CHECK(error_of("does_not_exist.yaml") ==
        fixture("does_not_exist.yaml") + ": cannot read policy: No such file or directory");
  try {
    load_policy_file(FQDNGATE_FIXTURES);
    FAIL("no error");
  } catch (const PolicyError& e) {
    CHECK(std::string(e.what()) ==
          std::string(FQDNGATE_FIXTURES) + ": cannot read policy: is a directory");
    CHECK(e.line() == 0);
  }
}

TEST_CASE("credentials file errors point at the credentials file and line", "[loader][auth]") {
  CHECK(error_of("auth_missing_file.yaml") ==
        fixture("auth_missing_file.yaml") + ":2:16: auth.credentials: cannot read " +
            fixture("missing.passwd") + ": No such file or directory");
  CHECK(error_of("auth_bad_credentials.yaml") ==
        fixture("bad_credentials.passwd") +
            ":3:1: user bob: unknown hash scheme 'md5' (scrypt or pbkdf2-sha256) "
            "(auth.credentials at " +
            fixture("auth_bad_credentials.yaml") + ":2)");
}

TEST_CASE(
    "tls listeners, rule scopes and the sni knob load with paths from the policy's "
    "directory",
    "[loader]") {
  const auto p = load_policy_file(fixture("scopes.yaml"));
  const auto& listen = p->settings().listen;
  REQUIRE(listen.size() == 2);
  CHECK_FALSE(listen[0].tls);
  REQUIRE(listen[1].tls);
  CHECK(listen[1].address == "127.0.0.1:3129");
  CHECK(listen[1].tls->cert == fixture("certs/proxy.crt"));
  CHECK(listen[1].tls->key == "/etc/fqdngate/proxy.key");
  CHECK(listen[1].tls->client_ca == fixture("certs/clients-ca.crt"));
  const auto* registry = find_rule(*p, "registry.example.com", "allow");
  REQUIRE(registry != nullptr);
  CHECK(registry->describe() ==
        "allow registry.example.com:443 users=ci,build-runner clients=10.1.0.0/16 (allow)");
  CHECK(find_rule(*p, "cdn.example.com", "allow")->sni == fqdngate::policy::SniMode::allowlisted);
  CHECK(find_rule(*p, "secret.example.com", "deny")->describe() ==
        "deny secret.example.com:* users=worker (deny)");
}

TEST_CASE("an empty file is valid and means every default", "[loader]") {
  const auto p = load_policy_file(fixture("empty.yaml"));
  const auto& s = p->settings();
  REQUIRE(s.listen.size() == 1);
  CHECK(s.listen[0].address == "127.0.0.1:3128");
  CHECK_FALSE(s.listen[0].tls);
  CHECK_FALSE(s.auth);
  CHECK(s.threads == 0);
  CHECK(s.audit_path == "-");
  CHECK(s.dns.servers.empty());
  CHECK(s.dns.hosts.empty());
  CHECK(s.presets.empty());
  const Limits defaults;
  CHECK(s.limits.header_timeout == defaults.header_timeout);
  CHECK(s.limits.idle_timeout == defaults.idle_timeout);
  CHECK(s.limits.max_client_hello_bytes == defaults.max_client_hello_bytes);
  // SHA-256 of the empty string starts e3b0c44298fc.
  CHECK(p->version() == "e3b0c44298fc");
  CHECK(p->source() == fixture("empty.yaml"));
  // Prefect defaults: Cloud allowed, telemetry blocked; rules point at the file, no line.
  CHECK(decide(*p, "api.prefect.cloud", 443) == "allow allowlisted");
  CHECK(decide(*p, "auth.workos.com", 443) == "allow allowlisted");
  CHECK(decide(*p, "sens-o-matic.prefect.io", 443) == "deny denylisted");
  CHECK(decide(*p, "example.com", 443) == "deny not_allowlisted");
  const Rule* cloud = find_rule(*p, "api.prefect.cloud", "prefect.cloud");
  REQUIRE(cloud != nullptr);
  CHECK(cloud->where.str() == fixture("empty.yaml"));
}

TEST_CASE("sections present but empty are the defaults too", "[loader]") {
  const auto p = load_policy_file(fixture("empty_sections.yaml"));
  CHECK(p->settings().presets.empty());
  CHECK(decide(*p, "api.prefect.cloud", 443) == "allow allowlisted");
  CHECK(decide(*p, "api2.amplitude.com", 443) == "deny denylisted");
  CHECK(p->rules().size() == 5);
}

TEST_CASE("every key of a full policy is read", "[loader]") {
  const std::string file = fixture("full.yaml");
  const auto p = load_policy_file(file);
  const auto& s = p->settings();
  REQUIRE(s.listen.size() == 2);
  CHECK(s.listen[0].address == "127.0.0.1:8080");
  CHECK(s.listen[1].address == "[::1]:8081");
  CHECK(s.threads == 4);
  CHECK(s.presets == std::vector<std::string>{"pypi", "docker-hub"});
  CHECK(s.dns.servers ==
        std::vector<std::string>{"10.0.0.53", "10.0.0.54:5353", "[2001:db8::53]:53"});
  REQUIRE(s.dns.hosts.size() == 2);
  CHECK(s.dns.hosts.at("api.prefect.cloud").at(0).to_string() == "127.0.0.1");
  REQUIRE(s.dns.hosts.at("multi.example").size() == 2);
  CHECK(s.dns.hosts.at("multi.example")[1].to_string() == "2001:db8::1");
  CHECK(s.audit_path == "/var/log/fqdngate/audit.jsonl");
  using std::chrono::seconds;
  CHECK(s.limits.header_timeout == seconds(11));
  CHECK(s.limits.max_header_bytes == 32768);
  CHECK(s.limits.dns_timeout == seconds(6));
  CHECK(s.limits.connect_timeout == seconds(12));
  CHECK(s.limits.client_hello_timeout == seconds(13));
  CHECK(s.limits.max_client_hello_bytes == 65536);
  CHECK(s.limits.idle_timeout == seconds(900));
  CHECK(p->version().size() == 12);

  const Rule* registry = find_rule(*p, "registry.internal.example", "allow");
  REQUIRE(registry != nullptr);
  CHECK(registry->describe() ==
        "allow registry.internal.example:443,5000 private tls=optional (allow)");
  CHECK(registry->where.str() == file + ":13");
  CHECK(registry->where.column == 5);

  const Rule* server = find_rule(*p, "prefect.internal.example", "prefect.server_url");
  REQUIRE(server != nullptr);
  CHECK(server->describe() == "allow prefect.internal.example:4200 private (prefect.server_url)");
  CHECK(server->where.line == 6);
  CHECK(server->where.column == 15);

  const Rule* pypi = find_rule(*p, "files.pythonhosted.org", "preset:pypi");
  REQUIRE(pypi != nullptr);
  CHECK((pypi->where.line == 9 && pypi->where.column == 11));
  const Rule* hub = find_rule(*p, "registry-1.docker.io", "preset:docker-hub");
  REQUIRE(hub != nullptr);
  CHECK((hub->where.line == 9 && hub->where.column == 17));

  const Rule* telemetry = find_rule(*p, "api2.amplitude.com", "prefect.telemetry");
  REQUIRE(telemetry != nullptr);
  CHECK(telemetry->describe() == "allow api2.amplitude.com:443 (prefect.telemetry)");
  CHECK(telemetry->where.line == 7);
  CHECK(find_rule(*p, "github.com", "prefect.github_login") != nullptr);
  CHECK(find_rule(*p, "203.0.113.10", "allow") != nullptr);
  CHECK(find_rule(*p, "bad.example", "deny")->describe() == "deny bad.example:8443 (deny)");

  CHECK(decide(*p, "registry.internal.example", 5000) == "allow allowlisted");
  CHECK(decide(*p, "prefect.internal.example", 4200) == "allow allowlisted");
  CHECK(decide(*p, "prefect.internal.example", 443) == "deny port_not_allowed");
  CHECK(decide(*p, "api2.amplitude.com", 443) == "allow allowlisted");
  CHECK(decide(*p, "github.com", 443) == "allow allowlisted");
  CHECK(decide(*p, "files.pythonhosted.org", 443) == "allow allowlisted");
  CHECK(decide(*p, "my-bucket.s3.amazonaws.com", 443) == "allow allowlisted");
  CHECK(decide(*p, "x.evil.example", 443) == "deny denylisted");
  CHECK(decide(*p, "bad.example", 8443) == "deny denylisted");
  CHECK(decide(*p, "bad.example", 443) == "deny not_allowlisted");
  CHECK(decide(*p, "203.0.113.10", 443) == "allow allowlisted");
  CHECK(decide(*p, "203.0.113.11", 443) == "deny ip_literal");

  // Rules are kept in file order: the tie-break "earliest in the file" relies on it.
  const auto& rules = p->rules();
  CHECK(std::is_sorted(rules.begin(), rules.end(), [](const Rule& a, const Rule& b) {
    return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
  }));
}

TEST_CASE("prefect.server_url allows exactly its host and port", "[loader]") {
  const auto http = load_policy_file(fixture("server_url_http.yaml"));
  const Rule* r = find_rule(*http, "prefect.internal.example", "prefect.server_url");
  REQUIRE(r != nullptr);
  CHECK(r->ports == std::vector<std::uint16_t>{4200});
  CHECK(r->allow_private);
  CHECK(r->tls == TlsMode::optional);  // http:// means plain ws:// through CONNECT
  CHECK(decide(*http, "prefect.internal.example", 4200) == "allow allowlisted");
  CHECK(decide(*http, "other.internal.example", 4200) == "deny not_allowlisted");

  const auto https = load_policy_file(fixture("server_url_https_ip.yaml"));
  const Rule* ip = find_rule(*https, "10.1.2.3", "prefect.server_url");
  REQUIRE(ip != nullptr);
  CHECK(ip->ports == std::vector<std::uint16_t>{443});
  CHECK(ip->tls == TlsMode::required);
  CHECK(decide(*https, "10.1.2.3", 443) == "allow allowlisted");
  CHECK(decide(*https, "10.1.2.3", 80) == "deny port_not_allowed");
}

TEST_CASE("prefect.cloud: false drops the Cloud hosts but keeps telemetry blocked", "[loader]") {
  const auto p = load_policy_file(fixture("cloud_off.yaml"));
  CHECK(decide(*p, "api.prefect.cloud", 443) == "deny not_allowlisted");
  CHECK(decide(*p, "api2.amplitude.com", 443) == "deny denylisted");
}

TEST_CASE("telemetry: block denies the telemetry hosts on every port", "[loader]") {
  const auto p = load_policy_text("prefect:\n  telemetry: block\n", "t.yaml");
  CHECK(decide(*p, "api2.amplitude.com", 443) == "deny denylisted");
  CHECK(decide(*p, "sens-o-matic.prefect.io", 80) == "deny denylisted");
  const Rule* r = find_rule(*p, "sens-o-matic.prefect.io", "prefect.telemetry");
  REQUIRE(r != nullptr);
  CHECK(r->where.str() == "t.yaml:2");
}

TEST_CASE("the policy version changes with the text", "[loader]") {
  const auto a = load_policy_text("threads: 1\n", "a.yaml");
  const auto b = load_policy_text("threads: 1\n", "b.yaml");
  const auto c = load_policy_text("threads: 2\n", "a.yaml");
  CHECK(a->version() == b->version());
  CHECK(a->version() != c->version());
  CHECK(std::all_of(a->version().begin(), a->version().end(),
                    [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)) != 0; }));
}

TEST_CASE("the embedded default loads and allows only Prefect Cloud", "[loader]") {
  const auto text = fqdngate::policy::embedded_default_policy_yaml();
  CHECK(text.starts_with("#"));  // a commented document a user can copy
  const auto p = load_policy_text(text, fqdngate::policy::kDefaultPolicyName);
  CHECK(p->source() == "<default>");
  REQUIRE(p->settings().listen.size() == 1);
  CHECK(p->settings().listen[0].address == "127.0.0.1:3128");
  CHECK(p->settings().audit_path == "-");
  CHECK(p->settings().presets.empty());
  CHECK(decide(*p, "api.prefect.cloud", 443) == "allow allowlisted");
  CHECK(decide(*p, "app.prefect.cloud", 443) == "allow allowlisted");
  CHECK(decide(*p, "auth.workos.com", 443) == "allow allowlisted");
  CHECK(decide(*p, "api.prefect.cloud", 80) == "deny port_not_allowed");
  CHECK(decide(*p, "api2.amplitude.com", 443) == "deny denylisted");
  CHECK(decide(*p, "sens-o-matic.prefect.io", 443) == "deny denylisted");
  CHECK(decide(*p, "github.com", 443) == "deny not_allowlisted");
  CHECK(decide(*p, "example.com", 443) == "deny not_allowlisted");
  const auto d = p->decide(DecisionInput{"api.prefect.cloud", 443, std::nullopt, std::nullopt});
  REQUIRE(d.rule != nullptr);
  CHECK(d.rule->origin == "prefect.cloud");
  CHECK(d.rule->where.file == "<default>");
  CHECK(d.rule->where.line > 0);
}

TEST_CASE("the check summary lists settings and every rule with its source", "[loader]") {
  const std::string file = fixture("full.yaml");
  const auto p = load_policy_file(file);
  const std::string text = fqdngate::policy::summarize_policy(*p);
  CHECK(text.find("listen: 127.0.0.1:8080, [::1]:8081\n") != std::string::npos);
  CHECK(text.find("presets: pypi, docker-hub\n") != std::string::npos);
  CHECK(text.find("dns host: api.prefect.cloud -> 127.0.0.1\n"
                  "dns host: multi.example -> 192.0.2.1, 2001:db8::1\n") != std::string::npos);
  CHECK(text.find("  allow registry.internal.example:443,5000 private tls=optional (allow)  at " +
                  file + ":13\n") != std::string::npos);
  CHECK(text.find("  deny *.evil.example:* (deny)  at " + file + ":19\n") != std::string::npos);
  // Deny rules are listed before allow rules, as decide() applies them.
  CHECK(text.find("deny rules") < text.find("allow rules"));
  std::size_t rule_lines = 0;
  for (std::size_t at = text.find("  at "); at != std::string::npos;
       at = text.find("  at ", at + 1))
    ++rule_lines;
  CHECK(rule_lines == p->rules().size());
}

TEST_CASE("server URLs reduce to one host and port", "[loader]") {
  using fqdngate::policy::parse_server_url;
  struct Good {
    const char* url;
    const char* host;
    std::uint16_t port;
    bool tls;
  };
  const Good good[] = {
      {"https://prefect.internal.example/api", "prefect.internal.example", 443, true},
      {"HTTP://Prefect.Internal.Example:4200/api", "prefect.internal.example", 4200, false},
      {"http://prefect.example", "prefect.example", 80, false},
      {"https://[fd00::1]:8443/api", "fd00::1", 8443, true},
      {"https://[fd00::1]", "fd00::1", 443, true},
      {"https://10.0.0.5?x=1", "10.0.0.5", 443, true},
  };
  for (const auto& g : good) {
    INFO(g.url);
    const auto u = parse_server_url(g.url);
    REQUIRE(u);
    CHECK(u->host == g.host);
    CHECK(u->port == g.port);
    CHECK(u->tls == g.tls);
  }
  struct Bad {
    const char* url;
    const char* why;
  };
  const Bad bad[] = {
      {"ws://prefect.example/api", "the URL must start with http:// or https://"},
      {"prefect.example", "the URL must start with http:// or https://"},
      {"https://", "the URL has no host"},
      {"https://:443/api", "the URL has no host"},
      {"https://prefect.example:0/api", "the port must be a number 1-65535"},
      {"https://prefect.example:/api", "the port must be a number 1-65535"},
      {"https://prefect.example:99999", "the port must be a number 1-65535"},
      {"https://user:pw@prefect.example/", "user information (user@) is not supported in the URL"},
      {"https://[fd00::1/api", "unterminated '[' in the host"},
  };
  for (const auto& b : bad) {
    INFO(b.url);
    std::string why;
    CHECK_FALSE(parse_server_url(b.url, &why));
    CHECK(why == b.why);
  }
  std::string why;
  CHECK_FALSE(parse_server_url("https://*.example.com/", &why));
  CHECK(why.starts_with("bad host \"*.example.com\""));
}

TEST_CASE("dns.hosts names are normalized and may not repeat", "[loader]") {
  const auto p = load_policy_text("dns:\n  hosts:\n    DB.Example.: 10.0.0.1\n", "d.yaml");
  CHECK(p->settings().dns.hosts.at("db.example").at(0).to_string() == "10.0.0.1");
  try {
    load_policy_text("dns:\n  hosts:\n    db.example: 10.0.0.1\n    DB.example: 10.0.0.2\n",
                     "d.yaml");
    FAIL("no error");
  } catch (const PolicyError& e) {
    CHECK(std::string(e.what()) ==
          "d.yaml:4:5: dns.hosts.DB.example: host db.example is listed twice");
  }
}

TEST_CASE("IP rules are stored in canonical form", "[loader]") {
  const auto p = load_policy_text("allow:\n  - \"[2001:DB8:0::10]\"\n  - 2001:db8::11\n", "i.yaml");
  CHECK(find_rule(*p, "2001:db8::10", "allow") != nullptr);
  CHECK(find_rule(*p, "2001:db8::11", "allow") != nullptr);
  CHECK(decide(*p, "2001:db8::10", 443) == "allow allowlisted");
}
