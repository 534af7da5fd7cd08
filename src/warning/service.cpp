#include "warning/service.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "core/vaccination.hpp"
#include "ingest/csv.hpp"
#include "response/service.hpp"

namespace bihuan::warning {

namespace {

using nlohmann::json;
using std::chrono::days;
using std::chrono::sys_days;

constexpr std::size_t kMaxRows = 500000;
constexpr std::size_t kKeptErrors = 1000;

Date plus(Date d, int n) { return Date(sys_days(d) + days(n)); }
int between(Date a, Date b) { return static_cast<int>((sys_days(b) - sys_days(a)).count()); }
std::int64_t day_number(Date d) { return sys_days(d).time_since_epoch().count(); }

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::optional<std::int64_t> to_int(const std::string& s) {
  std::int64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// A row of an input file: its number and its fields by canonical name.
struct InRow {
  std::int64_t row = 0;
  std::map<std::string, std::string> f;
  std::string error;  // broken quoting
  std::string get(const std::string& k) const {
    auto it = f.find(k);
    return it == f.end() ? std::string() : it->second;
  }
};

// Parses CSV (header row with the names or their aliases) or JSON (an array of objects, or an
// object with "rows"). Errors of the file's shape are thrown (row 1 / the element).
std::vector<InRow> read_rows(std::string_view body, std::string_view format,
                             const std::map<std::string, std::string>& aliases,
                             const std::vector<std::string>& required) {
  std::string fmt(format);
  std::string_view text = body;
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF && static_cast<unsigned char>(text[1]) == 0xBB &&
      static_cast<unsigned char>(text[2]) == 0xBF)
    text.remove_prefix(3);
  if (fmt.empty()) {
    std::size_t i = 0;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    fmt = i < text.size() && (text[i] == '[' || text[i] == '{') ? "json" : "csv";
  }
  if (fmt != "csv" && fmt != "json") fail(ErrorCode::invalid_argument, "format must be csv or json", "format");
  if (text.empty()) fail(ErrorCode::invalid_argument, "the file is empty", "body");
  std::vector<InRow> out;
  auto canonical = [&](const std::string& name) -> std::string {
    auto it = aliases.find(name);
    if (it != aliases.end()) return it->second;
    std::string low = name;
    for (auto& ch : low) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    it = aliases.find(low);
    return it == aliases.end() ? std::string() : it->second;
  };
  auto file_error = [](std::int64_t row, const std::string& field, const std::string& reason) {
    fail(ErrorCode::invalid_argument, "row " + std::to_string(row) + ", " + field + ": " + reason, field);
  };
  if (fmt == "json") {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) fail(ErrorCode::invalid_argument, "the body is not valid JSON", "body");
    if (j.is_object() && j.contains("rows")) j = j["rows"];
    if (!j.is_array()) fail(ErrorCode::invalid_argument, "the JSON must be an array of rows or {\"rows\": [...]}", "body");
    if (j.size() > kMaxRows) fail(ErrorCode::invalid_argument, "at most 500000 rows per file", "body");
    std::int64_t n = 0;
    for (const auto& el : j) {
      ++n;
      InRow r;
      r.row = n;
      if (!el.is_object()) {
        r.error = "a row must be an object";
        out.push_back(std::move(r));
        continue;
      }
      for (const auto& [k, v] : el.items()) {
        const std::string key = canonical(k);
        if (key.empty()) {
          r.f["?" + k] = "";
          continue;
        }
        if (v.is_string())
          r.f[key] = trim(v.get<std::string>());
        else if (v.is_number_integer())
          r.f[key] = std::to_string(v.get<std::int64_t>());
        else if (v.is_null())
          r.f[key] = "";
        else
          r.f[key] = v.dump();  // a float or an object: rejected by the field's check
      }
      out.push_back(std::move(r));
    }
    return out;
  }
  ingest::CsvReader reader(text);
  ingest::CsvRecord rec;
  if (!reader.next(rec)) fail(ErrorCode::invalid_argument, "the file has no header row", "body");
  std::vector<std::string> cols;
  for (const auto& h : rec.fields) {
    const std::string name = trim(h);
    const std::string key = canonical(name);
    if (key.empty()) file_error(rec.line, name, "unknown column");
    if (std::find(cols.begin(), cols.end(), key) != cols.end()) file_error(rec.line, name, "column given twice");
    cols.push_back(key);
  }
  for (const auto& r : required)
    if (std::find(cols.begin(), cols.end(), r) == cols.end()) file_error(rec.line, r, "required column missing");
  while (reader.next(rec)) {
    if (out.size() >= kMaxRows) fail(ErrorCode::invalid_argument, "at most 500000 rows per file", "body");
    InRow r;
    r.row = rec.line;
    r.error = rec.error;
    if (rec.fields.size() != cols.size() && r.error.empty())
      r.error = "has " + std::to_string(rec.fields.size()) + " fields, the header " + std::to_string(cols.size());
    for (std::size_t i = 0; i < cols.size() && i < rec.fields.size(); ++i) r.f[cols[i]] = trim(rec.fields[i]);
    out.push_back(std::move(r));
  }
  return out;
}

const char* feed_zh(Feed f) {
  switch (f) {
    case Feed::fever_clinic: return "发热门诊就诊";
    case Feed::pharmacy: return "药店退热止咳药销售";
    case Feed::school: return "学校缺课";
  }
  return "";
}

std::string fmt1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

void require(const Caller& c, Permission p, const char* why) {
  if (!c.can(p)) fail(ErrorCode::permission_denied, why, "role");
}

// Group length below an area prefix: province 2 -> city 4 -> county 6 -> street 9 -> community
// 12 -> grid 15.
int child_length(std::size_t len) {
  for (int l : {2, 4, 6, 9, 12, 15})
    if (static_cast<std::size_t>(l) > len) return l;
  return 15;
}

std::atomic<bool> feeds_changed{true};

}  // namespace

