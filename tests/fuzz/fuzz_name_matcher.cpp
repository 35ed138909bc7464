// The name matcher against a naive reference: input lines are patterns, the last line is the
// query. Every reported match must really match, every real match must be reported once, with
// the specificity and in the order the header promises.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/hostname.hpp"
#include "policy/name_matcher.hpp"

namespace {

bool naive_match(std::string_view pattern, std::string_view name) {
  if (pattern.starts_with("*.")) {
    const auto suffix = pattern.substr(1);  // ".x.y"
    return name.size() > suffix.size() && name.ends_with(suffix);
  }
  return pattern == name;
}

// The rule engine ranks rules by this number, so it is part of the contract, not a detail.
std::size_t specificity_of(std::string_view pattern, std::string_view name) {
  return pattern.starts_with("*.") ? pattern.size() - 2 : name.size() + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> patterns;
  std::size_t start = 0;
  std::string query;
  while (start <= text.size()) {
    const auto end = text.find('\n', start);
    const auto line = text.substr(start, end == std::string_view::npos ? text.npos : end - start);
    const bool wildcard = line.starts_with("*.");
    const auto name = fqdngate::policy::normalize_hostname(wildcard ? line.substr(2) : line);
    if (end == std::string_view::npos) {
      if (name) query = *name;
      break;
    }
    if (name && patterns.size() < 64) patterns.push_back((wildcard ? "*." : "") + *name);
    start = end + 1;
  }
  if (query.empty()) return 0;

  fqdngate::policy::NameMatcher matcher;
  for (std::uint32_t i = 0; i < patterns.size(); ++i)
    matcher.add(patterns[i], i);
  std::vector<bool> reported(patterns.size(), false);
  std::size_t last_specificity = static_cast<std::size_t>(-1);
  std::uint32_t last_value = 0;
  matcher.for_each_match(query, [&](std::uint32_t i, std::size_t specificity) {
    if (i >= patterns.size() || reported[i] || !naive_match(patterns[i], query)) __builtin_trap();
    if (specificity != specificity_of(patterns[i], query)) __builtin_trap();
    // Most specific first; equal specificity means the same pattern, whose values keep the order
    // in which they were added.
    if (specificity > last_specificity) __builtin_trap();
    if (specificity == last_specificity && i <= last_value) __builtin_trap();
    last_specificity = specificity;
    last_value = i;
    reported[i] = true;
    return true;
  });
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    if (naive_match(patterns[i], query) != reported[i]) __builtin_trap();
  }
  return 0;
}
