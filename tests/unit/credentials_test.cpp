#include <catch2/catch.hpp>

#include <string>

#include "policy/credentials.hpp"

using fqdngate::policy::Credentials;
using fqdngate::policy::CredentialsError;
using fqdngate::policy::HashScheme;
using fqdngate::policy::invalid_user_name;
using fqdngate::policy::make_credentials_line;
using fqdngate::policy::verify_password;

namespace {

int error_line(const std::string& text) {
  try {
    (void)Credentials::parse(text);
  } catch (const CredentialsError& e) {
    return e.line();
  }
  return 0;
}

std::string error_text(const std::string& text) {
  try {
    (void)Credentials::parse(text);
  } catch (const CredentialsError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a written entry verifies its password and nothing else", "[credentials]") {
  for (const auto scheme : {HashScheme::scrypt, HashScheme::pbkdf2_sha256}) {
    const std::string line = make_credentials_line("alice", "correct horse", scheme);
    CHECK(line.starts_with(scheme == HashScheme::scrypt ? "alice:$scrypt$ln=15,r=8,p=1$"
                                                        : "alice:$pbkdf2-sha256$i=600000$"));
    const auto c = Credentials::parse("# users\n\n" + line + "\n");
    REQUIRE(c.size() == 1);
    const auto* hash = c.find("alice");
    REQUIRE(hash != nullptr);
    CHECK(verify_password(*hash, "correct horse"));
    CHECK_FALSE(verify_password(*hash, "correct hors"));
    CHECK_FALSE(verify_password(*hash, "correct horse "));
    CHECK_FALSE(verify_password(*hash, ""));
    CHECK(c.find("Alice") == nullptr);
    CHECK(c.find("bob") == nullptr);
  }
}

TEST_CASE("two entries for one password differ: every entry has its own salt", "[credentials]") {
  const auto a = make_credentials_line("a", "pw", HashScheme::pbkdf2_sha256);
  const auto b = make_credentials_line("a", "pw", HashScheme::pbkdf2_sha256);
  CHECK(a != b);
}

TEST_CASE("credentials file errors name the line and what is wrong", "[credentials]") {
  const std::string good = "alice:$pbkdf2-sha256$i=10000$c2FsdHNhbHQ=$MDEyMzQ1Njc4OWFiY2RlZg==\n";
  CHECK(error_line(good) == 0);
  CHECK(error_line("\n# c\n" + good + "nocolon\n") == 4);
  CHECK(error_text("nocolon") == "expected NAME:HASH");
  CHECK(error_text(good + good) == "user alice is listed twice");
  CHECK(error_text("bob:$md5$x$y$z") ==
        "user bob: unknown hash scheme 'md5' (scrypt or pbkdf2-sha256)");
  CHECK(error_text("bob:plaintext").starts_with("user bob: expected $scrypt$"));
  CHECK(error_text(":$pbkdf2-sha256$i=10000$c2FsdHNhbHQ=$MDEyMzQ1Njc4OWFiY2RlZg==") ==
        "bad user name: a user name cannot be empty");
  // Parameters that would make one check take minutes or gigabytes are refused.
  CHECK(error_text("bob:$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ=$MDEyMzQ1Njc4OWFiY2RlZg==")
            .starts_with("user bob: scrypt parameters out of range"));
  CHECK(error_text("bob:$pbkdf2-sha256$i=1$c2FsdHNhbHQ=$MDEyMzQ1Njc4OWFiY2RlZg==")
            .starts_with("user bob: pbkdf2-sha256 needs i=N"));
  CHECK(error_text("bob:$pbkdf2-sha256$i=10000$!!!!$MDEyMzQ1Njc4OWFiY2RlZg==") ==
        "user bob: salt must be base64, 8+ bytes");
  CHECK(error_text("bob:$pbkdf2-sha256$i=10000$c2FsdHNhbHQ=$c2hvcnQ=") ==
        "user bob: hash must be base64, 16-64 bytes");
  // Windows line endings are tolerated.
  CHECK(error_line(good.substr(0, good.size() - 1) + "\r\n") == 0);
}

TEST_CASE("user names are visible ASCII without ':'", "[credentials]") {
  CHECK_FALSE(invalid_user_name("build-runner"));
  CHECK_FALSE(invalid_user_name("svc.account@corp"));
  CHECK(invalid_user_name(""));
  CHECK(invalid_user_name("a:b"));
  CHECK(invalid_user_name("a b"));
  CHECK(invalid_user_name("a\nb"));
  CHECK(invalid_user_name("caf\xc3\xa9"));
  CHECK(invalid_user_name(std::string(65, 'u')));
  CHECK_FALSE(invalid_user_name(std::string(64, 'u')));
}
