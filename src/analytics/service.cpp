#include "analytics/service.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/tracing.hpp"

namespace bihuan::analytics {

namespace {

using std::chrono::days;
using std::chrono::sys_days;

std::optional<double> setting_double(store::Repository& repo, const std::string& key, double lo, double hi) {
  auto v = repo.setting(key);
  if (!v || v->empty()) return std::nullopt;
  try {
    std::size_t used = 0;
    const double d = std::stod(*v, &used);
    if (used != v->size() || !(d >= lo && d <= hi)) throw std::invalid_argument(key);
    return d;
  } catch (const std::exception&) {
    fail(ErrorCode::invalid_argument, "setting " + key + " must be a number " + std::to_string(lo) + ".." +
                                          std::to_string(hi), key);
  }
}

Date plus(Date d, int n) { return Date(sys_days(d) + days(n)); }
int between(Date a, Date b) { return static_cast<int>((sys_days(b) - sys_days(a)).count()); }

void require_reader(const Caller& c) {
  if (!c.can(Permission::analytics_read))
    fail(ErrorCode::permission_denied, "analytics need analytics.read (command centre, investigator)", "role");
}

bool inside_control(const std::string& found_by) {
  const auto f = tracing::found_by_from(found_by);
  return f && tracing::found_inside_control(*f);
}

}  // namespace

Settings read_settings(store::Repository& repo) {
  Settings s;
  s.local = store::local_time_of(repo);
  const auto mean = setting_double(repo, "analytics.si_mean", 1.01, 60);
  const auto sd = setting_double(repo, "analytics.si_sd", 0.01, 60);
  if (mean || sd) {
    if (!mean || !sd)
      fail(ErrorCode::invalid_argument, "settings analytics.si_mean and analytics.si_sd go together", "analytics.si_mean");
    s.si_mean = *mean;
    s.si_sd = *sd;
    auto src = repo.setting("analytics.si_source");
    s.si_source = src && !src->empty() ? *src : "setting analytics.si_mean / analytics.si_sd";
  }
  if (auto w = setting_double(repo, "analytics.rt_window", 1, 28)) s.window = static_cast<int>(*w);
  if (auto d = setting_double(repo, "analytics.nowcast_max_delay", 1, 60)) s.max_delay = static_cast<int>(*d);
  return s;
}

const char* to_string(store::CaseDate d) {
  switch (d) {
    case store::CaseDate::onset: return "onset";
    case store::CaseDate::report: return "report";
    case store::CaseDate::diagnosis: return "diagnosis";
  }
  return "report";
}

std::optional<store::CaseDate> case_date_from(std::string_view s) {
  if (s == "onset") return store::CaseDate::onset;
  if (s == "report") return store::CaseDate::report;
  if (s == "diagnosis") return store::CaseDate::diagnosis;
  return std::nullopt;
}

Service::Service(store::Repository& repo, const Clock& clock, Settings settings)
    : repo_(repo), t_(store::open_case_repository(repo)), clock_(clock), settings_(std::move(settings)) {}

Service::~Service() = default;

std::pair<Date, Date> Service::range(const Filter& f, int default_days, int max_days) const {
  const Date to = f.to ? *f.to : settings_.local.date_of(clock_.now());
  const Date from = f.from ? *f.from : plus(to, -(default_days - 1));
  if (sys_days(from) > sys_days(to)) fail(ErrorCode::invalid_argument, "from must not be after to", "from");
  if (between(from, to) + 1 > max_days)
    fail(ErrorCode::invalid_argument, "at most " + std::to_string(max_days) + " days at once", "from");
  return {from, to};
}

store::CaseCountQuery Service::query(const Filter& f, Date from, Date to, const Caller& c) const {
  require_reader(c);
  store::CaseCountQuery q;
  q.by = f.by;
  q.from = from;
  q.to = to;
  q.utc_offset = settings_.local.offset;
  if (!f.district.empty()) {
    if (f.district.size() < 2 || f.district.size() > 15 ||
        !std::all_of(f.district.begin(), f.district.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      fail(ErrorCode::invalid_argument, "district must be an area code (2 to 15 digits)", "district");
    q.area_prefix = f.district;
  }
  q.classifications = f.classifications;
  if (q.classifications.empty()) q.classifications = {"confirmed", "clinical", "asymptomatic"};
  for (const auto& k : q.classifications)
    if (!tracing::classification_from(k))
      fail(ErrorCode::invalid_argument, "unknown classification '" + k + "' (suspected, clinical, confirmed, asymptomatic)",
           "classification");
  return q;
}

Curves Service::curves(const Filter& f, const Caller& c) {
  const auto [from, to] = range(f, 90, 731);
  // Six more days before `from` so that the first day has its 7-day average.
  const Date early = plus(from, -6);
  const auto q = query(f, early, to, c);
  const auto rows = t_->case_day_counts(q, c.scope);
  Curves out;
  out.by = f.by;
  out.from = from;
  out.to = to;
  const int n = between(from, to) + 1;
  const auto un = static_cast<std::size_t>(n);
  for (int i = 0; i < n; ++i) out.days.push_back(plus(from, i));
  out.local_community.assign(un, 0);
  out.local_inside.assign(un, 0);
  out.imported_community.assign(un, 0);
  out.imported_inside.assign(un, 0);
  out.total.assign(un, 0);
  std::vector<std::int64_t> with_early(un + 6, 0);
  std::map<std::string, Curves::District> districts;
  for (const auto& r : rows) {
    const int k = between(early, r.day);
    if (k < 0 || k >= n + 6) continue;
    with_early[static_cast<std::size_t>(k)] += r.n;
    if (k < 6) continue;
    const auto i = static_cast<std::size_t>(k - 6);
    const bool imported = r.origin == "imported";
    const bool inside = inside_control(r.found_by);
    (imported ? (inside ? out.imported_inside : out.imported_community)
              : (inside ? out.local_inside : out.local_community))[i] += r.n;
    out.total[i] += r.n;
    auto& d = districts[r.district];
    if (d.counts.empty()) {
      d.code = r.district;
      d.counts.assign(un, 0);
    }
    d.counts[i] += r.n;
    d.total += r.n;
  }
  const auto avg = epi::moving_average(with_early, 7);
  out.average7.assign(avg.begin() + 6, avg.end());
  for (auto& [code, d] : districts) out.districts.push_back(std::move(d));
  std::stable_sort(out.districts.begin(), out.districts.end(),
                   [](const auto& a, const auto& b) { return a.total > b.total; });
  auto in_range = q;
  in_range.from = from;
  out.undated = t_->count_undated_cases(in_range, c.scope);
  return out;
}

RtResult Service::rt(const Filter& f, std::optional<double> si_mean, std::optional<double> si_sd,
                     std::optional<int> window, const Caller& c) {
  const auto [from, to] = range(f, 90, 731);
  RtResult out;
  out.by = f.by;
  out.from = from;
  out.to = to;
  out.window = window.value_or(settings_.window);
  if (out.window < 1 || out.window > 28) fail(ErrorCode::invalid_argument, "window must be 1..28 days", "window");
  out.si_mean = si_mean.value_or(settings_.si_mean);
  out.si_sd = si_sd.value_or(settings_.si_sd);
  out.si_source = si_mean || si_sd ? "the request" : settings_.si_source;
  if (si_mean.has_value() != si_sd.has_value())
    fail(ErrorCode::invalid_argument, "si_mean and si_sd go together", si_mean ? "si_sd" : "si_mean");
  const int n = between(from, to) + 1;
  if (n < out.window + 1)
    fail(ErrorCode::invalid_argument,
         std::to_string(n) + " days are too few: a window of " + std::to_string(out.window) +
             " days starting on the second day needs " + std::to_string(out.window + 1),
         "from");
  const auto q = query(f, from, to, c);
  out.local.assign(static_cast<std::size_t>(n), 0);
  out.imported.assign(static_cast<std::size_t>(n), 0);
  for (int i = 0; i < n; ++i) out.days.push_back(plus(from, i));
  for (const auto& r : t_->case_day_counts(q, c.scope)) {
    const int k = between(from, r.day);
    if (k < 0 || k >= n) continue;
    (r.origin == "imported" ? out.imported : out.local)[static_cast<std::size_t>(k)] += r.n;
  }
  out.estimates = epi::estimate_rt_parametric(out.local, out.imported, out.si_mean, out.si_sd,
                                              epi::sliding_windows(n, out.window));
  return out;
}

NowcastResult Service::nowcast(const Filter& f, std::optional<int> max_delay, const Caller& c) {
  const auto [from, to] = range(f, 60, 366);
  Filter g = f;
  g.by = store::CaseDate::onset;
  const auto q = query(g, from, to, c);
  NowcastResult out;
  out.from = from;
  out.to = to;
  const int n = between(from, to) + 1;
  for (int i = 0; i < n; ++i) out.days.push_back(plus(from, i));
  std::vector<epi::DelayCount> cells;
  for (const auto& r : t_->onset_report_counts(q, c.scope))
    cells.push_back({between(from, r.onset), between(r.onset, r.report), r.n});
  epi::NowcastConfig cfg;
  cfg.max_delay = max_delay.value_or(settings_.max_delay);
  if (cfg.max_delay < 1 || cfg.max_delay > 60) fail(ErrorCode::invalid_argument, "max_delay must be 1..60 days", "max_delay");
  out.nowcast = epi::nowcast(cells, n, cfg);
  out.undated = t_->count_undated_cases(q, c.scope);
  return out;
}

GrowthResult Service::growth(const Filter& f, int days_n, const std::string& origin, const Caller& c) {
  if (days_n < 3 || days_n > 90) fail(ErrorCode::invalid_argument, "days must be 3..90", "days");
  if (origin != "local" && origin != "imported" && origin != "all")
    fail(ErrorCode::invalid_argument, "origin must be local, imported or all", "origin");
  Filter g = f;
  if (!g.to) g.to = plus(settings_.local.date_of(clock_.now()), -1);
  if (!g.from) g.from = plus(*g.to, -(days_n - 1));
  const auto [from, to] = range(g, days_n, 90);
  GrowthResult out;
  out.by = f.by;
  out.origin = origin;
  out.from = from;
  out.to = to;
  const int n = between(from, to) + 1;
  for (int i = 0; i < n; ++i) out.days.push_back(plus(from, i));
  out.counts.assign(static_cast<std::size_t>(n), 0);
  const auto q = query(g, from, to, c);
  for (const auto& r : t_->case_day_counts(q, c.scope)) {
    const int k = between(from, r.day);
    if (k < 0 || k >= n) continue;
    const bool imported = r.origin == "imported";
    if ((origin == "local" && imported) || (origin == "imported" && !imported)) continue;
    out.counts[static_cast<std::size_t>(k)] += r.n;
  }
  out.growth = epi::growth_rate(out.counts);
  return out;
}

}  // namespace bihuan::analytics
