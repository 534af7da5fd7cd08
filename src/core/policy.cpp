#include "core/policy.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <utility>

#include "core/error.hpp"
#include "core/yaml_read.hpp"

namespace bihuan::policy {

namespace {

constexpr std::array<std::pair<Measure, const char*>, 4> kMeasures{{
    {Measure::central_quarantine, "central_quarantine"},
    {Measure::home_isolation, "home_isolation"},
    {Measure::home_health_monitoring, "home_health_monitoring"},
    {Measure::testing_only, "testing_only"},
}};
constexpr std::array<std::pair<Colour, const char*>, 3> kColours{{
    {Colour::green, "green"}, {Colour::yellow, "yellow"}, {Colour::red, "red"}}};
constexpr std::array<std::pair<Confidence, const char*>, 3> kConfidence{{
    {Confidence::verified, "V"}, {Confidence::single_source, "S"}, {Confidence::local_setting, "U"}}};
constexpr std::array<std::pair<MassTesting, const char*>, 4> kMassTesting{{
    {MassTesting::allowed, "allowed"},
    {MassTesting::outbreak_only, "outbreak_only"},
    {MassTesting::delineated_only, "delineated_only"},
    {MassTesting::none, "none"}}};
const std::vector<std::string> kAreaRisks = {"high", "medium", "low"};
constexpr std::array<std::pair<RiskLevel, const char*>, 3> kRiskLevels{{
    {RiskLevel::high, "high"}, {RiskLevel::medium, "medium"}, {RiskLevel::low, "low"}}};
constexpr std::array<std::pair<UnitKind, const char*>, 5> kUnitKinds{{
    {UnitKind::grid, "grid"}, {UnitKind::building, "building"}, {UnitKind::unit, "unit"},
    {UnitKind::floor, "floor"}, {UnitKind::household, "household"}}};
constexpr std::array<std::pair<CountedFrom, const char*>, 2> kCountedFrom{{
    {CountedFrom::last_infection, "last_infection"}, {CountedFrom::level_since, "level_since"}}};
const std::vector<std::string> kReleaseConditions = {"all_tests_negative", "last_test_negative", "none"};

// The readers shared with the playbooks (core/yaml_read.hpp): errors name the line and key path.
using yamlr::bad;
using yamlr::check_keys;
using yamlr::first_bad_utf8;
using yamlr::flag;
using yamlr::require;

std::string scalar(const YAML::Node& n, const std::string& path) { return yamlr::text(n, path); }
int positive_int(const YAML::Node& n, const std::string& path, int min = 1, int max = 365) {
  return yamlr::integer(n, path, min, max);
}
std::string key_of(const YAML::Node& key, const std::string& path) { return yamlr::key(key, path); }

template <typename E, std::size_t N>
E enum_of(const std::array<std::pair<E, const char*>, N>& names, const YAML::Node& n, const std::string& path) {
  std::string s = scalar(n, path);
  std::string allowed;
  for (const auto& [e, name] : names) {
    if (s == name) return e;
    allowed += (allowed.empty() ? "" : ", ") + std::string(name);
  }
  bad(n, path, "unknown value '" + s + "' (allowed: " + allowed + ")");
}

template <typename E, std::size_t N>
const char* name_of(const std::array<std::pair<E, const char*>, N>& names, E v) {
  for (const auto& [e, name] : names)
    if (e == v) return name;
  return "unknown";
}

Phase parse_phase(const YAML::Node& n, const std::string& path) {
  if (!n.IsMap()) bad(n, path, "must be a mapping with measure, days, test_days, colour");
  check_keys(n, path, {"measure", "days", "test_days", "colour"});
  Phase ph;
  ph.measure = enum_of(kMeasures, require(n, "measure", path), path + ".measure");
  ph.days = positive_int(require(n, "days", path), path + ".days");
  ph.colour = enum_of(kColours, require(n, "colour", path), path + ".colour");
  if (auto td = n["test_days"]) {
    if (!td.IsSequence()) bad(td, path + ".test_days", "must be a list of day numbers");
    int prev = 0;
    for (std::size_t i = 0; i < td.size(); ++i) {
      std::string p = path + ".test_days[" + std::to_string(i) + "]";
      int d = positive_int(td[i], p, 1, ph.days);
      if (d <= prev) bad(td[i], p, "test days must be ascending and distinct");
      ph.test_days.push_back(d);
      prev = d;
    }
  }
  return ph;
}

Group parse_group(const std::string& key, const YAML::Node& n, const std::string& path) {
  if (!n.IsMap()) bad(n, path, "must be a mapping");
  check_keys(n, path, {"name_zh", "traced", "phases", "release", "pre_departure_test_hours", "source",
                       "confidence", "note"});
  Group g;
  g.key = key;
  g.name_zh = scalar(require(n, "name_zh", path), path + ".name_zh");
  g.source = scalar(require(n, "source", path), path + ".source");
  g.confidence = enum_of(kConfidence, require(n, "confidence", path), path + ".confidence");
  if (auto t = n["traced"]) {
    try {
      g.traced = t.as<bool>();
    } catch (const YAML::Exception&) {
      bad(t, path + ".traced", "must be true or false");
    }
  }
  if (auto ph = n["phases"]) {
    if (!ph.IsSequence()) bad(ph, path + ".phases", "must be a list of phases");
    for (std::size_t i = 0; i < ph.size(); ++i)
      g.phases.push_back(parse_phase(ph[i], path + ".phases[" + std::to_string(i) + "]"));
  }
  if (g.traced && g.phases.empty() && !n["pre_departure_test_hours"])
    bad(n, path + ".phases", "a traced group needs at least one phase");
  g.release = g.phases.empty() ? "none" : "all_tests_negative";
  if (auto r = n["release"]) {
    g.release = scalar(r, path + ".release");
    if (std::find(kReleaseConditions.begin(), kReleaseConditions.end(), g.release) == kReleaseConditions.end())
      bad(r, path + ".release", "unknown release condition '" + g.release + "'");
  }
  if (auto h = n["pre_departure_test_hours"]) g.pre_departure_test_hours = positive_int(h, path + ".pre_departure_test_hours", 1, 168);
  if (auto note = n["note"]) g.note = scalar(note, path + ".note");
  return g;
}


double ct_value(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) bad(n, path, "must be a Ct value");
  double v = 0;
  try {
    v = n.as<double>();
  } catch (const YAML::Exception&) {
    bad(n, path, "must be a Ct value, got '" + n.Scalar() + "'");
  }
  if (!(v > 0 && v <= 50)) bad(n, path, "a Ct value must be above 0 and at most 50");
  return v;
}

// source + confidence (+ note) of a testing rule; `keys` are the rule's other keys.
void cited(Cited& c, const YAML::Node& n, const std::string& path, std::initializer_list<const char*> keys) {
  if (!n.IsMap()) bad(n, path, "must be a mapping");
  for (const auto& kv : n) {
    std::string k = key_of(kv.first, path);
    if (k == "source" || k == "confidence" || k == "note") continue;
    if (std::none_of(keys.begin(), keys.end(), [&](const char* a) { return k == a; })) bad(kv.first, path + "." + k, "unknown key");
  }
  c.source = scalar(require(n, "source", path), path + ".source");
  c.confidence = enum_of(kConfidence, require(n, "confidence", path), path + ".confidence");
  if (auto note = n["note"]) c.note = scalar(note, path + ".note");
}

std::vector<std::string> text_list(const YAML::Node& n, const std::string& path) {
  if (!n.IsSequence() || n.size() == 0) bad(n, path, "must be a non-empty list");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n.size(); ++i) out.push_back(scalar(n[i], path + "[" + std::to_string(i) + "]"));
  return out;
}

