#include "core/tracing.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <set>
#include <unordered_map>
#include <utility>

namespace bihuan::tracing {

namespace {

template <typename E, std::size_t N>
struct Names {
  std::array<std::tuple<E, const char*, const char*>, N> rows;
  const char* name(E e) const {
    for (const auto& [v, n, zh] : rows)
      if (v == e) return n;
    return "unknown";
  }
  const char* zh(E e) const {
    for (const auto& [v, n, z] : rows)
      if (v == e) return z;
    return "";
  }
  std::optional<E> from(std::string_view s) const {
    for (const auto& [v, n, zh] : rows)
      if (s == n) return v;
    return std::nullopt;
  }
};

constexpr Names<Classification, 4> kClass{{{
    {Classification::suspected, "suspected", "疑似病例"},
    {Classification::clinical, "clinical", "临床诊断病例"},
    {Classification::confirmed, "confirmed", "确诊病例"},
    {Classification::asymptomatic, "asymptomatic", "无症状感染者"},
}}};
constexpr Names<Severity, 4> kSeverity{{{
    {Severity::mild, "mild", "轻型"},
    {Severity::moderate, "moderate", "普通型"},
    {Severity::severe, "severe", "重型"},
    {Severity::critical, "critical", "危重型"},
}}};
constexpr Names<FoundBy, 7> kFound{{{
    {FoundBy::central_quarantine, "central_quarantine", "集中隔离中发现"},
    {FoundBy::home_isolation, "home_isolation", "居家隔离中发现"},
    {FoundBy::closed_loop_work, "closed_loop_work", "闭环作业中发现"},
    {FoundBy::key_group_screening, "key_group_screening", "重点人群筛查"},
    {FoundBy::round_screening, "round_screening", "区域核酸筛查"},
    {FoundBy::clinic, "clinic", "门诊就诊"},
    {FoundBy::other, "other", "其他"},
}}};

}  // namespace

const char* to_string(Classification c) { return kClass.name(c); }
const char* to_string(Severity s) { return kSeverity.name(s); }
const char* to_string(FoundBy f) { return kFound.name(f); }
std::optional<Classification> classification_from(std::string_view s) { return kClass.from(s); }
std::optional<Severity> severity_from(std::string_view s) { return kSeverity.from(s); }
std::optional<FoundBy> found_by_from(std::string_view s) { return kFound.from(s); }
const char* label_zh(Classification c) { return kClass.zh(c); }
const char* label_zh(Severity s) { return kSeverity.zh(s); }
const char* label_zh(FoundBy f) { return kFound.zh(f); }

bool found_inside_control(FoundBy f) {
  return f == FoundBy::central_quarantine || f == FoundBy::home_isolation || f == FoundBy::closed_loop_work;
}

Rules rules_of(const policy::Profile& p) {
  Rules r;
  const auto& t = p.tracing;
  if (t.exposure_days_before) r.exposure_days_before = t.exposure_days_before->days;
  if (t.timeliness) {
    r.report_hours = t.timeliness->report_hours;
    r.on_site_hours = t.timeliness->on_site_hours;
    r.core_hours = t.timeliness->core_hours;
    r.controlled_hours = t.timeliness->controlled_hours;
  }
  if (t.co_travellers) r.co_traveller_rows = t.co_travellers->rows;
  auto traced = [&](const char* key) {
    auto it = p.groups.find(key);
    return it != p.groups.end() && it->second.traced && !it->second.phases.empty();
  };
  r.trace_close = traced("close_contact");
  r.trace_secondary = traced("secondary_contact");
  return r;
}

std::optional<Window> exposure_window(Classification c, std::optional<Date> onset, std::optional<Instant> first_positive,
                                      std::optional<Instant> isolated, Instant now, int days_before,
                                      const LocalTime& local) {
  const auto back = std::chrono::days{days_before};
  std::optional<Instant> start;
  if (c != Classification::asymptomatic && onset)
    start = local.start_of(Date{std::chrono::sys_days{*onset} - back});
  else if (first_positive)
    start = *first_positive - back;
  else if (onset)
    start = local.start_of(Date{std::chrono::sys_days{*onset} - back});
  if (!start) return std::nullopt;
  Instant end = isolated ? *isolated : now;
  if (end < *start) end = *start;
  return Window{*start, end};
}

Instant visit_end(Instant entered, std::optional<Instant> exited, std::chrono::minutes dwell) {
  if (exited && *exited >= entered) return *exited;
  return entered + dwell;
}

std::chrono::seconds overlap(Instant a0, Instant a1, Instant b0, Instant b1) {
  const Instant lo = std::max(a0, b0), hi = std::min(a1, b1);
  if (hi <= lo) return std::chrono::seconds{0};
  return std::chrono::duration_cast<std::chrono::seconds>(hi - lo);
}

int default_dwell_minutes(std::string_view t) {
  // Typical stays by venue type (local settings venue.dwell.<type> override them).
  static const std::map<std::string_view, int> kDwell{
      {"restaurant", 60},    {"supermarket", 30}, {"market", 30},    {"shopping_mall", 90},
      {"school", 480},       {"office", 480},     {"factory", 480},  {"hospital", 120},
      {"clinic", 60},        {"pharmacy", 10},    {"hotel", 600},    {"transport_hub", 30},
      {"entertainment", 120}, {"gym", 90},        {"religious", 90}, {"government", 60},
      {"residential_gate", 5}, {"other", 30}};
  auto it = kDwell.find(t);
  return it == kDwell.end() ? 30 : it->second;
}

bool would_cycle(const std::vector<Link>& links, std::int64_t infector, std::int64_t infectee) {
  if (infector == infectee) return true;
  // A cycle exists when infector is reachable from infectee.
  std::unordered_map<std::int64_t, std::vector<std::int64_t>> out;
  for (const auto& l : links) out[l.infector].push_back(l.infectee);
  std::vector<std::int64_t> stack{infectee};
  std::set<std::int64_t> seen{infectee};
  while (!stack.empty()) {
    const auto at = stack.back();
    stack.pop_back();
    auto it = out.find(at);
    if (it == out.end()) continue;
    for (auto next : it->second) {
      if (next == infector) return true;
      if (seen.insert(next).second) stack.push_back(next);
    }
  }
  return false;
}

std::vector<std::vector<std::int64_t>> clusters(const std::vector<std::int64_t>& cases, const std::vector<Link>& links) {
  std::unordered_map<std::int64_t, std::int64_t> parent;
  auto find = [&](std::int64_t x) {
    auto it = parent.find(x);
    if (it == parent.end()) {
      parent.emplace(x, x);
      return x;
    }
    std::int64_t root = x;
    while (parent[root] != root) root = parent[root];
    while (parent[x] != root) {
      const auto next = parent[x];
      parent[x] = root;
      x = next;
    }
    return root;
  };
  for (auto c : cases) find(c);
  for (const auto& l : links) {
    const auto a = find(l.infector), b = find(l.infectee);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  }
  std::map<std::int64_t, std::vector<std::int64_t>> groups;
  for (const auto& [x, p] : parent) groups[find(x)].push_back(x);
  std::vector<std::vector<std::int64_t>> out;
  for (auto& [root, members] : groups) {
    std::sort(members.begin(), members.end());
    out.push_back(std::move(members));
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    if (a.size() != b.size()) return a.size() > b.size();
    return a.front() < b.front();
  });
  return out;
}

