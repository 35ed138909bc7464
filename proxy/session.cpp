#include "proxy/session.hpp"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "policy/address_class.hpp"
#include "policy/hostname.hpp"
#include "policy/listen_address.hpp"
#include "proxy/audit_record.hpp"
#include "proxy/authority.hpp"
#include "proxy/client_hello_parser.hpp"
#include "proxy/client_stream.hpp"
#include "proxy/connector.hpp"
#include "proxy/plain_relay.hpp"
#include "proxy/proxy_authorization.hpp"
#include "proxy/relay.hpp"
#include "proxy/request_head_parser.hpp"
#include "proxy/responses.hpp"
#include "proxy/socket_write.hpp"
#include "proxy/tls_relay.hpp"

namespace fqdngate {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr auto kReplyTimeout = 5s;   // writing an error reply to a client that does not read
constexpr auto kLingerTimeout = 2s;  // draining a refused client so our reply is not reset
constexpr std::size_t kLingerBytes = 64 * 1024;
constexpr std::size_t kReadChunk = 4096;

enum class Phase { head, resolve, connect, reply, client_hello, relay, linger, done };

}  // namespace

// What every audit line of a connection says about it: filled in as the session learns it, and
// kept by the tunnel for its close line (which the relay writes when it outlives the session).
struct TunnelSummary {
  std::string client = "unknown";   // "ip:port"
  std::optional<std::string> user;  // Basic user or client certificate CN
  std::string method;
  std::string host;
  std::uint16_t port = 0;
  std::optional<std::string> sni;
  std::string upstream;                // "ip:port" once connected
  const policy::Rule* rule = nullptr;  // the rule of the connect decision
};

// State shared by the session coroutine and its deadline timer. The timer handler holds a
// reference, so a deadline that fires as the session ends never touches freed sockets.
struct Tunnel : std::enable_shared_from_this<Tunnel> {
  Tunnel(Worker& w, tcp::socket s, const tcp::endpoint& p, const Listener& l)
      : worker(w),
        listener(l),
        peer(p),
        policy(w.policy),
        client(std::move(s), l.tls.get()),
        upstream(w.io),
        timer(w.io),
        id(w.next_connection_id()),
        started(Clock::now()) {}

  // One deadline per session; each phase moves it. During the relay the deadline is the last
  // activity plus the idle timeout, so a busy tunnel costs a store per read, not a timer update.
  void set_deadline(Phase p, Clock::duration d) {
    phase = p;
    deadline = Clock::now() + d;
    expired = false;
    if (!waiting || deadline < timer.expiry()) {
      timer.expires_at(deadline);
      wait();
    }
  }

  void finish() {
    phase = Phase::done;
    timer.cancel();
  }

  void cancel_io() {
    relay.cancelled = true;
    boost::system::error_code ignored;
    client.cancel();
    upstream.cancel(ignored);
  }

  Worker& worker;
  const Listener& listener;
  const tcp::endpoint peer;                      // the client's address, as accept() returned it
  std::shared_ptr<const policy::Policy> policy;  // pinned: this session decides with one snapshot
  ClientStream client;
  tcp::socket upstream;
  asio::steady_timer timer;
  const std::uint64_t id;
  const Clock::time_point started;
  Phase phase = Phase::head;
  Clock::time_point deadline{};
  bool expired = false;   // the deadline fired and cancelled our I/O
  bool stopping = false;  // server shutdown
  RelayState relay;
  ConnectionLimiter::Ticket slot;  // released with the tunnel
  TunnelSummary summary;

 private:
  void wait() {
    waiting = true;
    const auto generation = ++timer_generation;
    timer.async_wait([self = shared_from_this(), generation](boost::system::error_code) {
      self->on_timer(generation);
    });
  }

  void on_timer(std::uint64_t generation) {
    if (generation != timer_generation) return;  // superseded by a newer wait
    waiting = false;
    if (phase == Phase::done) return;
    const auto due = phase == Phase::relay
                         ? relay.last_activity + policy->settings().limits.idle_timeout
                         : deadline;
    if (Clock::now() < due) {
      timer.expires_at(due);
      wait();
      return;
    }
    expired = true;
    cancel_io();
  }

  bool waiting = false;
  std::uint64_t timer_generation = 0;
};