const YAML::Node sequence(const YAML::Node& n, const std::string& path) {
  if (!n.IsSequence()) bad(n, path, "must be a list");
  return n;
}

const YAML::Node mapping(const YAML::Node& n, const std::string& path) {
  if (!n.IsMap()) bad(n, path, "must be a mapping");
  return n;
}

HoursSetting hours_setting(const YAML::Node& n, const std::string& path, int max) {
  HoursSetting h;
  cited(h, n, path, {"hours"});
  h.hours = positive_int(require(n, "hours", path), path + ".hours", 1, max);
  return h;
}

FlagSetting flag_setting(const YAML::Node& n, const std::string& path) {
  FlagSetting f;
  cited(f, n, path, {"value"});
  f.value = flag(require(n, "value", path), path + ".value");
  return f;
}

Tracing parse_tracing(const YAML::Node& t) {
  const std::string root = "tracing";
  mapping(t, root);
  check_keys(t, root, {"exposure_days_before", "timeliness", "co_travellers"});
  Tracing out;
  if (auto n = t["exposure_days_before"]) {
    const std::string p = root + ".exposure_days_before";
    DaysSetting d;
    cited(d, n, p, {"days"});
    d.days = positive_int(require(n, "days", p), p + ".days", 0, 21);
    out.exposure_days_before = d;
  }
  if (auto n = t["timeliness"]) {
    const std::string p = root + ".timeliness";
    TimelinessRule r;
    cited(r, n, p, {"report_hours", "on_site_hours", "core_hours", "controlled_hours"});
    r.report_hours = positive_int(require(n, "report_hours", p), p + ".report_hours", 1, 168);
    r.on_site_hours = positive_int(require(n, "on_site_hours", p), p + ".on_site_hours", 1, 168);
    r.core_hours = positive_int(require(n, "core_hours", p), p + ".core_hours", 1, 168);
    r.controlled_hours = positive_int(require(n, "controlled_hours", p), p + ".controlled_hours", 1, 168);
    if (r.on_site_hours > r.core_hours || r.core_hours > r.controlled_hours)
      bad(n, p, "needs on_site_hours <= core_hours <= controlled_hours");
    out.timeliness = r;
  }
  if (auto n = t["co_travellers"]) {
    const std::string p = root + ".co_travellers";
    SeatRule r;
    cited(r, n, p, {"rows"});
    r.rows = positive_int(require(n, "rows", p), p + ".rows", 0, 50);
    out.co_travellers = r;
  }
  return out;
}

