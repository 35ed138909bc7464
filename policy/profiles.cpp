#include "policy/profiles.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <string>

namespace fqdngate::policy {
namespace {

// The Prefect lists come from the Prefect documentation page on network endpoints (required and
// optional endpoints for Prefect Cloud and self-hosted servers): required Cloud hosts, optional
// telemetry hosts and GitHub social login, all on TCP 443.

// AWS regions the S3 and ECR presets spell out. A regional endpoint cannot be covered by one
// leading-label wildcard short of "*.amazonaws.com", which would open every AWS service to every
// account; teams in another region add `s3.REGION.amazonaws.com` / `*.s3.REGION.amazonaws.com`
// themselves.
constexpr std::array<std::string_view, 16> kAwsRegions{
    "us-east-1",      "us-east-2",      "us-west-1",      "us-west-2",
    "ca-central-1",   "sa-east-1",      "eu-west-1",      "eu-west-2",
    "eu-west-3",      "eu-central-1",   "eu-north-1",     "ap-south-1",
    "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-northeast-2",
};

// Generated patterns need storage that outlives the presets; deque elements never move.
std::string_view keep(std::string text) {
  static std::deque<std::string> storage;
  return storage.emplace_back(std::move(text));
}

std::vector<EndpointEntry> per_region(std::initializer_list<std::string_view> templates) {
  std::vector<EndpointEntry> out;
  for (const std::string_view region : kAwsRegions) {
    for (const std::string_view t : templates) {
      std::string text(t);
      for (std::size_t at; (at = text.find("{r}")) != std::string::npos;) {
        text.replace(at, 3, region);
      }
      out.push_back({keep(std::move(text)), {}});
    }
  }
  return out;
}

std::vector<EndpointEntry> join(std::vector<EndpointEntry> a, const std::vector<EndpointEntry>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<Preset> build_presets() {
  std::vector<Preset> all;

  // Amazon S3: path-style (s3[.REGION].amazonaws.com) and virtual-hosted-style
  // (BUCKET.s3[.REGION].amazonaws.com) endpoints. Dual-stack (s3.dualstack.REGION) and FIPS
  // endpoints are left out: SDKs use them only when configured to, and then the team adds them.
  all.push_back({"s3", "Amazon S3 buckets (global and common regional endpoints)",
                 "https://docs.aws.amazon.com/general/latest/gr/s3.html",
                 join({{"s3.amazonaws.com", {}}, {"*.s3.amazonaws.com", {}}},
                      per_region({"s3.{r}.amazonaws.com", "*.s3.{r}.amazonaws.com"}))});

  // Amazon ECR: the registry API, the per-account registry host
  // (ACCOUNT.dkr.ecr.REGION.amazonaws.com) and the S3 bucket image layers are served from.
  all.push_back({"ecr", "Amazon ECR image pulls (common regions)",
                 "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html",
                 per_region({"api.ecr.{r}.amazonaws.com", "*.dkr.ecr.{r}.amazonaws.com",
                             "prod-{r}-starport-layer-bucket.s3.{r}.amazonaws.com"})});

  // Azure Blob Storage: every storage account is ACCOUNT.blob.core.windows.net.
  all.push_back({"azure-blob",
                 "Azure Blob Storage accounts",
                 "https://learn.microsoft.com/en-us/azure/storage/common/storage-account-overview",
                 {{"*.blob.core.windows.net", {}}}});

  // Bitbucket Cloud: the web/git host, its subdomains (api, altssh) and the S3 bucket that
  // serves downloads and attachments, as listed for corporate firewalls.
  all.push_back(
      {"bitbucket",
       "Bitbucket Cloud git over HTTPS and the REST API",
       "https://support.atlassian.com/bitbucket-cloud/docs/"
       "what-are-the-bitbucket-cloud-ip-addresses-i-should-use-to-configure-my-"
       "corporate-firewall/",
       {{"bitbucket.org", {}}, {"*.bitbucket.org", {}}, {"bbuseruploads.s3.amazonaws.com", {}}}});

  // Docker Hub: registry, token service, the index and the CDN / object store that blobs are
  // redirected to (Docker's firewall allowlist).
  all.push_back(
      {"docker-hub",
       "Docker Hub image pulls",
       "https://docs.docker.com/desktop/setup/allow-list/",
       {{"registry-1.docker.io", {}},
        {"auth.docker.io", {}},
        {"index.docker.io", {}},
        {"docker.io", {}},
        {"production.cloudflare.docker.com", {}},
        {"docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com", {}}}});

  // Google Artifact Registry: hosts are LOCATION-FORMAT.pkg.dev ("us-docker.pkg.dev",
  // "europe-west1-python.pkg.dev"). A wildcard must be a whole leading label, so "*-docker"
  // cannot be written; "*.pkg.dev" covers every location and format and reaches nothing but
  // Artifact Registry, which a per-region list would also reach (repositories differ by path,
  // not by host). Tokens come from oauth2.googleapis.com.
  all.push_back({"gar",
                 "Google Artifact Registry (all locations and formats)",
                 "https://cloud.google.com/artifact-registry/docs/repositories/repo-locations",
                 {{"*.pkg.dev", {}},
                  {"artifactregistry.googleapis.com", {}},
                  {"oauth2.googleapis.com", {}}}});

  // Google Cloud Storage: JSON/XML API host, virtual-hosted buckets, and the token endpoint
  // service-account credentials refresh against.
  all.push_back({"gcs",
                 "Google Cloud Storage buckets",
                 "https://cloud.google.com/storage/docs/request-endpoints",
                 {{"storage.googleapis.com", {}},
                  {"*.storage.googleapis.com", {}},
                  {"oauth2.googleapis.com", {}}}});

  // GitHub Container Registry and the host blobs are redirected to.
  all.push_back({"ghcr",
                 "GitHub Container Registry image pulls",
                 "https://docs.github.com/en/packages/working-with-a-github-packages-registry/"
                 "working-with-the-container-registry",
                 {{"ghcr.io", {}}, {"pkg-containers.githubusercontent.com", {}}}});

  // GitHub: git over HTTPS, the REST API, archive downloads and raw/release files.
  all.push_back({"github",
                 "GitHub git over HTTPS, API, archives and release assets",
                 "https://docs.github.com/en/actions/hosting-your-own-runners/"
                 "managing-self-hosted-runners/about-self-hosted-runners",
                 {{"github.com", {}},
                  {"api.github.com", {}},
                  {"codeload.github.com", {}},
                  {"objects.githubusercontent.com", {}},
                  {"raw.githubusercontent.com", {}}}});

  // GitLab.com: git over HTTPS and API, the container registry and the CDN it redirects
  // blob downloads to.
  all.push_back(
      {"gitlab",
       "GitLab.com git over HTTPS, API and container registry",
       "https://docs.gitlab.com/user/gitlab_com/",
       {{"gitlab.com", {}}, {"registry.gitlab.com", {}}, {"cdn.registry.gitlab-static.net", {}}}});

  // PyPI: the index (pypi.org/simple) and the file host every download comes from.
  all.push_back({"pypi",
                 "Python Package Index (pip, uv, poetry)",
                 "https://docs.pypi.org/api/",
                 {{"pypi.org", {}}, {"files.pythonhosted.org", {}}}});

  std::sort(all.begin(), all.end(),
            [](const Preset& a, const Preset& b) { return a.name < b.name; });
  return all;
}

}  // namespace

const std::vector<EndpointEntry>& prefect_cloud_endpoints() {
  static const std::vector<EndpointEntry> v{
      {"api.prefect.cloud", {443}}, {"app.prefect.cloud", {443}}, {"auth.workos.com", {443}}};
  return v;
}

const std::vector<EndpointEntry>& prefect_telemetry_endpoints() {
  static const std::vector<EndpointEntry> v{{"api2.amplitude.com", {443}},
                                            {"sens-o-matic.prefect.io", {443}}};
  return v;
}

const std::vector<EndpointEntry>& prefect_github_login_endpoints() {
  static const std::vector<EndpointEntry> v{{"api.github.com", {443}}, {"github.com", {443}}};
  return v;
}

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = build_presets();
  return all;
}

const Preset* find_preset(std::string_view name) {
  const auto& all = presets();
  const auto it =
      std::find_if(all.begin(), all.end(), [&](const Preset& p) { return p.name == name; });
  return it == all.end() ? nullptr : &*it;
}

}  // namespace fqdngate::policy
