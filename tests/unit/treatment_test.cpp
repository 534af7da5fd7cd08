// Treatment rules (src/core/treatment): the discharge check on the profile's Ct rule with its
// reasons, re-positive decisions by Ct, facilities, and the treatment groups of the profiles.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/policy.hpp"
#include "core/treatment.hpp"

namespace bihuan::treatment {
namespace {

using lab::CtTest;
using lab::Outcome;
using std::chrono::hours;
using std::chrono::minutes;

Instant at(const char* s) { return *parse_instant(s); }

policy::Profile load(const std::string& name) {
  auto loader = [](const std::string& n) {
    std::ifstream in(std::string(BIHUAN_SOURCE_DIR) + "/policies/" + n + ".yaml");
    std::ostringstream ss;
    ss << in.rdbuf();
    return policy::parse_profile(ss.str(), n);
  };
  auto p = policy::resolve(loader(name), loader);
  policy::validate(p);
  return p;
}

policy::CtRelease ninth_rule() { return load("ninth-edition").testing.ct_release.at("discharge"); }

TEST(Treatment, DischargeIsMetByTwoTestsADayApartAtCt35) {
  const auto rule = ninth_rule();
  const Instant t0 = at("2026-11-20T08:00:00Z");
  auto c = discharge_check(rule, {{t0, Outcome::positive, 35.0, 36.5}, {t0 + hours{24}, Outcome::negative, {}, {}}});
  EXPECT_TRUE(c.met);
  EXPECT_EQ(c.reason, "");
  EXPECT_EQ(c.tests_counted, 2);
  // Earlier positive tests do not count: only the last two.
  c = discharge_check(rule, {{t0 - hours{48}, Outcome::positive, 20.0, 21.0},
                             {t0, Outcome::negative, {}, {}},
                             {t0 + hours{30}, Outcome::negative, {}, {}}});
  EXPECT_TRUE(c.met);
}

TEST(Treatment, DischargeRefusalsNameWhatIsMissing) {
  const auto rule = ninth_rule();
  const Instant t0 = at("2026-11-20T08:00:00Z");
  auto c = discharge_check(rule, {{t0, Outcome::negative, {}, {}}});
  EXPECT_FALSE(c.met);
  EXPECT_NE(c.reason.find("1 test since admission"), std::string::npos) << c.reason;
  c = discharge_check(rule, {});
  EXPECT_NE(c.reason.find("0 tests since admission"), std::string::npos) << c.reason;
  c = discharge_check(rule, {{t0, Outcome::negative, {}, {}}, {t0 + hours{23} + minutes{30}, Outcome::negative, {}, {}}});
  EXPECT_FALSE(c.met);
  EXPECT_NE(c.reason.find("23 h 30 min after the one before"), std::string::npos) << c.reason;
  c = discharge_check(rule, {{t0, Outcome::positive, 34.5, 36.0}, {t0 + hours{24}, Outcome::negative, {}, {}}});
  EXPECT_FALSE(c.met);
  EXPECT_NE(c.reason.find("ORF1ab Ct 34.5 and N Ct 36"), std::string::npos) << c.reason;
  c = discharge_check(rule, {{t0, Outcome::negative, {}, {}}, {t0 + hours{24}, Outcome::positive, 36.0, {}}});
  EXPECT_FALSE(c.met);
  EXPECT_NE(c.reason.find("test 2"), std::string::npos) << c.reason;
  EXPECT_NE(c.reason.find("without both Ct values"), std::string::npos) << c.reason;
  // The order of the input does not matter.
  c = discharge_check(rule, {{t0 + hours{24}, Outcome::negative, {}, {}}, {t0, Outcome::negative, {}, {}}});
  EXPECT_TRUE(c.met);
}

TEST(Treatment, RePositiveByCt) {
  EXPECT_EQ(repositive_decision(35.0, 36.0, 35), RePositive::continue_monitoring);
  EXPECT_EQ(repositive_decision(34.9, 36.0, 35), RePositive::new_case);
  EXPECT_EQ(repositive_decision(36.0, 30.0, 35), RePositive::new_case);
  // Without both values it cannot be told: managed as an infection.
  EXPECT_EQ(repositive_decision(36.0, std::nullopt, 35), RePositive::new_case);
  EXPECT_EQ(repositive_decision(std::nullopt, std::nullopt, 35), RePositive::new_case);
  EXPECT_STREQ(to_string(RePositive::continue_monitoring), "continue_monitoring");
  EXPECT_STREQ(to_string(RePositive::new_case), "new_case");
}

TEST(Treatment, FacilitiesAndClassifications) {
  EXPECT_EQ(facility_from("shelter_hospital"), Facility::shelter_hospital);
  EXPECT_EQ(facility_from("designated_hospital"), Facility::designated_hospital);
  EXPECT_FALSE(facility_from("hospital"));
  EXPECT_STREQ(to_string(Facility::shelter_hospital), "shelter_hospital");
  EXPECT_TRUE(treatable("confirmed"));
  EXPECT_TRUE(treatable("asymptomatic"));
  EXPECT_TRUE(treatable("clinical"));
  EXPECT_FALSE(treatable("suspected"));
  EXPECT_FALSE(treatable(""));
}

TEST(Treatment, ProfilesHoldCasesInTreatmentAndMonitorDischargedOnes) {
  for (const char* name : {"ninth-edition", "twenty-measures", "new-ten-measures"}) {
    SCOPED_TRACE(name);
    auto p = load(name);
    ASSERT_TRUE(p.groups.count(kTreatmentGroup));
    const auto& g = p.groups.at(kTreatmentGroup);
    ASSERT_EQ(g.phases.size(), 1u);
    // No loop health checks in hospital, red all the way.
    EXPECT_EQ(g.phases[0].measure, policy::Measure::testing_only);
    EXPECT_EQ(g.phases[0].colour, policy::Colour::red);
    const auto& d = p.groups.at(kDischargedGroup);
    ASSERT_FALSE(d.phases.empty());
    EXPECT_EQ(d.phases[0].measure, policy::Measure::home_health_monitoring);
  }
  const auto nine = load("ninth-edition").groups.at(kDischargedGroup);
  EXPECT_EQ(nine.phases[0].days, 7);
  EXPECT_EQ(nine.phases[0].test_days, std::vector<int>{7});
  // Class B: no treatment order, no monitoring.
  auto b = load("class-b");
  EXPECT_FALSE(b.groups.count(kTreatmentGroup));
  EXPECT_FALSE(b.groups.at(kDischargedGroup).traced);
}

}  // namespace
}  // namespace bihuan::treatment
