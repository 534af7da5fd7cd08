// Emergency-response rules: playbooks and levels as data (every shipped file parses; each kind of
// bad file is refused with its line and key), who may declare a level, task clocks, escalation
// and which cases start a playbook.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/response.hpp"

namespace bihuan::response {
namespace {

using namespace std::chrono_literals;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string error_of(const std::string& yaml) {
  try {
    parse_playbook(yaml, "test.yaml");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << yaml;
  return {};
}

const char* kHead = R"(schema: 1
id: t
title: 测试
sources: {s: "a source"}
trigger: {kind: local_case, source: s}
)";

TEST(Response, ShippedPlaybooksAndLevelsParse) {
  const std::filesystem::path dir = std::string(BIHUAN_SOURCE_DIR) + "/playbooks";
  auto levels = parse_levels(slurp(dir / "levels.yaml"), "levels.yaml");
  ASSERT_GE(levels.size(), 4u);
  EXPECT_EQ(levels[0].id, "I");
  EXPECT_EQ(levels[0].declared_at, AreaLevel::province);
  EXPECT_EQ(levels[3].id, "IV");
  EXPECT_EQ(levels[3].declared_at, AreaLevel::county);
  std::vector<Playbook> books;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".yaml" && e.path().filename() != "levels.yaml")
      books.push_back(parse_playbook(slurp(e.path()), e.path().filename().string()));
  ASSERT_GE(books.size(), 4u);
  EXPECT_NO_THROW(check_playbooks(books, levels));
  // The first-24-hours clocks of a local case: on site 2 h, core investigation 4 h, risk areas
  // 5 h, everyone at risk under control 24 h.
  auto local = std::find_if(books.begin(), books.end(), [](const Playbook& p) { return p.id == "local-case"; });
  ASSERT_NE(local, books.end());
  EXPECT_EQ(local->trigger.kind, TriggerKind::local_case);
  std::map<std::string, int> due;
  for (const auto& t : local->tasks) due[t.key] = t.due_minutes;
  EXPECT_EQ(due["on_site"], 120);
  EXPECT_EQ(due["core_investigation"], 240);
  EXPECT_EQ(due["risk_areas"], 300);
  EXPECT_EQ(due["contacts_controlled"], 24 * 60);
}

TEST(Response, BadPlaybooksAreRefusedWithLineAndKey) {
  auto task = [](const std::string& body) { return std::string(kHead) + "tasks:\n" + body; };
  EXPECT_NE(error_of(task("  - {key: a, title: A, owner: nurse, due_hours: 2, source: s, confidence: V}\n"))
                .find("tasks[0].owner: unknown role 'nurse'"),
            std::string::npos);
  const auto cycle = error_of(task(
      "  - {key: a, title: A, owner: investigator, due_hours: 2, after: [b], source: s, confidence: V}\n"
      "  - {key: b, title: B, owner: investigator, due_hours: 2, after: [a], source: s, confidence: V}\n"));
  EXPECT_NE(cycle.find("cycle: a -> b -> a"), std::string::npos) << cycle;
  EXPECT_NE(error_of(task("  - {key: a, title: A, owner: investigator, due_hours: 2, after: [zz], source: s, confidence: V}\n"))
                .find("unknown task 'zz'"),
            std::string::npos);
  EXPECT_NE(error_of(task("  - {key: a, title: A, owner: investigator, due_hours: 2, source: s, confidence: V}\n"
                          "  - {key: a, title: B, owner: investigator, due_hours: 3, source: s, confidence: V}\n"))
                .find("duplicate task key 'a'"),
            std::string::npos);
  EXPECT_NE(error_of(task("  - {key: a, title: A, owner: investigator, due_hours: 5, source: s, confidence: V}\n"
                          "  - {key: b, title: B, owner: investigator, due_hours: 2, after: [a], source: s, confidence: V}\n"))
                .find("due before task 'a'"),
            std::string::npos);
  EXPECT_NE(error_of(task("  - {key: a, title: A, owner: investigator, due_hours: 2, source: nope, confidence: V}\n"))
                .find("unknown source 'nope'"),
            std::string::npos);
  EXPECT_NE(error_of(task("  - {key: a, title: A, owner: investigator, source: s, confidence: V}\n")).find("due_hours"),
            std::string::npos);
  EXPECT_NE(error_of(task("  - {key: a, title: A, owner: investigator, due_hours: 0, source: s, confidence: V}\n"))
                .find("between 1 and 720"),
            std::string::npos);
  EXPECT_NE(error_of(task("  - {key: a, title: A, owner: auditor, due_hours: 2, source: s, confidence: V}\n"))
                .find("does not take response tasks"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kHead) + "tasks: []\n").find("non-empty list"), std::string::npos);
  EXPECT_NE(error_of("schema: 1\nid: t\ntitle: x\nsources: {s: a}\ntrigger: {kind: rumour, source: s}\ntasks: []\n")
                .find("unknown trigger 'rumour'"),
            std::string::npos);
  const auto syntax = error_of("schema: 1\nid: [unclosed\n");
  EXPECT_NE(syntax.find("test.yaml: line"), std::string::npos) << syntax;
  EXPECT_NE(error_of(task("  - {key: a, title: A, owner: investigator, due_hours: 2, source: s, confidence: V, colour: red}\n"))
                .find("tasks[0].colour: unknown key"),
            std::string::npos);
  // A playbook naming a level that does not exist.
  auto p = parse_playbook(std::string(kHead) + "level: V\ntasks:\n  - {key: a, title: A, owner: investigator, due_hours: 2, source: s, confidence: V}\n",
                          "x.yaml");
  std::vector<Level> levels(1);
  levels[0].id = "IV";
  EXPECT_THROW(check_playbooks({p}, levels), Error);
  EXPECT_THROW(check_playbooks({p, p}, {}), Error);
}

