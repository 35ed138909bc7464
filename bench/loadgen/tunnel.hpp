// One client connection of the load generator: the steps of opening a tunnel (TCP connect,
// CONNECT and its 200, ClientHello, optionally its echo) and of closing it (half-close, wait
// for the peer's EOF), each under a deadline that closes the socket when it expires.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace loadgen {

namespace asio = boost::asio;
using asio::ip::tcp;

// Where a tunnel failed; `timeout` wins over the step that was cut short.
enum class Failure { none, connect, head, status, hello, echo, close, timeout, count };
const char* failure_name(Failure f);

struct Plan {
  tcp::endpoint connect_to;                // the proxy, or the origin/relay when direct
  bool via_connect = true;                 // send CONNECT and require 200 first
  std::string connect_request;             // "CONNECT name:port HTTP/1.1\r\n..."
  std::vector<unsigned char> hello;        // sent after the 200 (or right away when direct)
  std::chrono::milliseconds step_timeout;  // deadline for opening, and for closing
};

struct Conn {
  explicit Conn(const asio::any_io_executor& ex) : sock(ex), timer(ex) {}
  tcp::socket sock;
  asio::steady_timer timer;
  bool timed_out = false;
  // When open_tunnel finished each step (`replied` is `connected` when there is no CONNECT), so
  // the setup scenario can say in which step a slow tunnel lost its time.
  std::chrono::steady_clock::time_point connected, replied, echoed;
};
using ConnPtr = std::shared_ptr<Conn>;

// The socket is closed when `d` passes, unless disarm() or another arm() comes first.
void arm(const ConnPtr& c, std::chrono::steady_clock::duration d);
void disarm(const ConnPtr& c);

// Connects, sends CONNECT and reads a 200 head (via_connect), writes the hello and, with
// `read_echo`, reads as many bytes back and compares them with it. Deadline: step_timeout.
// On failure the socket is closed.
asio::awaitable<Failure> open_tunnel(ConnPtr c, const Plan& plan, bool read_echo);

// Half-closes, discards what still arrives until EOF, closes. Deadline: step_timeout.
asio::awaitable<Failure> close_tunnel(ConnPtr c, const Plan& plan);

}  // namespace loadgen
