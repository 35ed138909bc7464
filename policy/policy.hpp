// The immutable policy snapshot and its decide() function.
// Contract: a Policy never changes after construction; decide() is const, allocation-free,
// thread-safe, and its cost does not grow with the number of rules (see NameMatcher).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy/address_class.hpp"
#include "policy/cidr.hpp"
#include "policy/credentials.hpp"
#include "policy/name_matcher.hpp"
#include "policy/reason.hpp"

namespace fqdngate::policy {

// Where a rule came from: the YAML node that produced it.
struct SourceRef {
  std::string file;  // path as given, or "<default>" for the embedded policy
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;
  std::string str() const;  // "file:line"
};

enum class RuleAction { allow, deny };
enum class TlsMode { required, optional };  // optional: plain bytes after CONNECT are allowed
// exact: the ClientHello SNI must equal the CONNECT host. allowlisted: it may differ when the
// policy allows the SNI name itself for the same client and port (CDN aliases, shared certs).
enum class SniMode { exact, allowlisted };

struct Rule {
  RuleAction action = RuleAction::allow;
  std::string pattern;               // normalized name, "*.suffix", or an IP literal
  std::vector<std::uint16_t> ports;  // allow: never empty; deny: empty means every port
  bool allow_private = false;        // may reach non-global addresses
  bool allow_ech = false;            // a ClientHello offering ECH may pass (outer SNI checked)
  TlsMode tls = TlsMode::required;
  SniMode sni = SniMode::exact;
  // Scope: empty means everyone. A rule whose scope excludes the client is as if absent.
  std::vector<std::string> users;  // identities: Basic user names or client certificate CNs
  std::vector<Cidr> clients;       // source networks
  std::string origin;              // "allow", "deny", "prefect.cloud", "preset:pypi", ...
  SourceRef where;
  // One line for humans and the audit log, e.g. "allow *.s3.amazonaws.com:443 (preset:s3)".
  std::string describe() const;
  // describe() and where.str(), computed once by the Policy so audit lines do not rebuild them.
  std::string description;
  std::string source;
};

enum class Verdict { allow, deny };

struct Decision {
  Verdict verdict = Verdict::deny;
  Reason reason = Reason::not_allowlisted;
  // The rule that decided; for not_in_scope and port_not_allowed the most specific rule that
  // matched the name; nullptr for the default deny.
  const Rule* rule = nullptr;
};

struct Limits {
  std::chrono::milliseconds header_timeout{10'000};  // whole request head, not reset per byte
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds dns_timeout{5'000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds client_hello_timeout{10'000};
  std::size_t max_client_hello_bytes = 16 * 1024;
  std::chrono::milliseconds idle_timeout{300'000};  // well above websockets' 20 s pings
  // Concurrent client connections. Each tunnel holds two descriptors, so the total default
  // leaves room under a 20 000 descriptor limit; one client cannot take all of it.
  std::size_t max_connections = 8000;
  std::size_t max_connections_per_client = 1000;
};

struct DnsSettings {
  std::vector<std::string> servers;  // "ip:port" / "ip" / "[v6]:port"; empty = resolv.conf
  // Static name -> addresses, consulted before DNS; names normalized.
  std::unordered_map<std::string, std::vector<boost::asio::ip::address>> hosts;
};

// A `tls` listener: clients reach the proxy over TLS (an https:// proxy URL). Paths are as
// resolved by the loader (relative to the policy file's directory).
struct TlsListenerFiles {
  std::string cert;
  std::string key;
  std::string client_ca;  // empty: no client certificate asked for
};

struct ListenSpec {
  std::string address;  // "ip:port" / "[v6]:port"
  std::optional<TlsListenerFiles> tls;
  SourceRef where;  // for errors found when the listener is opened
};

struct AuthSettings {
  std::shared_ptr<const Credentials> credentials;
  std::string credentials_path;
  std::string realm = "fqdngate";
};

struct Settings {
  std::vector<ListenSpec> listen{ListenSpec{"127.0.0.1:3128", std::nullopt, {}}};
  // Source addresses admitted as clients. The default admits loopback only; a non-loopback
  // listener without an explicit clients.allow is a configuration error (an open proxy).
  std::vector<Cidr> clients_allow{Cidr{boost::asio::ip::make_address("127.0.0.0"), 8},
                                  Cidr{boost::asio::ip::make_address("::1"), 128}};
  bool clients_allow_explicit = false;
  unsigned threads = 0;  // 0 = one per core
  DnsSettings dns;
  std::string audit_path = "-";  // "-" = stdout
  Limits limits;
  std::vector<std::string> presets;  // enabled preset names, in file order
  // Proxy authentication (Basic) for clients not identified by a client certificate.
  std::optional<AuthSettings> auth;
  // Relay plain tunnels with splice(2) through pooled pipes; false copies through user-space
  // buffers (the fallback, also used when no pipe can be made).
  bool relay_splice = true;
};

struct DecisionInput {
  std::string_view host;  // normalized host name or IP literal (IPv6 without brackets)
  std::uint16_t port = 443;
  std::optional<boost::asio::ip::address> client;  // for rules scoped with clients:
  std::optional<std::string_view> user;            // identity, for rules scoped with users:
};

// Whether a tunnel decided by `r` may connect to `a` (of class `cls`). Public addresses always;
// cloud metadata endpoints only when the rule names that very address (private: true is not
// enough: a name's DNS must never be able to point a tunnel at instance credentials); every
// other non-public class only with private: true.
bool may_reach(const Rule& r, const boost::asio::ip::address& a, AddressClass cls);
// Why may_reach() refused, for replies and audit lines.
std::string_view unreachable_reason(const Rule& r);

class Policy {
 public:
  // `version` identifies the snapshot in audit lines (a hash of the source text).
  Policy(std::vector<Rule> rules, Settings settings, std::string source, std::string version);

  // Whether a client at `a` may use the gate at all (clients.allow).
  bool admits(const boost::asio::ip::address& a) const noexcept;

  // Deny rules win over allow rules; among allow rules the most specific match that also
  // allows the port decides (exact name, then the longest wildcard suffix). Rules whose
  // users:/clients: scope excludes the input are skipped; when only such rules matched name and
  // port the answer is not_in_scope.
  Decision decide(const DecisionInput& in) const noexcept;

  const std::vector<Rule>& rules() const noexcept { return rules_; }
  const Settings& settings() const noexcept { return settings_; }
  const std::string& source() const noexcept { return source_; }
  const std::string& version() const noexcept { return version_; }

 private:
  std::vector<Rule> rules_;
  Settings settings_;
  std::string source_;
  std::string version_;
  NameMatcher names_;  // allow and deny rules; values index rules_
};

}  // namespace fqdngate::policy