namespace {

// Formats into the worker's reusable line, so a line costs no allocation of its own.
void write_audit(Worker& worker, const AuditRecord& r) {
  worker.audit_line.clear();
  append_audit_line(worker.audit_line, r, std::chrono::system_clock::now());
  worker.audit.write(worker.audit_line);
}

AuditRecord summary_record(const Tunnel& t, std::string_view event) {
  const TunnelSummary& s = t.summary;
  AuditRecord r;
  r.event = event;
  r.conn = t.id;
  r.client = s.client;
  if (s.user) r.user = *s.user;
  r.method = s.method;
  r.host = s.host;
  r.port = s.port;
  if (s.sni) r.sni = *s.sni;
  if (!s.upstream.empty()) r.upstream = s.upstream;
  r.policy_version = t.policy->version();
  return r;
}

void write_close_line(Tunnel& t, Reason reason, std::optional<int> status,
                      std::string_view detail) {
  AuditRecord r = summary_record(t, "close");
  r.reason = reason;
  r.status = status;
  r.rule = t.summary.rule;
  r.detail = detail;
  r.bytes_up = t.relay.bytes_up;
  r.bytes_down = t.relay.bytes_down;
  r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t.started);
  write_audit(t.worker, r);
}

void close_sockets(Tunnel& t) {
  boost::system::error_code ignored;
  t.upstream.close(ignored);
  t.client.close();
}

// The end of a tunnel whose relay outlived its session.
void finish_relayed(Tunnel& t) {
  t.finish();
  const Reason reason = t.stopping  ? Reason::shutdown
                        : t.expired ? Reason::idle_timeout
                                    : t.relay.end;
  write_close_line(t, reason, 200, reason == t.relay.end ? t.relay.note : std::string());
  close_sockets(t);
  t.worker.live.erase(&t);
}

// What the close line reports.
struct Outcome {
  Reason reason = Reason::closed;
  std::optional<int> status;
  std::string detail;
};

class Session {
 public:
  explicit Session(std::shared_ptr<Tunnel> t)
      : t_(std::move(t)), limits_(t_->policy->settings().limits) {}

  asio::awaitable<void> run() {
    t_->summary.client = endpoint_text(t_->peer);
    client_address_ = t_->peer.address();
    try {
      auto all_steps = steps();
      co_await std::move(all_steps);
      if (handed_off_) co_return;  // the relay owns the tunnel and writes its close line
      auto answer = answer_refusal();
      co_await std::move(answer);
    } catch (const std::exception& e) {
      outcome_.reason = Reason::internal_error;
      outcome_.detail = e.what();
    }
    t_->finish();
    write_close_line(*t_, outcome_.reason, outcome_.status, outcome_.detail);
    close_sockets(*t_);
  }

  bool handed_off() const noexcept { return handed_off_; }

 private:
  // Each step's awaitable is a named local: GCC 12 miscompiles a coroutine call that is a
  // temporary inside a co_await expression.
  asio::awaitable<void> steps() {
    if (!admit()) co_return;
    auto secure = handshake();
    if (!co_await std::move(secure)) co_return;
    auto request = read_request();
    if (!co_await std::move(request)) co_return;
    if (!check_request()) co_return;
    auto identity = authenticate();
    if (!co_await std::move(identity)) co_return;
    head_ = RequestHead{};  // everything needed is copied out; a long tunnel should not keep it
    if (!decide()) co_return;
    auto resolution = resolve();
    if (!co_await std::move(resolution)) co_return;
    auto connection = connect();
    if (!co_await std::move(connection)) co_return;
    auto reply = reply_established();
    if (!co_await std::move(reply)) co_return;
    auto hello = inspect_client_hello();
    if (!co_await std::move(hello)) co_return;
    auto tunnel = forward_and_relay();
    co_await std::move(tunnel);
  }

  // The single place where a refusal is written: the reply prepared by refuse() or
  // refuse_tunnel(), then a lingering close so the client reads it instead of a reset.
  asio::awaitable<void> answer_refusal() {
    if (!refused_) co_return;
    t_->set_deadline(Phase::reply, kReplyTimeout);
    if (!reply_.empty()) {
      auto write = t_->client.write_all(asio::buffer(reply_));
      auto [ec, n] = co_await std::move(write);
      if (ec) co_return;
    }
    auto shutdown = t_->client.shutdown_send();
    co_await std::move(shutdown);
    t_->set_deadline(Phase::linger, kLingerTimeout);
    std::size_t drained = 0;
    while (drained < kLingerBytes) {
      auto read = t_->client.read_some(asio::buffer(read_buffer_));
      auto [ec, n] = co_await std::move(read);
      if (ec) break;
      drained += n;
    }
  }

