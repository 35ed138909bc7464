#include "proxy/request_head_parser.hpp"

#include <algorithm>
#include <cstring>

namespace fqdngate {

namespace {

// RFC 9110 tchar.
bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// Field values: VCHAR, obs-text, SP, HTAB. No NUL, CR, LF or other controls.
bool is_field_value_char(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view RequestHead::header(std::string_view name) const noexcept {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return {};
}

std::size_t RequestHead::count(std::string_view name) const noexcept {
  return static_cast<std::size_t>(std::count_if(
      headers.begin(), headers.end(), [name](const auto& h) { return iequals(h.first, name); }));
}

RequestHeadParser::RequestHeadParser(std::size_t max_bytes, std::size_t max_headers)
    : max_bytes_(max_bytes), max_headers_(max_headers) {}

FeedResult RequestHeadParser::feed(std::span<const char> chunk) {
  std::size_t i = 0;
  while (i < chunk.size()) {
    if (pending_cr_) {
      if (++total_ > max_bytes_) {
        return fail(HeadError::too_large, "request head larger than the limit", i + 1);
      }
      pending_cr_ = false;
      if (chunk[i++] != '\n') return fail(line_end_error(), "bare CR in the request head", i);
      if (!finish_line()) return FeedResult{ParseStatus::error, i};
      if (done_) return FeedResult{ParseStatus::done, i};
      continue;
    }
    // Copy the run of line bytes up to the next CR or LF at once (a byte-at-a-time loop cost
    // some 28 instructions a byte). The size limit still falls on the exact byte that crosses
    // it.
    const char* start = chunk.data() + i;
    const std::size_t avail = chunk.size() - i;
    const auto* cr = static_cast<const char*>(std::memchr(start, '\r', avail));
    const std::size_t before_cr = cr == nullptr ? avail : static_cast<std::size_t>(cr - start);
    const auto* lf = static_cast<const char*>(std::memchr(start, '\n', before_cr));
    const std::size_t run = lf == nullptr ? before_cr : static_cast<std::size_t>(lf - start);
    if (run > max_bytes_ - total_) {
      return fail(HeadError::too_large, "request head larger than the limit",
                  i + (max_bytes_ - total_) + 1);
    }
    line_.append(start, run);
    total_ += run;
    i += run;
    if (i == chunk.size()) break;
    if (++total_ > max_bytes_) {
      return fail(HeadError::too_large, "request head larger than the limit", i + 1);
    }
    if (chunk[i++] == '\n') return fail(line_end_error(), "bare LF in the request head", i);
    pending_cr_ = true;
  }
  return FeedResult{ParseStatus::need_more, chunk.size()};
}

// Line ends other than CRLF are refused outright: parsers that disagree on them are how requests
// get smuggled past a proxy.
HeadError RequestHeadParser::line_end_error() const noexcept {
  return first_line_done_ ? HeadError::bad_header : HeadError::bad_request_line;
}

FeedResult RequestHeadParser::fail(HeadError e, std::string detail, std::size_t consumed) {
  error_ = e;
  detail_ = std::move(detail);
  return FeedResult{ParseStatus::error, consumed};
}

bool RequestHeadParser::finish_line() {
  const std::string_view line = line_;
  bool ok = first_line_done_ ? header_line(line) : request_line(line);
  first_line_done_ = true;
  line_.clear();
  return ok;
}

bool RequestHeadParser::request_line(std::string_view line) {
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.find(' ', sp2 + 1) != std::string_view::npos) {
    return set_error(HeadError::bad_request_line,
                     "expected \"METHOD target HTTP/1.1\" as the request line");
  }
  const auto method = line.substr(0, sp1);
  const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = line.substr(sp2 + 1);
  if (!is_token(method)) return set_error(HeadError::bad_request_line, "bad method token");
  if (target.empty() || std::any_of(target.begin(), target.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u >= 0x7f;
      })) {
    return set_error(HeadError::bad_request_line, "bad request target");
  }
  if (version == "HTTP/1.1") {
    head_.version_minor = 1;
  } else if (version == "HTTP/1.0") {
    head_.version_minor = 0;
  } else {
    return set_error(HeadError::bad_version, "only HTTP/1.0 and HTTP/1.1 are supported");
  }
  head_.method = std::string(method);
  head_.target = std::string(target);
  return true;
}

bool RequestHeadParser::header_line(std::string_view line) {
  const std::size_t number = head_.headers.size() + 1;
  if (line.empty()) {
    done_ = true;
    return true;
  }
  if (line.front() == ' ' || line.front() == '\t') {
    return set_error(HeadError::bad_header,
                     "header line " + std::to_string(number) + " is a folded continuation");
  }
  if (head_.headers.size() >= max_headers_) {
    return set_error(HeadError::too_many_headers,
                     "more than " + std::to_string(max_headers_) + " header lines");
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    return set_error(HeadError::bad_header,
                     "header line " + std::to_string(number) + " has no ':'");
  }
  const auto name = line.substr(0, colon);
  if (!is_token(name)) {
    return set_error(HeadError::bad_header,
                     "header line " + std::to_string(number) + " has a bad field name");
  }
  const auto value = line.substr(colon + 1);
  if (!std::all_of(value.begin(), value.end(), is_field_value_char)) {
    return set_error(HeadError::bad_header,
                     "header line " + std::to_string(number) + " has a control character");
  }
  head_.headers.emplace_back(std::string(name), std::string(trim(value)));
  return true;
}

bool RequestHeadParser::set_error(HeadError e, std::string detail) {
  error_ = e;
  detail_ = std::move(detail);
  return false;
}

}  // namespace fqdngate
