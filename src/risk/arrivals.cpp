#include "risk/arrivals.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "ingest/csv.hpp"
#include "ingest/encoding.hpp"
#include "ingest/fields.hpp"
#include "loop/service.hpp"
#include "store/audit.hpp"
#include "store/settings.hpp"
#include "store/transaction.hpp"

namespace bihuan::risk {

namespace {

using json = nlohmann::json;
constexpr std::int64_t kMaxListRows = 50'000;

void require(const Caller& c, Permission p, const char* name) {
  if (!c.can(p))
    fail(ErrorCode::permission_denied, std::string("role ") + bihuan::to_string(c.role) + " lacks permission " + name, "role");
}

std::optional<std::string> level_from(std::string_view s) {
  if (s == "high" || s == "高" || s == "高风险" || s == "高风险区") return "high";
  if (s == "medium" || s == "中" || s == "中风险" || s == "中风险区") return "medium";
  if (s == "low" || s == "低" || s == "低风险" || s == "低风险区") return "low";
  return std::nullopt;
}

}  // namespace

Arrivals::Arrivals(store::Repository& repo, loop::Service& loop, const Clock& clock, LocalTime local)
    : repo_(repo), loop_(loop), clock_(clock), local_(std::move(local)) {}

int Arrivals::lookback_days() {
  // [risk.arrival_lookback_days] the ninth edition's "from a risk area in the last 7 days"
  // (shared/policies/REFERENCE.md, V); a setting so that a later rule can shorten it.
  return store::setting_int(repo_, "risk.arrival_lookback_days", 7, 1, 28);
}

ListImport Arrivals::import_list(std::string_view csv, const Caller& c) {
  require(c, Permission::risk_manage, "risk.manage");
  ListImport out;
  std::string storage;
  const std::string_view text = ingest::decode_text(csv, ingest::Encoding::auto_detect, storage);
  ingest::CsvReader reader(text);
  ingest::CsvRecord rec;
  if (!reader.next(rec)) fail(ErrorCode::invalid_argument, "the list is empty", "body");
  struct Col {
    const char* key;
    std::vector<std::string> aliases;
    bool required;
  };
  const std::vector<Col> cols = {{"area_code", {"地区代码", "area_code", "行政区划代码"}, true},
                                 {"name", {"名称", "name", "风险区名称"}, true},
                                 {"level", {"等级", "level", "风险等级"}, true},
                                 {"since", {"起始日期", "since", "公布日期"}, true},
                                 {"until", {"解除日期", "until"}, false},
                                 {"source", {"来源", "source"}, false}};
  std::vector<int> idx(cols.size(), -1);
  std::vector<std::string> header;
  for (std::size_t i = 0; i < rec.fields.size(); ++i) {
    const std::string h = ingest::normalize_header(rec.fields[i]);
    header.emplace_back(ingest::trim(rec.fields[i]));
    for (std::size_t k = 0; k < cols.size(); ++k)
      for (const auto& al : cols[k].aliases)
        if (h == ingest::normalize_header(al) && idx[k] < 0) idx[k] = static_cast<int>(i);
  }
  for (std::size_t k = 0; k < cols.size(); ++k)
    if (cols[k].required && idx[k] < 0)
      fail(ErrorCode::invalid_argument, std::string("missing column ") + cols[k].key + " (" + cols[k].aliases[0] + ")",
           cols[k].key);
  const Instant now = clock_.now();
  std::vector<store::ExternalAreaRow> rows;
  std::set<std::string> seen;
  while (reader.next(rec)) {
    if (++out.total_rows > kMaxListRows) fail(ErrorCode::invalid_argument, "at most 50000 rows per list", "body");
    auto get = [&](std::size_t k) -> std::string {
      if (idx[k] < 0 || static_cast<std::size_t>(idx[k]) >= rec.fields.size()) return {};
      return std::string(ingest::trim(rec.fields[static_cast<std::size_t>(idx[k])]));
    };
    auto err = [&](std::size_t k, const std::string& value, const std::string& reason) {
      out.errors.push_back({rec.line, idx[k] >= 0 ? header[static_cast<std::size_t>(idx[k])] : cols[k].key, value, reason});
    };
    if (!rec.error.empty()) {
      out.errors.push_back({rec.line, "", "", rec.error});
      continue;
    }
    const std::size_t before = out.errors.size();
    store::ExternalAreaRow r;
    const std::string code = get(0);
    if (auto canon = canonical_area_code(code))
      r.area.area_code = *canon;
    else
      err(0, code, "not an area code of China's divisions (2 to 15 digits)");
    r.area.name = get(1);
    if (r.area.name.empty()) err(1, "", "a name is required");
    if (r.area.name.size() > 200) err(1, r.area.name.substr(0, 40), "at most 200 bytes");
    const std::string lv = get(2);
    if (auto l = level_from(lv))
      r.area.level = *l;
    else
      err(2, lv, "level must be 高, 中 or 低 (high, medium, low)");
    const std::string since = get(3);
    if (auto d = parse_date(since))
      r.area.since = *d;
    else
      err(3, since, "not a date (YYYY-MM-DD)");
    const std::string until = get(4);
    if (!until.empty()) {
      if (auto d = parse_date(until)) {
        r.area.until = *d;
        if (r.area.since.ok() && std::chrono::sys_days{*d} < std::chrono::sys_days{r.area.since})
          err(4, until, "before the start date");
      } else {
        err(4, until, "not a date (YYYY-MM-DD)");
      }
    }
    r.source = get(5);
    if (out.errors.size() != before) continue;
    const std::string key = r.area.area_code + "|" + r.area.level + "|" + format_date(r.area.since);
    if (!seen.insert(key).second) {
      err(0, code, "the same area, level and start date are listed twice");
      continue;
    }
    r.created_at = r.updated_at = now;
    r.created_by = c.user_id;
    rows.push_back(std::move(r));
  }
  if (!out.errors.empty()) return out;  // all or nothing: nothing was written
  store::in_transaction(repo_, [&] {
    auto [ins, upd] = store::open_arrival_repository(repo_)->upsert_external(rows);
    out.inserted = ins;
    out.updated = upd;
    repo_.append_audit(store::audit_of(c, now, "risk.external_import", "external_risk_area", 0, "",
                                       json{{"rows", out.total_rows}, {"inserted", ins}, {"updated", upd}}.dump()));
  });
  out.committed = true;
  return out;
}

std::vector<store::ExternalAreaRow> Arrivals::list(std::optional<Date> on, const Caller& c) {
  require(c, Permission::loop_read, "loop.read");
  auto r = store::open_arrival_repository(repo_);
  if (on) return r->external_between(*on, *on);
  return r->external_all(5000);
}

ArrivalOutcome Arrivals::report(const ArrivalInput& in, const Caller& c) {
  require(c, Permission::loop_write, "loop.write");
  return store::in_transaction(repo_, [&] { return report_in(in, c, "staff", "arrival.report"); });
}

ArrivalOutcome Arrivals::self_report(std::int64_t person_id, ArrivalInput in, const std::string& ip) {
  in.person_id = person_id;
  const Instant now = clock_.now();
  const Instant day_start = local_.start_of(local_.date_of(now));
  return store::in_transaction(repo_, [&] {
    auto p = repo_.person(person_id, Scope::everything());
    if (!p || p->merged_into != 0) fail(ErrorCode::not_found, "no such resident", "person_id");
    auto ar = store::open_arrival_repository(repo_);
    if (ar->count_reports_since(person_id, "resident", day_start) >= kSelfReportsPerDay)
      fail(ErrorCode::rate_limited,
           "at most " + std::to_string(kSelfReportsPerDay) +
               " arrival reports a day; your grid worker can correct a report already made",
           "origin");
    // The resident acts for themself only: the person's own registered area is the whole scope,
    // with the rights a grid worker of that area has to put the person into the loop.
    Caller self;
    self.user_id = 0;
    self.username = "resident:" + std::to_string(person_id);
    self.ip = ip;
    self.role = Role::grid_worker;
    self.scope = Scope::area(p->area_code);
    return report_in(in, self, "resident", "arrival.self_report");
  });
}

std::vector<store::ArrivalReportRow> Arrivals::reports_of_resident(std::int64_t person_id) {
  return store::in_transaction(repo_, [&] { return store::open_arrival_repository(repo_)->reports_of_person(person_id, 20); });
}

ArrivalOutcome Arrivals::report_in(const ArrivalInput& in, const Caller& c, const std::string& channel,
                                   const std::string& action) {
  const Instant now = clock_.now();
  const Date today = local_.date_of(now);
  const Date arrival = in.arrival.ok() ? in.arrival : today;
  const Date left_on = in.left_on.ok() ? in.left_on : arrival;
  if (std::chrono::sys_days{arrival} > std::chrono::sys_days{today})
    fail(ErrorCode::invalid_argument, "the arrival date is in the future", "arrival_date");
  if (in.note.size() > 2000) fail(ErrorCode::invalid_argument, "at most 2000 bytes", "note");
  // The origin's province, city or county must be one of China's divisions (GB/T 2260); a code
  // below a county is taken as given under its known county.
  if (const auto canon = canonical_area_code(in.origin)) {
    std::string county = canon->substr(0, std::min<std::size_t>(6, canon->size()));
    county.resize(6, '0');
    if (!find_region_code(county))
      fail(ErrorCode::invalid_argument, "origin " + in.origin + " is not in China's divisions (no area " + county + ")",
           "origin");
  }
  const int lookback = lookback_days();
  {
    // A person outside the caller's scope answers like an unknown one.
    auto p = repo_.person(in.person_id, c.scope);
    if (!p || p->merged_into != 0) fail(ErrorCode::not_found, "no such person: " + std::to_string(in.person_id), "person_id");
    auto ar = store::open_arrival_repository(repo_);
    const Date from{std::chrono::sys_days{arrival} - std::chrono::days{lookback}};
    std::vector<arrival::ExternalArea> areas;
    for (auto& row : ar->external_between(from, left_on)) areas.push_back(std::move(row.area));
    ArrivalOutcome out;
    out.decision = arrival::decide(in.origin, left_on, arrival, lookback, areas);
    store::ArrivalReportRow r;
    r.person_id = p->id;
    r.area_code = p->area_code;
    r.origin = *canonical_area_code(in.origin);
    r.left_on = left_on;
    r.arrival_date = arrival;
    r.external_area_id = out.decision.area_id;
    r.why = out.decision.why;
    r.note = in.note;
    r.created_at = now;
    r.created_by = c.user_id;
    r.channel = channel;
    if (!out.decision.group.empty()) {
      const auto& prof = loop_.profiles().get(loop_.active_profile());
      auto g = prof.groups.find(out.decision.group);
      if (g == prof.groups.end() || !g->second.traced || g->second.phases.empty()) {
        r.why += "; the active profile " + prof.name + " does not manage " + out.decision.group;
      } else if (!loop_.loop().active_orders_of_person(p->id).empty()) {
        r.group = out.decision.group;
        r.why += "; already under an active control order";
      } else {
        r.group = out.decision.group;
        loop::Stage stage = loop::Stage::destination_community;  // the grid arranges the transfer
        switch (g->second.phases.front().measure) {
          case policy::Measure::home_isolation: stage = loop::Stage::home_isolation; break;
          case policy::Measure::home_health_monitoring:
          case policy::Measure::testing_only: stage = loop::Stage::home_monitoring; break;
          default: break;
        }
        loop::NewOrder n;
        n.person_id = p->id;
        n.group = out.decision.group;
        n.source = loop::OrderSource::self_declaration;
        n.start = arrival;
        n.stage = stage;
        n.owner = loop::Owner::area(p->area_code);
        n.destination_area = p->area_code;
        n.note = "arrival report: " + out.decision.why;
        auto res = loop_.create_or_refer(n, c);
        if (res.order) r.order_id = res.order->order.id;
        if (res.referral) r.referral_id = res.referral->id;
        out.stage = loop::to_string(stage);
      }
    }
    r.id = ar->insert_report(r);
    repo_.append_audit(store::audit_of(c, now, action, "person", p->id, "",
                                       json{{"report_id", r.id}, {"origin", r.origin}, {"group", r.group},
                                            {"order_id", r.order_id}, {"referral_id", r.referral_id}}
                                           .dump()));
    out.report = *ar->report(r.id);
    return out;
  }
}

store::PageOf<store::ArrivalReportRow> Arrivals::reports(store::Page page, const Caller& c) {
  require(c, Permission::loop_read, "loop.read");
  return store::in_transaction(repo_, [&] { return store::open_arrival_repository(repo_)->reports(c.scope, page); });
}

}  // namespace bihuan::risk
