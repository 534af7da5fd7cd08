#include "core/lab_rules.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace bihuan::lab {

namespace {

const policy::Testing& testing_of(const policy::Profile& p) { return p.testing; }

template <typename T>
const T& part(const policy::Profile& p, const std::optional<T>& v, const char* key) {
  if (!v) fail(ErrorCode::invalid_argument, "profile " + p.name + " does not define testing." + key, std::string("testing.") + key);
  return *v;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::negative: return "negative";
    case Outcome::positive: return "positive";
    case Outcome::inconclusive: return "inconclusive";
  }
  return "unknown";
}

std::optional<Outcome> outcome_from(std::string_view s) {
  if (s == "negative") return Outcome::negative;
  if (s == "positive") return Outcome::positive;
  if (s == "inconclusive") return Outcome::inconclusive;
  return std::nullopt;
}

Outcome judge(Outcome reported, std::optional<double> orf1ab_ct, std::optional<double> n_ct, std::string_view group_key,
              const policy::Profile& profile) {
  if (reported != Outcome::positive) return reported;
  const auto& rules = part(profile, testing_of(profile).ct_rules, "ct_rules");
  const policy::CtRule* rule = nullptr;
  for (const auto& r : rules)
    if (r.groups.empty() || (!group_key.empty() && contains(r.groups, group_key))) {
      rule = &r;
      break;
    }
  if (!rule) return reported;
  if (!orf1ab_ct && !n_ct) return Outcome::inconclusive;
  const bool below = (orf1ab_ct && *orf1ab_ct < rule->positive_below) || (n_ct && *n_ct < rule->positive_below);
  return below ? Outcome::positive : Outcome::negative;
}

const policy::PoolRatioRule& pool_ratio_rule_for(const policy::Profile& profile, std::string_view group_key,
                                                 std::string_view area_risk, std::optional<policy::Measure> measure) {
  if (!area_risk.empty() && area_risk != "high" && area_risk != "medium" && area_risk != "low")
    fail(ErrorCode::invalid_argument,
         "area risk must be high, medium, low or empty, got '" + std::string(area_risk) + "'", "area_risk");
  const auto& rules = part(profile, testing_of(profile).pool_ratios, "pool_ratios");
  for (const auto& r : rules) {
    if (!r.groups.empty() && (group_key.empty() || !contains(r.groups, group_key))) continue;
    if (!r.area_risks.empty() && (area_risk.empty() || !contains(r.area_risks, area_risk))) continue;
    if (!r.measures.empty() &&
        (!measure || std::find(r.measures.begin(), r.measures.end(), *measure) == r.measures.end()))
      continue;
    return r;
  }
  fail(ErrorCode::invalid_argument, "profile " + profile.name + ": no pool-ratio rule applies (the last must apply to everyone)",
       "testing.pool_ratios");
}

int pool_ratio_for(const policy::Profile& profile, std::string_view group_key, std::string_view area_risk,
                   std::optional<policy::Measure> measure) {
  return pool_ratio_rule_for(profile, group_key, area_risk, measure).ratio;
}

std::chrono::hours turnaround_target(const policy::Profile& profile, std::string_view priority) {
  const auto& t = testing_of(profile).turnaround_hours;
  auto it = t.find(std::string(priority));
  if (it == t.end())
    fail(ErrorCode::invalid_argument,
         "priority must be key, routine or voluntary, got '" + std::string(priority) + "'", "priority");
  return std::chrono::hours{it->second.hours};
}

std::chrono::hours retest_deadline(const policy::Profile& profile) {
  return std::chrono::hours{part(profile, testing_of(profile).retest_deadline_hours, "retest_deadline_hours").hours};
}

std::chrono::hours task_grace(const policy::Profile& profile) {
  return std::chrono::hours{part(profile, testing_of(profile).task_grace_hours, "task_grace_hours").hours};
}

Instant task_missed_at(const policy::Profile& profile, Date day, const LocalTime& local) {
  return local.start_of(Date{std::chrono::sys_days{day} + std::chrono::days{1}}) + task_grace(profile);
}

bool missed_task_turns_yellow(const policy::Profile& profile) {
  return part(profile, testing_of(profile).missed_task_turns_yellow, "missed_task_turns_yellow").value;
}

bool uses_antigen_self_tests(const policy::Profile& profile) {
  return part(profile, testing_of(profile).antigen_self_test, "antigen_self_test").value;
}

const policy::PositivePoolRule& positive_pool_rule(const policy::Profile& profile) {
  return part(profile, testing_of(profile).positive_pool, "positive_pool");
}

std::optional<double> pooling_max_positivity(const policy::Profile& profile) {
  const auto& m = testing_of(profile).pooling_max_positivity;
  if (!m) return std::nullopt;
  return m->value;
}

bool pooling_advised(const policy::Profile& profile, double positivity) {
  const auto limit = pooling_max_positivity(profile);
  return !limit || positivity < *limit;
}

