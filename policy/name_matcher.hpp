// Exact and "*.suffix" host-name matching whose cost depends on the number of labels in the
// queried name, not on the number of patterns.
// Contract: patterns and queries are normalized (policy::normalize_hostname); "*.x.y" matches
// names strictly below x.y on a label boundary, never x.y itself nor "evilx.y".
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fqdngate::policy {

class NameMatcher {
 public:
  // Adds a pattern ("name" or "*.suffix") with an opaque value (a rule index).
  void add(std::string_view pattern, std::uint32_t value);

  // Calls `visit(value, specificity)` for every pattern matching `name`, most specific first:
  // the exact match (specificity = name length + 1), then wildcards by decreasing suffix length.
  // Stops early when visit returns false.
  void for_each_match(std::string_view name,
                      const std::function<bool(std::uint32_t value)>& visit) const;

  bool empty() const noexcept { return exact_.empty() && wildcard_.empty(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using Map = std::unordered_map<std::string, std::vector<std::uint32_t>, Hash, std::equal_to<>>;
  Map exact_;     // "api.prefect.cloud" -> values
  Map wildcard_;  // "s3.amazonaws.com" (from "*.s3.amazonaws.com") -> values
};

}  // namespace fqdngate::policy
