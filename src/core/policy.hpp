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

struct Profile {
  std::string name;      // file stem: ninth-edition
  std::string title;     // 新型冠状病毒肺炎防控方案（第九版）
  Date issued{};
  std::string inherits;  // name of the parent profile ("" = none); resolved by resolve()
  std::map<std::string, std::string> sources;
  std::map<std::string, Group> groups;
  std::map<std::string, RoutineTesting> routine_testing;
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
// Checks the resolved profile: every standard group present, every source key defined.
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
