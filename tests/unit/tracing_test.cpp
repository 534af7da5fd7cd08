// The rules of cutting transmission chains (core/tracing.hpp).
#include "core/tracing.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace bihuan::tracing {
namespace {

using namespace std::chrono_literals;

Instant at(const char* iso) { return *parse_instant(iso); }
Date day(const char* d) { return *parse_date(d); }

TEST(Tracing, ExposureWindowStartsTwoDaysBeforeOnsetAtLocalMidnight) {
  const LocalTime shanghai;
  auto w = exposure_window(Classification::confirmed, day("2026-11-20"), at("2026-11-21T02:00:00Z"),
                           at("2026-11-21T10:00:00Z"), at("2026-11-22T00:00:00Z"), 2, shanghai);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->start, at("2026-11-17T16:00:00Z"));  // 2026-11-18 00:00 +08:00
  EXPECT_EQ(w->end, at("2026-11-21T10:00:00Z"));    // isolated
}

TEST(Tracing, AsymptomaticWindowCountsFromTheFirstPositiveSampling) {
  const LocalTime shanghai;
  // An onset date given by mistake does not move an asymptomatic infection's window.
  auto w = exposure_window(Classification::asymptomatic, day("2026-11-10"), at("2026-11-21T02:30:00Z"), std::nullopt,
                           at("2026-11-22T00:00:00Z"), 2, shanghai);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->start, at("2026-11-19T02:30:00Z"));
  EXPECT_EQ(w->end, at("2026-11-22T00:00:00Z"));  // not isolated: until now
  // Nothing to place it by.
  EXPECT_FALSE(exposure_window(Classification::confirmed, std::nullopt, std::nullopt, std::nullopt,
                               at("2026-11-22T00:00:00Z"), 2, shanghai));
  // A confirmed case without onset date falls back on the sampling.
  auto f = exposure_window(Classification::confirmed, std::nullopt, at("2026-11-21T02:30:00Z"), std::nullopt,
                           at("2026-11-22T00:00:00Z"), 4, shanghai);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->start, at("2026-11-17T02:30:00Z"));
}

TEST(Tracing, OverlapAndVisitEnd) {
  const auto a = at("2026-11-20T10:00:00Z");
  EXPECT_EQ(visit_end(a, std::nullopt, 60min), at("2026-11-20T11:00:00Z"));
  EXPECT_EQ(visit_end(a, at("2026-11-20T10:20:00Z"), 60min), at("2026-11-20T10:20:00Z"));
  // An exit before the entry is ignored (the dwell applies).
  EXPECT_EQ(visit_end(a, at("2026-11-20T09:00:00Z"), 60min), at("2026-11-20T11:00:00Z"));
  EXPECT_EQ(overlap(a, a + 30min, a + 15min, a + 60min), 15min);
  EXPECT_EQ(overlap(a, a + 30min, a + 30min, a + 60min), 0s);  // touching is not overlapping
  EXPECT_EQ(overlap(a, a + 90min, a + 10min, a + 20min), 10min);
  EXPECT_EQ(default_dwell_minutes("restaurant"), 60);
  EXPECT_EQ(default_dwell_minutes("no-such-type"), 30);
}

TEST(Tracing, CyclesClustersGenerationsOffspring) {
  std::vector<Link> links{{1, 2}, {1, 3}, {3, 4}, {10, 11}};
  EXPECT_TRUE(would_cycle(links, 4, 1));
  EXPECT_TRUE(would_cycle(links, 2, 2));
  EXPECT_FALSE(would_cycle(links, 2, 4));  // a second infector, no cycle
  EXPECT_FALSE(would_cycle(links, 11, 1));
  auto c = clusters({1, 2, 3, 4, 10, 11, 20}, links);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0], (std::vector<std::int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(c[1], (std::vector<std::int64_t>{10, 11}));
  EXPECT_EQ(c[2], (std::vector<std::int64_t>{20}));
  links.push_back({2, 4});
  auto g = generations({1, 2, 3, 4, 10, 11, 20}, links);
  EXPECT_EQ(g[1], 1);
  EXPECT_EQ(g[2], 2);
  EXPECT_EQ(g[4], 3);  // via 2 or 3
  EXPECT_EQ(g[20], 1);
  auto o = offspring({1, 2, 3, 4, 10, 11, 20}, links);
  EXPECT_EQ(o[0], 3);  // 4, 11, 20
  EXPECT_EQ(o[1], 3);  // 2, 3, 10
  EXPECT_EQ(o[2], 1);  // 1
  EXPECT_EQ(o.size(), 3u);
}

TEST(Tracing, TimelinessBreaches) {
  Rules r;
  Marks m;
  m.diagnosed = at("2026-11-20T00:00:00Z");
  m.reported = at("2026-11-20T03:00:00Z");       // 3 h: late
  m.investigation = at("2026-11-20T04:00:00Z");  // 1 h after the report
  auto b = breaches(m, r, at("2026-11-20T08:00:00Z"));
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].step, "report");
  EXPECT_EQ(b[1].step, "core");  // contacts not listed 5 h after the report
  EXPECT_FALSE(b[1].done);
  m.listed = at("2026-11-20T06:00:00Z");
  EXPECT_EQ(breaches(m, r, at("2026-11-20T08:00:00Z")).size(), 1u);
  EXPECT_EQ(breaches(m, r, at("2026-11-21T04:00:00Z")).back().step, "controlled");
}

TEST(Tracing, ProfileRulesAndDefaults) {
  policy::Profile p;
  auto d = rules_of(p);
  EXPECT_EQ(d.exposure_days_before, 2);
  EXPECT_FALSE(d.trace_close);  // no close_contact group: not traced
  policy::Group g;
  g.key = "close_contact";
  g.phases.push_back({});
  p.groups["close_contact"] = g;
  p.tracing.exposure_days_before = policy::DaysSetting{};
  p.tracing.exposure_days_before->days = 4;
  auto r = rules_of(p);
  EXPECT_TRUE(r.trace_close);
  EXPECT_FALSE(r.trace_secondary);
  EXPECT_EQ(r.exposure_days_before, 4);
}

// Du et al. 2020 (Emerg Infect Dis 26(6)), Table S5: 468 infector -> infectee pairs in 93 Chinese
// cities; serial interval mean 3.96 days, sd 4.75 days, 12.6 % negative.
TEST(Tracing, PublishedSerialIntervalsOfDu2020) {
  std::ifstream f(std::string(BIHUAN_SOURCE_DIR) + "/tests/data/transmission_chains/du2020_TableS5_468_transmission_pairs_China.csv");
  ASSERT_TRUE(f);
  std::string line;
  std::getline(f, line);  // title
  std::getline(f, line);  // header
  std::vector<double> si;
  while (std::getline(f, line)) {
    std::vector<std::string> cols;
    std::string cell;
    bool quoted = false;
    for (char ch : line) {
      if (ch == '"') quoted = !quoted;
      else if (ch == ',' && !quoted) cols.push_back(std::move(cell)), cell.clear();
      else cell += ch;
    }
    cols.push_back(cell);
    if (cols.size() < 11 || cols[0].empty()) continue;
    si.push_back(std::stod(cols[10]) - std::stod(cols[6]));
  }
  auto s = summarise(si);
  EXPECT_EQ(s.n, 468);
  EXPECT_NEAR(s.mean, 3.96, 0.005);
  EXPECT_NEAR(s.sd, 4.75, 0.005);
  EXPECT_NEAR(s.negative_share, 0.126, 0.0005);
}

}  // namespace
}  // namespace bihuan::tracing
