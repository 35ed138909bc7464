#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "policy/hostname.hpp"
#include "policy/name_matcher.hpp"

using fqdngate::policy::NameMatcher;
using fqdngate::policy::normalize_hostname;

namespace {

using Match = std::pair<std::uint32_t, std::size_t>;  // value, specificity

std::vector<Match> matches(const NameMatcher& m, std::string_view name) {
  std::vector<Match> out;
  m.for_each_match(name, [&](std::uint32_t v, std::size_t specificity) {
    out.emplace_back(v, specificity);
    return true;
  });
  return out;
}

std::vector<std::uint32_t> values(const NameMatcher& m, std::string_view name) {
  std::vector<std::uint32_t> out;
  for (const auto& [v, s] : matches(m, name))
    out.push_back(v);
  return out;
}

std::string norm(std::string_view raw) {
  auto n = normalize_hostname(raw);
  REQUIRE(n);
  return *n;
}

}  // namespace

TEST_CASE("exact names match only themselves", "[name_matcher]") {
  NameMatcher m;
  CHECK(m.empty());
  m.add("api.prefect.cloud", 7);
  CHECK_FALSE(m.empty());
  CHECK(values(m, "api.prefect.cloud") == std::vector<std::uint32_t>{7});
  CHECK(values(m, "prefect.cloud").empty());
  CHECK(values(m, "x.api.prefect.cloud").empty());
  CHECK(values(m, "api.prefect.clou").empty());
  CHECK(values(m, "").empty());
}

TEST_CASE("a wildcard matches below its suffix on a label boundary only", "[name_matcher]") {
  NameMatcher m;
  m.add("*.s3.amazonaws.com", 1);
  CHECK(values(m, "b.s3.amazonaws.com") == std::vector<std::uint32_t>{1});
  CHECK(values(m, "a.b.s3.amazonaws.com") == std::vector<std::uint32_t>{1});
  CHECK(values(m, "s3.amazonaws.com").empty());
  CHECK(values(m, "evils3.amazonaws.com").empty());
  CHECK(values(m, "s3.amazonaws.com.evil.example").empty());
  CHECK(values(m, ".s3.amazonaws.com") == std::vector<std::uint32_t>{1});  // never normalized
  CHECK(values(m, "amazonaws.com").empty());
}

TEST_CASE("matches come most specific first, with their specificity", "[name_matcher]") {
  NameMatcher m;
  m.add("*.example.com", 1);
  m.add("*.b.example.com", 2);
  m.add("a.b.example.com", 3);
  m.add("a.b.example.com", 4);
  const std::string name = "a.b.example.com";
  const std::vector<Match> expected{{3, name.size() + 1},
                                    {4, name.size() + 1},
                                    {2, std::string("b.example.com").size()},
                                    {1, std::string("example.com").size()}};
  CHECK(matches(m, name) == expected);
}

TEST_CASE("the visitor stops the walk by returning false", "[name_matcher]") {
  NameMatcher m;
  m.add("*.example.com", 1);
  m.add("*.b.example.com", 2);
  m.add("a.b.example.com", 3);
  std::vector<std::uint32_t> seen;
  m.for_each_match("a.b.example.com", [&](std::uint32_t v, std::size_t) {
    seen.push_back(v);
    return seen.size() < 2;
  });
  CHECK(seen == std::vector<std::uint32_t>{3, 2});
}

TEST_CASE("queries in any case or with a trailing dot match once normalized", "[name_matcher]") {
  NameMatcher m;
  m.add(norm("API.Prefect.Cloud."), 1);
  m.add("*." + norm("S3.amazonaws.COM"), 2);
  for (const char* raw : {"api.prefect.cloud", "API.PREFECT.CLOUD", "api.prefect.cloud."}) {
    INFO(raw);
    CHECK(values(m, norm(raw)) == std::vector<std::uint32_t>{1});
  }
  CHECK(values(m, norm("My-Bucket.S3.AmazonAWS.com.")) == std::vector<std::uint32_t>{2});
}

TEST_CASE("IDN names match in A-label form; raw UTF-8 never normalizes", "[name_matcher]") {
  NameMatcher m;
  m.add("*.xn--bcher-kva.example", 1);  // *.bücher.example
  m.add("xn--mnchen-3ya.example", 2);   // münchen.example
  CHECK(values(m, "shop.xn--bcher-kva.example") == std::vector<std::uint32_t>{1});
  CHECK(values(m, norm("XN--MNCHEN-3YA.example")) == std::vector<std::uint32_t>{2});
  CHECK_FALSE(normalize_hostname("m\xc3\xbcnchen.example"));
  CHECK(values(m, "xn--bcher-kva.example").empty());
}

TEST_CASE("a matcher with 100000 patterns answers exactly", "[name_matcher]") {
  constexpr std::uint32_t kCount = 100'000;
  NameMatcher m;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    const std::string n = std::to_string(i);
    if (i % 2 == 0) {
      m.add("host" + n + ".example.com", i);
    } else {
      m.add("*.zone" + n + ".example.net", i);
    }
  }
  CHECK(values(m, "host0.example.com") == std::vector<std::uint32_t>{0});
  CHECK(values(m, "host99998.example.com") == std::vector<std::uint32_t>{99998});
  CHECK(values(m, "host99999.example.com").empty());  // odd: only a wildcard zone exists
  CHECK(values(m, "a.b.zone99999.example.net") == std::vector<std::uint32_t>{99999});
  CHECK(values(m, "zone99999.example.net").empty());
  CHECK(values(m, "a.zone99998.example.net").empty());
  CHECK(values(m, "example.com").empty());
  CHECK(values(m, "x.host1.example.com").empty());
}
