// Person revisions (issue 6): 1 when created, +1 with every change by any path (the registry's
// update, an import upsert, a merge), and update_person writes only from the stored revision.
#include "fixture.hpp"

namespace bihuan::store::testing {
namespace {

using RevisionTest = RepoTest;

constexpr const char* kGrid1 = "110105001001001";

TEST_P(RevisionTest, EveryChangeRaisesTheRevisionAndStaleUpdatesWriteNothing) {
  seed_areas(*repo_);
  std::vector<Person> ps{make_person(resident_id("19900101", 11), "张三", kGrid1),
                         make_person(resident_id("19900202", 21), "李四", kGrid1, "1990-02-02")};
  repo_->upsert_persons(ps);
  auto p = *repo_->person(ps[0].id, Scope::everything());
  EXPECT_EQ(p.revision, 1);

  // The registry's update from revision 1.
  p.phone = "13800001111";
  EXPECT_TRUE(repo_->update_person(p, 1));
  EXPECT_EQ(repo_->person(p.id, Scope::everything())->revision, 2);
  EXPECT_EQ(repo_->person(p.id, Scope::everything())->phone, "13800001111");
  // From a stale revision: nothing is written.
  p.phone = "13800002222";
  EXPECT_FALSE(repo_->update_person(p, 1));
  EXPECT_EQ(repo_->person(p.id, Scope::everything())->phone, "13800001111");
  EXPECT_EQ(repo_->person(p.id, Scope::everything())->revision, 2);

  // An import upsert that changes the row raises it; an identical one does not.
  std::vector<Person> again{*repo_->person(p.id, Scope::everything())};
  again[0].address = "光华里1号";
  repo_->upsert_persons(again);
  EXPECT_EQ(repo_->person(p.id, Scope::everything())->revision, 3);
  repo_->upsert_persons(again);
  EXPECT_EQ(repo_->person(p.id, Scope::everything())->revision, 3);

  // A merge changes the merged record.
  const auto before = repo_->person(ps[1].id, Scope::everything())->revision;
  repo_->merge_persons(ps[0].id, ps[1].id, 1, from_unix_ms(1'700'000'000'000));
  EXPECT_GT(repo_->person(ps[1].id, Scope::everything())->revision, before);
  // A row that does not exist is not updated.
  p.id = 999999;
  EXPECT_FALSE(repo_->update_person(p, 1));
}

INSTANTIATE_TEST_SUITE_P(Backends, RevisionTest, ::testing::Values("sqlite", "postgresql"), backend_name);

}  // namespace
}  // namespace bihuan::store::testing
