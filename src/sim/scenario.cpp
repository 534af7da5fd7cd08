#include "sim/scenario.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace bihuan::sim {
namespace {

[[noreturn]] void bad(const YAML::Node& n, const std::string& key, const std::string& why) {
  const std::string line = n.Mark().line >= 0 ? "line " + std::to_string(n.Mark().line + 1) + ": " : "";
  fail(ErrorCode::invalid_argument, line + key + ": " + why, key);
}

double number(const YAML::Node& n, const std::string& key, double lo, double hi) {
  double v = 0;
  try {
    v = n.as<double>();
  } catch (const YAML::Exception&) {
    bad(n, key, "not a number");
  }
  if (!std::isfinite(v) || v < lo || v > hi) {
    std::ostringstream ss;
    ss << "must be from " << lo << " to " << hi;
    bad(n, key, ss.str());
  }
  return v;
}

std::string text(const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) bad(n, key, "must be a text");
  return n.as<std::string>();
}

policy::Measure measure_named(const YAML::Node& n, const std::string& key) {
  const std::string s = text(n, key);
  if (s == "central_quarantine" || s == "central") return policy::Measure::central_quarantine;
  if (s == "home_isolation" || s == "home") return policy::Measure::home_isolation;
  bad(n, key, "must be central_quarantine or home_isolation");
}

template <typename T, typename F>
std::vector<T> list(const YAML::Node& n, const std::string& key, F&& each) {
  if (!n.IsSequence() || n.size() == 0) bad(n, key, "must be a non-empty list");
  std::vector<T> out;
  for (std::size_t i = 0; i < n.size(); ++i) out.push_back(each(n[i], key + "[" + std::to_string(i) + "]"));
  return out;
}

const std::map<std::string, std::pair<double, double>>& override_ranges() {
  static const std::map<std::string, std::pair<double, double>> m = {
      {"tracing_coverage", {0, 1}},   {"community_recall", {0, 1}},    {"scan_compliance", {0, 1}},
      {"tracing_delay", {0, 30}},     {"result_delay", {0, 30}},       {"seek_test_share", {0, 1}},
      {"seek_delay_mean", {0, 30}},   {"pool_size", {1, 50}},          {"clean_rounds_to_stop", {1, 30}},
      {"lockdown_days", {1, 60}},     {"mask_multiplier", {0, 1}},     {"gathering_multiplier", {0, 1}},
      {"household_weight", {0, 10}},  {"venue_visit_share", {0, 1}},   {"venue_contact_share", {0, 1}},
      {"r0", {0, 30}},                {"asymptomatic_share", {0, 1}},  {"lockdown", {0, 1}},
      {"mass_testing", {0, 1}},       {"tracing", {0, 1}}};
  return m;
}

}  // namespace

std::string Variation::label() const {
  std::ostringstream ss;
  ss << (close_measure == policy::Measure::central_quarantine ? "central" : "home") << close_days << "d-" << test_days
     << "-pool" << pool_size << "-trace" << static_cast<int>(std::lround(tracing_coverage * 100));
  return ss.str();
}

std::vector<Variation> SearchSpace::expand() const {
  std::vector<Variation> out;
  for (int d : close_days)
    for (auto m : close_measure)
      for (const auto& t : test_days)
        for (int pool : pool_size)
          for (double cov : tracing_coverage) out.push_back(Variation{d, m, t, pool, cov});
  return out;
}

