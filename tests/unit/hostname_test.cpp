#include "policy/hostname.hpp"

#include <catch2/catch.hpp>

using fqdngate::policy::is_ip_literal;
using fqdngate::policy::normalize_hostname;

TEST_CASE("host names are lower-cased and lose one trailing dot", "[hostname]") {
  CHECK(normalize_hostname("API.Prefect.CLOUD") == "api.prefect.cloud");
  CHECK(normalize_hostname("api.prefect.cloud.") == "api.prefect.cloud");
  CHECK(normalize_hostname("localhost") == "localhost");
  CHECK(normalize_hostname("XN--BCHER-KVA.example") == "xn--bcher-kva.example");
  CHECK(normalize_hostname("1.2.3.4") == "1.2.3.4");  // IP-ness is is_ip_literal's job
}

TEST_CASE("label and name length limits", "[hostname]") {
  const std::string label63(63, 'a');
  CHECK(normalize_hostname(label63 + ".example") == label63 + ".example");
  std::string why;
  CHECK_FALSE(normalize_hostname(std::string(64, 'a') + ".example", &why));
  CHECK(why == "label longer than 63 octets");

  // 4 x 63-octet labels with dots = 255; trim to exactly 253 and 254.
  std::string name = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  REQUIRE(name.size() == 253);
  CHECK(normalize_hostname(name) == name);
  CHECK(normalize_hostname(name + ".") == name);  // the trailing dot does not count
  CHECK_FALSE(normalize_hostname(name + "b", &why));
  CHECK(why == "name longer than 253 octets");
}

TEST_CASE("names outside LDH are refused with a reason", "[hostname]") {
  struct Case {
    std::string name;
    const char* why;
  };
  const Case cases[] = {
      {"", "empty name"},
      {".", "empty name"},
      {"a..b", "empty label"},
      {"a.b..", "empty label"},
      {".a.b", "empty label"},
      {"-a.b", "label starts or ends with '-'"},
      {"a-.b", "label starts or ends with '-'"},
      {"a_b.example", "character outside letters, digits and '-'"},
      {"*.example", "character outside letters, digits and '-'"},
      {"a b.example", "character outside letters, digits and '-'"},
      {"a%2eb.example", "character outside letters, digits and '-'"},
      {"user@host", "character outside letters, digits and '-'"},
      {"b\xc3\xbc"
       "cher.example",
       "non-ASCII name: write internationalized names in A-label form (xn--...)"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    std::string why;
    CHECK_FALSE(normalize_hostname(c.name, &why));
    CHECK(why == c.why);
  }
}

TEST_CASE("IP literals", "[hostname]") {
  CHECK(is_ip_literal("127.0.0.1"));
  CHECK(is_ip_literal("::1"));
  CHECK(is_ip_literal("2001:db8::1"));
  CHECK_FALSE(is_ip_literal("fe80::1%eth0"));
  CHECK_FALSE(is_ip_literal("[::1]"));
  CHECK_FALSE(is_ip_literal("1.2.3"));
  CHECK_FALSE(is_ip_literal("example.com"));
  CHECK_FALSE(is_ip_literal(""));
}