  // Step 1: only clients.allow may use the gate. Refused before a byte of theirs is parsed.
  bool admit() {
    if (!client_address_ || !t_->policy->admits(*client_address_)) {
      const std::string detail = t_->summary.client + " is not in clients.allow";
      audit_decision("admit", policy::Verdict::deny, Reason::client_not_allowed, nullptr, detail);
      return refuse(Reason::client_not_allowed, "client not allowed to use this proxy",
                    "ask the administrator to add your network to clients.allow");
    }
    const auto refusal = t_->worker.limiter.try_acquire(*client_address_, t_->slot);
    if (refusal == ConnectionLimiter::Refusal::none) return true;
    const bool total = refusal == ConnectionLimiter::Refusal::total;
    const std::string detail =
        total ? "limits.max_connections (" + std::to_string(limits_.max_connections) + ") reached"
              : "limits.max_connections_per_client (" +
                    std::to_string(limits_.max_connections_per_client) + ") reached for " +
                    client_address_->to_string();
    audit_decision("admit", policy::Verdict::deny, Reason::too_many_connections, nullptr, detail);
    return refuse(Reason::too_many_connections, "too many connections", detail + "; retry later");
  }

  // Step 1b, tls listeners only: the handshake, under the request head's deadline (so a slow
  // handshake cannot add to it). With client_ca the verified certificate names the client.
  asio::awaitable<bool> handshake() {
    if (!t_->client.is_tls()) co_return true;
    t_->set_deadline(Phase::head, limits_.header_timeout);
    auto shake = t_->client.handshake();
    const auto ec = co_await std::move(shake);
    if (ec) {
      if (t_->stopping) co_return end(Reason::shutdown, "stopping during the TLS handshake");
      const std::string detail = t_->expired ? "TLS handshake not completed in time"
                                             : "TLS handshake failed: " + t_->client.error_text();
      audit_decision("admit", policy::Verdict::deny, Reason::tls_handshake_failed, nullptr, detail);
      co_return end(Reason::tls_handshake_failed, detail);
    }
    if (t_->listener.client_certificates) t_->summary.user = t_->client.peer_identity();
    co_return true;
  }

  // Step 2: the request head, bounded in size by the parser and in time by one deadline.
  asio::awaitable<bool> read_request() {
    if (!t_->client.is_tls()) t_->set_deadline(Phase::head, limits_.header_timeout);
    RequestHeadParser parser(limits_.max_header_bytes);
    auto& buf = read_buffer_;
    for (;;) {
      auto read = t_->client.read_some(asio::buffer(buf));
      auto [ec, n] = co_await std::move(read);
      if (ec) {
        if (t_->stopping) co_return end(Reason::shutdown, "stopping before the request head");
        if (t_->expired) {
          co_return refuse(
              Reason::header_timeout, "request head not received in time",
              "send the whole request head within " + seconds_text(limits_.header_timeout));
        }
        co_return end(Reason::client_reset, "client closed before sending a request head");
      }
      const auto r = parser.feed(std::span<const char>(buf.data(), n));
      if (r.status == ParseStatus::need_more) continue;
      if (r.status == ParseStatus::error) {
        if (parser.error() == HeadError::too_large) {
          co_return refuse(Reason::header_too_large, "request head too large",
                           "the limit is " + std::to_string(limits_.max_header_bytes) + " bytes");
        }
        co_return refuse(Reason::bad_request, "malformed request",
                         std::string(parser.error_detail()));
      }
      early_.assign(reinterpret_cast<const std::uint8_t*>(buf.data()) + r.consumed,
                    reinterpret_cast<const std::uint8_t*>(buf.data()) + n);
      head_ = parser.take_head();
      co_return true;
    }
  }

