#include "enterprise/service.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "ingest/csv.hpp"
#include "loop/service.hpp"
#include "nat/service.hpp"
#include "store/audit.hpp"
#include "store/loop_repository.hpp"
#include "store/transaction.hpp"

namespace bihuan::enterprise {

using json = nlohmann::json;

namespace {

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// A JSON member of the expected type, or Error(invalid_argument) naming the field.
const json& member(const json& j, const char* key, const std::string& field) {
  if (!j.is_object() || !j.contains(key)) fail(ErrorCode::invalid_argument, field + " is required", field);
  return j.at(key);
}
std::string text_of(const json& j, const char* key, const std::string& field, bool required = true) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) {
    if (required) fail(ErrorCode::invalid_argument, field + " is required", field);
    return {};
  }
  if (!j.at(key).is_string()) fail(ErrorCode::invalid_argument, field + " must be text", field);
  return j.at(key).get<std::string>();
}

std::optional<bool> yes_no(const std::string& v) {
  if (v.empty() || v == "0" || v == "no" || v == "false" || v == "否") return false;
  if (v == "1" || v == "yes" || v == "true" || v == "是") return true;
  return std::nullopt;
}

}  // namespace

std::string plan_to_json(const Plan& p) {
  json sites = json::array();
  for (const auto& s : p.sites) {
    json zones = json::array();
    for (const auto& z : s.zones) zones.push_back({{"name", z.name}, {"kind", z.kind}});
    sites.push_back({{"name", s.name}, {"zones", zones}});
  }
  json testing = json::object();
  for (const auto& [post, key] : p.testing) testing[post] = key;
  return json{{"sites", sites},
              {"movement", p.movement},
              {"testing", testing},
              {"isolation_room", p.isolation_room},
              {"ppe_days", p.ppe_days},
              {"responsible_head", {{"name", p.head.name}, {"phone", p.head.phone}, {"post", p.head.post}}}}
      .dump();
}

Plan plan_from_json(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) fail(ErrorCode::invalid_argument, "a plan is a JSON object", "plan");
  Plan p;
  const json& sites = member(j, "sites", "sites");
  if (!sites.is_array()) fail(ErrorCode::invalid_argument, "sites must be a list", "sites");
  for (std::size_t i = 0; i < sites.size(); ++i) {
    const std::string f = "sites[" + std::to_string(i) + "]";
    PlanSite s;
    s.name = text_of(sites[i], "name", f + ".name");
    const json& zones = member(sites[i], "zones", f + ".zones");
    if (!zones.is_array()) fail(ErrorCode::invalid_argument, f + ".zones must be a list", f + ".zones");
    for (std::size_t k = 0; k < zones.size(); ++k) {
      const std::string zf = f + ".zones[" + std::to_string(k) + "]";
      s.zones.push_back({text_of(zones[k], "name", zf + ".name"), text_of(zones[k], "kind", zf + ".kind")});
    }
    p.sites.push_back(std::move(s));
  }
  p.movement = text_of(j, "movement", "movement");
  const json& testing = member(j, "testing", "testing");
  if (!testing.is_object()) fail(ErrorCode::invalid_argument, "testing maps each post to a group", "testing");
  for (const auto& [post, key] : testing.items()) {
    if (!key.is_string()) fail(ErrorCode::invalid_argument, "testing." + post + " must be text", "testing." + post);
    p.testing[post] = key.get<std::string>();
  }
  p.isolation_room = text_of(j, "isolation_room", "isolation_room", false);
  if (j.contains("ppe_days")) {
    if (!j.at("ppe_days").is_number_integer())
      fail(ErrorCode::invalid_argument, "ppe_days must be a whole number", "ppe_days");
    p.ppe_days = j.at("ppe_days").get<int>();
  }
  if (j.contains("responsible_head") && !j.at("responsible_head").is_null()) {
    const json& h = j.at("responsible_head");
    if (!h.is_object())
      fail(ErrorCode::invalid_argument, "responsible_head has name, phone and post", "responsible_head");
    p.head.name = text_of(h, "name", "responsible_head.name", false);
    p.head.phone = text_of(h, "phone", "responsible_head.phone", false);
    p.head.post = text_of(h, "post", "responsible_head.post", false);
  }
  return p;
}

