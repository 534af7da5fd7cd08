#include "api/policy_json.hpp"

namespace bihuan::api {

using nlohmann::ordered_json;

namespace {
ordered_json cited_json(const policy::Cited& c, ordered_json fields) {
  fields["source"] = c.source;
  fields["confidence"] = policy::to_string(c.confidence);
  fields["note"] = c.note;
  return fields;
}
}  // namespace

ordered_json phase_json(const policy::Phase& ph) {
  return {{"measure", policy::to_string(ph.measure)}, {"days", ph.days}, {"test_days", ph.test_days},
          {"colour", policy::to_string(ph.colour)}};
}

ordered_json testing_json(const policy::Testing& t) {
  ordered_json out = ordered_json::object();
  if (t.pool_ratios) {
    ordered_json rules = ordered_json::array();
    for (const auto& r : *t.pool_ratios) {
      ordered_json measures = ordered_json::array();
      for (auto m : r.measures) measures.push_back(policy::to_string(m));
      rules.push_back(cited_json(r, {{"groups", r.groups}, {"measures", measures}, {"area_risks", r.area_risks}, {"ratio", r.ratio}}));
    }
    out["pool_ratios"] = rules;
  }
  if (t.ct_rules) {
    ordered_json rules = ordered_json::array();
    for (const auto& r : *t.ct_rules) rules.push_back(cited_json(r, {{"groups", r.groups}, {"positive_below", r.positive_below}}));
    out["ct_rules"] = rules;
  }
  ordered_json release = ordered_json::object();
  for (const auto& [k, r] : t.ct_release)
    release[k] = cited_json(r, {{"tests", r.tests}, {"hours_apart", r.hours_apart}, {"min_ct", r.min_ct}});
  out["ct_release"] = release;
  ordered_json turnaround = ordered_json::object();
  for (const auto& [k, h] : t.turnaround_hours) turnaround[k] = cited_json(h, {{"hours", h.hours}});
  out["turnaround_hours"] = turnaround;
  if (t.retest_deadline_hours) out["retest_deadline_hours"] = cited_json(*t.retest_deadline_hours, {{"hours", t.retest_deadline_hours->hours}});
  if (t.task_grace_hours) out["task_grace_hours"] = cited_json(*t.task_grace_hours, {{"hours", t.task_grace_hours->hours}});
  if (t.missed_task_turns_yellow)
    out["missed_task_turns_yellow"] = cited_json(*t.missed_task_turns_yellow, {{"value", t.missed_task_turns_yellow->value}});
  if (t.antigen_self_test) out["antigen_self_test"] = cited_json(*t.antigen_self_test, {{"value", t.antigen_self_test->value}});
  if (t.positive_pool)
    out["positive_pool"] = cited_json(*t.positive_pool, {{"colour", policy::to_string(t.positive_pool->colour)},
                                                         {"isolate_in_place", t.positive_pool->isolate_in_place},
                                                         {"door_to_door", t.positive_pool->door_to_door}});
  if (t.mass_testing) out["mass_testing"] = cited_json(*t.mass_testing, {{"value", policy::to_string(t.mass_testing->value)}});
  ordered_json rounds = ordered_json::object();
  for (const auto& [k, r] : t.round_rules)
    rounds[k] = cited_json(r, {{"name_zh", r.name_zh},
                               {"administrative_area", r.administrative_area},
                               {"every_days", r.every_days},
                               {"complete_within_hours", r.complete_within_hours},
                               {"rounds", r.rounds},
                               {"stop_after_clean", r.stop_after_clean},
                               {"final_round_gap_days", r.final_round_gap_days}});
  out["round_rules"] = rounds;
  if (t.pooling_max_positivity)
    out["pooling_max_positivity"] = cited_json(*t.pooling_max_positivity, {{"value", t.pooling_max_positivity->value}});
  return out;
}

ordered_json risk_areas_json(const std::optional<policy::RiskAreas>& ra) {
  if (!ra) return nullptr;
  ordered_json units = ordered_json::array();
  for (auto u : ra->units) units.push_back(policy::to_string(u));
  ordered_json levels = ordered_json::object();
  for (const auto& [l, r] : ra->levels)
    levels[policy::to_string(l)] = cited_json(r, {{"measure_zh", r.measure_zh}, {"resident_group", r.resident_group}});
  ordered_json downgrades = ordered_json::array();
  for (const auto& d : ra->downgrades)
    downgrades.push_back(cited_json(d, {{"from", policy::to_string(d.from)},
                                        {"to", policy::to_string(d.to)},
                                        {"designated", d.designated ? ordered_json(policy::to_string(*d.designated)) : ordered_json(nullptr)},
                                        {"days", d.days},
                                        {"counted_from", policy::to_string(d.counted_from)},
                                        {"negative_round", d.negative_round}}));
  ordered_json out = cited_json(*ra, {{"units", units}, {"levels", levels}, {"downgrades", downgrades}});
  out["count_found_inside_control"] =
      cited_json(ra->count_found_inside_control, {{"value", ra->count_found_inside_control.value}});
  out["places"] = ra->places ? cited_json(*ra->places, {{"frequent_days", ra->places->frequent_days},
                                                        {"min_stay_minutes", ra->places->min_stay_minutes},
                                                        {"stay_level", policy::to_string(ra->places->stay_level)}})
                             : ordered_json(nullptr);
  return out;
}

ordered_json profile_json(const policy::Profile& p) {
  ordered_json groups = ordered_json::object();
  for (const auto& [k, g] : p.groups) {
    ordered_json phases = ordered_json::array();
    for (const auto& ph : g.phases) phases.push_back(phase_json(ph));
    groups[k] = {{"name_zh", g.name_zh}, {"traced", g.traced}, {"phases", phases}, {"release", g.release},
                 {"pre_departure_test_hours", g.pre_departure_test_hours}, {"source", g.source},
                 {"confidence", policy::to_string(g.confidence)}, {"note", g.note}};
  }
  ordered_json routine = ordered_json::object();
  for (const auto& [k, r] : p.routine_testing)
    routine[k] = {{"name_zh", r.name_zh}, {"every_days", r.every_days}, {"source", r.source},
                  {"confidence", policy::to_string(r.confidence)}};
  return {{"name", p.name}, {"title", p.title}, {"issued", format_date(p.issued)}, {"sources", p.sources},
          {"groups", groups}, {"routine_testing", routine}, {"testing", testing_json(p.testing)},
          {"risk_areas", risk_areas_json(p.risk_areas)}};
}

}  // namespace bihuan::api
