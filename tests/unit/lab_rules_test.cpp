// The testing section of every shipped profile and the rules that apply it (src/core/lab_rules).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/lab_rules.hpp"
#include "core/policy.hpp"

namespace bihuan::lab {
namespace {

using policy::Measure;

std::string read(const std::string& name) {
  std::ifstream in(std::string(BIHUAN_SOURCE_DIR) + "/policies/" + name + ".yaml");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

policy::Profile load(const std::string& name) {
  auto loader = [](const std::string& n) { return policy::parse_profile(read(n), n); };
  auto p = policy::resolve(loader(name), loader);
  policy::validate(p);
  return p;
}

const char* kProfiles[] = {"ninth-edition", "twenty-measures", "new-ten-measures", "class-b"};

Date day(const char* s) { return *parse_date(s); }
Instant at(const char* s) { return *parse_instant(s); }

TEST(LabRules, EveryShippedProfileHasACompleteTestingSection) {
  for (const char* name : kProfiles) {
    SCOPED_TRACE(name);
    auto p = load(name);
    const auto& t = p.testing;
    ASSERT_TRUE(t.pool_ratios && t.ct_rules && t.retest_deadline_hours && t.task_grace_hours &&
                t.missed_task_turns_yellow && t.antigen_self_test && t.positive_pool && t.mass_testing);
    // Every rule cites a defined source.
    for (const auto& r : *t.pool_ratios) EXPECT_TRUE(p.sources.count(r.source)) << r.source;
    for (const auto& [k, r] : t.round_rules) EXPECT_TRUE(p.sources.count(r.source)) << k;
    for (const auto& prio : policy::turnaround_priorities()) EXPECT_GT(turnaround_target(p, prio).count(), 0);
    // Local settings are labelled as such.
    EXPECT_EQ(t.retest_deadline_hours->confidence, policy::Confidence::local_setting);
    EXPECT_EQ(t.task_grace_hours->confidence, policy::Confidence::local_setting);
    // Every group and routine test gets a ratio, under every measure and area risk.
    for (const auto& [k, g] : p.groups)
      for (const char* risk : {"", "high", "medium", "low"}) {
        const int r = pool_ratio_for(p, k, risk, std::nullopt);
        EXPECT_TRUE(r == 1 || r == 5 || r == 10 || r == 20) << k << " " << r;
      }
  }
}

TEST(LabRules, PoolRatiosFollowTheLangfangExample) {
  for (const char* name : {"ninth-edition", "twenty-measures", "new-ten-measures"}) {
    SCOPED_TRACE(name);
    auto p = load(name);
    // Central quarantine, home isolation and home health monitoring: single tube.
    for (Measure m : {Measure::central_quarantine, Measure::home_isolation, Measure::home_health_monitoring})
      EXPECT_EQ(pool_ratio_for(p, "", "low", m), 1);
    // Key groups single tube, wherever they live.
    EXPECT_EQ(pool_ratio_for(p, "inbound_contact_staff", "", std::nullopt), 1);
    EXPECT_EQ(pool_ratio_for(p, "close_contact", "low", std::nullopt), 1);
    // High-risk area single tube, controlled (medium) 10-in-1, everyone else 20-in-1.
    EXPECT_EQ(pool_ratio_for(p, "", "high", std::nullopt), 1);
    EXPECT_EQ(pool_ratio_for(p, "", "medium", std::nullopt), 10);
    EXPECT_EQ(pool_ratio_for(p, "", "low", std::nullopt), 20);
    EXPECT_EQ(pool_ratio_for(p, "", "", std::nullopt), 20);
    EXPECT_EQ(pool_ratio_for(p, "", "", Measure::testing_only), 20);
    const auto& rule = pool_ratio_rule_for(p, "", "medium", std::nullopt);
    EXPECT_EQ(rule.source, "langfang");
    EXPECT_EQ(rule.confidence, policy::Confidence::single_source);
  }
  auto b = load("class-b");
  EXPECT_EQ(pool_ratio_for(b, "", "", std::nullopt), 1);
  EXPECT_EQ(pool_ratio_rule_for(b, "", "", std::nullopt).confidence, policy::Confidence::local_setting);
  try {
    pool_ratio_for(load("ninth-edition"), "", "purple", std::nullopt);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "area_risk");
  }
}

TEST(LabRules, CtRules) {
  auto ninth = load("ninth-edition");
  // No Ct cut: as the lab reports it, whatever the Ct.
  EXPECT_EQ(judge(Outcome::positive, 38.0, 37.0, "inbound", ninth), Outcome::positive);
  EXPECT_EQ(judge(Outcome::positive, std::nullopt, std::nullopt, "inbound", ninth), Outcome::positive);
  EXPECT_EQ(judge(Outcome::negative, 20.0, 20.0, "", ninth), Outcome::negative);
  EXPECT_EQ(judge(Outcome::inconclusive, std::nullopt, std::nullopt, "", ninth), Outcome::inconclusive);
  for (const char* name : {"twenty-measures", "new-ten-measures"}) {
    SCOPED_TRACE(name);
    auto p = load(name);
    // Inbound travellers: positive only if Ct < 35.
    EXPECT_EQ(judge(Outcome::positive, 34.9, std::nullopt, "inbound", p), Outcome::positive);
    EXPECT_EQ(judge(Outcome::positive, 36.0, 34.0, "inbound", p), Outcome::positive);
    EXPECT_EQ(judge(Outcome::positive, 35.0, 35.0, "inbound", p), Outcome::negative);
    EXPECT_EQ(judge(Outcome::positive, 37.0, std::nullopt, "inbound", p), Outcome::negative);
    EXPECT_EQ(judge(Outcome::positive, std::nullopt, std::nullopt, "inbound", p), Outcome::inconclusive);
    EXPECT_EQ(judge(Outcome::negative, 30.0, 30.0, "inbound", p), Outcome::negative);
    // Everyone else: as reported.
    EXPECT_EQ(judge(Outcome::positive, 38.0, 38.0, "close_contact", p), Outcome::positive);
    EXPECT_EQ(judge(Outcome::positive, 38.0, 38.0, "", p), Outcome::positive);
    EXPECT_EQ(p.testing.ct_rules->at(0).confidence, policy::Confidence::verified);
  }
  auto b = load("class-b");
  EXPECT_EQ(judge(Outcome::positive, 38.0, 38.0, "inbound", b), Outcome::positive);
}

TEST(LabRules, CtRelease) {
  for (const char* name : {"ninth-edition", "twenty-measures", "new-ten-measures"}) {
    SCOPED_TRACE(name);
    const auto profile = load(name);
    const auto& rule = ct_release_rule(profile, "discharge");
    EXPECT_EQ(rule.tests, 2);
    EXPECT_EQ(rule.hours_apart, 24);
    EXPECT_DOUBLE_EQ(rule.min_ct, 35);
    auto rule_copy = rule;
    const auto t0 = at("2022-07-01T08:00:00Z");
    using std::chrono::hours;
    EXPECT_TRUE(ct_release_met(rule_copy, {{t0, Outcome::positive, 36.0, 35.0}, {t0 + hours{24}, Outcome::negative, {}, {}}}));
    // Under 24 h apart.
    EXPECT_FALSE(ct_release_met(rule_copy, {{t0, Outcome::negative, {}, {}}, {t0 + hours{23}, Outcome::negative, {}, {}}}));
    // One gene below 35, or a gene missing on a positive.
    EXPECT_FALSE(ct_release_met(rule_copy, {{t0, Outcome::positive, 34.0, 36.0}, {t0 + hours{24}, Outcome::negative, {}, {}}}));
    EXPECT_FALSE(ct_release_met(rule_copy, {{t0, Outcome::positive, 36.0, {}}, {t0 + hours{24}, Outcome::negative, {}, {}}}));
    // Only the last two count, in time order whatever the order given.
    EXPECT_TRUE(ct_release_met(rule_copy, {{t0 + hours{48}, Outcome::negative, {}, {}},
                                           {t0 - hours{24}, Outcome::positive, 20.0, 20.0},
                                           {t0 + hours{20}, Outcome::negative, {}, {}}}));
    EXPECT_FALSE(ct_release_met(rule_copy, {{t0, Outcome::negative, {}, {}}}));
  }
  EXPECT_EQ(ct_release_rule(load("new-ten-measures"), "mild_case").source, "newten");
  EXPECT_THROW(ct_release_rule(load("ninth-edition"), "mild_case"), Error);
  EXPECT_THROW(ct_release_rule(load("class-b"), "discharge"), Error);
}

TEST(LabRules, SettingsPerProfile) {
  auto ninth = load("ninth-edition");
  EXPECT_EQ(turnaround_target(ninth, "key"), std::chrono::hours{6});
  EXPECT_EQ(turnaround_target(ninth, "routine"), std::chrono::hours{12});
  EXPECT_EQ(turnaround_target(ninth, "voluntary"), std::chrono::hours{24});
  EXPECT_THROW(turnaround_target(ninth, "urgent"), Error);
  EXPECT_EQ(retest_deadline(ninth), std::chrono::hours{6});
  EXPECT_EQ(task_grace(ninth), std::chrono::hours{12});
  EXPECT_TRUE(missed_task_turns_yellow(ninth));
  EXPECT_FALSE(uses_antigen_self_tests(ninth));
  EXPECT_EQ(positive_pool_rule(ninth).colour, policy::Colour::yellow);
  EXPECT_TRUE(positive_pool_rule(ninth).isolate_in_place);
  // A task of 2022-07-01 (Beijing time) is missed at 2022-07-02 12:00 +08:00.
  EXPECT_EQ(format_instant(task_missed_at(ninth, day("2022-07-01"), LocalTime{})), "2022-07-02T04:00:00.000Z");

  auto twenty = load("twenty-measures");  // inherits everything but the Ct rule and mass testing
  EXPECT_EQ(retest_deadline(twenty), std::chrono::hours{6});
  EXPECT_TRUE(missed_task_turns_yellow(twenty));
  EXPECT_EQ(twenty.testing.round_rules.size(), ninth.testing.round_rules.size());

  auto ten = load("new-ten-measures");
  EXPECT_TRUE(uses_antigen_self_tests(ten));
  EXPECT_FALSE(missed_task_turns_yellow(ten));
  EXPECT_TRUE(positive_pool_rule(ten).door_to_door);
  EXPECT_EQ(positive_pool_rule(ten).source, "newten");
  EXPECT_EQ(turnaround_target(ten, "key"), std::chrono::hours{6});

  auto b = load("class-b");
  EXPECT_TRUE(uses_antigen_self_tests(b));
  EXPECT_FALSE(missed_task_turns_yellow(b));
  EXPECT_FALSE(positive_pool_rule(b).isolate_in_place);
  EXPECT_EQ(turnaround_target(b, "voluntary"), std::chrono::hours{24});
}

TEST(LabRules, PoolingOnlyBelowThePositivityLimit) {
  for (const char* name : {"ninth-edition", "twenty-measures", "new-ten-measures"}) {
    SCOPED_TRACE(name);
    auto p = load(name);
    ASSERT_TRUE(pooling_max_positivity(p));
    EXPECT_DOUBLE_EQ(*pooling_max_positivity(p), 0.001);
    EXPECT_EQ(p.testing.pooling_max_positivity->source, "pooling2020");
    EXPECT_TRUE(pooling_advised(p, 0.0005));
    EXPECT_FALSE(pooling_advised(p, 0.001));
    EXPECT_FALSE(pooling_advised(p, 0.02));
  }
  auto b = load("class-b");
  EXPECT_FALSE(pooling_max_positivity(b));
  EXPECT_TRUE(pooling_advised(b, 0.5));
}

TEST(LabRules, RoundPermits) {
  auto ninth = load("ninth-edition");
  EXPECT_TRUE(round_permit(ninth, "outbreak_district_10m", false).allowed);
  EXPECT_TRUE(round_permit(ninth, "delineated_area", false).allowed);
  EXPECT_FALSE(round_permit(ninth, "no_such_rule", true).allowed);
  auto twenty = load("twenty-measures");
  EXPECT_FALSE(round_permit(twenty, "outbreak_district_10m", false).allowed);
  EXPECT_NE(round_permit(twenty, "outbreak_district_10m", false).reason.find("outbreak"), std::string::npos);
  EXPECT_TRUE(round_permit(twenty, "outbreak_district_10m", true).allowed);
  auto ten = load("new-ten-measures");
  EXPECT_FALSE(round_permit(ten, "outbreak_district_10m", true).allowed);
  EXPECT_TRUE(round_permit(ten, "delineated_area", false).allowed);
  auto b = load("class-b");
  EXPECT_FALSE(round_permit(b, "delineated_area", true).allowed);
  EXPECT_TRUE(b.testing.round_rules.empty());
  EXPECT_THROW(round_rule(b, "delineated_area"), Error);
}

TEST(LabRules, OutbreakDistrictRoundsStopAfterThreeCleanAndOneMore) {
  const auto ninth = load("ninth-edition");
  const auto& rule = round_rule(ninth, "outbreak_district_10m");
  const Date d1 = day("2022-04-01");
  auto due = next_round(rule, d1, {});
  ASSERT_TRUE(due.due);
  EXPECT_EQ(format_date(*due.date), "2022-04-01");
  // Daily while rounds find infections.
  due = next_round(rule, d1, {{day("2022-04-01"), false}, {day("2022-04-02"), false}});
  EXPECT_TRUE(due.due);
  EXPECT_EQ(format_date(*due.date), "2022-04-03");
  EXPECT_EQ(due.clean_streak, 0);
  // Two clean: keep going daily.
  due = next_round(rule, d1, {{day("2022-04-01"), false}, {day("2022-04-02"), true}, {day("2022-04-03"), true}});
  EXPECT_EQ(format_date(*due.date), "2022-04-04");
  EXPECT_FALSE(due.final_round);
  EXPECT_EQ(due.clean_streak, 2);
  // Three clean: one more round 3 days after the last.
  std::vector<RoundOutcome> rounds = {{day("2022-04-01"), false}, {day("2022-04-02"), true}, {day("2022-04-03"), true},
                                      {day("2022-04-04"), true}};
  due = next_round(rule, d1, rounds);
  ASSERT_TRUE(due.due);
  EXPECT_TRUE(due.final_round);
  EXPECT_EQ(format_date(*due.date), "2022-04-07");
  // The final round clean: stop.
  rounds.push_back({day("2022-04-07"), true});
  due = next_round(rule, d1, rounds);
  EXPECT_FALSE(due.due);
  EXPECT_FALSE(due.date);
  // The final round found infection: daily again, the count restarts.
  rounds.back().clean = false;
  due = next_round(rule, d1, rounds);
  EXPECT_TRUE(due.due);
  EXPECT_FALSE(due.final_round);
  EXPECT_EQ(format_date(*due.date), "2022-04-08");
  EXPECT_EQ(due.clean_streak, 0);
}

TEST(LabRules, OtherRoundRules) {
  auto ninth = load("ninth-edition");
  const Date d1 = day("2022-04-01");
  const auto& other = round_rule(ninth, "other_district_10m");
  auto due = next_round(other, d1, {{day("2022-04-01"), true}, {day("2022-04-02"), true}, {day("2022-04-03"), true}});
  EXPECT_FALSE(due.due);  // no final round for the other districts
  const auto& delineated = round_rule(ninth, "delineated_area");
  EXPECT_EQ(delineated.complete_within_hours, 24);
  EXPECT_TRUE(next_round(delineated, d1, {}).due);
  EXPECT_FALSE(next_round(delineated, d1, {{d1, false}}).due);
  // Bad history.
  EXPECT_THROW(next_round(other, d1, {{day("2022-04-02"), true}, {day("2022-04-02"), true}}), Error);
  EXPECT_THROW(next_round(other, d1, {{day("2022-03-31"), true}}), Error);
}

TEST(LabRules, TestingSectionErrorsNameTheKey) {
  const std::string head =
      "schema: 1\nname: x\ntitle: t\nissued: 2022-06-28\nsources: {s: x}\ngroups: {}\ntesting:\n";
  auto field_of = [&](const std::string& body) {
    try {
      policy::parse_profile(head + body, "x");
    } catch (const Error& e) {
      return e.field();
    }
    return std::string("accepted");
  };
  EXPECT_EQ(field_of("  pool_ratios: [{ratio: 0, source: s, confidence: U}]\n"), "testing.pool_ratios[0].ratio");
  EXPECT_EQ(field_of("  pool_ratios: [{ratio: 5, source: s}]\n"), "testing.pool_ratios[0].confidence");
  EXPECT_EQ(field_of("  pool_ratios: [{ratio: 5, area_risks: [purple], source: s, confidence: U}]\n"),
            "testing.pool_ratios[0].area_risks[0]");
  EXPECT_EQ(field_of("  pool_ratios: [{ratio: 5, measures: [jail], source: s, confidence: U}]\n"),
            "testing.pool_ratios[0].measures[0]");
  EXPECT_EQ(field_of("  ct_rules: [{positive_below: 90, source: s, confidence: V}]\n"), "testing.ct_rules[0].positive_below");
  EXPECT_EQ(field_of("  turnaround_hours: {urgent: {hours: 1, source: s, confidence: U}}\n"), "testing.turnaround_hours.urgent");
  EXPECT_EQ(field_of("  mass_testing: {value: sometimes, source: s, confidence: V}\n"), "testing.mass_testing.value");
  EXPECT_EQ(field_of("  antigen_self_test: {value: maybe, source: s, confidence: V}\n"), "testing.antigen_self_test.value");
  EXPECT_EQ(field_of("  bogus: 1\n"), "testing.bogus");
  EXPECT_EQ(field_of("  pooling_max_positivity: {value: 1.5, source: s, confidence: S}\n"), "testing.pooling_max_positivity.value");
  EXPECT_EQ(field_of("  pooling_max_positivity: {value: lots, source: s, confidence: S}\n"), "testing.pooling_max_positivity.value");
  EXPECT_EQ(field_of("  round_rules: {r: {name_zh: a, administrative_area: true, complete_within_hours: 24, rounds: 1,"
                     " stop_after_clean: 3, source: s, confidence: V}}\n"),
            "testing.round_rules.r");
  // validate(): the last pool rule must apply to everyone.
  auto p = load("ninth-edition");
  p.testing.pool_ratios->pop_back();
  try {
    policy::validate(p);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "testing.pool_ratios[3]");
  }
  // validate(): a profile without its testing section.
  auto q = load("class-b");
  q.testing.mass_testing.reset();
  try {
    policy::validate(q);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "testing.mass_testing");
  }
  // validate(): a rule naming an unknown group.
  auto r = load("ninth-edition");
  r.testing.ct_rules->push_back({});
  r.testing.ct_rules->back().source = "ninth";
  r.testing.ct_rules->back().groups = {"martians"};
  try {
    policy::validate(r);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "testing.ct_rules[0].groups[0]");
  }
}

}  // namespace
}  // namespace bihuan::lab