Service::Service(store::Repository& repo, loop::Service& loop, nat::Service& nat, const Clock& clock, LocalTime local)
    : repo_(repo),
      loop_(loop),
      nat_(nat),
      clock_(clock),
      local_(std::move(local)),
      e_(store::open_enterprise_repository(repo)) {}

Service::~Service() = default;

template <typename F>
auto Service::write(F&& fn) -> decltype(fn()) {
  return store::in_transaction(repo_, std::forward<F>(fn));
}

void Service::audit(const Caller& c, const std::string& action, std::int64_t id, const std::string& reason,
                    const std::string& detail) {
  repo_.append_audit(store::audit_of(c, clock_.now(), action, "enterprise", id, reason, detail));
}

const policy::Profile& Service::profile() { return loop_.profiles().get(loop_.active_profile()); }

store::EnterpriseRow Service::visible(std::int64_t org_id, const Caller& c) {
  auto e = e_->enterprise(org_id);
  bool ok = e.has_value();
  if (ok && !c.everything()) {
    if (c.scope.kind == Scope::Kind::org)
      ok = c.scope.org_id == org_id;
    else
      ok = area_in_scope(c.scope, e->org.area_code);
  }
  if (!ok) fail(ErrorCode::not_found, "no such enterprise: " + std::to_string(org_id), "id");
  return *e;
}

Detail Service::detail_of(std::int64_t org_id) {
  Detail d;
  d.enterprise = *e_->enterprise(org_id);
  d.sites = e_->sites(org_id);
  d.versions = e_->plan_versions(org_id);
  return d;
}

std::vector<store::StaffRow> Service::resolve(const Registration& r, const Caller& c) {
  auto need = [](const std::string& v, const std::string& field) {
    if (trim(v).empty()) fail(ErrorCode::invalid_argument, field + " is required", field);
  };
  need(r.code, "code");
  need(r.name, "name");
  need(r.industry, "industry");
  need(r.area_code, "area_code");
  if (!repo_.area(r.area_code) || !(c.everything() || area_in_scope(c.scope, r.area_code)))
    fail(ErrorCode::not_found, "no such area: " + r.area_code, "area_code");
  if (auto o = repo_.org_by_code(r.code); o && o->kind != OrgKind::enterprise)
    fail(ErrorCode::invalid_argument, "organisation " + r.code + " is not an enterprise", "code");
  if (r.sites.empty()) fail(ErrorCode::invalid_argument, "an enterprise has at least one site", "sites");
  std::set<std::string> names;
  for (std::size_t i = 0; i < r.sites.size(); ++i) {
    const std::string f = "sites[" + std::to_string(i) + "]";
    need(r.sites[i].name, f + ".name");
    need(r.sites[i].area_code, f + ".area_code");
    if (!repo_.area(r.sites[i].area_code))
      fail(ErrorCode::invalid_argument, "no such area: " + r.sites[i].area_code, f + ".area_code");
    if (!names.insert(r.sites[i].name).second)
      fail(ErrorCode::invalid_argument, "two sites named " + r.sites[i].name, f + ".name");
  }
  std::vector<store::StaffRow> out;
  std::set<std::int64_t> seen;
  for (std::size_t i = 0; i < r.staff.size(); ++i) {
    const auto& s = r.staff[i];
    const std::string f = "staff[" + std::to_string(i) + "]";
    need(s.doc_number, f + ".doc_number");
    need(s.site, f + ".site");
    need(s.post, f + ".post");
    if (!names.count(s.site)) fail(ErrorCode::invalid_argument, "not a site of the enterprise: " + s.site, f + ".site");
    auto p = repo_.person_by_doc(trim(s.doc_number), Scope::everything());
    if (!p || p->merged_into != 0)
      fail(ErrorCode::invalid_argument,
           f + ": no person with ID number " + mask_id_number(trim(s.doc_number)) + " in the registry", f + ".doc_number");
    if (!seen.insert(p->id).second)
      fail(ErrorCode::invalid_argument, f + ": listed twice in the roster", f + ".doc_number");
    store::StaffRow row;
    row.person_id = p->id;
    row.site = s.site;
    row.post = s.post;
    row.shift = s.shift;
    out.push_back(std::move(row));
  }
  return out;
}

