#include "proxy/client_hello_parser.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "tls_test_builder.hpp"

using namespace fqdngate;
using namespace tls_test;

namespace {

Bytes load_fixture(const std::string& name) {
  std::ifstream in(std::string(FQDNGATE_FIXTURES) + "/hellos/" + name, std::ios::binary);
  REQUIRE(in);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

std::span<const std::uint8_t> slice(const Bytes& b, std::size_t at, std::size_t n) {
  return std::span<const std::uint8_t>(b).subspan(at, n);
}

struct Outcome {
  ParseStatus status = ParseStatus::need_more;
  std::size_t consumed = 0;
  ClientHelloParser parser;
};

// Feeds `bytes` cut at the ascending offsets `cuts`, stopping at the first final status.
Outcome feed_chunks(const Bytes& bytes, const std::vector<std::size_t>& cuts,
                    std::size_t max = 16 * 1024) {
  Outcome o{ParseStatus::need_more, 0, ClientHelloParser(max)};
  std::size_t at = 0;
  for (std::size_t i = 0; i <= cuts.size() && at < bytes.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : bytes.size();
    const auto r = o.parser.feed(slice(bytes, at, end - at));
    o.consumed += r.consumed;
    o.status = r.status;
    at = end;
    if (r.status != ParseStatus::need_more) break;
  }
  return o;
}

Outcome feed_all(const Bytes& bytes, std::size_t max = 16 * 1024) {
  return feed_chunks(bytes, {}, max);
}

Outcome feed_bytewise(const Bytes& bytes) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < bytes.size(); ++i)
    cuts.push_back(i);
  return feed_chunks(bytes, cuts);
}

void check_same_info(const ClientHelloInfo& a, const ClientHelloInfo& b) {
  CHECK(a.has_sni == b.has_sni);
  CHECK(a.sni == b.sni);
  CHECK(a.alpn == b.alpn);
  CHECK(a.offers_ech == b.offers_ech);
  CHECK(a.record_version == b.record_version);
  CHECK(a.legacy_version == b.legacy_version);
}

const char* const kFixtures[] = {"openssl_tls13.bin", "openssl_tls12.bin", "openssl_alpn.bin",
                                 "openssl_no_sni.bin", "curl.bin"};

// Over 4000 bytes, as hellos with post-quantum key shares are: padding (21) gives the same shape.
Bytes large_message() {
  return hello_message(
      {sni_extension("pypi.org"), alpn_extension({"h2"}), extension(21, Bytes(4000, 0))});
}

}  // namespace

TEST_CASE("ClientHellos captured from openssl s_client and curl", "[client_hello]") {
  struct Expected {
    const char* file;
    bool has_sni;
    std::string sni;
    std::vector<std::string> alpn;
  };
  const Expected expected[] = {
      {"openssl_tls13.bin", true, "api.prefect.cloud", {}},
      {"openssl_tls12.bin", true, "pypi.org", {}},
      {"openssl_alpn.bin", true, "api.prefect.cloud", {"h2", "http/1.1"}},
      {"openssl_no_sni.bin", false, "", {}},
      {"curl.bin", true, "api.prefect.cloud", {"h2", "http/1.1"}},
  };
  for (const auto& e : expected) {
    INFO(e.file);
    const auto bytes = load_fixture(e.file);
    const auto o = feed_all(bytes);
    REQUIRE(o.status == ParseStatus::done);
    CHECK(o.consumed == bytes.size());
    const auto& info = o.parser.info();
    CHECK(info.has_sni == e.has_sni);
    CHECK(info.sni == e.sni);
    CHECK(info.alpn == e.alpn);
    CHECK_FALSE(info.offers_ech);
    // Every modern client writes TLS 1.0 in the first record and 1.2 in the hello itself.
    CHECK(info.record_version == 0x0301);
    CHECK(info.legacy_version == 0x0303);
    CHECK(o.parser.error() == HelloError::none);
  }
}