RiskAreas parse_risk_areas(const YAML::Node& t) {
  const std::string root = "risk_areas";
  RiskAreas out;
  cited(out, t, root, {"units", "levels", "downgrades", "count_found_inside_control", "places"});
  const YAML::Node units = require(t, "units", root);
  sequence(units, root + ".units");
  if (units.size() == 0) bad(units, root + ".units", "must be a non-empty list");
  for (std::size_t i = 0; i < units.size(); ++i) {
    const std::string p = root + ".units[" + std::to_string(i) + "]";
    const UnitKind u = enum_of(kUnitKinds, units[i], p);
    if (std::find(out.units.begin(), out.units.end(), u) != out.units.end()) bad(units[i], p, "is listed twice");
    out.units.push_back(u);
  }
  const YAML::Node levels = mapping(require(t, "levels", root), root + ".levels");
  for (const auto& kv : levels) {
    const std::string key = key_of(kv.first, root + ".levels"), p = root + ".levels." + key;
    RiskLevelRule r;
    r.level = enum_of(kRiskLevels, kv.first, p);
    cited(r, kv.second, p, {"measure_zh", "resident_group"});
    r.measure_zh = scalar(require(kv.second, "measure_zh", p), p + ".measure_zh");
    if (auto g = kv.second["resident_group"]) r.resident_group = scalar(g, p + ".resident_group");
    out.levels[r.level] = r;
  }
  if (!out.levels.count(RiskLevel::high)) bad(levels, root + ".levels.high", "missing required key");
  if (!out.levels.count(RiskLevel::low)) bad(levels, root + ".levels.low", "missing required key");
  if (auto d = t["downgrades"]) {
    const std::string path = root + ".downgrades";
    sequence(d, path);
    for (std::size_t i = 0; i < d.size(); ++i) {
      const std::string p = path + "[" + std::to_string(i) + "]";
      const YAML::Node n = d[i];
      DowngradeRule r;
      cited(r, n, p, {"from", "to", "designated", "days", "counted_from", "negative_round"});
      r.from = enum_of(kRiskLevels, require(n, "from", p), p + ".from");
      r.to = enum_of(kRiskLevels, require(n, "to", p), p + ".to");
      if (static_cast<int>(r.to) <= static_cast<int>(r.from)) bad(n, p + ".to", "a downgrade goes to a lower level than from");
      if (!out.levels.count(r.from)) bad(n, p + ".from", "level '" + std::string(name_of(kRiskLevels, r.from)) + "' is not in risk_areas.levels");
      if (!out.levels.count(r.to)) bad(n, p + ".to", "level '" + std::string(name_of(kRiskLevels, r.to)) + "' is not in risk_areas.levels");
      if (auto g = n["designated"]) {
        r.designated = enum_of(kRiskLevels, g, p + ".designated");
        if (!out.levels.count(*r.designated)) bad(g, p + ".designated", "level is not in risk_areas.levels");
      }
      r.days = positive_int(require(n, "days", p), p + ".days", 1, 60);
      r.counted_from = enum_of(kCountedFrom, require(n, "counted_from", p), p + ".counted_from");
      if (auto f = n["negative_round"]) r.negative_round = flag(f, p + ".negative_round");
      out.downgrades.push_back(r);
    }
  }
  out.count_found_inside_control = flag_setting(require(t, "count_found_inside_control", root), root + ".count_found_inside_control");
  if (auto pl = t["places"]) {
    const std::string p = root + ".places";
    PlaceRule r;
    cited(r, pl, p, {"frequent_days", "min_stay_minutes", "stay_level"});
    r.frequent_days = positive_int(require(pl, "frequent_days", p), p + ".frequent_days", 1, 21);
    r.min_stay_minutes = positive_int(require(pl, "min_stay_minutes", p), p + ".min_stay_minutes", 1, 24 * 60);
    r.stay_level = enum_of(kRiskLevels, require(pl, "stay_level", p), p + ".stay_level");
    if (!out.levels.count(r.stay_level)) bad(pl["stay_level"], p + ".stay_level", "level is not in risk_areas.levels");
    out.places = r;
  }
  return out;
}

