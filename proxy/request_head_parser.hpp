// Pure, incremental HTTP/1.x request-head parser.
// Contract: feed() any split of the byte stream; it returns need_more until the blank line that
// ends the head, then done with `consumed` = bytes of the last chunk that belong to the head (the
// rest, e.g. an early TLS ClientHello, is the caller's). After done or error, feed() must not be
// called again. The parser never holds more than max_bytes of head, and does no I/O.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/parse_status.hpp"

namespace fqdngate {

struct RequestHead {
  std::string method;     // case-sensitive token as sent ("CONNECT")
  std::string target;     // request-target as sent ("api.prefect.cloud:443")
  int version_minor = 1;  // HTTP/1.<minor>
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent, values trimmed
  // First value of a header, case-insensitive name; empty view when absent.
  std::string_view header(std::string_view name) const noexcept;
  // How many header lines carry `name` (case-insensitive).
  std::size_t count(std::string_view name) const noexcept;
};

enum class HeadError {
  none,
  too_large,         // head exceeds max_bytes
  bad_request_line,  // not "METHOD SP target SP HTTP/1.x", or a bare CR/LF in it
  bad_version,       // not HTTP/1.0 or HTTP/1.1
  bad_header,        // header line without ':', bad name token, obs-fold, bare CR, NUL
  too_many_headers,  // more than max_headers lines
};

class RequestHeadParser {
 public:
  explicit RequestHeadParser(std::size_t max_bytes = 16 * 1024, std::size_t max_headers = 100);

  FeedResult feed(std::span<const char> chunk);

  const RequestHead& head() const noexcept { return head_; }
  // Moves the parsed head out; the parser is done with it once feed() returned done.
  RequestHead take_head() noexcept { return std::move(head_); }
  HeadError error() const noexcept { return error_; }
  std::string_view error_detail() const noexcept { return detail_; }  // for the 400 body

 private:
  FeedResult fail(HeadError e, std::string detail, std::size_t consumed);
  bool set_error(HeadError e, std::string detail);
  HeadError line_end_error() const noexcept;
  bool finish_line();
  bool request_line(std::string_view line);
  bool header_line(std::string_view line);

  std::size_t max_bytes_;
  std::size_t max_headers_;
  std::size_t total_ = 0;  // bytes of head seen so far, CRLFs included
  std::string line_;       // the current line without its CRLF; bounded by max_bytes_
  bool pending_cr_ = false;
  bool first_line_done_ = false;
  bool done_ = false;
  RequestHead head_;
  HeadError error_ = HeadError::none;
  std::string detail_;
};

}  // namespace fqdngate
