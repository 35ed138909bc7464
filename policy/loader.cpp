// Policy file / text -> validated Policy: top-level dispatch, rule order, version hash.
#include "policy/loader.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "policy/loader_sections.hpp"
#include "policy/yaml_reader.hpp"

namespace fqdngate::policy {
namespace {

std::string format_error(const std::string& file, int line, int column,
                         const std::string& message) {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

// First 12 hex digits of SHA-256: short enough for audit lines, long enough to tell reloads apart.
std::string version_of(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 unavailable");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < 6; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

YAML::Node parse(std::string_view text, const std::string& source_name) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    // yaml-cpp marks are 0-based; messages are 1-based like every editor.
    throw PolicyError(source_name, e.mark.line + 1, e.mark.column + 1,
                      "YAML syntax error: " + e.msg);
  }
}

}  // namespace

PolicyError::PolicyError(std::string file, int line, int column, const std::string& message)
    : std::runtime_error(format_error(file, line, column, message)),
      file_(std::move(file)),
      line_(line),
      column_(column) {}

std::shared_ptr<const Policy> load_policy_text(std::string_view yaml,
                                               const std::string& source_name) {
  const YAML::Node root = parse(yaml, source_name);
  const yaml::Reader r(source_name);
  Settings settings;
  std::vector<sections::RuleDraft> drafts;
  const yaml::Field* prefect = nullptr;
  const yaml::Field* listen = nullptr;

  std::vector<yaml::Field> fields;
  if (!root.IsNull()) {  // an empty file is a valid policy: every default applies
    fields = r.fields(root, "",
                      {"listen", "threads", "clients", "auth", "prefect", "presets", "allow",
                       "deny", "dns", "audit", "limits", "relay"},
                      "a mapping of policy keys (listen, prefect, allow, deny, ...)");
  }
  for (const auto& f : fields) {
    if (f.key == "listen") {
      sections::read_listen(r, f, settings);
      listen = &f;
    }
    if (f.key == "clients") sections::read_clients(r, f, settings);
    if (f.key == "auth") sections::read_auth(r, f, settings);
    if (f.key == "threads") sections::read_threads(r, f, settings);
    if (f.key == "prefect") prefect = &f;
    if (f.key == "presets") sections::read_presets(r, f, settings, drafts);
    if (f.key == "allow") sections::read_rules(r, f, RuleAction::allow, drafts);
    if (f.key == "deny") sections::read_rules(r, f, RuleAction::deny, drafts);
    if (f.key == "dns") sections::read_dns(r, f, settings);
    if (f.key == "audit") sections::read_audit(r, f, settings);
    if (f.key == "limits") sections::read_limits(r, f, settings);
    if (f.key == "relay") sections::read_relay(r, f, settings);
  }
  sections::check_open_proxy(r, listen, settings);
  // prefect: last, because its telemetry setting constrains the allow rules wherever they are.
  std::vector<sections::RuleDraft> prefect_rules;
  sections::read_prefect(r, prefect, drafts, prefect_rules);
  drafts.insert(drafts.end(), prefect_rules.begin(), prefect_rules.end());

  // A users: scope needs some way to learn who the client is, or the rule could never apply.
  const bool identities = settings.auth.has_value() ||
                          std::any_of(settings.listen.begin(), settings.listen.end(),
                                      [](auto& l) { return l.tls && !l.tls->client_ca.empty(); });
  for (const auto& d : drafts) {
    if (!d.rule.users.empty() && !identities) {
      r.fail(d.rule.where, d.path + ".users",
             "a rule scoped to users needs auth: (Basic credentials) or a listener with "
             "tls.client_ca (client certificates); without either no client has an identity");
    }
  }

  // File order decides ties between equally specific rules, so rules follow their source nodes.
  std::stable_sort(drafts.begin(), drafts.end(), [](const auto& a, const auto& b) {
    return std::pair(a.rule.where.line, a.rule.where.column) <
           std::pair(b.rule.where.line, b.rule.where.column);
  });
  std::vector<Rule> rules;
  rules.reserve(drafts.size());
  for (auto& d : drafts)
    rules.push_back(std::move(d.rule));
  return std::make_shared<const Policy>(std::move(rules), std::move(settings), source_name,
                                        version_of(yaml));
}

std::shared_ptr<const Policy> load_policy_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw PolicyError(path, 0, 0, "cannot read policy: is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw PolicyError(path, 0, 0, std::string("cannot read policy: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw PolicyError(path, 0, 0, "cannot read policy: read error");
  return load_policy_text(text.str(), path);
}

}  // namespace fqdngate::policy
