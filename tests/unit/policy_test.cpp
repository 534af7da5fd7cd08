// Policy profiles: the shipped files parse, inherit, validate and plan as the reference says.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/policy.hpp"

namespace bihuan::policy {
namespace {

std::string read(const std::string& name) {
  std::ifstream in(std::string(BIHUAN_SOURCE_DIR) + "/policies/" + name + ".yaml");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Profile load(const std::string& name) {
  auto loader = [](const std::string& n) { return parse_profile(read(n), n); };
  auto p = resolve(loader(name), loader);
  validate(p);
  return p;
}

Date day(const char* s) { return *parse_date(s); }

std::vector<std::string> dates(const std::vector<Date>& ds) {
  std::vector<std::string> out;
  for (auto d : ds) out.push_back(format_date(d));
  return out;
}

TEST(Policy, EveryShippedProfileDefinesEveryStandardGroup) {
  for (const char* name : {"ninth-edition", "twenty-measures", "new-ten-measures", "class-b"}) {
    auto p = load(name);
    for (const auto& key : standard_group_keys()) EXPECT_TRUE(p.groups.count(key)) << name << " " << key;
    for (const auto& key : standard_group_keys()) {
      // Every group of every profile plans without error from any start day.
      auto plan = make_plan(p, key, day("2022-12-30"));
      EXPECT_EQ(plan.group, key);
      if (plan.managed) {
        ASSERT_TRUE(plan.release_date);
        EXPECT_EQ(format_date(plan.phases.front().start), "2022-12-30");
      }
    }
  }
}

TEST(Policy, NinthEditionCloseContactIsSevenPlusThree) {
  auto plan = make_plan(load("ninth-edition"), "close_contact", day("2022-07-01"));
  ASSERT_EQ(plan.phases.size(), 2u);
  EXPECT_EQ(plan.phases[0].measure, Measure::central_quarantine);
  EXPECT_EQ(format_date(plan.phases[0].end), "2022-07-07");
  EXPECT_EQ(dates(plan.phases[0].test_dates),
            (std::vector<std::string>{"2022-07-01", "2022-07-02", "2022-07-03", "2022-07-05", "2022-07-07"}));
  EXPECT_EQ(plan.phases[1].measure, Measure::home_health_monitoring);
  EXPECT_EQ(format_date(plan.phases[1].start), "2022-07-08");
  EXPECT_EQ(dates(plan.phases[1].test_dates), (std::vector<std::string>{"2022-07-10"}));
  EXPECT_EQ(format_date(*plan.release_date), "2022-07-11");
  EXPECT_EQ(colour_on(plan, day("2022-06-30")), Colour::green);
  EXPECT_EQ(colour_on(plan, day("2022-07-07")), Colour::red);
  EXPECT_EQ(colour_on(plan, day("2022-07-08")), Colour::yellow);
  EXPECT_EQ(colour_on(plan, day("2022-07-11")), Colour::green);
}

TEST(Policy, TwentyMeasuresInheritsAndOverrides) {
  auto p = load("twenty-measures");
  EXPECT_FALSE(p.groups.at("secondary_contact").traced);
  EXPECT_FALSE(make_plan(p, "secondary_contact", day("2022-11-20")).managed);
  EXPECT_EQ(p.groups.at("inbound").pre_departure_test_hours, 48);
  // discharged_case is not redefined: it comes from ninth-edition with its source.
  EXPECT_EQ(p.groups.at("discharged_case").source, "treatment9");
  EXPECT_TRUE(p.sources.count("ninth"));
  auto plan = make_plan(p, "high_risk_area_arrival", day("2022-11-30"));
  ASSERT_EQ(plan.phases.size(), 1u);
  EXPECT_EQ(plan.phases[0].measure, Measure::home_isolation);
  EXPECT_EQ(dates(plan.phases[0].test_dates),
            (std::vector<std::string>{"2022-11-30", "2022-12-02", "2022-12-04", "2022-12-06"}));
}

TEST(Policy, NewTenMeasuresHomeFiveForCloseContacts) {
  auto p = load("new-ten-measures");
  auto plan = make_plan(p, "close_contact", day("2022-12-30"));
  ASSERT_EQ(plan.phases.size(), 1u);
  EXPECT_EQ(format_date(plan.phases[0].end), "2023-01-03");
  EXPECT_EQ(plan.release_condition, "last_test_negative");
  EXPECT_TRUE(p.groups.count("mild_case"));  // a profile may add groups
}

TEST(Policy, ClassBManagesNobody) {
  auto p = load("class-b");
  for (const auto& key : standard_group_keys()) EXPECT_FALSE(make_plan(p, key, day("2023-01-08")).managed) << key;
}

TEST(Policy, ErrorsNameLineAndKey) {
  const char* text =
      "schema: 1\n"
      "name: broken\n"
      "title: t\n"
      "issued: 2022-06-28\n"
      "sources: {s: x}\n"
      "groups:\n"
      "  inbound:\n"
      "    name_zh: 入境\n"
      "    source: s\n"
      "    confidence: V\n"
      "    phases:\n"
      "      - {measure: central_quarantine, days: 0, colour: red}\n";
  try {
    parse_profile(text, "broken");
    FAIL() << "accepted days: 0";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "groups.inbound.phases[0].days");
    EXPECT_EQ(std::string(e.what()).rfind("line 12: ", 0), 0u) << e.what();
  }
  std::string bad_colour = std::string(text);
  bad_colour.replace(bad_colour.find("days: 0"), 7, "days: 3");
  bad_colour.replace(bad_colour.find("colour: red"), 11, "colour: blue");
  try {
    parse_profile(bad_colour, "broken");
    FAIL() << "accepted colour blue";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "groups.inbound.phases[0].colour");
    EXPECT_NE(std::string(e.what()).find("allowed: green, yellow, red"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_profile("schema: 1\nname: [unclosed\n", "x"), Error);
  try {
    parse_profile("schema: 1\nname: x\ntitle: t\nissued: 2022-06-28\ngroups: {}\nextra: 1\n", "x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "extra");
    EXPECT_EQ(std::string(e.what()).rfind("line 6: ", 0), 0u) << e.what();
  }
  // A profile missing a standard group fails validation by name.
  auto p = parse_profile("schema: 1\nname: x\ntitle: t\nissued: 2022-06-28\ngroups: {}\n", "x");
  try {
    validate(p);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "groups.inbound");
  }
}

// Found by fuzz/policy_fuzz: a key that is a mapping or a list made yaml-cpp throw its own
// exception out of parse_profile (`bihuan policy check` / serve died on it).
TEST(Policy, KeysThatAreNotTextAreErrors) {
  const char* cases[] = {
      "{a: b}: 1\n",
      "schema: 1\nname: x\ntitle: t\nissued: 2022-06-28\nsources: {[s]: x}\ngroups: {}\n",
      "schema: 1\nname: x\ntitle: t\nissued: 2022-06-28\ngroups: {{g: 1}: {}}\n",
      "schema: 1\nname: x\ntitle: t\nissued: 2022-06-28\ngroups: {}\nroutine_testing: {[r]: {}}\n",
      "schema: 1\nname: x\ntitle: t\nissued: 2022-06-28\ngroups:\n  inbound:\n    {x: 1}: 2\n",
      "&l {{}}_",
  };
  for (const char* text : cases) {
    try {
      parse_profile(text, "x");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << text;
    }
  }
  try {
    parse_profile("schema: 1\nname: x\ntitle: t\nissued: 2022-06-28\ngroups: {{g: 1}: {}}\n", "x");
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "groups");
    EXPECT_EQ(std::string(e.what()).rfind("line 5: ", 0), 0u) << e.what();
  }
}

// Found by fuzz/policy_fuzz: a profile that is not UTF-8 (a GBK-saved file, say) parsed, and its
// names then broke the JSON of every plan made from it (plan_to_json threw).
TEST(Policy, ProfilesMustBeUtf8) {
  for (const std::string bad : {"\xff", "\xc0\xaf", "\xe4\xba", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    const std::string text = "schema: 1\nname: x\ntitle: t" + bad + "\nissued: 2022-06-28\ngroups: {}\n";
    try {
      parse_profile(text, "x");
      ADD_FAILURE() << "accepted a title with bytes " << ::testing::PrintToString(bad);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      EXPECT_EQ(std::string(e.what()).rfind("line 3: the profile is not UTF-8 text", 0), 0u) << e.what();
    }
  }
  EXPECT_EQ(parse_profile("schema: 1\nname: x\ntitle: 测试𝄞\nissued: 2022-06-28\ngroups: {}\n", "x").title, "测试𝄞");
  // A NUL byte inside a value: yaml-cpp decoded the rest of the line into bytes that are not UTF-8.
  const std::string nul = std::string("schema: 1\nname: cla%") + '\0' + "NNv\ntitle: t\nissued: 2022-06-28\ngroups: {}\n";
  try {
    parse_profile(nul, "");
    ADD_FAILURE() << "accepted a NUL byte";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("line 2: the profile is not UTF-8 text", 0), 0u) << e.what();
  }
}

TEST(Policy, TestDaysMustFallInsideThePhase) {
  const char* text =
      "schema: 1\nname: x\ntitle: t\nissued: 2022-06-28\nsources: {s: x}\ngroups:\n"
      "  inbound:\n    name_zh: a\n    source: s\n    confidence: V\n    phases:\n"
      "      - {measure: central_quarantine, days: 5, test_days: [1, 7], colour: red}\n";
  try {
    parse_profile(text, "x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "groups.inbound.phases[0].test_days[1]");
  }
}

}  // namespace
}  // namespace bihuan::policy