  // Step 3a: the request must be an unambiguous CONNECT to host:port.
  bool check_request() {
    t_->summary.method = head_.method;
    if (head_.method != "CONNECT") {
      return refuse(Reason::method_not_allowed,
                    "method " + printable(head_.method) + " is not supported",
                    "fqdngate tunnels HTTPS: use it as an https proxy (CONNECT)");
    }
    std::string why;
    auto authority = parse_connect_authority(head_.target, &why);
    if (!authority) {
      return refuse(Reason::bad_request, "bad CONNECT target \"" + printable(head_.target) + "\"",
                    why);
    }
    authority_ = std::move(*authority);
    t_->summary.host = authority_.host;
    t_->summary.port = authority_.port;
    // A CONNECT has no body, and one Host at most: anything else is a smuggling attempt or a
    // broken client, and either way the request is ambiguous.
    if (head_.count("Host") > 1) {
      return refuse(Reason::bad_request, "more than one Host header", "send exactly one");
    }
    for (const char* framing : {"Content-Length", "Transfer-Encoding"}) {
      if (head_.count(framing) > 0) {
        return refuse(Reason::bad_request, std::string(framing) + " on a CONNECT request",
                      "a CONNECT request has no body");
      }
    }
    if (const auto host_header = head_.header("Host"); !host_header.empty()) {
      const auto host = host_of_host_header(host_header);
      if (!host || *host != authority_.host) {
        return refuse(Reason::bad_request, "Host header does not match the CONNECT target",
                      "Host: " + printable(host_header));
      }
    }
    return true;
  }

  // Step 3b: who is asking. A client certificate already named the client; otherwise, with
  // auth:, Basic credentials must check out before the policy is consulted.
  asio::awaitable<bool> authenticate() {
    const auto& auth = t_->policy->settings().auth;
    if (!auth || t_->summary.user || !t_->worker.auth) co_return true;
    const auto count = head_.count("Proxy-Authorization");
    if (count == 0) {
      audit_decision("auth", policy::Verdict::deny, Reason::auth_required, nullptr,
                     "no Proxy-Authorization header");
      co_return refuse(Reason::auth_required, "proxy authentication required",
                       "send Basic credentials (curl --proxy-user, or user:password@ in the "
                       "proxy URL)");
    }
    if (count > 1) {
      co_return refuse(Reason::bad_request, "more than one Proxy-Authorization header",
                       "send exactly one");
    }
    std::string why;
    std::string attempted;
    const auto credentials =
        parse_proxy_authorization(head_.header("Proxy-Authorization"), &why, &attempted);
    if (!credentials) {
      audit_decision("auth", policy::Verdict::deny, Reason::auth_failed, nullptr, why);
      co_return refuse(Reason::auth_failed, "proxy authentication failed", why);
    }
    auto check = t_->worker.auth->check(*credentials);
    const auto result = co_await std::move(check);
    if (t_->stopping) co_return end(Reason::shutdown, "stopping during authentication");
    if (result == Authenticator::Result::busy) {
      audit_decision("auth", policy::Verdict::deny, Reason::auth_busy, nullptr,
                     "too many password checks in progress");
      co_return refuse(Reason::auth_busy, "too many password checks in progress",
                       "retry in a moment");
    }
    if (result == Authenticator::Result::failed) {
      audit_decision("auth", policy::Verdict::deny, Reason::auth_failed, nullptr,
                     "user " + printable(attempted) + ": wrong user name or password");
      co_return refuse(Reason::auth_failed, "proxy authentication failed",
                       "wrong user name or password");
    }
    t_->summary.user = credentials->user;
    audit_decision("auth", policy::Verdict::allow, Reason::authenticated, nullptr, {});
    co_return true;
  }

  // Step 3c: the policy decision on the CONNECT host and port, for this client and identity.
  bool decide() {
    decision_ = t_->policy->decide(decision_input(authority_.host));
    t_->summary.rule = decision_.rule;
    audit_decision("connect", decision_.verdict, decision_.reason, decision_.rule, {});
    if (decision_.verdict == policy::Verdict::deny) {
      return refuse(decision_.reason, denial_summary(), denial_detail());
    }
    return true;
  }

