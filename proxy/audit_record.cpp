#include "proxy/audit_record.hpp"

#include <ctime>

namespace fqdngate {

namespace {

bool json_safe(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  // Names, addresses and rules are almost always plain ASCII: copy runs, escape the rest.
  for (std::size_t i = 0; i < s.size();) {
    std::size_t run = i;
    while (run < s.size() && json_safe(s[run]))
      ++run;
    out.append(s.data() + i, run - i);
    if (run == s.size()) break;
    i = run + 1;
    const char c = s[run];
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        // Control bytes and non-ASCII are escaped so a hostile value can never break a line or
        // produce invalid UTF-8 in the log stream.
        out += "\\u00";
        out.push_back(kHex[u >> 4]);
        out.push_back(kHex[u & 0xf]);
    }
  }
  out.push_back('"');
}

std::string format_rfc3339_ms(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  const auto frac = static_cast<int>(ms.count() % 1000);
  out.push_back('.');
  out.push_back(static_cast<char>('0' + frac / 100));
  out.push_back(static_cast<char>('0' + frac / 10 % 10));
  out.push_back(static_cast<char>('0' + frac % 10));
  out.push_back('Z');
  return out;
}

namespace {

// Field names are constants of this file: plain ASCII, never escaped.
void field(std::string& out, std::string_view name) {
  out += ",\"";
  out += name;
  out += "\":";
}

void string_or_null(std::string& out, std::string_view name, std::optional<std::string_view> v) {
  field(out, name);
  if (v) {
    append_json_string(out, *v);
  } else {
    out += "null";
  }
}

}  // namespace

std::string format_audit_line(const AuditRecord& r, std::chrono::system_clock::time_point now) {
  std::string out;
  out.reserve(512);
  out += "{\"time\":";
  append_json_string(out, format_rfc3339_ms(now));
  field(out, "event");
  append_json_string(out, r.event);
  if (!r.stage.empty()) {
    field(out, "stage");
    append_json_string(out, r.stage);
  }
  field(out, "conn");
  out += std::to_string(r.conn);
  string_or_null(out, "client", r.client);
  string_or_null(out, "user", r.user);
  string_or_null(out, "method", r.method.empty() ? std::nullopt : std::optional(r.method));
  string_or_null(out, "host", r.host.empty() ? std::nullopt : std::optional(r.host));
  field(out, "port");
  out += r.port == 0 ? std::string("null") : std::to_string(r.port);
  string_or_null(out, "sni", r.sni);
  string_or_null(out, "upstream", r.upstream);
  field(out, "decision");
  if (r.decision) {
    append_json_string(out, *r.decision == policy::Verdict::allow ? "allow" : "deny");
  } else {
    out += "null";
  }
  field(out, "reason");
  append_json_string(out, reason_name(r.reason));
  if (r.rule != nullptr) {
    string_or_null(out, "rule", r.rule->description);
    string_or_null(out, "rule_source", r.rule->source);
  } else {
    string_or_null(out, "rule", std::nullopt);
    string_or_null(out, "rule_source", std::nullopt);
  }
  string_or_null(out, "policy_version", r.policy_version);
  if (!r.detail.empty()) string_or_null(out, "detail", r.detail);
  if (r.event == "close") {
    field(out, "status");
    out += r.status ? std::to_string(*r.status) : std::string("null");
    field(out, "bytes_up");
    out += std::to_string(r.bytes_up);
    field(out, "bytes_down");
    out += std::to_string(r.bytes_down);
    field(out, "duration_ms");
    out += std::to_string(r.duration.count());
  }
  out += "}\n";
  return out;
}

}  // namespace fqdngate