TEST_CASE("a split at any offset, and one byte per feed, give the same result", "[client_hello]") {
  std::vector<Bytes> inputs;
  for (const char* name : kFixtures)
    inputs.push_back(load_fixture(name));
  inputs.push_back(in_records(message_of(load_fixture("curl.bin")), {100, 7, 250}));
  for (const auto& bytes : inputs) {
    const auto whole = feed_all(bytes);
    REQUIRE(whole.status == ParseStatus::done);
    for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
      INFO("cut at " << cut << " of " << bytes.size());
      ClientHelloParser p;
      const auto first = p.feed(slice(bytes, 0, cut));
      REQUIRE(first.status == ParseStatus::need_more);
      REQUIRE(first.consumed == cut);
      const auto second = p.feed(slice(bytes, cut, bytes.size() - cut));
      REQUIRE(second.status == ParseStatus::done);
      REQUIRE(second.consumed == bytes.size() - cut);
      REQUIRE(p.info().sni == whole.parser.info().sni);
      REQUIRE(p.info().alpn == whole.parser.info().alpn);
    }
    ClientHelloParser bytewise;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      const auto r = bytewise.feed(slice(bytes, i, 1));
      REQUIRE(r.status == (i + 1 == bytes.size() ? ParseStatus::done : ParseStatus::need_more));
      REQUIRE(r.consumed == 1);
    }
    check_same_info(bytewise.info(), whole.parser.info());
  }
}

TEST_CASE("a ClientHello re-framed into several records parses the same", "[client_hello]") {
  const auto captured = load_fixture("curl.bin");
  const auto reference = feed_all(captured);
  REQUIRE(reference.status == ParseStatus::done);
  std::mt19937 gen(7);
  std::vector<std::size_t> random_sizes;
  for (int i = 0; i < 64; ++i)
    random_sizes.push_back(1 + gen() % 40);
  const std::vector<std::vector<std::size_t>> framings = {{1}, {7}, {3, 100, 1}, random_sizes};
  for (const auto& sizes : framings) {
    const auto framed = in_records(message_of(captured), sizes);
    INFO("first record size " << sizes[0] << ", " << framed.size() << " bytes");
    REQUIRE(framed.size() > captured.size());
    const auto whole = feed_all(framed);
    REQUIRE(whole.status == ParseStatus::done);
    CHECK(whole.consumed == framed.size());
    check_same_info(whole.parser.info(), reference.parser.info());
    // Cuts inside a record header, inside a payload and one byte before the end.
    const auto split = feed_chunks(framed, {2, 9, framed.size() / 2, framed.size() - 1});
    REQUIRE(split.status == ParseStatus::done);
    CHECK(split.consumed == framed.size());
    check_same_info(split.parser.info(), reference.parser.info());
  }
}

TEST_CASE("a ClientHello larger than one TCP segment", "[client_hello]") {
  const auto message = large_message();
  REQUIRE(message.size() > 4000);
  for (const auto& framed : {in_record(message), in_records(message, {1200, 700})}) {
    INFO(framed.size() << " bytes");
    const auto whole = feed_all(framed);
    REQUIRE(whole.status == ParseStatus::done);
    CHECK(whole.consumed == framed.size());
    CHECK(whole.parser.info().sni == "pypi.org");
    CHECK(whole.parser.info().alpn == std::vector<std::string>{"h2"});
    std::vector<std::size_t> mss_cuts;
    for (std::size_t at = 1448; at < framed.size(); at += 1448)
      mss_cuts.push_back(at);
    const auto segmented = feed_chunks(framed, mss_cuts);
    REQUIRE(segmented.status == ParseStatus::done);
    check_same_info(segmented.parser.info(), whole.parser.info());
    for (std::size_t cut = 1; cut < framed.size(); cut += 13) {
      const auto two = feed_chunks(framed, {cut});
      REQUIRE(two.status == ParseStatus::done);
      REQUIRE(two.parser.info().sni == "pypi.org");
    }
  }
}

TEST_CASE("the size cap is enforced from the handshake header", "[client_hello]") {
  // record(22, TLS 1.0, 4 bytes) | client_hello, u24 length 16385: the header alone is enough.
  const Bytes over = {22, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x40, 0x01};
  const auto o = feed_all(over, 16384);
  CHECK(o.status == ParseStatus::error);
  CHECK(o.parser.error() == HelloError::too_large);
  CHECK(std::string(o.parser.error_detail()) == "ClientHello larger than the limit");
  // The same header split across two 2-byte records.
  const Bytes split_header = {22, 0x03, 0x01, 0x00, 0x02, 0x01, 0x00,
                              22, 0x03, 0x01, 0x00, 0x02, 0x40, 0x01};
  CHECK(feed_all(split_header, 16384).parser.error() == HelloError::too_large);
  // Exactly at the limit is allowed: the parser waits for the body.
  const Bytes at_limit = {22, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x40, 0x00};
  CHECK(feed_all(at_limit, 16384).status == ParseStatus::need_more);
  // A real, complete hello over a smaller cap.
  const auto capped = feed_all(in_records(large_message(), {1200}), 2048);
  CHECK(capped.status == ParseStatus::error);
  CHECK(capped.parser.error() == HelloError::too_large);
}

