// Early warning, vaccination and capacity on SQLite and, when BIHUAN_TEST_PG is set,
// PostgreSQL: feeds ingested all or nothing with errors naming row, field and reason; the
// series with its baseline; rules per area; the pass raising, updating and closing signals and
// opening (or joining) an early_warning event through src/response; the immunisation register
// matched to the registry with unmatched rows reported; coverage by age band; the list of the
// elderly not fully vaccinated; capacity; and the jurisdiction (outside = does not exist).
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/error.hpp"
#include "gen/surveillance.hpp"
#include "loop/backend.hpp"
#include "response/service.hpp"
#include "store/repository.hpp"
#include "store/response_repository.hpp"
#include "warning/service.hpp"

namespace bihuan::warningtest {

using looptest::area;
using looptest::code_of;
using looptest::resident_id;

Instant at(const std::string& s) { return *parse_instant(s); }
Date day(const std::string& s) { return *parse_date(s); }
std::string plus(const std::string& d, int n) {
  return format_date(Date(std::chrono::sys_days(day(d)) + std::chrono::days(n)));
}

class WarningService : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kGridA = "110105001001001";
  static constexpr const char* kGridB = "110105001001002";
  static constexpr const char* kOther = "110106001001001";

  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas({area("11", "北京市"), area("1101", "市辖区"), area("110105", "朝阳区"),
                         area("110105001", "建外街道"), area("110105001001", "建外社区"), area(kGridA, "第1网格"),
                         area(kGridB, "第2网格"), area("110106", "丰台区"), area("110106001", "街道"),
                         area("110106001001", "社区"), area(kOther, "网格")});
    std::vector<Org> orgs(3);
    orgs[0] = {0, "HOSP-A", "朝阳医院", OrgKind::hospital, "110105001", "", ""};
    orgs[1] = {0, "SCHOOL-A", "建外小学", OrgKind::school, "110105001", "", ""};
    orgs[2] = {0, "HOSP-F", "丰台医院", OrgKind::hospital, "110106001", "", ""};
    repo_->upsert_orgs(orgs);
    hospital_ = orgs[0].id;
    school_ = orgs[1].id;
    // Persons: aged 70 (grid A, two), 85 (grid B), 30 (grid A), 65 (the other district).
    struct P {
      const char* grid;
      const char* birth;
    } ps[] = {{kGridA, "19520301"}, {kGridA, "19520302"}, {kGridB, "19370101"}, {kGridA, "19920101"}, {kOther, "19570101"}};
    for (int i = 0; i < 5; ++i) {
      Person p;
      p.doc_number = resident_id("110105", ps[i].birth, i + 1);
      const std::string b = ps[i].birth;
      p.birth_date = day(b.substr(0, 4) + "-" + b.substr(4, 2) + "-" + b.substr(6, 2));
      p.name = "居民" + std::to_string(i + 1);
      p.area_code = ps[i].grid;
      persons_.push_back(p);
    }
    repo_->upsert_persons(persons_);
    centre_.user_id = 2;
    centre_.username = "centre";
    centre_.role = Role::command_centre;
    centre_.scope = Scope::area("110105");
    other_ = centre_;
    other_.username = "fengtai";
    other_.scope = Scope::area("110106");
    investigator_ = centre_;
    investigator_.role = Role::investigator;
    grid_ = centre_;
    grid_.role = Role::grid_worker;
    grid_.scope = Scope::area(kGridA);
  }

  warning::Service svc() { return warning::Service(*repo_, clock_, LocalTime{}); }

  // Five weeks of fever-clinic visits in grid A up to `last` (10 a day, 14 on Mondays), the last
  // `rise` days at `high`.
  std::string history(const std::string& last, int rise, int high) {
    std::string csv = "date,site,site_name,area_code,count\n";
    for (int i = 34; i >= 0; --i) {
      const std::string d = plus(last, -i);
      const int wd = static_cast<int>(std::chrono::weekday(std::chrono::sys_days(day(d))).c_encoding());
      const int n = i < rise ? high : (wd == 1 ? 14 : 10);
      csv += d + ",C1,发热门诊一," + kGridA + "," + std::to_string(n) + "\n";
    }
    return csv;
  }

  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> repo_;
  ManualClock clock_{at("2022-11-20T04:00:00Z")};  // 12:00 local, 2022-11-20
  std::vector<Person> persons_;
  std::int64_t hospital_ = 0, school_ = 0;
  Caller centre_, other_, investigator_, grid_;
};

