// Exact and "*.suffix" host-name matching whose cost depends on the number of labels in the
// queried name, not on the number of patterns.
// Contract: patterns and queries are normalized (policy::normalize_hostname); "*.x.y" matches
// names strictly below x.y on a label boundary, never x.y itself nor "evilx.y". Lookups do not
// allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fqdngate::policy {

class NameMatcher {
 public:
  // Adds a pattern ("name" or "*.suffix") with an opaque value (a rule index). Values of one
  // pattern are visited in the order they were added.
  void add(std::string_view pattern, std::uint32_t value);

  // Calls `visit(value, specificity)` for every pattern matching `name`, most specific first:
  // the exact match (specificity = name length + 1), then wildcards by decreasing suffix length
  // (specificity = suffix length). Stops early when visit returns false.
  template <class Visit>
  void for_each_match(std::string_view name, Visit&& visit) const;

  bool empty() const noexcept { return exact_.empty() && wildcard_.empty(); }

 private:
  struct Hash {
    using is_transparent = void;
    // Not noexcept on purpose: libstdc++ then stores each hash code, so a bucket walk compares
    // codes instead of re-hashing every key it passes.
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, std::vector<std::uint32_t>, Hash, std::equal_to<>>;
  Map exact_;     // "api.prefect.cloud" -> values
  Map wildcard_;  // "s3.amazonaws.com" (from "*.s3.amazonaws.com") -> values
};

template <class Visit>
void NameMatcher::for_each_match(std::string_view name, Visit&& visit) const {
  if (auto it = exact_.find(name); it != exact_.end()) {
    for (const std::uint32_t v : it->second) {
      if (!visit(v, name.size() + 1)) return;
    }
  }
  if (wildcard_.empty()) return;
  // Each '.' is a label boundary; the text after it is a candidate suffix, longest first. The
  // whole name is never a candidate: "*.x.y" does not match "x.y".
  for (std::size_t dot = name.find('.'); dot != std::string_view::npos;
       dot = name.find('.', dot + 1)) {
    const std::string_view suffix = name.substr(dot + 1);
    if (auto it = wildcard_.find(suffix); it != wildcard_.end()) {
      for (const std::uint32_t v : it->second) {
        if (!visit(v, suffix.size())) return;
      }
    }
  }
}

}  // namespace fqdngate::policy