Testing parse_testing(const YAML::Node& t) {
  const std::string root = "testing";
  mapping(t, root);
  check_keys(t, root, {"pool_ratios", "ct_rules", "ct_release", "turnaround_hours", "retest_deadline_hours",
                       "task_grace_hours", "missed_task_turns_yellow", "antigen_self_test", "positive_pool",
                       "mass_testing", "round_rules", "pooling_max_positivity"});
  Testing out;
  if (auto pr = t["pool_ratios"]) {
    const std::string path = root + ".pool_ratios";
    sequence(pr, path);
    out.pool_ratios.emplace();
    for (std::size_t i = 0; i < pr.size(); ++i) {
      const std::string p = path + "[" + std::to_string(i) + "]";
      const YAML::Node n = pr[i];
      PoolRatioRule r;
      cited(r, n, p, {"groups", "measures", "area_risks", "ratio"});
      if (auto g = n["groups"]) r.groups = text_list(g, p + ".groups");
      if (auto m = n["measures"]) {
        sequence(m, p + ".measures");
        if (m.size() == 0) bad(m, p + ".measures", "must be a non-empty list");
        for (std::size_t j = 0; j < m.size(); ++j)
          r.measures.push_back(enum_of(kMeasures, m[j], p + ".measures[" + std::to_string(j) + "]"));
      }
      if (auto a = n["area_risks"]) {
        r.area_risks = text_list(a, p + ".area_risks");
        for (std::size_t j = 0; j < r.area_risks.size(); ++j)
          if (std::find(kAreaRisks.begin(), kAreaRisks.end(), r.area_risks[j]) == kAreaRisks.end())
            bad(a[j], p + ".area_risks[" + std::to_string(j) + "]",
                "unknown value '" + r.area_risks[j] + "' (allowed: high, medium, low)");
      }
      r.ratio = positive_int(require(n, "ratio", p), p + ".ratio", 1, 100);
      out.pool_ratios->push_back(std::move(r));
    }
    if (out.pool_ratios->empty()) bad(pr, path, "needs at least one rule");
  }
  if (auto ct = t["ct_rules"]) {
    const std::string path = root + ".ct_rules";
    sequence(ct, path);
    out.ct_rules.emplace();
    for (std::size_t i = 0; i < ct.size(); ++i) {
      const std::string p = path + "[" + std::to_string(i) + "]";
      CtRule r;
      cited(r, ct[i], p, {"groups", "positive_below"});
      if (auto g = ct[i]["groups"]) r.groups = text_list(g, p + ".groups");
      r.positive_below = ct_value(require(ct[i], "positive_below", p), p + ".positive_below");
      out.ct_rules->push_back(std::move(r));
    }
  }
  if (auto rel = t["ct_release"]) {
    const std::string path = root + ".ct_release";
    mapping(rel, path);
    for (const auto& kv : rel) {
      const std::string key = key_of(kv.first, path), p = path + "." + key;
      CtRelease r;
      cited(r, kv.second, p, {"tests", "hours_apart", "min_ct"});
      r.key = key;
      r.tests = positive_int(require(kv.second, "tests", p), p + ".tests", 1, 10);
      r.hours_apart = positive_int(require(kv.second, "hours_apart", p), p + ".hours_apart", 1, 168);
      r.min_ct = ct_value(require(kv.second, "min_ct", p), p + ".min_ct");
      out.ct_release[key] = r;
    }
  }
  if (auto ta = t["turnaround_hours"]) {
    const std::string path = root + ".turnaround_hours";
    mapping(ta, path);
    for (const auto& kv : ta) {
      const std::string key = key_of(kv.first, path);
      if (std::find(turnaround_priorities().begin(), turnaround_priorities().end(), key) == turnaround_priorities().end())
        bad(kv.first, path + "." + key, "unknown priority (allowed: key, routine, voluntary)");
      out.turnaround_hours[key] = hours_setting(kv.second, path + "." + key, 240);
    }
  }
  if (auto h = t["retest_deadline_hours"]) out.retest_deadline_hours = hours_setting(h, root + ".retest_deadline_hours", 240);
  if (auto h = t["task_grace_hours"]) out.task_grace_hours = hours_setting(h, root + ".task_grace_hours", 240);
  if (auto f = t["missed_task_turns_yellow"]) out.missed_task_turns_yellow = flag_setting(f, root + ".missed_task_turns_yellow");
  if (auto f = t["antigen_self_test"]) out.antigen_self_test = flag_setting(f, root + ".antigen_self_test");
  if (auto pp = t["positive_pool"]) {
    const std::string p = root + ".positive_pool";
    PositivePoolRule r;
    cited(r, pp, p, {"colour", "isolate_in_place", "door_to_door"});
    r.colour = enum_of(kColours, require(pp, "colour", p), p + ".colour");
    r.isolate_in_place = flag(require(pp, "isolate_in_place", p), p + ".isolate_in_place");
    r.door_to_door = flag(require(pp, "door_to_door", p), p + ".door_to_door");
    out.positive_pool = r;
  }
  if (auto mt = t["mass_testing"]) {
    const std::string p = root + ".mass_testing";
    MassTestingRule r;
    cited(r, mt, p, {"value"});
    r.value = enum_of(kMassTesting, require(mt, "value", p), p + ".value");
    out.mass_testing = r;
  }
  if (auto mp = t["pooling_max_positivity"]) {
    const std::string p = root + ".pooling_max_positivity";
    FractionSetting f;
    cited(f, mp, p, {"value"});
    const YAML::Node v = require(mp, "value", p);
    if (!v.IsScalar()) bad(v, p + ".value", "must be a fraction");
    try {
      f.value = v.as<double>();
    } catch (const YAML::Exception&) {
      bad(v, p + ".value", "must be a fraction, got '" + v.Scalar() + "'");
    }
    if (!(f.value > 0 && f.value <= 1)) bad(v, p + ".value", "must be a fraction above 0 and at most 1 (0.001 is 0.1 %)");
    out.pooling_max_positivity = f;
  }
  if (auto rr = t["round_rules"]) {
    const std::string path = root + ".round_rules";
    mapping(rr, path);
    for (const auto& kv : rr) {
      const std::string key = key_of(kv.first, path), p = path + "." + key;
      const YAML::Node n = kv.second;
      RoundRule r;
      cited(r, n, p, {"name_zh", "administrative_area", "every_days", "complete_within_hours", "rounds",
                      "stop_after_clean", "final_round_gap_days"});
      r.key = key;
      r.name_zh = scalar(require(n, "name_zh", p), p + ".name_zh");
      r.administrative_area = flag(require(n, "administrative_area", p), p + ".administrative_area");
      if (auto v = n["every_days"]) r.every_days = positive_int(v, p + ".every_days", 1, 30);
      r.complete_within_hours = positive_int(require(n, "complete_within_hours", p), p + ".complete_within_hours", 1, 240);
      if (auto v = n["rounds"]) r.rounds = positive_int(v, p + ".rounds", 1, 100);
      if (auto v = n["stop_after_clean"]) r.stop_after_clean = positive_int(v, p + ".stop_after_clean", 1, 30);
      if (auto v = n["final_round_gap_days"]) r.final_round_gap_days = positive_int(v, p + ".final_round_gap_days", 1, 30);
      if (r.rounds > 0 && (r.stop_after_clean > 0 || r.final_round_gap_days > 0))
        bad(n, p, "give either rounds or stop_after_clean / final_round_gap_days, not both");
      if (r.final_round_gap_days > 0 && r.stop_after_clean == 0)
        bad(n, p + ".final_round_gap_days", "needs stop_after_clean");
      out.round_rules[key] = r;
    }
  }
  return out;
}

}  // namespace