void Service::store_registration(const Registration& r, const std::vector<store::StaffRow>& staff, const Caller& c) {
  std::vector<Org> os(1);
  if (auto o = repo_.org_by_code(r.code)) os[0] = *o;
  os[0].code = r.code;
  os[0].name = r.name;
  os[0].kind = OrgKind::enterprise;
  os[0].area_code = r.area_code;
  if (!r.address.empty()) os[0].address = r.address;
  if (!r.phone.empty()) os[0].phone = r.phone;
  repo_.upsert_orgs(os);
  const std::int64_t org_id = os[0].id != 0 ? os[0].id : repo_.org_by_code(r.code)->id;
  store::EnterpriseRow e;
  e.org_id = org_id;
  e.industry = r.industry;
  e.white_list = r.white_list;
  e.registered_by = c.user_id;
  e.registered_at = e.updated_at = clock_.now();
  e_->insert_enterprise(e);
  e_->replace_sites(org_id, r.sites);
  e_->replace_staff(org_id, staff);
  audit(c, "enterprise.register", org_id, {},
        json{{"code", r.code}, {"sites", r.sites.size()}, {"staff", staff.size()}, {"white_list", r.white_list}}.dump());
}

Detail Service::register_enterprise(const Registration& r, const Caller& c) {
  if (!c.can(Permission::org_write))
    fail(ErrorCode::permission_denied, "registering enterprises needs org.write", "role");
  return write([&] {
    const auto staff = resolve(r, c);
    store_registration(r, staff, c);
    return detail_of(repo_.org_by_code(r.code)->id);
  });
}

