// Epidemic analytics over stored cases on SQLite and, when BIHUAN_TEST_PG is set, PostgreSQL:
// curves by onset, report and diagnosis date (local days of the deployment), local/imported x
// inside control/community, districts and 7-day averages; Rt, the nowcast and the growth rate
// from the same SQL aggregates; the jurisdiction (a caller counts only the cases registered in
// its area) and bad input.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <numeric>

#include "analytics/service.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "loop/backend.hpp"
#include "store/case_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::analyticstest {

using looptest::area;

Instant at(const std::string& s) { return *parse_instant(s); }
Date day(const std::string& s) { return *parse_date(s); }

ErrorCode code_of(const std::function<void()>& fn, std::string* field = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (field) *field = e.field();
    return e.code();
  }
  ADD_FAILURE() << "no error";
  return ErrorCode::internal;
}

class Analytics : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kGridA = "110105001001001";
  static constexpr const char* kGridB = "110105001001002";
  static constexpr const char* kOther = "110106001001001";

  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas(looptest::two_districts());
    std::vector<Person> ps;
    const char* grids[] = {kGridA, kGridB, kOther};
    for (int i = 0; i < 3; ++i) {
      Person p;
      const std::string first17 = std::string("110105") + "19800101" + "00" + std::to_string(i + 1);
      p.doc_number = first17 + resident_id_check_char(first17);
      p.name = "居民" + std::to_string(i);
      p.birth_date = day("1980-01-01");
      p.area_code = grids[i];
      ps.push_back(p);
    }
    repo_->upsert_persons(ps);
    for (const auto& p : ps) person_[p.area_code] = p.id;
    cases_ = store::open_case_repository(*repo_);
    centre_.role = Role::command_centre;
    centre_.scope = Scope::area("110105");
    centre_.user_id = 2;
    other_ = centre_;
    other_.role = Role::investigator;
    other_.scope = Scope::area("110106");
    grid_ = centre_;
    grid_.role = Role::grid_worker;
    grid_.scope = Scope::area(kGridA);
  }

  // A case registered in `grid`, opened (and, unless `reported` is empty, reported) at the given
  // UTC instants.
  void add(const char* grid, const std::string& opened, const std::string& onset, const std::string& origin = "local",
           const std::string& found_by = "", const std::string& classification = "confirmed",
           const std::string& reported = "", const std::string& diagnosed = "") {
    store::CaseRecord k;
    k.person_id = person_.at(grid);
    k.area_code = grid;
    k.source = "manual";
    k.classification = classification;
    k.opened_at = at(opened);
    k.origin = origin;
    k.found_by = found_by;
    k.onset_date = onset;
    if (!reported.empty()) k.reported_at = at(reported);
    if (!diagnosed.empty()) k.diagnosed_at = at(diagnosed);
    cases_->insert_case(k);
  }

  analytics::Service svc() {
    analytics::Settings s;  // Asia/Shanghai, UTC+8
    return analytics::Service(*repo_, clock_, s);
  }

  ManualClock clock_{at("2022-04-10T04:00:00Z")};  // 2022-04-10 12:00 local
  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<store::CaseRepository> cases_;
  std::map<std::string, std::int64_t> person_;
  Caller centre_, other_, grid_;
};