const std::vector<std::string>& turnaround_priorities() {
  static const std::vector<std::string> keys = {"key", "routine", "voluntary"};
  return keys;
}

const std::vector<std::string>& standard_group_keys() {
  static const std::vector<std::string> keys = {
      "inbound", "close_contact", "secondary_contact", "high_risk_area_arrival", "medium_risk_area_arrival",
      "low_risk_area_arrival", "high_risk_post", "discharged_case"};
  return keys;
}

namespace {
Profile parse_profile_tree(std::string_view text, std::string_view name);
}  // namespace

Profile parse_profile(std::string_view text, std::string_view name) {
  // The checks below turn every shape problem into an Error naming the key; this is the net
  // for what yaml-cpp itself throws on a shape they did not foresee.
  try {
    return parse_profile_tree(text, name);
  } catch (const YAML::Exception& e) {
    fail(ErrorCode::invalid_argument,
         (e.mark.is_null() ? std::string() : "line " + std::to_string(e.mark.line + 1) + ": ") + e.msg, "");
  }
}

namespace {

Profile parse_profile_tree(std::string_view text, std::string_view name) {
  // Names and titles end up in JSON (plans, the API), which holds UTF-8 only; YAML has no NUL.
  auto bad_at = first_bad_utf8(text);
  if (const auto nul = text.find('\0'); nul < bad_at) bad_at = nul;
  if (bad_at != std::string_view::npos) {
    const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad_at), '\n');
    fail(ErrorCode::invalid_argument, "line " + std::to_string(line) + ": the profile is not UTF-8 text without NUL bytes (byte " +
                                          std::to_string(bad_at + 1) + ")", "");
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    fail(ErrorCode::invalid_argument,
         "line " + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg, "");
  }
  if (!root.IsMap()) fail(ErrorCode::invalid_argument, "line 1: a profile must be a YAML mapping", "");
  check_keys(root, "", {"schema", "name", "title", "issued", "inherits", "sources", "groups", "routine_testing", "testing",
                        "tracing", "risk_areas"});
  Profile p;
  int schema = positive_int(require(root, "schema", ""), "schema", 1, 1);
  (void)schema;
  p.name = scalar(require(root, "name", ""), "name");
  if (!name.empty() && p.name != name) bad(root["name"], "name", "must equal the file name '" + std::string(name) + "'");
  p.title = scalar(require(root, "title", ""), "title");
  auto issued = require(root, "issued", "");
  auto d = parse_date(scalar(issued, "issued"));
  if (!d) bad(issued, "issued", "must be a date YYYY-MM-DD");
  p.issued = *d;
  if (auto inh = root["inherits"]) p.inherits = scalar(inh, "inherits");
  if (auto src = root["sources"]) {
    if (!src.IsMap()) bad(src, "sources", "must be a mapping of key: citation");
    for (const auto& kv : src) {
      const std::string key = key_of(kv.first, "sources");
      p.sources[key] = scalar(kv.second, "sources." + key);
    }
  }
  auto groups = p.inherits.empty() ? require(root, "groups", "") : root["groups"];
  if (groups) {
    if (!groups.IsMap()) bad(groups, "groups", "must be a mapping of group key: group");
    for (const auto& kv : groups) {
      std::string key = key_of(kv.first, "groups");
      bool snake = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      });
      if (!snake) bad(kv.first, "groups." + key, "group keys are snake_case");
      p.groups[key] = parse_group(key, kv.second, "groups." + key);
    }
  }
  if (auto rt = root["routine_testing"]) {
    if (!rt.IsMap()) bad(rt, "routine_testing", "must be a mapping");
    for (const auto& kv : rt) {
      std::string key = key_of(kv.first, "routine_testing"), path = "routine_testing." + key;
      const auto& n = kv.second;
      if (!n.IsMap()) bad(n, path, "must be a mapping");
      check_keys(n, path, {"name_zh", "every_days", "source", "confidence"});
      RoutineTesting r;
      r.key = key;
      r.name_zh = scalar(require(n, "name_zh", path), path + ".name_zh");
      r.every_days = positive_int(require(n, "every_days", path), path + ".every_days", 1, 30);
      r.source = scalar(require(n, "source", path), path + ".source");
      r.confidence = enum_of(kConfidence, require(n, "confidence", path), path + ".confidence");
      p.routine_testing[key] = r;
    }
  }
  if (auto t = root["testing"]) p.testing = parse_testing(t);
  if (auto t = root["tracing"]) p.tracing = parse_tracing(t);
  if (auto t = root["risk_areas"]) {
    // `risk_areas: none` (or null) states that the profile designates no risk areas, so that a
    // child can drop its parent's section.
    if (t.IsNull() || (t.IsScalar() && t.Scalar() == "none")) p.risk_areas_none = true;
    else p.risk_areas = parse_risk_areas(t);
  }
  return p;
}

}  // namespace