  // Step 4: addresses the rule may reach; the upstream connection only ever goes to these.
  asio::awaitable<bool> resolve() {
    t_->set_deadline(Phase::resolve, limits_.dns_timeout);
    std::vector<asio::ip::address> found;
    if (authority_.is_ip) {
      found.push_back(asio::ip::make_address(authority_.host));
    } else {
      auto lookup = t_->worker.resolver.resolve(authority_.host);
      auto result = co_await std::move(lookup);
      if (t_->stopping) co_return end(Reason::shutdown, "stopping during DNS resolution");
      if (result.status == ResolveStatus::timeout) {
        co_return refuse(Reason::dns_timeout, "no DNS answer for " + authority_.host,
                         result.detail);
      }
      if (result.status != ResolveStatus::ok) {
        co_return refuse(Reason::dns_failure, "cannot resolve " + authority_.host, result.detail);
      }
      found = std::move(result.addresses);
    }
    std::string refused;
    for (const auto& a : found) {
      const auto cls = policy::classify(a);
      if (policy::may_reach(*decision_.rule, a, cls)) {
        addresses_.push_back(a);
      } else {
        if (!refused.empty()) refused += ", ";
        refused += a.to_string() + " (" + std::string(policy::class_name(cls)) + ")";
      }
    }
    if (addresses_.empty()) {
      const std::string detail = authority_.host +
                                 " resolves only to non-public addresses: " + refused + "; " +
                                 std::string(policy::unreachable_reason(*decision_.rule));
      audit_decision("resolve", policy::Verdict::deny, Reason::private_address, decision_.rule,
                     detail);
      co_return refuse(Reason::private_address, "CONNECT " + target_text() + " denied", detail);
    }
    co_return true;
  }

  // Step 5.
  asio::awaitable<bool> connect() {
    t_->set_deadline(Phase::connect, limits_.connect_timeout);
    auto attempt = connect_first(t_->upstream, addresses_, authority_.port, t_->expired);
    auto result = co_await std::move(attempt);
    if (t_->stopping) co_return end(Reason::shutdown, "stopping during upstream connect");
    if (!result.ok) {
      co_return refuse(result.failure, "cannot connect to " + target_text(), result.detail);
    }
    t_->summary.upstream = endpoint_text(result.endpoint);
    co_return true;
  }

  // Step 6: the whole head in one write (python-socks reads the status line from one recv).
  asio::awaitable<bool> reply_established() {
    t_->set_deadline(Phase::client_hello, limits_.client_hello_timeout);
    auto write = t_->client.write_all(asio::buffer(kConnectEstablished));
    auto [ec, n] = co_await std::move(write);
    outcome_.status = 200;
    if (ec)
      co_return end(t_->stopping ? Reason::shutdown : Reason::client_reset,
                    "client gone before the 200 was sent");
    co_return true;
  }