TEST_CASE("a truncated ClientHello always asks for more", "[client_hello]") {
  std::vector<Bytes> inputs;
  for (const char* name : kFixtures)
    inputs.push_back(load_fixture(name));
  inputs.push_back(in_records(large_message(), {1200, 700}));
  for (const auto& bytes : inputs) {
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      INFO("first " << n << " of " << bytes.size() << " bytes");
      ClientHelloParser p;
      const auto r = p.feed(slice(bytes, 0, n));
      REQUIRE(r.status == ParseStatus::need_more);
      REQUIRE(r.consumed == n);
      REQUIRE(p.error() == HelloError::none);
    }
  }
}

TEST_CASE("bytes that are not a TLS handshake", "[client_hello]") {
  const std::string http = "GET / HTTP/1.1\r\nHost: api.prefect.cloud\r\n\r\n";
  const auto get = feed_all(Bytes(http.begin(), http.end()));
  CHECK(get.status == ParseStatus::error);
  CHECK(get.parser.error() == HelloError::not_tls);
  // SSLv2-compatible hello: u15 length with the high bit set, msg_type 1, version 3.1, ...
  const auto v2 = feed_all(Bytes{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15});
  CHECK(v2.status == ParseStatus::error);
  CHECK(v2.parser.error() == HelloError::not_tls);
  // The first byte decides: no need to wait for a whole record header.
  CHECK(feed_all(Bytes{0x80}).parser.error() == HelloError::not_tls);
  // An application-data or alert record before any handshake.
  CHECK(feed_all(record({1, 2, 3}, 23)).parser.error() == HelloError::not_tls);
  CHECK(feed_all(record({2, 40}, 21)).parser.error() == HelloError::not_tls);
  // Handshake content type, record version major 2.
  CHECK(feed_all(record({1, 0, 0, 0}, 22, 0x0200)).parser.error() == HelloError::not_tls);
  // A well-formed SSL 3.0 ClientHello: refused as a protocol fqdngate does not carry.
  HelloFields ssl3;
  ssl3.legacy_version = 0x0300;
  ssl3.extensions = std::vector<Bytes>{sni_extension("api.prefect.cloud")};
  const auto old = feed_all(in_record(hello_message(ssl3)));
  CHECK(old.status == ParseStatus::error);
  CHECK(old.parser.error() == HelloError::not_tls);
  CHECK(std::string(old.parser.error_detail()) == "SSL 3.0 or older ClientHello");
}

