// Travellers from other cities' risk areas on SQLite and, when BIHUAN_TEST_PG is set, PostgreSQL:
// the imported list (all or nothing, errors naming row and column, re-import updates), and
// arrival reports (来返报备) whose group and control order follow from the list, in the caller's
// jurisdiction (a resident outside it answers like an unknown one).
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "risk/arrivals.hpp"
#include "store/arrival_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::arrivalstest {

using looptest::code_of;
using looptest::resident_id;

Instant at(const std::string& s) { return *parse_instant(s); }

class Arrivals : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kGridA = "110105001001001";
  static constexpr const char* kGridB = "110105001001002";

  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas(looptest::two_districts());
    for (int i = 0; i < 4; ++i) {
      Person p;
      p.doc_number = resident_id(i + 1);
      p.name = "居民" + std::to_string(i + 1);
      p.birth_date = *parse_date("1980-01-01");
      p.area_code = i < 3 ? kGridA : kGridB;
      persons_.push_back(p);
    }
    repo_->upsert_persons(persons_);
    loop_ = std::make_unique<loop::Service>(*repo_, profiles_, clock_);
    svc_ = std::make_unique<risk::Arrivals>(*repo_, *loop_, clock_, LocalTime{});
    centre_.role = Role::command_centre;
    centre_.scope = Scope::area("110105");
    centre_.user_id = 5;
    centre_.username = "centre";
    grid_a_.role = Role::grid_worker;
    grid_a_.scope = Scope::area(kGridA);
    grid_a_.user_id = 6;
    grid_a_.username = "grid-a";
  }

  void import_list() {
    const auto rep = svc_->import_list(
        "地区代码,名称,等级,起始日期,解除日期,来源\n"
        "440105012,广州市海珠区凤阳街道,高,2022-10-20,,广东省卫健委 2022-10-20\n"
        "440105008003,海珠区某社区,中,2022-10-22,2022-10-28,广东省卫健委\n",
        centre_);
    ASSERT_TRUE(rep.committed);
    ASSERT_EQ(rep.inserted, 2);
  }

  risk::ArrivalOutcome report(int person, const std::string& origin, const Caller& c, const char* arrival = "2022-10-26") {
    risk::ArrivalInput in;
    in.person_id = persons_[static_cast<std::size_t>(person)].id;
    in.origin = origin;
    in.arrival = *parse_date(arrival);
    return svc_->report(in, c);
  }

  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{at("2022-10-26T04:00:00Z")};
  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<loop::Service> loop_;
  std::unique_ptr<risk::Arrivals> svc_;
  std::vector<Person> persons_;
  Caller centre_, grid_a_;
};

TEST_P(Arrivals, TheListIsAllOrNothingAndNamesEveryBadCell) {
  auto rep = svc_->import_list(
      "地区代码,名称,等级,起始日期,解除日期\n"
      "440105012,凤阳街道,高,2022-10-20,\n"
      "44010x,坏代码,高,2022-10-20,\n"
      "440106,某区,严重,2022-10-20,\n"
      "440107,某区,中,2022-13-01,\n"
      "440108,某区,中,2022-10-05,2022-10-01\n"
      "440105012,凤阳街道,高,2022-10-20,\n",
      centre_);
  EXPECT_FALSE(rep.committed);
  ASSERT_EQ(rep.errors.size(), 5u);
  EXPECT_EQ(rep.errors[0].row, 3);
  EXPECT_EQ(rep.errors[0].column, "地区代码");
  EXPECT_EQ(rep.errors[1].column, "等级");
  EXPECT_EQ(rep.errors[2].column, "起始日期");
  EXPECT_EQ(rep.errors[3].column, "解除日期");
  EXPECT_EQ(rep.errors[4].row, 7);  // listed twice
  EXPECT_TRUE(svc_->list(std::nullopt, centre_).empty());
  // A missing column is refused before any row.
  EXPECT_EQ(code_of([&] { svc_->import_list("名称,等级\nx,高\n", centre_); }), ErrorCode::invalid_argument);
  // Only the command centre imports.
  EXPECT_EQ(code_of([&] { svc_->import_list("地区代码,名称,等级,起始日期\n44,x,高,2022-10-01\n", grid_a_); }),
            ErrorCode::permission_denied);

  import_list();
  // Re-importing updates (the medium area's end date corrected), it does not duplicate.
  rep = svc_->import_list("地区代码,名称,等级,起始日期,解除日期\n440105008003,海珠区某社区,medium,2022-10-22,2022-10-30\n",
                          centre_);
  ASSERT_TRUE(rep.committed);
  EXPECT_EQ(rep.inserted, 0);
  EXPECT_EQ(rep.updated, 1);
  const auto all = svc_->list(std::nullopt, grid_a_);
  ASSERT_EQ(all.size(), 2u);
  const auto on = svc_->list(*parse_date("2022-10-29"), grid_a_);
  EXPECT_EQ(on.size(), 2u);
  EXPECT_EQ(svc_->list(*parse_date("2022-10-31"), grid_a_).size(), 1u);
}