ImportReport Service::import_csv(const std::string& csv, const Caller& c) {
  if (!c.can(Permission::org_write) || !c.can(Permission::import_data))
    fail(ErrorCode::permission_denied, "importing enterprises needs org.write and import", "role");
  static const std::vector<std::string> kCols = {"code",          "name",       "area_code", "address",
                                                 "industry",      "white_list", "site",      "site_address",
                                                 "site_area_code", "doc_number", "post",      "shift"};
  ImportReport rep;
  std::vector<ingest::CsvRecord> rows;
  try {
    rows = ingest::parse_csv(csv);
  } catch (const Error& e) {
    rep.errors.push_back({0, "", e.what()});
    return rep;
  }
  if (rows.empty()) {
    rep.errors.push_back({1, "", "the file is empty"});
    return rep;
  }
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < rows[0].fields.size(); ++i) {
    std::string h = trim(rows[0].fields[i]);
    if (i == 0 && h.rfind("\xEF\xBB\xBF", 0) == 0) h = h.substr(3);
    col[h] = i;
  }
  for (const auto& k : kCols)
    if (k != "address" && k != "site_address" && k != "shift" && k != "white_list" && !col.count(k))
      rep.errors.push_back({rows[0].line, k, "missing column"});
  if (!rep.errors.empty()) return rep;
  auto cell = [&](const ingest::CsvRecord& r, const std::string& k) -> std::string {
    auto it = col.find(k);
    if (it == col.end() || it->second >= r.fields.size()) return {};
    return trim(r.fields[it->second]);
  };
  // Enterprises by code, in file order, with the line of their first row.
  std::vector<std::pair<Registration, std::int64_t>> regs;
  std::map<std::string, std::size_t> by_code;
  std::map<std::string, std::set<std::string>> doc_seen;
  try {
  return write([&] {
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const auto& r = rows[i];
      const std::size_t before = rep.errors.size();
      if (!r.error.empty()) {
        rep.errors.push_back({r.line, "", r.error});
        continue;
      }
      for (const char* k : {"code", "name", "area_code", "industry", "site", "site_area_code", "doc_number", "post"})
        if (cell(r, k).empty()) rep.errors.push_back({r.line, k, "required"});
      const auto wl = yes_no(cell(r, "white_list"));
      if (!wl) rep.errors.push_back({r.line, "white_list", "must be 1/0, yes/no or 是/否"});
      const std::string area = cell(r, "area_code"), site_area = cell(r, "site_area_code");
      if (!area.empty() && (!repo_.area(area) || !(c.everything() || area_in_scope(c.scope, area))))
        rep.errors.push_back({r.line, "area_code", "no such area: " + area});
      if (!site_area.empty() && !repo_.area(site_area))
        rep.errors.push_back({r.line, "site_area_code", "no such area: " + site_area});
      const std::string code = cell(r, "code"), doc = cell(r, "doc_number");
      if (!code.empty()) {
        if (auto o = repo_.org_by_code(code)) {
          if (o->kind != OrgKind::enterprise)
            rep.errors.push_back({r.line, "code", "organisation " + code + " is not an enterprise"});
          else if (e_->enterprise(o->id))
            rep.errors.push_back({r.line, "code", "enterprise " + code + " is registered already"});
        }
      }
      if (!doc.empty()) {
        auto p = repo_.person_by_doc(doc, Scope::everything());
        if (!p || p->merged_into != 0)
          rep.errors.push_back(
              {r.line, "doc_number", "no person with ID number " + mask_id_number(doc) + " in the registry"});
        else if (!doc_seen[code].insert(p->doc_number).second)
          rep.errors.push_back({r.line, "doc_number", "listed twice in the roster of " + code});
      }
      if (rep.errors.size() != before) continue;
      auto it = by_code.find(code);
      if (it == by_code.end()) {
        Registration g;
        g.code = code;
        g.name = cell(r, "name");
        g.area_code = area;
        g.address = cell(r, "address");
        g.industry = cell(r, "industry");
        g.white_list = *wl;
        it = by_code.emplace(code, regs.size()).first;
        regs.emplace_back(std::move(g), r.line);
      }
      auto& g = regs[it->second].first;
      if (g.name != cell(r, "name") || g.area_code != area || g.industry != cell(r, "industry") || g.white_list != *wl) {
        rep.errors.push_back({r.line, "name", "name, area_code, industry and white_list differ from line " +
                                                  std::to_string(regs[it->second].second) + " of " + code});
        continue;
      }
      const std::string site = cell(r, "site");
      auto s = std::find_if(g.sites.begin(), g.sites.end(), [&](const store::SiteRow& x) { return x.name == site; });
      if (s == g.sites.end()) {
        g.sites.push_back({site, cell(r, "site_address"), site_area});
      } else if (s->area_code != site_area) {
        rep.errors.push_back({r.line, "site_area_code", "site " + site + " has another area code on an earlier line"});
        continue;
      }
      g.staff.push_back({doc, site, cell(r, "post"), cell(r, "shift")});
    }
    if (rows.size() == 1) rep.errors.push_back({rows[0].line, "", "no rows after the header"});
    if (!rep.errors.empty()) return rep;
    for (const auto& [g, line] : regs) {
      std::vector<store::StaffRow> staff;
      try {
        staff = resolve(g, c);
      } catch (const Error& e) {
        rep.errors.push_back({line, e.field(), e.what()});
        continue;
      }
      store_registration(g, staff, c);
      ++rep.enterprises;
      rep.staff += static_cast<std::int64_t>(staff.size());
    }
    if (!rep.errors.empty()) {
      // Nothing of the file is kept: roll the transaction back with the report intact.
      throw rep;
    }
    audit(c, "enterprise.import", 0, {}, json{{"enterprises", rep.enterprises}, {"staff", rep.staff}}.dump());
    return rep;
  });
  } catch (const ImportReport&) {
    rep.enterprises = 0;
    rep.staff = 0;
    return rep;
  }
}

store::PageOf<store::EnterpriseRow> Service::list(const Caller& c, store::Page page) {
  if (!c.can(Permission::org_read)) fail(ErrorCode::permission_denied, "enterprises need org.read", "role");
  return write([&] { return e_->enterprises(c.scope, page); });
}

Detail Service::detail(std::int64_t org_id, const Caller& c) {
  if (!c.can(Permission::org_read)) fail(ErrorCode::permission_denied, "enterprises need org.read", "role");
  return write([&] {
    visible(org_id, c);
    return detail_of(org_id);
  });
}

