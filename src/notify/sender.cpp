#include <utility>  // before Boost.Asio (Boost 1.74 with g++ 12 needs std::exchange)

// As in api/net.hpp: at -O2/-O3 GCC 12 reports a "potential null pointer dereference" inside
// Asio's scheduler once inlined; the diagnostic comes at the end of the translation unit, so it
// is off for this file, which uses the network layer.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "notify/sender.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "metrics/metrics.hpp"

namespace bihuan::notify {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

metrics::Counter& sent_counter() {
  static auto& c = metrics::counter("bihuan_notify_sent_total", "Notifications delivered to the gateway");
  return c;
}
metrics::Counter& failed_counter() {
  static auto& c = metrics::counter("bihuan_notify_failures_total", "Failed attempts to deliver a notification");
  return c;
}
metrics::Counter& dead_counter() {
  static auto& c = metrics::counter("bihuan_notify_dead_total", "Notifications given up after the last attempt");
  return c;
}

std::string clip(std::string s, std::size_t n) {
  if (s.size() > n) s.resize(n);
  // Never cut a UTF-8 sequence in two.
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
  if (!s.empty() && (static_cast<unsigned char>(s.back()) & 0x80)) s.pop_back();
  return s;
}

}  // namespace

GatewayUrl parse_gateway_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0)
    fail(ErrorCode::invalid_argument, "the notification gateway must be an http:// URL (put a TLS relay in front of https)",
         "notify_gateway");
  std::string rest = url.substr(scheme.size());
  GatewayUrl g;
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  g.target = slash == std::string::npos ? "/" : rest.substr(slash);
  const auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    g.host = authority.substr(0, colon);
    g.port = authority.substr(colon + 1);
  } else {
    g.host = authority;
    g.port = "80";
  }
  if (g.host.empty() || g.port.empty() || g.port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(g.port) == 0 || std::stoul(g.port) > 65535)
    fail(ErrorCode::invalid_argument, "the notification gateway URL has no usable host and port: " + url, "notify_gateway");
  return g;
}

Attempt post_message(const Gateway& g, const store::Message& m) {
  Attempt a;
  try {
    const auto u = parse_gateway_url(g.url);
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(g.timeout);
    stream.connect(resolver.resolve(u.host, u.port));
    http::request<http::string_body> req{http::verb::post, u.target, 11};
    req.set(http::field::host, u.host);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "bihuan-notify");
    if (!g.token.empty()) req.set(http::field::authorization, "Bearer " + g.token);
    req.set("Idempotency-Key", "bihuan-" + std::to_string(m.id));
    req.body() = nlohmann::json{{"id", m.id}, {"channel", m.channel}, {"recipient", m.recipient}, {"kind", m.kind},
                                {"body", m.body}}
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    req.prepare_payload();
    stream.expires_after(g.timeout);
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    stream.expires_after(g.timeout);
    http::read(stream, buf, parser);
    const auto& res = parser.get();
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    const unsigned status = res.result_int();
    if (status / 100 != 2) {
      a.error = "HTTP " + std::to_string(status) + ": " + clip(res.body(), 200);
      return a;
    }
    a.ok = true;
    auto j = nlohmann::json::parse(res.body(), nullptr, false);
    if (j.is_object()) {
      for (const char* k : {"id", "message_id"}) {
        if (!j.contains(k)) continue;
        if (j[k].is_string()) a.provider_id = clip(j[k].get<std::string>(), 200);
        else if (j[k].is_number_integer()) a.provider_id = std::to_string(j[k].get<std::int64_t>());
        break;
      }
    }
  } catch (const Error& e) {
    a.error = e.what();
  } catch (const std::exception& e) {
    a.error = clip(e.what(), 200);
  }
  return a;
}

Sender::Sender(store::Repository& repo, Gateway gateway, const Clock& clock)
    : repo_(repo), gateway_(std::move(gateway)), clock_(clock) {}

Sender::Result Sender::run(int limit) {
  Result out;
  auto r = store::open_notify_repository(repo_);
  repo_.transaction([&] { out.expired = static_cast<int>(r->expire(clock_.now(), kRedacted)); });
  if (!gateway_.configured()) return out;
  const Settings s = read_settings(repo_);
  std::vector<store::Message> due;
  repo_.transaction([&] { due = r->due(clock_.now(), limit); });
  for (auto& m : due) {
    // The network call runs outside any transaction; its outcome is written afterwards.
    const Attempt a = post_message(gateway_, m);
    const Instant now = clock_.now();
    ++m.attempts;
    if (a.ok) {
      m.status = "sent";
      m.sent_at = now;
      m.provider_id = a.provider_id;
      m.last_error.clear();
      ++out.sent;
      sent_counter().inc();
    } else {
      m.last_error = a.error;
      failed_counter().inc();
      if (m.attempts >= s.max_attempts) {
        m.status = "dead";
        ++out.dead;
        dead_counter().inc();
        spdlog::warn("notification {} ({}) is dead after {} attempts: {}", m.id, m.kind, m.attempts, a.error);
      } else {
        m.status = "failed";
        m.next_attempt_at = now + backoff_after(s, m.attempts);
        ++out.failed;
      }
    }
    if (m.kind == "otp" && (m.status == "sent" || m.status == "dead")) m.body = kRedacted;
    repo_.transaction([&] { r->update_delivery(m); });
  }
  return out;
}

}  // namespace bihuan::notify