TEST_P(Arrivals, AReportPutsTheResidentUnderTheGroupTheListGives) {
  import_list();
  // From the high street: central quarantine, so the grid holds the order until the transfer.
  auto high = report(0, "440105012004", grid_a_);
  EXPECT_EQ(high.report.group, "high_risk_area_arrival");
  EXPECT_EQ(high.decision.level, "high");
  ASSERT_NE(high.report.order_id, 0);
  EXPECT_EQ(high.stage, "destination_community");
  auto o = loop_->loop().order(high.report.order_id, Scope::everything());
  ASSERT_TRUE(o);
  EXPECT_EQ(o->order.group, "high_risk_area_arrival");
  EXPECT_EQ(o->order.source, loop::OrderSource::self_declaration);
  EXPECT_EQ(o->order.current.owner, loop::Owner::area(kGridA));
  EXPECT_EQ(o->order.start, *parse_date("2022-10-26"));
  // From the medium community: home isolation.
  auto medium = report(1, "440105008003", grid_a_);
  EXPECT_EQ(medium.report.group, "medium_risk_area_arrival");
  EXPECT_EQ(medium.stage, "home_isolation");
  // From elsewhere in the county: low, tests only (home monitoring in the loop).
  auto low = report(2, "440105001", grid_a_);
  EXPECT_EQ(low.report.group, "low_risk_area_arrival");
  EXPECT_EQ(low.stage, "home_monitoring");
  EXPECT_NE(low.report.order_id, 0);
  // Reported again: kept, but no second order.
  auto again = report(0, "440105012004", grid_a_);
  EXPECT_EQ(again.report.order_id, 0);
  EXPECT_NE(again.report.why.find("already"), std::string::npos);
  EXPECT_EQ(loop_->loop().active_orders_of_person(persons_[0].id).size(), 1u);
  // The reports are listed in the caller's area.
  EXPECT_EQ(svc_->reports({0, 50}, grid_a_).items.size(), 4u);
  Caller grid_b = grid_a_;
  grid_b.scope = Scope::area(kGridB);
  EXPECT_TRUE(svc_->reports({0, 50}, grid_b).items.empty());
}

TEST_P(Arrivals, NothingListedNoOrderAndOutsideTheScopeLikeNobody) {
  import_list();
  auto none = report(0, "310101", grid_a_);
  EXPECT_EQ(none.report.group, "");
  EXPECT_EQ(none.report.order_id, 0);
  EXPECT_TRUE(loop_->loop().active_orders_of_person(persons_[0].id).empty());
  // Grid A's worker cannot report grid B's resident: like an unknown person, and nothing written.
  std::string m1, m2;
  EXPECT_EQ(code_of([&] { report(3, "440105012", grid_a_); }, &m1), ErrorCode::not_found);
  risk::ArrivalInput unknown;
  unknown.person_id = 999999;
  unknown.origin = "440105012";
  EXPECT_EQ(code_of([&] { svc_->report(unknown, grid_a_); }, &m2), ErrorCode::not_found);
  EXPECT_EQ(m1.substr(0, m1.find(':')), m2.substr(0, m2.find(':')));
  EXPECT_TRUE(loop_->loop().active_orders_of_person(persons_[3].id).empty());
  // Bad input names the field; a future arrival is refused.
  std::string field;
  EXPECT_EQ(code_of([&] { report(0, "44x", grid_a_); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "origin");
  EXPECT_EQ(code_of([&] { report(0, "440105", grid_a_, "2022-10-27"); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "arrival_date");
  EXPECT_EQ(svc_->reports({0, 50}, grid_a_).items.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, Arrivals, ::testing::Values("sqlite", "postgresql"));

}  // namespace bihuan::arrivalstest
