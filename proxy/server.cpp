#include "proxy/server.hpp"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "proxy/listening_socket.hpp"
#include "proxy/session.hpp"

namespace fqdngate {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto kAcceptRetryDelay = 100ms;  // when out of descriptors: pause, never spin
constexpr int kAcceptBatch = 16;           // connections taken per wake-up of an acceptor
constexpr auto kStopGrace = 5s;
// Password checks queued or running at once; beyond this clients are told to retry (auth_busy).
constexpr std::size_t kMaxPendingPasswordChecks = 64;

bool out_of_resources(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec.value() == ENFILE ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

asio::awaitable<void> accept_loop(Worker& worker, Acceptor& a) {
  tcp::acceptor& acceptor = a.socket;
  auto token = asio::as_tuple(asio::use_awaitable);
  asio::steady_timer pause(worker.io);
  tcp::endpoint peer;  // filled by accept itself: no getpeername() per connection
  for (;;) {
    auto accept = acceptor.async_accept(peer, token);
    auto [ec, socket] = co_await std::move(accept);
    if (worker.stopping) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      if (out_of_resources(ec)) {
        std::fprintf(stderr, "fqdngate: accept: %s; pausing\n", ec.message().c_str());
        pause.expires_after(kAcceptRetryDelay);
        co_await pause.async_wait(token);
      }
      continue;
    }
    start_session(worker, std::move(socket), peer, *a.listener);
    // A burst of clients waits in the backlog: take a batch now instead of one connection per
    // trip through the worker's queue, which under load adds that queue's length to each
    // client's wait. Errors (out of descriptors included) are left to the next async_accept.
    for (int more = 1; more < kAcceptBatch && !worker.stopping; ++more) {
      boost::system::error_code batch_ec;
      auto next = acceptor.accept(peer, batch_ec);
      if (batch_ec) break;
      start_session(worker, std::move(next), peer, *a.listener);
    }
  }
}

void begin_stop(Worker& worker) {
  worker.stopping = true;
  for (auto& acceptor : worker.acceptors) {
    boost::system::error_code ignored;
    acceptor.socket.close(ignored);
  }
  stop_all_sessions(worker);
  worker.resolver.cancel_all();
}

}  // namespace

Server::Server(std::shared_ptr<const policy::Policy> policy, std::vector<Listener> listen,
               unsigned threads, AuditWriter& audit)
    : listeners_(std::make_unique<std::vector<Listener>>(std::move(listen))) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const auto& limits = policy->settings().limits;
  limiter_ = std::make_unique<ConnectionLimiter>(limits.max_connections,
                                                 limits.max_connections_per_client);
  if (policy->settings().auth) {
    // Half the cores at most: password hashing must never starve the relays.
    password_checks_ =
        std::make_unique<PasswordCheckPool>(std::max(1u, threads / 2), kMaxPendingPasswordChecks);
  }
  for (unsigned i = 0; i < threads; ++i) {
    workers_.push_back(
        std::make_unique<Worker>(i, threads, policy, audit, *limiter_, password_checks_.get()));
  }
  // The first worker resolves port 0 to a real port; the others share it through SO_REUSEPORT.
  for (auto& listener : *listeners_) {
    auto first = open_listening_socket(workers_[0]->io, listener.endpoint);
    listener.endpoint = first.local_endpoint();
    workers_[0]->acceptors.push_back(Acceptor{std::move(first), &listener});
    for (unsigned i = 1; i < threads; ++i) {
      workers_[i]->acceptors.push_back(
          Acceptor{open_listening_socket(workers_[i]->io, listener.endpoint), &listener});
    }
  }
}

void Server::run() {
  auto& control = control_;
  auto& signals = signals_;
  asio::steady_timer grace(control);
  std::atomic<unsigned> running{static_cast<unsigned>(workers_.size())};

  for (auto& w : workers_) {
    for (auto& acceptor : w->acceptors) {
      asio::co_spawn(w->io, accept_loop(*w, acceptor), asio::detached);
    }
  }
  std::vector<std::thread> threads;
  for (auto& w : workers_) {
    threads.emplace_back([&, worker = w.get()] {
      worker->io.run();
      // The last worker to finish ends the control loop.
      if (running.fetch_sub(1) == 1)
        asio::post(control, [&] {
          grace.cancel();
          signals.cancel();
        });
    });
  }

  signals.async_wait([&](boost::system::error_code ec, int signo) {
    if (ec) return;
    std::fprintf(stderr, "fqdngate: signal %d, stopping\n", signo);
    for (auto& w : workers_)
      asio::post(w->io, [worker = w.get()] { begin_stop(*worker); });
    grace.expires_after(kStopGrace);
    grace.async_wait([&](boost::system::error_code gec) {
      if (gec) return;
      std::fprintf(stderr, "fqdngate: sessions still open after the grace period; closing\n");
      for (auto& w : workers_)
        w->io.stop();
    });
  });
  control.run();
  for (auto& t : threads)
    t.join();
}

}  // namespace fqdngate
