#include "core/response.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <set>
#include <utility>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/tracing.hpp"
#include "core/yaml_read.hpp"

namespace bihuan::response {

namespace {

using yamlr::bad;
using yamlr::check_keys;
using yamlr::require;
using yamlr::text;

constexpr std::array<std::pair<TriggerKind, const char*>, 6> kTriggers{{
    {TriggerKind::local_case, "local_case"},
    {TriggerKind::cluster, "cluster"},
    {TriggerKind::key_group_positive, "key_group_positive"},
    {TriggerKind::round_positive, "round_positive"},
    {TriggerKind::early_warning, "early_warning"},
    {TriggerKind::manual, "manual"},
}};
constexpr std::array<std::pair<AreaLevel, const char*>, 3> kDeclareAt{{
    {AreaLevel::province, "province"}, {AreaLevel::city, "city"}, {AreaLevel::county, "county"}}};

const std::set<std::string> kConfidence = {"V", "S", "U"};

std::string confidence(const YAML::Node& n, const std::string& path) {
  std::string c = text(n, path);
  if (!kConfidence.count(c)) bad(n, path, "unknown confidence '" + c + "' (allowed: V, S, U)");
  return c;
}

std::map<std::string, std::string> parse_sources(const YAML::Node& n) {
  if (!n.IsMap() || n.size() == 0) bad(n, "sources", "must be a mapping of source keys to citations");
  std::map<std::string, std::string> out;
  for (const auto& kv : n) out[text(kv.first, "sources")] = text(kv.second, "sources." + kv.first.Scalar());
  return out;
}

std::string source_key(const YAML::Node& n, const std::string& path, const std::map<std::string, std::string>& sources) {
  std::string k = text(n, path);
  if (!sources.count(k)) bad(n, path, "unknown source '" + k + "' (declare it under sources)");
  return k;
}

std::vector<std::string> text_list(const YAML::Node& n, const std::string& path) {
  if (!n.IsSequence()) bad(n, path, "must be a list");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n.size(); ++i) {
    auto v = text(n[i], path + "[" + std::to_string(i) + "]");
    if (v.empty()) bad(n[i], path + "[" + std::to_string(i) + "]", "must not be empty");
    out.push_back(std::move(v));
  }
  return out;
}

Trigger parse_trigger(const YAML::Node& n, const std::map<std::string, std::string>& sources) {
  if (!n.IsMap()) bad(n, "trigger", "must be a mapping with kind and source");
  check_keys(n, "trigger", {"kind", "inside_control_counts", "min_cases", "within_days", "source", "note"});
  Trigger t;
  const auto kn = require(n, "kind", "trigger");
  auto k = trigger_kind_from(text(kn, "trigger.kind"));
  if (!k) {
    std::string allowed;
    for (const auto& [e, name] : kTriggers) allowed += (allowed.empty() ? "" : ", ") + std::string(name);
    bad(kn, "trigger.kind", "unknown trigger '" + kn.Scalar() + "' (allowed: " + allowed + ")");
  }
  t.kind = *k;
  t.source = source_key(require(n, "source", "trigger"), "trigger.source", sources);
  if (auto v = n["inside_control_counts"]) t.inside_control_counts = yamlr::flag(v, "trigger.inside_control_counts");
  if (auto v = n["min_cases"]) t.min_cases = yamlr::integer(v, "trigger.min_cases", 2, 1000);
  if (auto v = n["within_days"]) t.within_days = yamlr::integer(v, "trigger.within_days", 1, 60);
  return t;
}

TaskTemplate parse_task(const YAML::Node& n, const std::string& path, const std::map<std::string, std::string>& sources) {
  if (!n.IsMap()) bad(n, path, "must be a mapping with key, title, owner, due_hours or due_minutes, source, confidence");
  check_keys(n, path, {"key", "title", "owner", "due_hours", "due_minutes", "after", "checklist", "source", "confidence", "note"});
  TaskTemplate t;
  t.key = text(require(n, "key", path), path + ".key");
  if (t.key.empty() || t.key.size() > 40 ||
      !std::all_of(t.key.begin(), t.key.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }))
    bad(n["key"], path + ".key", "must be 1-40 characters of a-z, 0-9 and _");
  t.title = text(require(n, "title", path), path + ".title");
  if (t.title.empty()) bad(n["title"], path + ".title", "must not be empty");
  const auto on = require(n, "owner", path);
  auto r = role_from(text(on, path + ".owner"));
  if (!r) bad(on, path + ".owner", "unknown role '" + on.Scalar() + "'");
  if (!has_permission(*r, Permission::response_task))
    bad(on, path + ".owner", "role '" + on.Scalar() + "' does not take response tasks");
  t.owner = *r;
  const auto h = n["due_hours"];
  const auto m = n["due_minutes"];
  if (h && m) bad(n, path, "give due_hours or due_minutes, not both");
  if (!h && !m) bad(n, path + ".due_hours", "missing required key (or due_minutes)");
  t.due_minutes = h ? 60 * yamlr::integer(h, path + ".due_hours", 1, 720) : yamlr::integer(m, path + ".due_minutes", 5, 43200);
  if (auto a = n["after"]) t.after = text_list(a, path + ".after");
  if (auto c = n["checklist"]) t.checklist = text_list(c, path + ".checklist");
  t.source = source_key(require(n, "source", path), path + ".source", sources);
  t.confidence = confidence(require(n, "confidence", path), path + ".confidence");
  return t;
}

}  // namespace