Detail Service::submit_plan(std::int64_t org_id, const Plan& p, const Caller& c) {
  if (!c.can(Permission::org_read)) fail(ErrorCode::permission_denied, "plans need org.read", "role");
  return write([&] {
    auto e = visible(org_id, c);
    const bool own = c.scope.kind == Scope::Kind::org && c.role == Role::enterprise;
    if (!own && !c.can(Permission::org_write))
      fail(ErrorCode::permission_denied, "a plan is filed by the enterprise or by the area with org.write", "role");
    if (e.status == "submitted")
      fail(ErrorCode::conflict, "version " + std::to_string(e.plan_version) + " awaits a decision", "status");
    std::vector<std::string> names, keys;
    for (const auto& s : e_->sites(org_id)) names.push_back(s.name);
    for (const auto& [k, v] : profile().routine_testing) keys.push_back(k);
    check_plan(p, names, keys);
    store::PlanVersionRow v;
    v.org_id = org_id;
    v.version = e.plan_version + 1;
    v.status = "submitted";
    v.plan = plan_to_json(p);
    v.responsible_head = p.head.name;
    v.by_user = c.user_id;
    v.by_name = c.username;
    v.acted_at = clock_.now();
    e_->add_plan_version(v);
    e.plan_version = v.version;
    e.status = "submitted";
    e.updated_at = clock_.now();
    e_->update_enterprise(e);
    audit(c, "enterprise.plan_submit", org_id, {}, json{{"version", v.version}}.dump());
    return detail_of(org_id);
  });
}

Detail Service::decide_plan(std::int64_t org_id, const Decision& d, const Caller& c) {
  if (!c.can(Permission::loop_manage))
    fail(ErrorCode::permission_denied, "deciding plans needs loop.manage (street or district)", "role");
  return write([&] {
    auto e = visible(org_id, c);
    check_decision(d);
    if (e.status != "submitted") fail(ErrorCode::conflict, "no plan awaits a decision", "status");
    const auto versions = e_->plan_versions(org_id);
    const auto& filed = versions.back();
    store::PlanVersionRow v;
    v.org_id = org_id;
    v.version = e.plan_version + 1;
    v.status = d.approve ? "approved" : "returned";
    v.plan = filed.plan;
    v.responsible_head = filed.responsible_head;
    v.epidemic_ok = d.epidemic_ok;
    v.safety_ok = d.safety_ok;
    v.reopen = reopens(d);
    v.reasons = d.reasons;
    v.by_user = c.user_id;
    v.by_name = c.username;
    v.acted_at = clock_.now();
    e_->add_plan_version(v);
    e.plan_version = v.version;
    e.status = v.status;
    e.reopened = v.reopen;
    e.updated_at = clock_.now();
    e_->update_enterprise(e);
    if (v.reopen) {
      // Closed-loop production: each post's staff are tested at the profile's frequency of the
      // group the plan names for the post (src/nat makes the tasks per person and day); the key
      // group is listed under the plan's most often tested group, and staff of posts the plan
      // does not name ("*") are tested at that group's frequency (everyone inside the loop is
      // tested; the roster may gain posts after the approval).
      const Plan p = plan_from_json(v.plan);
      std::map<std::string, int> every;
      for (const auto& [k, rt] : profile().routine_testing) every[k] = rt.every_days;
      std::map<std::string, std::string> posts;
      for (const auto& [post, group] : p.testing)
        if (every.count(group) && post != "*") posts.emplace(post, group);
      const std::string key = most_frequent(p.testing, every);
      if (!key.empty()) posts["*"] = key;
      if (!key.empty()) nat_.set_key_group(org_id, key, std::nullopt, c, posts);
    }
    audit(c, d.approve ? "enterprise.plan_approve" : "enterprise.plan_return", org_id, d.reasons,
          json{{"version", v.version}, {"epidemic_ok", d.epidemic_ok}, {"safety_ok", d.safety_ok}, {"reopen", v.reopen}}
              .dump());
    return detail_of(org_id);
  });
}

Compliance Service::compliance(std::int64_t org_id, int days, const Caller& c) {
  if (!c.can(Permission::org_read)) fail(ErrorCode::permission_denied, "enterprises need org.read", "role");
  if (days < 1 || days > 90) fail(ErrorCode::invalid_argument, "days must be between 1 and 90", "days");
  return write([&] {
    visible(org_id, c);
    Compliance out;
    const Date today = local_.date_of(clock_.now());
    out.to = format_date(today);
    out.from = format_date(Date{std::chrono::sys_days(today) - std::chrono::days(days - 1)});
    out.posts = e_->compliance(org_id, out.from, out.to);
    for (const auto& r : out.posts) store::add_counts(out.total, r);
    return out;
  });
}

