#include "proxy/request_head_parser.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace fqdngate;
using namespace std::string_literals;

namespace {

// Real CONNECT heads as sent by the clients Prefect workers use.
const std::vector<std::string> kValidHeads = {
    // curl 7.88
    "CONNECT api.prefect.cloud:443 HTTP/1.1\r\nHost: api.prefect.cloud:443\r\n"
    "User-Agent: curl/7.88.1\r\nProxy-Connection: Keep-Alive\r\n\r\n",
    // httpx / httpcore
    "CONNECT api.prefect.cloud:443 HTTP/1.1\r\nHost: api.prefect.cloud:443\r\n"
    "Accept: */*\r\nUser-Agent: python-httpx/0.23.3\r\n\r\n",
    // python-websockets (Host without port)
    "CONNECT api.prefect.cloud:443 HTTP/1.1\r\nHost: api.prefect.cloud\r\n"
    "User-Agent: Python/3.11 websockets/15.0\r\n"
    "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n",
    // HTTP/1.0, no headers
    "CONNECT 10.0.0.1:8443 HTTP/1.0\r\n\r\n",
};

struct Parsed {
  ParseStatus status;
  std::size_t consumed_total;
  RequestHeadParser parser;
};

// Feeds `pieces` in order until the parser stops asking for more.
Parsed feed_pieces(const std::vector<std::string>& pieces, std::size_t max = 16 * 1024) {
  Parsed p{ParseStatus::need_more, 0, RequestHeadParser(max)};
  for (const auto& piece : pieces) {
    const auto r = p.parser.feed(std::span<const char>(piece.data(), piece.size()));
    p.consumed_total += r.consumed;
    p.status = r.status;
    if (r.status != ParseStatus::need_more) break;
  }
  return p;
}

Parsed feed_all(const std::string& text, std::size_t max = 16 * 1024) {
  return feed_pieces({text}, max);
}

}  // namespace

TEST_CASE("real CONNECT heads parse", "[request_head]") {
  auto curl = feed_all(kValidHeads[0]);
  REQUIRE(curl.status == ParseStatus::done);
  const auto& h = curl.parser.head();
  CHECK(h.method == "CONNECT");
  CHECK(h.target == "api.prefect.cloud:443");
  CHECK(h.version_minor == 1);
  REQUIRE(h.headers.size() == 3);
  CHECK(h.header("host") == "api.prefect.cloud:443");
  CHECK(h.header("USER-AGENT") == "curl/7.88.1");
  CHECK(h.header("Proxy-Authorization").empty());

  auto ws = feed_all(kValidHeads[2]);
  REQUIRE(ws.status == ParseStatus::done);
  CHECK(ws.parser.head().header("Proxy-Authorization") == "Basic dXNlcjpwYXNz");

  auto http10 = feed_all(kValidHeads[3]);
  REQUIRE(http10.status == ParseStatus::done);
  CHECK(http10.parser.head().version_minor == 0);
  CHECK(http10.parser.head().headers.empty());
}

TEST_CASE("every valid head split at every offset gives the same result", "[request_head]") {
  for (const auto& text : kValidHeads) {
    const auto whole = feed_all(text);
    REQUIRE(whole.status == ParseStatus::done);
    for (std::size_t cut = 1; cut < text.size(); ++cut) {
      RequestHeadParser parser;
      const auto first = parser.feed(std::span<const char>(text.data(), cut));
      REQUIRE(first.status == ParseStatus::need_more);
      REQUIRE(first.consumed == cut);
      const auto second = parser.feed(std::span<const char>(text.data() + cut, text.size() - cut));
      REQUIRE(second.status == ParseStatus::done);
      REQUIRE(second.consumed == text.size() - cut);
      REQUIRE(parser.head().target == whole.parser.head().target);
      REQUIRE(parser.head().headers == whole.parser.head().headers);
    }
  }
}