  // Step 7: the ClientHello must name the CONNECT host; nothing reaches upstream before this.
  asio::awaitable<bool> inspect_client_hello() {
    ClientHelloParser parser(limits_.max_client_hello_bytes);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(read_buffer_.data());
    hello_ = std::move(early_);
    std::size_t fed = 0;
    for (;;) {
      if (fed == 0 && !hello_.empty() && hello_[0] != 0x16 &&
          decision_.rule->tls == policy::TlsMode::optional) {
        audit_decision("tls", policy::Verdict::allow, Reason::allowlisted, decision_.rule,
                       "not TLS; the rule says tls: optional");
        co_return true;
      }
      if (fed < hello_.size()) {
        const auto r = parser.feed(std::span<const std::uint8_t>(hello_).subspan(fed));
        fed = hello_.size();
        if (r.status == ParseStatus::done) break;
        if (r.status == ParseStatus::error) {
          const Reason reason = parser.error() == HelloError::not_tls ? Reason::not_tls
                                : parser.error() == HelloError::too_large
                                    ? Reason::client_hello_too_large
                                    : Reason::client_hello_malformed;
          co_return refuse_tunnel(reason, parser.error_detail(), false);
        }
      }
      auto read = t_->client.read_some(asio::buffer(read_buffer_));
      auto [ec, n] = co_await std::move(read);
      if (ec) {
        if (t_->stopping) co_return end(Reason::shutdown, "stopping before the ClientHello");
        if (t_->expired) {
          co_return refuse_tunnel(Reason::client_hello_timeout, "ClientHello not received in time",
                                  false);
        }
        co_return end(Reason::client_reset, "client closed before sending a ClientHello");
      }
      hello_.insert(hello_.end(), bytes, bytes + n);
    }
    const auto& info = parser.info();
    if (info.has_sni) t_->summary.sni = info.sni;
    if (info.offers_ech && !decision_.rule->allow_ech) {
      co_return refuse_tunnel(Reason::ech_not_allowed,
                              "ClientHello offers Encrypted Client Hello, which hides the real "
                              "destination; the rule does not say allow_ech: true",
                              true);
    }
    if (!info.has_sni) {
      if (authority_.is_ip) {
        // Clients send no SNI to an IP address; the rule named the address itself.
        audit_decision("tls", policy::Verdict::allow, Reason::allowlisted, decision_.rule, {});
        co_return true;
      }
      co_return refuse_tunnel(
          Reason::no_sni,
          "ClientHello has no server_name; fqdngate needs it to check the destination", true);
    }
    std::string why;
    const auto sni = policy::normalize_hostname(info.sni, &why);
    if (sni && !authority_.is_ip && *sni == authority_.host) {
      audit_decision("tls", policy::Verdict::allow, Reason::allowlisted, decision_.rule, {});
      co_return true;
    }
    // The rule may let the SNI differ from the CONNECT host, but only to a name the policy
    // allows on its own for this client, identity and port.
    if (sni && decision_.rule->sni == policy::SniMode::allowlisted) {
      const auto alias = t_->policy->decide(decision_input(*sni));
      if (alias.verdict == policy::Verdict::allow) {
        audit_decision("tls", policy::Verdict::allow, Reason::allowlisted, alias.rule,
                       "SNI " + *sni +
                           " differs from the CONNECT host; allowed by sni: "
                           "allowlisted on " +
                           decision_.rule->describe());
        co_return true;
      }
      co_return refuse_tunnel(Reason::sni_mismatch,
                              "SNI " + *sni + " differs from the CONNECT host " + authority_.host +
                                  " and is not allowed itself (" +
                                  std::string(reason_name(alias.reason)) + ")",
                              true);
    }
    co_return refuse_tunnel(
        Reason::sni_mismatch,
        "SNI " + printable(info.sni) + " does not match the CONNECT host " + authority_.host, true);
  }

  // Step 8: the buffered ClientHello goes first, then both directions until both are done.
  asio::awaitable<void> forward_and_relay() {
    if (!hello_.empty()) {
      auto forward = write_all(t_->upstream, asio::buffer(hello_));
      auto [ec, n] = co_await std::move(forward);
      t_->relay.bytes_up += n;
      if (ec) {
        end(t_->stopping  ? Reason::shutdown
            : t_->expired ? Reason::idle_timeout
                          : Reason::upstream_reset,
            "upstream failed while the ClientHello was forwarded");
        co_return;
      }
      std::vector<std::uint8_t>().swap(hello_);
    }
    t_->relay.last_activity = Clock::now();
    t_->set_deadline(Phase::relay, limits_.idle_timeout);
    // The session's coroutine frames end here; the callback-driven relay keeps only the
    // tunnel, so a long idle tunnel costs little memory. It writes the close line.
    handed_off_ = true;
    auto tunnel = t_;
    auto on_done = [tunnel] { finish_relayed(*tunnel); };
    if (t_->client.is_tls()) {
      start_tls_relay(t_->client, t_->upstream, t_->relay, t_->worker.relay, on_done);
    } else {
      start_plain_relay(t_->client.socket(), t_->upstream, t_->relay, t_->worker.relay, nullptr,
                        on_done);
    }
  }

  // An answer before the tunnel exists: status, reason header, one-line body.
  bool refuse(Reason reason, std::string summary, std::string detail) {
    outcome_.reason = reason;
    outcome_.status = http_status_for(reason);
    outcome_.detail = detail.empty() ? summary : summary + ": " + detail;
    const auto& auth = t_->policy->settings().auth;
    reply_ = error_response(reason, summary, detail, auth ? auth->realm : std::string_view{});
    refused_ = true;
    return false;
  }

  // After the 200 the client speaks TLS: refuse with a TLS alert (or just close), and send
  // nothing upstream.
  bool refuse_tunnel(Reason reason, std::string detail, bool send_alert) {
    audit_decision("tls", policy::Verdict::deny, reason, decision_.rule, detail);
    outcome_.reason = reason;
    outcome_.detail = std::move(detail);
    boost::system::error_code ignored;
    t_->upstream.close(ignored);
    if (send_alert) reply_.assign(kTlsAccessDeniedAlert.begin(), kTlsAccessDeniedAlert.end());
    refused_ = true;
    return false;
  }

