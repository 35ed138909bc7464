#include "proxy/audit_record.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <limits>

namespace fqdngate {

namespace {

bool json_safe(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
}

constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighs = 0x8080808080808080ULL;

// Non-zero iff some byte of w is below n (n <= 0x80); a borrow can only mark bytes above a
// byte that really is below n, so the "any" answer is exact.
constexpr std::uint64_t any_below(std::uint64_t w, std::uint8_t n) {
  return (w - kOnes * n) & ~w & kHighs;
}

constexpr std::uint64_t any_equal(std::uint64_t w, char c) {
  return any_below(w ^ (kOnes * static_cast<unsigned char>(c)), 1);
}

bool word_is_plain(std::uint64_t w) {
  return (any_below(w, 0x20) | (w & kHighs) | any_equal(w, 0x7f) | any_equal(w, '"') |
          any_equal(w, '\\')) == 0;
}

// True when no byte of s needs escaping. Whole words only: a short string is padded with a
// plain byte and a long one ends with a word that overlaps the one before, so there is no
// byte-at-a-time tail (on the 10-25 byte names and addresses of an audit line, that tail cost
// more than the scan).
bool is_plain(std::string_view s) {
  std::uint64_t w = kOnes * 'a';
  if (s.size() < 8) {
    if (!s.empty()) std::memcpy(&w, s.data(), s.size());
    return word_is_plain(w);
  }
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::memcpy(&w, s.data() + i, 8);
    if (!word_is_plain(w)) return false;
  }
  if (i == s.size()) return true;
  std::memcpy(&w, s.data() + s.size() - 8, 8);
  return word_is_plain(w);
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  // Names, addresses and rules are almost always plain ASCII: one copy.
  if (is_plain(s)) {
    out.append(s);
    out.push_back('"');
    return;
  }
  for (const char c : s) {
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
        if (json_safe(c)) {
          out.push_back(c);
          break;
        }
        // Control bytes and non-ASCII are escaped so a hostile value can never break a line or
        // produce invalid UTF-8 in the log stream.
        out += "\\u00";
        out.push_back(kHex[u >> 4]);
        out.push_back(kHex[u & 0xf]);
    }
  }
  out.push_back('"');
}

namespace {

// "YYYY-MM-DDTHH:MM:SS" for the second last formatted on this thread: lines come many per
// second, and gmtime_r plus strftime cost more than the rest of a line.
struct SecondText {
  std::int64_t second = std::numeric_limits<std::int64_t>::min();
  char text[40] = {};
  std::size_t size = 0;
};

template <class Integer>
void append_number(std::string& out, Integer v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

// `,"name":` built at compile time, so a field name costs one append.
template <std::size_t N>
struct Key {
  // Implicit, so that field<"name"> reads like the JSON it writes.
  consteval Key(const char (&name)[N]) {
    text[0] = ',';
    text[1] = '"';
    for (std::size_t i = 0; i + 1 < N; ++i)
      text[2 + i] = name[i];
    text[N + 1] = '"';
    text[N + 2] = ':';
  }
  char text[N + 3] = {};
};

// Field names and fixed values are constants of this file: plain ASCII, never escaped.
template <Key key>
void field(std::string& out) {
  out.append(key.text, sizeof key.text);
}

void constant(std::string& out, std::string_view value) {
  out += '"';
  out += value;
  out += '"';
}

template <Key key>
void string_or_null(std::string& out, std::optional<std::string_view> v) {
  field<key>(out);
  if (v) {
    append_json_string(out, *v);
  } else {
    out += "null";
  }
}

}  // namespace

void append_rfc3339_ms(std::string& out, std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::int64_t second = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  thread_local SecondText cache;
  if (cache.second != second) {
    const auto secs = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    cache.size = std::strftime(cache.text, sizeof cache.text, "%Y-%m-%dT%H:%M:%S", &tm);
    cache.second = second;
  }
  const auto frac = static_cast<int>(ms - second * 1000);
  out.append(cache.text, cache.size);
  const char tail[] = {'.', static_cast<char>('0' + frac / 100),
                       static_cast<char>('0' + frac / 10 % 10), static_cast<char>('0' + frac % 10),
                       'Z'};
  out.append(tail, sizeof tail);
}

std::string format_rfc3339_ms(std::chrono::system_clock::time_point t) {
  std::string out;
  append_rfc3339_ms(out, t);
  return out;
}

void append_audit_line(std::string& out, const AuditRecord& r,
                       std::chrono::system_clock::time_point now) {
  out += "{\"time\":\"";
  append_rfc3339_ms(out, now);
  out += '"';
  field<"event">(out);
  append_json_string(out, r.event);
  if (!r.stage.empty()) {
    field<"stage">(out);
    append_json_string(out, r.stage);
  }
  field<"conn">(out);
  append_number(out, r.conn);
  string_or_null<"client">(out, r.client);
  string_or_null<"user">(out, r.user);
  string_or_null<"method">(out, r.method.empty() ? std::nullopt : std::optional(r.method));
  string_or_null<"host">(out, r.host.empty() ? std::nullopt : std::optional(r.host));
  field<"port">(out);
  if (r.port == 0) {
    out += "null";
  } else {
    append_number(out, r.port);
  }
  string_or_null<"sni">(out, r.sni);
  string_or_null<"upstream">(out, r.upstream);
  field<"decision">(out);
  if (r.decision) {
    constant(out, *r.decision == policy::Verdict::allow ? "allow" : "deny");
  } else {
    out += "null";
  }
  field<"reason">(out);
  constant(out, reason_name(r.reason));
  if (r.rule != nullptr) {
    string_or_null<"rule">(out, r.rule->description);
    string_or_null<"rule_source">(out, r.rule->source);
  } else {
    string_or_null<"rule">(out, std::nullopt);
    string_or_null<"rule_source">(out, std::nullopt);
  }
  string_or_null<"policy_version">(out, r.policy_version);
  if (!r.detail.empty()) string_or_null<"detail">(out, r.detail);
  if (r.event == "close") {
    field<"status">(out);
    if (r.status) {
      append_number(out, *r.status);
    } else {
      out += "null";
    }
    field<"bytes_up">(out);
    append_number(out, r.bytes_up);
    field<"bytes_down">(out);
    append_number(out, r.bytes_down);
    field<"duration_ms">(out);
    append_number(out, r.duration.count());
  }
  out += "}\n";
}

std::string format_audit_line(const AuditRecord& r, std::chrono::system_clock::time_point now) {
  std::string out;
  out.reserve(512);
  append_audit_line(out, r, now);
  return out;
}

}  // namespace fqdngate
