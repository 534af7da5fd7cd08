#include "bulletin/service.hpp"

#include <nlohmann/json.hpp>
#include <xlsxwriter.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unistd.h>

#include "core/area.hpp"
#include "core/error.hpp"
#include "store/audit.hpp"
#include "store/transaction.hpp"

namespace bihuan::bulletin {

using nlohmann::json;

namespace {

constexpr int kMaxNote = 2000;
constexpr int kMaxNotice = 1000;
constexpr int kMaxTitle = 200;
constexpr int kMaxSummary = 500;
constexpr int kMaxBody = 50000;
const std::set<std::string> kCategories{"prevention", "vaccination", "testing", "travel", "policy", "mental_health",
                                        "other"};

json part_json(const Part& p) {
  return {{"key", p.key}, {"name", p.name}, {"confirmed", p.confirmed}, {"asymptomatic", p.asymptomatic}};
}
Part part_of(const json& j) {
  Part p;
  p.key = j.value("key", "");
  p.name = j.value("name", "");
  p.confirmed = j.value("confirmed", std::int64_t{0});
  p.asymptomatic = j.value("asymptomatic", std::int64_t{0});
  return p;
}

std::int64_t& field_ref(Figures& f, const std::string& name) {
  static std::int64_t unused = 0;
  if (name == "confirmed") return f.confirmed;
  if (name == "confirmed_imported") return f.confirmed_imported;
  if (name == "confirmed_local") return f.confirmed_local;
  if (name == "confirmed_converted") return f.confirmed_converted;
  if (name == "asymptomatic") return f.asymptomatic;
  if (name == "asymptomatic_imported") return f.asymptomatic_imported;
  if (name == "asymptomatic_local") return f.asymptomatic_local;
  if (name == "recovered") return f.recovered;
  if (name == "asymptomatic_released") return f.asymptomatic_released;
  if (name == "deaths") return f.deaths;
  if (name == "contacts_traced") return f.contacts_traced;
  if (name == "contacts_released") return f.contacts_released;
  if (name == "under_treatment") return f.under_treatment;
  if (name == "severe") return f.severe;
  if (name == "asymptomatic_under_observation") return f.asymptomatic_under_observation;
  if (name == "contacts_under_observation") return f.contacts_under_observation;
  if (name == "total_confirmed") return f.total_confirmed;
  if (name == "total_asymptomatic") return f.total_asymptomatic;
  if (name == "total_recovered") return f.total_recovered;
  if (name == "total_deaths") return f.total_deaths;
  unused = 0;
  return unused;
}

Date parse_day(const std::string& day) {
  auto d = parse_date(day);
  if (!d) fail(ErrorCode::invalid_argument, "day must be a date YYYY-MM-DD", "day");
  return *d;
}

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::optional<Date> local_day(const std::optional<Instant>& t, const LocalTime& l) {
  if (!t) return std::nullopt;
  return l.date_of(*t);
}

}  // namespace

std::string figures_json(const Figures& f) {
  json j = json::object();
  for (const auto& [k, v] : named(f)) j[k] = v;
  j["imported_by_origin"] = json::array();
  for (const auto& p : f.imported_by_origin) j["imported_by_origin"].push_back(part_json(p));
  j["local_by_district"] = json::array();
  for (const auto& p : f.local_by_district) j["local_by_district"].push_back(part_json(p));
  return j.dump();
}

Figures figures_from_json(const std::string& text) {
  Figures f;
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return f;
  for (const auto& [k, _] : named(f))
    if (auto it = j.find(k); it != j.end() && it->is_number_integer()) field_ref(f, k) = it->get<std::int64_t>();
  if (auto it = j.find("imported_by_origin"); it != j.end() && it->is_array())
    for (const auto& p : *it) f.imported_by_origin.push_back(part_of(p));
  if (auto it = j.find("local_by_district"); it != j.end() && it->is_array())
    for (const auto& p : *it) f.local_by_district.push_back(part_of(p));
  return f;
}

std::string notices_json(const std::vector<Notice>& ns) {
  json a = json::array();
  for (const auto& x : ns)
    a.push_back({{"case_id", x.case_id}, {"kind", x.kind}, {"text_zh", x.text_zh}, {"text_en", x.text_en}});
  return a.dump();
}

std::vector<Notice> notices_from_json(const std::string& text) {
  std::vector<Notice> out;
  const json a = json::parse(text, nullptr, false);
  if (!a.is_array()) return out;
  for (const auto& j : a) {
    Notice x;
    x.case_id = j.value("case_id", std::int64_t{0});
    x.kind = j.value("kind", "");
    x.text_zh = j.value("text_zh", "");
    x.text_en = j.value("text_en", "");
    out.push_back(std::move(x));
  }
  return out;
}

Service::Service(store::Repository& repo, const Clock& clock, LocalTime local)
    : repo_(repo), clock_(clock), local_(std::move(local)), b_(store::open_bulletin_repository(repo)) {}

Service::~Service() = default;

template <typename F>
auto Service::write(F&& fn) -> decltype(fn()) {
  return store::in_transaction(repo_, std::forward<F>(fn));
}

void Service::audit(const Caller& c, const std::string& action, const std::string& entity, std::int64_t id,
                    const std::string& reason, const std::string& detail) {
  repo_.append_audit(store::audit_of(c, clock_.now(), action, entity, id, reason, detail));
}

void Service::require(const Caller& c, Permission p) const {
  if (!c.can(p))
    fail(ErrorCode::permission_denied, p == Permission::bulletin_publish ? "the caller does not publish bulletins"
                                                                          : "the caller does not read analytics");
}

// A bulletin of `area` is the caller's when the area lies inside the caller's area.
bool Service::covers(const Caller& c, const std::string& area) const {
  if (c.everything()) return true;
  if (c.scope.kind != Scope::Kind::area || c.scope.area_prefix.empty() || area.empty()) return false;
  return in_subtree(area, c.scope.area_prefix);
}

std::string Service::top_area() {
  const auto tops = b_->top_areas();
  return tops.size() == 1 ? tops.front() : std::string();
}

std::string Service::area_name(const std::string& code) {
  if (code.empty()) return "全辖区";
  auto names = b_->area_names({code});
  auto it = names.find(code);
  return it == names.end() ? code : it->second;
}

std::vector<std::pair<std::string, std::string>> Service::districts(const std::string& area) {
  std::vector<std::pair<std::string, std::string>> out;
  write([&] { out = b_->districts(area); });
  return out;
}

std::string Service::default_area(const Caller& c) {
  if (c.everything()) return top_area();
  if (c.scope.kind == Scope::Kind::area && !c.scope.area_prefix.empty()) return c.scope.area_prefix;
  fail(ErrorCode::permission_denied, "bulletins are made for an area; the caller's scope is an organisation");
}

std::pair<Figures, std::vector<Notice>> Service::count_day(const std::string& area, Date day, Instant) {
  const Instant end = local_.start_of(Date{std::chrono::sys_days{day} + std::chrono::days{1}});
  const Instant start = local_.start_of(day);
  const auto rows = b_->bulletin_cases(area, end);
  std::set<std::string> codes;
  for (const auto& r : rows)
    for (std::size_t len : {6u, 9u, 12u, 15u})
      if (r.area_code.size() >= len) codes.insert(r.area_code.substr(0, len));
  const auto names = b_->area_names({codes.begin(), codes.end()});
  auto name_of = [&](const std::string& code) {
    auto it = names.find(code);
    return it == names.end() ? std::string() : it->second;
  };
  std::vector<CaseFact> facts;
  facts.reserve(rows.size());
  std::vector<std::int64_t> fresh;
  for (const auto& r : rows) {
    CaseFact k;
    k.id = r.id;
    k.classification = r.classification;
    k.origin = r.origin.empty() ? "local" : r.origin;
    k.origin_place = r.origin_place;
    k.district = r.area_code.substr(0, std::min<std::size_t>(6, r.area_code.size()));
    k.district_name = name_of(k.district);
    if (k.district_name.empty()) k.district_name = k.district;
    k.report_day = local_.date_of(r.reported);
    k.converted_day = local_day(r.converted_at, local_);
    k.closed_day = local_day(r.closed_at, local_);
    if (!r.death_date.empty()) k.death_day = parse_date(r.death_date);
    k.outcome = r.outcome;
    k.severity = r.severity;
    k.found_by = r.found_by;
    // Residence down to the grid (the registry's compound-level unit), never the address.
    for (std::size_t len : {6u, 9u, 12u, 15u})
      if (r.area_code.size() >= len) k.residence += name_of(r.area_code.substr(0, len));
    if (k.report_day == day || (k.converted_day && *k.converted_day == day)) fresh.push_back(k.id);
    facts.push_back(std::move(k));
  }
  const auto links = b_->infectors_of(fresh);
  // Sex and age appear in the notices of the day's new cases only: their persons alone are read.
  const auto people = b_->case_persons(fresh);
  for (auto& k : facts) {
    if (auto it = links.find(k.id); it != links.end()) k.infectors = it->second;
    if (auto it = people.find(k.id); it != people.end()) {
      k.sex = it->second.first;
      if (!it->second.second.empty()) k.birth_date = parse_date(it->second.second);
    }
  }
  const auto cc = b_->contact_counts(area, start, end);
  ContactFacts contacts{cc.traced, cc.released, cc.under_observation};
  return {count(facts, day, contacts), notices(facts, day)};
}

BulletinView Service::view_of(const store::BulletinRow& b) {
  BulletinView v;
  v.row = b;
  v.figures = figures_from_json(b.figures);
  v.notices = notices_from_json(b.notices);
  v.area_name = area_name(b.area_code);
  const auto revs = b_->revisions(b.area_code, b.day);
  v.latest = revs.empty() || revs.back().revision == b.revision;
  if (b.revision > 1) v.errata = b_->errata_of(b.id);
  return v;
}

BulletinView Service::generate_at(const std::string& area, Date day, std::int64_t by, Instant now) {
  auto revs = b_->revisions(area, format_date(day));
  auto [figures, ns] = count_day(area, day, now);
  if (!revs.empty() && revs.back().status == "draft") {
    auto b = revs.back();
    const auto rev = b.rev;
    b.figures = figures_json(figures);
    b.notices = notices_json(ns);
    b.generated_at = now;
    b.generated_by = by;
    if (!b_->update_bulletin(b, rev)) fail(ErrorCode::conflict, "the bulletin changed while it was generated", "rev");
    ++b.rev;
    return view_of(b);
  }
  store::BulletinRow b;
  b.area_code = area;
  b.day = format_date(day);
  b.revision = revs.empty() ? 1 : revs.back().revision + 1;
  b.status = "draft";
  b.figures = figures_json(figures);
  b.notices = notices_json(ns);
  b.generated_at = now;
  b.generated_by = by;
  b_->insert_bulletin(b);
  return view_of(b);
}

BulletinView Service::generate(const std::string& day, const std::string& area, const Caller& c) {
  require(c, Permission::bulletin_publish);
  return write([&] {
    const Instant now = clock_.now();
    const Date today = local_.date_of(now);
    const Date d = day.empty() ? Date{std::chrono::sys_days{today} - std::chrono::days{1}} : parse_day(day);
    if (std::chrono::sys_days{d} > std::chrono::sys_days{today})
      fail(ErrorCode::invalid_argument, "the day lies in the future", "day");
    std::string a = area.empty() ? default_area(c) : area;
    if (!a.empty()) {
      auto canon = canonical_area_code(a);
      if (!canon) fail(ErrorCode::invalid_argument, "area must be an area code", "area");
      a = *canon;
    }
    if (!covers(c, a)) fail(ErrorCode::not_found, "no such area in your jurisdiction", "area");
    if (!a.empty() && b_->area_names({a}).empty()) fail(ErrorCode::not_found, "no such area in your jurisdiction", "area");
    auto v = generate_at(a, d, c.user_id, now);
    audit(c, "bulletin.generate", "bulletin", v.row.id, "",
          json{{"area", a}, {"day", v.row.day}, {"revision", v.row.revision}}.dump());
    return v;
  });
}

store::BulletinRow Service::visible(std::int64_t id, const Caller& c) {
  auto b = b_->bulletin(id);
  if (!b || !covers(c, b->area_code)) fail(ErrorCode::not_found, "no such bulletin", "id");
  // Drafts are the centre's work in progress.
  if (b->status == "draft" && !c.can(Permission::bulletin_publish)) fail(ErrorCode::not_found, "no such bulletin", "id");
  return *b;
}

BulletinView Service::get(std::int64_t id, const Caller& c) {
  if (!c.can(Permission::analytics_read) && !c.can(Permission::bulletin_publish)) require(c, Permission::analytics_read);
  return write([&] { return view_of(visible(id, c)); });
}

std::vector<store::BulletinRow> Service::list(const std::string& status, const std::string& before_day, int limit,
                                              const Caller& c) {
  if (!c.can(Permission::analytics_read) && !c.can(Permission::bulletin_publish)) require(c, Permission::analytics_read);
  if (!status.empty() && status != "draft" && status != "published" && status != "superseded")
    fail(ErrorCode::invalid_argument, "status must be draft, published or superseded", "status");
  if (!before_day.empty()) parse_day(before_day);
  if (c.scope.kind != Scope::Kind::all && (c.scope.kind != Scope::Kind::area || c.scope.area_prefix.empty()))
    return {};
  std::vector<store::BulletinRow> out;
  write([&] {
    for (auto& b : b_->bulletins(c.everything() ? "" : c.scope.area_prefix, status, before_day, limit)) {
      if (b.status == "draft" && !c.can(Permission::bulletin_publish)) continue;
      out.push_back(std::move(b));
    }
  });
  return out;
}

BulletinView Service::edit(std::int64_t id, const std::optional<std::string>& note, const std::vector<NoticeEdit>& edits,
                           std::int64_t rev, const Caller& c) {
  require(c, Permission::bulletin_publish);
  return write([&] {
    auto b = visible(id, c);
    if (b.status != "draft") fail(ErrorCode::conflict, "a published bulletin is corrected by a new revision", "status");
    if (rev != b.rev) fail(ErrorCode::conflict, "the bulletin changed since it was read", "rev");
    if (note) {
      if (note->size() > kMaxNote) fail(ErrorCode::invalid_argument, "note is longer than 2000 characters", "note");
      b.note = *note;
    }
    auto ns = notices_from_json(b.notices);
    for (std::size_t i = 0; i < edits.size(); ++i) {
      const auto& e = edits[i];
      const std::string where = "notices[" + std::to_string(i) + "]";
      auto it = std::find_if(ns.begin(), ns.end(), [&](const Notice& x) {
        return x.case_id == e.case_id && (e.kind.empty() || x.kind == e.kind);
      });
      if (it == ns.end()) fail(ErrorCode::invalid_argument, where + ": the bulletin has no notice of case " + std::to_string(e.case_id), where + ".case_id");
      for (auto [text, dst, f] : {std::tuple{&e.text_zh, &it->text_zh, "text_zh"}, std::tuple{&e.text_en, &it->text_en, "text_en"}}) {
        if (!*text) continue;
        const auto t = trimmed(**text);
        if (t.empty()) fail(ErrorCode::invalid_argument, where + ": the notice's text is empty", where + "." + f);
        if (t.size() > kMaxNotice) fail(ErrorCode::invalid_argument, where + ": the notice is longer than 1000 characters", where + "." + f);
        *dst = t;
      }
    }
    b.notices = notices_json(ns);
    if (!b_->update_bulletin(b, rev)) fail(ErrorCode::conflict, "the bulletin changed since it was read", "rev");
    ++b.rev;
    audit(c, "bulletin.edit", "bulletin", id, "", json{{"notices", edits.size()}, {"note", note.has_value()}}.dump());
    return view_of(b);
  });
}

BulletinView Service::publish(std::int64_t id, const std::string& reason_in, std::int64_t rev, const Caller& c) {
  require(c, Permission::bulletin_publish);
  const std::string reason = trimmed(reason_in);
  if (reason.size() > kMaxNote) fail(ErrorCode::invalid_argument, "reason is longer than 2000 characters", "reason");
  return write([&] {
    auto b = visible(id, c);
    if (b.status != "draft") fail(ErrorCode::conflict, "the bulletin is already " + b.status, "status");
    if (rev != 0 && rev != b.rev) fail(ErrorCode::conflict, "the bulletin changed since it was read", "rev");
    const auto revs = b_->revisions(b.area_code, b.day);
    if (revs.back().revision != b.revision) fail(ErrorCode::conflict, "a later revision of this day exists", "revision");
    const store::BulletinRow* before = nullptr;
    for (const auto& r : revs)
      if (r.status == "published") before = &r;
    const Instant now = clock_.now();
    if (before) {
      if (reason.empty())
        fail(ErrorCode::invalid_argument, "a correction of a published bulletin needs a reason", "reason");
      auto old = *before;
      const auto changes = diff(figures_from_json(old.figures), figures_from_json(b.figures));
      for (const auto& ch : changes) {
        store::ErratumRow e;
        e.bulletin_id = b.id;
        e.area_code = b.area_code;
        e.day = b.day;
        e.revision = b.revision;
        e.field = ch.field;
        e.old_value = ch.old_value;
        e.new_value = ch.new_value;
        e.reason = reason;
        e.at = now;
        e.by_user = c.user_id;
        b_->insert_erratum(e);
      }
      const auto old_rev = old.rev;
      old.status = "superseded";
      if (!b_->update_bulletin(old, old_rev)) fail(ErrorCode::conflict, "the earlier revision changed", "revision");
      b.correction_reason = reason;
    }
    const auto stored = b.rev;
    b.status = "published";
    b.published_at = now;
    b.published_by = c.user_id;
    if (!b_->update_bulletin(b, stored)) fail(ErrorCode::conflict, "the bulletin changed since it was read", "rev");
    ++b.rev;
    audit(c, "bulletin.publish", "bulletin", id, reason,
          json{{"area", b.area_code}, {"day", b.day}, {"revision", b.revision}}.dump());
    return view_of(b);
  });
}

std::optional<std::int64_t> Service::scheduled(Instant now, int hour) {
  const Date today = local_.date_of(now);
  if (now < local_.at(today, std::chrono::hours{hour})) return std::nullopt;
  const Date yesterday{std::chrono::sys_days{today} - std::chrono::days{1}};
  std::optional<std::int64_t> out;
  write([&] {
    const std::string area = top_area();
    if (area.empty()) return;
    if (!b_->revisions(area, format_date(yesterday)).empty()) return;
    auto v = generate_at(area, yesterday, 0, now);
    repo_.append_audit(store::audit_of(Caller::local("scheduler"), now, "bulletin.generate", "bulletin", v.row.id, "",
                                       json{{"area", area}, {"day", v.row.day}, {"scheduled", true}}.dump()));
    out = v.row.id;
  });
  return out;
}

// ------------------------------------------------------------------ Excel

namespace {

class Workbook {
 public:
  Workbook() {
    char tmpl[] = "/tmp/bihuan-bulletin-XXXXXX";
    const int fd = mkstemp(tmpl);
    if (fd < 0) fail(ErrorCode::internal, "cannot create a temporary file for the workbook");
    close(fd);
    path_ = tmpl;
    wb_ = workbook_new(path_.c_str());
    if (!wb_) fail(ErrorCode::internal, "cannot create the workbook");
    bold_ = workbook_add_format(wb_);
    format_set_bold(bold_);
    wrap_ = workbook_add_format(wb_);
    format_set_text_wrap(wrap_);
  }
  ~Workbook() {
    if (wb_) workbook_close(wb_);
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  lxw_worksheet* sheet(const char* name) { return workbook_add_worksheet(wb_, name); }
  void put(lxw_worksheet* s, int row, int col, const std::string& v, bool bold = false) {
    worksheet_write_string(s, static_cast<lxw_row_t>(row), static_cast<lxw_col_t>(col), v.c_str(), bold ? bold_ : wrap_);
  }
  void num(lxw_worksheet* s, int row, int col, std::int64_t v) {
    worksheet_write_number(s, static_cast<lxw_row_t>(row), static_cast<lxw_col_t>(col), static_cast<double>(v), nullptr);
  }
  std::string bytes() {
    const auto rc = workbook_close(wb_);
    wb_ = nullptr;
    if (rc != LXW_NO_ERROR) fail(ErrorCode::internal, "cannot write the workbook");
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string path_;
  lxw_workbook* wb_ = nullptr;
  lxw_format* bold_ = nullptr;
  lxw_format* wrap_ = nullptr;
};

}  // namespace

std::string Service::xlsx(std::int64_t id, const Caller& c) {
  auto v = get(id, c);
  Workbook wb;
  auto* s = wb.sheet("通报");
  worksheet_set_column(s, 0, 0, 34, nullptr);
  worksheet_set_column(s, 1, 1, 14, nullptr);
  int row = 0;
  wb.put(s, row++, 0, v.area_name + " " + v.row.day + " 0—24时 疫情通报（第" + std::to_string(v.row.revision) + "版，" +
                          (v.row.status == "published" ? "已发布" : v.row.status == "draft" ? "草稿" : "已更正") + "）",
         true);
  ++row;
  wb.put(s, row, 0, "指标", true);
  wb.put(s, row++, 1, "数值", true);
  for (const auto& [k, n] : named(v.figures)) {
    wb.put(s, row, 0, label_zh(k));
    wb.num(s, row++, 1, n);
  }
  auto* p = wb.sheet("分布");
  worksheet_set_column(p, 0, 1, 20, nullptr);
  row = 0;
  wb.put(p, row, 0, "类别", true);
  wb.put(p, row, 1, "地区", true);
  wb.put(p, row, 2, "确诊", true);
  wb.put(p, row++, 3, "无症状", true);
  for (const auto& x : v.figures.imported_by_origin) {
    wb.put(p, row, 0, "境外输入");
    wb.put(p, row, 1, x.key.empty() ? "来源地待查" : x.name);
    wb.num(p, row, 2, x.confirmed);
    wb.num(p, row++, 3, x.asymptomatic);
  }
  for (const auto& x : v.figures.local_by_district) {
    wb.put(p, row, 0, "本土");
    wb.put(p, row, 1, x.name);
    wb.num(p, row, 2, x.confirmed);
    wb.num(p, row++, 3, x.asymptomatic);
  }
  auto* n = wb.sheet("病例情况");
  worksheet_set_column(n, 1, 1, 100, nullptr);
  row = 0;
  wb.put(n, row, 0, "编号", true);
  wb.put(n, row++, 1, "情况", true);
  for (const auto& x : v.notices) {
    wb.num(n, row, 0, x.case_id);
    wb.put(n, row++, 1, x.text_zh);
  }
  if (!v.errata.empty()) {
    auto* e = wb.sheet("更正");
    worksheet_set_column(e, 0, 0, 30, nullptr);
    worksheet_set_column(e, 3, 3, 60, nullptr);
    row = 0;
    wb.put(e, row, 0, "指标", true);
    wb.put(e, row, 1, "原数", true);
    wb.put(e, row, 2, "更正后", true);
    wb.put(e, row++, 3, "原因", true);
    for (const auto& x : v.errata) {
      wb.put(e, row, 0, label_zh(x.field));
      wb.num(e, row, 1, x.old_value);
      wb.num(e, row, 2, x.new_value);
      wb.put(e, row++, 3, x.reason);
    }
  }
  write([&] { audit(c, "bulletin.export", "bulletin", id, "", json{{"format", "xlsx"}}.dump()); });
  return wb.bytes();
}

// ------------------------------------------------------------------ articles

namespace {

void apply_article(store::ArticleRow& a, const ArticleInput& in) {
  if (in.category) {
    if (!kCategories.count(*in.category))
      fail(ErrorCode::invalid_argument,
           "category must be one of prevention, vaccination, testing, travel, policy, mental_health, other", "category");
    a.category = *in.category;
  }
  if (in.title) a.title = trimmed(*in.title);
  if (in.summary) a.summary = trimmed(*in.summary);
  if (in.body) a.body = *in.body;
  if (a.title.empty()) fail(ErrorCode::invalid_argument, "title is required", "title");
  if (a.title.size() > kMaxTitle) fail(ErrorCode::invalid_argument, "title is longer than 200 characters", "title");
  if (a.summary.size() > kMaxSummary) fail(ErrorCode::invalid_argument, "summary is longer than 500 characters", "summary");
  if (trimmed(a.body).empty()) fail(ErrorCode::invalid_argument, "body is required", "body");
  if (a.body.size() > kMaxBody) fail(ErrorCode::invalid_argument, "body is longer than 50000 characters", "body");
  if (a.category.empty()) fail(ErrorCode::invalid_argument, "category is required", "category");
}

}  // namespace

store::ArticleRow Service::visible_article(std::int64_t id, const Caller& c) {
  auto a = b_->article(id);
  if (!a || !covers(c, a->area_code)) fail(ErrorCode::not_found, "no such article", "id");
  return *a;
}

store::ArticleRow Service::create_article(const ArticleInput& in, const std::string& area, const Caller& c) {
  require(c, Permission::bulletin_publish);
  return write([&] {
    store::ArticleRow a;
    a.area_code = area.empty() ? default_area(c) : area;
    if (!a.area_code.empty()) {
      auto canon = canonical_area_code(a.area_code);
      if (!canon) fail(ErrorCode::invalid_argument, "area must be an area code", "area");
      a.area_code = *canon;
    }
    if (!covers(c, a.area_code)) fail(ErrorCode::not_found, "no such area in your jurisdiction", "area");
    apply_article(a, in);
    a.created_at = a.updated_at = clock_.now();
    a.created_by = c.user_id;
    b_->insert_article(a);
    audit(c, "article.create", "article", a.id, "", json{{"title", a.title}}.dump());
    return a;
  });
}

store::ArticleRow Service::update_article(std::int64_t id, const ArticleInput& in, std::int64_t rev, const Caller& c) {
  require(c, Permission::bulletin_publish);
  return write([&] {
    auto a = visible_article(id, c);
    if (rev != a.rev) fail(ErrorCode::conflict, "the article changed since it was read", "rev");
    apply_article(a, in);
    a.updated_at = clock_.now();
    if (!b_->update_article(a, rev)) fail(ErrorCode::conflict, "the article changed since it was read", "rev");
    ++a.rev;
    audit(c, "article.update", "article", id, "", "");
    return a;
  });
}

store::ArticleRow Service::publish_article(std::int64_t id, std::int64_t rev, const Caller& c) {
  require(c, Permission::bulletin_publish);
  return write([&] {
    auto a = visible_article(id, c);
    if (rev != 0 && rev != a.rev) fail(ErrorCode::conflict, "the article changed since it was read", "rev");
    if (a.status == "published") fail(ErrorCode::conflict, "the article is already published", "status");
    const auto stored = a.rev;
    a.status = "published";
    a.published_at = a.updated_at = clock_.now();
    a.published_by = c.user_id;
    if (!b_->update_article(a, stored)) fail(ErrorCode::conflict, "the article changed since it was read", "rev");
    ++a.rev;
    audit(c, "article.publish", "article", id, "", "");
    return a;
  });
}

store::ArticleRow Service::withdraw_article(std::int64_t id, const std::string& reason_in, std::int64_t rev,
                                            const Caller& c) {
  require(c, Permission::bulletin_publish);
  const auto reason = trimmed(reason_in);
  if (reason.empty()) fail(ErrorCode::invalid_argument, "withdrawing an article needs a reason", "reason");
  return write([&] {
    auto a = visible_article(id, c);
    if (rev != 0 && rev != a.rev) fail(ErrorCode::conflict, "the article changed since it was read", "rev");
    if (a.status != "published") fail(ErrorCode::conflict, "only a published article is withdrawn", "status");
    const auto stored = a.rev;
    a.status = "withdrawn";
    a.updated_at = clock_.now();
    if (!b_->update_article(a, stored)) fail(ErrorCode::conflict, "the article changed since it was read", "rev");
    ++a.rev;
    audit(c, "article.withdraw", "article", id, reason, "");
    return a;
  });
}

store::ArticleRow Service::article(std::int64_t id, const Caller& c) {
  require(c, Permission::bulletin_publish);
  return write([&] { return visible_article(id, c); });
}

store::PageOf<store::ArticleRow> Service::articles(const std::string& status, store::Page page, const Caller& c) {
  require(c, Permission::bulletin_publish);
  if (!status.empty() && status != "draft" && status != "published" && status != "withdrawn")
    fail(ErrorCode::invalid_argument, "status must be draft, published or withdrawn", "status");
  if (c.scope.kind != Scope::Kind::all && (c.scope.kind != Scope::Kind::area || c.scope.area_prefix.empty())) return {};
  return write([&] { return b_->articles(c.everything() ? "" : c.scope.area_prefix, status, page); });
}

// ------------------------------------------------------------------ public

std::vector<store::BulletinRow> Service::public_bulletins(const std::string& area, int limit,
                                                          const std::string& before_day) {
  if (!before_day.empty()) parse_day(before_day);
  std::vector<store::BulletinRow> out;
  write([&] { out = b_->bulletins(area, "published", before_day, std::clamp(limit, 1, 1000), true); });
  return out;
}

std::optional<BulletinView> Service::public_bulletin(const std::string& area, const std::string& day) {
  parse_day(day);
  std::optional<BulletinView> out;
  write([&] {
    for (const auto& r : b_->revisions(area, day))
      if (r.status == "published") out = view_of(r);
  });
  return out;
}

std::vector<store::ErratumRow> Service::public_errata(const std::string& area, int limit) {
  std::vector<store::ErratumRow> out;
  write([&] { out = b_->errata(area, limit); });
  // errata() with area "" means every area; the portal asks for its own area only.
  if (area.empty()) std::erase_if(out, [](const auto& e) { return !e.area_code.empty(); });
  return out;
}

std::vector<store::BulletinRow> Service::public_open_data(const std::string& area) {
  std::vector<store::BulletinRow> out;
  write([&] { out = b_->published(area); });
  return out;
}

store::PageOf<store::ArticleRow> Service::public_articles(store::Page page) {
  return write([&] { return b_->articles("", "published", page); });
}

std::optional<store::ArticleRow> Service::public_article(std::int64_t id) {
  std::optional<store::ArticleRow> out;
  write([&] {
    auto a = b_->article(id);
    if (a && a->status == "published") out = std::move(a);
  });
  return out;
}

TravellerMeasures Service::measures(const policy::Profile& profile, const std::string& area_code) {
  TravellerMeasures m;
  m.profile = profile.name;
  m.profile_title = profile.title;
  if (!area_code.empty()) {
    auto canon = canonical_area_code(area_code);
    if (!canon) fail(ErrorCode::invalid_argument, "area must be an area code", "area");
    m.area_code = *canon;
  }
  std::map<std::string, std::vector<std::string>> units;
  write([&] {
    m.area_name = m.area_code.empty() ? "" : area_name(m.area_code);
    if (!m.area_code.empty() && m.area_name == m.area_code) fail(ErrorCode::not_found, "no such area", "area");
    for (const auto& a : b_->published_risk_units(m.area_code)) units[a.first].push_back(a.second);
  });
  auto add = [&](const std::string& level, const std::string& group) {
    auto it = profile.groups.find(group);
    if (it == profile.groups.end() || !it->second.traced) return;
    const auto& g = it->second;
    TravellerMeasures::Rule r;
    r.level = level;
    r.group_key = g.key.empty() ? group : g.key;
    r.group_name_zh = g.name_zh;
    r.note = g.note;
    r.phases = g.phases;
    if (auto u = units.find(level); u != units.end()) r.units = u->second;
    m.rules.push_back(std::move(r));
  };
  add("high", "high_risk_area_arrival");
  add("medium", "medium_risk_area_arrival");
  add("low", "low_risk_area_arrival");
  add("inbound", "inbound");
  return m;
}

}  // namespace bihuan::bulletin