void merge_parent(Profile& child, const Profile& parent) {
  for (const auto& [k, v] : parent.sources) child.sources.emplace(k, v);
  for (const auto& [k, v] : parent.groups) child.groups.emplace(k, v);
  for (const auto& [k, v] : parent.routine_testing) child.routine_testing.emplace(k, v);
  Testing& t = child.testing;
  const Testing& pt = parent.testing;
  if (!t.pool_ratios) t.pool_ratios = pt.pool_ratios;
  if (!t.ct_rules) t.ct_rules = pt.ct_rules;
  for (const auto& [k, v] : pt.ct_release) t.ct_release.emplace(k, v);
  for (const auto& [k, v] : pt.turnaround_hours) t.turnaround_hours.emplace(k, v);
  if (!t.retest_deadline_hours) t.retest_deadline_hours = pt.retest_deadline_hours;
  if (!t.task_grace_hours) t.task_grace_hours = pt.task_grace_hours;
  if (!t.missed_task_turns_yellow) t.missed_task_turns_yellow = pt.missed_task_turns_yellow;
  if (!t.antigen_self_test) t.antigen_self_test = pt.antigen_self_test;
  if (!t.positive_pool) t.positive_pool = pt.positive_pool;
  if (!t.mass_testing) t.mass_testing = pt.mass_testing;
  for (const auto& [k, v] : pt.round_rules) t.round_rules.emplace(k, v);
  if (!t.pooling_max_positivity) t.pooling_max_positivity = pt.pooling_max_positivity;
  Tracing& tr = child.tracing;
  if (!tr.exposure_days_before) tr.exposure_days_before = parent.tracing.exposure_days_before;
  if (!tr.timeliness) tr.timeliness = parent.tracing.timeliness;
  if (!tr.co_travellers) tr.co_travellers = parent.tracing.co_travellers;
  if (!child.risk_areas && !child.risk_areas_none) child.risk_areas = parent.risk_areas;
  child.inherits.clear();
}