TEST_CASE("header counts are case-insensitive", "[request_head]") {
  const auto p =
      feed_all("CONNECT a.b:443 HTTP/1.1\r\nHost: a.b\r\nhost: c.d\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(p.status == ParseStatus::done);
  CHECK(p.parser.head().count("HOST") == 2);
  CHECK(p.parser.head().count("content-length") == 1);
  CHECK(p.parser.head().count("Transfer-Encoding") == 0);
  CHECK(p.parser.head().header("Host") == "a.b");  // the first one
}

TEST_CASE("one byte per feed", "[request_head]") {
  const auto& text = kValidHeads[1];
  RequestHeadParser parser;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto r = parser.feed(std::span<const char>(text.data() + i, 1));
    REQUIRE(r.consumed == 1);
    REQUIRE(r.status == (i + 1 == text.size() ? ParseStatus::done : ParseStatus::need_more));
  }
  CHECK(parser.head().header("User-Agent") == "python-httpx/0.23.3");
}

TEST_CASE("bytes after the head are left to the caller", "[request_head]") {
  // A client may pipeline its ClientHello right behind the CONNECT head.
  const std::string head = kValidHeads[0];
  const std::string text = head + "\x16\x03\x01\x02\x00";
  const auto p = feed_all(text);
  REQUIRE(p.status == ParseStatus::done);
  CHECK(p.consumed_total == head.size());
}

TEST_CASE("malformed heads are errors with a reason", "[request_head]") {
  struct Case {
    const char* name;
    std::string text;
    HeadError error;
  };
  const std::vector<Case> cases = {
      {"leading empty line", "\r\nCONNECT a.b:443 HTTP/1.1\r\n\r\n", HeadError::bad_request_line},
      {"missing version", "CONNECT a.b:443\r\n\r\n", HeadError::bad_request_line},
      {"double space", "CONNECT  a.b:443 HTTP/1.1\r\n\r\n", HeadError::bad_request_line},
      {"extra field", "CONNECT a.b:443 HTTP/1.1 x\r\n\r\n", HeadError::bad_request_line},
      {"method not a token", "CON(NECT a.b:443 HTTP/1.1\r\n\r\n", HeadError::bad_request_line},
      {"control byte in target", std::string("CONNECT a\x01.b:443 HTTP/1.1\r\n\r\n"),
       HeadError::bad_request_line},
      {"HTTP/2.0", "CONNECT a.b:443 HTTP/2.0\r\n\r\n", HeadError::bad_version},
      {"lower-case version", "CONNECT a.b:443 http/1.1\r\n\r\n", HeadError::bad_version},
      {"bare LF after the request line", "CONNECT a.b:443 HTTP/1.1\nHost: a.b\n\n",
       HeadError::bad_request_line},
      {"bare CR in the request line", "CONNECT a.b:443\rHTTP/1.1\r\n\r\n",
       HeadError::bad_request_line},
      {"bare LF after a header", "CONNECT a.b:443 HTTP/1.1\r\nHost: a.b\n\r\n",
       HeadError::bad_header},
      {"bare LF ending the head", "CONNECT a.b:443 HTTP/1.1\r\nHost: a.b\r\n\n",
       HeadError::bad_header},
      {"bare CR", "CONNECT a.b:443 HTTP/1.1\r\nHost: a\rb\r\n\r\n", HeadError::bad_header},
      {"header without colon", "CONNECT a.b:443 HTTP/1.1\r\nHost a.b\r\n\r\n",
       HeadError::bad_header},
      {"empty header name", "CONNECT a.b:443 HTTP/1.1\r\n: x\r\n\r\n", HeadError::bad_header},
      {"space before colon", "CONNECT a.b:443 HTTP/1.1\r\nHost : a.b\r\n\r\n",
       HeadError::bad_header},
      {"obs-fold", "CONNECT a.b:443 HTTP/1.1\r\nX-A: 1\r\n  continued\r\n\r\n",
       HeadError::bad_header},
      {"NUL in value", "CONNECT a.b:443 HTTP/1.1\r\nX-A: 1\0 2\r\n\r\n"s, HeadError::bad_header},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto p = feed_all(c.text);
    CHECK(p.status == ParseStatus::error);
    CHECK(p.parser.error() == c.error);
    CHECK_FALSE(p.parser.error_detail().empty());
  }
}

