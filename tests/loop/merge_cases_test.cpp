// A merge through the registry service leaves one open case per person: the duplicate case it
// closes is audited on the case (case.close_duplicate, with the merge and the case kept) and
// named in the merge's own audit record; the undo reopens it. The rows' moves themselves are
// tested in tests/storage/merge_test.cpp. SQLite always, PostgreSQL when BIHUAN_TEST_PG is set.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/area.hpp"
#include "core/caller.hpp"
#include "core/error.hpp"
#include "core/rbac.hpp"
#include "core/resident_id.hpp"
#include "loop/backend.hpp"
#include "registry/service.hpp"
#include "store/db.hpp"
#include "store/loop_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::mergecasestest {

using Db = looptest::TestBackend;
using looptest::area;
using nlohmann::json;

std::string resident_id(const std::string& first17) { return first17 + resident_id_check_char(first17); }

class MergeCases : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<Db>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas({area("11", "北京市"), area("1101", "市辖区"), area("110105", "朝阳区"),
                         area("110105001", "街道"), area("110105001001", "社区"), area("110105001001001", "第1网格"),
                         area("110108", "海淀区")});
    std::vector<Person> ps(2);
    ps[0].doc_number = resident_id("11010519850307123");
    ps[1].doc_number = resident_id("11010519850307145");
    for (auto& p : ps) {
      p.name = "张三";
      p.sex = Sex::male;
      p.birth_date = *parse_date("1985-03-07");
      p.area_code = "110105001001001";
    }
    repo_->upsert_persons(ps);
    kept_ = ps[0].id;
    merged_ = ps[1].id;
    centre_.user_id = 8;
    centre_.username = "cc-chaoyang";
    centre_.role = Role::command_centre;
    centre_.scope = Scope::area("110105");
  }

  std::unique_ptr<store::Db> raw() {
    return GetParam() == "sqlite" ? store::open_sqlite(db_->dir + "/t.db") : store::open_pg(db_->url);
  }
  std::vector<store::AuditRecord> audits(const std::string& action) {
    store::AuditQuery q;
    q.action = action;
    return repo_->find_audit(q, store::Page{0, 100}).items;
  }
  std::string status_of(std::int64_t case_id) {
    auto db = raw();
    store::Q q(*db, "SELECT status || '/' || outcome FROM cases WHERE id = ?");
    q.i64(case_id);
    return q.next() ? q.str(0) : std::string("-");
  }

  ManualClock clock_{*parse_instant("2022-07-01T02:00:00Z")};
  std::unique_ptr<Db> db_;
  std::unique_ptr<store::Repository> repo_;
  std::int64_t kept_ = 0, merged_ = 0;
  Caller centre_;
};

TEST_P(MergeCases, TheDuplicateCaseIsClosedAuditedAndReopenedByTheUndo) {
  raw()->exec_script("INSERT INTO cases (id, person_id, area_code, source, opened_at) VALUES (801, " +
                     std::to_string(kept_) + ", '110105001001001', 'lab', 1000);"
                     "INSERT INTO cases (id, person_id, area_code, source, opened_at) VALUES (802, " +
                     std::to_string(merged_) + ", '110105001001001', 'lab', 2000);");
  registry::Service reg(*repo_, clock_);
  auto m = reg.merge(kept_, merged_, "same passport, typed twice", centre_);
  EXPECT_EQ(status_of(801), "open/");
  EXPECT_EQ(status_of(802), "closed/excluded");

  auto closed = audits("case.close_duplicate");
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].entity, "case");
  EXPECT_EQ(closed[0].entity_id, 802);
  EXPECT_EQ(closed[0].user_id, 8);
  EXPECT_EQ(closed[0].reason, "same passport, typed twice");
  auto d = json::parse(closed[0].detail);
  EXPECT_EQ(d["merge_id"], m.id);
  EXPECT_EQ(d["kept_case"], 801);
  EXPECT_EQ(d["person_id"], kept_);
  auto merges = audits("person.merge");
  ASSERT_EQ(merges.size(), 1u);
  EXPECT_EQ(json::parse(merges[0].detail)["closed_cases"], json::array({802}));

  reg.undo_merge(m.id, kept_, "two people after all", centre_);
  EXPECT_EQ(status_of(801), "open/");
  EXPECT_EQ(status_of(802), "open/");
  EXPECT_EQ(audits("person.merge_undo").size(), 1u);
}

// A merge of two records with one open case between them closes nothing and says so.
TEST_P(MergeCases, OneOpenCaseIsLeftAlone) {
  raw()->exec_script("INSERT INTO cases (id, person_id, area_code, source, opened_at) VALUES (803, " +
                     std::to_string(merged_) + ", '110105001001001', 'lab', 1000);");
  registry::Service reg(*repo_, clock_);
  reg.merge(kept_, merged_, "same passport, typed twice", centre_);
  EXPECT_EQ(status_of(803), "open/");
  EXPECT_TRUE(audits("case.close_duplicate").empty());
  auto merges = audits("person.merge");
  ASSERT_EQ(merges.size(), 1u);
  EXPECT_FALSE(json::parse(merges[0].detail).contains("closed_cases"));
}