std::map<std::int64_t, int> generations(const std::vector<std::int64_t>& cases, const std::vector<Link>& links) {
  std::map<std::int64_t, int> gen;
  std::unordered_map<std::int64_t, std::vector<std::int64_t>> out;
  std::unordered_map<std::int64_t, int> indegree;
  std::set<std::int64_t> all(cases.begin(), cases.end());
  for (const auto& l : links) {
    out[l.infector].push_back(l.infectee);
    ++indegree[l.infectee];
    all.insert(l.infector);
    all.insert(l.infectee);
  }
  // Kahn's order: a case's generation is final once all its infectors are placed.
  std::vector<std::int64_t> ready;
  for (auto c : all)
    if (indegree[c] == 0) {
      gen[c] = 1;
      ready.push_back(c);
    }
  while (!ready.empty()) {
    const auto at = ready.back();
    ready.pop_back();
    auto it = out.find(at);
    if (it == out.end()) continue;
    for (auto next : it->second) {
      auto g = gen.find(next);
      const int cand = gen[at] + 1;
      if (g == gen.end())
        gen[next] = cand;
      else
        g->second = std::min(g->second, cand);
      if (--indegree[next] == 0) ready.push_back(next);
    }
  }
  return gen;
}

Summary summarise(const std::vector<double>& values) {
  Summary s;
  s.n = static_cast<std::int64_t>(values.size());
  if (values.empty()) return s;
  const double sum = std::accumulate(values.begin(), values.end(), 0.0);
  s.mean = sum / static_cast<double>(values.size());
  if (values.size() > 1) {
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.sd = std::sqrt(ss / static_cast<double>(values.size() - 1));
  }
  s.negative_share =
      static_cast<double>(std::count_if(values.begin(), values.end(), [](double v) { return v < 0; })) /
      static_cast<double>(values.size());
  std::vector<double> sorted(values);
  std::sort(sorted.begin(), sorted.end());
  const auto m = sorted.size() / 2;
  s.median = sorted.size() % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
  return s;
}

std::map<int, std::int64_t> offspring(const std::vector<std::int64_t>& cases, const std::vector<Link>& links) {
  std::map<std::int64_t, int> n;
  for (auto c : cases) n.emplace(c, 0);
  for (const auto& l : links) {
    n.emplace(l.infectee, 0);
    ++n[l.infector];
  }
  std::map<int, std::int64_t> out;
  for (const auto& [c, k] : n) ++out[k];
  return out;
}

std::vector<Breach> breaches(const Marks& m, const Rules& r, Instant now) {
  std::vector<Breach> out;
  auto check = [&](const char* step, std::optional<Instant> from, int hours, std::optional<Instant> done) {
    if (!from) return;
    const Instant due = *from + std::chrono::hours{hours};
    if (done ? *done > due : now > due) out.push_back({step, due, done});
  };
  check("report", m.diagnosed, r.report_hours, m.reported);
  const auto base = m.reported ? m.reported : m.diagnosed;
  check("on_site", base, r.on_site_hours, m.investigation);
  check("core", base, r.core_hours, m.listed);
  check("controlled", base, r.controlled_hours, m.controlled);
  return out;
}

}  // namespace bihuan::tracing
