#include "proxy/command_line.hpp"

#include <catch2/catch.hpp>

#include "policy/listen_address.hpp"

using namespace fqdngate;

namespace {

std::optional<CommandLine> parse(std::vector<std::string_view> args, std::string* error = nullptr) {
  std::string e;
  auto cl = parse_command_line(args, e);
  if (error != nullptr) *error = e;
  return cl;
}

}  // namespace

TEST_CASE("run is the default command and takes repeatable --listen", "[cli]") {
  const auto cl = parse({"--config", "p.yaml", "--listen", "127.0.0.1:0", "--listen", "[::1]:3128",
                         "--threads", "2"});
  REQUIRE(cl);
  CHECK(cl->command == Command::run);
  CHECK(cl->config == "p.yaml");
  CHECK(cl->listen == std::vector<std::string>{"127.0.0.1:0", "[::1]:3128"});
  CHECK(cl->threads == 2u);
  CHECK_FALSE(cl->user);
  const auto dropping = parse({"--user", "fqdngate"});
  REQUIRE(dropping);
  CHECK(dropping->user == "fqdngate");
  CHECK_FALSE(parse({"check", "--config", "p.yaml", "--user", "x"}));
}

TEST_CASE("explain takes a target, --sni and --client", "[cli]") {
  const auto cl =
      parse({"explain", "api.prefect.cloud:443", "--sni", "x.example", "--client", "10.0.0.5"});
  REQUIRE(cl);
  CHECK(cl->command == Command::explain);
  CHECK(cl->target == "api.prefect.cloud:443");
  CHECK(cl->sni == "x.example");
  CHECK(cl->client == "10.0.0.5");
}

TEST_CASE("bad command lines are refused with a reason", "[cli]") {
  std::string error;
  CHECK_FALSE(parse({"check"}, &error));
  CHECK(error == "check needs --config FILE");
  CHECK_FALSE(parse({"explain"}, &error));
  CHECK(error == "explain needs HOST[:PORT]");
  CHECK_FALSE(parse({"--threads", "many"}, &error));
  CHECK(error == "--threads expects a number 0-256, got \"many\"");
  CHECK_FALSE(parse({"--config"}, &error));
  CHECK(error == "--config needs a value");
  CHECK_FALSE(parse({"--bogus"}, &error));
  CHECK(error == "unexpected argument \"--bogus\" (see fqdngate --help)");
  CHECK_FALSE(parse({"check", "--config", "p.yaml", "--listen", "x"}, &error));
}

TEST_CASE("--help and --version win wherever they appear", "[cli]") {
  CHECK(parse({"check", "--help"})->command == Command::help);
  CHECK(parse({"--version"})->command == Command::version);
  CHECK(parse({"print-default"})->command == Command::print_default);
}

TEST_CASE("endpoints print as the audit log writes them, at every width", "[cli]") {
  namespace ip = boost::asio::ip;
  CHECK(endpoint_text({ip::make_address("0.0.0.0"), 0}) == "0.0.0.0:0");
  CHECK(endpoint_text({ip::make_address("255.255.255.255"), 65535}) == "255.255.255.255:65535");
  CHECK(endpoint_text({ip::make_address("10.20.100.9"), 8080}) == "10.20.100.9:8080");
  CHECK(endpoint_text({ip::make_address("::ffff:192.0.2.1"), 443}) == "[::ffff:192.0.2.1]:443");
  CHECK(endpoint_text({ip::make_address("2001:db8::1"), 3128}) == "[2001:db8::1]:3128");
}

TEST_CASE("listen addresses", "[cli]") {
  std::string why;
  auto v4 = parse_listen_address("127.0.0.1:3128", &why);
  REQUIRE(v4);
  CHECK(endpoint_text(*v4) == "127.0.0.1:3128");
  auto v6 = parse_listen_address("[::1]:0", &why);
  REQUIRE(v6);
  CHECK(endpoint_text(*v6) == "[::1]:0");
  CHECK_FALSE(parse_listen_address("::1:3128", &why));
  CHECK(why == "an IPv6 address must be written in brackets: \"[ipv6]:port\"");
  CHECK_FALSE(parse_listen_address("127.0.0.1:65536", &why));
  CHECK(why == "expected a port number 0-65535, got \"65536\"");
  CHECK_FALSE(parse_listen_address("localhost:3128", &why));
  CHECK(why == "expected an IP address, got \"localhost\"");
  CHECK_FALSE(parse_listen_address("127.0.0.1", &why));
}

TEST_CASE("passwd takes FILE USER and --pbkdf2; explain takes --as", "[cli]") {
  const auto cl = parse({"passwd", "users.passwd", "alice"});
  REQUIRE(cl);
  CHECK(cl->command == Command::passwd);
  CHECK(cl->passwd_file == "users.passwd");
  CHECK(cl->passwd_user == "alice");
  CHECK_FALSE(cl->pbkdf2);
  const auto pb = parse({"passwd", "--pbkdf2", "f", "bob"});
  REQUIRE(pb);
  CHECK(pb->pbkdf2);
  CHECK(pb->passwd_user == "bob");
  std::string error;
  CHECK_FALSE(parse({"passwd", "f"}, &error));
  CHECK(error == "passwd needs FILE USER");
  CHECK_FALSE(parse({"passwd", "f", "u", "extra"}, &error));
  CHECK(error == "unexpected argument \"extra\" (see fqdngate --help)");
  const auto ex = parse({"explain", "registry.example.com", "--as", "ci"});
  REQUIRE(ex);
  CHECK(ex->as_user == "ci");
  CHECK_FALSE(parse({"--as", "ci"}, &error));  // run has no identity to pretend
}