const char* to_string(TriggerKind k) {
  for (const auto& [e, name] : kTriggers)
    if (e == k) return name;
  return "manual";
}

std::optional<TriggerKind> trigger_kind_from(std::string_view s) {
  for (const auto& [e, name] : kTriggers)
    if (s == name) return e;
  return std::nullopt;
}

Playbook parse_playbook(std::string_view yaml_text, std::string_view file) {
  YAML::Node root = yamlr::load(yaml_text, file);
  try {
    if (!root.IsMap()) bad(root, "(top level)", "a playbook is a mapping");
    check_keys(root, "", {"schema", "id", "title", "sources", "trigger", "level", "tasks"});
    if (yamlr::integer(require(root, "schema", ""), "schema", 1, 1) != 1) bad(root, "schema", "must be 1");
    Playbook p;
    p.file = std::string(file);
    p.id = text(require(root, "id", ""), "id");
    if (p.id.empty()) bad(root["id"], "id", "must not be empty");
    p.title = text(require(root, "title", ""), "title");
    p.sources = parse_sources(require(root, "sources", ""));
    p.trigger = parse_trigger(require(root, "trigger", ""), p.sources);
    if (auto l = root["level"]) p.level = text(l, "level");
    const auto tasks = require(root, "tasks", "");
    if (!tasks.IsSequence() || tasks.size() == 0) bad(tasks, "tasks", "must be a non-empty list of tasks");
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      const std::string path = "tasks[" + std::to_string(i) + "]";
      auto t = parse_task(tasks[i], path, p.sources);
      if (index.count(t.key)) bad(tasks[i]["key"], path + ".key", "duplicate task key '" + t.key + "'");
      index[t.key] = i;
      p.tasks.push_back(std::move(t));
    }
    // Unknown `after` keys, then cycles (depth-first search with colours).
    for (std::size_t i = 0; i < p.tasks.size(); ++i)
      for (std::size_t k = 0; k < p.tasks[i].after.size(); ++k)
        if (!index.count(p.tasks[i].after[k]))
          bad(tasks[i]["after"][k], "tasks[" + std::to_string(i) + "].after[" + std::to_string(k) + "]",
              "unknown task '" + p.tasks[i].after[k] + "'");
    std::vector<int> colour(p.tasks.size(), 0);  // 0 new, 1 on the path, 2 finished
    std::function<void(std::size_t, std::vector<std::string>&)> visit = [&](std::size_t i, std::vector<std::string>& path) {
      colour[i] = 1;
      path.push_back(p.tasks[i].key);
      for (const auto& a : p.tasks[i].after) {
        const std::size_t j = index.at(a);
        if (colour[j] == 1) {
          std::string cycle;
          auto from = std::find(path.begin(), path.end(), a);
          for (auto it = from; it != path.end(); ++it) cycle += *it + " -> ";
          bad(tasks[i]["after"], "tasks[" + std::to_string(i) + "].after", "tasks wait for each other in a cycle: " + cycle + a);
        }
        if (colour[j] == 0) visit(j, path);
      }
      path.pop_back();
      colour[i] = 2;
    };
    for (std::size_t i = 0; i < p.tasks.size(); ++i)
      if (colour[i] == 0) {
        std::vector<std::string> path;
        visit(i, path);
      }
    // A task cannot be due before a task it waits for.
    for (std::size_t i = 0; i < p.tasks.size(); ++i)
      for (const auto& a : p.tasks[i].after)
        if (p.tasks[index.at(a)].due_minutes > p.tasks[i].due_minutes)
          bad(tasks[i], "tasks[" + std::to_string(i) + "]",
              "task '" + p.tasks[i].key + "' is due before task '" + a + "' it waits for");
    return p;
  } catch (const Error& e) {
    throw Error(e.code(), std::string(file) + ": " + e.what(), e.field());
  } catch (const YAML::Exception& e) {
    fail(ErrorCode::invalid_argument, std::string(file) + ": " + e.what(), "file");
  }
}