  bool end(Reason reason, std::string detail) {
    outcome_.reason = reason;
    outcome_.detail = std::move(detail);
    return false;
  }

  std::string target_text() const {
    return (authority_.host.find(':') != std::string::npos ? "[" + authority_.host + "]"
                                                           : authority_.host) +
           ":" + std::to_string(authority_.port);
  }

  std::string denial_summary() const { return "CONNECT " + target_text() + " denied"; }

  policy::DecisionInput decision_input(std::string_view host) const {
    policy::DecisionInput in{host, authority_.port, client_address_, std::nullopt};
    if (t_->summary.user) in.user = *t_->summary.user;
    return in;
  }

  std::string denial_detail() const {
    if (decision_.reason == Reason::not_in_scope) {
      return "rule: " + decision_.rule->describe() + " at " + decision_.rule->where.str() +
             " does not apply to " +
             (t_->summary.user ? "user " + printable(*t_->summary.user)
                               : std::string("unauthenticated clients")) +
             " from " + (client_address_ ? client_address_->to_string() : std::string("unknown"));
    }
    if (decision_.rule == nullptr) {
      if (decision_.reason == Reason::ip_literal) {
        return "rule: default deny (no rule names this IP address; connect by name)";
      }
      return "rule: default deny (no allow rule matches " + authority_.host + ")";
    }
    return "rule: " + decision_.rule->describe() + " at " + decision_.rule->where.str();
  }

  static std::string printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 200)) {
      const auto u = static_cast<unsigned char>(c);
      out.push_back(u < 0x20 || u >= 0x7f ? '?' : c);
    }
    return out;
  }

  static std::string seconds_text(std::chrono::milliseconds d) {
    return std::to_string(d.count() / 1000) +
           (d.count() % 1000 ? "." + std::to_string(d.count() % 1000 / 100) : "") + " s";
  }

  void audit_decision(std::string_view stage, policy::Verdict verdict, Reason reason,
                      const policy::Rule* rule, std::string_view detail) {
    AuditRecord r = summary_record(*t_, "decision");
    r.stage = stage;
    r.decision = verdict;
    r.reason = reason;
    r.rule = rule;
    r.detail = detail;
    write_audit(t_->worker, r);
  }

  std::shared_ptr<Tunnel> t_;
  const policy::Limits& limits_;
  std::optional<asio::ip::address> client_address_;
  RequestHead head_;
  Authority authority_;
  policy::Decision decision_;
  std::vector<asio::ip::address> addresses_;
  std::vector<std::uint8_t> early_;  // bytes that arrived behind the request head
  std::vector<std::uint8_t> hello_;  // the raw ClientHello, forwarded unchanged
  Outcome outcome_;
  bool refused_ = false;
  bool handed_off_ = false;
  std::string reply_;  // what answer_refusal() sends
  // The one buffer every read of the session uses, in turn: in a coroutine's frame, a 4 KiB
  // array made that frame too large for Asio's frame recycling, and cost an allocation and a
  // free of its own per read step. The session's steps never read at the same time.
  std::array<char, kReadChunk> read_buffer_;
};

asio::awaitable<void> run_session(std::shared_ptr<Tunnel> tunnel) {
  Session session(tunnel);
  auto run = session.run();
  co_await std::move(run);
  if (!session.handed_off()) tunnel->worker.live.erase(tunnel.get());
}

}  // namespace

void start_session(Worker& worker, tcp::socket socket, const tcp::endpoint& peer,
                   const Listener& listener) {
  auto tunnel = std::make_shared<Tunnel>(worker, std::move(socket), peer, listener);
  worker.live.insert(tunnel.get());
  auto session = run_session(std::move(tunnel));
  asio::co_spawn(worker.io, std::move(session), [](std::exception_ptr e) {
    // Session::run catches everything; reaching here means a bug we must not hide.
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "fqdngate: session failed: %s\n", ex.what());
      }
    }
  });
}

void stop_all_sessions(Worker& worker) {
  for (Tunnel* t : worker.live) {
    t->stopping = true;
    t->cancel_io();
  }
}

}  // namespace fqdngate