bool take_feeds_changed() { return feeds_changed.exchange(false); }

Service::Service(store::Repository& repo, const Clock& clock, LocalTime local)
    : repo_(repo), w_(store::open_warning_repository(repo)), clock_(clock), local_(std::move(local)) {}

Service::~Service() = default;

Date Service::today() const { return local_.date_of(clock_.now()); }

std::string Service::scoped_area(const std::string& area, const Caller& c, Permission need) {
  (void)need;
  if (area.empty()) {
    if (c.everything()) return {};
    if (c.scope.kind == Scope::Kind::area && !c.scope.area_prefix.empty()) return c.scope.area_prefix;
    fail(ErrorCode::not_found, "no such area", "area");
  }
  auto code = canonical_area_code(area);
  if (!code) fail(ErrorCode::invalid_argument, "area must be an area code", "area");
  if (!(c.everything() || area_in_scope(c.scope, *code)) || !repo_.area(*code))
    fail(ErrorCode::not_found, "no such area", "area");
  return *code;
}

// ------------------------------------------------------------------ feeds

void Service::check_reporter(Feed feed, const Caller& c) {
  if (c.scope.kind == Scope::Kind::org) {
    auto own = repo_.org(c.scope.org_id);
    const OrgKind want = feed == Feed::fever_clinic ? OrgKind::hospital
                         : feed == Feed::pharmacy   ? OrgKind::enterprise
                                                    : OrgKind::school;
    if (!own || own->kind != want || own->area_code.empty())
      fail(ErrorCode::permission_denied,
           std::string("the ") + to_string(feed) + " feed is reported by the command centre or by a " +
               (feed == Feed::fever_clinic ? "hospital" : feed == Feed::pharmacy ? "pharmacy (enterprise)" : "school") +
               " account for itself",
           "role");
  } else if (!c.can(Permission::import_data)) {
    fail(ErrorCode::permission_denied, "feeds are reported by holders of import (command centre) or by the reporting organisation", "role");
  }
}