std::vector<Level> parse_levels(std::string_view yaml_text, std::string_view file) {
  YAML::Node root = yamlr::load(yaml_text, file);
  try {
    if (!root.IsMap()) bad(root, "(top level)", "the levels file is a mapping");
    check_keys(root, "", {"schema", "sources", "levels"});
    if (yamlr::integer(require(root, "schema", ""), "schema", 1, 1) != 1) bad(root, "schema", "must be 1");
    const auto sources = parse_sources(require(root, "sources", ""));
    const auto list = require(root, "levels", "");
    if (!list.IsSequence() || list.size() == 0) bad(list, "levels", "must be a non-empty list");
    std::vector<Level> out;
    std::set<std::string> ids;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto& n = list[i];
      const std::string path = "levels[" + std::to_string(i) + "]";
      if (!n.IsMap()) bad(n, path, "must be a mapping");
      check_keys(n, path, {"id", "name_zh", "name_en", "rank", "scale", "declared_at", "source", "confidence", "note"});
      Level l;
      l.id = text(require(n, "id", path), path + ".id");
      if (l.id.empty() || !ids.insert(l.id).second) bad(n["id"], path + ".id", "must be a unique, non-empty id");
      l.name_zh = text(require(n, "name_zh", path), path + ".name_zh");
      l.name_en = text(require(n, "name_en", path), path + ".name_en");
      l.rank = yamlr::integer(require(n, "rank", path), path + ".rank", 1, 9);
      l.scale = text(require(n, "scale", path), path + ".scale");
      if (l.scale != "national" && l.scale != "local") bad(n["scale"], path + ".scale", "must be national or local");
      const auto d = require(n, "declared_at", path);
      const std::string ds = text(d, path + ".declared_at");
      bool found = false;
      for (const auto& [lv, name] : kDeclareAt)
        if (ds == name) l.declared_at = lv, found = true;
      if (!found) bad(d, path + ".declared_at", "unknown area level '" + ds + "' (allowed: province, city, county)");
      l.source = source_key(require(n, "source", path), path + ".source", sources);
      l.confidence = confidence(require(n, "confidence", path), path + ".confidence");
      if (auto note = n["note"]) l.note = text(note, path + ".note");
      out.push_back(std::move(l));
    }
    return out;
  } catch (const Error& e) {
    throw Error(e.code(), std::string(file) + ": " + e.what(), e.field());
  } catch (const YAML::Exception& e) {
    fail(ErrorCode::invalid_argument, std::string(file) + ": " + e.what(), "file");
  }
}

void check_playbooks(const std::vector<Playbook>& playbooks, const std::vector<Level>& levels) {
  std::set<std::string> ids;
  for (const auto& p : playbooks) {
    if (!ids.insert(p.id).second) fail(ErrorCode::invalid_argument, p.file + ": id: duplicate playbook id '" + p.id + "'", "id");
    if (!p.level.empty() &&
        std::none_of(levels.begin(), levels.end(), [&](const Level& l) { return l.id == p.level; }))
      fail(ErrorCode::invalid_argument, p.file + ": level: unknown response level '" + p.level + "'", "level");
  }
}

std::string declare_refusal(const Level& level, const Caller& c, std::string_view area_code) {
  if (!c.can(Permission::response_manage)) return "the caller does not manage emergency responses";
  const auto lv = area_level_of(area_code);
  if (!lv) return "area_code is not a canonical area code";
  if (*lv != level.declared_at) {
    for (const auto& [l, name] : kDeclareAt)
      if (l == level.declared_at) return "level " + level.id + " is declared over a " + name + ", not over area " + std::string(area_code);
  }
  if (!c.everything() && !area_in_scope(c.scope, area_code)) return "area outside the caller's jurisdiction";
  return {};
}

Instant due_at(const TaskTemplate& t, Instant start) { return start + std::chrono::minutes(t.due_minutes); }

