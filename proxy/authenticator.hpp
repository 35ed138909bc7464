// Checks Basic proxy credentials against auth.credentials without blocking an I/O thread.
// Contract: the slow password hash runs on a small pool shared by all workers, at most
// `max_pending` at once (more answer `busy`, so a flood of guesses cannot queue unbounded work).
// A successful check is remembered by the worker for kRememberFor under a keyed digest of
// user and password (never the password itself), so a client opening many tunnels pays the slow
// hash once. An unknown user costs as much as a wrong password.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "policy/credentials.hpp"
#include "proxy/proxy_authorization.hpp"

namespace fqdngate {

class PasswordCheckPool {
 public:
  PasswordCheckPool(unsigned threads, std::size_t max_pending);
  ~PasswordCheckPool();  // joins: no check outlives the pool

  boost::asio::thread_pool& pool() noexcept { return pool_; }
  bool try_begin() noexcept;  // false when max_pending checks are running or queued
  void end() noexcept;
  const std::array<std::uint8_t, 32>& secret() const noexcept { return secret_; }

 private:
  boost::asio::thread_pool pool_;
  std::atomic<std::size_t> pending_{0};
  const std::size_t max_pending_;
  std::array<std::uint8_t, 32> secret_{};  // random per process: keys the remembered checks
};

class Authenticator {
 public:
  enum class Result { ok, failed, busy };
  static constexpr auto kRememberFor = std::chrono::minutes(5);
  static constexpr std::size_t kMaxRemembered = 4096;

  Authenticator(std::shared_ptr<const policy::Credentials> credentials, PasswordCheckPool& pool);

  // Completes on the caller's executor.
  boost::asio::awaitable<Result> check(const BasicCredentials& c);

 private:
  std::string digest(const BasicCredentials& c) const;
  void remember(std::string key);

  std::shared_ptr<const policy::Credentials> credentials_;
  PasswordCheckPool& pool_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> remembered_;
};

}  // namespace fqdngate