TEST_CASE("bogus lengths and framing are malformed", "[client_hello]") {
  const auto good = hello_message({sni_extension("api.prefect.cloud")});
  REQUIRE(feed_all(in_record(good)).status == ParseStatus::done);
  struct Case {
    const char* name;
    Bytes bytes;
    std::string detail;
  };
  std::vector<Case> cases;
  auto with = [&](const char* name, HelloFields f, const char* detail) {
    cases.push_back({name, in_record(hello_message(f)), detail});
  };
  auto with_extensions = [&](const char* name, std::vector<Bytes> e, const char* detail) {
    cases.push_back({name, in_record(hello_message(e)), detail});
  };

  // Record layer.
  cases.push_back({"record length 0", {22, 0x03, 0x01, 0x00, 0x00}, "empty handshake record"});
  cases.push_back({"record length 16641 (2^14+257)",
                   {22, 0x03, 0x01, 0x41, 0x01},
                   "record length exceeds 2^14+256"});
  {
    Bytes b = in_records(good, {10});
    b[5 + 10] = 23;  // second record: application_data
    cases.push_back(
        {"application data inside the hello", b, "non-handshake record inside the ClientHello"});
  }
  {
    // Handshake length 10 more than the record holds, then a ChangeCipherSpec record.
    Bytes m = good;
    m[3] = static_cast<std::uint8_t>(m[3] + 10);
    Bytes b = in_record(m);
    append(b, record({1}, 20));
    cases.push_back({"handshake length past the record, then change_cipher_spec", b,
                     "non-handshake record inside the ClientHello"});
  }
  {
    Bytes b = in_records(good, {10});
    b[5 + 10 + 1] = 2;  // second record: version 2.1
    cases.push_back({"second record not TLS", b, "record version is not TLS"});
  }
  // Handshake layer.
  {
    Bytes m = good;
    m[0] = 2;  // server_hello
    cases.push_back(
        {"not a client_hello", in_record(m), "first handshake message is not a ClientHello"});
  }
  cases.push_back({"body shorter than version and random",
                   in_record(Bytes{1, 0, 0, 4, 0x03, 0x03, 0xab, 0xab}),
                   "ClientHello shorter than version and random"});
  {
    HelloFields f;
    f.session_id = Bytes(33, 0xcd);
    with("session id of 33 bytes", f, "bad session id");
  }
  {
    HelloFields f;
    f.cipher_suites = {0x13, 0x01, 0x13};
    with("odd cipher suite length", f, "bad cipher suite list");
  }
  {
    HelloFields f;
    f.cipher_suites = {};
    with("no cipher suites", f, "bad cipher suite list");
  }
  {
    HelloFields f;
    f.compression_methods = {};
    with("no compression methods", f, "bad compression method list");
  }
  {
    // The handshake length is larger than the fields, and the record really carries that much.
    HelloFields f;
    f.extensions = std::vector<Bytes>{sni_extension("api.prefect.cloud")};
    f.after_extensions = {0x00, 0x00};
    with("bytes after the extension block", f, "extension block length does not match the message");
  }
  // Extensions.
  with_extensions("extension length past the end",
                  {{0x00, 0x15, 0x00, 0x10, 0x00, 0x00, 0x00}},  // padding(21), claims 16, has 3
                  "extension runs past the end of the block");
  with_extensions("duplicate server_name",
                  {sni_extension("api.prefect.cloud"), sni_extension("api.prefect.cloud")},
                  "duplicate extension");
  with_extensions("duplicate padding", {extension(21, {0}), extension(21, {0})},
                  "duplicate extension");
  with_extensions("two SNI host names",
                  {sni_extension({{0, "api.prefect.cloud"}, {0, "evil.example"}})},
                  "multiple SNI host names");
  with_extensions("empty SNI host name", {sni_extension("")}, "empty SNI host name");
  with_extensions("SNI with a space", {sni_extension("a b.example")},
                  "SNI host name has non-printable bytes");
  with_extensions("SNI with a NUL", {sni_extension(std::string("api.prefect.cloud\0.evil", 23))},
                  "SNI host name has non-printable bytes");
  with_extensions("SNI with a high byte", {sni_extension("caf\xc3\xa9.example")},
                  "SNI host name has non-printable bytes");
  with_extensions("empty server_name list", {extension(0, {0x00, 0x00})}, "bad server_name list");
  with_extensions("ALPN entry of length 0", {alpn_extension({"h2", ""})}, "bad ALPN protocol name");
  with_extensions("ALPN entry past the list", {extension(16, {0x00, 0x03, 0x05, 'h', '2'})},
                  "bad ALPN protocol name");
  with_extensions("empty ALPN list", {extension(16, {0x00, 0x00})}, "bad ALPN list");

  for (const auto& c : cases) {
    INFO(c.name);
    const auto whole = feed_all(c.bytes);
    CHECK(whole.status == ParseStatus::error);
    CHECK(whole.parser.error() == HelloError::malformed);
    CHECK(whole.parser.error_detail() == c.detail);
    // Incremental checks reach the same verdict however the bytes arrive.
    const auto bytewise = feed_bytewise(c.bytes);
    CHECK(bytewise.status == ParseStatus::error);
    CHECK(bytewise.parser.error_detail() == c.detail);
  }
}

TEST_CASE("record lengths up to 2^14+256 are accepted", "[client_hello]") {
  CHECK(feed_all({22, 0x03, 0x01, 0x41, 0x00}).status == ParseStatus::need_more);
  // A handshake length beyond the first record just waits for the next record.
  Bytes m = hello_message({sni_extension("api.prefect.cloud")});
  const auto full = in_records(m, {20});
  const auto first_record = Bytes(full.begin(), full.begin() + 5 + 20);
  CHECK(feed_all(first_record).status == ParseStatus::need_more);
}