Scenario parse_scenario(const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    fail(ErrorCode::invalid_argument, "line " + std::to_string(e.mark.line + 1) + ": " + e.msg, "scenario");
  }
  if (!root.IsMap()) fail(ErrorCode::invalid_argument, "scenario: must be a YAML mapping", "scenario");
  Scenario s;
  static const std::vector<std::string> known = {"name", "title", "city", "variant", "profile", "days",
                                                 "initial_infections", "imports", "rebound_threshold",
                                                 "risk_ceiling", "round_rule", "overrides", "search"};
  for (const auto& kv : root) {
    const std::string k = kv.first.as<std::string>();
    if (std::find(known.begin(), known.end(), k) == known.end()) bad(kv.first, k, "unknown key");
  }
  if (root["name"]) s.name = text(root["name"], "name");
  if (root["title"]) s.title = text(root["title"], "title");
  if (const auto c = root["city"]) {
    if (c["persons"]) s.city.persons = static_cast<std::int64_t>(number(c["persons"], "city.persons", 1, 2147483648.0));
    if (c["seed"]) s.city.seed = static_cast<std::uint64_t>(number(c["seed"], "city.seed", 0, 1e15));
    if (c["households_per_grid"])
      s.city.households_per_grid = static_cast<int>(number(c["households_per_grid"], "city.households_per_grid", 1, 100000));
    if (c["grids_per_district"])
      s.city.grids_per_district = static_cast<int>(number(c["grids_per_district"], "city.grids_per_district", 1, 1e7));
  }
  if (root["round_rule"]) s.round_rule = text(root["round_rule"], "round_rule");
  if (root["variant"]) s.variant = text(root["variant"], "variant");
  if (root["profile"]) s.profile = text(root["profile"], "profile");
  if (root["days"]) s.days = static_cast<int>(number(root["days"], "days", 1, 3000));
  if (root["initial_infections"])
    s.initial_infections = static_cast<int>(number(root["initial_infections"], "initial_infections", 0, 1e7));
  if (const auto im = root["imports"]) {
    if (im["per_day"]) s.imports_per_day = number(im["per_day"], "imports.per_day", 0, 1e6);
    if (im["prevalence"]) s.import_prevalence = number(im["prevalence"], "imports.prevalence", 0, 1);
  }
  if (root["rebound_threshold"])
    s.rebound_threshold = static_cast<int>(number(root["rebound_threshold"], "rebound_threshold", 1, 1e9));
  if (root["risk_ceiling"]) s.risk_ceiling = number(root["risk_ceiling"], "risk_ceiling", 0, 1);
  if (const auto o = root["overrides"]) {
    if (!o.IsMap()) bad(o, "overrides", "must be a mapping");
    for (const auto& kv : o) {
      const std::string k = kv.first.as<std::string>();
      auto it = override_ranges().find(k);
      if (it == override_ranges().end()) bad(kv.first, "overrides." + k, "unknown setting");
      s.overrides[k] = number(kv.second, "overrides." + k, it->second.first, it->second.second);
    }
  }
  if (const auto q = root["search"]) {
    if (!q.IsMap()) bad(q, "search", "must be a mapping");
    if (q["close_contact_days"])
      s.search.close_days = list<int>(q["close_contact_days"], "search.close_contact_days",
                                      [](const YAML::Node& n, const std::string& k) { return static_cast<int>(number(n, k, 1, 60)); });
    if (q["close_contact_measure"])
      s.search.close_measure = list<policy::Measure>(q["close_contact_measure"], "search.close_contact_measure", measure_named);
    if (q["test_days"])
      s.search.test_days = list<std::string>(q["test_days"], "search.test_days", [](const YAML::Node& n, const std::string& k) {
        const std::string t = text(n, k);
        if (t != "dense" && t != "sparse") bad(n, k, "must be dense or sparse");
        return t;
      });
    if (q["pool_size"])
      s.search.pool_size = list<int>(q["pool_size"], "search.pool_size",
                                     [](const YAML::Node& n, const std::string& k) { return static_cast<int>(number(n, k, 1, 50)); });
    if (q["tracing_coverage"])
      s.search.tracing_coverage = list<double>(q["tracing_coverage"], "search.tracing_coverage",
                                               [](const YAML::Node& n, const std::string& k) { return number(n, k, 0, 1); });
  }
  return s;
}

Scenario load_scenario(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(ErrorCode::not_found, "cannot read scenario " + file, "scenario");
  std::ostringstream ss;
  ss << in.rdbuf();
  try {
    return parse_scenario(ss.str());
  } catch (const Error& e) {
    throw Error(e.code(), file + ": " + e.what(), e.field());
  }
}

