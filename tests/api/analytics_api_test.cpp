// Epidemic analytics over HTTP (docs/API-analytics.md): the four routes' answers, their bad input
// named by field, the permission and the OpenAPI entries.
#include <numeric>

#include "store/case_repository.hpp"
#include "support.hpp"

namespace bihuan::testing {
namespace {

class AnalyticsApi : public SeededServer {
 protected:
  void SetUp() override {
    url_ = "sqlite:" + (dir_.path() / "test.db").string();
    auto repo = store::open_repository(url_);
    world_.seed(*repo, clock_.now());
    auto cases = store::open_case_repository(*repo);
    // Grid A: 3 local cases a day for 20 days up to 2026-11-28 (reported at 10:00 local, onset two
    // days before), one imported case found in central quarantine on the first day. Grid B: one case.
    for (int d = 0; d < 20; ++d) {
      const Date rep = Date(std::chrono::sys_days(*parse_date("2026-11-09")) + std::chrono::days(d));
      for (int i = 0; i < 3; ++i) {
        store::CaseRecord k;
        k.person_id = world_.person_a;
        k.area_code = World::kGridA;
        k.source = "manual";
        k.classification = "confirmed";
        k.opened_at = *parse_instant(format_date(rep) + "T02:00:00Z");
        k.onset_date = format_date(Date(std::chrono::sys_days(rep) - std::chrono::days(2)));
        cases->insert_case(k);
      }
    }
    store::CaseRecord imp;
    imp.person_id = world_.person_a;
    imp.area_code = World::kGridA;
    imp.source = "manual";
    imp.classification = "confirmed";
    imp.origin = "imported";
    imp.found_by = "central_quarantine";
    imp.opened_at = *parse_instant("2026-11-09T03:00:00Z");
    cases->insert_case(imp);
    store::CaseRecord b = imp;
    b.person_id = world_.person_b;
    b.area_code = World::kGridB;
    b.origin = "local";
    b.found_by = "clinic";
    cases->insert_case(b);
    cases.reset();
    repo.reset();
    start();
  }
  void options(api::ServerOptions& o) override {
    o.db_threads = 2;
    o.clock = &clock_;
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";
    o.code_key = (dir_.path() / "code-signing").string();
  }
  ManualClock clock_{*parse_instant("2026-11-29T04:00:00Z")};
};

std::int64_t total(const json& a) {
  std::int64_t n = 0;
  for (const auto& v : a) n += v.get<std::int64_t>();
  return n;
}

TEST_F(AnalyticsApi, CurvesRtNowcastGrowth) {
  Client inv = login(server_->port(), "investigator");
  auto c = inv.get("/api/analytics/curves?from=2026-11-01&to=2026-11-29");
  ASSERT_EQ(c.status, 200) << c.body;
  const json cj = c.j();
  EXPECT_EQ(cj["by"], "report");
  EXPECT_EQ(cj["days"].size(), 29u);
  EXPECT_EQ(cj["days"][0], "2026-11-01");
  EXPECT_EQ(total(cj["total"]), 62);
  EXPECT_EQ(total(cj["local_community"]), 61);
  EXPECT_EQ(total(cj["imported_inside"]), 1);
  EXPECT_EQ(cj["average7"][0], 0.0);  // the six days before `from` are counted: no gap at the start
  ASSERT_EQ(cj["districts"].size(), 1u);
  EXPECT_EQ(cj["districts"][0]["code"], "110105");
  EXPECT_EQ(cj["districts"][0]["name"], "朝阳区");
  // The 7-day average of a day with 3 cases on each of the last 7 days.
  EXPECT_DOUBLE_EQ(cj["average7"][27].get<double>(), 3.0);
  auto by_onset = inv.get("/api/analytics/curves?by=onset&from=2026-11-01&to=2026-11-29");
  EXPECT_EQ(by_onset.j()["undated"], 2);  // the two cases without onset

  auto r = inv.get("/api/analytics/rt?from=2026-11-09&to=2026-11-28&si_mean=4&si_sd=2");
  ASSERT_EQ(r.status, 200) << r.body;
  const json rj = r.j();
  EXPECT_EQ(rj["estimates"].size(), 20u - 7);  // t_start = 2 .. T - 6
  EXPECT_EQ(rj["serial_interval"]["source"], "the request");
  EXPECT_EQ(rj["estimates"][0]["t_start"], 2);
  EXPECT_EQ(rj["estimates"][0]["date_end"], "2026-11-16");
  // Steady incidence: R near 1 at the end.
  EXPECT_NEAR(rj["estimates"].back()["mean"].get<double>(), 1.0, 0.2);
  auto dflt = inv.get("/api/analytics/rt?from=2026-11-09&to=2026-11-28");
  EXPECT_EQ(dflt.j()["serial_interval"]["mean"], 3.96);
  EXPECT_NE(dflt.j()["serial_interval"]["source"].get<std::string>().find("Du et al. 2020"), std::string::npos);

  auto n = inv.get("/api/analytics/nowcast?from=2026-11-01&to=2026-11-28");
  ASSERT_EQ(n.status, 200) << n.body;
  const json nj = n.j();
  EXPECT_EQ(nj["days"].size(), 28u);
  EXPECT_EQ(nj["cases"], 3 * 20);  // onsets of the 7th to the 26th, all reported by the 28th
  EXPECT_NEAR(nj["delay_pmf"][2].get<double>(), 1.0, 1e-12);
  EXPECT_EQ(nj["observed"].back(), 0);
  EXPECT_EQ(nj["upper"].size(), 28u);

  auto g = inv.get("/api/analytics/growth?days=14");
  ASSERT_EQ(g.status, 200) << g.body;
  const json gj = g.j();
  EXPECT_EQ(gj["to"], "2026-11-28");  // yesterday
  EXPECT_EQ(gj["cases"], 42);
  EXPECT_NEAR(gj["r"].get<double>(), 0.0, 1e-9);
  EXPECT_EQ(gj["doubling_days"], nullptr);
  EXPECT_EQ(gj["halving_days"], nullptr);
  EXPECT_EQ(gj["halving_upper"], nullptr);
  auto few = inv.get("/api/analytics/growth?days=14&origin=imported");
  EXPECT_EQ(few.j()["warning"], "few_cases");
  EXPECT_EQ(few.j()["r"], nullptr);
}

TEST_F(AnalyticsApi, BadInputPermissionAndOpenApi) {
  Client inv = login(server_->port(), "investigator");
  auto field_of = [&](const std::string& path) {
    auto r = inv.get(path);
    return std::to_string(r.status) + " " + (r.status == 400 ? r.j()["field"].get<std::string>() : r.body);
  };
  EXPECT_EQ(field_of("/api/analytics/curves?by=yesterday"), "400 by");
  EXPECT_EQ(field_of("/api/analytics/curves?from=2026-13-01"), "400 from");
  EXPECT_EQ(field_of("/api/analytics/curves?from=2026-11-20&to=2026-11-10"), "400 from");
  EXPECT_EQ(field_of("/api/analytics/curves?district=11x"), "400 district");
  EXPECT_EQ(field_of("/api/analytics/curves?classification=probable"), "400 classification");
  EXPECT_EQ(field_of("/api/analytics/rt?window=0"), "400 window");
  EXPECT_EQ(field_of("/api/analytics/rt?si_mean=4"), "400 si_sd");
  EXPECT_EQ(field_of("/api/analytics/rt?si_mean=0.5&si_sd=1"), "400 si_mean");
  EXPECT_EQ(field_of("/api/analytics/rt?si_mean=x&si_sd=1"), "400 si_mean");
  EXPECT_EQ(field_of("/api/analytics/rt?from=2026-11-25&to=2026-11-28"), "400 from");
  EXPECT_EQ(field_of("/api/analytics/nowcast?max_delay=0"), "400 max_delay");
  EXPECT_EQ(field_of("/api/analytics/growth?days=2"), "400 days");
  EXPECT_EQ(field_of("/api/analytics/growth?origin=abroad"), "400 origin");
  for (const char* who : {"grid_a", "auditor", "enterprise", "venue"}) {
    Client c = login(server_->port(), who);
    EXPECT_EQ(c.get("/api/analytics/curves").status, 403) << who;
  }
  Client admin = login(server_->port(), "admin");
  const json doc = admin.get("/api/openapi.json").j();
  for (const char* p : {"/api/analytics/curves", "/api/analytics/rt", "/api/analytics/nowcast", "/api/analytics/growth"})
    EXPECT_TRUE(doc["paths"].contains(p)) << p;
}

}  // namespace
}  // namespace bihuan::testing
