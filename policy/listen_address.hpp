// "ip:port" / "[v6]:port" text <-> endpoints: the one grammar of --listen, `listen:` and log lines.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace fqdngate {

// Port 0 is accepted (an ephemeral port, for tests). On failure returns nullopt and sets `why`.
std::optional<boost::asio::ip::tcp::endpoint> parse_listen_address(std::string_view text,
                                                                   std::string* why);

// "127.0.0.1:3128", "[::1]:3128".
std::string endpoint_text(const boost::asio::ip::tcp::endpoint& e);

}  // namespace fqdngate
