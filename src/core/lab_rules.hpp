#pragma once
// Testing rules of the active policy profile applied to a case: the Ct rule that turns a
// reported result into the result that counts, the pool ratio for a person, turnaround targets,
// re-test and task deadlines, and when the next round of area mass testing is due. The rules
// are data in the profile's `testing:` section (policies/*.yaml, src/core/policy.hpp).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "core/policy.hpp"

namespace bihuan::lab {

enum class Outcome { negative, positive, inconclusive };
const char* to_string(Outcome o);
std::optional<Outcome> outcome_from(std::string_view s);  // "negative" | "positive" | "inconclusive"

// The result that counts, from the one the lab reports and its Ct values. A reported negative
// or inconclusive result stands. A reported positive stands unless a Ct rule of the profile
// covers the person's group (`group_key`, "" = general population: only rules without groups
// apply): then it is positive when any reported gene has Ct below the cut, negative when every
// reported gene is at or above it (a past infection), and inconclusive when the lab gave no Ct
// value (the rule cannot be checked: the person gets a re-test rather than a case or a release).
Outcome judge(Outcome reported, std::optional<double> orf1ab_ct, std::optional<double> n_ct, std::string_view group_key,
              const policy::Profile& profile);

// The pool ratio for a person: `group_key` is a group or routine-testing key ("" = general
// population), `area_risk` "high" | "medium" | "low" | "" (not in a risk area), `measure` the
// person's current measure if any. First matching rule of testing.pool_ratios. Throws
// Error(invalid_argument, field "area_risk") on another area_risk value.
int pool_ratio_for(const policy::Profile& profile, std::string_view group_key, std::string_view area_risk,
                   std::optional<policy::Measure> measure);
// The rule that pool_ratio_for used (for its source and confidence).
const policy::PoolRatioRule& pool_ratio_rule_for(const policy::Profile& profile, std::string_view group_key,
                                                 std::string_view area_risk, std::optional<policy::Measure> measure);

// Sample-to-result target by priority "key" | "routine" | "voluntary"; Error(invalid_argument,
// field "priority") otherwise.
std::chrono::hours turnaround_target(const policy::Profile& profile, std::string_view priority);
// Deadline of the single-tube re-test of a positive or inconclusive pool's members, after the
// pool's result.
std::chrono::hours retest_deadline(const policy::Profile& profile);
// How long after the end of its day a test task counts as missed.
std::chrono::hours task_grace(const policy::Profile& profile);
// The instant a test task of `day` is missed: local end of the day plus the grace.
Instant task_missed_at(const policy::Profile& profile, Date day, const LocalTime& local);
bool missed_task_turns_yellow(const policy::Profile& profile);
bool uses_antigen_self_tests(const policy::Profile& profile);
const policy::PositivePoolRule& positive_pool_rule(const policy::Profile& profile);
// The positivity below which the profile pools samples (nullopt: no limit), and whether pooling
// is advised at `positivity` (a fraction; false when it is at or above the limit).
std::optional<double> pooling_max_positivity(const policy::Profile& profile);
bool pooling_advised(const policy::Profile& profile, double positivity);

// ---- Release on Ct values (discharge; mild cases under new-ten)
struct CtTest {
  Instant sampled_at;
  Outcome outcome = Outcome::negative;
  std::optional<double> orf1ab_ct, n_ct;
};
// Whether the last `rule.tests` tests (sorted by sampling time here) meet the rule: each sampled
// at least `hours_apart` after the previous one, and each either negative or with both ORF1ab
// and N reported at Ct >= min_ct (a missing Ct value on a positive or inconclusive test fails).
bool ct_release_met(const policy::CtRelease& rule, std::vector<CtTest> tests);
// The profile's release rule by key ("discharge", "mild_case"); Error(not_found) if absent.
const policy::CtRelease& ct_release_rule(const policy::Profile& profile, std::string_view key);

// ---- Area mass testing rounds
// The round rule by key; Error(not_found, field "rule") if the profile has none of that name.
const policy::RoundRule& round_rule(const policy::Profile& profile, std::string_view key);

struct RoundPermit {
  bool allowed = false;
  std::string reason;  // why not (English), "" when allowed
};
// Whether a round under `rule_key` may start: mass_testing allowed → yes; outbreak_only → only
// with `outbreak_declared` (an outbreak declared for the area, recorded with the round);
// delineated_only → only rules that are not by administrative area; none → never. An unknown
// rule is not allowed (reason says so) rather than an exception.
RoundPermit round_permit(const policy::Profile& profile, std::string_view rule_key, bool outbreak_declared);

// A previous round: its (first) day and whether it was clean (no community infection found).
struct RoundOutcome {
  Date day{};
  bool clean = false;
};
struct RoundDue {
  bool due = false;
  std::optional<Date> date;       // the day the next round is due, when due
  bool final_round = false;       // the next round is the one after the clean streak
  int clean_streak = 0;           // consecutive clean rounds at the end of `previous`
  std::string reason;             // English: why (not) due
};
// When the next round is due under `rule`, rounds starting on `first_day`, given the previous
// rounds in date order (Error(invalid_argument, field "previous") if not strictly ascending or
// before first_day). No previous round: due on first_day.
RoundDue next_round(const policy::RoundRule& rule, Date first_day, const std::vector<RoundOutcome>& previous);

}  // namespace bihuan::lab
