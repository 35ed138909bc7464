#include "proxy/audit_record.hpp"

#include <catch2/catch.hpp>
#include <cstdio>

using namespace fqdngate;
using std::chrono::system_clock;

namespace {

system_clock::time_point at_ms(std::int64_t ms) {
  return system_clock::time_point(std::chrono::milliseconds(ms));
}

}  // namespace

TEST_CASE("timestamps are RFC 3339 UTC with milliseconds", "[audit]") {
  CHECK(format_rfc3339_ms(at_ms(0)) == "1970-01-01T00:00:00.000Z");
  CHECK(format_rfc3339_ms(at_ms(1'795'910'399'007)) == "2026-11-28T23:59:59.007Z");
}

TEST_CASE("hostile strings cannot break the JSON line", "[audit]") {
  std::string out;
  append_json_string(out, std::string("a\"b\\c\nd\re\x01\x7f\xc3\xa9", 13));
  CHECK(out == R"("a\"b\\c\nd\re\u0001\u007f\u00c3\u00a9")");
}

TEST_CASE("every byte at every position is escaped exactly once, at every length", "[audit]") {
  // The escaper checks whole eight-byte words (padded below eight bytes, the last one
  // overlapping its neighbour above): compare it with the byte-at-a-time rule for each byte
  // value at each offset of every length from empty to two words and a tail.
  const auto expected = [](std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"') {
        out += "\\\"";
      } else if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (u < 0x20 || u >= 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", u);
        out += buf;
      } else {
        out += c;
      }
    }
    return out + "\"";
  };
  std::size_t mismatches = 0;
  for (std::size_t size = 0; size <= 19; ++size) {
    std::string out;
    append_json_string(out, std::string(size, 'a'));
    if (out != expected(std::string(size, 'a'))) ++mismatches;
    for (int value = 0; value < 256; ++value) {
      for (std::size_t at = 0; at < size; ++at) {
        std::string s(size, 'a');
        s[at] = static_cast<char>(value);
        out.clear();
        append_json_string(out, s);
        if (out != expected(s)) {
          ++mismatches;
          UNSCOPED_INFO("byte " << value << " at " << at << " of " << size << ": " << out);
        }
      }
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("a denied decision line carries every documented field", "[audit]") {
  policy::Rule rule;
  rule.action = policy::RuleAction::deny;
  rule.pattern = "*.evil.example";
  rule.origin = "deny";
  rule.where = policy::SourceRef{"policy.yaml", 12, 5};
  // Rules reach audit lines through a Policy, which renders their text once.
  const policy::Policy policy({rule}, policy::Settings{}, "policy.yaml", "abcdef012345");

  AuditRecord r;
  r.event = "decision";
  r.stage = "connect";
  r.conn = 42;
  r.client = "127.0.0.1:5555";
  r.method = "CONNECT";
  r.host = "x.evil.example";
  r.port = 443;
  r.decision = policy::Verdict::deny;
  r.reason = Reason::denylisted;
  r.rule = &policy.rules()[0];
  r.user = "build-runner";
  r.policy_version = "abcdef012345";
  const auto line = format_audit_line(r, at_ms(0));
  CHECK(line ==
        "{\"time\":\"1970-01-01T00:00:00.000Z\",\"event\":\"decision\",\"stage\":\"connect\","
        "\"conn\":42,\"client\":\"127.0.0.1:5555\",\"user\":\"build-runner\","
        "\"method\":\"CONNECT\",\"host\":\"x.evil.example\",\"port\":443,\"sni\":null,"
        "\"upstream\":null,\"decision\":\"deny\",\"reason\":\"denylisted\",\"rule\":\"" +
            rule.describe() +
            "\",\"rule_source\":\"policy.yaml:12\",\"policy_version\":\"abcdef012345\"}\n");
}

TEST_CASE("a close line has status, byte counts and duration", "[audit]") {
  AuditRecord r;
  r.event = "close";
  r.conn = 7;
  r.client = "[::1]:6000";
  r.method = "CONNECT";
  r.host = "api.prefect.cloud";
  r.port = 443;
  r.sni = "api.prefect.cloud";
  r.upstream = "127.0.0.1:8443";
  r.reason = Reason::closed;
  r.status = 200;
  r.bytes_up = 1048576;
  r.bytes_down = 2048;
  r.duration = std::chrono::milliseconds(1234);
  r.policy_version = "v";
  const auto line = format_audit_line(r, at_ms(0));
  CHECK(line.find("\"event\":\"close\"") != std::string::npos);
  CHECK(line.find("\"stage\"") == std::string::npos);
  CHECK(line.find("\"sni\":\"api.prefect.cloud\",\"upstream\":\"127.0.0.1:8443\"") !=
        std::string::npos);
  CHECK(line.find("\"decision\":null,\"reason\":\"closed\",\"rule\":null,\"rule_source\":null") !=
        std::string::npos);
  CHECK(
      line.find("\"status\":200,\"bytes_up\":1048576,\"bytes_down\":2048,\"duration_ms\":1234}") !=
      std::string::npos);
  CHECK(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
}
