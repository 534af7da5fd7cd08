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

INSTANTIATE_TEST_SUITE_P(Backends, MergeCases, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return std::string(p.param); });

}  // namespace bihuan::mergecasestest
