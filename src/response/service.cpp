#include "response/service.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

#include "core/area.hpp"
#include "core/error.hpp"
#include "metrics/metrics.hpp"
#include "store/transaction.hpp"

namespace bihuan::response {

namespace {

using nlohmann::json;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) fail(ErrorCode::invalid_argument, "cannot read " + p.string(), "file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

metrics::Counter& escalated_counter() {
  static auto& c = metrics::counter("bihuan_response_tasks_escalated_total", "Response tasks escalated for a missed clock");
  return c;
}
metrics::Counter& opened_counter() {
  static auto& c = metrics::counter("bihuan_response_events_opened_total", "Emergency-response events started by a trigger");
  return c;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}
std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    if (ch == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// The district (county-level) code of an area, or the area itself above county level.
std::string district_of(const std::string& area) { return area.size() > 6 ? area.substr(0, 6) : area; }

// The deepest canonical area containing all codes (levels province..county).
std::string common_area(const std::vector<std::string>& codes) {
  if (codes.empty()) return {};
  std::size_t n = codes.front().size();
  for (const auto& c : codes) {
    std::size_t k = 0;
    while (k < std::min(n, c.size()) && c[k] == codes.front()[k]) ++k;
    n = k;
  }
  for (std::size_t len : {6u, 4u, 2u})
    if (n >= len) return codes.front().substr(0, len);
  return {};
}

std::string not_found_message(const char* what) { return std::string("no such ") + what; }

constexpr const char* kEscalatedTo[] = {"", "区指挥部", "市指挥部", "省指挥部"};

}  // namespace

Library::Library(std::string dir) : dir_(std::move(dir)) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) fail(ErrorCode::invalid_argument, "no playbooks directory " + dir_, "dir");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir_))
    if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  bool have_levels = false;
  for (const auto& f : files) {
    const std::string text = read_file(f);
    if (f.filename() == "levels.yaml") {
      levels_ = parse_levels(text, f.filename().string());
      have_levels = true;
    } else {
      playbooks_.push_back(parse_playbook(text, f.filename().string()));
    }
  }
  if (!have_levels) fail(ErrorCode::invalid_argument, dir_ + ": levels.yaml is missing", "levels.yaml");
  check_playbooks(playbooks_, levels_);
}

const Playbook* Library::playbook(std::string_view id) const {
  for (const auto& p : playbooks_)
    if (p.id == id) return &p;
  return nullptr;
}
const Level* Library::level(std::string_view id) const {
  for (const auto& l : levels_)
    if (l.id == id) return &l;
  return nullptr;
}

Service::Service(store::Repository& repo, const Library& lib, const Clock& clock, std::chrono::minutes escalate_every,
                 LocalTime local)
    : repo_(repo),
      lib_(lib),
      clock_(clock),
      escalate_every_(escalate_every),
      r_(store::open_response_repository(repo)),
      local_(std::move(local)) {}

Service::~Service() = default;

template <typename F>
auto Service::write(F&& fn) -> decltype(fn()) {
  return store::in_transaction(repo_, std::forward<F>(fn));
}

bool Service::overlaps(const std::string& area, const Caller& c) {
  if (c.everything()) return true;
  if (c.scope.kind == Scope::Kind::area) {
    if (c.scope.area_prefix.empty()) return false;
    return in_subtree(area, c.scope.area_prefix) || in_subtree(c.scope.area_prefix, area);
  }
  auto org = repo_.org(c.scope.org_id);
  return org && !org->area_code.empty() && in_subtree(org->area_code, area);
}

store::EventRow Service::visible_event(const std::optional<store::EventRow>& e, const Caller& c) {
  if (!e || !overlaps(e->area_code, c)) fail(ErrorCode::not_found, not_found_message("event"), "id");
  return *e;
}

store::ResponseTask Service::visible_task(std::int64_t id, const Caller& c, bool acting) {
  auto t = r_->task_by_id(id);
  const bool manager = c.can(Permission::response_manage);
  // A task of another role answers like an unknown one unless the caller manages responses.
  if (!t || !overlaps(t->area_code, c) || (!manager && t->owner_role != to_string(c.role)))
    fail(ErrorCode::not_found, not_found_message("task"), "id");
  if (acting) {
    auto e = r_->event_by_id(t->event_id);
    if (!e || e->status != "open") fail(ErrorCode::conflict, "the event of this task is closed", "event_id");
    if (t->status == "done") fail(ErrorCode::conflict, "the task is done already", "status");
  }
  return *t;
}

