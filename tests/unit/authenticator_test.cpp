// The authenticator on a real io_context and pool: verdicts, the remembered success, and the
// cap on checks in flight.
#include "proxy/authenticator.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <vector>

namespace asio = boost::asio;
using fqdngate::Authenticator;
using fqdngate::BasicCredentials;
using fqdngate::PasswordCheckPool;
using fqdngate::policy::Credentials;
using fqdngate::policy::HashScheme;

namespace {

// Runs the checks one after another on one io_context, like one worker's sessions.
std::vector<Authenticator::Result> run_checks(Authenticator& auth,
                                              const std::vector<BasicCredentials>& attempts) {
  asio::io_context io(1);
  std::vector<Authenticator::Result> results;
  auto all = [&]() -> asio::awaitable<void> {
    for (const auto& a : attempts) {
      auto check = auth.check(a);
      results.push_back(co_await std::move(check));
    }
  };
  std::promise<void> finished;
  asio::co_spawn(io, all(), [&](std::exception_ptr e) {
    if (e) {
      finished.set_exception(e);
    } else {
      finished.set_value();
    }
  });
  io.run();
  finished.get_future().get();
  return results;
}

std::shared_ptr<const Credentials> users() {
  return std::make_shared<const Credentials>(Credentials::parse(
      fqdngate::policy::make_credentials_line("alice", "right", HashScheme::pbkdf2_sha256) + "\n"));
}

}  // namespace

TEST_CASE("the authenticator accepts the right password only", "[auth]") {
  PasswordCheckPool pool(1, 8);
  Authenticator auth(users(), pool);
  using R = Authenticator::Result;
  const auto results = run_checks(auth, {{"alice", "right"},
                                         {"alice", "wrong"},
                                         {"mallory", "right"},
                                         {"alice", "right"},
                                         {"alice", ""}});
  CHECK(results == std::vector<R>{R::ok, R::failed, R::failed, R::ok, R::failed});
}

TEST_CASE("no check is queued beyond the pool's cap; a remembered success needs none", "[auth]") {
  using R = Authenticator::Result;
  PasswordCheckPool pool(1, 1);
  Authenticator auth(users(), pool);
  CHECK(run_checks(auth, {{"alice", "right"}}) == std::vector<R>{R::ok});

  // Hold the only slot, as a slow check in flight would.
  REQUIRE(pool.try_begin());
  CHECK_FALSE(pool.try_begin());
  // The remembered success needs no slot; anything else must wait for one and is told to retry.
  CHECK(run_checks(auth, {{"alice", "right"}, {"alice", "Right"}, {"bob", "right"}}) ==
        std::vector<R>{R::ok, R::busy, R::busy});
  pool.end();
  CHECK(run_checks(auth, {{"alice", "Right"}}) == std::vector<R>{R::failed});
}
