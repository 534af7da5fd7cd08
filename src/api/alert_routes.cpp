#include "api/alert_routes.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include "api/json_io.hpp"
#include "api/loop_routes.hpp"
#include "api/nat_routes.hpp"
#include "core/error.hpp"
#include "core/rbac.hpp"
#include "loop/service.hpp"
#include "loop/watcher.hpp"
#include "nat/service.hpp"
#include "store/notify_repository.hpp"

namespace bihuan::api {

namespace {

using P = Permission;
using J = Jurisdiction;
using A = AuthMode;

// How many of the newest alerts of a source one answer looks at. More new ones than this in one
// step (about a second) are counted, and the console's list shows them all.
constexpr int kBatch = 50;

// The cursor: the newest alert id the caller has been told about, per source ("LOOP.NAT"; an
// empty or unreadable part counts as "none yet": the answer then only sets it).
struct Cursor {
  std::int64_t loop = -1, nat = -1;
};

std::int64_t part(std::string_view s) {
  std::int64_t v = -1;
  if (s.empty()) return -1;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || v < 0)
    fail(ErrorCode::invalid_argument, "after must be two alert ids joined by a dot, e.g. 120.45", "after");
  return v;
}

Cursor parse_cursor(std::string_view s) {
  Cursor c;
  if (s.empty()) return c;
  const auto dot = s.find('.');
  if (dot == std::string_view::npos) fail(ErrorCode::invalid_argument, "after must be two alert ids joined by a dot, e.g. 120.45", "after");
  c.loop = part(s.substr(0, dot));
  c.nat = part(s.substr(dot + 1));
  return c;
}

std::string cursor_text(const Cursor& c) {
  return std::to_string(c.loop) + "." + std::to_string(c.nat);
}

// The answer of both routes: the new alerts (newest first within each source), whether there
// were more than one batch holds (the lists have them all), and the cursor to ask with next.
// Subjects name orders, tubes, boxes and tasks, never a person; the console opens the alert's list for the rest, where each
// read is audited as usual.
json recent(Request& req, Context& ctx) {
  if (!ctx.who().can(P::loop_read) && !ctx.who().can(P::test_read))
    fail(ErrorCode::permission_denied, "this account sees no alerts", "");
  const Cursor in = parse_cursor(req.q("after"));
  // The newest ids of the whole deployment first: the cursor moves to them whatever the caller
  // sees, so the next question reads only what came after (never the alerts of the whole city
  // again for a grid worker whose own alerts are rare).
  auto ids = store::open_notify_repository(ctx.repo);
  Cursor out{ids->max_id("alerts"), ids->max_id("test_alerts")};
  json items = json::array();
  bool more = false;
  const Caller caller = caller_of(ctx, req);
  auto item = [&](const char* source, std::int64_t id, const std::string& kind, const std::string& severity,
                  const std::string& subject, const std::string& status, Instant raised, const char* path) {
    items.push_back({{"source", source},
                     {"id", id},
                     {"kind", kind},
                     {"severity", severity},
                     {"subject", subject},
                     {"status", status},
                     {"raised_at", ctx.svc.local_time.format(raised)},
                     {"path", path}});
  };
  std::shared_ptr<const loop::LoopSettings> settings;
  std::optional<loop::Service> loop_svc;
  auto loop_service = [&]() -> loop::Service& {
    if (!loop_svc) {
      settings = loop_settings_of(ctx);
      loop_svc.emplace(ctx.repo, profiles(ctx), *ctx.svc.clock, ctx.svc.loop_watcher, *settings);
    }
    return *loop_svc;
  };
  if (in.loop >= 0 && ctx.who().can(P::loop_read)) {
    store::AlertFilter f;
    f.after_id = in.loop;
    const auto found = loop_service().alerts(f, caller, {0, kBatch + 1});
    for (std::size_t i = 0; i < found.size() && i < static_cast<std::size_t>(kBatch); ++i) {
      const auto& a = found[i];
      item("loop", a.id, a.kind, a.severity, a.subject, a.status, a.raised_at, "/loop/alerts");
    }
    if (!found.empty()) out.loop = std::max(out.loop, found.front().id);
    if (found.size() > static_cast<std::size_t>(kBatch)) more = true;
  }
  if (in.nat >= 0 && ctx.who().can(P::test_read)) {
    nat::Service svc(ctx.repo, loop_service(), ctx.svc.code_signer, *ctx.svc.clock, nat_settings(ctx));
    const auto found = svc.alerts("", caller, {0, kBatch + 1}, std::max<std::int64_t>(in.nat, 0)).items;
    for (std::size_t i = 0; i < found.size() && i < static_cast<std::size_t>(kBatch); ++i) {
      const auto& a = found[i];
      item("nat", a.id, a.kind, a.severity, a.subject, a.status, a.raised_at, "/nat/retests");
    }
    if (!found.empty()) out.nat = std::max(out.nat, found.front().id);
    if (found.size() > static_cast<std::size_t>(kBatch)) more = true;
  }
  return {{"cursor", cursor_text(out)}, {"alerts", items}, {"more", more}};
}

Response recent_route(Request& req, Context& ctx) { return Response::json(recent(req, ctx)); }

// The first event of a stream: the cursor to start from (and, when the client came back with
// one, what it missed). The server sends the following ones (server.cpp) as this route's
// `recent` answers change.
Response stream_route(Request& req, Context& ctx) {
  const json j = recent(req, ctx);
  Response r;
  r.content_type = "text/event-stream; charset=utf-8";
  r.body = "retry: 3000\n";
  r.body += "id: ";
  r.body += j.at("cursor").get<std::string>();
  r.body += "\n";
  r.body += "event: alerts\n";
  r.body += "data: ";
  r.body += j.dump(-1, ' ', false, json::error_handler_t::replace);
  r.body += "\n\n";
  r.headers.emplace_back("X-Alert-Cursor", j.at("cursor").get<std::string>());
  return r;
}

}  // namespace

void add_alert_routes(Router& router) {
  auto add = [&router](J j, std::string pattern, std::string summary, std::vector<ParamDoc> params, Handler h) {
    router.add(Route{"GET", std::move(pattern), std::move(summary), {"alerts"}, std::move(params), A::any, std::nullopt,
                     "", std::move(h), j});
  };
  const ParamDoc after =
      qp("after", "the cursor of the previous answer (LOOP.NAT alert ids); without it only the cursor is set");
  add(J::scoped_list, std::string(kAlertRecentRoute),
      "Alerts of the caller's scope raised after a cursor: the closed loop's (loop.read) and testing's (test.read)",
      {after}, recent_route);
  add(J::scoped_list, std::string(kAlertStreamRoute),
      "The same as Server-Sent Events (text/event-stream): each new batch of alerts in scope within about a second",
      {after}, stream_route);
}

}  // namespace bihuan::api