void Service::log(std::int64_t event, std::int64_t user, const std::string& kind, const std::string& text, Instant at) {
  store::LogRow l;
  l.event_id = event;
  l.user_id = user;
  l.kind = kind;
  l.text = text;
  l.at = at;
  r_->insert_log(l);
}

store::LevelRow Service::declare(const std::string& level, const std::string& area_code, const std::string& reason,
                                 const Caller& c) {
  const Level* l = lib_.level(level);
  if (!l) fail(ErrorCode::invalid_argument, "unknown response level '" + level + "'", "level");
  auto area = canonical_area_code(area_code);
  if (!area) fail(ErrorCode::invalid_argument, "area_code is not an area code", "area_code");
  if (reason.empty()) fail(ErrorCode::invalid_argument, "a declaration needs a reason", "reason");
  return write([&] {
    if (!repo_.area(*area)) fail(ErrorCode::not_found, "no such area", "area_code");
    if (auto why = declare_refusal(*l, c, *area); !why.empty()) {
      if (why.find("outside") != std::string::npos) fail(ErrorCode::not_found, "no such area", "area_code");
      fail(ErrorCode::invalid_argument, why, why.find("declared over") != std::string::npos ? "area_code" : "level");
    }
    // One level in force per area: a new declaration replaces the previous one.
    for (const auto& old : r_->levels(*area, true))
      if (old.area_code == *area) r_->end_level(old.id, clock_.now(), c.user_id, "replaced by " + level);
    store::LevelRow row;
    row.area_code = *area;
    row.level = level;
    row.reason = reason;
    row.declared_by = c.user_id;
    row.declared_at = clock_.now();
    row.id = r_->insert_level(row);
    return row;
  });
}

store::LevelRow Service::end_level(std::int64_t id, const std::string& reason, const Caller& c) {
  if (reason.empty()) fail(ErrorCode::invalid_argument, "ending a response level needs a reason", "reason");
  return write([&] {
    auto l = r_->level_by_id(id);
    const Level* def = l ? lib_.level(l->level) : nullptr;
    if (!l || !c.can(Permission::response_manage) || !(c.everything() || area_in_scope(c.scope, l->area_code)))
      fail(ErrorCode::not_found, not_found_message("response level"), "id");
    if (def) {
      if (auto why = declare_refusal(*def, c, l->area_code); !why.empty()) fail(ErrorCode::not_found, not_found_message("response level"), "id");
    }
    if (!r_->end_level(id, clock_.now(), c.user_id, reason)) fail(ErrorCode::conflict, "the level has ended already", "status");
    return *r_->level_by_id(id);
  });
}

std::vector<store::LevelRow> Service::levels(bool active_only, const Caller& c) {
  if (c.everything()) return r_->levels("", active_only);
  std::string point;
  if (c.scope.kind == Scope::Kind::area) {
    point = c.scope.area_prefix;
  } else if (auto org = repo_.org(c.scope.org_id)) {
    point = org->area_code;
  }
  if (point.empty()) return {};
  return r_->levels(point, active_only);
}

std::int64_t Service::start_event(const Playbook& p, const std::string& area, const std::string& title, Instant start,
                                  std::int64_t by, const std::string& trigger_key, const std::string& first_log) {
  store::EventRow e;
  e.area_code = area;
  e.playbook = p.id;
  e.title = title;
  e.trigger_kind = to_string(p.trigger.kind);
  e.started_at = start;
  e.created_by = by;
  e.id = r_->insert_event(e);
  for (const auto& t : p.tasks) {
    store::ResponseTask row;
    row.event_id = e.id;
    row.task_key = t.key;
    row.title = t.title;
    row.owner_role = to_string(t.owner);
    row.area_code = area;
    row.due_at = due_at(t, start);
    row.after_keys = join(t.after);
    json list = json::array();
    for (const auto& item : t.checklist) list.push_back({{"item", item}, {"done", false}});
    row.checklist = list.dump();
    row.source = p.sources.count(t.source) ? p.sources.at(t.source) : t.source;
    r_->insert_task(row);
  }
  if (!trigger_key.empty() && !r_->claim_trigger(p.id, trigger_key, e.id, clock_.now()))
    fail(ErrorCode::conflict, "this trigger has started an event already", "trigger");
  log(e.id, by, "opened", first_log, clock_.now());
  return e.id;
}

