// Rule patterns as written in a policy: exact names, "*.suffix" wildcards and IP literals.
// Contract: pure; the returned text is what the NameMatcher stores and Rule::pattern holds
// (normalized name, "*." + normalized suffix of at least two labels, canonical IP text).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fqdngate::policy {

enum class PatternKind { name, wildcard, ip };

struct Pattern {
  std::string text;
  PatternKind kind = PatternKind::name;
};

// On failure returns nullopt and, if `why` is set, says what is wrong in a few words.
std::optional<Pattern> parse_pattern(std::string_view text, std::string* why = nullptr);

// Canonical text of an IPv4 / IPv6 literal (no brackets) written into `out`, which must hold
// 46 bytes; returns the length, or 0 if `text` is not an IP literal. Allocation-free: decide()
// uses it on every request.
std::size_t canonical_ip(std::string_view text, char* out) noexcept;
inline constexpr std::size_t kCanonicalIpBufferSize = 46;

}  // namespace fqdngate::policy