FeedReport Service::ingest_feed(Feed feed, std::string_view body, std::string_view format, const Caller& c,
                                std::int64_t job_id, const Progress& prog) {
  // Who reports: the command centre (import) for any site of its area, or the clinic, pharmacy
  // or school itself (an organisation account of the matching kind) for its own site.
  check_reporter(feed, c);
  std::optional<Org> own;
  if (c.scope.kind == Scope::Kind::org) {
    own = repo_.org(c.scope.org_id);
    if (!own) fail(ErrorCode::permission_denied, "no such organisation", "role");
  }
  static const std::map<std::string, std::string> aliases = {
      {"date", "date"},           {"day", "date"},          {"日期", "date"},          {"site", "site"},
      {"site_code", "site"},      {"机构编码", "site"},     {"site_name", "site_name"}, {"机构名称", "site_name"},
      {"area_code", "area_code"}, {"区划编码", "area_code"}, {"网格编码", "area_code"}, {"count", "count"},
      {"数量", "count"},          {"人数", "count"},        {"reason", "reason"},      {"原因", "reason"},
      {"缺课原因", "reason"}};
  std::vector<std::string> required = {"date", "count"};
  if (!own) {
    required.push_back("site");
    required.push_back("area_code");
  }
  const auto rows = read_rows(body, format, aliases, required);
  FeedReport rep;
  rep.feed = to_string(feed);
  rep.rows = static_cast<std::int64_t>(rows.size());
  const Date today_d = today();
  const Date oldest = plus(today_d, -3660);
  auto err = [&](std::int64_t row, const std::string& field, const std::string& reason) {
    ++rep.error_count;
    if (rep.errors.size() < kKeptErrors) rep.errors.push_back({row, field, reason});
  };
  std::map<std::string, bool> area_ok;  // code -> exists and in scope
  std::map<std::tuple<std::string, std::string, std::string>, std::int64_t> seen;
  std::vector<store::FeedCountRow> out;
  out.reserve(rows.size());
  std::size_t done = 0;
  for (const auto& r : rows) {
    if (++done % 1000 == 0) {
      if (prog.progress) prog.progress(done, rows.size() * 2);
      if (prog.checkpoint) prog.checkpoint();
    }
    if (!r.error.empty()) {
      err(r.row, "row", r.error);
      continue;
    }
    const std::int64_t before = rep.error_count;
    for (const auto& [k, v] : r.f)
      if (!k.empty() && k[0] == '?') err(r.row, k.substr(1), "unknown field");
    store::FeedCountRow x;
    x.feed = rep.feed;
    const auto d = parse_date(r.get("date"));
    if (!d) {
      err(r.row, "date", "must be a date YYYY-MM-DD");
    } else if (sys_days(*d) > sys_days(today_d)) {
      err(r.row, "date", "is in the future");
    } else if (sys_days(*d) < sys_days(oldest)) {
      err(r.row, "date", "is more than 10 years ago");
    } else {
      x.day = format_date(*d);
    }
    const auto n = to_int(r.get("count"));
    if (!n || *n < 0 || *n > 10000000) err(r.row, "count", "must be a whole number 0..10000000");
    else x.n = *n;
    x.reason = r.get("reason");
    if (!x.reason.empty() && feed != Feed::school) err(r.row, "reason", "only the school feed has reasons");
    if (x.reason.size() > 40) err(r.row, "reason", "at most 40 bytes");
    x.site_name = r.get("site_name");
    if (x.site_name.size() > 200) err(r.row, "site_name", "at most 200 bytes");
    if (own) {
      const std::string site = r.get("site");
      if (!site.empty() && site != own->code) err(r.row, "site", "an organisation reports for itself only (" + own->code + ")");
      const std::string area = r.get("area_code");
      if (!area.empty() && canonical_area_code(area).value_or("") != own->area_code)
        err(r.row, "area_code", "an organisation reports in its own area only (" + own->area_code + ")");
      x.site = own->code;
      x.area_code = own->area_code;
      if (x.site_name.empty()) x.site_name = own->name;
    } else {
      x.site = r.get("site");
      if (x.site.empty() || x.site.size() > 64) err(r.row, "site", "must be the site's code, 1 to 64 bytes");
      const auto code = canonical_area_code(r.get("area_code"));
      if (!code || code->size() < 6) {
        err(r.row, "area_code", "must be an area code of a district or below (6 to 15 digits)");
      } else {
        auto it = area_ok.find(*code);
        if (it == area_ok.end())
          it = area_ok.emplace(*code, (c.everything() || area_in_scope(c.scope, *code)) && repo_.area(*code).has_value())
                   .first;
        if (!it->second) err(r.row, "area_code", "no such area in the caller's jurisdiction");
        else x.area_code = *code;
      }
    }
    if (rep.error_count != before) continue;
    auto key = std::make_tuple(x.site, x.day, x.reason);
    if (auto it = seen.find(key); it != seen.end()) {
      err(r.row, "date", "the file gives this site, day and reason twice (also row " + std::to_string(it->second) + ")");
      continue;
    }
    seen.emplace(std::move(key), r.row);
    if (rep.first_day.empty() || x.day < rep.first_day) rep.first_day = x.day;
    if (x.day > rep.last_day) rep.last_day = x.day;
    out.push_back(std::move(x));
  }
  if (rep.error_count > 0) return rep;  // all or nothing: nothing written
  if (out.empty()) {
    err(0, "body", "the file has no rows");
    return rep;
  }
  const Instant now = clock_.now();
  repo_.transaction([&] {
    for (std::size_t i = 0; i < out.size(); i += 1000) {
      const std::vector<store::FeedCountRow> part(out.begin() + static_cast<std::ptrdiff_t>(i),
                                                  out.begin() + static_cast<std::ptrdiff_t>(std::min(out.size(), i + 1000)));
      w_->upsert_feed_counts(part, job_id, c.user_id, now);
      if (prog.progress) prog.progress(rows.size() + i + part.size(), rows.size() * 2);
      if (prog.checkpoint) prog.checkpoint();
    }
  });
  rep.accepted = static_cast<std::int64_t>(out.size());
  rep.committed = true;
  feeds_changed = true;
  return rep;
}