EventView Service::open_event(const std::string& playbook, const std::string& area_code, const std::string& title,
                              const std::string& note, const Caller& c) {
  const Playbook* p = lib_.playbook(playbook);
  if (!p) fail(ErrorCode::invalid_argument, "unknown playbook '" + playbook + "'", "playbook");
  auto area = canonical_area_code(area_code);
  if (!area) fail(ErrorCode::invalid_argument, "area_code is not an area code", "area_code");
  if (note.empty()) fail(ErrorCode::invalid_argument, "starting an event by hand needs a reason (note)", "note");
  if (!c.can(Permission::response_manage)) fail(ErrorCode::permission_denied, "the caller does not manage emergency responses");
  const std::int64_t id = write([&] {
    if (!repo_.area(*area) || !(c.everything() || area_in_scope(c.scope, *area)))
      fail(ErrorCode::not_found, "no such area", "area_code");
    const std::string t = title.empty() ? p->title : title;
    return start_event(*p, *area, t, clock_.now(), c.user_id, "", "由 " + c.username + " 手动启动：" + note);
  });
  return event(id, c);
}

store::PageOf<store::EventRow> Service::events(const std::string& status, store::Page page, const Caller& c) {
  if (!status.empty() && status != "open" && status != "closed")
    fail(ErrorCode::invalid_argument, "status must be open or closed", "status");
  return r_->events(c.scope, status, page);
}

EventView Service::event(std::int64_t id, const Caller& c) {
  EventView v;
  v.event = visible_event(r_->event_by_id(id), c);
  v.tasks = r_->tasks_of(id);
  if (!c.can(Permission::response_manage)) {
    const std::string role = to_string(c.role);
    std::erase_if(v.tasks, [&](const store::ResponseTask& t) { return t.owner_role != role; });
  }
  v.log = r_->log_of(id);
  v.triggers = r_->triggers_of(id);
  return v;
}

EventView Service::close_event(std::int64_t id, const std::string& note, const Caller& c) {
  if (note.empty()) fail(ErrorCode::invalid_argument, "closing an event needs a note", "note");
  write([&] {
    const auto e = visible_event(r_->event_by_id(id), c);
    if (!c.can(Permission::response_manage)) fail(ErrorCode::not_found, not_found_message("event"), "id");
    if (!r_->close_event(e.id, clock_.now(), c.user_id, note)) fail(ErrorCode::conflict, "the event is closed already", "status");
    std::size_t open = 0;
    for (const auto& t : r_->tasks_of(id)) open += t.status == "open";
    log(id, c.user_id, "closed",
        "事件结束：" + note + (open ? "（" + std::to_string(open) + " 项任务未完成）" : std::string()), clock_.now());
  });
  return event(id, c);
}

store::LogRow Service::add_log(std::int64_t event_id, const std::string& text, const Caller& c) {
  if (text.empty()) fail(ErrorCode::invalid_argument, "a log entry needs text", "text");
  if (text.size() > 4000) fail(ErrorCode::invalid_argument, "a log entry is at most 4000 bytes", "text");
  return write([&] {
    visible_event(r_->event_by_id(event_id), c);
    store::LogRow l;
    l.event_id = event_id;
    l.user_id = c.user_id;
    l.kind = "note";
    l.text = text;
    l.at = clock_.now();
    l.id = r_->insert_log(l);
    l.username = c.username;
    return l;
  });
}

