// listen:, threads:, dns:, audit: and limits: -> Settings.
#include <boost/asio/ip/address.hpp>

#include "policy/credentials_file.hpp"
#include "policy/hostname.hpp"
#include "policy/listen_address.hpp"
#include "policy/loader_sections.hpp"

namespace fqdngate::policy::sections {
namespace {

namespace ip = boost::asio::ip;

std::optional<ip::address> parse_address(std::string_view text) {
  boost::system::error_code ec;
  const auto a = ip::make_address(text, ec);
  if (ec) return std::nullopt;
  return a;
}

// A resolver: "ip", a bare or bracketed IPv6 address, or the listen grammar with a port >= 1.
bool valid_dns_server(std::string_view text) {
  if (parse_address(text)) return true;
  if (text.starts_with('[') && text.ends_with(']')) {
    const auto a = parse_address(text.substr(1, text.size() - 2));
    return a && a->is_v6();
  }
  const auto endpoint = parse_listen_address(text, nullptr);
  return endpoint && endpoint->port() != 0;
}

std::chrono::milliseconds seconds(const yaml::Reader& r, const yaml::Field& f, std::uint64_t max) {
  const std::string what = "a whole number of seconds 1-" + std::to_string(max);
  return std::chrono::seconds(r.integer(f.at, f.path, 1, max, what));
}

std::size_t bytes(const yaml::Reader& r, const yaml::Field& f) {
  constexpr std::uint64_t kMin = 1024;
  constexpr std::uint64_t kMax = 1024 * 1024;
  return r.integer(f.at, f.path, kMin, kMax, "a number of bytes 1024-1048576");
}

}  // namespace

void read_listen(const yaml::Reader& r, const yaml::Field& f, Settings& settings) {
  const auto list = r.items(f.at, f.path, "a list of \"ip:port\" or \"[v6]:port\" addresses");
  settings.listen.clear();
  constexpr std::string_view kWhat = "\"ip:port\" or \"[v6]:port\" (port 0-65535)";
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = yaml::index_path(f.path, i);
    ListenSpec spec;
    spec.where = r.where(list[i]);
    if (!list[i].IsMap()) {
      spec.address = r.text(list[i], path, kWhat);
      if (!parse_listen_address(spec.address, nullptr)) r.expected(list[i], path, kWhat);
      settings.listen.push_back(std::move(spec));
      continue;
    }
    bool has_address = false;
    for (const auto& k : r.fields(list[i], path, {"address", "tls"})) {
      if (k.key == "address") {
        spec.address = r.text(k.at, k.path, kWhat);
        if (!parse_listen_address(spec.address, nullptr)) r.expected(k.at, k.path, kWhat);
        has_address = true;
      } else {
        TlsListenerFiles files;
        for (const auto& t : r.fields(k.at, k.path, {"cert", "key", "client_ca"},
                                      "a mapping with cert, key and optionally client_ca")) {
          const std::string file = r.path(t.at, t.path, "a file path");
          if (t.key == "cert") files.cert = file;
          if (t.key == "key") files.key = file;
          if (t.key == "client_ca") files.client_ca = file;
        }
        if (files.cert.empty() || files.key.empty()) {
          r.fail(k.at, k.path, "a tls listener needs both cert and key (PEM files)");
        }
        spec.tls = std::move(files);
      }
    }
    if (!has_address) r.fail(list[i], path, "missing key 'address' (\"ip:port\")");
    settings.listen.push_back(std::move(spec));
  }
}

std::vector<Cidr> read_client_networks(const yaml::Reader& r, const yaml::Field& f,
                                       bool allow_empty) {
  const auto list = r.items(f.at, f.path, "a list of client networks (\"10.0.0.0/8\", \"::1\")");
  if (list.empty() && !allow_empty) r.expected(f.at, f.path, "at least one client network");
  std::vector<Cidr> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = yaml::index_path(f.path, i);
    const std::string text = r.text(list[i], path, "a network such as \"10.0.0.0/8\"");
    std::string why;
    const auto range = parse_cidr(text, &why);
    if (!range) {
      r.fail(
          list[i], path,
          "expected a network such as \"10.0.0.0/8\" or an address, got \"" + text + "\": " + why);
    }
    out.push_back(*range);
  }
  return out;
}

void read_clients(const yaml::Reader& r, const yaml::Field& f, Settings& settings) {
  if (f.value.IsNull()) return;
  for (const auto& k : r.fields(f.at, f.path, {"allow"})) {
    settings.clients_allow = read_client_networks(r, k, true);
    settings.clients_allow_explicit = true;
  }
}

void check_open_proxy(const yaml::Reader& r, const yaml::Field* listen, const Settings& settings) {
  if (listen == nullptr || settings.clients_allow_explicit) return;
  const auto list = r.items(listen->at, listen->path, "a list of addresses");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string text = r.scalar_or_empty(list[i].IsMap() ? list[i]["address"] : list[i]);
    const auto endpoint = parse_listen_address(text, nullptr);  // read_listen checked the form
    if (endpoint && !endpoint->address().is_loopback()) {
      r.fail(list[i], yaml::index_path(listen->path, i),
             "\"" + text +
                 "\" is not a loopback address and clients.allow is not set: fqdngate would be "
                 "an open proxy for anyone who can reach it; list the client networks in "
                 "clients.allow (e.g. [\"10.0.0.0/8\"])");
    }
  }
}

void read_threads(const yaml::Reader& r, const yaml::Field& f, Settings& settings) {
  settings.threads = static_cast<unsigned>(
      r.integer(f.at, f.path, 0, 256, "a thread count 0-256 (0 = one per core)"));
}

