// Migrations, settings and the area tree.
#include "fixture.hpp"

namespace bihuan::store::testing {
namespace {

using SchemaTest = RepoTest;

TEST_P(SchemaTest, MigrationsAreIdempotentOnReopen) {
  const int v = schema_version(*repo_);
  EXPECT_GE(v, 1);
  repo_->set_setting("marker", "kept");
  for (int i = 0; i < 3; ++i) {
    auto again = reopen();
    EXPECT_EQ(schema_version(*again), v);
    EXPECT_EQ(again->setting("marker").value_or(""), "kept");
  }
  EXPECT_EQ(repo_->backend(), GetParam());
}

TEST_P(SchemaTest, SettingsUpsert) {
  EXPECT_FALSE(repo_->setting("demo_seed").has_value());
  repo_->set_setting("demo_seed", "42");
  repo_->set_setting("demo_seed", "43");
  EXPECT_EQ(repo_->setting("demo_seed").value_or(""), "43");
  BIHUAN_EXPECT_ERROR(repo_->set_setting("", "x"), invalid_argument);
}

TEST_P(SchemaTest, AreasUpsertReportsStatsAndTree) {
  auto st = repo_->upsert_areas({make_area("11", "北京市"), make_area("1101", "市辖区"), make_area("110105", "朝阳区")});
  EXPECT_EQ(st.inserted, 3);
  EXPECT_EQ(st.updated, 0);
  st = repo_->upsert_areas({make_area("11", "北京市"), make_area("1101", "市辖区"), make_area("110105", "朝阳区")});
  EXPECT_EQ(st.inserted, 0);
  EXPECT_EQ(st.unchanged, 3);
  st = repo_->upsert_areas({make_area("110105", "朝阳区(新)"), make_area("110106", "丰台区")});
  EXPECT_EQ(st.updated, 1);
  EXPECT_EQ(st.inserted, 1);

  auto a = repo_->area("110105");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "朝阳区(新)");
  EXPECT_EQ(a->level, AreaLevel::county);
  EXPECT_EQ(a->parent_code, "1101");
  EXPECT_FALSE(repo_->area("110107"));

  auto provinces = repo_->area_children("");
  ASSERT_EQ(provinces.size(), 1u);
  EXPECT_EQ(provinces[0].code, "11");
  auto counties = repo_->area_children("1101");
  ASSERT_EQ(counties.size(), 2u);
  EXPECT_EQ(counties[0].code, "110105");
  EXPECT_EQ(counties[1].code, "110106");
}

TEST_P(SchemaTest, BadAreaRejectedWholeBatch) {
  Area bad = make_area("110105", "朝阳区");
  bad.code = "11010";
  BIHUAN_EXPECT_ERROR(repo_->upsert_areas({make_area("11", "北京市"), bad}), invalid_argument);
  EXPECT_FALSE(repo_->area("11"));
  Area wrong_level = make_area("110105", "朝阳区");
  wrong_level.level = AreaLevel::city;
  BIHUAN_EXPECT_ERROR(repo_->upsert_areas({wrong_level}), invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Backends, SchemaTest, ::testing::Values("sqlite", "postgresql"), backend_name);

}  // namespace
}  // namespace bihuan::store::testing
