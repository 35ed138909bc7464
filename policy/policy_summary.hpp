// Human-readable views of a loaded policy for the command line (`fqdngate check`).
// Contract: pure; multi-line text ending in '\n', stable enough to grep but not a machine format.
#pragma once

#include <string>

#include "policy/policy.hpp"

namespace fqdngate::policy {

// Settings, enabled presets and every rule with the file:line it came from, in decision order
// (deny rules first).
std::string summarize_policy(const Policy& p);

// Every preset: name, description, documentation page and the patterns it expands to.
std::string describe_presets();

}  // namespace fqdngate::policy
