// Argument parsing for `fqdngate [run] | check | explain | print-default`.
// Contract: pure; never exits or prints. An error string is fit for "fqdngate: <error>".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fqdngate {

enum class Command { run, check, explain, print_default, help, version };

struct CommandLine {
  Command command = Command::run;
  std::optional<std::string> config;
  std::vector<std::string> listen;  // --listen, repeatable; overrides the policy's listen:
  std::optional<unsigned> threads;
  std::optional<std::string> user;  // run: drop to this user after binding
  std::string target;               // explain: HOST[:PORT]
  std::optional<std::string> sni;
  std::optional<std::string> client;
};

std::optional<CommandLine> parse_command_line(const std::vector<std::string_view>& args,
                                              std::string& error);

std::string_view usage_text() noexcept;

}  // namespace fqdngate