TEST_P(Analytics, CurvesSplitByOriginAndControlOnLocalDays) {
  // An asymptomatic infection reported a month earlier: outside the range, not even undated.
  add(kGridA, "2022-03-01T03:00:00Z", "", "local", "", "asymptomatic");
  // 2022-04-01T16:30Z is 2022-04-02 00:30 in Beijing: a case of the 2nd.
  add(kGridA, "2022-04-01T16:30:00Z", "2022-03-30", "local", "round_screening");
  add(kGridA, "2022-04-02T03:00:00Z", "2022-03-31", "local", "central_quarantine");
  add(kGridB, "2022-04-02T09:00:00Z", "", "local", "home_isolation", "asymptomatic");
  add(kGridB, "2022-04-02T10:00:00Z", "2022-04-01", "imported", "closed_loop_work");
  add(kGridA, "2022-04-03T01:00:00Z", "2022-04-01", "imported", "");
  add(kGridA, "2022-04-03T02:00:00Z", "2022-04-02", "local", "clinic", "suspected");  // not counted
  // Reported later than opened: the report day is the card's.
  add(kGridA, "2022-04-03T02:00:00Z", "2022-04-02", "local", "clinic", "confirmed", "2022-04-04T02:00:00Z",
      "2022-04-03T20:00:00Z");
  add(kOther, "2022-04-02T03:00:00Z", "2022-04-01");  // another district

  analytics::Filter f;
  f.from = day("2022-04-01");
  f.to = day("2022-04-05");
  auto c = svc().curves(f, centre_);
  ASSERT_EQ(c.days.size(), 5u);
  EXPECT_EQ(format_date(c.days[1]), "2022-04-02");
  EXPECT_EQ(c.total, (std::vector<std::int64_t>{0, 4, 1, 1, 0}));
  EXPECT_EQ(c.local_community, (std::vector<std::int64_t>{0, 1, 0, 1, 0}));
  EXPECT_EQ(c.local_inside, (std::vector<std::int64_t>{0, 2, 0, 0, 0}));
  EXPECT_EQ(c.imported_inside, (std::vector<std::int64_t>{0, 1, 0, 0, 0}));
  EXPECT_EQ(c.imported_community, (std::vector<std::int64_t>{0, 0, 1, 0, 0}));
  ASSERT_EQ(c.districts.size(), 1u);
  EXPECT_EQ(c.districts[0].code, "110105");
  EXPECT_EQ(c.districts[0].total, 6);
  // The 7-day average counts the six days before `from` (none here): (0+4+1+1) / 7 on the 4th.
  ASSERT_TRUE(c.average7[3].has_value());
  EXPECT_DOUBLE_EQ(*c.average7[3], 6.0 / 7);
  EXPECT_EQ(c.undated, 0);

  // By onset: the asymptomatic case has no onset (undated).
  f.by = store::CaseDate::onset;
  f.from = day("2022-03-30");
  c = svc().curves(f, centre_);
  EXPECT_EQ(c.total, (std::vector<std::int64_t>{1, 1, 2, 1, 0, 0, 0}));
  EXPECT_EQ(c.undated, 1);
  // By diagnosis: one case has a diagnosis time (2022-04-03T20:00Z = the 4th locally).
  f.by = store::CaseDate::diagnosis;
  c = svc().curves(f, centre_);
  EXPECT_EQ(c.total, (std::vector<std::int64_t>{0, 0, 0, 0, 0, 1, 0}));
  EXPECT_EQ(c.undated, 5);
  // Suspected cases when asked for.
  f.by = store::CaseDate::report;
  f.classifications = {"suspected"};
  c = svc().curves(f, centre_);
  EXPECT_EQ(c.total, (std::vector<std::int64_t>{0, 0, 0, 0, 1, 0, 0}));
}

