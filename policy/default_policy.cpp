// The policy used when no file is given; `fqdngate print-default` prints it as a starting point.
#include "policy/loader.hpp"

namespace fqdngate::policy {
namespace {

constexpr std::string_view kDefaultPolicy =
    R"yaml(# fqdngate policy: which host names clients may reach through CONNECT.
# This is the built-in default. Save it (fqdngate print-default > policy.yaml), edit it, check it
# with `fqdngate check --config policy.yaml`, and run with that file.
#
# Everything not allowed below is denied. Deny rules win over allow rules.

# Where to accept proxy clients: "ip:port" or "[v6]:port".
listen: ["127.0.0.1:3128"]

# Worker threads; 0 = one per CPU core.
threads: 0

prefect:
  # api.prefect.cloud, app.prefect.cloud and auth.workos.com on port 443.
  cloud: true
  # A self-hosted server's PREFECT_API_URL, e.g. https://prefect.internal.example.com/api:
  # allows exactly its host and port (private addresses allowed).
  server_url: null
  # Anonymous telemetry (api2.amplitude.com, sens-o-matic.prefect.io): allow | block.
  telemetry: block
  # GitHub social login (api.github.com, github.com).
  github_login: false

# Named endpoint bundles for workflows, e.g. [pypi, docker-hub, s3]. `fqdngate check` shows what
# each one expands to.
presets: []

# Extra hosts. An entry is a name ("files.example.com", port 443), a wildcard
# ("*.example.com": names below example.com, not example.com itself), an IP address, or:
#   - host: registry.internal.example
#     ports: [443, 5000]
#     private: true      # may resolve to private / loopback addresses
#     tls: optional      # plain bytes may follow CONNECT (default: required)
allow: []

# Hosts never to reach, even if allowed above. Without `ports`, every port is denied.
deny: []

dns:
  # Resolvers: "ip", "ip:port" or "[v6]:port"; empty = the system's resolv.conf.
  servers: []
  # Static name -> address (or list of addresses), consulted before DNS.
  hosts: {}

audit:
  # One JSON line per decision and per closed tunnel; "-" = stdout, else a file.
  path: "-"

limits:
  header_timeout_s: 10
  max_header_bytes: 16384
  dns_timeout_s: 5
  connect_timeout_s: 10
  client_hello_timeout_s: 10
  max_client_hello_bytes: 16384
  idle_timeout_s: 300
)yaml";

}  // namespace

std::string_view embedded_default_policy_yaml() noexcept {
  return kDefaultPolicy;
}

}  // namespace fqdngate::policy
