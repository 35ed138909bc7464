#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

#include "policy/loader.hpp"
#include "policy/pattern.hpp"
#include "policy/policy_summary.hpp"
#include "policy/profiles.hpp"

using fqdngate::policy::DecisionInput;
using fqdngate::policy::EndpointEntry;
using fqdngate::policy::find_preset;
using fqdngate::policy::load_policy_text;
using fqdngate::policy::parse_pattern;
using fqdngate::policy::PatternKind;
using fqdngate::policy::PolicyError;
using fqdngate::policy::presets;
using fqdngate::policy::Verdict;

namespace {

// A host the entry must allow: the name itself, or one label below a wildcard's suffix.
std::string example_host(std::string_view pattern) {
  std::string host(pattern.starts_with("*.") ? "x" : "");
  host += pattern.substr(host.empty() ? 0 : 1);
  return host;
}

void check_entries(const std::vector<EndpointEntry>& entries) {
  REQUIRE_FALSE(entries.empty());
  for (const auto& e : entries) {
    INFO(e.pattern);
    const auto p = parse_pattern(e.pattern);
    REQUIRE(p);
    CHECK(p->text == e.pattern);  // stored already normalized
    CHECK(p->kind != PatternKind::ip);
    CHECK(std::find(e.ports.begin(), e.ports.end(), 0) == e.ports.end());
  }
}

std::vector<std::string> hosts_of(const std::vector<EndpointEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries)
    out.emplace_back(e.pattern);
  return out;
}

bool allowed(const fqdngate::policy::Policy& p, std::string_view host) {
  return p.decide(DecisionInput{host, 443, std::nullopt, std::nullopt}).verdict == Verdict::allow;
}

}  // namespace

TEST_CASE("Prefect profiles list the documented endpoints", "[profiles]") {
  check_entries(fqdngate::policy::prefect_cloud_endpoints());
  check_entries(fqdngate::policy::prefect_telemetry_endpoints());
  check_entries(fqdngate::policy::prefect_github_login_endpoints());
  CHECK(hosts_of(fqdngate::policy::prefect_cloud_endpoints()) ==
        std::vector<std::string>{"api.prefect.cloud", "app.prefect.cloud", "auth.workos.com"});
  CHECK(hosts_of(fqdngate::policy::prefect_telemetry_endpoints()) ==
        std::vector<std::string>{"api2.amplitude.com", "sens-o-matic.prefect.io"});
  CHECK(hosts_of(fqdngate::policy::prefect_github_login_endpoints()) ==
        std::vector<std::string>{"api.github.com", "github.com"});
}

TEST_CASE("every preset is documented and made of normalized patterns", "[profiles]") {
  const auto& all = presets();
  REQUIRE(all.size() >= 11);
  std::set<std::string_view> names;
  for (const auto& preset : all) {
    INFO(preset.name);
    CHECK(names.insert(preset.name).second);
    CHECK_FALSE(preset.description.empty());
    CHECK(preset.docs.starts_with("https://"));
    check_entries(preset.entries);
    CHECK(find_preset(preset.name) == &preset);
  }
  CHECK(std::is_sorted(all.begin(), all.end(),
                       [](const auto& a, const auto& b) { return a.name < b.name; }));
  for (const char* name : {"pypi", "docker-hub", "ghcr", "github", "gitlab", "bitbucket", "s3",
                           "gcs", "azure-blob", "ecr", "gar"}) {
    CHECK(find_preset(name) != nullptr);
  }
  CHECK(find_preset("pypy") == nullptr);
  CHECK(find_preset("") == nullptr);
}

TEST_CASE("every preset loads and allows each of its entries", "[profiles]") {
  for (const auto& preset : presets()) {
    INFO(preset.name);
    const std::string text = "presets: [" + std::string(preset.name) + "]\n";
    const auto p = load_policy_text(text, "p.yaml");
    CHECK(p->settings().presets == std::vector<std::string>{std::string(preset.name)});
    for (const auto& e : preset.entries) {
      INFO(e.pattern);
      const auto d =
          p->decide(DecisionInput{example_host(e.pattern), 443, std::nullopt, std::nullopt});
      CHECK(d.verdict == Verdict::allow);
      REQUIRE(d.rule != nullptr);
      CHECK(d.rule->origin == "preset:" + std::string(preset.name));
      CHECK(d.rule->where.str() == "p.yaml:1");
    }
    CHECK_FALSE(allowed(*p, "example.com"));
  }
}

TEST_CASE("cloud presets stay narrow", "[profiles]") {
  const auto p = load_policy_text("presets: [s3, ecr, gar, azure-blob]\n", "p.yaml");
  CHECK(allowed(*p, "my-bucket.s3.amazonaws.com"));
  CHECK(allowed(*p, "my-bucket.s3.eu-central-1.amazonaws.com"));
  CHECK(allowed(*p, "s3.us-west-2.amazonaws.com"));
  CHECK(allowed(*p, "123456789012.dkr.ecr.us-east-1.amazonaws.com"));
  CHECK(allowed(*p, "api.ecr.ap-southeast-2.amazonaws.com"));
  CHECK(allowed(*p, "prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com"));
  CHECK(allowed(*p, "europe-west1-docker.pkg.dev"));
  CHECK(allowed(*p, "account.blob.core.windows.net"));
  CHECK_FALSE(allowed(*p, "ec2.us-east-1.amazonaws.com"));
  CHECK_FALSE(allowed(*p, "sts.amazonaws.com"));
  CHECK_FALSE(allowed(*p, "amazonaws.com"));
  CHECK_FALSE(allowed(*p, "pkg.dev"));
  CHECK_FALSE(allowed(*p, "blob.core.windows.net"));
  CHECK_FALSE(allowed(*p, "account.table.core.windows.net"));
}

TEST_CASE("an unknown preset is an error listing every valid name", "[profiles]") {
  try {
    load_policy_text("presets:\n  - no-such-preset\n", "p.yaml");
    FAIL("no error");
  } catch (const PolicyError& e) {
    const std::string what = e.what();
    CHECK(
        what.starts_with("p.yaml:2:5: presets[0]: unknown preset 'no-such-preset' (valid "
                         "presets: "));
    for (const auto& preset : presets()) {
      INFO(preset.name);
      CHECK(what.find(std::string(preset.name)) != std::string::npos);
    }
  }
}

TEST_CASE("describe_presets shows what every preset expands to", "[profiles]") {
  const std::string text = fqdngate::policy::describe_presets();
  for (const auto& preset : presets()) {
    INFO(preset.name);
    CHECK(text.find(std::string(preset.name) + ": " + std::string(preset.description) + "\n") !=
          std::string::npos);
    CHECK(text.find("  docs: " + std::string(preset.docs) + "\n") != std::string::npos);
    for (const auto& e : preset.entries) {
      CHECK(text.find("  " + std::string(e.pattern) + ":443\n") != std::string::npos);
    }
  }
}
