#pragma once
// Policy profiles: which controlled group gets which measures, for how many days, with which
// test days, health-code colour and release condition. Profiles are data (policies/*.yaml); this
// module parses YAML *text* (the caller reads the file) and turns a profile into a dated plan.
// Day 1 of a phase is the day it starts.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"

namespace bihuan::policy {

enum class Measure { central_quarantine, home_isolation, home_health_monitoring, testing_only };
enum class Colour { green, yellow, red };
// How sure the reference is of a rule: V = two or more independent sources, S = one source,
// U = none found (shipped only as a clearly labelled local setting).
enum class Confidence { verified, single_source, local_setting };

struct Phase {
  Measure measure = Measure::central_quarantine;
  int days = 0;
  std::vector<int> test_days;  // 1-based, within 1..days, ascending
  Colour colour = Colour::red;
};

struct Group {
  std::string key;       // stable snake_case: inbound, close_contact, ...
  std::string name_zh;   // 入境人员
  bool traced = true;    // false: the profile no longer manages this group
  std::vector<Phase> phases;
  std::string release;   // release condition: "all_tests_negative", "last_test_negative", "none"
  int pre_departure_test_hours = 0;  // a negative test within N hours before travel (0 = none)
  std::string source;    // key into Profile::sources
  Confidence confidence = Confidence::verified;
  std::string note;
};

struct RoutineTesting {
  std::string key;       // high_risk_post, inbound_contact_staff, ...
  std::string name_zh;
  int every_days = 1;    // one test every N days
  std::string source;
  Confidence confidence = Confidence::verified;
};

// ---- Testing rules (the `testing:` section; src/core/lab_rules.hpp applies them).
// Every rule names its source key and confidence like the groups do.
struct Cited {
  std::string source;    // key into Profile::sources
  Confidence confidence = Confidence::verified;
  std::string note;
};

// One pool-ratio rule. A rule matches when every list it gives contains the argument (an
// omitted list matches anything); the first matching rule of the list wins, and the last rule
// must match everyone.
struct PoolRatioRule : Cited {
  std::vector<std::string> groups;      // group or routine-testing keys
  std::vector<Measure> measures;        // the person's current measure
  std::vector<std::string> area_risks;  // "high", "medium", "low"
  int ratio = 1;                        // 1 = single tube
};

// A Ct cut for reported positives: for the listed groups (all when empty) a reported positive is
// positive only if a Ct value below `positive_below` is reported.
struct CtRule : Cited {
  std::vector<std::string> groups;
  double positive_below = 35;
};

// Release on Ct values: `tests` consecutive tests at least `hours_apart` apart with every
// reported gene (ORF1ab and N) at Ct >= min_ct. (discharge; new-ten's mild cases)
struct CtRelease : Cited {
  std::string key;
  int tests = 2;
  int hours_apart = 24;
  double min_ct = 35;
};

struct HoursSetting : Cited {
  int hours = 0;
};
struct FlagSetting : Cited {
  bool value = false;
};
struct FractionSetting : Cited {
  double value = 0;  // a fraction: 0.001 is 0.1 %
};

// What a positive (or inconclusive) pool does to its members.
struct PositivePoolRule : Cited {
  Colour colour = Colour::yellow;  // the members' code until their single-tube re-tests clear them
  bool isolate_in_place = true;    // "stay where you are"
  bool door_to_door = false;       // re-sample members at home instead of at a sampling point
};

// Whether area mass testing (区域核酸检测) may run.
enum class MassTesting {
  allowed,          // any round rule
  outbreak_only,    // only with an outbreak declared for the area (twenty-measures)
  delineated_only,  // only rules that are not by administrative area (new-ten: high-risk areas)
  none,             // no rounds at all (class-b)
};
struct MassTestingRule : Cited {
  MassTesting value = MassTesting::allowed;
};

// A round rule: rounds every `every_days` from the first day; each round sampled within
// `complete_within_hours`. `rounds` > 0: exactly that many rounds. Otherwise rounds go on until
// `stop_after_clean` consecutive clean rounds (0 = until the command centre stops them), then,
// when `final_round_gap_days` > 0, one more round `final_round_gap_days` after the last clean
// one (a round that is not clean restarts the count).
struct RoundRule : Cited {
  std::string key;                   // outbreak_district_10m, ...
  std::string name_zh;
  bool administrative_area = true;   // by administrative area (district, street), not a delineated zone
  int every_days = 1;
  int complete_within_hours = 24;
  int rounds = 0;
  int stop_after_clean = 0;
  int final_round_gap_days = 0;
};

// The `testing:` section. Each part is optional while parsing a profile that inherits (the
// parent's part applies); validate() requires all of them on the resolved profile.
struct Testing {
  std::optional<std::vector<PoolRatioRule>> pool_ratios;
  std::optional<std::vector<CtRule>> ct_rules;            // empty: a result is as the lab reports it
  std::map<std::string, CtRelease> ct_release;            // discharge, mild_case, ...
  std::map<std::string, HoursSetting> turnaround_hours;   // key, routine, voluntary
  std::optional<HoursSetting> retest_deadline_hours;      // single-tube re-test of a positive pool's members
  std::optional<HoursSetting> task_grace_hours;           // a test task is missed this long after its day ends
  std::optional<FlagSetting> missed_task_turns_yellow;
  std::optional<FlagSetting> antigen_self_test;
  std::optional<PositivePoolRule> positive_pool;
  std::optional<MassTestingRule> mass_testing;
  std::map<std::string, RoundRule> round_rules;
  // Pool only while the population's positivity is below this (optional: absent = no limit).
  std::optional<FractionSetting> pooling_max_positivity;
};
// ---- Tracing rules (the optional `tracing:` section; src/core/tracing.hpp applies them). A
// profile without it (or without one of its parts) gets the defaults below, which are the ninth
// edition's definitions and China CDC's timeliness targets.
struct DaysSetting : Cited {
  int days = 0;
};
// Investigation timeliness (流调时效), hours from the case's report: on site, core investigation
// (close contacts listed), everyone at risk under control; and the report itself, hours from
// diagnosis.
struct TimelinessRule : Cited {
  int report_hours = 2, on_site_hours = 2, core_hours = 4, controlled_hours = 24;
};
// Co-travellers on a flight or train: the same row and `rows` rows before and after.
struct SeatRule : Cited {
  int rows = 3;
};
struct Tracing {
  // The exposure window opens this many days before onset (before the first positive sampling
  // for an asymptomatic infection) and closes at isolation.
  std::optional<DaysSetting> exposure_days_before;
  std::optional<TimelinessRule> timeliness;
  std::optional<SeatRule> co_travellers;
};

// ---- Risk areas (the optional `risk_areas:` section; src/core/risk.hpp applies it). A profile
// without the section designates no risk areas (class-b). A child profile that defines the
// section replaces its parent's as a whole.
enum class RiskLevel { high, medium, low };
// Spatial units of the registry a risk area may cover. A compound or village (小区/村) of the
// ninth edition is a grid (网格) in bihuan's registry; a unit (单元) and a floor come from the
// household address ("...3号楼2单元501": unit 2, floor 5).
enum class UnitKind { grid, building, unit, floor, household };
// The measure for the residents of an area of one level, and the group of their control orders
// ("" = residents get no control order: low).
struct RiskLevelRule : Cited {
  RiskLevel level = RiskLevel::high;
  std::string measure_zh;      // 足不出户，上门服务
  std::string resident_group;  // a group key of the profile (high_risk_area_resident)
};
// Which day count a downgrade rule uses.
enum class CountedFrom { last_infection, level_since };
// A downgrade: an area at `from` (designated at `designated`, when given) goes to `to` once
// `days` consecutive days have passed counted from the last counted infection in the area (or
// from the day its current level started), and, when `negative_round`, the area's latest round
// dated on or after that day found no positive. Day counting: the day after the reference day is
// day 1, so the rule holds from reference + days.
struct DowngradeRule : Cited {
  RiskLevel from = RiskLevel::high;
  RiskLevel to = RiskLevel::low;
  std::optional<RiskLevel> designated;
  int days = 7;
  CountedFrom counted_from = CountedFrom::last_infection;
  bool negative_round = false;
};
// Which places of a case make an area: a place the case visited on at least `frequent_days`
// different days is one of "frequent activity" (high); a stay of at least `min_stay_minutes`
// is one "with some risk" (the `stay_level`, when the profile has it).
struct PlaceRule : Cited {
  int frequent_days = 2;
  int min_stay_minutes = 30;
  RiskLevel stay_level = RiskLevel::medium;
};
struct RiskAreas : Cited {  // source of the designation rule itself (residence -> high)
  std::vector<UnitKind> units;                 // allowed, in the order the proposals use the first
  std::map<RiskLevel, RiskLevelRule> levels;   // allowed levels (low: the rest of the county)
  std::vector<DowngradeRule> downgrades;
  FlagSetting count_found_inside_control;      // cases found in quarantine / isolation / closed loop
  std::optional<PlaceRule> places;             // absent: only residences make areas
};

// The turnaround priorities every profile defines.
const std::vector<std::string>& turnaround_priorities();

struct Profile {
  std::string name;      // file stem: ninth-edition
  std::string title;     // 新型冠状病毒肺炎防控方案（第九版）
  Date issued{};
  std::string inherits;  // name of the parent profile ("" = none); resolved by resolve()
  std::map<std::string, std::string> sources;
  std::map<std::string, Group> groups;
  std::map<std::string, RoutineTesting> routine_testing;
  Testing testing;
  Tracing tracing;
  std::optional<RiskAreas> risk_areas;  // absent: the profile designates no risk areas
  bool risk_areas_none = false;         // `risk_areas: none`: explicitly none (not inherited)
};

// The group keys every shipped profile defines (a profile may add more).
const std::vector<std::string>& standard_group_keys();

// Parses one profile. Throws bihuan::Error(invalid_argument) whose message starts with
// "line L: " and whose field is the key path ("groups.inbound.phases[0].days").
Profile parse_profile(std::string_view yaml_text, std::string_view name);
// Applies inheritance: groups and routine tests of the parent not redefined by the child are
// copied in. `load` returns the parsed parent by name. Detects cycles.
template <typename Load>
Profile resolve(Profile p, Load&& load, int depth = 0);
// Checks the resolved profile: every standard group present, every source key defined, every part
// of the testing section present (a pool-ratio list ending in a rule for everyone, the three
// turnaround priorities), group keys in testing rules defined.
void validate(const Profile& p);

struct PlannedPhase {
  Measure measure;
  Colour colour;
  Date start{};
  Date end{};                     // inclusive
  std::vector<Date> test_dates;
};
struct Plan {
  std::string profile;
  std::string group;
  Date start{};
  bool managed = true;            // false when the group is not traced under this profile
  std::vector<PlannedPhase> phases;
  std::optional<Date> release_date;  // the first day free of measures, if all tests are negative
  std::string release_condition;
  int pre_departure_test_hours = 0;
};
Plan make_plan(const Profile& p, std::string_view group, Date start);
// The colour that applies on `day` under `plan` (green before start and from the release date).
Colour colour_on(const Plan& plan, Date day);

const char* to_string(Measure m);
const char* to_string(Colour c);
const char* to_string(Confidence c);
const char* to_string(MassTesting m);
const char* to_string(RiskLevel l);
const char* to_string(UnitKind u);
const char* to_string(CountedFrom c);
std::optional<RiskLevel> risk_level_from(std::string_view s);
std::optional<UnitKind> unit_kind_from(std::string_view s);

// ---- implementation of the template
void merge_parent(Profile& child, const Profile& parent);
[[noreturn]] void throw_inheritance_too_deep(const std::string& name);
template <typename Load>
Profile resolve(Profile p, Load&& load, int depth) {
  if (p.inherits.empty()) return p;
  if (depth > 8) throw_inheritance_too_deep(p.name);
  Profile parent = resolve(load(p.inherits), load, depth + 1);
  merge_parent(p, parent);
  return p;
}

}  // namespace bihuan::policy
