// The shared outcome of the incremental parsers.
#pragma once

#include <cstddef>

namespace fqdngate {

enum class ParseStatus { need_more, done, error };

struct FeedResult {
  ParseStatus status = ParseStatus::need_more;
  std::size_t consumed = 0;  // bytes of the fed chunk that belong to the parsed message
};

}  // namespace fqdngate
