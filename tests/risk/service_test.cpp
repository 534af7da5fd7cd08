// Risk areas on SQLite and, when BIHUAN_TEST_PG is set, PostgreSQL: proposals from cases under
// the ninth edition (residence high, a stay medium), approval with a reason publishing the area
// and putting its residents under control, the day-7 round downgrade and the 3-day lift
// releasing what the area created; the twenty measures (cases found inside control do not count,
// units of a building); manual designation and lift; jurisdiction (outside = does not exist).
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "risk/service.hpp"
#include "store/case_repository.hpp"
#include "store/nat_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::risktest {

using looptest::area;
using looptest::code_of;
using looptest::resident_id;
using namespace std::chrono_literals;

Instant at(const std::string& s) { return *parse_instant(s); }

class RiskService : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kGridA = "110105001001001";
  static constexpr const char* kGridB = "110105001001002";
  static constexpr const char* kOtherGrid = "110106001001001";

  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas(looptest::two_districts());
    building_ = repo_->upsert_building(Building{0, kGridA, "光华里1号楼"});
    // Households: unit 1 (2 persons), unit 2 floor 5 (1), grid B (1), other district (1).
    std::vector<Household> hs(4);
    const char* grids[] = {kGridA, kGridA, kGridB, kOtherGrid};
    const char* addr[] = {"光华里1号楼1单元101", "光华里1号楼2单元502", "光华里9号", "丰台某路1号"};
    for (int i = 0; i < 4; ++i) {
      hs[i].household_no = "RH" + std::to_string(i);
      hs[i].area_code = grids[i];
      hs[i].address = addr[i];
      hs[i].building_id = i < 2 ? building_ : 0;
    }
    repo_->upsert_households(hs);
    const int sizes[] = {2, 1, 1, 1};
    int seq = 0;
    for (int h = 0; h < 4; ++h)
      for (int k = 0; k < sizes[h]; ++k) {
        Person p;
        p.doc_number = resident_id(++seq);
        p.name = "居民" + std::to_string(seq);
        p.birth_date = *parse_date("1980-01-01");
        p.area_code = grids[h];
        p.household_id = hs[h].id;
        p.address = hs[h].address;
        persons_.push_back(p);
      }
    repo_->upsert_persons(persons_);
    std::vector<Venue> vs(1);
    vs[0].code = "V-SHOP";
    vs[0].name = "超市";
    vs[0].type = VenueType::supermarket;
    vs[0].area_code = kGridB;
    repo_->upsert_venues(vs);
    venue_ = vs[0].id;
    loop_ = std::make_unique<loop::Service>(*repo_, profiles_, clock_);
    risk::Settings s;
    svc_ = std::make_unique<risk::Service>(*repo_, *loop_, clock_, s);
    cases_ = store::open_case_repository(*repo_);
    centre_.role = Role::command_centre;
    centre_.scope = Scope::area("110105");
    centre_.user_id = 5;
    centre_.username = "centre";
    other_centre_ = centre_;
    other_centre_.scope = Scope::area("110106");
    other_centre_.user_id = 6;
    investigator_ = centre_;
    investigator_.role = Role::investigator;
  }

  std::int64_t open_case(int person, const std::string& when, const std::string& found_by) {
    store::CaseRecord c;
    c.person_id = persons_[static_cast<std::size_t>(person)].id;
    c.area_code = persons_[static_cast<std::size_t>(person)].area_code;
    c.source = "manual";
    c.classification = "confirmed";
    c.opened_at = at(when);
    c.first_positive_at = at(when);
    c.found_by = found_by;
    return cases_->insert_case(c);
  }

  std::int64_t round_over(const std::string& area_code, const std::string& day, const std::string& result) {
    auto nat = store::open_nat_repository(*repo_);
    store::RoundRow r;
    r.campaign = day + " 全员核酸";
    r.area_code = area_code;
    r.day = *parse_date(day);
    r.profile = "ninth-edition";
    r.created_at = clock_.now();
    nat->insert_round(r);
    store::TubeRow t;
    t.barcode = "T" + day + result;
    t.round_id = r.id;
    t.area_code = area_code;
    t.opened_at = clock_.now();
    t.status = result.empty() ? "open" : "resulted";
    t.result = result;
    nat->insert_tube(t);
    return r.id;
  }

  std::vector<store::RiskProposalRow> pending() { return svc_->proposals("pending", centre_, 100); }

  const store::RiskProposalRow* find(const std::vector<store::RiskProposalRow>& ps, const std::string& ref) {
    for (const auto& p : ps)
      if (p.unit_ref == ref) return &p;
    return nullptr;
  }

  std::string order_status(std::int64_t person) {
    auto active = loop_->loop().active_orders_of_person(persons_[static_cast<std::size_t>(person)].id);
    return active.empty() ? "none" : active.front().order.group;
  }

  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{at("2022-07-01T02:00:00Z")};
  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<loop::Service> loop_;
  std::unique_ptr<risk::Service> svc_;
  std::unique_ptr<store::CaseRepository> cases_;
  std::vector<Person> persons_;
  std::int64_t building_ = 0, venue_ = 0;
  Caller centre_, other_centre_, investigator_;
};

