#include "api/bulletin_routes.hpp"

#include <limits>

#include "api/json_io.hpp"
#include "api/loop_routes.hpp"
#include "bulletin/service.hpp"
#include "core/area.hpp"
#include "core/error.hpp"
#include "core/rbac.hpp"
#include "loop/service.hpp"

namespace bihuan::api {

namespace {

using P = Permission;
using J = Jurisdiction;
using A = AuthMode;
using nlohmann::ordered_json;

bulletin::Service service(Context& ctx) { return bulletin::Service(ctx.repo, *ctx.svc.clock, ctx.svc.local_time); }

template <typename T, typename F>
json page_json(const store::PageOf<T>& p, F&& f) {
  json items = json::array();
  for (const auto& x : p.items) items.push_back(f(x));
  return {{"items", items}, {"next", p.next == 0 ? json(nullptr) : json(p.next)}};
}

json at_json(const std::optional<Instant>& t, const LocalTime& l) { return t ? json(l.format(*t)) : json(nullptr); }

json figures_of(const bulletin::Figures& f) { return json::parse(bulletin::figures_json(f)); }

json notices_of(const std::vector<bulletin::Notice>& ns) { return json::parse(bulletin::notices_json(ns)); }

json erratum_json(const store::ErratumRow& e, const LocalTime& l) {
  return {{"id", e.id},
          {"bulletin_id", e.bulletin_id},
          {"area_code", e.area_code},
          {"day", e.day},
          {"revision", e.revision},
          {"field", e.field},
          {"label_zh", bulletin::label_zh(e.field)},
          {"old_value", e.old_value},
          {"new_value", e.new_value},
          {"reason", e.reason},
          {"at", l.format(e.at)}};
}

// A bulletin for the console (who generated and published it) or the public (no user ids).
json bulletin_json(const bulletin::BulletinView& v, const LocalTime& l, bool console) {
  const Date day = *parse_date(v.row.day);
  json j{{"area_code", v.row.area_code},
         {"area_name", v.area_name},
         {"day", v.row.day},
         {"revision", v.row.revision},
         {"status", v.row.status},
         {"latest", v.latest},
         {"figures", figures_of(v.figures)},
         {"notices", notices_of(v.notices)},
         {"note", v.row.note},
         {"correction_reason", v.row.correction_reason},
         {"published_at", at_json(v.row.published_at, l)},
         {"text_zh", bulletin::text(v.figures, v.notices, day, v.area_name, false)},
         {"text_en", bulletin::text(v.figures, v.notices, day, v.area_name, true)},
         {"errata", json::array()}};
  for (const auto& e : v.errata) j["errata"].push_back(erratum_json(e, l));
  if (console) {
    j["id"] = v.row.id;
    j["rev"] = v.row.rev;
    j["generated_at"] = l.format(v.row.generated_at);
    j["generated_by"] = v.row.generated_by;
    j["published_by"] = v.row.published_by;
  }
  return j;
}

json row_json(const store::BulletinRow& b, const LocalTime& l) {
  const auto f = bulletin::figures_from_json(b.figures);
  return {{"id", b.id},
          {"area_code", b.area_code},
          {"day", b.day},
          {"revision", b.revision},
          {"status", b.status},
          {"confirmed", f.confirmed},
          {"confirmed_local", f.confirmed_local},
          {"asymptomatic", f.asymptomatic},
          {"asymptomatic_local", f.asymptomatic_local},
          {"generated_at", l.format(b.generated_at)},
          {"published_at", at_json(b.published_at, l)},
          {"rev", b.rev}};
}

json article_json(const store::ArticleRow& a, const LocalTime& l, bool console, bool body) {
  json j{{"id", a.id},
         {"category", a.category},
         {"title", a.title},
         {"summary", a.summary},
         {"published_at", at_json(a.published_at, l)},
         {"updated_at", l.format(a.updated_at)}};
  if (body) j["body"] = a.body;
  if (console) {
    j["area_code"] = a.area_code;
    j["status"] = a.status;
    j["created_at"] = l.format(a.created_at);
    j["created_by"] = a.created_by;
    j["rev"] = a.rev;
  }
  return j;
}

// ---------------------------------------------------------------- console

Response list_bulletins(Request& req, Context& ctx) {
  auto s = service(ctx);
  const auto limit = query_int(req.q("limit"), "limit", 1, 1000, 60);
  json items = json::array();
  for (const auto& b : s.list(std::string(req.q("status")), std::string(req.q("before")), static_cast<int>(limit),
                              caller_of(ctx, req)))
    items.push_back(row_json(b, ctx.svc.local_time));
  return Response::json({{"items", items}});
}

Response generate(Request& req, Context& ctx) {
  const json b = req.body.empty() ? json::object() : parse_object(req.body);
  auto s = service(ctx);
  auto v = s.generate(opt_string(b, "day").value_or(""), opt_string(b, "area").value_or(""), caller_of(ctx, req));
  return Response::json(bulletin_json(v, ctx.svc.local_time, true), 201);
}

Response get_bulletin(Request& req, Context& ctx) {
  auto s = service(ctx);
  const auto id = path_id(req);
  const auto format = req.q("format");
  if (format == "xlsx") {
    Response r;
    r.body = s.xlsx(id, caller_of(ctx, req));
    r.content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"bulletin-" + std::to_string(id) + ".xlsx\"");
    return r;
  }
  auto v = s.get(id, caller_of(ctx, req));
  if (format == "text") {
    Response r;
    r.content_type = "text/plain; charset=utf-8";
    r.body = bulletin::text(v.figures, v.notices, *parse_date(v.row.day), v.area_name, req.q("lang") == "en");
    return r;
  }
  if (!format.empty()) fail(ErrorCode::invalid_argument, "format must be text or xlsx", "format");
  return Response::json(bulletin_json(v, ctx.svc.local_time, true));
}

Response edit_bulletin(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  std::vector<bulletin::NoticeEdit> edits;
  if (auto it = b.find("notices"); it != b.end()) {
    if (!it->is_array()) fail(ErrorCode::invalid_argument, "notices must be an array", "notices");
    std::size_t i = 0;
    for (const auto& n : *it) {
      const std::string where = "notices[" + std::to_string(i) + "]";
      if (!n.is_object()) fail(ErrorCode::invalid_argument, where + " must be an object", where);
      bulletin::NoticeEdit e;
      e.case_id = opt_int(n, "case_id").value_or(0);
      if (e.case_id <= 0) fail(ErrorCode::invalid_argument, where + ": case_id is required", where + ".case_id");
      e.kind = opt_string(n, "kind").value_or("");
      e.text_zh = opt_string(n, "text_zh");
      e.text_en = opt_string(n, "text_en");
      edits.push_back(std::move(e));
      ++i;
    }
  }
  auto s = service(ctx);
  auto v = s.edit(path_id(req), opt_string(b, "note"), edits, req_int(b, "rev"), caller_of(ctx, req));
  return Response::json(bulletin_json(v, ctx.svc.local_time, true));
}

Response publish_bulletin(Request& req, Context& ctx) {
  const json b = req.body.empty() ? json::object() : parse_object(req.body);
  auto s = service(ctx);
  auto v = s.publish(path_id(req), opt_string(b, "reason").value_or(""), opt_int(b, "rev").value_or(0),
                     caller_of(ctx, req));
  ctx.svc.public_cache.bump();
  return Response::json(bulletin_json(v, ctx.svc.local_time, true));
}

bulletin::ArticleInput article_input(const json& b) {
  bulletin::ArticleInput in;
  in.category = opt_string(b, "category");
  in.title = opt_string(b, "title");
  in.summary = opt_string(b, "summary");
  in.body = opt_string(b, "body");
  return in;
}

Response list_articles(Request& req, Context& ctx) {
  auto s = service(ctx);
  auto page = s.articles(std::string(req.q("status")), query_page(req.q("limit"), req.q("after")), caller_of(ctx, req));
  return Response::json(page_json(page, [&](const store::ArticleRow& a) { return article_json(a, ctx.svc.local_time, true, false); }));
}

Response create_article(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  auto s = service(ctx);
  auto a = s.create_article(article_input(b), opt_string(b, "area").value_or(""), caller_of(ctx, req));
  return Response::json(article_json(a, ctx.svc.local_time, true, true), 201);
}

Response get_article(Request& req, Context& ctx) {
  auto s = service(ctx);
  return Response::json(article_json(s.article(path_id(req), caller_of(ctx, req)), ctx.svc.local_time, true, true));
}

Response update_article(Request& req, Context& ctx) {
  const json b = parse_object(req.body);
  auto s = service(ctx);
  auto a = s.update_article(path_id(req), article_input(b), req_int(b, "rev"), caller_of(ctx, req));
  if (a.status == "published") ctx.svc.public_cache.bump();
  return Response::json(article_json(a, ctx.svc.local_time, true, true));
}

Response publish_article(Request& req, Context& ctx) {
  const json b = req.body.empty() ? json::object() : parse_object(req.body);
  auto s = service(ctx);
  auto a = s.publish_article(path_id(req), opt_int(b, "rev").value_or(0), caller_of(ctx, req));
  ctx.svc.public_cache.bump();
  return Response::json(article_json(a, ctx.svc.local_time, true, true));
}

Response withdraw_article(Request& req, Context& ctx) {
  const json b = req.body.empty() ? json::object() : parse_object(req.body);
  auto s = service(ctx);
  auto a = s.withdraw_article(path_id(req), opt_string(b, "reason").value_or(""), opt_int(b, "rev").value_or(0),
                              caller_of(ctx, req));
  ctx.svc.public_cache.bump();
  return Response::json(article_json(a, ctx.svc.local_time, true, true));
}

// ---------------------------------------------------------------- public (no login)

// Public answers: kept in memory for a short while (PublicCache) and cacheable by browsers and
// proxies for a minute.
Response cached(Request& req, Context& ctx, const std::function<Response()>& make) {
  std::string key(req.path);
  char sep = '?';
  for (const auto& [k, v] : req.query) {
    key += sep + k + "=" + v;
    sep = '&';
  }
  Response r = ctx.svc.public_cache.get(key, ctx.now(), make);
  r.headers.emplace_back("Cache-Control", "public, max-age=60");
  return r;
}

std::string portal_area(Request& req, bulletin::Service& s) {
  const std::string a(req.q("area"));
  if (a.empty()) return s.top_area();
  auto canon = canonical_area_code(a);
  if (!canon) fail(ErrorCode::invalid_argument, "area must be an area code", "area");
  return *canon;
}

std::string active_profile(Context& ctx) {
  const auto& ps = profiles(ctx);
  loop::Service loop(ctx.repo, ps, *ctx.svc.clock);
  return loop.active_profile();
}

json phases_json(const std::vector<policy::Phase>& phases) {
  json a = json::array();
  for (const auto& p : phases) {
    json days = json::array();
    for (int d : p.test_days) days.push_back(d);
    a.push_back({{"measure", policy::to_string(p.measure)}, {"days", p.days}, {"test_days", days},
                 {"colour", policy::to_string(p.colour)}});
  }
  return a;
}

json measures_json(const bulletin::TravellerMeasures& m) {
  json rules = json::array();
  for (const auto& r : m.rules)
    rules.push_back({{"level", r.level},
                     {"group", r.group_key},
                     {"group_name_zh", r.group_name_zh},
                     {"note", r.note},
                     {"phases", phases_json(r.phases)},
                     {"units", r.units}});
  return {{"profile", m.profile}, {"profile_title", m.profile_title}, {"area_code", m.area_code},
          {"area_name", m.area_name}, {"rules", rules}};
}

Response public_home(Request& req, Context& ctx) {
  return cached(req, ctx, [&] {
    auto s = service(ctx);
    const std::string area = portal_area(req, s);
    json out{{"area_code", area}, {"area_name", s.area_name(area)}, {"bulletin", nullptr}, {"articles", json::array()}};
    const auto latest = s.public_bulletins(area, 1, "");
    if (!latest.empty())
      if (auto v = s.public_bulletin(area, latest.front().day)) out["bulletin"] = bulletin_json(*v, ctx.svc.local_time, false);
    for (const auto& a : s.public_articles(store::Page{0, 5}).items)
      out["articles"].push_back(article_json(a, ctx.svc.local_time, false, false));
    try {
      const auto& ps = profiles(ctx);
      const auto name = active_profile(ctx);
      out["profile"] = name;
      out["profile_title"] = ps.get(name).title;
    } catch (const Error&) {
      out["profile"] = nullptr;
    }
    return Response::json(out);
  });
}

Response public_districts(Request& req, Context& ctx) {
  return cached(req, ctx, [&] {
    auto s = service(ctx);
    const std::string area = portal_area(req, s);
    json items = json::array();
    for (const auto& [code, name] : s.districts(area)) items.push_back({{"code", code}, {"name", name}});
    return Response::json({{"items", items}});
  });
}

Response public_bulletins(Request& req, Context& ctx) {
  return cached(req, ctx, [&] {
    auto s = service(ctx);
    const std::string area = portal_area(req, s);
    const auto limit = query_int(req.q("limit"), "limit", 1, 100, 30);
    json items = json::array();
    for (const auto& b : s.public_bulletins(area, static_cast<int>(limit), std::string(req.q("before")))) {
      const auto f = bulletin::figures_from_json(b.figures);
      items.push_back({{"day", b.day},
                       {"revision", b.revision},
                       {"confirmed", f.confirmed},
                       {"confirmed_local", f.confirmed_local},
                       {"confirmed_imported", f.confirmed_imported},
                       {"asymptomatic", f.asymptomatic},
                       {"asymptomatic_local", f.asymptomatic_local},
                       {"under_treatment", f.under_treatment},
                       {"corrected", b.revision > 1},
                       {"published_at", at_json(b.published_at, ctx.svc.local_time)}});
    }
    return Response::json({{"area_code", area}, {"area_name", s.area_name(area)}, {"items", items}});
  });
}

Response public_bulletin(Request& req, Context& ctx) {
  return cached(req, ctx, [&] {
    auto s = service(ctx);
    const std::string area = portal_area(req, s);
    const std::string day(req.param("day"));
    auto v = s.public_bulletin(area, day);
    if (!v) fail(ErrorCode::not_found, "no bulletin was published for " + day, "day");
    return Response::json(bulletin_json(*v, ctx.svc.local_time, false));
  });
}

Response public_errata(Request& req, Context& ctx) {
  return cached(req, ctx, [&] {
    auto s = service(ctx);
    const std::string area = portal_area(req, s);
    json items = json::array();
    for (const auto& e : s.public_errata(area, 500)) {
      json j = erratum_json(e, ctx.svc.local_time);
      j.erase("bulletin_id");
      items.push_back(j);
    }
    return Response::json({{"items", items}});
  });
}

// Open data: the published daily counts, one row per day (the latest published revision).
Response public_open_data(Request& req, Context& ctx) {
  return cached(req, ctx, [&] {
    auto s = service(ctx);
    const std::string area = portal_area(req, s);
    const auto rows = s.public_open_data(area);
    const std::string file(req.param("file"));
    const std::string format = file == "daily.csv" ? "csv" : file == "daily.json" ? "json" : "";
    if (format == "csv") {
      Response r;
      r.content_type = "text/csv; charset=utf-8";
      r.headers.emplace_back("Content-Disposition", "attachment; filename=\"daily-" + (area.empty() ? std::string("all") : area) + ".csv\"");
      r.body = "date,area_code,revision";
      for (const auto& [k, _] : bulletin::named(bulletin::Figures{})) {
        r.body += ',';
        r.body += k;
      }
      r.body += "\n";
      for (const auto& b : rows) {
        r.body += b.day + "," + b.area_code + "," + std::to_string(b.revision);
        for (const auto& [_, v] : bulletin::named(bulletin::figures_from_json(b.figures))) {
          r.body += ',';
          r.body += std::to_string(v);
        }
        r.body += "\n";
      }
      return r;
    }
    if (format != "json") fail(ErrorCode::not_found, "open data is daily.csv or daily.json", "format");
    json items = json::array();
    for (const auto& b : rows) {
      ordered_json j{{"date", b.day}, {"area_code", b.area_code}, {"revision", b.revision}};
      for (const auto& [k, v] : bulletin::named(bulletin::figures_from_json(b.figures))) j[k] = v;
      items.push_back(json::parse(j.dump()));
    }
    return Response::json({{"area_code", area}, {"items", items}});
  });
}

Response public_articles(Request& req, Context& ctx) {
  return cached(req, ctx, [&] {
    auto s = service(ctx);
    auto page = s.public_articles(query_page(req.q("limit"), req.q("after")));
    return Response::json(page_json(page, [&](const store::ArticleRow& a) { return article_json(a, ctx.svc.local_time, false, false); }));
  });
}

Response public_article(Request& req, Context& ctx) {
  return cached(req, ctx, [&] {
    auto s = service(ctx);
    auto a = s.public_article(path_id(req));
    if (!a) fail(ErrorCode::not_found, "no such article", "id");
    return Response::json(article_json(*a, ctx.svc.local_time, false, true));
  });
}

Response public_measures(Request& req, Context& ctx) {
  return cached(req, ctx, [&] {
    auto s = service(ctx);
    const auto& ps = profiles(ctx);
    const auto name = active_profile(ctx);
    return Response::json(measures_json(s.measures(ps.get(name), std::string(req.q("area")))));
  });
}

}  // namespace