Situation Service::situation(std::int64_t event_id, const Caller& c) {
  const auto e = visible_event(r_->event_by_id(event_id), c);
  Situation s;
  s.area_code = e.area_code;
  if (auto a = repo_.area(e.area_code)) s.area_name = a->name;
  s.event_title = e.title;
  s.started_at = e.started_at;
  s.at = clock_.now();
  const auto f = r_->figures(e.area_code, e.started_at - std::chrono::hours(24 * 14), s.at - std::chrono::hours(24));
  s.cases = f.cases;
  s.cases_24h = f.cases_24h;
  s.confirmed = f.confirmed;
  s.asymptomatic = f.asymptomatic;
  s.severe = f.severe;
  s.found_inside_control = f.inside_control;
  s.found_in_community = f.cases - f.inside_control - f.imported;
  s.imported = f.imported;
  s.contacts_found = f.contacts_found;
  s.contacts_accepted = f.contacts_accepted;
  s.contacts_controlled = f.contacts_controlled;
  s.under_control = f.under_control;
  s.risk_high = f.risk_high;
  s.risk_medium = f.risk_medium;
  s.rounds = f.rounds;
  s.rounds_open = f.rounds_open;
  s.round_positive_tubes = f.round_positive_tubes;
  s.rooms = f.rooms;
  s.rooms_free = f.rooms_free;
  for (const auto& t : r_->tasks_of(event_id)) {
    ++s.tasks;
    s.tasks_done += t.status == "done";
    s.tasks_overdue += t.status == "open" && t.due_at <= s.at;
  }
  for (const auto& l : r_->levels(e.area_code, true))
    if (in_subtree(e.area_code, l.area_code)) {
      const Level* def = lib_.level(l.level);
      s.level = def ? def->name_zh : l.level;
      break;
    }
  return s;
}

store::PageOf<store::ResponseTask> Service::tasks(const store::ResponseTaskFilter& f, store::Page page, const Caller& c) {
  if (!f.status.empty() && f.status != "open" && f.status != "done" && f.status != "overdue")
    fail(ErrorCode::invalid_argument, "status must be open, done or overdue", "status");
  store::ResponseTaskFilter mine = f;
  if (!c.can(Permission::response_manage)) {
    if (!f.owner_role.empty() && f.owner_role != to_string(c.role)) return {};
    mine.owner_role = to_string(c.role);
  } else if (!f.owner_role.empty() && !role_from(f.owner_role)) {
    fail(ErrorCode::invalid_argument, "unknown role '" + f.owner_role + "'", "owner_role");
  }
  return r_->tasks(c.scope, mine, clock_.now(), page);
}

store::ResponseTask Service::check(std::int64_t task_id, std::size_t item, bool done, const Caller& c) {
  return write([&] {
    auto t = visible_task(task_id, c, true);
    json list = json::parse(t.checklist, nullptr, false);
    if (!list.is_array() || item >= list.size())
      fail(ErrorCode::invalid_argument, "the task has no checklist item " + std::to_string(item), "item");
    list[item]["done"] = done;
    t.checklist = list.dump();
    r_->update_task(t);
    log(t.event_id, c.user_id, "check",
        "「" + t.title + "」" + (done ? "完成检查项：" : "取消检查项：") + list[item].value("item", std::string()), clock_.now());
    return t;
  });
}

store::ResponseTask Service::complete(std::int64_t task_id, const std::string& note, const Caller& c) {
  if (note.empty()) fail(ErrorCode::invalid_argument, "completing a task needs a note of what was done", "note");
  if (note.size() > 4000) fail(ErrorCode::invalid_argument, "a note is at most 4000 bytes", "note");
  return write([&] {
    auto t = visible_task(task_id, c, true);
    std::vector<std::string> done;
    for (const auto& o : r_->tasks_of(t.event_id))
      if (o.status == "done") done.push_back(o.task_key);
    if (auto wait = waiting_for(split(t.after_keys), done); !wait.empty())
      fail(ErrorCode::conflict, "the task waits for " + join(wait), "after");
    json list = json::parse(t.checklist, nullptr, false);
    std::vector<std::string> open_items;
    if (list.is_array())
      for (const auto& i : list)
        if (!i.value("done", false)) open_items.push_back(i.value("item", std::string()));
    if (!open_items.empty())
      fail(ErrorCode::conflict, "checklist items are not done: " + join(open_items), "checklist");
    const Instant now = clock_.now();
    t.status = "done";
    t.done_at = now;
    t.done_by = c.user_id;
    t.note = note;
    r_->update_task(t);
    const bool late = now > t.due_at;
    log(t.event_id, c.user_id, "done", "「" + t.title + "」完成" + (late ? "（超时）" : "") + "：" + note, now);
    return t;
  });
}