bool ct_release_met(const policy::CtRelease& rule, std::vector<CtTest> tests) {
  if (rule.tests <= 0 || tests.size() < static_cast<std::size_t>(rule.tests)) return false;
  std::stable_sort(tests.begin(), tests.end(), [](const CtTest& a, const CtTest& b) { return a.sampled_at < b.sampled_at; });
  const auto first = tests.end() - rule.tests;
  for (auto it = first; it != tests.end(); ++it) {
    const bool ok = it->outcome == Outcome::negative ||
                    (it->orf1ab_ct && it->n_ct && *it->orf1ab_ct >= rule.min_ct && *it->n_ct >= rule.min_ct);
    if (!ok) return false;
    if (it != first && it->sampled_at - (it - 1)->sampled_at < std::chrono::hours{rule.hours_apart}) return false;
  }
  return true;
}

const policy::CtRelease& ct_release_rule(const policy::Profile& profile, std::string_view key) {
  const auto& m = testing_of(profile).ct_release;
  auto it = m.find(std::string(key));
  if (it == m.end())
    fail(ErrorCode::not_found, "profile " + profile.name + " has no Ct release rule '" + std::string(key) + "'", "rule");
  return it->second;
}

const policy::RoundRule& round_rule(const policy::Profile& profile, std::string_view key) {
  const auto& m = testing_of(profile).round_rules;
  auto it = m.find(std::string(key));
  if (it == m.end())
    fail(ErrorCode::not_found, "profile " + profile.name + " has no round rule '" + std::string(key) + "'", "rule");
  return it->second;
}

RoundPermit round_permit(const policy::Profile& profile, std::string_view rule_key, bool outbreak_declared) {
  const auto& rules = testing_of(profile).round_rules;
  auto it = rules.find(std::string(rule_key));
  if (it == rules.end()) return {false, "profile " + profile.name + " has no round rule '" + std::string(rule_key) + "'"};
  const auto& mt = part(profile, testing_of(profile).mass_testing, "mass_testing");
  switch (mt.value) {
    case policy::MassTesting::allowed: return {true, ""};
    case policy::MassTesting::outbreak_only:
      if (outbreak_declared) return {true, ""};
      return {false, "profile " + profile.name +
                         ": no mass testing by administrative area without an outbreak; declare the outbreak for the area to start a round"};
    case policy::MassTesting::delineated_only:
      if (!it->second.administrative_area) return {true, ""};
      return {false, "profile " + profile.name + ": no mass testing by administrative area; only delineated areas (rule " +
                         std::string(rule_key) + " is by administrative area)"};
    case policy::MassTesting::none: break;
  }
  return {false, "profile " + profile.name + ": no area mass testing (testing is voluntary)"};
}

RoundDue next_round(const policy::RoundRule& rule, Date first_day, const std::vector<RoundOutcome>& previous) {
  using std::chrono::days;
  using std::chrono::sys_days;
  RoundDue out;
  if (previous.empty()) {
    out.due = true;
    out.date = first_day;
    out.reason = "first round";
    return out;
  }
  for (std::size_t i = 0; i < previous.size(); ++i) {
    if (sys_days{previous[i].day} < sys_days{first_day})
      fail(ErrorCode::invalid_argument, "round " + std::to_string(i + 1) + " is before the first day", "previous");
    if (i > 0 && sys_days{previous[i].day} <= sys_days{previous[i - 1].day})
      fail(ErrorCode::invalid_argument, "previous rounds must be in ascending date order, one per day", "previous");
  }
  const sys_days last{previous.back().day};
  for (auto it = previous.rbegin(); it != previous.rend() && it->clean; ++it) ++out.clean_streak;

  if (rule.rounds > 0) {
    if (previous.size() >= static_cast<std::size_t>(rule.rounds)) {
      out.reason = "all " + std::to_string(rule.rounds) + " round(s) of the rule are done";
      return out;
    }
    out.due = true;
    out.date = Date{last + days{rule.every_days}};
    out.reason = "round " + std::to_string(previous.size() + 1) + " of " + std::to_string(rule.rounds);
    return out;
  }
  enum class State { counting, awaiting_final, stopped } state = State::counting;
  int streak = 0;
  for (const auto& r : previous) {
    switch (state) {
      case State::counting:
        streak = r.clean ? streak + 1 : 0;
        if (rule.stop_after_clean > 0 && streak >= rule.stop_after_clean)
          state = rule.final_round_gap_days > 0 ? State::awaiting_final : State::stopped;
        break;
      case State::awaiting_final:
      case State::stopped:
        // The final round (or a round after the stop): clean ends the rounds; a round that
        // finds infection starts the count again.
        if (r.clean) {
          state = State::stopped;
        } else {
          state = State::counting;
          streak = 0;
        }
        break;
    }
  }
  switch (state) {
    case State::counting:
      out.due = true;
      out.date = Date{last + days{rule.every_days}};
      out.reason = rule.stop_after_clean > 0
                       ? std::to_string(streak) + " of " + std::to_string(rule.stop_after_clean) + " consecutive clean round(s)"
                       : "rounds continue until stopped";
      break;
    case State::awaiting_final:
      out.due = true;
      out.final_round = true;
      out.date = Date{last + days{rule.final_round_gap_days}};
      out.reason = std::to_string(rule.stop_after_clean) + " consecutive clean rounds: one more round " +
                   std::to_string(rule.final_round_gap_days) + " days after the last";
      break;
    case State::stopped:
      out.reason = rule.final_round_gap_days > 0 ? "the final round was clean: rounds stop"
                                                 : std::to_string(rule.stop_after_clean) + " consecutive clean rounds: rounds stop";
      break;
  }
  return out;
}

}  // namespace bihuan::lab