Rule Service::rule_for(Feed feed, const std::string& area, std::string* from_area) {
  std::vector<std::string> chain;
  if (!area.empty()) chain.push_back(area);
  for (std::size_t l : {12u, 9u, 6u, 4u, 2u})
    if (l < area.size()) chain.push_back(area.substr(0, l));
  chain.push_back("");
  for (const auto& a : chain) {
    if (auto r = w_->rule(to_string(feed), a)) {
      Rule out;
      out.method = method_from(r->method).value_or(Method::weekday);
      out.weeks = r->weeks;
      out.k = r->k;
      out.min_count = r->min_count;
      if (from_area) *from_area = a;
      return out;
    }
  }
  if (from_area) *from_area = "default";
  return Rule{};
}

Series Service::series(Feed feed, const std::string& area, std::optional<Date> from, std::optional<Date> to,
                       const std::string& reason, const Caller& c) {
  require(c, Permission::analytics_read, "feeds and signals need analytics.read (command centre, investigator)");
  Series s;
  s.feed = feed;
  s.area = scoped_area(area, c, Permission::analytics_read);
  s.reason = reason;
  if (!reason.empty() && feed != Feed::school) fail(ErrorCode::invalid_argument, "only the school feed has reasons", "reason");
  const Date t = to.value_or(today());
  const Date f = from.value_or(plus(t, -55));
  if (sys_days(f) > sys_days(t)) fail(ErrorCode::invalid_argument, "from must not be after to", "from");
  if (between(f, t) > 365) fail(ErrorCode::invalid_argument, "at most 366 days at once", "from");
  s.rule = rule_for(feed, s.area, &s.rule_area);
  const int span = baseline_span(s.rule);
  const Date early = plus(f, -span);
  const int n = between(early, t) + 1;
  std::vector<std::optional<std::int64_t>> counts(static_cast<std::size_t>(n));
  for (const auto& d : w_->feed_days(to_string(feed), s.area, static_cast<int>(s.area.size()), format_date(early),
                                     format_date(t), reason)) {
    const auto day = parse_date(d.day);
    if (!day) continue;
    const int k = between(early, *day);
    if (k < 0 || k >= n) continue;
    auto& slot = counts[static_cast<std::size_t>(k)];
    slot = slot.value_or(0) + d.n;
  }
  const auto all = evaluate_all(counts, s.rule);
  for (int i = span; i < n; ++i) {
    s.days.push_back(plus(early, i));
    s.points.push_back(all[static_cast<std::size_t>(i)]);
  }
  return s;
}