void Service::sweep_cases(const Playbook& p, Instant now, SweepResult& out) {
  const bool key_group = p.trigger.kind == TriggerKind::key_group_positive;
  const auto since = now - std::chrono::hours(24 * p.trigger.within_days);
  for (const auto& k : r_->unclaimed_cases(p.id, since, key_group, !key_group && !p.trigger.inside_control_counts, 200)) {
    if (key_group ? k.key_group.empty() : !case_triggers(p.trigger, k.origin, k.classification, k.found_by, k.source))
      continue;
    const std::string key = "case:" + std::to_string(k.id);
    const std::string district = district_of(k.area_code);
    write([&] {
      if (r_->trigger_event(p.id, key)) return;  // another process took it
      const std::string what = key_group ? "重点人群（" + k.workplace + "）阳性病例 #" + std::to_string(k.id)
                                         : "本土病例 #" + std::to_string(k.id);
      if (auto open = r_->open_event_in(p.id, district, since)) {
        r_->claim_trigger(p.id, key, open->id, now);
        log(open->id, 0, "trigger", "新增" + what + "，纳入本事件", now);
        ++out.joined;
        return;
      }
      std::string place = district;
      if (auto a = repo_.area(district)) place = a->name;
      const auto id = start_event(p, district, p.title + "：" + what + "（" + place + "）", k.opened_at, 0, key,
                                  "由" + what + "触发（病例登记于 " + local_.format(k.opened_at) + "）");
      out.opened.push_back(id);
    });
  }
}

void Service::sweep_clusters(const Playbook& p, Instant now, SweepResult& out) {
  const auto since = now - std::chrono::hours(24 * p.trigger.within_days);
  // Connected components of the links (union-find).
  std::map<std::int64_t, std::int64_t> parent;
  std::function<std::int64_t(std::int64_t)> find = [&](std::int64_t x) {
    auto it = parent.find(x);
    if (it == parent.end()) {
      parent[x] = x;
      return x;
    }
    if (it->second == x) return x;
    const auto root = find(it->second);
    parent[x] = root;
    return root;
  };
  for (const auto& [a, b] : r_->links_since(since)) {
    const auto ra = find(a), rb = find(b);
    if (ra != rb) parent[std::max(ra, rb)] = std::min(ra, rb);
  }
  std::map<std::int64_t, std::vector<std::int64_t>> comps;
  for (const auto& [x, px] : parent) comps[find(x)].push_back(x);
  for (const auto& [root, ids] : comps) {
    if (static_cast<int>(ids.size()) < p.trigger.min_cases) continue;
    auto cases = r_->cases_by_id(ids);
    std::erase_if(cases, [&](const store::TriggerCase& k) {
      return k.origin != "local" || !is_infection(k.classification, k.source);
    });
    if (static_cast<int>(cases.size()) < p.trigger.min_cases) continue;
    write([&] {
      std::optional<std::int64_t> event;
      std::vector<const store::TriggerCase*> fresh;
      for (const auto& k : cases) {
        if (auto e = r_->trigger_event(p.id, "case:" + std::to_string(k.id)))
          event = event ? std::min(*event, *e) : *e;
        else
          fresh.push_back(&k);
      }
      if (fresh.empty()) return;
      std::vector<std::string> areas;
      for (const auto& k : cases) areas.push_back(k.area_code);
      std::string area = common_area(areas);
      if (area.empty()) area = district_of(cases.front().area_code);
      // Another chain in the same area while its cluster event is open joins that event.
      if (!event) {
        if (auto open = r_->open_event_in(p.id, area, since)) {
          event = open->id;
          log(open->id, 0, "trigger", "又一条传播链（" + std::to_string(cases.size()) + " 例，首例 #" +
                                          std::to_string(cases.front().id) + "）纳入本事件", now);
        }
      }
      if (!event) {
        std::string place = area;
        if (auto a = repo_.area(area)) place = a->name;
        const std::string what = "聚集性疫情（" + std::to_string(cases.size()) + " 例，首例 #" + std::to_string(cases.front().id) + "）";
        event = start_event(p, area, p.title + "：" + what + "（" + place + "）", now, 0, "case:" + std::to_string(fresh.front()->id),
                            "由" + what + "触发");
        out.opened.push_back(*event);
        fresh.erase(fresh.begin());
      }
      for (const auto* k : fresh) {
        r_->claim_trigger(p.id, "case:" + std::to_string(k->id), *event, now);
        log(*event, 0, "trigger", "病例 #" + std::to_string(k->id) + " 关联入本聚集性疫情", now);
        ++out.joined;
      }
    });
  }
}

