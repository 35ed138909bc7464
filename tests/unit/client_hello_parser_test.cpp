#include "proxy/client_hello_parser.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

using namespace fqdngate;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes load_fixture(const std::string& name) {
  std::ifstream in(std::string(FQDNGATE_FIXTURES) + "/hellos/" + name, std::ios::binary);
  REQUIRE(in);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void put_u16(Bytes& b, std::size_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}

void put_u24(Bytes& b, std::size_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 16));
  put_u16(b, v & 0xffff);
}

Bytes extension(std::uint16_t type, const Bytes& data) {
  Bytes b;
  put_u16(b, type);
  put_u16(b, data.size());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

Bytes sni_extension(const std::vector<std::string>& names) {
  Bytes list;
  for (const auto& n : names) {
    list.push_back(0);  // name_type host_name
    put_u16(list, n.size());
    list.insert(list.end(), n.begin(), n.end());
  }
  Bytes data;
  put_u16(data, list.size());
  data.insert(data.end(), list.begin(), list.end());
  return extension(0, data);
}

Bytes alpn_extension(const std::vector<std::string>& protocols) {
  Bytes list;
  for (const auto& p : protocols) {
    list.push_back(static_cast<std::uint8_t>(p.size()));
    list.insert(list.end(), p.begin(), p.end());
  }
  Bytes data;
  put_u16(data, list.size());
  data.insert(data.end(), list.begin(), list.end());
  return extension(16, data);
}

// A ClientHello handshake message (header included) with the given extensions.
Bytes hello_message(const std::vector<Bytes>& extensions) {
  Bytes body;
  put_u16(body, 0x0303);              // legacy_version
  body.insert(body.end(), 32, 0xab);  // random
  body.push_back(32);                 // session_id length
  body.insert(body.end(), 32, 0xcd);  // session_id
  put_u16(body, 4);                   // cipher_suites length
  body.insert(body.end(), {0x13, 0x01, 0x13, 0x02});
  body.push_back(1);  // compression_methods length
  body.push_back(0);  // null
  Bytes ext;
  for (const auto& e : extensions)
    ext.insert(ext.end(), e.begin(), e.end());
  put_u16(body, ext.size());
  body.insert(body.end(), ext.begin(), ext.end());
  Bytes msg{1};  // client_hello
  put_u24(msg, body.size());
  msg.insert(msg.end(), body.begin(), body.end());
  return msg;
}

// Frames a handshake message into TLS records whose payload sizes cycle through `sizes`.
Bytes in_records(const Bytes& message, const std::vector<std::size_t>& sizes) {
  Bytes out;
  std::size_t at = 0;
  for (std::size_t i = 0; at < message.size(); ++i) {
    const std::size_t n = std::min(sizes[i % sizes.size()], message.size() - at);
    out.insert(out.end(), {22, 3, 1});
    put_u16(out, n);
    out.insert(out.end(), message.begin() + static_cast<std::ptrdiff_t>(at),
               message.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
  }
  return out;
}

// The handshake message inside a single-record capture.
Bytes message_of(const Bytes& record) {
  return Bytes(record.begin() + 5, record.end());
}

struct Outcome {
  ParseStatus status = ParseStatus::need_more;
  std::size_t consumed = 0;
  ClientHelloParser parser;
};

Outcome feed_chunks(const Bytes& bytes, const std::vector<std::size_t>& cuts,
                    std::size_t max = 16 * 1024) {
  Outcome o{ParseStatus::need_more, 0, ClientHelloParser(max)};
  std::size_t at = 0;
  for (std::size_t i = 0; i <= cuts.size() && at < bytes.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : bytes.size();
    const auto r = o.parser.feed(std::span<const std::uint8_t>(bytes).subspan(at, end - at));
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

const char* kFixtures[] = {"openssl_tls13.bin", "openssl_tls12.bin", "openssl_alpn.bin",
                           "openssl_no_sni.bin", "curl.bin"};

}  // namespace

TEST_CASE("ClientHellos captured from openssl s_client and curl", "[client_hello]") {
  auto tls13 = feed_all(load_fixture("openssl_tls13.bin"));
  REQUIRE(tls13.status == ParseStatus::done);
  CHECK(tls13.parser.info().has_sni);
  CHECK(tls13.parser.info().sni == "api.prefect.cloud");
  CHECK(tls13.parser.info().legacy_version == 0x0303);
  CHECK(tls13.parser.info().record_version == 0x0301);
  CHECK_FALSE(tls13.parser.info().offers_ech);

  auto tls12 = feed_all(load_fixture("openssl_tls12.bin"));
  REQUIRE(tls12.status == ParseStatus::done);
  CHECK(tls12.parser.info().sni == "pypi.org");

  auto alpn = feed_all(load_fixture("openssl_alpn.bin"));
  REQUIRE(alpn.status == ParseStatus::done);
  CHECK(alpn.parser.info().alpn == std::vector<std::string>{"h2", "http/1.1"});

  auto no_sni = feed_all(load_fixture("openssl_no_sni.bin"));
  REQUIRE(no_sni.status == ParseStatus::done);
  CHECK_FALSE(no_sni.parser.info().has_sni);

  auto curl = feed_all(load_fixture("curl.bin"));
  REQUIRE(curl.status == ParseStatus::done);
  CHECK(curl.parser.info().sni == "api.prefect.cloud");
  const auto& curl_alpn = curl.parser.info().alpn;
  CHECK(std::find(curl_alpn.begin(), curl_alpn.end(), "http/1.1") != curl_alpn.end());
}

TEST_CASE("any split, and one byte per feed, gives the same result", "[client_hello]") {
  for (const char* name : kFixtures) {
    INFO(name);
    const auto bytes = load_fixture(name);
    const auto whole = feed_all(bytes);
    REQUIRE(whole.status == ParseStatus::done);
    REQUIRE(whole.consumed == bytes.size());
    for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
      ClientHelloParser p;
      const auto first = p.feed(std::span<const std::uint8_t>(bytes).first(cut));
      REQUIRE(first.status == ParseStatus::need_more);
      const auto second = p.feed(std::span<const std::uint8_t>(bytes).subspan(cut));
      REQUIRE(second.status == ParseStatus::done);
      REQUIRE(first.consumed + second.consumed == bytes.size());
      REQUIRE(p.info().sni == whole.parser.info().sni);
      REQUIRE(p.info().alpn == whole.parser.info().alpn);
    }
    ClientHelloParser bytewise;
    ParseStatus last = ParseStatus::need_more;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      last = bytewise.feed(std::span<const std::uint8_t>(bytes).subspan(i, 1)).status;
      REQUIRE(last == (i + 1 == bytes.size() ? ParseStatus::done : ParseStatus::need_more));
    }
    CHECK(bytewise.info().has_sni == whole.parser.info().has_sni);
  }
}

TEST_CASE("a ClientHello spread over several records", "[client_hello]") {
  const auto message = message_of(load_fixture("curl.bin"));
  std::mt19937 gen(7);
  std::vector<std::size_t> random_sizes;
  for (int i = 0; i < 64; ++i)
    random_sizes.push_back(1 + gen() % 40);
  for (const auto& sizes : {std::vector<std::size_t>{1}, std::vector<std::size_t>{7},
                            std::vector<std::size_t>{3, 100, 1}, random_sizes}) {
    const auto framed = in_records(message, sizes);
    const auto whole = feed_all(framed);
    REQUIRE(whole.status == ParseStatus::done);
    CHECK(whole.consumed == framed.size());
    CHECK(whole.parser.info().sni == "api.prefect.cloud");
    // Split mid-record-header and mid-payload as well.
    const auto split = feed_chunks(framed, {2, 9, framed.size() / 2, framed.size() - 1});
    CHECK(split.status == ParseStatus::done);
    CHECK(split.parser.info().sni == "api.prefect.cloud");
  }
}

TEST_CASE("a ClientHello larger than one TCP segment", "[client_hello]") {
  // Post-quantum key shares make real hellos exceed 1500 bytes; padding gives the same shape.
  const auto message = hello_message(
      {sni_extension({"pypi.org"}), alpn_extension({"h2"}), extension(21, Bytes(4000, 0))});
  REQUIRE(message.size() > 4000);
  for (const auto& framed : {in_records(message, {16384}), in_records(message, {1200, 700})}) {
    const auto whole = feed_all(framed);
    REQUIRE(whole.status == ParseStatus::done);
    CHECK(whole.parser.info().sni == "pypi.org");
    std::vector<std::size_t> mss_cuts;
    for (std::size_t at = 1448; at < framed.size(); at += 1448)
      mss_cuts.push_back(at);
    const auto segmented = feed_chunks(framed, mss_cuts);
    CHECK(segmented.status == ParseStatus::done);
    CHECK(segmented.parser.info().alpn == std::vector<std::string>{"h2"});
  }
  const auto capped = feed_all(in_records(message, {16384}), 2048);
  CHECK(capped.status == ParseStatus::error);
  CHECK(capped.parser.error() == HelloError::too_large);
}

TEST_CASE("too large is reported from the handshake header alone", "[client_hello]") {
  const Bytes header_only = {22, 3, 1, 0x40, 0x00, 1, 0x00, 0x40, 0x01};  // claims 16385 bytes
  const auto o = feed_all(header_only, 16384);
  CHECK(o.status == ParseStatus::error);
  CHECK(o.parser.error() == HelloError::too_large);
}

TEST_CASE("a truncated ClientHello always asks for more", "[client_hello]") {
  const auto bytes = load_fixture("openssl_tls13.bin");
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    ClientHelloParser p;
    const auto r = p.feed(std::span<const std::uint8_t>(bytes).first(n));
    REQUIRE(r.status == ParseStatus::need_more);
  }
}