TEST_CASE("error details never echo raw control bytes", "[request_head]") {
  const auto p = feed_all(std::string("CONNECT a.b:443 HTTP/1.1\r\nX\x01: 1\r\n\r\n"));
  REQUIRE(p.status == ParseStatus::error);
  for (char c : p.parser.error_detail())
    CHECK(static_cast<unsigned char>(c) >= 0x20);
}

TEST_CASE("the size limit is enforced as soon as it is crossed", "[request_head]") {
  SECTION("mid request line, before any line end") {
    const std::string text = "CONNECT " + std::string(200, 'a') + ":443 HTTP/1.1";
    const auto p = feed_all(text, 100);
    CHECK(p.status == ParseStatus::error);
    CHECK(p.parser.error() == HeadError::too_large);
    CHECK(p.consumed_total == 101);
  }
  SECTION("mid headers, across feeds") {
    std::vector<std::string> pieces = {"CONNECT a.b:443 HTTP/1.1\r\n"};
    for (int i = 0; i < 50; ++i)
      pieces.push_back("X-Pad: 0123456789\r\n");
    const auto p = feed_pieces(pieces, 256);
    CHECK(p.status == ParseStatus::error);
    CHECK(p.parser.error() == HeadError::too_large);
  }
  SECTION("a head of exactly the limit is accepted") {
    const std::string text = kValidHeads[3];
    CHECK(feed_all(text, text.size()).status == ParseStatus::done);
    CHECK(feed_all(text, text.size() - 1).parser.error() == HeadError::too_large);
  }
}

TEST_CASE("whole chunks and single bytes stop at the same byte, for every limit",
          "[request_head]") {
  // feed() copies runs of line bytes at once; fed one byte at a time it cannot. Both must agree
  // on the result, on the exact byte where the limit or a bad line end stops the head, and on
  // the head they parsed.
  std::vector<std::string> texts(std::begin(kValidHeads), std::end(kValidHeads));
  texts.push_back("CONNECT a.b:443 HTTP/1.1\r\nHost: a.b\rX: 1\r\n\r\n");  // bare CR
  texts.push_back("CONNECT a.b:443 HTTP/1.1\r\nHost: a.b\nX: 1\r\n\r\n");  // bare LF
  texts.push_back("CONNECT a.b:443 HTTP/1.1\n\r\n");                       // LF ending line 1
  texts.push_back("CONNECT a.b:443 HTTP/1.1\r\n\r\n\x16\x03\x01");         // hello behind
  for (const auto& text : texts) {
    for (std::size_t limit = 1; limit <= text.size() + 1; ++limit) {
      const auto whole = feed_all(text, limit);
      std::vector<std::string> bytes;
      for (char c : text)
        bytes.emplace_back(1, c);
      const auto single = feed_pieces(bytes, limit);
      INFO("text " << text.size() << " bytes, limit " << limit);
      REQUIRE(whole.status == single.status);
      REQUIRE(whole.consumed_total == single.consumed_total);
      REQUIRE(whole.parser.error() == single.parser.error());
      if (whole.parser.error() == HeadError::too_large) CHECK(whole.consumed_total == limit + 1);
      if (whole.status == ParseStatus::done) {
        CHECK(whole.parser.head().method == single.parser.head().method);
        CHECK(whole.parser.head().target == single.parser.head().target);
        CHECK(whole.parser.head().headers == single.parser.head().headers);
      }
    }
  }
}

TEST_CASE("too many header lines", "[request_head]") {
  std::string text = "CONNECT a.b:443 HTTP/1.1\r\n";
  for (int i = 0; i < 5; ++i)
    text += "X-A: 1\r\n";
  text += "\r\n";
  RequestHeadParser four(16 * 1024, 4);
  const auto r = four.feed(std::span<const char>(text.data(), text.size()));
  CHECK(r.status == ParseStatus::error);
  CHECK(four.error() == HeadError::too_many_headers);
  RequestHeadParser five(16 * 1024, 5);
  CHECK(five.feed(std::span<const char>(text.data(), text.size())).status == ParseStatus::done);
}