TEST(Response, WhoMayDeclareALevel) {
  Level iv;
  iv.id = "IV";
  iv.declared_at = AreaLevel::county;
  Level iii;
  iii.id = "III";
  iii.declared_at = AreaLevel::city;
  Caller district;
  district.role = Role::command_centre;
  district.scope = Scope::area("110105");
  EXPECT_EQ(declare_refusal(iv, district, "110105"), "");
  EXPECT_NE(declare_refusal(iv, district, "110106").find("outside"), std::string::npos);
  EXPECT_NE(declare_refusal(iii, district, "1101").find("outside"), std::string::npos);
  EXPECT_NE(declare_refusal(iv, district, "1101").find("declared over a county"), std::string::npos);
  EXPECT_NE(declare_refusal(iv, district, "110105001").find("declared over a county"), std::string::npos);
  Caller city = district;
  city.scope = Scope::area("1101");
  EXPECT_EQ(declare_refusal(iii, city, "1101"), "");
  EXPECT_EQ(declare_refusal(iv, city, "110106"), "");
  Caller grid;
  grid.role = Role::grid_worker;
  grid.scope = Scope::area("110105");
  EXPECT_NE(declare_refusal(iv, grid, "110105").find("does not manage"), std::string::npos);
  EXPECT_EQ(declare_refusal(iii, Caller::local("cli"), "1101"), "");
}

TEST(Response, ClocksAndEscalation) {
  TaskTemplate t;
  t.due_minutes = 120;
  const Instant start = *parse_instant("2022-04-04T01:00:00Z");
  const Instant due = due_at(t, start);
  EXPECT_EQ(due, *parse_instant("2022-04-04T03:00:00Z"));
  EXPECT_EQ(escalation_level_at(due, due - 1s, 60min), 0);
  EXPECT_EQ(escalation_level_at(due, due, 60min), 1);
  EXPECT_EQ(escalation_level_at(due, due + 59min, 60min), 1);
  EXPECT_EQ(escalation_level_at(due, due + 60min, 60min), 2);
  EXPECT_EQ(escalation_level_at(due, due + 120min, 60min), 3);
  EXPECT_EQ(escalation_level_at(due, due + 100h, 60min), 3);
  EXPECT_EQ(waiting_for({"a", "b"}, {"b"}), std::vector<std::string>{"a"});
  EXPECT_TRUE(waiting_for({"a"}, {"a", "c"}).empty());
}

TEST(Response, WhichCasesStartAPlaybook) {
  Trigger t;
  t.kind = TriggerKind::local_case;
  EXPECT_TRUE(case_triggers(t, "local", "confirmed", "clinic"));
  EXPECT_TRUE(case_triggers(t, "local", "asymptomatic", "round_screening"));
  EXPECT_TRUE(case_triggers(t, "local", "confirmed", ""));  // not yet known: the community
  EXPECT_FALSE(case_triggers(t, "imported", "confirmed", "clinic"));
  EXPECT_FALSE(case_triggers(t, "local", "suspected", "clinic"));
  EXPECT_FALSE(case_triggers(t, "local", "", "clinic"));          // opened by hand, not yet classified
  EXPECT_TRUE(case_triggers(t, "local", "", "", "lab"));          // a positive tube opened it
  EXPECT_FALSE(case_triggers(t, "local", "suspected", "", "lab"));
  EXPECT_FALSE(case_triggers(t, "local", "confirmed", "central_quarantine"));
  EXPECT_FALSE(case_triggers(t, "local", "confirmed", "home_isolation"));
  EXPECT_FALSE(case_triggers(t, "local", "confirmed", "closed_loop_work"));
  t.inside_control_counts = true;
  EXPECT_TRUE(case_triggers(t, "local", "confirmed", "central_quarantine"));
}

TEST(Response, SituationTextCarriesTheFigures) {
  Situation s;
  s.area_code = "110105";
  s.area_name = "朝阳区";
  s.event_title = "本土病例应急处置";
  s.started_at = *parse_instant("2022-04-04T01:00:00Z");
  s.at = *parse_instant("2022-04-04T09:00:00Z");
  s.cases = 7;
  s.found_inside_control = 5;
  s.found_in_community = 2;
  s.contacts_controlled = 41;
  s.tasks_overdue = 1;
  LocalTime l;
  const auto zh = situation_text(s, l);
  EXPECT_NE(zh.find("累计 7 例"), std::string::npos) << zh;
  EXPECT_NE(zh.find("管控内发现 5 例，社会面发现 2 例"), std::string::npos) << zh;
  EXPECT_NE(zh.find("已管控 41 人"), std::string::npos) << zh;
  EXPECT_NE(zh.find("2022-04-04T17:00:00+08:00"), std::string::npos) << zh;
  const auto en = situation_text(s, l, true);
  EXPECT_NE(en.find("Cases: 7"), std::string::npos) << en;
  EXPECT_NE(en.find("1 overdue"), std::string::npos) << en;
}

}  // namespace
}  // namespace bihuan::response