std::vector<store::FeedCountRow> Service::sites(Feed feed, const std::string& area, const Caller& c) {
  require(c, Permission::analytics_read, "feeds and signals need analytics.read (command centre, investigator)");
  return w_->feed_sites(to_string(feed), scoped_area(area, c, Permission::analytics_read), 1000);
}

std::vector<store::WarningRuleRow> Service::rules(const Caller& c) {
  require(c, Permission::analytics_read, "warning rules need analytics.read");
  if (c.everything()) return w_->rules("");
  if (c.scope.kind != Scope::Kind::area || c.scope.area_prefix.empty()) return {};
  return w_->rules(c.scope.area_prefix);
}

store::WarningRuleRow Service::put_rule(Feed feed, const std::string& area, const Rule& r, const Caller& c) {
  require(c, Permission::response_manage, "thresholds are set by holders of response.manage (command centre)");
  check_rule(r);
  store::WarningRuleRow row;
  repo_.transaction([&] {
    if (area.empty()) {
      if (!c.everything()) fail(ErrorCode::not_found, "no such area", "area_code");
    } else {
      row.area_code = scoped_area(area, c, Permission::response_manage);
    }
    row.feed = to_string(feed);
    row.method = to_string(r.method);
    row.weeks = r.weeks;
    row.k = r.k;
    row.min_count = r.min_count;
    row.updated_by = c.user_id;
    row.updated_at = clock_.now();
    w_->put_rule(row);
  });
  feeds_changed = true;
  return row;
}

// ------------------------------------------------------------------ signals

store::PageOf<SignalView> Service::signals(const std::string& status, store::Page page, const Caller& c) {
  require(c, Permission::analytics_read, "feeds and signals need analytics.read (command centre, investigator)");
  if (!status.empty() && status != "open" && status != "closed")
    fail(ErrorCode::invalid_argument, "status must be open or closed", "status");
  store::PageOf<SignalView> out;
  std::string prefix;
  if (!c.everything()) {
    if (c.scope.kind != Scope::Kind::area || c.scope.area_prefix.empty()) return out;
    prefix = c.scope.area_prefix;
  }
  auto rows = w_->signals(prefix, status, page);
  out.next = rows.next;
  for (auto& r : rows.items) {
    SignalView v;
    v.row = std::move(r);
    if (auto a = repo_.area(v.row.area_code)) v.area_name = a->name;
    out.items.push_back(std::move(v));
  }
  return out;
}

SignalView Service::signal(std::int64_t id, const Caller& c) {
  require(c, Permission::analytics_read, "feeds and signals need analytics.read (command centre, investigator)");
  auto r = w_->signal(id);
  if (!r || !(c.everything() || area_in_scope(c.scope, r->area_code)))
    fail(ErrorCode::not_found, "no such signal", "id");
  SignalView v;
  v.row = *r;
  if (auto a = repo_.area(r->area_code)) v.area_name = a->name;
  return v;
}

