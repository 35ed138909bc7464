#include "proxy/authenticator.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

namespace fqdngate {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// Runs the slow check on the pool, completes `token` on its own executor with the verdict.
template <class Token>
auto async_verify(PasswordCheckPool& pool, std::shared_ptr<const policy::Credentials> credentials,
                  BasicCredentials c, Token&& token) {
  auto initiation = [&pool](auto handler, std::shared_ptr<const policy::Credentials> creds,
                            BasicCredentials c) {
    auto work = asio::make_work_guard(asio::get_associated_executor(handler));
    auto job = [&pool, handler = std::move(handler), work = std::move(work),
                creds = std::move(creds), c = std::move(c)]() mutable {
      bool ok = false;
      try {
        if (const auto* hash = creds->find(c.user)) {
          ok = policy::verify_password(*hash, c.password);
        } else {
          policy::burn_password_check(c.password);
        }
      } catch (const std::exception&) {
        ok = false;  // OpenSSL failure: refuse rather than guess
      }
      pool.end();
      auto executor = work.get_executor();
      asio::post(executor, [handler = std::move(handler), ok]() mutable { handler(ok); });
    };
    asio::post(pool.pool(), std::move(job));
  };
  return asio::async_initiate<Token, void(bool)>(std::move(initiation), token,
                                                 std::move(credentials), std::move(c));
}

}  // namespace

PasswordCheckPool::PasswordCheckPool(unsigned threads, std::size_t max_pending)
    : pool_(threads), max_pending_(max_pending) {
  if (RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1) {
    throw std::runtime_error("no random bytes for the credential cache key (OpenSSL)");
  }
}

PasswordCheckPool::~PasswordCheckPool() {
  pool_.join();
}

bool PasswordCheckPool::try_begin() noexcept {
  if (pending_.fetch_add(1, std::memory_order_relaxed) >= max_pending_) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void PasswordCheckPool::end() noexcept {
  pending_.fetch_sub(1, std::memory_order_relaxed);
}

Authenticator::Authenticator(std::shared_ptr<const policy::Credentials> credentials,
                             PasswordCheckPool& pool)
    : credentials_(std::move(credentials)), pool_(pool) {}

std::string Authenticator::digest(const BasicCredentials& c) const {
  std::string input(pool_.secret().begin(), pool_.secret().end());
  input += c.user;
  input.push_back('\0');
  input += c.password;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), out, &length, EVP_sha256(), nullptr) != 1) {
    length = 0;  // never remembered: an empty key is not stored
  }
  OPENSSL_cleanse(input.data(), input.size());
  return std::string(reinterpret_cast<const char*>(out), length);
}

void Authenticator::remember(std::string key) {
  if (key.empty()) return;
  const auto now = Clock::now();
  if (remembered_.size() >= kMaxRemembered) {
    std::erase_if(remembered_, [&](const auto& entry) { return entry.second <= now; });
    if (remembered_.size() >= kMaxRemembered) remembered_.clear();
  }
  remembered_[std::move(key)] = now + kRememberFor;
}

asio::awaitable<Authenticator::Result> Authenticator::check(const BasicCredentials& c) {
  auto key = digest(c);
  if (auto it = remembered_.find(key); it != remembered_.end()) {
    if (Clock::now() < it->second) co_return Result::ok;
    remembered_.erase(it);
  }
  if (!pool_.try_begin()) co_return Result::busy;
  auto verification = async_verify(pool_, credentials_, c, asio::use_awaitable);
  const bool ok = co_await std::move(verification);
  if (!ok) co_return Result::failed;
  remember(std::move(key));
  co_return Result::ok;
}

}  // namespace fqdngate