void add_bulletin_routes(Router& router) {
  const std::string js = "application/json";
  auto add = [&router](J j, std::string method, std::string pattern, std::string summary, std::vector<ParamDoc> params,
                       A auth, std::optional<Permission> perm, std::string body, Handler h) {
    router.add(Route{std::move(method), std::move(pattern), std::move(summary), {"bulletin"}, std::move(params), auth,
                     perm, std::move(body), std::move(h), j});
  };
  const auto id = pp("id", "id");

  add(J::scoped_list, "GET", "/api/bulletins", "Daily bulletins of areas inside the caller's, newest day first (drafts for publishers)",
      {qp("status", "draft, published or superseded"), qp("before", "days before this date"), qp("limit", "1-1000", "integer")},
      A::any, P::analytics_read, "", list_bulletins);
  add(J::scoped_create, "POST", "/api/bulletins",
      "Generate the day's draft from the data (or refresh it, or start a correction of a published day)", {}, A::any,
      P::bulletin_publish, js, generate);
  add(J::scoped_object, "GET", "/api/bulletins/{id}", "One bulletin (JSON, format=text with lang=en, or format=xlsx)",
      {id, qp("format", "text or xlsx"), qp("lang", "en for English text")}, A::any, P::analytics_read, "", get_bulletin);
  add(J::scoped_object, "PUT", "/api/bulletins/{id}", "Review a draft: its note and the wording of its notices", {id}, A::any,
      P::bulletin_publish, js, edit_bulletin);
  add(J::scoped_object, "POST", "/api/bulletins/{id}/publish",
      "Publish a draft (a correction of a published day needs a reason and writes the errata)", {id}, A::any,
      P::bulletin_publish, js, publish_bulletin);
  add(J::scoped_list, "GET", "/api/articles", "Health-education articles of the caller's area",
      with_paging({qp("status", "draft, published or withdrawn")}), A::any, P::bulletin_publish, "", list_articles);
  add(J::scoped_create, "POST", "/api/articles", "Write a health-education article (a draft)", {}, A::any,
      P::bulletin_publish, js, create_article);
  add(J::scoped_object, "GET", "/api/articles/{id}", "One article", {id}, A::any, P::bulletin_publish, "", get_article);
  add(J::scoped_object, "PUT", "/api/articles/{id}", "Edit an article", {id}, A::any, P::bulletin_publish, js, update_article);
  add(J::scoped_object, "POST", "/api/articles/{id}/publish", "Publish an article on the portal", {id}, A::any,
      P::bulletin_publish, js, publish_article);
  add(J::scoped_object, "POST", "/api/articles/{id}/withdraw", "Withdraw a published article, with the reason", {id}, A::any,
      P::bulletin_publish, js, withdraw_article);

  const auto area = qp("area", "area code (default: the system's top area)");
  add(J::open, "GET", "/api/public/home", "The portal's front page: the latest bulletin, articles, the policy in force",
      {area}, A::none, std::nullopt, "", public_home);
  add(J::open, "GET", "/api/public/districts", "The districts of the portal's area (for the risk-area and travel queries)",
      {area}, A::none, std::nullopt, "", public_districts);
  add(J::open, "GET", "/api/public/bulletins", "Published daily bulletins, newest first",
      {area, qp("before", "days before this date"), qp("limit", "1-100", "integer")}, A::none, std::nullopt, "",
      public_bulletins);
  add(J::open, "GET", "/api/public/bulletins/{day}", "The published bulletin of a day (the latest revision) with its errata",
      {pp("day", "YYYY-MM-DD"), area}, A::none, std::nullopt, "", public_bulletin);
  add(J::open, "GET", "/api/public/errata", "Corrections of published figures, newest first", {area}, A::none, std::nullopt,
      "", public_errata);
  add(J::open, "GET", "/api/public/open-data/{file}", "Open data: the published daily counts (daily.csv or daily.json)",
      {pp("file", "daily.csv or daily.json"), area}, A::none, std::nullopt, "", public_open_data);
  add(J::open, "GET", "/api/public/articles", "Published health-education articles", with_paging({}), A::none, std::nullopt,
      "", public_articles);
  add(J::open, "GET", "/api/public/articles/{id}", "One published article", {id}, A::none, std::nullopt, "", public_article);
  add(J::open, "GET", "/api/public/measures",
      "What a traveller from an area meets under the policy in force, with the published risk areas there",
      {qp("area", "area code of where the traveller comes from")}, A::none, std::nullopt, "", public_measures);
}

}  // namespace bihuan::api