SweepResult Service::sweep(Instant now, response::Service* resp) {
  SweepResult out;
  const Date t = local_.date_of(now);
  const int span = 7 * 12 + 14;  // the longest baseline and two weeks
  const Date early = plus(t, -span);
  const int n = span + 1;
  for (Feed feed : all_feeds()) {
    std::map<std::string, std::vector<std::optional<std::int64_t>>> by_area;
    for (const auto& d : w_->feed_days(to_string(feed), "", 6, format_date(early), format_date(t), "")) {
      const auto day = parse_date(d.day);
      if (!day || d.area.size() != 6) continue;
      const int k = between(early, *day);
      if (k < 0 || k >= n) continue;
      auto& v = by_area[d.area];
      if (v.empty()) v.resize(static_cast<std::size_t>(n));
      auto& slot = v[static_cast<std::size_t>(k)];
      slot = slot.value_or(0) + d.n;
    }
    // Districts with an open signal but no recent data close too.
    for (const auto& row : w_->signals("", "open", store::Page{0, 1000}).items)
      if (row.feed == to_string(feed) && !by_area.count(row.area_code))
        by_area[row.area_code].resize(static_cast<std::size_t>(n));
    for (const auto& entry : by_area) {
      // Named references, not structured bindings: the transaction's lambda captures them.
      const std::string& area = entry.first;
      const auto& counts = entry.second;
      const Rule rule = rule_for(feed, area);
      const auto points = evaluate_all(counts, rule);
      const auto run = current_run(points);
      // A run whose last report is older than 3 days is stale: the signal closes.
      const bool live = run.active && between(plus(early, static_cast<int>(run.last)), t) <= 3;
      repo_.transaction([&] {
        auto open = w_->open_signal(to_string(feed), area);
        if (!live) {
          if (!open) return;
          open->status = "closed";
          open->closed_at = now;
          open->updated_at = now;
          w_->update_signal(*open);
          ++out.closed;
          return;
        }
        const auto& p = points[run.last];
        store::SignalRow s = open.value_or(store::SignalRow{});
        const std::string since = format_date(plus(early, static_cast<int>(run.since)));
        const std::string last = format_date(plus(early, static_cast<int>(run.last)));
        if (open && open->since == since && open->last_day == last && open->observed == *p.observed &&
            open->peak == run.peak)
          return;
        s.feed = to_string(feed);
        s.area_code = area;
        s.since = since;
        s.last_day = last;
        s.observed = *p.observed;
        s.peak = run.peak;
        s.expected = p.expected.value_or(0);
        s.threshold = p.threshold.value_or(0);
        s.updated_at = now;
        if (open) {
          w_->update_signal(s);
          ++out.updated;
          return;
        }
        s.status = "open";
        s.opened_at = now;
        s.id = w_->insert_signal(s);
        ++out.opened;
        if (resp) {
          const std::string what = std::string("预警信号 #") + std::to_string(s.id) + "：" + feed_zh(feed) + "异常升高（" +
                                   last + " 观测 " + std::to_string(s.observed) + "，预期 " + fmt1(s.expected) +
                                   "，阈值 " + fmt1(s.threshold) + "）";
          const auto events = resp->raise_signal("signal:" + std::to_string(s.id), area, what, now);
          if (!events.empty()) {
            s.event_id = events.front();
            w_->update_signal(s);
            out.events.push_back(s.event_id);
          }
        }
      });
    }
  }
  return out;
}

// ------------------------------------------------------------------ vaccination

