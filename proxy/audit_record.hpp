// One audit event -> one JSON line.
// Contract: format_audit_line() is pure and always yields a single line of valid JSON (every
// string escaped), ending in '\n'. Field names are part of the documented log interface.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "policy/policy.hpp"

namespace fqdngate {

struct AuditRecord {
  std::string_view event;  // "decision" | "close"
  // decision lines: "admit" | "auth" | "connect" | "resolve" | "tls"; empty for close
  std::string_view stage;
  std::uint64_t conn = 0;
  std::string_view client;  // "ip:port"
  // Basic user name or client certificate CN, once known; null before (or without) one.
  std::optional<std::string_view> user;
  std::string_view method;
  std::string_view host;
  std::uint16_t port = 0;  // 0 -> null
  std::optional<std::string_view> sni;
  std::optional<std::string_view> upstream;  // "ip:port"
  std::optional<policy::Verdict> decision;
  Reason reason = Reason::internal_error;
  const policy::Rule* rule = nullptr;
  std::string_view policy_version;
  std::string_view detail;  // free text for the security team; omitted when empty
  // close lines only
  std::optional<int> status;  // HTTP status sent to the client
  std::uint64_t bytes_up = 0;
  std::uint64_t bytes_down = 0;
  std::chrono::milliseconds duration{0};
};

std::string format_audit_line(const AuditRecord& r, std::chrono::system_clock::time_point now);
// The same line appended to `out`: a caller that reuses its string allocates nothing per line.
void append_audit_line(std::string& out, const AuditRecord& r,
                       std::chrono::system_clock::time_point now);

// RFC 3339 UTC with milliseconds, e.g. "2026-11-28T23:59:59.123Z".
std::string format_rfc3339_ms(std::chrono::system_clock::time_point t);
void append_rfc3339_ms(std::string& out, std::chrono::system_clock::time_point t);

// Appends `s` as a JSON string literal (with quotes).
void append_json_string(std::string& out, std::string_view s);

}  // namespace fqdngate