TEST_CASE("server_name entries, ECH and hellos without extensions", "[client_hello]") {
  // Only host_name (0) counts; other name types are skipped, not taken as the host.
  const auto other_type = feed_all(
      in_record(hello_message({sni_extension({{1, "other.example"}, {0, "api.prefect.cloud"}})})));
  REQUIRE(other_type.status == ParseStatus::done);
  CHECK(other_type.parser.info().sni == "api.prefect.cloud");
  const auto only_other =
      feed_all(in_record(hello_message({sni_extension({{1, "other.example"}})})));
  REQUIRE(only_other.status == ParseStatus::done);
  CHECK_FALSE(only_other.parser.info().has_sni);

  // The SNI is reported as sent; normalizing it is the caller's job.
  const auto upper = feed_all(in_record(hello_message({sni_extension("API.Prefect.Cloud.")})));
  REQUIRE(upper.status == ParseStatus::done);
  CHECK(upper.parser.info().sni == "API.Prefect.Cloud.");

  const auto ech = feed_all(in_record(hello_message(
      {sni_extension("public.example"), extension(0xfe0d, Bytes(40, 7)), alpn_extension({"h2"})})));
  REQUIRE(ech.status == ParseStatus::done);
  CHECK(ech.parser.info().offers_ech);
  CHECK(ech.parser.info().sni == "public.example");
  CHECK(ech.parser.info().alpn == std::vector<std::string>{"h2"});
  // Other code points near 0xfe0d are not ECH.
  const auto not_ech = feed_all(in_record(hello_message({extension(0xfe0c, {0})})));
  REQUIRE(not_ech.status == ParseStatus::done);
  CHECK_FALSE(not_ech.parser.info().offers_ech);

  HelloFields bare;
  bare.extensions.reset();  // body ends right after compression_methods
  const auto none = feed_all(in_record(hello_message(bare)));
  REQUIRE(none.status == ParseStatus::done);
  CHECK_FALSE(none.parser.info().has_sni);
  const auto empty_block = feed_all(in_record(hello_message(HelloFields{})));
  REQUIRE(empty_block.status == ParseStatus::done);
  CHECK_FALSE(empty_block.parser.info().has_sni);
}

TEST_CASE("hundreds of extensions: duplicates are found wherever they are", "[client_hello]") {
  // More extensions than any real client sends, so the duplicate check leaves its inline buffer.
  std::vector<Bytes> many;
  for (std::uint16_t type = 0x1000; type < 0x1000 + 300; ++type)
    many.push_back(extension(type, {}));
  many.push_back(sni_extension("api.prefect.cloud"));
  const auto ok = feed_all(in_record(hello_message(many)));
  REQUIRE(ok.status == ParseStatus::done);
  CHECK(ok.parser.info().sni == "api.prefect.cloud");

  for (std::size_t late : {std::size_t{63}, std::size_t{64}, std::size_t{65}, std::size_t{299}}) {
    auto repeated = many;
    repeated[late] = extension(0x1000, {});  // the same type as the first
    const auto dup = feed_all(in_record(hello_message(repeated)));
    CHECK(dup.status == ParseStatus::error);
    CHECK(std::string(dup.parser.error_detail()) == "duplicate extension");
  }
}

TEST_CASE("consumed stops at the record that completes the hello", "[client_hello]") {
  const auto captured = load_fixture("openssl_tls13.bin");
  const Bytes app_data = record({0xde, 0xad}, 23);

  SECTION("a later record in the same feed is not consumed") {
    for (const auto& hello : {captured, in_records(message_of(captured), {50, 9})}) {
      Bytes bytes = hello;
      append(bytes, app_data);
      const auto o = feed_all(bytes);
      REQUIRE(o.status == ParseStatus::done);
      CHECK(o.consumed == hello.size());
      CHECK(o.parser.info().sni == "api.prefect.cloud");
    }
  }
  SECTION("bytes after the hello inside its own record are consumed") {
    Bytes fragment = message_of(captured);
    append(fragment, Bytes{0x00, 0x00, 0x00});
    const auto padded = in_record(fragment);
    Bytes bytes = padded;
    append(bytes, app_data);
    const auto o = feed_all(bytes);
    REQUIRE(o.status == ParseStatus::done);
    CHECK(o.consumed == padded.size());
  }
  SECTION("a finished parser keeps its verdict and takes no more bytes") {
    ClientHelloParser p;
    REQUIRE(p.feed(captured).status == ParseStatus::done);
    const auto again = p.feed(app_data);
    CHECK(again.status == ParseStatus::done);
    CHECK(again.consumed == 0);
    CHECK(p.info().sni == "api.prefect.cloud");

    ClientHelloParser bad;
    REQUIRE(bad.feed(Bytes{'G', 'E', 'T'}).status == ParseStatus::error);
    const auto after = bad.feed(captured);
    CHECK(after.status == ParseStatus::error);
    CHECK(after.consumed == 0);
    CHECK(bad.error() == HelloError::not_tls);
  }
}
