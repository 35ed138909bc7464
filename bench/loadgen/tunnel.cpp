#include "tunnel.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <string_view>

namespace loadgen {

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxHead = 8192;

Failure fail(const ConnPtr& c, Failure f) {
  return c->timed_out ? Failure::timeout : f;
}

// "HTTP/1.x 200 ..." (or a bare "HTTP/1.x 200") as the status line.
bool is_200(std::string_view head) {
  if (head.size() < 13 || head.substr(0, 7) != "HTTP/1.") return false;
  return head.substr(8, 4) == " 200" && (head[12] == ' ' || head[12] == '\r');
}

}  // namespace

const char* failure_name(Failure f) {
  switch (f) {
    case Failure::none:
      return "none";
    case Failure::connect:
      return "connect";
    case Failure::head:
      return "head";
    case Failure::status:
      return "status";
    case Failure::hello:
      return "hello";
    case Failure::echo:
      return "echo";
    case Failure::close:
      return "close";
    case Failure::timeout:
      return "timeout";
    case Failure::count:
      break;
  }
  return "?";
}

void arm(const ConnPtr& c, std::chrono::steady_clock::duration d) {
  c->timer.expires_after(d);
  // A plain completion handler, not a coroutine: it keeps the connection alive until it runs.
  c->timer.async_wait([c](const boost::system::error_code& ec) {
    if (ec) return;
    // Re-armed after this wait had already completed: not ours to act on.
    if (c->timer.expiry() > std::chrono::steady_clock::now()) return;
    c->timed_out = true;
    boost::system::error_code ignored;
    c->sock.close(ignored);
  });
}

void disarm(const ConnPtr& c) {
  c->timer.cancel();
}

namespace {

asio::awaitable<Failure> open_steps(ConnPtr c, const Plan& plan, bool read_echo) {
  {
    auto connect = c->sock.async_connect(plan.connect_to, kNoThrow);
    auto [ec] = co_await std::move(connect);
    if (ec) co_return fail(c, Failure::connect);
  }
  c->connected = std::chrono::steady_clock::now();
  c->replied = c->connected;
  boost::system::error_code ignored;
  c->sock.set_option(tcp::no_delay(true), ignored);
  std::size_t early = 0;  // bytes after the response head: the start of the echo
  char head[kMaxHead];
  if (plan.via_connect) {
    auto write = asio::async_write(c->sock, asio::buffer(plan.connect_request), kNoThrow);
    auto [wec, n] = co_await std::move(write);
    if (wec) co_return fail(c, Failure::head);
    std::size_t have = 0;
    std::size_t end = std::string_view::npos;
    while (end == std::string_view::npos) {
      if (have == sizeof head) co_return fail(c, Failure::head);
      auto read = c->sock.async_read_some(asio::buffer(head + have, sizeof head - have), kNoThrow);
      auto [rec, got] = co_await std::move(read);
      if (rec) co_return fail(c, Failure::head);
      const std::size_t from = have >= 3 ? have - 3 : 0;
      have += got;
      const auto found = std::string_view(head + from, have - from).find("\r\n\r\n");
      if (found != std::string_view::npos) end = from + found + 4;
    }
    if (!is_200(std::string_view(head, end))) co_return fail(c, Failure::status);
    early = have - end;
    if (early > plan.hello.size()) co_return fail(c, Failure::echo);
    std::memmove(head, head + end, early);
    c->replied = std::chrono::steady_clock::now();
  }
  {
    auto write = asio::async_write(c->sock, asio::buffer(plan.hello), kNoThrow);
    auto [ec, n] = co_await std::move(write);
    if (ec) co_return fail(c, Failure::hello);
  }
  if (read_echo) {
    std::vector<unsigned char> echo(plan.hello.size());
    std::memcpy(echo.data(), head, early);
    auto read =
        asio::async_read(c->sock, asio::buffer(echo.data() + early, echo.size() - early), kNoThrow);
    auto [ec, n] = co_await std::move(read);
    if (ec || echo != plan.hello) co_return fail(c, Failure::echo);
  }
  c->echoed = std::chrono::steady_clock::now();
  co_return Failure::none;
}

}  // namespace

asio::awaitable<Failure> open_tunnel(ConnPtr c, const Plan& plan, bool read_echo) {
  arm(c, plan.step_timeout);
  auto steps = open_steps(c, plan, read_echo);
  const Failure f = co_await std::move(steps);
  disarm(c);
  if (f != Failure::none) {
    boost::system::error_code ignored;
    c->sock.close(ignored);
  }
  co_return f;
}

asio::awaitable<Failure> close_tunnel(ConnPtr c, const Plan& plan) {
  arm(c, plan.step_timeout);
  boost::system::error_code ec;
  c->sock.shutdown(tcp::socket::shutdown_send, ec);
  Failure result = Failure::none;
  if (ec) {
    result = fail(c, Failure::close);
  } else {
    char sink[16384];
    for (;;) {
      auto read = c->sock.async_read_some(asio::buffer(sink), kNoThrow);
      auto [rec, n] = co_await std::move(read);
      if (rec == asio::error::eof) break;
      if (rec) {
        result = fail(c, Failure::close);
        break;
      }
    }
  }
  disarm(c);
  c->sock.close(ec);
  co_return result;
}

}  // namespace loadgen