VaccinationReport Service::import_vaccinations(std::string_view csv, const Caller& c, std::int64_t job_id,
                                               const Progress& prog) {
  if (!c.can(Permission::import_data) || c.scope.kind == Scope::Kind::org)
    fail(ErrorCode::permission_denied, "vaccination records are imported by holders of import with an area (command centre)",
         "role");
  static const std::map<std::string, std::string> aliases = {
      {"id_number", "id_number"}, {"doc_number", "id_number"}, {"身份证号", "id_number"}, {"证件号码", "id_number"},
      {"dose", "dose"},           {"剂次", "dose"},           {"date", "date"},         {"接种日期", "date"},
      {"product", "product"},     {"vaccine", "product"},     {"疫苗", "product"},      {"疫苗名称", "product"},
      {"site", "site"},           {"接种单位", "site"}};
  const auto rows = read_rows(csv, "csv", aliases, {"id_number", "dose", "date", "product"});
  VaccinationReport rep;
  rep.rows = static_cast<std::int64_t>(rows.size());
  const Date today_d = today();
  const Date first_day = *parse_date("2020-01-01");
  auto err = [&](std::int64_t row, const std::string& field, const std::string& reason) {
    ++rep.error_count;
    if (rep.errors.size() < kKeptErrors) rep.errors.push_back({row, field, reason});
  };
  std::string known;
  for (const auto& p : vaccination::products()) known += (known.empty() ? "" : ", ") + p.key;
  std::map<std::pair<std::string, int>, std::int64_t> seen;
  std::vector<store::DoseRow> doses;
  std::set<std::int64_t> persons;
  std::size_t done = 0;
  for (const auto& r : rows) {
    if (++done % 1000 == 0) {
      if (prog.progress) prog.progress(done, rows.size() + rows.size() / 4);
      if (prog.checkpoint) prog.checkpoint();
    }
    if (!r.error.empty()) {
      err(r.row, "row", r.error);
      continue;
    }
    const std::int64_t before = rep.error_count;
    std::string id = r.get("id_number");
    for (auto& ch : id) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (id.empty() || id.size() > 40) {
      err(r.row, "id_number", "must be the ID number, 1 to 40 characters");
    } else if (id.size() == 18 && std::all_of(id.begin(), id.begin() + 17, [](char ch) { return ch >= '0' && ch <= '9'; }) &&
               resident_id_check_char(std::string_view(id).substr(0, 17)) != id[17]) {
      err(r.row, "id_number", "the check character of the resident ID number does not match");
    }
    const auto dose = to_int(r.get("dose"));
    if (!dose || *dose < 1 || *dose > 6) err(r.row, "dose", "must be a dose number 1..6");
    const auto d = parse_date(r.get("date"));
    if (!d) err(r.row, "date", "must be a date YYYY-MM-DD");
    else if (sys_days(*d) > sys_days(today_d)) err(r.row, "date", "is in the future");
    else if (sys_days(*d) < sys_days(first_day)) err(r.row, "date", "is before 2020");
    const auto* product = vaccination::product_from(r.get("product"));
    if (!product) err(r.row, "product", "unknown vaccine '" + r.get("product") + "' (known: " + known + ")");
    const std::string site = r.get("site");
    if (site.size() > 200) err(r.row, "site", "at most 200 bytes");
    if (rep.error_count != before) continue;
    const auto key = std::make_pair(id, static_cast<int>(*dose));
    if (auto it = seen.find(key); it != seen.end()) {
      err(r.row, "dose", "the file gives this person's dose twice (also row " + std::to_string(it->second) + ")");
      continue;
    }
    seen.emplace(key, r.row);
    // Matched in the caller's area only: a person outside it is unmatched like an unknown one.
    auto p = repo_.person_by_doc(id, c.scope);
    if (p && p->merged_into != 0) p = repo_.person(p->merged_into, c.scope);
    if (!p) {
      ++rep.unmatched_count;
      if (rep.unmatched.size() < kKeptErrors)
        rep.unmatched.push_back({r.row, mask_id_number(id), "no person with this ID number in the registry of the caller's area"});
      continue;
    }
    store::DoseRow x;
    x.person_id = p->id;
    x.dose = static_cast<int>(*dose);
    x.day = format_date(*d);
    x.product = product->key;
    x.site = site;
    doses.push_back(std::move(x));
    persons.insert(p->id);
  }
  if (rep.error_count > 0) return rep;  // all or nothing
  const Instant now = clock_.now();
  repo_.transaction([&] {
    w_->upsert_doses(doses, job_id, now);
    std::size_t k = 0;
    for (auto pid : persons) {
      std::vector<vaccination::Dose> ds;
      for (const auto& r : w_->doses_of(pid)) ds.push_back({r.dose, *parse_date(r.day), r.product});
      const auto st = vaccination::status_of(ds);
      store::VaccinationStatusRow row;
      row.person_id = pid;
      row.doses = st.doses;
      auto f = [](const std::optional<Date>& v) { return v ? format_date(*v) : std::string(); };
      row.first_day = f(st.first);
      row.full_day = f(st.full_course);
      row.booster_day = f(st.booster);
      row.last_day = f(st.last);
      w_->put_status(row, now);
      if (++k % 1000 == 0) {
        if (prog.progress) prog.progress(rows.size() + k / 4, rows.size() + rows.size() / 4);
        if (prog.checkpoint) prog.checkpoint();
      }
    }
  });
  rep.accepted = static_cast<std::int64_t>(doses.size());
  rep.persons = static_cast<std::int64_t>(persons.size());
  rep.committed = true;
  return rep;
}

CoverageView Service::coverage(const std::string& area, const Caller& c) {
  require(c, Permission::analytics_read, "vaccination coverage needs analytics.read (command centre, investigator)");
  CoverageView v;
  v.area = scoped_area(area, c, Permission::analytics_read);
  v.on = today();
  v.group_length = v.area.empty() ? 6 : child_length(v.area.size());
  std::vector<std::string> cuts;
  for (int y : {3, 18, 60, 70, 80}) cuts.push_back(format_date(vaccination::born_by(y, v.on)));
  v.rows = w_->coverage(v.area, v.group_length, cuts, format_date(v.on));
  return v;
}