TEST_P(Analytics, ACallerCountsOnlyTheCasesOfItsArea) {
  add(kGridA, "2022-04-02T03:00:00Z", "2022-04-01");
  add(kOther, "2022-04-02T03:00:00Z", "2022-04-01");
  add(kOther, "2022-04-03T03:00:00Z", "2022-04-02");
  analytics::Filter f;
  f.from = day("2022-04-01");
  f.to = day("2022-04-05");
  auto sum = [](const std::vector<std::int64_t>& v) { return std::accumulate(v.begin(), v.end(), std::int64_t{0}); };
  EXPECT_EQ(sum(svc().curves(f, centre_).total), 1);
  EXPECT_EQ(sum(svc().curves(f, other_).total), 2);
  EXPECT_EQ(sum(svc().curves(f, Caller::local("admin")).total), 3);
  // A district outside the caller's area counts nothing, like an unknown one.
  f.district = "110106";
  const auto outside = svc().curves(f, centre_);
  EXPECT_EQ(sum(outside.total), 0);
  EXPECT_TRUE(outside.districts.empty());
  f.district = "110199";
  EXPECT_EQ(sum(svc().curves(f, centre_).total), 0);
  f.district = "110106";
  EXPECT_EQ(sum(svc().curves(f, Caller::local("admin")).total), 2);
  f.district = kGridB;  // a grid inside the area: its cases only
  EXPECT_EQ(sum(svc().curves(f, centre_).total), 0);
  // The same for Rt, nowcast and growth.
  f.district.clear();
  f.from = day("2022-03-20");
  f.to = day("2022-04-09");
  const auto rt = svc().rt(f, std::nullopt, std::nullopt, std::nullopt, other_);
  EXPECT_EQ(sum(rt.local) + sum(rt.imported), 2);
  EXPECT_EQ(svc().nowcast(f, std::nullopt, centre_).nowcast.cases, 1);
  EXPECT_EQ(svc().growth(f, 14, "all", other_).growth.cases, 2);
  // Roles without analytics.read are refused; an organisation scope counts nothing.
  EXPECT_EQ(code_of([&] { svc().curves(f, grid_); }), ErrorCode::permission_denied);
  Caller org = centre_;
  org.scope = Scope::org(1);
  EXPECT_EQ(sum(svc().curves(f, org).total), 0);
}