void throw_inheritance_too_deep(const std::string& name) {
  fail(ErrorCode::invalid_argument, "profile " + name + ": inheritance deeper than 8 levels (a cycle?)", "inherits");
}

namespace {

void need_source(const Profile& p, const Cited& c, const std::string& path) {
  if (!p.sources.count(c.source))
    fail(ErrorCode::invalid_argument, path + " cites the unknown source '" + c.source + "'", path + ".source");
}

void need_groups(const Profile& p, const std::vector<std::string>& groups, const std::string& path) {
  for (std::size_t i = 0; i < groups.size(); ++i)
    if (!p.groups.count(groups[i]) && !p.routine_testing.count(groups[i]))
      fail(ErrorCode::invalid_argument,
           path + " names '" + groups[i] + "', which is neither a group nor a routine test of profile " + p.name,
           path + "[" + std::to_string(i) + "]");
}

template <typename T>
void need(const Profile& p, const std::optional<T>& part, const std::string& key) {
  if (!part)
    fail(ErrorCode::invalid_argument, "profile " + p.name + " does not define testing." + key, "testing." + key);
  need_source(p, *part, "testing." + key);
}

void validate_testing(const Profile& p) {
  const Testing& t = p.testing;
  if (!t.pool_ratios)
    fail(ErrorCode::invalid_argument, "profile " + p.name + " does not define testing.pool_ratios", "testing.pool_ratios");
  for (std::size_t i = 0; i < t.pool_ratios->size(); ++i) {
    const auto& r = (*t.pool_ratios)[i];
    const std::string path = "testing.pool_ratios[" + std::to_string(i) + "]";
    need_source(p, r, path);
    need_groups(p, r.groups, path + ".groups");
  }
  const auto& last = t.pool_ratios->back();
  if (!last.groups.empty() || !last.measures.empty() || !last.area_risks.empty())
    fail(ErrorCode::invalid_argument, "the last pool-ratio rule must apply to everyone (no groups, measures or area_risks)",
         "testing.pool_ratios[" + std::to_string(t.pool_ratios->size() - 1) + "]");
  if (!t.ct_rules)
    fail(ErrorCode::invalid_argument, "profile " + p.name + " does not define testing.ct_rules", "testing.ct_rules");
  for (std::size_t i = 0; i < t.ct_rules->size(); ++i) {
    const std::string path = "testing.ct_rules[" + std::to_string(i) + "]";
    need_source(p, (*t.ct_rules)[i], path);
    need_groups(p, (*t.ct_rules)[i].groups, path + ".groups");
  }
  for (const auto& [k, r] : t.ct_release) need_source(p, r, "testing.ct_release." + k);
  for (const auto& key : turnaround_priorities()) {
    auto it = t.turnaround_hours.find(key);
    if (it == t.turnaround_hours.end())
      fail(ErrorCode::invalid_argument, "profile " + p.name + " does not define testing.turnaround_hours." + key,
           "testing.turnaround_hours." + key);
    need_source(p, it->second, "testing.turnaround_hours." + key);
  }
  need(p, t.retest_deadline_hours, "retest_deadline_hours");
  need(p, t.task_grace_hours, "task_grace_hours");
  need(p, t.missed_task_turns_yellow, "missed_task_turns_yellow");
  need(p, t.antigen_self_test, "antigen_self_test");
  need(p, t.positive_pool, "positive_pool");
  need(p, t.mass_testing, "mass_testing");
  for (const auto& [k, r] : t.round_rules) need_source(p, r, "testing.round_rules." + k);
  if (t.pooling_max_positivity) need_source(p, *t.pooling_max_positivity, "testing.pooling_max_positivity");
}

}  // namespace