TEST_P(WarningService, AFeedFileIsAllOrNothingWithErrorsNamingRowFieldAndReason) {
  auto s = svc();
  const std::string bad = std::string("date,site,area_code,count\n") + "2022-11-18,C1," + kGridA + ",12\n" +
                          "2022-11-19,C1," + kGridA + ",many\n" + "2022-11-31,C1," + kGridA + ",3\n" + "2022-11-19,C2," +
                          kOther + ",3\n" + "2022-11-25,C1," + kGridA + ",3\n" + "2022-11-18,C1," + kGridA + ",5\n";
  auto rep = s.ingest_feed(warning::Feed::fever_clinic, bad, "", centre_);
  EXPECT_FALSE(rep.committed);
  EXPECT_EQ(rep.accepted, 0);
  ASSERT_EQ(rep.error_count, 5) << rep.errors.size();
  EXPECT_EQ(rep.errors[0].row, 3);
  EXPECT_EQ(rep.errors[0].field, "count");
  EXPECT_EQ(rep.errors[1].field, "date");
  EXPECT_EQ(rep.errors[2].field, "area_code");  // another district: outside the caller's area
  EXPECT_NE(rep.errors[2].reason.find("jurisdiction"), std::string::npos);
  EXPECT_NE(rep.errors[3].reason.find("future"), std::string::npos);
  EXPECT_NE(rep.errors[4].reason.find("row 2"), std::string::npos);  // the same site and day twice
  // Nothing was written.
  auto series = s.series(warning::Feed::fever_clinic, "", day("2022-11-14"), day("2022-11-20"), "", centre_);
  for (const auto& p : series.points) EXPECT_FALSE(p.observed);
  // A file whose header is wrong fails as a whole, naming the column.
  std::string msg, field;
  EXPECT_EQ(code_of([&] { s.ingest_feed(warning::Feed::fever_clinic, "date,site,colour\n", "csv", centre_); }, &msg, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "colour");
  EXPECT_EQ(code_of([&] { s.ingest_feed(warning::Feed::pharmacy, "{\"rows\": 3}", "", centre_); }),
            ErrorCode::invalid_argument);
  // JSON rows; reasons only in the school feed.
  const std::string js = std::string("[{\"date\":\"2022-11-19\",\"site\":\"S1\",\"area_code\":\"") + kGridA +
                         "\",\"count\":4,\"reason\":\"fever\"}]";
  rep = s.ingest_feed(warning::Feed::pharmacy, js, "", centre_);
  ASSERT_EQ(rep.error_count, 1);
  EXPECT_EQ(rep.errors[0].row, 1);
  EXPECT_EQ(rep.errors[0].field, "reason");
  rep = s.ingest_feed(warning::Feed::school, js, "", centre_);
  EXPECT_TRUE(rep.committed);
  EXPECT_EQ(rep.accepted, 1);
  // Who reports: not a grid worker; a school account for itself only; a hospital not the school feed.
  EXPECT_EQ(code_of([&] { s.ingest_feed(warning::Feed::school, js, "", grid_); }), ErrorCode::permission_denied);
  Caller school;
  school.role = Role::enterprise;
  school.scope = Scope::org(school_);
  rep = s.ingest_feed(warning::Feed::school, "date,count,reason\n2022-11-19,7,fever\n", "", school);
  ASSERT_TRUE(rep.committed) << (rep.errors.empty() ? "" : rep.errors[0].reason);
  rep = s.ingest_feed(warning::Feed::school, "date,site,count\n2022-11-19,OTHER,7\n", "", school);
  ASSERT_EQ(rep.error_count, 1);
  EXPECT_EQ(rep.errors[0].field, "site");
  Caller hosp;
  hosp.role = Role::hospital;
  hosp.scope = Scope::org(hospital_);
  EXPECT_EQ(code_of([&] { s.ingest_feed(warning::Feed::school, "date,count\n2022-11-19,7\n", "", hosp); }),
            ErrorCode::permission_denied);
  // The school series sums the sites; by reason on request.
  series = s.series(warning::Feed::school, "", day("2022-11-19"), day("2022-11-19"), "", centre_);
  ASSERT_EQ(series.points.size(), 1u);
  EXPECT_EQ(series.points[0].observed, 11);
  series = s.series(warning::Feed::school, "110105", day("2022-11-19"), day("2022-11-19"), "fever", centre_);
  EXPECT_EQ(series.points[0].observed, 11);
}

TEST_P(WarningService, ASignalOpensAnEventAndClosesWhenTheRiseEnds) {
  response::Library lib(std::string(BIHUAN_SOURCE_DIR) + "/playbooks");
  response::Service resp(*repo_, lib, clock_, std::chrono::minutes(60), LocalTime{});
  auto s = svc();
  ASSERT_TRUE(s.ingest_feed(warning::Feed::fever_clinic, history("2022-11-19", 0, 0), "", centre_).committed);
  auto sw = s.sweep(clock_.now(), &resp);
  EXPECT_EQ(sw.opened, 0);
  // Two days far above the baseline.
  ASSERT_TRUE(s.ingest_feed(warning::Feed::fever_clinic, history("2022-11-20", 2, 60), "", centre_).committed);
  auto series = s.series(warning::Feed::fever_clinic, "110105", std::nullopt, std::nullopt, "", centre_);
  ASSERT_FALSE(series.points.empty());
  EXPECT_TRUE(series.points.back().exceeded);
  EXPECT_EQ(series.rule_area, "default");
  sw = s.sweep(clock_.now(), &resp);
  ASSERT_EQ(sw.opened, 1);
  ASSERT_EQ(sw.events.size(), 1u);
  auto list = s.signals("open", store::Page{0, 10}, investigator_).items;
  ASSERT_EQ(list.size(), 1u);
  const auto sig = list[0].row;
  EXPECT_EQ(sig.area_code, "110105");
  EXPECT_EQ(sig.feed, "fever_clinic");
  EXPECT_EQ(sig.since, "2022-11-19");
  EXPECT_EQ(sig.last_day, "2022-11-20");
  EXPECT_EQ(sig.observed, 60);
  EXPECT_GT(sig.threshold, sig.expected);
  EXPECT_EQ(sig.event_id, sw.events[0]);
  auto ev = resp.event(sig.event_id, centre_);
  EXPECT_EQ(ev.event.playbook, "early-warning");
  EXPECT_EQ(ev.event.area_code, "110105");
  EXPECT_EQ(ev.triggers, std::vector<std::string>{"signal:" + std::to_string(sig.id)});
  // The same pass again changes nothing and starts nothing.
  sw = s.sweep(clock_.now(), &resp);
  EXPECT_EQ(sw.opened + sw.updated + sw.closed, 0);
  // Outside the district the signal does not exist.
  EXPECT_TRUE(s.signals("", store::Page{0, 10}, other_).items.empty());
  EXPECT_EQ(code_of([&] { s.signal(sig.id, other_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { s.signal(sig.id, grid_); }), ErrorCode::permission_denied);  // no analytics.read
  EXPECT_EQ(s.signal(sig.id, centre_).row.id, sig.id);
  // Back to normal the next day: the signal closes.
  clock_.advance(std::chrono::hours(24));
  ASSERT_TRUE(s.ingest_feed(warning::Feed::fever_clinic,
                            "date,site,area_code,count\n2022-11-21,C1," + std::string(kGridA) + ",10\n", "", centre_)
                  .committed);
  sw = s.sweep(clock_.now(), &resp);
  EXPECT_EQ(sw.closed, 1);
  EXPECT_EQ(s.signal(sig.id, centre_).row.status, "closed");
  // A new rise two days later is a new signal that joins the open event.
  clock_.advance(std::chrono::hours(24));
  ASSERT_TRUE(s.ingest_feed(warning::Feed::fever_clinic,
                            "date,site,area_code,count\n2022-11-22,C1," + std::string(kGridA) + ",80\n", "", centre_)
                  .committed);
  sw = s.sweep(clock_.now(), &resp);
  EXPECT_EQ(sw.opened, 1);
  ASSERT_EQ(sw.events.size(), 1u);
  EXPECT_EQ(sw.events[0], sig.event_id);
  EXPECT_EQ(resp.event(sig.event_id, centre_).triggers.size(), 2u);
}

TEST_P(WarningService, RulesPerAreaAreSetByResponseManagersInsideTheirArea) {
  auto s = svc();
  warning::Rule r;
  r.k = 10;
  r.min_count = 100;
  EXPECT_EQ(code_of([&] { s.put_rule(warning::Feed::fever_clinic, "110105", r, investigator_); }),
            ErrorCode::permission_denied);
  EXPECT_EQ(code_of([&] { s.put_rule(warning::Feed::fever_clinic, "110106", r, centre_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { s.put_rule(warning::Feed::fever_clinic, "", r, centre_); }), ErrorCode::not_found);
  r.weeks = 20;
  std::string msg, field;
  EXPECT_EQ(code_of([&] { s.put_rule(warning::Feed::fever_clinic, "110105", r, centre_); }, &msg, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "weeks");
  r.weeks = 4;
  s.put_rule(warning::Feed::fever_clinic, "110105", r, centre_);
  std::string from;
  EXPECT_EQ(s.rule_for(warning::Feed::fever_clinic, kGridA, &from).k, 10);
  EXPECT_EQ(from, "110105");
  EXPECT_EQ(s.rule_for(warning::Feed::pharmacy, kGridA).k, 3);
  EXPECT_EQ(s.rules(centre_).size(), 1u);
  EXPECT_TRUE(s.rules(other_).empty());
  // With the stricter rule the same rise raises nothing.
  ASSERT_TRUE(s.ingest_feed(warning::Feed::fever_clinic, history("2022-11-20", 2, 60), "", centre_).committed);
  EXPECT_EQ(s.sweep(clock_.now(), nullptr).opened, 0);
}

TEST_P(WarningService, VaccinationImportMatchesTheRegistryAndReportsTheRest) {
  auto s = svc();
  const std::string a1 = persons_[0].doc_number, a2 = persons_[1].doc_number, b = persons_[2].doc_number,
                    young = persons_[3].doc_number, outside = persons_[4].doc_number;
  const std::string unknown = resident_id("110105", "19500101", 99);
  std::string csv = "身份证号,剂次,接种日期,疫苗\n";
  csv += a1 + ",1,2021-04-01,科兴\n" + a1 + ",2,2021-05-01,科兴\n" + a1 + ",3,2021-11-01,科兴\n";
  csv += a2 + ",1,2021-04-01,bbibp\n";
  csv += b + ",1,2021-06-01,ad5\n";
  csv += young + ",1,2021-04-01,zf2001\n" + young + ",2,2021-05-01,zf2001\n" + young + ",3,2021-06-01,zf2001\n";
  csv += unknown + ",1,2021-04-01,科兴\n" + outside + ",1,2021-04-01,科兴\n";
  // A malformed file writes nothing and names the rows.
  const std::string bad = csv + a2 + ",2,2021-05-01,SputnikV\n" + a2 + ",x,2021-05-01,bbibp\n";
  auto rep = s.import_vaccinations(bad, centre_);
  EXPECT_FALSE(rep.committed);
  ASSERT_EQ(rep.error_count, 2);
  EXPECT_EQ(rep.errors[0].row, 12);
  EXPECT_EQ(rep.errors[0].field, "product");
  EXPECT_EQ(rep.errors[1].field, "dose");
  auto cov = s.coverage("", centre_);
  std::int64_t vaccinated = 0;
  for (const auto& r : cov.rows) vaccinated += r.vaccinated;
  EXPECT_EQ(vaccinated, 0);
  // The good file: 8 doses of 4 persons; the unknown number and the other district's resident
  // are unmatched (reported, masked), not silently dropped.
  rep = s.import_vaccinations(csv, centre_);
  ASSERT_TRUE(rep.committed) << (rep.errors.empty() ? "" : rep.errors[0].reason);
  EXPECT_EQ(rep.accepted, 8);
  EXPECT_EQ(rep.persons, 4);
  ASSERT_EQ(rep.unmatched_count, 2);
  EXPECT_EQ(rep.unmatched[0].row, 10);
  EXPECT_EQ(rep.unmatched[0].id_number, mask_id_number(unknown));
  EXPECT_EQ(rep.unmatched[1].row, 11);
  // Coverage by band (2022-11-20): 70-79 two (one full + booster, one dose), 80+ one (Ad5: full),
  // 18-59 one (three ZF2001 doses: full).
  cov = s.coverage("", centre_);
  EXPECT_EQ(cov.group_length, 9);
  std::map<std::string, store::CoverageRow> by;
  for (const auto& r : cov.rows) {
    EXPECT_EQ(r.area, "110105001");
    by[r.band] = r;
  }
  EXPECT_EQ(by["70-79"].persons, 2);
  EXPECT_EQ(by["70-79"].vaccinated, 2);
  EXPECT_EQ(by["70-79"].full, 1);
  EXPECT_EQ(by["70-79"].booster, 1);
  EXPECT_EQ(by["80+"].full, 1);
  EXPECT_EQ(by["80+"].booster, 0);
  EXPECT_EQ(by["18-59"].full, 1);
  EXPECT_EQ(by.count("60-69"), 0u);  // the 65-year-old lives in the other district
  // The grid worker of grid A sees the one person of 60 and over not fully vaccinated there.
  auto list = s.elderly("", "", store::Page{0, 50}, grid_);
  ASSERT_EQ(list.items.size(), 1u);
  EXPECT_EQ(list.items[0].person.id, persons_[1].id);
  EXPECT_EQ(list.items[0].age, 70);
  EXPECT_EQ(list.items[0].doses, 1);
  EXPECT_TRUE(s.elderly("", "80+", store::Page{0, 50}, grid_).items.empty());
  EXPECT_EQ(code_of([&] { s.elderly(kGridB, "", store::Page{0, 50}, grid_); }), ErrorCode::not_found);
  // Fengtai's centre: its 65-year-old, unvaccinated (the import above could not reach them).
  list = s.elderly("", "60-69", store::Page{0, 50}, other_);
  ASSERT_EQ(list.items.size(), 1u);
  EXPECT_EQ(list.items[0].person.id, persons_[4].id);
  EXPECT_EQ(code_of([&] { s.coverage("", grid_); }), ErrorCode::permission_denied);
  EXPECT_EQ(code_of([&] { s.coverage("110106", centre_); }), ErrorCode::not_found);
}

TEST_P(WarningService, CapacityCountsBedsAndForecastsInsideTheArea) {
  auto s = svc();
  repo_->set_setting("capacity.beds.HOSP-A", "120");
  repo_->set_setting("capacity.beds.HOSP-F", "80");
  auto v = s.capacity("", 14, centre_);
  ASSERT_EQ(v.beds.sites.size(), 1u);
  EXPECT_EQ(v.beds.sites[0].code, "HOSP-A");
  EXPECT_EQ(v.beds.capacity, 120);
  EXPECT_EQ(v.beds.occupied, 0);
  EXPECT_TRUE(v.beds.mean_stay_default);
  EXPECT_EQ(v.beds.forecast.mean.size(), 14u);
  EXPECT_EQ(v.beds.forecast.warning, "few_admissions");
  EXPECT_EQ(v.rooms.admissions.size(), 28u);
  EXPECT_EQ(s.capacity("", 14, other_).beds.capacity, 80);
  EXPECT_EQ(code_of([&] { s.capacity("110106", 14, centre_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { s.capacity("", 0, centre_); }), ErrorCode::invalid_argument);
}

// The demo's generator (bihuan outbreak feeds): the outbreak district's feeds rise and the pass
// raises its signals there only; doses of the registry's people; beds of the hospitals.
TEST_P(WarningService, TheDemoFeedsRiseInTheOutbreakDistrictOnly) {
  gen::SurveillanceOptions o;
  o.district = "110105";
  o.now = clock_.now();
  const auto rep = gen::seed_surveillance(*repo_, o);
  EXPECT_EQ(rep.sites, 18);  // two districts x three feeds x three sites
  EXPECT_EQ(rep.hospitals, 2);
  EXPECT_GT(rep.persons_vaccinated, 0);
  EXPECT_TRUE(repo_->setting("capacity.beds.HOSP-A"));
  auto s = svc();
  s.sweep(clock_.now(), nullptr);
  Caller admin = Caller::local("t", 1);
  std::set<std::string> feeds;
  for (const auto& v : s.signals("open", store::Page{0, 50}, admin).items) {
    EXPECT_EQ(v.row.area_code, "110105");
    feeds.insert(v.row.feed);
  }
  EXPECT_TRUE(feeds.count("fever_clinic"));
  EXPECT_TRUE(feeds.count("pharmacy"));
  std::string msg, field;
  o.district = "110105001";
  EXPECT_EQ(code_of([&] { gen::seed_surveillance(*repo_, o); }, &msg, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "district");
}

INSTANTIATE_TEST_SUITE_P(Backends, WarningService, ::testing::Values("sqlite", "postgresql"));

}  // namespace bihuan::warningtest
