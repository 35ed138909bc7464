#include "policy/yaml_reader.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "policy/loader.hpp"

namespace fqdngate::policy::yaml {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string join(std::initializer_list<std::string_view> words) {
  std::string out;
  for (const auto w : words) {
    if (!out.empty()) out += ", ";
    out += w;
  }
  return out;
}

}  // namespace

std::string child_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return std::string(parent) + "." + std::string(key);
}

std::string index_path(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence:
      return n.size() == 0 ? "an empty list" : "a list";
    case YAML::NodeType::Map:
      return n.size() == 0 ? "an empty mapping" : "a mapping";
    case YAML::NodeType::Scalar: {
      constexpr std::size_t kMax = 60;
      const std::string& s = n.Scalar();
      std::string out = "\"";
      for (const char c : s.substr(0, kMax)) {
        if (c == '"' || c == '\\') out += '\\';
        out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
      }
      if (s.size() > kMax) out += "...";
      return out + "\"";
    }
    default:
      return "null";
  }
}

std::string_view closest(std::string_view word, std::initializer_list<std::string_view> choices) {
  std::string_view best;
  std::size_t best_distance = 3;
  for (const auto c : choices) {
    const std::size_t d = edit_distance(word, c);
    if (d != 0 && d < best_distance && d < c.size()) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

SourceRef Reader::where(const YAML::Node& n) const {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return SourceRef{file_, 0, 0};
  return SourceRef{file_, m.line + 1, m.column + 1};
}

void Reader::fail(const YAML::Node& at, std::string_view path, std::string_view message) const {
  fail(where(at), path, message);
}

void Reader::fail(const SourceRef& at, std::string_view path, std::string_view message) const {
  std::string text = path.empty() ? "" : std::string(path) + ": ";
  text += message;
  throw PolicyError(file_, at.line, at.column, text);
}

void Reader::expected(const YAML::Node& at, std::string_view path, std::string_view what) const {
  fail(at, path, "expected " + std::string(what) + ", got " + describe(at));
}

std::vector<Field> Reader::fields(const YAML::Node& n, std::string_view path,
                                  std::initializer_list<std::string_view> allowed,
                                  std::string_view what) const {
  if (!n.IsMap()) expected(n, path, what);
  std::vector<Field> out;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) expected(key, path, "a key name");
    const std::string& name = key.Scalar();
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string message = "unknown key '" + name + "'";
      if (const auto guess = closest(name, allowed); !guess.empty()) {
        message += ", did you mean '" + std::string(guess) + "'?";
      }
      fail(key, path, message + " (expected one of: " + join(allowed) + ")");
    }
    for (const auto& f : out) {
      if (f.key == name) fail(key, path, "key '" + name + "' appears twice");
    }
    const YAML::Node value = it->second;
    // "key:" with nothing after it: yaml-cpp marks the null at the next token, lines below.
    const bool dangling = value.IsNull() && value.Mark().line != key.Mark().line;
    out.push_back(Field{name, child_path(path, name), value, dangling ? key : value});
  }
  return out;
}

std::vector<YAML::Node> Reader::items(const YAML::Node& n, std::string_view path,
                                      std::string_view what) const {
  if (!n.IsSequence()) expected(n, path, what);
  std::vector<YAML::Node> out;
  for (const auto& item : n)
    out.push_back(item);
  return out;
}

bool Reader::boolean(const YAML::Node& n, std::string_view path) const {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  expected(n, path, "true or false");
}

std::string Reader::text(const YAML::Node& n, std::string_view path, std::string_view what) const {
  if (!n.IsScalar() || n.Scalar().empty()) expected(n, path, what);
  return n.Scalar();
}

std::string Reader::path(const YAML::Node& n, std::string_view key_path,
                         std::string_view what) const {
  std::filesystem::path p(text(n, key_path, what));
  // "<default>" and other pseudo-names have no directory.
  if (p.is_relative() && !file_.starts_with('<')) {
    p = std::filesystem::path(file_).parent_path() / p;
  }
  return p.lexically_normal().string();
}

std::uint64_t Reader::integer(const YAML::Node& n, std::string_view path, std::uint64_t lo,
                              std::uint64_t hi, std::string_view what) const {
  if (!n.IsScalar()) expected(n, path, what);
  const std::string& s = n.Scalar();
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v < lo || v > hi) {
    expected(n, path, what);
  }
  return v;
}

std::vector<std::uint16_t> Reader::ports(const YAML::Node& n, std::string_view path) const {
  const auto list = items(n, path, "a list of port numbers");
  if (list.empty()) expected(n, path, "at least one port (leave ports out for the default)");
  std::vector<std::uint16_t> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string item_path = index_path(path, i);
    const auto port =
        static_cast<std::uint16_t>(integer(list[i], item_path, 1, 65535, "a port number 1-65535"));
    if (std::find(out.begin(), out.end(), port) != out.end()) {
      fail(list[i], item_path, "port " + std::to_string(port) + " is listed twice");
    }
    out.push_back(port);
  }
  return out;
}

}  // namespace fqdngate::policy::yaml