AbmConfig make_config(const Scenario& s, const policy::Profile& profile, const Variant& variant) {
  AbmConfig c;
  c.variant = variant;
  c.iv = interventions_from(profile);
  c.days = s.days;
  c.initial_infections = s.initial_infections;
  c.imports_per_day = s.imports_per_day;
  c.import_prevalence = s.import_prevalence;
  c.rebound_threshold = s.rebound_threshold;
  if (!s.round_rule.empty() && c.iv.mass_testing) apply_round_rule(c.iv, profile, s.round_rule);
  for (const auto& [k, v] : s.overrides) {
    if (k == "tracing_coverage") c.iv.tracing_coverage = v;
    else if (k == "community_recall") c.iv.community_recall = v;
    else if (k == "scan_compliance") c.iv.scan_compliance = v;
    else if (k == "tracing_delay") c.iv.tracing_delay = static_cast<int>(v);
    else if (k == "result_delay") c.iv.result_delay = static_cast<int>(v);
    else if (k == "seek_test_share") c.iv.seek_test_share = v;
    else if (k == "seek_delay_mean") c.iv.seek_delay_mean = v;
    else if (k == "pool_size") c.iv.pool_size = static_cast<int>(v);
    else if (k == "clean_rounds_to_stop") c.iv.clean_rounds_to_stop = static_cast<int>(v);
    else if (k == "lockdown_days") c.iv.lockdown_days = static_cast<int>(v);
    else if (k == "mask_multiplier") c.iv.mask_multiplier = v;
    else if (k == "gathering_multiplier") c.iv.gathering_multiplier = v;
    else if (k == "household_weight") c.household_weight = v;
    else if (k == "venue_visit_share") c.venue_visit_share = v;
    else if (k == "venue_contact_share") c.venue_contact_share = v;
    else if (k == "r0") c.variant.r0 = v;
    else if (k == "asymptomatic_share") c.variant.asymptomatic_share = v;
    else if (k == "lockdown") c.iv.lockdown = c.iv.lockdown && v != 0;      // can only switch off
    else if (k == "mass_testing") c.iv.mass_testing = c.iv.mass_testing && v != 0;
    else if (k == "tracing") c.iv.tracing = c.iv.tracing && v != 0;
  }
  if (s.start) set_start(c, s.start, profile);
  return c;
}

policy::Profile apply_variation(policy::Profile p, const Variation& v) {
  policy::Group& g = p.groups["close_contact"];
  g.traced = true;
  policy::Phase ph;
  ph.measure = v.close_measure;
  ph.days = v.close_days;
  ph.colour = policy::Colour::red;
  if (v.test_days == "sparse") {
    ph.test_days = {1};
    if (v.close_days > 1) ph.test_days.push_back(v.close_days);
  } else {
    for (int d = 1; d <= v.close_days; ++d)
      if (d <= 3 || d % 2 == 1 || d == v.close_days) ph.test_days.push_back(d);
  }
  g.phases = {ph};
  p.name.append(1, '~').append(v.label());
  return p;
}

void apply_variation(AbmConfig& c, const Variation& v) {
  c.iv.pool_size = v.pool_size;
  c.iv.tracing_coverage = v.tracing_coverage;
}

Interval paired_difference(const std::vector<RunResult>& a, const std::vector<RunResult>& b,
                           double (*get)(const RunResult&)) {
  std::vector<double> d;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    if (a[i].complete && b[i].complete) d.push_back(get(b[i]) - get(a[i]));
  Interval out;
  if (d.empty()) return out;
  double sum = 0;
  for (double x : d) sum += x;
  out.mean = sum / static_cast<double>(d.size());
  double ss = 0;
  for (double x : d) ss += (x - out.mean) * (x - out.mean);
  const double se = d.size() > 1 ? std::sqrt(ss / static_cast<double>(d.size() - 1) / static_cast<double>(d.size())) : 0;
  out.lower = out.mean - 1.96 * se;
  out.upper = out.mean + 1.96 * se;
  return out;
}

double get_rebound(const RunResult& r) { return r.rebound ? 1.0 : 0.0; }
double get_disruption(const RunResult& r) { return r.disruption(); }
double get_local_infections(const RunResult& r) { return static_cast<double>(r.local_infections); }
double get_tests(const RunResult& r) { return static_cast<double>(r.tests); }

std::vector<std::size_t> pareto_front(const std::vector<Point>& pts) {
  std::vector<std::size_t> front;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    bool dominated = false;
    for (std::size_t j = 0; j < pts.size() && !dominated; ++j) {
      if (i == j) continue;
      const bool le = pts[j].risk <= pts[i].risk && pts[j].disruption <= pts[i].disruption;
      const bool lt = pts[j].risk < pts[i].risk || pts[j].disruption < pts[i].disruption;
      dominated = le && lt;
    }
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end(), [&](std::size_t x, std::size_t y) { return pts[x].disruption < pts[y].disruption; });
  return front;
}

int cheapest_under(const std::vector<Point>& pts, double ceiling) {
  int best = -1;
  for (std::size_t i = 0; i < pts.size(); ++i)
    if (pts[i].risk <= ceiling && (best < 0 || pts[i].disruption < pts[static_cast<std::size_t>(best)].disruption))
      best = static_cast<int>(i);
  return best;
}

}  // namespace bihuan::sim