TEST_P(Analytics, RtNowcastAndGrowthFromTheAggregates) {
  // Local cases reported 1, 2, 4, ... a day from 2022-03-21 (doubling every 3 days), one
  // imported case on the first day; each onset 2 days before its report.
  const Date first = day("2022-03-21");
  std::int64_t total = 0;
  for (int d = 0; d < 20; ++d) {
    const int n = 1 << (d / 3);
    const Date rep = Date(std::chrono::sys_days(first) + std::chrono::days(d));
    const Date onset = Date(std::chrono::sys_days(rep) - std::chrono::days(2));
    for (int i = 0; i < n; ++i) {
      add(kGridA, format_date(rep) + "T02:00:00Z", format_date(onset));
      ++total;
    }
  }
  add(kGridB, "2022-03-21T05:00:00Z", "2022-03-19", "imported", "central_quarantine");
  analytics::Filter f;
  f.from = first;
  f.to = day("2022-04-09");
  const auto rt = svc().rt(f, 4.0, 2.0, std::nullopt, centre_);
  ASSERT_EQ(rt.days.size(), 20u);
  EXPECT_EQ(rt.local[0], 1);
  EXPECT_EQ(rt.imported[0], 1);
  EXPECT_EQ(rt.local[19], 64);
  ASSERT_EQ(rt.estimates.size(), 13u);  // t_start = 2 .. 20 - 6
  EXPECT_EQ(rt.si_source, "the request");
  // The same numbers as the rules on the same counts.
  const auto direct = epi::estimate_rt_parametric(rt.local, rt.imported, 4.0, 2.0, epi::sliding_windows(20));
  for (std::size_t i = 0; i < direct.size(); ++i) {
    ASSERT_EQ(rt.estimates[i].mean.has_value(), direct[i].mean.has_value());
    if (direct[i].mean) {
      EXPECT_DOUBLE_EQ(*rt.estimates[i].mean, *direct[i].mean);
    }
  }
  // Growing: R above 1 in the last window.
  EXPECT_GT(*rt.estimates.back().q025, 1.0);
  // Too short a range for a weekly window.
  f.from = day("2022-04-04");
  std::string field;
  EXPECT_EQ(code_of([&] { svc().rt(f, std::nullopt, std::nullopt, std::nullopt, centre_); }, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "from");
  EXPECT_EQ(code_of([&] { svc().rt(f, 4.0, std::nullopt, std::nullopt, centre_); }, &field), ErrorCode::invalid_argument);

  // Nowcast as of 2022-04-05: onsets up to the 5th reported by then; every delay is 2 days.
  f.from = day("2022-03-15");
  f.to = day("2022-04-05");
  const auto nc = svc().nowcast(f, 10, centre_);
  ASSERT_EQ(nc.days.size(), 22u);
  EXPECT_NEAR(nc.nowcast.delay_pmf[2], 1.0, 1e-12);
  EXPECT_EQ(nc.nowcast.days.back().observed, 0);         // onset on the 5th: reported on the 7th
  EXPECT_EQ(nc.nowcast.days[22 - 3].observed, 1 << 5);   // onset on the 3rd, reported on the 5th
  std::int64_t observed = 0;
  for (const auto& d : nc.nowcast.days) observed += d.observed;
  EXPECT_EQ(observed, nc.nowcast.cases);

  // Growth over the last 14 days up to the 9th: doubling every 3 days.
  const auto g = svc().growth({}, 14, "local", centre_);
  EXPECT_EQ(format_date(g.to), "2022-04-09");
  ASSERT_TRUE(g.growth.doubling.has_value()) << g.growth.reason;
  EXPECT_NEAR(*g.growth.doubling, 3.0, 0.5);
  EXPECT_EQ(svc().growth({}, 14, "imported", centre_).growth.warning, "few_cases");
}

TEST_P(Analytics, BadInputIsRefusedNamingTheField) {
  analytics::Filter f;
  std::string field;
  f.from = day("2022-04-05");
  f.to = day("2022-04-01");
  EXPECT_EQ(code_of([&] { svc().curves(f, centre_); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "from");
  f.from = day("2019-01-01");
  f.to = day("2022-04-01");
  EXPECT_EQ(code_of([&] { svc().curves(f, centre_); }, &field), ErrorCode::invalid_argument);
  f = {};
  f.district = "11a";
  EXPECT_EQ(code_of([&] { svc().curves(f, centre_); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "district");
  f = {};
  f.classifications = {"probable"};
  EXPECT_EQ(code_of([&] { svc().curves(f, centre_); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "classification");
  EXPECT_EQ(code_of([&] { svc().growth({}, 2, "local", centre_); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([&] { svc().growth({}, 14, "abroad", centre_); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([&] { svc().nowcast({}, 0, centre_); }, &field), ErrorCode::invalid_argument);
  // No cases at all: every window is kept, with the prior and a warning, never an error.
  f = {};
  const auto rt = svc().rt(f, std::nullopt, std::nullopt, std::nullopt, centre_);
  EXPECT_EQ(rt.estimates.size(), 90u - 7);  // t_start = 2 .. T - 6
  for (const auto& e : rt.estimates) EXPECT_FALSE(e.warning.empty());
  EXPECT_EQ(svc().nowcast(f, std::nullopt, centre_).nowcast.warning, "few_cases");
  // A bad setting is an error naming it.
  repo_->set_setting("analytics.si_mean", "0.5");
  EXPECT_EQ(code_of([&] { analytics::read_settings(*repo_); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "analytics.si_mean");
  repo_->set_setting("analytics.si_mean", "5.2");
  EXPECT_EQ(code_of([&] { analytics::read_settings(*repo_); }, &field), ErrorCode::invalid_argument);
  repo_->set_setting("analytics.si_sd", "2.1");
  const auto s = analytics::read_settings(*repo_);
  EXPECT_EQ(s.si_mean, 5.2);
  EXPECT_EQ(s.si_sd, 2.1);
}

INSTANTIATE_TEST_SUITE_P(Backends, Analytics, ::testing::Values("sqlite", "postgresql"));

}  // namespace bihuan::analyticstest
