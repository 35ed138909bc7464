#include "proxy/resolver.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <stdexcept>

namespace fqdngate {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
constexpr std::size_t kMaxCacheEntries = 10'000;
constexpr auto kMinTtl = 1s;
constexpr auto kMaxTtl = 300s;
}  // namespace

// A query outlives its awaiting coroutine when it times out: c-ares still owns a pointer to it
// until its callback runs, so it is shared between both.
struct Resolver::Query {
  explicit Query(asio::io_context& io) : wake(io) {}
  asio::steady_timer wake;
  bool done = false;
  int ttl_seconds = 0;
  ResolveResult result;
};

struct Resolver::Watch {
  Watch(asio::io_context& io, ares_socket_t s) : fd(s), desc(io, s) {}
  ares_socket_t fd;
  asio::posix::stream_descriptor desc;  // c-ares owns the fd: released, never closed, by us
  bool want_read = false;
  bool want_write = false;
  bool reading = false;
  bool writing = false;
};

void Resolver::global_init() {
  if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
    throw std::runtime_error("c-ares library initialisation failed");
  }
}

Resolver::Resolver(asio::io_context& io, const policy::DnsSettings& dns,
                   std::chrono::milliseconds timeout)
    : io_(io), dns_(dns), timeout_(timeout), timer_(io) {
  ares_options opts{};
  opts.sock_state_cb = &Resolver::on_socket_state;
  opts.sock_state_cb_data = this;
  // Two tries inside our own deadline, so one lost UDP packet does not fail the lookup.
  opts.timeout = static_cast<int>(std::max<std::int64_t>(timeout.count() / 2, 100));
  opts.tries = 2;
  const int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  if (const int rc = ares_init_options(&channel_, &opts, mask); rc != ARES_SUCCESS) {
    throw std::runtime_error(std::string("c-ares: ") + ares_strerror(rc));
  }
  if (!dns.servers.empty()) {
    std::string csv;
    for (const auto& s : dns.servers) {
      if (!csv.empty()) csv += ',';
      csv += s;
    }
    if (const int rc = ares_set_servers_ports_csv(channel_, csv.c_str()); rc != ARES_SUCCESS) {
      ares_destroy(channel_);
      throw std::runtime_error("dns.servers \"" + csv + "\": " + ares_strerror(rc));
    }
  }
}

Resolver::~Resolver() {
  timer_.cancel();
  ares_destroy(channel_);  // runs outstanding callbacks with ARES_EDESTRUCTION
}

void Resolver::cancel_all() {
  ares_cancel(channel_);
  update_timer();
}

asio::awaitable<ResolveResult> Resolver::resolve(std::string name) {
  if (auto it = dns_.hosts.find(name); it != dns_.hosts.end()) {
    co_return ResolveResult{ResolveStatus::ok, it->second, {}};
  }
  const auto now = std::chrono::steady_clock::now();
  if (auto it = cache_.find(name); it != cache_.end()) {
    if (it->second.expires > now)
      co_return ResolveResult{ResolveStatus::ok, it->second.addresses, {}};
    cache_.erase(it);
  }

  auto query = std::make_shared<Query>(io_);
  query->wake.expires_after(timeout_);
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // c-ares may call on_result synchronously (errors, hosts file); the holder is freed there.
  ares_getaddrinfo(channel_, name.c_str(), nullptr, &hints, &Resolver::on_result,
                   new std::shared_ptr<Query>(query));
  update_timer();
  if (!query->done) {
    auto token = asio::as_tuple(asio::use_awaitable);
    co_await query->wake.async_wait(token);
  }
  if (!query->done) {
    co_return ResolveResult{ResolveStatus::timeout, {}, "no answer within the DNS timeout"};
  }
  if (query->result.status == ResolveStatus::ok) {
    if (cache_.size() >= kMaxCacheEntries) cache_.clear();
    const auto ttl = std::clamp<std::chrono::seconds>(std::chrono::seconds(query->ttl_seconds),
                                                      kMinTtl, kMaxTtl);
    cache_[name] = CacheEntry{query->result.addresses, now + ttl};
  }
  co_return std::move(query->result);
}