TEST_CASE("bytes that are not TLS", "[client_hello]") {
  const std::string http = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  const auto o = feed_all(Bytes(http.begin(), http.end()));
  CHECK(o.status == ParseStatus::error);
  CHECK(o.parser.error() == HelloError::not_tls);
  // SSLv2-compatible hello: 2-byte length with the high bit set, msg_type 1, version 3.1.
  const auto v2 = feed_all(Bytes{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15});
  CHECK(v2.parser.error() == HelloError::not_tls);
  // An SSL 3.0 ClientHello: well-formed, but the protocol is refused.
  Bytes ssl3 = hello_message({sni_extension({"api.prefect.cloud"})});
  ssl3[4] = 3;
  ssl3[5] = 0;
  const auto old = feed_all(in_records(ssl3, {16384}));
  CHECK(old.status == ParseStatus::error);
  CHECK(old.parser.error() == HelloError::not_tls);
  CHECK(std::string(old.parser.error_detail()) == "SSL 3.0 or older ClientHello");
  // Handshake content type but an SSL 2/unknown record version.
  CHECK(feed_all(Bytes{22, 2, 0, 0, 5}).parser.error() == HelloError::not_tls);
}

TEST_CASE("bogus lengths and framing are malformed", "[client_hello]") {
  const auto good = hello_message({sni_extension({"api.prefect.cloud"})});
  struct Case {
    const char* name;
    Bytes bytes;
  };
  std::vector<Case> cases;
  cases.push_back({"record length 0", Bytes{22, 3, 1, 0, 0}});
  cases.push_back({"record length over 2^14+2048", Bytes{22, 3, 1, 0x48, 0x01}});
  {
    Bytes b = in_records(good, {10});
    b[10 + 5] = 23;  // second record is application data
    cases.push_back({"non-handshake record inside the hello", b});
  }
  {
    Bytes m = good;
    m[0] = 2;  // server_hello
    cases.push_back({"not a client_hello message", in_records(m, {16384})});
  }
  {
    Bytes m = good;
    m[4 + 2 + 32] = 33;  // session id length 33
    cases.push_back({"session id over 32 bytes", in_records(m, {16384})});
  }
  {
    // cipher_suites length 3 (odd); shift nothing else: the hello then fails on framing anyway.
    Bytes m = good;
    m[4 + 2 + 32 + 1 + 32 + 1] = 3;
    cases.push_back({"odd cipher suite length", in_records(m, {16384})});
  }
  {
    Bytes m = good;
    m[m.size() - 1 - 17 - 2 - 1 - 2] += 1;  // server_name extension length one past the end
    cases.push_back({"extension length past the end", in_records(m, {16384})});
  }
  cases.push_back(
      {"two SNI host names",
       in_records(hello_message({sni_extension({"api.prefect.cloud", "evil.example"})}), {16384})});
  cases.push_back(
      {"empty SNI host name", in_records(hello_message({sni_extension({""})}), {16384})});
  cases.push_back(
      {"SNI with a space", in_records(hello_message({sni_extension({"a b.example"})}), {16384})});
  cases.push_back(
      {"ALPN entry of length 0", in_records(hello_message({alpn_extension({"h2", ""})}), {16384})});
  cases.push_back({"duplicate extension", in_records(hello_message({sni_extension({"a.example"}),
                                                                    sni_extension({"a.example"})}),
                                                     {16384})});
  for (const auto& c : cases) {
    INFO(c.name);
    const auto o = feed_all(c.bytes);
    CHECK(o.status == ParseStatus::error);
    CHECK(o.parser.error() == HelloError::malformed);
    CHECK(std::string(o.parser.error_detail()).size() > 0);
  }
}