void read_dns(const yaml::Reader& r, const yaml::Field& f, Settings& settings) {
  if (f.value.IsNull()) return;
  for (const auto& k : r.fields(f.at, f.path, {"servers", "hosts"})) {
    if (k.key == "servers") {
      if (k.value.IsNull()) continue;
      const auto list = r.items(k.at, k.path, "a list of DNS server addresses");
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string path = yaml::index_path(k.path, i);
        constexpr std::string_view kWhat = "\"ip\", \"ip:port\" or \"[v6]:port\"";
        const std::string text = r.text(list[i], path, kWhat);
        if (!valid_dns_server(text)) r.expected(list[i], path, kWhat);
        settings.dns.servers.push_back(text);
      }
    } else if (k.key == "hosts") {
      if (k.value.IsNull()) continue;
      if (!k.value.IsMap()) r.expected(k.at, k.path, "a mapping of host name to address(es)");
      for (auto it = k.value.begin(); it != k.value.end(); ++it) {
        const YAML::Node name_node = it->first;
        const YAML::Node value = it->second;
        const std::string name_text = r.text(name_node, k.path, "a host name");
        const std::string path = yaml::child_path(k.path, name_text);
        std::string why;
        const auto name = normalize_hostname(name_text, &why);
        if (!name) {
          r.fail(name_node, path,
                 "expected a host name, got " + yaml::describe(name_node) + ": " + why);
        }
        if (settings.dns.hosts.contains(*name)) {
          r.fail(name_node, path, "host " + *name + " is listed twice");
        }
        std::vector<YAML::Node> items;
        if (value.IsSequence()) {
          items = r.items(value, path, "");
          if (items.empty()) r.expected(value, path, "at least one IP address");
        } else {
          items.push_back(value);
        }
        auto& addresses = settings.dns.hosts[*name];
        for (std::size_t i = 0; i < items.size(); ++i) {
          const std::string item_path = value.IsSequence() ? yaml::index_path(path, i) : path;
          const auto a = parse_address(r.scalar_or_empty(items[i]));
          if (!a) r.expected(items[i], item_path, "an IP address");
          addresses.push_back(*a);
        }
      }
    }
  }
}

void read_audit(const yaml::Reader& r, const yaml::Field& f, Settings& settings) {
  if (f.value.IsNull()) return;
  for (const auto& k : r.fields(f.at, f.path, {"path"})) {
    settings.audit_path = r.text(k.at, k.path, "a file path or \"-\" for stdout");
  }
}

void read_limits(const yaml::Reader& r, const yaml::Field& f, Settings& settings) {
  if (f.value.IsNull()) return;
  constexpr std::uint64_t kHour = 3600;
  constexpr std::uint64_t kWeek = 7 * 24 * kHour;
  auto& l = settings.limits;
  for (const auto& k :
       r.fields(f.at, f.path,
                {"header_timeout_s", "max_header_bytes", "dns_timeout_s", "connect_timeout_s",
                 "client_hello_timeout_s", "max_client_hello_bytes", "idle_timeout_s",
                 "max_connections", "max_connections_per_client"})) {
    if (k.key == "header_timeout_s") l.header_timeout = seconds(r, k, kHour);
    if (k.key == "max_header_bytes") l.max_header_bytes = bytes(r, k);
    if (k.key == "dns_timeout_s") l.dns_timeout = seconds(r, k, 300);
    if (k.key == "connect_timeout_s") l.connect_timeout = seconds(r, k, 300);
    if (k.key == "client_hello_timeout_s") l.client_hello_timeout = seconds(r, k, kHour);
    if (k.key == "max_client_hello_bytes") l.max_client_hello_bytes = bytes(r, k);
    if (k.key == "idle_timeout_s") l.idle_timeout = seconds(r, k, kWeek);
    if (k.key == "max_connections") {
      l.max_connections = r.integer(k.at, k.path, 1, 1'000'000, "a connection count 1-1000000");
    }
    if (k.key == "max_connections_per_client") {
      l.max_connections_per_client =
          r.integer(k.at, k.path, 1, 1'000'000, "a connection count 1-1000000");
    }
  }
}

}  // namespace fqdngate::policy::sections

namespace fqdngate::policy::sections {

void read_auth(const yaml::Reader& r, const yaml::Field& f, Settings& settings) {
  AuthSettings auth;
  bool has_credentials = false;
  for (const auto& k : r.fields(f.at, f.path, {"credentials", "realm"},
                                "a mapping with credentials and optionally realm")) {
    if (k.key == "credentials") {
      auth.credentials_path = r.path(k.at, k.path, "a credentials file path");
      auth.credentials = std::make_shared<const Credentials>(
          read_credentials_file(auth.credentials_path, r.where(k.at)));
      has_credentials = true;
    } else {
      auth.realm = r.text(k.at, k.path, "a realm name");
      // It is echoed in a quoted header parameter.
      const bool safe =
          auth.realm.size() <= 64 && auth.realm.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
                                         "QRSTUVWXYZ0123456789 ._-") == std::string::npos;
      if (!safe)
        r.expected(k.at, k.path, "a realm of letters, digits, space, '.', '_', '-' (64 max)");
    }
  }
  if (!has_credentials) {
    r.fail(f.at, f.path, "missing key 'credentials' (a file written by `fqdngate passwd`)");
  }
  settings.auth = std::move(auth);
}

}  // namespace fqdngate::policy::sections

namespace fqdngate::policy::sections {

void read_relay(const yaml::Reader& r, const yaml::Field& f, Settings& settings) {
  if (f.value.IsNull()) return;
  for (const auto& k : r.fields(f.at, f.path, {"splice"})) {
    settings.relay_splice = r.boolean(k.at, k.path);
  }
}

}  // namespace fqdngate::policy::sections
