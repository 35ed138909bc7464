// YAML policy -> immutable Policy snapshot.
// Contract: either a complete, validated Policy or a PolicyError; never a partial policy.
// Exceptions are used here only because loading happens at start-up / in the CLI, never on
// the data path.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "policy/policy.hpp"

namespace fqdngate::policy {

// what() reads "FILE:LINE:COLUMN: MESSAGE", MESSAGE saying what was expected and what was found,
// e.g. "policy.yaml:7:5: allow[2].ports[0]: expected a port number 1-65535, got \"http\"".
class PolicyError : public std::runtime_error {
 public:
  PolicyError(std::string file, int line, int column, const std::string& message);
  const std::string& file() const noexcept { return file_; }
  int line() const noexcept { return line_; }
  int column() const noexcept { return column_; }

 private:
  std::string file_;
  int line_;
  int column_;
};

// Reads and loads a file; errors name `path`.
std::shared_ptr<const Policy> load_policy_file(const std::string& path);

// Loads YAML text; errors and SourceRefs name `source_name`.
std::shared_ptr<const Policy> load_policy_text(std::string_view yaml,
                                               const std::string& source_name);

// The embedded default policy (commented YAML): Prefect Cloud required hosts allowed on 443,
// telemetry blocked, everything else denied. `fqdngate print-default` prints exactly this.
std::string_view embedded_default_policy_yaml() noexcept;
inline constexpr const char* kDefaultPolicyName = "<default>";

}  // namespace fqdngate::policy