TEST_P(RiskService, NinthEditionProposeApproveDowngradeAndLift) {
  // Person 0 (grid A, unit 1) is a case found at a clinic; it stayed 45 minutes at a shop in grid B.
  const auto case_id = open_case(0, "2022-07-01T01:00:00Z", "clinic");
  store::PlaceRow place;
  place.case_id = case_id;
  place.venue_id = venue_;
  place.area_code = kGridB;
  place.from_at = at("2022-06-30T02:00:00Z");
  place.to_at = at("2022-06-30T02:45:00Z");
  place.added_at = clock_.now();
  cases_->insert_place(place);
  // Person 2 is under control already (a close contact).
  loop::NewOrder n;
  n.person_id = persons_[2].id;
  n.group = "close_contact";
  n.start = *parse_date("2022-07-01");
  n.stage = loop::Stage::home_isolation;
  n.owner = loop::Owner::area(kGridA);
  loop_->create_order(n, Caller::local("t"));

  // Only the command centre proposes.
  EXPECT_EQ(code_of([&] { svc_->propose(investigator_); }), ErrorCode::permission_denied);
  auto rep = svc_->propose(centre_);
  EXPECT_EQ(rep.profile, "ninth-edition");
  EXPECT_EQ(rep.proposed, 2);
  auto ps = pending();
  ASSERT_EQ(ps.size(), 2u);
  const auto* home = find(ps, kGridA);
  const auto* shop = find(ps, kGridB);
  ASSERT_TRUE(home && shop);
  EXPECT_EQ(home->kind, "designate");
  EXPECT_EQ(home->level, "high");
  EXPECT_EQ(home->unit_name, "第1网格");
  EXPECT_EQ(home->case_ids, (std::vector<std::int64_t>{case_id}));
  EXPECT_EQ(home->last_infection, "2022-07-01");
  EXPECT_EQ(shop->level, "medium");
  const auto home_id = home->id, shop_id = shop->id;
  // Proposing again writes nothing new.
  EXPECT_EQ(svc_->propose(centre_).unchanged, 2);
  EXPECT_EQ(pending().size(), 2u);

  // Bad input: no reason; outside the scope answers like an unknown id; nothing half-written.
  std::string field;
  EXPECT_EQ(code_of([&] { svc_->approve(home_id, "  ", centre_); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "reason");
  std::string outside, unknown;
  EXPECT_EQ(code_of([&] { svc_->approve(home_id, "ok", other_centre_); }, &outside), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->approve(999999, "ok", other_centre_); }, &unknown), ErrorCode::not_found);
  EXPECT_EQ(outside, "no such proposal: " + std::to_string(home_id));
  EXPECT_EQ(unknown, "no such proposal: 999999");
  EXPECT_EQ(code_of([&] { svc_->approve(home_id, "ok", investigator_); }), ErrorCode::permission_denied);
  EXPECT_TRUE(svc_->areas({}, centre_, 100).empty());
  EXPECT_EQ(order_status(0), "none");

  // Approval publishes and puts the residents of grid A under control (person 2 is already).
  auto d = svc_->approve(home_id, "流调确认", centre_);
  EXPECT_EQ(d.area.row.level, "high");
  EXPECT_EQ(d.area.row.status, "published");
  EXPECT_EQ(d.area.row.level_since, "2022-07-01");
  EXPECT_EQ(d.area.measure_zh, "足不出户，上门服务");
  EXPECT_EQ(d.area.district, "朝阳区");
  EXPECT_EQ(d.consequence.orders, 2);
  EXPECT_EQ(d.consequence.already, 1);
  EXPECT_EQ(order_status(0), "high_risk_area_resident");
  EXPECT_EQ(order_status(1), "high_risk_area_resident");
  EXPECT_EQ(order_status(2), "close_contact");
  EXPECT_EQ(order_status(3), "none");  // grid B
  EXPECT_EQ(code_of([&] { svc_->approve(home_id, "again", centre_); }), ErrorCode::conflict);
  // The shop's grid is rejected with a reason.
  EXPECT_EQ(svc_->reject(shop_id, "短暂停留，已消杀", centre_).status, "rejected");
  const auto area_id = d.area.row.id;

  // Day 6: nothing; day 7 without a round: nothing; with a negative day-7 round: high -> medium.
  clock_.set(at("2022-07-07T02:00:00Z"));
  EXPECT_EQ(svc_->propose(centre_).proposed, 0);
  clock_.set(at("2022-07-08T02:00:00Z"));
  EXPECT_EQ(svc_->propose(centre_).proposed, 0);
  round_over("110105001", "2022-07-08", "");  // results not in yet
  EXPECT_EQ(svc_->propose(centre_).proposed, 0);
  round_over("110105001001", "2022-07-08", "negative");
  auto tubes = store::open_nat_repository(*repo_);
  auto t = tubes->tube_by_barcode("T2022-07-08");
  ASSERT_TRUE(t);
  t->result = "negative";
  t->status = "resulted";
  tubes->update_tube(*t);
  auto down = svc_->propose(centre_);
  ASSERT_EQ(down.proposed, 1);
  EXPECT_EQ(down.proposals[0].kind, "downgrade");
  EXPECT_EQ(down.proposals[0].from_level, "high");
  EXPECT_EQ(down.proposals[0].level, "medium");
  auto d2 = svc_->approve(down.proposals[0].id, "第7天全员核酸阴性", centre_);
  EXPECT_EQ(d2.area.row.level, "medium");
  EXPECT_EQ(d2.area.row.level_since, "2022-07-08");
  EXPECT_EQ(d2.consequence.released, 2);
  EXPECT_EQ(d2.consequence.orders, 2);
  EXPECT_EQ(order_status(0), "medium_risk_area_resident");
  EXPECT_EQ(order_status(2), "close_contact");

  // Three more days -> low (lifted), releasing the medium orders.
  clock_.set(at("2022-07-10T02:00:00Z"));
  EXPECT_EQ(svc_->propose(centre_).proposed, 0);
  clock_.set(at("2022-07-11T02:00:00Z"));
  auto up = svc_->propose(centre_);
  ASSERT_EQ(up.proposed, 1);
  EXPECT_EQ(up.proposals[0].kind, "lift");
  auto d3 = svc_->approve(up.proposals[0].id, "连续3天无新增", centre_);
  EXPECT_EQ(d3.area.row.status, "lifted");
  EXPECT_EQ(d3.area.row.level, "low");
  EXPECT_EQ(d3.consequence.released, 2);
  EXPECT_EQ(order_status(0), "none");
  EXPECT_EQ(order_status(1), "none");
  EXPECT_EQ(order_status(2), "close_contact");

  // The history: three versions with who and why; the causing case without personal data.
  auto detail = svc_->area(area_id, centre_);
  ASSERT_EQ(detail.versions.size(), 3u);
  EXPECT_EQ(detail.versions[0].level, "high");
  EXPECT_EQ(detail.versions[0].note, "流调确认");
  EXPECT_EQ(detail.versions[0].changed_by_name, "centre");
  EXPECT_EQ(detail.versions[1].level, "medium");
  EXPECT_EQ(detail.versions[2].status, "lifted");
  ASSERT_EQ(detail.cases.size(), 1u);
  EXPECT_EQ(detail.cases[0].id, case_id);
  EXPECT_EQ(detail.cases[0].infected, "2022-07-01");
  EXPECT_EQ(code_of([&] { svc_->area(area_id, other_centre_); }), ErrorCode::not_found);
  EXPECT_TRUE(svc_->areas({}, other_centre_, 100).empty());
  EXPECT_TRUE(svc_->public_areas("").empty());
}

