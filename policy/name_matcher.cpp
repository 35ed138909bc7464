#include "policy/name_matcher.hpp"

namespace fqdngate::policy {

void NameMatcher::add(std::string_view pattern, std::uint32_t value) {
  if (pattern.starts_with("*.")) {
    wildcard_[std::string(pattern.substr(2))].push_back(value);
  } else {
    exact_[std::string(pattern)].push_back(value);
  }
}

}  // namespace fqdngate::policy