// A duplicate case with an active treatment while the case kept has its own: the duplicate's
// treatment ends and the control order holding it is released, audited on the order
// (order.release, with the merge, the cases and the treatments) and named in the case's
// case.close_duplicate record; the undo admits it again and the order is active again.
TEST_P(MergeCases, TheDuplicateTreatmentEndsAndItsOrderReleaseIsAudited) {
  std::vector<Org> hs(2);
  for (int i = 0; i < 2; ++i) {
    hs[i].code = "H-" + std::to_string(i);
    hs[i].name = "定点医院" + std::to_string(i);
    hs[i].kind = OrgKind::hospital;
    hs[i].area_code = "110105001001001";
  }
  repo_->upsert_orgs(hs);
  auto loops = store::open_loop_repository(*repo_);
  auto order_in = [&](std::int64_t person, std::int64_t hospital) {
    store::OrderRow r;
    r.order.person_id = person;
    r.order.group = "confirmed_case";
    r.order.profile = "p";
    r.order.start = *parse_date("2022-07-01");
    r.order.source = loop::OrderSource::close_contact;
    r.order.current = {loop::Stage::hospital, loop::Owner::org(hospital), clock_.now()};
    r.plan_json = "{}";
    r.created_at = clock_.now();
    return loops->insert_order(r);
  };
  const auto ko = order_in(kept_, hs[0].id), mo = order_in(merged_, hs[1].id);
  auto s = [](std::int64_t v) { return std::to_string(v); };
  raw()->exec_script(
      "INSERT INTO cases (id, person_id, area_code, source, opened_at) VALUES (805, " + s(kept_) +
      ", '110105001001001', 'lab', 1000);"
      "INSERT INTO cases (id, person_id, area_code, source, opened_at) VALUES (806, " + s(merged_) +
      ", '110105001001001', 'lab', 2000);"
      "INSERT INTO treatments (id, case_id, person_id, org_id, facility, order_id, admitted_at) VALUES (815, 805, " +
      s(kept_) + ", " + s(hs[0].id) + ", 'designated_hospital', " + s(ko) + ", 3000);"
      "INSERT INTO treatments (id, case_id, person_id, org_id, facility, order_id, admitted_at) VALUES (816, 806, " +
      s(merged_) + ", " + s(hs[1].id) + ", 'designated_hospital', " + s(mo) + ", 3000);");
  auto active = [&](std::int64_t person) {
    std::vector<std::int64_t> ids;
    for (const auto& o : loops->active_orders_of_person(person)) ids.push_back(o.order.id);
    return ids;
  };
  registry::Service reg(*repo_, clock_);
  auto m = reg.merge(kept_, merged_, "same passport, typed twice", centre_);
  EXPECT_EQ(active(kept_), std::vector<std::int64_t>{ko});
  auto closed = audits("case.close_duplicate");
  ASSERT_EQ(closed.size(), 1u);
  auto d = json::parse(closed[0].detail);
  EXPECT_EQ(d["treatments_ended"], json::array({816}));
  EXPECT_FALSE(d.contains("treatment_moved"));
  auto released = audits("order.release");
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].entity, "order");
  EXPECT_EQ(released[0].entity_id, mo);
  EXPECT_EQ(released[0].user_id, 8);
  EXPECT_EQ(released[0].reason, "same passport, typed twice");
  auto r = json::parse(released[0].detail);
  EXPECT_EQ(r["merge_id"], m.id);
  EXPECT_EQ(r["duplicate_case"], 806);
  EXPECT_EQ(r["kept_case"], 805);
  EXPECT_EQ(r["treatment"], 816);
  EXPECT_EQ(r["kept_treatment"], 815);
  EXPECT_EQ(r["from_stage"], "hospital");

  reg.undo_merge(m.id, kept_, "two people after all", centre_);
  EXPECT_EQ(active(kept_), std::vector<std::int64_t>{ko});
  EXPECT_EQ(active(merged_), std::vector<std::int64_t>{mo});
  EXPECT_EQ(status_of(806), "open/");
}

// The kept record's case has no treatment: the duplicate's moves to it and says so.
TEST_P(MergeCases, TheDuplicateTreatmentMovesToTheKeptCase) {
  std::vector<Org> hs(1);
  hs[0].code = "H-9";
  hs[0].name = "方舱";
  hs[0].kind = OrgKind::hospital;
  hs[0].area_code = "110105001001001";
  repo_->upsert_orgs(hs);
  auto s = [](std::int64_t v) { return std::to_string(v); };
  raw()->exec_script(
      "INSERT INTO cases (id, person_id, area_code, source, opened_at) VALUES (807, " + s(kept_) +
      ", '110105001001001', 'lab', 1000);"
      "INSERT INTO cases (id, person_id, area_code, source, opened_at) VALUES (808, " + s(merged_) +
      ", '110105001001001', 'lab', 2000);"
      "INSERT INTO treatments (id, case_id, person_id, org_id, facility, admitted_at) VALUES (817, 808, " +
      s(merged_) + ", " + s(hs[0].id) + ", 'shelter_hospital', 3000);");
  registry::Service reg(*repo_, clock_);
  reg.merge(kept_, merged_, "same passport, typed twice", centre_);
  auto closed = audits("case.close_duplicate");
  ASSERT_EQ(closed.size(), 1u);
  auto d = json::parse(closed[0].detail);
  EXPECT_EQ(d["treatment_moved"], 817);
  EXPECT_FALSE(d.contains("treatments_ended"));
  EXPECT_TRUE(audits("order.release").empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, MergeCases, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return std::string(p.param); });

}  // namespace bihuan::mergecasestest
