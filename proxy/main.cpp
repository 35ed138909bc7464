// fqdngate: command line entry point (run, check, explain, print-default).
#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "policy/address_class.hpp"
#include "policy/hostname.hpp"
#include "policy/listen_address.hpp"
#include "policy/loader.hpp"
#include "policy/policy_summary.hpp"
#include "policy/profiles.hpp"
#include "proxy/audit_writer.hpp"
#include "proxy/authority.hpp"
#include "proxy/command_line.hpp"
#include "proxy/passwd_command.hpp"
#include "proxy/privileges.hpp"
#include "proxy/resolver.hpp"
#include "proxy/server.hpp"
#include "proxy/tls_listener_context.hpp"

namespace {

using namespace fqdngate;
namespace asio = boost::asio;

constexpr int kExitOk = 0;
constexpr int kExitDenied = 1;
constexpr int kExitUsage = 2;

int fail(const std::string& message) {
  std::cerr << "fqdngate: " << message << '\n';
  return kExitUsage;
}

std::shared_ptr<const policy::Policy> load(const CommandLine& cl) {
  if (cl.config) return policy::load_policy_file(*cl.config);
  return policy::load_policy_text(policy::embedded_default_policy_yaml(),
                                  policy::kDefaultPolicyName);
}

// "file:line:column", the form of every policy error.
std::string position(const policy::SourceRef& where) {
  return where.str() + ":" + std::to_string(where.column);
}

std::string policy_label(const policy::Policy& p) {
  return p.source() + " version " + p.version();
}

int check(const policy::Policy& p) {
  // Certificates and keys are read now, so a bad one is found before a deploy, not at start-up.
  for (const auto& spec : p.settings().listen) {
    if (!spec.tls) continue;
    try {
      (void)make_tls_listener_context(*spec.tls);
    } catch (const std::exception& e) {
      return fail(position(spec.where) + ": listen " + spec.address + ": " + e.what());
    }
  }
  std::cout << policy::summarize_policy(p);
  std::cout << "presets available:";
  for (const auto& preset : policy::presets())
    std::cout << ' ' << preset.name;
  std::cout << '\n';
  std::cout << "policy OK: " << policy_label(p) << '\n';
  return kExitOk;
}

// No network traffic: the decision, then what dns.hosts pins (the only addresses known offline).
int explain(const CommandLine& cl, const policy::Policy& p) {
  std::string target = cl.target;
  const bool bracketed = !target.empty() && target.front() == '[';
  if ((bracketed && target.back() == ']') ||
      (!bracketed && target.find(':') == std::string::npos)) {
    target += ":443";
  }
  std::string why;
  const auto authority = parse_connect_authority(target, &why);
  if (!authority) return fail("explain: bad HOST[:PORT] \"" + cl.target + "\": " + why);
  std::optional<asio::ip::address> client;
  if (cl.client) {
    boost::system::error_code ec;
    client = asio::ip::make_address(*cl.client, ec);
    if (ec) return fail("explain: --client expects an IP address, got \"" + *cl.client + "\"");
  }

  policy::DecisionInput input{authority->host, authority->port, client, std::nullopt};
  if (cl.as_user) input.user = *cl.as_user;
  const auto d = p.decide(input);
  policy::Verdict verdict = d.verdict;
  Reason reason = d.reason;
  std::vector<std::string> notes;

  if (verdict == policy::Verdict::allow && cl.sni) {
    const auto sni = policy::normalize_hostname(*cl.sni);
    if (!sni || authority->is_ip || *sni != authority->host) {
      // The same rule as the session: sni: allowlisted accepts an SNI the policy allows itself.
      bool alias_allowed = false;
      if (sni && d.rule->sni == policy::SniMode::allowlisted) {
        policy::DecisionInput alias = input;
        alias.host = *sni;
        alias_allowed = p.decide(alias).verdict == policy::Verdict::allow;
      }
      if (alias_allowed) {
        notes.push_back("SNI \"" + *sni +
                        "\" differs from the CONNECT host; allowed by sni: allowlisted");
      } else {
        verdict = policy::Verdict::deny;
        reason = Reason::sni_mismatch;
        notes.push_back("SNI \"" + *cl.sni + "\" does not match the CONNECT host");
      }
    }
  }
  if (verdict == policy::Verdict::allow && !authority->is_ip) {
    const auto& hosts = p.settings().dns.hosts;
    if (auto it = hosts.find(authority->host); it != hosts.end()) {
      bool any = false;
      for (const auto& a : it->second) {
        const auto cls = policy::classify(a);
        const bool ok = policy::may_reach(*d.rule, a, cls);
        any = any || ok;
        notes.push_back(
            "dns.hosts: " + a.to_string() + " (" + std::string(policy::class_name(cls)) + ")" +
            (ok ? "" : ": refused, " + std::string(policy::unreachable_reason(*d.rule))));
      }
      if (!any) {
        verdict = policy::Verdict::deny;
        reason = Reason::private_address;
      }
    } else if (!d.rule->allow_private) {
      notes.push_back("resolved addresses must be public: the rule does not say private: true");
    }
  }

  std::cout << "request: CONNECT " << target << '\n';
  if (cl.sni) std::cout << "sni: " << *cl.sni << '\n';
  if (client) std::cout << "client: " << client->to_string() << '\n';
  if (cl.as_user) std::cout << "user: " << *cl.as_user << '\n';
  std::cout << "decision: " << (verdict == policy::Verdict::allow ? "allow" : "deny") << '\n';
  std::cout << "reason: " << reason_name(reason) << '\n';
  if (d.rule != nullptr) {
    std::cout << "rule: " << d.rule->describe() << " at " << d.rule->where.str() << '\n';
  } else {
    std::cout << "rule: default deny (no rule matches " << authority->host << ")\n";
  }
  for (const auto& n : notes)
    std::cout << "note: " << n << '\n';
  std::cout << "policy: " << policy_label(p) << '\n';
  return verdict == policy::Verdict::allow ? kExitOk : kExitDenied;
}

// The policy's listen: entries, or --listen (plain listeners) when given; TLS contexts are
// built here so a bad certificate stops start-up with the policy line that named it.
std::optional<std::vector<Listener>> listeners_of(const CommandLine& cl, const policy::Policy& p) {
  const auto& settings = p.settings();
  std::vector<policy::ListenSpec> specs = settings.listen;
  if (!cl.listen.empty()) {
    specs.clear();
    for (const auto& text : cl.listen)
      specs.push_back(policy::ListenSpec{text, std::nullopt, {}});
  }
  std::vector<Listener> out;
  for (const auto& spec : specs) {
    const std::string where =
        spec.where.line > 0 ? position(spec.where) + ": listen " : "--listen ";
    std::string why;
    auto e = parse_listen_address(spec.address, &why);
    if (!e) {
      fail(where + spec.address + ": " + why);
      return std::nullopt;
    }
    // The same open-proxy guard the loader applies to listen:, for --listen.
    if (!e->address().is_loopback() && !settings.clients_allow_explicit) {
      fail(where + spec.address +
           ": not a loopback address and the policy has no clients.allow; fqdngate would be an "
           "open proxy for anyone who can reach it. List the client networks in clients.allow.");
      return std::nullopt;
    }
    if (!e->address().is_loopback() && !spec.tls && settings.auth) {
      std::cerr << "fqdngate: warning: " << where << spec.address
                << " is plain HTTP and auth: is on: proxy passwords cross the network in clear "
                   "text; prefer a tls listener\n";
    }
    Listener l{*e, nullptr, false};
    if (spec.tls) {
      try {
        l.tls = make_tls_listener_context(*spec.tls);
      } catch (const std::exception& ex) {
        fail(where + spec.address + ": " + ex.what());
        return std::nullopt;
      }
      l.client_certificates = !spec.tls->client_ca.empty();
    }
    out.push_back(std::move(l));
  }
  if (out.empty()) {
    fail("nothing to listen on");
    return std::nullopt;
  }
  return out;
}

int run(const CommandLine& cl, std::shared_ptr<const policy::Policy> p) {
  const auto& settings = p->settings();
  auto listeners = listeners_of(cl, *p);
  if (!listeners) return kExitUsage;
  // A peer that disappears mid-write must be an error code, not a process-wide signal.
  std::signal(SIGPIPE, SIG_IGN);
  Resolver::global_init();
  AuditWriter audit(settings.audit_path);
  const unsigned threads = cl.threads.value_or(settings.threads);
  Server server(p, std::move(*listeners), threads, audit);
  if (cl.user) {
    drop_privileges(*cl.user);
  } else if (running_as_root()) {
    std::cerr << "fqdngate: warning: running as root; use --user to drop privileges after "
                 "binding\n";
  }
  for (const auto& l : server.listeners()) {
    std::cerr << "fqdngate: listening on " << endpoint_text(l.endpoint) << (l.tls ? " tls" : "")
              << " (policy " << policy_label(*p) << ")" << std::endl;
  }
  server.run();
  audit.stop();
  std::cerr << "fqdngate: stopped" << std::endl;
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  std::string error;
  const auto cl = parse_command_line(args, error);
  if (!cl) return fail(error);
  switch (cl->command) {
    case Command::help:
      std::cout << usage_text();
      return kExitOk;
    case Command::version:
      std::cout << "fqdngate " << FQDNGATE_VERSION << '\n';
      return kExitOk;
    case Command::print_default:
      std::cout << policy::embedded_default_policy_yaml();
      return kExitOk;
    case Command::passwd:
      try {
        return run_passwd(
            cl->passwd_file, cl->passwd_user,
            cl->pbkdf2 ? policy::HashScheme::pbkdf2_sha256 : policy::HashScheme::scrypt, std::cin,
            std::cerr);
      } catch (const std::exception& e) {
        return fail(std::string("passwd: ") + e.what());
      }
    default:
      break;
  }
  try {
    const auto policy = load(*cl);
    switch (cl->command) {
      case Command::check:
        return check(*policy);
      case Command::explain:
        return explain(*cl, *policy);
      default:
        return run(*cl, policy);
    }
  } catch (const policy::PolicyError& e) {
    return fail(e.what());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