TEST_P(RiskService, TwentyMeasuresBuildingsUnitsAndCasesInsideControl) {
  loop_->switch_profile("twenty-measures", "二十条", Caller::local("t"));
  // Found in central quarantine: no area.
  open_case(0, "2022-11-20T01:00:00Z", "central_quarantine");
  clock_.set(at("2022-11-20T02:00:00Z"));
  EXPECT_EQ(svc_->propose(centre_).proposed, 0);
  // Found by round screening: the building.
  const auto c2 = open_case(2, "2022-11-20T03:00:00Z", "round_screening");
  clock_.set(at("2022-11-20T04:00:00Z"));
  auto rep = svc_->propose(centre_);
  ASSERT_EQ(rep.proposed, 1);
  EXPECT_EQ(rep.proposals[0].unit_kind, "building");
  EXPECT_EQ(rep.proposals[0].unit_ref, std::to_string(building_));
  EXPECT_EQ(rep.proposals[0].case_ids, (std::vector<std::int64_t>{c2}));
  EXPECT_EQ(svc_->reject(rep.proposals[0].id, "改划单元", centre_).status, "rejected");

  // Manual designation: the profile's units and levels only, a reason, a unit that exists.
  std::string field, message;
  EXPECT_EQ(code_of([&] { svc_->designate("grid", kGridA, "high", "x", centre_); }, &message, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "unit_kind");
  EXPECT_NE(message.find("allowed: building, unit"), std::string::npos) << message;
  EXPECT_EQ(code_of([&] { svc_->designate("unit", std::to_string(building_) + "/2", "medium", "x", centre_); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "level");
  EXPECT_EQ(code_of([&] { svc_->designate("compound", "1", "high", "x", centre_); }, nullptr, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "unit_kind");
  EXPECT_EQ(code_of([&] { svc_->designate("unit", std::to_string(building_) + "/2", "high", "", centre_); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "reason");
  EXPECT_EQ(code_of([&] { svc_->designate("unit", std::to_string(building_) + "/7", "high", "x", centre_); }),
            ErrorCode::not_found);
  std::string outside, unknown;
  EXPECT_EQ(code_of([&] { svc_->designate("unit", std::to_string(building_) + "/2", "high", "x", other_centre_); }, &outside),
            ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->designate("unit", "999999/2", "high", "x", other_centre_); }, &unknown), ErrorCode::not_found);
  EXPECT_EQ(outside.substr(0, outside.find(':')), unknown.substr(0, unknown.find(':')));
  EXPECT_TRUE(svc_->areas({}, centre_, 100).empty());

  auto d = svc_->designate("unit", std::to_string(building_) + "/2", "high", "楼内聚集", centre_);
  EXPECT_EQ(d.area.row.unit_name, "光华里1号楼2单元");
  EXPECT_EQ(d.consequence.orders, 1);  // unit 2 holds person 2 only
  EXPECT_EQ(order_status(2), "high_risk_area_resident");
  EXPECT_EQ(order_status(0), "none");
  EXPECT_EQ(code_of([&] { svc_->designate("unit", std::to_string(building_) + "/2", "high", "x", centre_); }),
            ErrorCode::conflict);
  // The public list: published, no personal data.
  auto pub = svc_->public_areas("110105");
  ASSERT_EQ(pub.size(), 1u);
  EXPECT_EQ(pub[0].level, "high");
  EXPECT_EQ(pub[0].unit_name, "光华里1号楼2单元");
  EXPECT_EQ(pub[0].district, "朝阳区");
  EXPECT_EQ(pub[0].since, "2022-11-20");
  EXPECT_TRUE(svc_->public_areas("110106").empty());

  // Five days without a new infection (from the last counted one, 11-20): lift on 11-25.
  clock_.set(at("2022-11-24T04:00:00Z"));
  EXPECT_EQ(svc_->propose(centre_).proposed, 0);
  clock_.set(at("2022-11-26T04:00:00Z"));  // 6 days after case 2's infection in the unit
  auto lift = svc_->propose(centre_);
  ASSERT_EQ(lift.proposed, 1);
  EXPECT_EQ(lift.proposals[0].kind, "lift");
  // A manual lift supersedes it.
  EXPECT_EQ(code_of([&] { svc_->lift(d.area.row.id, "x", other_centre_); }), ErrorCode::not_found);
  auto l = svc_->lift(d.area.row.id, "快封快解", centre_);
  EXPECT_EQ(l.area.row.status, "lifted");
  EXPECT_EQ(l.consequence.released, 1);
  EXPECT_EQ(order_status(2), "none");
  EXPECT_EQ(svc_->proposals("superseded", centre_, 10).size(), 1u);
  EXPECT_EQ(code_of([&] { svc_->lift(d.area.row.id, "again", centre_); }), ErrorCode::conflict);
}

TEST_P(RiskService, ClassBDesignatesNothing) {
  // An area of the ninth edition; then class-b: its lift is proposed, approval releases its orders.
  auto d = svc_->designate("grid", kGridB, "high", "聚集", centre_);
  EXPECT_EQ(d.consequence.orders, 1);
  loop_->switch_profile("class-b", "乙类乙管", Caller::local("t"));
  clock_.set(at("2023-01-08T02:00:00Z"));
  auto lifts = svc_->propose(centre_);
  EXPECT_FALSE(lifts.designates);
  ASSERT_EQ(lifts.proposed, 1);
  EXPECT_EQ(lifts.proposals[0].kind, "lift");
  EXPECT_EQ(lifts.proposals[0].area_id, d.area.row.id);
  auto l = svc_->approve(lifts.proposals[0].id, "乙类乙管", centre_);
  EXPECT_EQ(l.area.row.status, "lifted");
  EXPECT_EQ(l.consequence.released, 1);
  EXPECT_EQ(order_status(3), "none");
  open_case(0, "2023-01-09T01:00:00Z", "clinic");
  clock_.set(at("2023-01-09T02:00:00Z"));
  auto rep = svc_->propose(centre_);
  EXPECT_FALSE(rep.designates);
  EXPECT_EQ(rep.proposed, 0);
  std::string field;
  EXPECT_EQ(code_of([&] { svc_->designate("grid", kGridA, "high", "x", centre_); }, nullptr, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "profile");
}

INSTANTIATE_TEST_SUITE_P(Backends, RiskService, ::testing::Values("sqlite", "postgresql"));

}  // namespace bihuan::risktest
