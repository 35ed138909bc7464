#include "proxy/command_line.hpp"

#include <charconv>

namespace fqdngate {

std::string_view usage_text() noexcept {
  return R"(usage:
  fqdngate [--config FILE] [--listen ADDR:PORT ...] [--threads N] [--user NAME]
      run the proxy (without --config: the embedded default policy); started as root, it
      binds its listeners and opens the audit log, then runs as NAME
  fqdngate check --config FILE
      validate a policy and print what it allows and denies
  fqdngate explain [--config FILE] HOST[:PORT] [--sni NAME] [--client IP] [--as USER]
      print the decision, reason code and rule for a CONNECT, without network traffic
      (--as: the identity a rule's users: scope sees)
  fqdngate passwd [--pbkdf2] FILE USER
      read USER's password from stdin and write or replace USER's line in the credentials
      FILE (scrypt; --pbkdf2: PBKDF2-SHA256), created with mode 0600
  fqdngate print-default
      print the embedded default policy (YAML with comments)
  fqdngate --help | --version

exit status: 0 ok (explain: allowed), 1 explain: denied, 2 usage or configuration error
)";
}

std::optional<CommandLine> parse_command_line(const std::vector<std::string_view>& args,
                                              std::string& error) {
  CommandLine cl;
  std::size_t i = 0;
  if (i < args.size()) {
    const auto first = args[i];
    if (first == "run") {
      cl.command = Command::run;
      ++i;
    } else if (first == "check") {
      cl.command = Command::check;
      ++i;
    } else if (first == "explain") {
      cl.command = Command::explain;
      ++i;
    } else if (first == "print-default") {
      cl.command = Command::print_default;
      ++i;
    } else if (first == "passwd") {
      cl.command = Command::passwd;
      ++i;
    }
  }
  auto value = [&](std::string_view option) -> std::optional<std::string> {
    if (i + 1 >= args.size()) {
      error = std::string(option) + " needs a value";
      return std::nullopt;
    }
    return std::string(args[++i]);
  };
  for (; i < args.size(); ++i) {
    const auto arg = args[i];
    if (arg == "--help" || arg == "-h") {
      cl.command = Command::help;
      return cl;
    }
    if (arg == "--version") {
      cl.command = Command::version;
      return cl;
    }
    const bool runs = cl.command == Command::run;
    const bool explains = cl.command == Command::explain;
    const bool passwd = cl.command == Command::passwd;
    if (passwd) {
      if (arg == "--pbkdf2") {
        cl.pbkdf2 = true;
      } else if (!arg.starts_with("-") && cl.passwd_file.empty()) {
        cl.passwd_file = std::string(arg);
      } else if (!arg.starts_with("-") && cl.passwd_user.empty()) {
        cl.passwd_user = std::string(arg);
      } else {
        error = "unexpected argument \"" + std::string(arg) + "\" (see fqdngate --help)";
        return std::nullopt;
      }
      continue;
    }
    if (arg == "--config" && cl.command != Command::print_default) {
      auto v = value(arg);
      if (!v) return std::nullopt;
      cl.config = std::move(*v);
    } else if (arg == "--listen" && runs) {
      auto v = value(arg);
      if (!v) return std::nullopt;
      cl.listen.push_back(std::move(*v));
    } else if (arg == "--threads" && runs) {
      auto v = value(arg);
      if (!v) return std::nullopt;
      unsigned n = 0;
      const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
      if (ec != std::errc() || end != v->data() + v->size() || n > 256) {
        error = "--threads expects a number 0-256, got \"" + *v + "\"";
        return std::nullopt;
      }
      cl.threads = n;
    } else if (arg == "--user" && runs) {
      auto v = value(arg);
      if (!v) return std::nullopt;
      cl.user = std::move(*v);
    } else if (arg == "--sni" && explains) {
      auto v = value(arg);
      if (!v) return std::nullopt;
      cl.sni = std::move(*v);
    } else if (arg == "--client" && explains) {
      auto v = value(arg);
      if (!v) return std::nullopt;
      cl.client = std::move(*v);
    } else if (arg == "--as" && explains) {
      auto v = value(arg);
      if (!v) return std::nullopt;
      cl.as_user = std::move(*v);
    } else if (explains && !arg.starts_with("-") && cl.target.empty()) {
      cl.target = std::string(arg);
    } else {
      error = "unexpected argument \"" + std::string(arg) + "\" (see fqdngate --help)";
      return std::nullopt;
    }
  }
  if (cl.command == Command::check && !cl.config) {
    error = "check needs --config FILE";
    return std::nullopt;
  }
  if (cl.command == Command::passwd && cl.passwd_user.empty()) {
    error = "passwd needs FILE USER";
    return std::nullopt;
  }
  if (cl.command == Command::explain && cl.target.empty()) {
    error = "explain needs HOST[:PORT]";
    return std::nullopt;
  }
  return cl;
}

}  // namespace fqdngate