ComplianceTable Service::compliance_table(int days, const Caller& c) {
  if (!c.can(Permission::org_read)) fail(ErrorCode::permission_denied, "enterprises need org.read", "role");
  if (days < 1 || days > 90) fail(ErrorCode::invalid_argument, "days must be between 1 and 90", "days");
  return write([&] {
    ComplianceTable out;
    const Date today = local_.date_of(clock_.now());
    out.to = format_date(today);
    out.from = format_date(Date{std::chrono::sys_days(today) - std::chrono::days(days - 1)});
    auto briefs = e_->briefs(c.scope);
    auto rows = e_->compliance_table(c.scope, out.from, out.to);
    out.items.reserve(briefs.size());
    std::size_t j = 0;  // both by org id
    for (auto& b : briefs) {
      ComplianceTable::Item it;
      it.enterprise = std::move(b);
      while (j < rows.size() && rows[j].org_id < it.enterprise.org_id) ++j;
      for (; j < rows.size() && rows[j].org_id == it.enterprise.org_id; ++j) {
        it.staff += rows[j].counts.staff;
        store::add_counts(it.total, rows[j].counts);
        it.posts.push_back(rows[j].counts);
      }
      out.items.push_back(std::move(it));
    }
    return out;
  });
}

std::vector<Service::MissedAlert> Service::missed(std::int64_t org_id, const Caller& c) {
  if (!c.can(Permission::org_read)) fail(ErrorCode::permission_denied, "enterprises need org.read", "role");
  return write([&] {
    visible(org_id, c);
    std::vector<MissedAlert> out;
    const auto now = clock_.now();
    for (auto& t : e_->missed_tasks(org_id, now, 1000)) {
      MissedAlert a;
      a.escalated = e_->escalated(t.task_id);
      a.task = std::move(t);
      out.push_back(std::move(a));
    }
    return out;
  });
}

std::vector<store::TestAlertRow> Service::sweep(Instant now, std::chrono::hours after) {
  std::vector<store::TestAlertRow> raised;
  write([&] {
    for (const auto& t : e_->missed_tasks(0, now - after, 1000)) {
      store::TestAlertRow a;
      a.kind = "enterprise_missed";
      a.severity = "critical";
      a.subject = "task:" + std::to_string(t.task_id);
      a.person_id = t.person_id;
      a.area_code = t.org_area;
      a.detail = json{{"task_id", t.task_id}, {"day", t.task_day}, {"org_id", t.org_id}, {"enterprise", t.org_name},
                      {"post", t.post}, {"site", t.site}}
                     .dump();
      a.raised_at = now;
      if (nat_.store().raise_alert(a)) raised.push_back(a);
    }
  });
  return raised;
}

std::vector<StaffEntry> Service::staff(std::int64_t org_id, const Caller& c) {
  if (!c.can(Permission::person_read)) fail(ErrorCode::permission_denied, "staff need person.read", "role");
  return write([&] {
    visible(org_id, c);
    const Date today = local_.date_of(clock_.now());
    const auto rows = e_->staff(org_id);
    std::vector<std::int64_t> ids;
    for (const auto& r : rows) ids.push_back(r.person_id);
    std::map<std::int64_t, std::vector<store::OrderRow>> orders;
    for (auto& o : loop_.loop().active_orders_of_persons(ids)) orders[o.order.person_id].push_back(std::move(o));
    std::map<std::int64_t, store::StaffTestRow> tests;
    for (auto& t : e_->staff_tests(org_id, format_date(today))) tests[t.person_id] = t;
    std::vector<StaffEntry> out;
    for (const auto& r : rows) {
      StaffEntry s;
      s.row = r;
      s.colour = loop_.colour_of(r.person_id, today);
      if (auto it = tests.find(r.person_id); it != tests.end()) {
        s.test_day = it->second.task_day;
        s.test_status = it->second.status;
      }
      auto it = orders.find(r.person_id);
      s.can_come = s.colour == policy::Colour::green && it == orders.end();
      if (it != orders.end())
        for (const auto& o : it->second)
          if (o.release_date && (!s.until || *o.release_date > *s.until)) s.until = o.release_date;
      out.push_back(std::move(s));
    }
    return out;
  });
}

}  // namespace bihuan::enterprise