void Service::sweep_rounds(const Playbook& p, Instant now, SweepResult& out) {
  const auto since = now - std::chrono::hours(24 * p.trigger.within_days);
  for (const auto& r : r_->unclaimed_positive_rounds(p.id, since)) {
    write([&] {
      const std::string key = "round:" + std::to_string(r.id);
      if (r_->trigger_event(p.id, key)) return;
      std::string place = r.area_code;
      if (auto a = repo_.area(r.area_code)) place = a->name;
      const std::string what = "区域核酸筛查 #" + std::to_string(r.id) + "（" + r.day + "）发现 " + std::to_string(r.positive_tubes) + " 管阳性";
      const auto id = start_event(p, r.area_code, p.title + "：" + what + "（" + place + "）", r.first_positive_at, 0, key,
                                  "由" + what + "触发");
      out.opened.push_back(id);
    });
  }
}

std::vector<std::int64_t> Service::raise_signal(const std::string& trigger_key, const std::string& area_code,
                                               const std::string& what, Instant now) {
  std::vector<std::int64_t> out;
  for (const auto& p : lib_.playbooks()) {
    if (p.trigger.kind != TriggerKind::early_warning) continue;
    write([&] {
      if (auto e = r_->trigger_event(p.id, trigger_key)) {
        out.push_back(*e);
        return;
      }
      const auto since = now - std::chrono::hours(24 * p.trigger.within_days);
      if (auto open = r_->open_event_in(p.id, area_code, since)) {
        r_->claim_trigger(p.id, trigger_key, open->id, now);
        log(open->id, 0, "trigger", "新增" + what + "，纳入本事件", now);
        out.push_back(open->id);
        return;
      }
      std::string place = area_code;
      if (auto a = repo_.area(area_code)) place = a->name;
      out.push_back(start_event(p, area_code, p.title + "：" + what + "（" + place + "）", now, 0, trigger_key,
                                "由" + what + "触发"));
      opened_counter().inc();
    });
  }
  return out;
}

SweepResult Service::sweep(Instant now) {
  SweepResult out;
  for (const auto& p : lib_.playbooks()) {
    switch (p.trigger.kind) {
      case TriggerKind::local_case:
      case TriggerKind::key_group_positive: sweep_cases(p, now, out); break;
      case TriggerKind::cluster: sweep_clusters(p, now, out); break;
      case TriggerKind::round_positive: sweep_rounds(p, now, out); break;
      case TriggerKind::early_warning:  // raised by src/warning's pass (raise_signal)
      case TriggerKind::manual: break;
    }
  }
  // The task of publishing risk areas is done by the data: once a high- or medium-risk area of the
  // event's area is published after the event started, the task closes with the areas' names.
  for (auto& t : r_->open_tasks_keyed("risk_areas", 500)) {
    write([&] {
      auto e = r_->event_by_id(t.event_id);
      if (!e || e->status != "open") return;
      const auto names = r_->risk_areas_published_since(e->area_code, e->started_at);
      if (names.empty()) return;
      std::string list;
      for (std::size_t i = 0; i < names.size() && i < 10; ++i) {
        if (i) list += "、";
        list += names[i];
      }
      if (names.size() > 10) list += "等";
      t.status = "done";
      t.done_at = now;
      t.done_by = 0;
      t.note = "已发布风险区 " + std::to_string(names.size()) + " 个：" + list + "（据风险区数据自动完成）";
      r_->update_task(t);
      log(t.event_id, 0, "done", "「" + t.title + "」完成：" + t.note, now);
      out.auto_done.push_back(t);
    });
  }
  for (auto& t : r_->overdue_tasks(now, 500)) {
    const int level = escalation_level_at(t.due_at, now, escalate_every_);
    if (level <= t.escalation_level) continue;
    write([&] {
      t.escalation_level = level;
      t.escalated_at = now;
      r_->update_task(t);
      log(t.event_id, 0, "escalated",
          "「" + t.title + "」未在时限（" + local_.format(t.due_at) + "）内完成，升级至" + kEscalatedTo[level], now);
    });
    escalated_counter().inc();
    out.escalated.push_back(t);
  }
  opened_counter().inc(out.opened.size());
  return out;
}

}  // namespace bihuan::response