int escalation_level_at(Instant due, Instant now, std::chrono::minutes every) {
  if (now < due) return 0;
  if (every.count() <= 0) return 3;
  const auto steps = std::chrono::duration_cast<std::chrono::minutes>(now - due).count() / every.count();
  return static_cast<int>(std::min<std::int64_t>(3, 1 + steps));
}

std::vector<std::string> waiting_for(const std::vector<std::string>& after, const std::vector<std::string>& done) {
  std::vector<std::string> out;
  for (const auto& a : after)
    if (std::find(done.begin(), done.end(), a) == done.end()) out.push_back(a);
  return out;
}

bool is_infection(std::string_view classification, std::string_view source) {
  return classification == "confirmed" || classification == "asymptomatic" || (classification.empty() && source == "lab");
}

bool case_triggers(const Trigger& t, std::string_view origin, std::string_view classification, std::string_view found_by,
                   std::string_view source) {
  if (origin != "local") return false;
  if (!is_infection(classification, source)) return false;
  if (t.inside_control_counts) return true;
  const auto f = tracing::found_by_from(found_by);
  return !(f && tracing::found_inside_control(*f));
}

std::string situation_text(const Situation& s, const LocalTime& local, bool english) {
  auto n = [](std::int64_t v) { return std::to_string(v); };
  std::string out;
  auto line = [&](const std::string& zh, const std::string& en) { out += (english ? en : zh) + "\n"; };
  const std::string where = s.area_name.empty() ? s.area_code : s.area_name + " (" + s.area_code + ")";
  line("【疫情处置情况报告】" + s.event_title, "Situation report: " + s.event_title);
  line("区域：" + where, "Area: " + where);
  line("事件开始：" + local.format(s.started_at) + "；报告时间：" + local.format(s.at),
       "Started: " + local.format(s.started_at) + "; as of " + local.format(s.at));
  if (!s.level.empty()) line("应急响应级别：" + s.level, "Response level: " + s.level);
  line("一、病例：累计 " + n(s.cases) + " 例（确诊 " + n(s.confirmed) + "，无症状 " + n(s.asymptomatic) + "，重症 " + n(s.severe) +
           "），近 24 小时新增 " + n(s.cases_24h) + " 例；管控内发现 " + n(s.found_inside_control) + " 例，社会面发现 " +
           n(s.found_in_community) + " 例；境外输入 " + n(s.imported) + " 例。",
       "1. Cases: " + n(s.cases) + " (confirmed " + n(s.confirmed) + ", asymptomatic " + n(s.asymptomatic) + ", severe " +
           n(s.severe) + "), " + n(s.cases_24h) + " in the last 24 h; found inside control " + n(s.found_inside_control) +
           ", in the community " + n(s.found_in_community) + "; imported " + n(s.imported) + ".");
  line("二、密接：排查 " + n(s.contacts_found) + " 人，判定 " + n(s.contacts_accepted) + " 人，已管控 " + n(s.contacts_controlled) +
           " 人；区域内在管人员 " + n(s.under_control) + " 人。",
       "2. Contacts: " + n(s.contacts_found) + " found, " + n(s.contacts_accepted) + " accepted, " + n(s.contacts_controlled) +
           " under control; " + n(s.under_control) + " people under control in the area.");
  line("三、风险区：高风险区 " + n(s.risk_high) + " 个，中风险区 " + n(s.risk_medium) + " 个。",
       "3. Risk areas: " + n(s.risk_high) + " high, " + n(s.risk_medium) + " medium.");
  line("四、核酸检测：区域筛查 " + n(s.rounds) + " 轮（进行中 " + n(s.rounds_open) + "），阳性管 " + n(s.round_positive_tubes) + " 管。",
       "4. Testing: " + n(s.rounds) + " rounds (" + n(s.rounds_open) + " open), " + n(s.round_positive_tubes) + " positive tubes.");
  line("五、隔离资源：隔离房间 " + n(s.rooms) + " 间，空余 " + n(s.rooms_free) + " 间。",
       "5. Quarantine rooms: " + n(s.rooms) + ", " + n(s.rooms_free) + " free.");
  line("六、处置任务：" + n(s.tasks) + " 项，已完成 " + n(s.tasks_done) + " 项，超时 " + n(s.tasks_overdue) + " 项。",
       "6. Tasks: " + n(s.tasks) + ", " + n(s.tasks_done) + " done, " + n(s.tasks_overdue) + " overdue.");
  return out;
}

}  // namespace bihuan::response
