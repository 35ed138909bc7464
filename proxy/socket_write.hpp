// Writing a whole buffer to a TCP socket from a session's coroutine.
// Contract: like asio::async_write with as_tuple (the error, if any, and the bytes written), but
// it first sends what it can at once with one non-blocking send(): a 200 reply or a forwarded
// ClientHello nearly always fits the socket's empty send buffer, and finishing in the caller's
// handler saves Asio's write operation and a turn of the worker's queue (Boost 1.81's Asio posts
// even a write that completed at once). Only the rest, if any, waits for writability. Never
// raises SIGPIPE. Runs on the socket's executor, like the async_write it stands for.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <tuple>

namespace fqdngate {

boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> write_all(
    boost::asio::ip::tcp::socket& socket, boost::asio::const_buffer buffer);

}  // namespace fqdngate