void Resolver::on_result(void* arg, int status, int /*timeouts*/, struct ares_addrinfo* res) {
  std::unique_ptr<std::shared_ptr<Query>> holder(static_cast<std::shared_ptr<Query>*>(arg));
  Query& q = **holder;
  q.done = true;
  if (status == ARES_SUCCESS && res != nullptr) {
    int ttl = static_cast<int>(kMaxTtl.count());
    for (auto* node = res->nodes; node != nullptr; node = node->ai_next) {
      if (node->ai_family == AF_INET) {
        const auto* sa = reinterpret_cast<const sockaddr_in*>(node->ai_addr);
        asio::ip::address_v4::bytes_type b;
        std::memcpy(b.data(), &sa->sin_addr, 4);
        q.result.addresses.emplace_back(asio::ip::address_v4(b));
      } else if (node->ai_family == AF_INET6) {
        const auto* sa = reinterpret_cast<const sockaddr_in6*>(node->ai_addr);
        asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), &sa->sin6_addr, 16);
        q.result.addresses.emplace_back(asio::ip::address_v6(b));
      }
      ttl = std::min(ttl, node->ai_ttl);
    }
    q.ttl_seconds = ttl;
    q.result.status = q.result.addresses.empty() ? ResolveStatus::not_found : ResolveStatus::ok;
    if (q.result.addresses.empty()) q.result.detail = "no addresses";
  } else if (status == ARES_ENOTFOUND || status == ARES_ENODATA || status == ARES_ENONAME) {
    q.result.status = ResolveStatus::not_found;
    q.result.detail = ares_strerror(status);
  } else if (status == ARES_ETIMEOUT) {
    q.result.status = ResolveStatus::timeout;
    q.result.detail = ares_strerror(status);
  } else if (status == ARES_ECANCELLED || status == ARES_EDESTRUCTION) {
    q.result.status = ResolveStatus::cancelled;
    q.result.detail = ares_strerror(status);
  } else {
    q.result.status = ResolveStatus::failure;
    q.result.detail = ares_strerror(status);
  }
  if (res != nullptr) ares_freeaddrinfo(res);
  q.wake.cancel();
}

void Resolver::on_socket_state(void* self, ares_socket_t fd, int readable, int writable) {
  static_cast<Resolver*>(self)->watch(fd, readable != 0, writable != 0);
}

void Resolver::watch(ares_socket_t fd, bool readable, bool writable) {
  auto it = watches_.find(fd);
  if (!readable && !writable) {
    if (it != watches_.end()) {
      it->second->want_read = it->second->want_write = false;
      it->second->desc.release();  // cancels our waits; c-ares closes the fd itself
      watches_.erase(it);
    }
    return;
  }
  if (it == watches_.end()) it = watches_.emplace(fd, std::make_shared<Watch>(io_, fd)).first;
  it->second->want_read = readable;
  it->second->want_write = writable;
  arm(it->second);
}

void Resolver::arm(const std::shared_ptr<Watch>& w) {
  auto still_watched = [this](const std::shared_ptr<Watch>& x) {
    auto it = watches_.find(x->fd);
    return it != watches_.end() && it->second == x;
  };
  if (w->want_read && !w->reading) {
    w->reading = true;
    w->desc.async_wait(asio::posix::stream_descriptor::wait_read,
                       [this, w, still_watched](boost::system::error_code ec) {
                         w->reading = false;
                         if (ec || !w->want_read || !still_watched(w)) return;
                         ares_process_fd(channel_, w->fd, ARES_SOCKET_BAD);
                         if (still_watched(w)) arm(w);
                         update_timer();
                       });
  }
  if (w->want_write && !w->writing) {
    w->writing = true;
    w->desc.async_wait(asio::posix::stream_descriptor::wait_write,
                       [this, w, still_watched](boost::system::error_code ec) {
                         w->writing = false;
                         if (ec || !w->want_write || !still_watched(w)) return;
                         ares_process_fd(channel_, ARES_SOCKET_BAD, w->fd);
                         if (still_watched(w)) arm(w);
                         update_timer();
                       });
  }
}

void Resolver::update_timer() {
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) {
    timer_.cancel();
    return;
  }
  timer_.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    update_timer();
  });
}

}  // namespace fqdngate