void validate(const Profile& p) {
  for (const auto& key : standard_group_keys())
    if (!p.groups.count(key))
      fail(ErrorCode::invalid_argument, "profile " + p.name + " does not define the group '" + key + "'", "groups." + key);
  for (const auto& [k, g] : p.groups)
    if (!p.sources.count(g.source))
      fail(ErrorCode::invalid_argument, "group " + k + " cites the unknown source '" + g.source + "'", "groups." + k + ".source");
  for (const auto& [k, r] : p.routine_testing)
    if (!p.sources.count(r.source))
      fail(ErrorCode::invalid_argument, "routine test " + k + " cites the unknown source '" + r.source + "'",
           "routine_testing." + k + ".source");
  validate_testing(p);
  const Tracing& tr = p.tracing;
  if (tr.exposure_days_before) need_source(p, *tr.exposure_days_before, "tracing.exposure_days_before");
  if (tr.timeliness) need_source(p, *tr.timeliness, "tracing.timeliness");
  if (tr.co_travellers) need_source(p, *tr.co_travellers, "tracing.co_travellers");
  if (const auto& ra = p.risk_areas) {
    const std::string root = "risk_areas";
    need_source(p, *ra, root);
    need_source(p, ra->count_found_inside_control, root + ".count_found_inside_control");
    if (ra->places) need_source(p, *ra->places, root + ".places");
    for (std::size_t i = 0; i < ra->downgrades.size(); ++i)
      need_source(p, ra->downgrades[i], root + ".downgrades[" + std::to_string(i) + "]");
    for (const auto& [level, r] : ra->levels) {
      const std::string path = root + ".levels." + to_string(level);
      need_source(p, r, path);
      if (!r.resident_group.empty() && !p.groups.count(r.resident_group))
        fail(ErrorCode::invalid_argument,
             path + ".resident_group names '" + r.resident_group + "', which is not a group of profile " + p.name,
             path + ".resident_group");
    }
  }
}

Plan make_plan(const Profile& p, std::string_view group, Date start) {
  auto it = p.groups.find(std::string(group));
  if (it == p.groups.end())
    fail(ErrorCode::invalid_argument, "profile " + p.name + " has no group '" + std::string(group) + "'", "group");
  const Group& g = it->second;
  Plan plan;
  plan.profile = p.name;
  plan.group = g.key;
  plan.start = start;
  plan.managed = g.traced && !g.phases.empty();
  plan.release_condition = g.release;
  plan.pre_departure_test_hours = g.pre_departure_test_hours;
  if (!plan.managed) return plan;
  std::chrono::sys_days day{start};
  for (const auto& ph : g.phases) {
    PlannedPhase out{ph.measure, ph.colour, Date{day}, Date{day + std::chrono::days{ph.days - 1}}, {}};
    for (int t : ph.test_days) out.test_dates.push_back(Date{day + std::chrono::days{t - 1}});
    plan.phases.push_back(std::move(out));
    day += std::chrono::days{ph.days};
  }
  plan.release_date = Date{day};
  return plan;
}

Colour colour_on(const Plan& plan, Date day) {
  std::chrono::sys_days d{day};
  for (const auto& ph : plan.phases)
    if (d >= std::chrono::sys_days{ph.start} && d <= std::chrono::sys_days{ph.end}) return ph.colour;
  return Colour::green;
}

const char* to_string(Measure m) { return name_of(kMeasures, m); }
const char* to_string(Colour c) { return name_of(kColours, c); }
const char* to_string(Confidence c) { return name_of(kConfidence, c); }
const char* to_string(MassTesting m) { return name_of(kMassTesting, m); }
const char* to_string(RiskLevel l) { return name_of(kRiskLevels, l); }
const char* to_string(UnitKind u) { return name_of(kUnitKinds, u); }
const char* to_string(CountedFrom c) { return name_of(kCountedFrom, c); }
std::optional<RiskLevel> risk_level_from(std::string_view s) {
  for (const auto& [e, name] : kRiskLevels)
    if (s == name) return e;
  return std::nullopt;
}
std::optional<UnitKind> unit_kind_from(std::string_view s) {
  for (const auto& [e, name] : kUnitKinds)
    if (s == name) return e;
  return std::nullopt;
}

}  // namespace bihuan::policy
