// Typed reads from a yaml-cpp tree for the policy loader. Every failure throws a PolicyError
// naming FILE:LINE:COLUMN (1-based) of the offending node, the key path ("allow[2].ports[0]")
// and what was expected versus found. Internal to the loader.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.hpp"

namespace fqdngate::policy::yaml {

// One "key: value" entry of a mapping. `at` is where an error about the value points: the value
// itself, or the key when the value is a dangling null (whose mark is the next token).
struct Field {
  std::string key;
  std::string path;  // parent path + key
  YAML::Node value;
  YAML::Node at;
};

std::string child_path(std::string_view parent, std::string_view key);
std::string index_path(std::string_view parent, std::size_t index);
// How a node reads in "got ...": "\"http\"", "a list", "a mapping", "null".
std::string describe(const YAML::Node& n);
// The choice within edit distance 2 of `word` (and not equal to it), or "" if none.
std::string_view closest(std::string_view word, std::initializer_list<std::string_view> choices);

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}
  const std::string& file() const noexcept { return file_; }
  SourceRef where(const YAML::Node& n) const;

  [[noreturn]] void fail(const YAML::Node& at, std::string_view path,
                         std::string_view message) const;
  [[noreturn]] void fail(const SourceRef& at, std::string_view path,
                         std::string_view message) const;
  // "PATH: expected WHAT, got DESCRIBE(at)".
  [[noreturn]] void expected(const YAML::Node& at, std::string_view path,
                             std::string_view what) const;

  // The entries of mapping `n` in document order; unknown or repeated keys are errors.
  std::vector<Field> fields(const YAML::Node& n, std::string_view path,
                            std::initializer_list<std::string_view> allowed,
                            std::string_view what = "a mapping") const;
  // The items of sequence `n`; `what` names the expected list ("a list of host patterns").
  std::vector<YAML::Node> items(const YAML::Node& n, std::string_view path,
                                std::string_view what) const;
  bool boolean(const YAML::Node& n, std::string_view path) const;
  // A non-empty scalar.
  std::string text(const YAML::Node& n, std::string_view path, std::string_view what) const;
  // A file path: relative paths are taken from the policy file's directory, so a policy and the
  // files it names can move together.
  std::string path(const YAML::Node& n, std::string_view path, std::string_view what) const;
  // The scalar text, or "" for any other node (for keyword choices checked by the caller).
  std::string scalar_or_empty(const YAML::Node& n) const { return n.IsScalar() ? n.Scalar() : ""; }
  // A decimal integer in [lo, hi]; `what` is e.g. "a port number 1-65535".
  std::uint64_t integer(const YAML::Node& n, std::string_view path, std::uint64_t lo,
                        std::uint64_t hi, std::string_view what) const;
  // A non-empty list of distinct ports 1-65535.
  std::vector<std::uint16_t> ports(const YAML::Node& n, std::string_view path) const;

 private:
  std::string file_;
};

}  // namespace fqdngate::policy::yaml
