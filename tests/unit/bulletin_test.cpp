// The daily bulletin's counting rules (core/bulletin): what counts on which day, the end-of-day
// figures, the notices of new local cases, the text in both languages and the errata diff.
#include <gtest/gtest.h>

#include "core/bulletin.hpp"

namespace bihuan::bulletin {
namespace {

Date d(const char* s) { return *parse_date(s); }

CaseFact fact(std::int64_t id, const char* cls, const char* report, const char* district = "110105") {
  CaseFact k;
  k.id = id;
  k.classification = cls;
  k.report_day = d(report);
  k.district = district;
  k.district_name = std::string(district) == "110105" ? "朝阳区" : "丰台区";
  k.residence = k.district_name + "建外街道建外社区第1网格";
  k.sex = "female";
  k.birth_date = d("1990-05-01");
  return k;
}

TEST(Bulletin, CountsEachCaseOnTheDayTheNationalBulletinCountsIt) {
  std::vector<CaseFact> cs;
  cs.push_back(fact(1, "confirmed", "2022-05-10"));                // new local confirmed
  auto converted = fact(2, "confirmed", "2022-05-09");             // asymptomatic yesterday,
  converted.converted_day = d("2022-05-10");                       // confirmed today
  cs.push_back(converted);
  cs.push_back(fact(3, "asymptomatic", "2022-05-10", "110106"));   // new local asymptomatic
  auto imported = fact(4, "confirmed", "2022-05-10");
  imported.origin = "imported";
  imported.origin_place = "俄罗斯";
  cs.push_back(imported);
  auto recovered = fact(5, "confirmed", "2022-05-07");
  recovered.closed_day = d("2022-05-10");
  recovered.outcome = "recovered";
  cs.push_back(recovered);
  auto severe = fact(6, "clinical", "2022-05-08");
  severe.severity = "critical";
  cs.push_back(severe);
  auto died = fact(7, "confirmed", "2022-05-05");
  died.death_day = d("2022-05-10");
  died.closed_day = d("2022-05-10");
  died.outcome = "died";
  cs.push_back(died);
  auto released = fact(8, "asymptomatic", "2022-05-02");
  released.closed_day = d("2022-05-10");
  released.outcome = "recovered";
  cs.push_back(released);
  auto excluded = fact(9, "confirmed", "2022-05-10");
  excluded.outcome = "excluded";
  excluded.closed_day = d("2022-05-10");
  cs.push_back(excluded);
  cs.push_back(fact(10, "suspected", "2022-05-10"));
  cs.push_back(fact(11, "confirmed", "2022-05-11"));  // tomorrow: not yet

  const auto f = count(cs, d("2022-05-10"), ContactFacts{12, 3, 40});
  EXPECT_EQ(f.confirmed, 3);  // 1, 2 (converted), 4
  EXPECT_EQ(f.confirmed_local, 2);
  EXPECT_EQ(f.confirmed_imported, 1);
  EXPECT_EQ(f.confirmed_converted, 1);
  EXPECT_EQ(f.asymptomatic, 1);  // 3 (2 counted as asymptomatic yesterday)
  EXPECT_EQ(f.asymptomatic_local, 1);
  EXPECT_EQ(f.recovered, 1);
  EXPECT_EQ(f.asymptomatic_released, 1);
  EXPECT_EQ(f.deaths, 1);
  EXPECT_EQ(f.contacts_traced, 12);
  EXPECT_EQ(f.contacts_released, 3);
  EXPECT_EQ(f.contacts_under_observation, 40);
  // End of the day: 1, 2, 4, 6 under treatment (5 recovered, 7 died), one of them critical.
  EXPECT_EQ(f.under_treatment, 4);
  EXPECT_EQ(f.severe, 1);
  EXPECT_EQ(f.asymptomatic_under_observation, 1);  // 3
  EXPECT_EQ(f.total_confirmed, 6);                  // 1, 2, 4, 5, 6, 7
  EXPECT_EQ(f.total_asymptomatic, 3);               // 2, 3, 8
  EXPECT_EQ(f.total_recovered, 1);
  EXPECT_EQ(f.total_deaths, 1);
  ASSERT_EQ(f.imported_by_origin.size(), 1u);
  EXPECT_EQ(f.imported_by_origin[0].name, "俄罗斯");
  ASSERT_EQ(f.local_by_district.size(), 2u);
  EXPECT_EQ(f.local_by_district[0].name, "朝阳区");
  EXPECT_EQ(f.local_by_district[0].confirmed, 2);
  EXPECT_EQ(f.local_by_district[1].name, "丰台区");
  EXPECT_EQ(f.local_by_district[1].asymptomatic, 1);

  // The day before: case 2 was a new asymptomatic infection, and nothing of the 10th shows.
  const auto before = count(cs, d("2022-05-09"), {});
  EXPECT_EQ(before.confirmed, 0);
  EXPECT_EQ(before.asymptomatic, 1);
  EXPECT_EQ(before.under_treatment, 3);  // 5, 6, 7
  EXPECT_EQ(before.asymptomatic_under_observation, 2);  // 2, 8
}

TEST(Bulletin, NoticesNameSexAgeResidenceHowFoundAndLinks) {
  std::vector<CaseFact> cs;
  auto a = fact(21, "confirmed", "2022-05-10");
  a.found_by = "round_screening";
  a.infectors = {5, 7};
  cs.push_back(a);
  auto b = fact(22, "asymptomatic", "2022-05-10");
  b.sex = "male";
  b.birth_date.reset();
  cs.push_back(b);
  auto conv = fact(23, "confirmed", "2022-05-08");
  conv.converted_day = d("2022-05-10");
  cs.push_back(conv);
  auto imp = fact(24, "confirmed", "2022-05-10");
  imp.origin = "imported";
  cs.push_back(imp);
  const auto ns = notices(cs, d("2022-05-10"));
  ASSERT_EQ(ns.size(), 3u);  // imported cases have no local notice
  EXPECT_EQ(ns[0].case_id, 21);
  EXPECT_EQ(ns[0].kind, "confirmed");
  EXPECT_EQ(ns[0].text_zh,
            "本土确诊病例1（编号21）：女，32岁，现住朝阳区建外街道建外社区第1网格，在区域核酸筛查中发现，与此前报告的病例（编号5、7）有关联。");
  EXPECT_NE(ns[0].text_en.find("female, 32 years"), std::string::npos) << ns[0].text_en;
  EXPECT_NE(ns[0].text_en.find("linked to earlier cases no. 5, 7"), std::string::npos) << ns[0].text_en;
  EXPECT_EQ(ns[1].kind, "asymptomatic");
  EXPECT_EQ(ns[1].text_zh, "本土无症状感染者2（编号22）：男，现住朝阳区建外街道建外社区第1网格。");
  EXPECT_EQ(ns[2].kind, "converted");
  EXPECT_NE(ns[2].text_zh.find("转为确诊病例"), std::string::npos);
}

TEST(Bulletin, TextFollowsTheNationalShapeInBothLanguages) {
  std::vector<CaseFact> cs{fact(1, "confirmed", "2022-05-10"), fact(2, "asymptomatic", "2022-05-10", "110106")};
  const auto f = count(cs, d("2022-05-10"), ContactFacts{5, 0, 9});
  const auto ns = notices(cs, d("2022-05-10"));
  const auto zh = text(f, ns, d("2022-05-10"), "北京市", false);
  EXPECT_EQ(zh.rfind("5月10日0—24时，北京市新增确诊病例1例，其中境外输入病例0例，本土病例1例（朝阳区1例）；"
                     "新增无症状感染者1例，其中境外输入0例，本土1例（丰台区1例）。",
                     0),
            0u)
      << zh;
  EXPECT_NE(zh.find("尚在医学观察的密切接触者9人"), std::string::npos);
  EXPECT_NE(zh.find("\n\n病例情况：\n本土确诊病例1"), std::string::npos);
  const auto en = text(f, ns, d("2022-05-10"), "Beijing", true);
  EXPECT_EQ(en.rfind("From 0:00 to 24:00 on May 10, Beijing reported 1 new confirmed case: 0 imported and 1 local (1 in 朝阳区)", 0), 0u) << en;
  // A day without cases still says so.
  const auto none = text(count({}, d("2022-05-11"), {}), {}, d("2022-05-11"), "北京市", false);
  EXPECT_EQ(none.rfind("5月11日0—24时，北京市新增确诊病例0例；新增无症状感染者0例。", 0), 0u) << none;
}

TEST(Bulletin, DiffListsEveryChangedFigure) {
  Figures a, b;
  a.confirmed = 3;
  b.confirmed = 4;
  a.total_confirmed = b.total_confirmed = 10;
  b.deaths = 1;
  const auto ch = diff(a, b);
  ASSERT_EQ(ch.size(), 2u);
  EXPECT_EQ(ch[0].field, "confirmed");
  EXPECT_EQ(ch[0].old_value, 3);
  EXPECT_EQ(ch[0].new_value, 4);
  EXPECT_EQ(ch[1].field, "deaths");
  EXPECT_TRUE(diff(a, a).empty());
  EXPECT_EQ(label_zh("confirmed"), "新增确诊病例");
}

}  // namespace
}  // namespace bihuan::bulletin