TEST_CASE("ECH, no extensions at all, and trailing bytes", "[client_hello]") {
  const auto ech = feed_all(in_records(
      hello_message({sni_extension({"public.example"}), extension(0xfe0d, Bytes(40, 7))}),
      {16384}));
  REQUIRE(ech.status == ParseStatus::done);
  CHECK(ech.parser.info().offers_ech);
  CHECK(ech.parser.info().sni == "public.example");

  // A hello that ends right after the compression methods is legal and has no SNI.
  Bytes bare = hello_message({});
  bare.resize(bare.size() - 2);  // drop the empty extensions length
  bare[3] = static_cast<std::uint8_t>(bare.size() - 4);
  const auto none = feed_all(in_records(bare, {16384}));
  REQUIRE(none.status == ParseStatus::done);
  CHECK_FALSE(none.parser.info().has_sni);

  // Bytes after the hello in the same feed are not consumed...
  auto framed = load_fixture("openssl_tls13.bin");
  const auto hello_size = framed.size();
  framed.insert(framed.end(), {23, 3, 3, 0, 1, 0});
  const auto trailing = feed_all(framed);
  REQUIRE(trailing.status == ParseStatus::done);
  CHECK(trailing.consumed == hello_size);
  // ...but the rest of the record that completed the hello is.
  Bytes msg = message_of(load_fixture("openssl_tls13.bin"));
  Bytes padded_record{22, 3, 1};
  put_u16(padded_record, msg.size() + 3);
  padded_record.insert(padded_record.end(), msg.begin(), msg.end());
  padded_record.insert(padded_record.end(), {0, 0, 0});
  const auto in_record = feed_all(padded_record);
  REQUIRE(in_record.status == ParseStatus::done);
  CHECK(in_record.consumed == padded_record.size());
}
