// Argument parsing for `fqdngate [run] | check | explain | print-default | passwd`.
// Contract: pure; never exits or prints. An error string is fit for "fqdngate: <error>".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fqdngate {

enum class Command { run, check, explain, print_default, passwd, help, version };

struct CommandLine {
  Command command = Command::run;
  std::optional<std::string> config;
  std::vector<std::string> listen;  // --listen, repeatable; overrides the policy's listen:
  std::optional<unsigned> threads;
  std::optional<std::string> user;  // run: drop to this user after binding
  std::string target;               // explain: HOST[:PORT]
  std::optional<std::string> sni;
  std::optional<std::string> client;
  std::optional<std::string> as_user;  // explain: identity for users: scopes
  std::string passwd_file;             // passwd: FILE USER [--pbkdf2]
  std::string passwd_user;
  bool pbkdf2 = false;
};

std::optional<CommandLine> parse_command_line(const std::vector<std::string_view>& args,
                                              std::string& error);

std::string_view usage_text() noexcept;

}  // namespace fqdngate
