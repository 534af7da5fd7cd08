#include "sim/study.hpp"

#include "core/error.hpp"

namespace bihuan::sim {

using nlohmann::ordered_json;

std::vector<Arm> run_arms(const Population& pop, const ContactMatrices& prem,
                          const std::vector<std::pair<std::string, AbmConfig>>& arms, std::int64_t runs,
                          std::uint64_t seed, unsigned threads, const std::function<bool()>& cancelled,
                          const std::function<void(std::int64_t, std::int64_t)>& progress) {
  std::vector<Arm> out;
  std::int64_t base = 0;
  const std::int64_t total = runs * static_cast<std::int64_t>(arms.size());
  for (const auto& [name, cfg] : arms) {
    Abm abm(pop, prem, cfg);
    Arm a;
    a.name = name;
    std::function<void(std::int64_t, std::int64_t)> p;
    if (progress) p = [&](std::int64_t d, std::int64_t) { progress(base + d, total); };
    a.runs = run_replicates(abm, runs, seed, threads, cancelled, p);
    base += runs;
    if (cancelled && cancelled()) fail(ErrorCode::unavailable, "cancelled");
    a.summary = summarise_runs(a.runs);
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<Point> points_of(const std::vector<Arm>& arms) {
  std::vector<Point> pts;
  for (const auto& a : arms)
    pts.push_back({a.name, a.summary.rebound.estimate, a.summary.rebound.upper, a.summary.disruption.mean});
  return pts;
}

ordered_json summary_json(const Summary& s) {
  return {{"mean", s.mean}, {"sd", s.sd}, {"q025", s.q025}, {"q25", s.q25}, {"median", s.median},
          {"q75", s.q75}, {"q975", s.q975}};
}

ordered_json proportion_json(const Proportion& p) {
  return {{"estimate", p.estimate}, {"lower", p.lower}, {"upper", p.upper}, {"successes", p.successes},
          {"trials", p.trials}};
}

ordered_json abm_summary_json(const AbmSummary& s, bool with_series) {
  ordered_json j = {{"runs", s.runs},
                    {"probability_of_rebound", s.rebound.estimate},
                    {"probability_of_rebound_95ci", {s.rebound.lower, s.rebound.upper}},
                    {"local_infections", summary_json(s.local_infections)},
                    {"community_cases", summary_json(s.community_cases)},
                    {"disruption_person_days", summary_json(s.disruption)},
                    {"central_quarantine_person_days", summary_json(s.central_person_days)},
                    {"home_quarantine_person_days", summary_json(s.home_person_days)},
                    {"lockdown_person_days", summary_json(s.lockdown_person_days)},
                    {"tests", summary_json(s.tests)},
                    {"tubes", summary_json(s.tubes)},
                    {"peak_hospital_beds", summary_json(s.peak_beds)},
                    {"peak_quarantine_rooms", summary_json(s.peak_rooms)}};
  if (with_series) {
    ordered_json series = ordered_json::object();
    for (int k = 0; k < s_count; ++k) {
      const SeriesBand& b = s.series[static_cast<std::size_t>(k)];
      series[series_name(k)] = {{"q05", b.q05}, {"q25", b.q25}, {"median", b.median},
                                {"q75", b.q75}, {"q95", b.q95}, {"mean", b.mean}};
    }
    j["series"] = series;
  }
  return j;
}

ordered_json interval_json(const Interval& i) { return {{"mean", i.mean}, {"lower", i.lower}, {"upper", i.upper}}; }

ordered_json compare_json(const std::vector<Arm>& arms, double ceiling, bool with_series) {
  ordered_json rows = ordered_json::array();
  for (const auto& a : arms) {
    ordered_json r = {{"profile", a.name}};
    r.update(abm_summary_json(a.summary, with_series));
    const auto& first = arms.front().runs;
    r["difference_vs_first"] = {
        {"rebound", interval_json(paired_difference(first, a.runs, get_rebound))},
        {"local_infections", interval_json(paired_difference(first, a.runs, get_local_infections))},
        {"disruption_person_days", interval_json(paired_difference(first, a.runs, get_disruption))},
        {"tests", interval_json(paired_difference(first, a.runs, get_tests))}};
    rows.push_back(r);
  }
  const int best = cheapest_under(points_of(arms), ceiling);
  return {{"risk_ceiling", ceiling},
          {"profiles", rows},
          {"least_disruption_under_ceiling",
           best >= 0 ? ordered_json(arms[static_cast<std::size_t>(best)].name) : ordered_json(nullptr)}};
}

ordered_json search_json(const std::vector<Arm>& arms, double ceiling) {
  const auto pts = points_of(arms);
  const auto front = pareto_front(pts);
  const int best = cheapest_under(pts, ceiling);
  ordered_json all = ordered_json::array(), fj = ordered_json::array();
  for (const auto& p : pts)
    all.push_back({{"variation", p.label}, {"rebound", p.risk}, {"rebound_upper", p.risk_upper},
                   {"disruption_person_days", p.disruption}});
  for (auto i : front) fj.push_back(pts[i].label);
  return {{"risk_ceiling", ceiling},
          {"variations", all},
          {"pareto_front", fj},
          {"cheapest_under_ceiling", best >= 0 ? ordered_json(pts[static_cast<std::size_t>(best)].label) : ordered_json(nullptr)}};
}

}  // namespace bihuan::sim