store::PageOf<ElderlyItem> Service::elderly(const std::string& area, const std::string& band, store::Page page,
                                            const Caller& c) {
  require(c, Permission::person_read, "the list needs person.read (grid worker, command centre)");
  if (page.limit < 1 || page.limit > 200) fail(ErrorCode::invalid_argument, "limit must be 1..200", "limit");
  int lo = 60, hi = 0;
  if (band == "60-69") hi = 70;
  else if (band == "70-79") lo = 70, hi = 80;
  else if (band == "80+") lo = 80;
  else if (!band.empty()) fail(ErrorCode::invalid_argument, "band must be 60-69, 70-79 or 80+", "band");
  const std::string prefix = scoped_area(area, c, Permission::person_read);
  const Date on = today();
  const auto rows = w_->not_fully_vaccinated(prefix, format_date(vaccination::born_by(lo, on)),
                                             hi ? format_date(vaccination::born_by(hi, on)) : std::string(), page);
  store::PageOf<ElderlyItem> out;
  out.next = rows.next;
  for (const auto& r : rows.items) {
    auto p = repo_.person(r.person_id, c.scope);
    if (!p) continue;
    ElderlyItem it;
    it.age = vaccination::age_on(p->birth_date, on);
    it.person = std::move(*p);
    it.doses = r.doses;
    it.last_day = r.last_day;
    out.items.push_back(std::move(it));
  }
  return out;
}

// ------------------------------------------------------------------ capacity

CapacityView Service::capacity(const std::string& area, int horizon, const Caller& c) {
  require(c, Permission::analytics_read, "capacity needs analytics.read (command centre, investigator)");
  if (horizon < 1 || horizon > 60) fail(ErrorCode::invalid_argument, "horizon must be 1..60 days", "horizon");
  CapacityView v;
  v.area = scoped_area(area, c, Permission::analytics_read);
  const Date t = today();
  const Instant since = local_.start_of(plus(t, -59));
  const auto offset_ms = static_cast<std::int64_t>(local_.offset.count()) * 60000;
  auto fill = [&](CapacityPart& part, const store::StayFacts& f, double fallback) {
    for (int i = 27; i >= 0; --i) part.days.push_back(plus(t, -i));
    part.admissions.assign(28, 0);
    const std::int64_t first = day_number(part.days.front());
    for (const auto& [day, count] : f.admissions) {
      const auto k = day - first;
      if (k >= 0 && k < 28) part.admissions[static_cast<std::size_t>(k)] += count;
    }
    part.occupied = f.occupied;
    part.mean_stay = capacity::mean_stay(f.stays_days, fallback);
    part.mean_stay_default = f.stays_days.size() < 5;
    capacity::ForecastInput in;
    in.occupied = f.occupied;
    in.admissions = part.admissions;
    in.mean_stay = part.mean_stay;
    in.horizon = horizon;
    part.forecast = capacity::forecast(in);
    for (int i = 1; i <= horizon; ++i) part.forecast_days.push_back(plus(t, i));
  };
  v.rooms.sites = w_->quarantine_sites(v.area);
  for (const auto& s : v.rooms.sites) v.rooms.capacity += s.beds;
  // Without 5 completed stays: 7 days of central quarantine (ninth edition) and 10 days in hospital (U).
  fill(v.rooms, w_->room_stays(v.area, since, offset_ms), 7);
  v.beds.sites = w_->hospitals(v.area);
  for (auto& s : v.beds.sites) {
    if (auto b = repo_.setting("capacity.beds." + s.code)) {
      std::int64_t beds = 0;
      auto [p, ec] = std::from_chars(b->data(), b->data() + b->size(), beds);
      if (ec == std::errc() && p == b->data() + b->size() && beds >= 0) s.beds = beds;
    }
    v.beds.capacity += s.beds;
  }
  fill(v.beds, w_->hospital_stays(v.area, since, offset_ms), 10);
  return v;
}

}  // namespace bihuan::warning
