// Migration v12: persons' unique key becomes the named unique index persons_doc. A database at
// v10 with people, a merge, an order and an identity conflict referring to them is built from
// the migrations themselves, then opened: the rows, ids and revisions are kept, every reference
// to persons still holds (SQLite: foreign keys on, foreign_key_check clean), the revision
// trigger works, and the ON CONFLICT (doc_type, doc_number, nationality) upserts use the new
// index. SQLite always, PostgreSQL when BIHUAN_TEST_PG is set.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "loop/backend.hpp"
#include "store/db.hpp"
#include "store/migrations.hpp"
#include "store/repository.hpp"

namespace bihuan::migrationtest {

using Db = looptest::TestBackend;

std::unique_ptr<store::Db> raw(const Db& db) {
  if (db.url.rfind("sqlite:", 0) == 0) return store::open_sqlite(db.url.substr(7));
  return store::open_pg(db.url);
}

std::string rid(const std::string& first17) { return first17 + resident_id_check_char(first17); }

class MigrationV12 : public ::testing::TestWithParam<std::string> {};

TEST_P(MigrationV12, TheKeyBecomesANamedIndexAndEveryReferenceHolds) {
  Db db(GetParam());
  if (!db.skip.empty()) GTEST_SKIP() << db.skip;
  const bool sqlite = GetParam() == "sqlite";
  {
    // The schema of v10, as a database of the previous release has it.
    auto d = raw(db);
    d->exec_script("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
    for (const auto& m : store::migrations()) {
      if (m.version > 10) continue;
      d->exec_script(d->dialect().schema(m.sql));
      const char* extra = sqlite ? m.sqlite_sql : m.pg_sql;
      if (extra && *extra) d->exec_script(extra);
      d->exec_script("INSERT INTO schema_migrations (version, applied_at) VALUES (" + std::to_string(m.version) + ", 0)");
    }
    d->exec_script(
        "INSERT INTO areas (code, name, level, parent_code) VALUES ('110105001001001', 'g', 5, '110105001001');"
        "INSERT INTO persons (id, doc_type, doc_number, nationality, name, sex, birth_date, area_code, created_at, "
        "updated_at) VALUES (5, 'resident_id', '" + rid("11010519850307123") + "', 'CHN', '张三', 'male', "
        "'1985-03-07', '110105001001001', 1, 1);"
        "INSERT INTO persons (id, doc_type, doc_number, nationality, name, sex, birth_date, area_code, created_at, "
        "updated_at, merged_into) VALUES (9, 'resident_id', '" + rid("11010519900101002") + "', 'CHN', '张三', "
        "'male', '1985-03-07', '110105001001001', 1, 1, 5);"
        "UPDATE persons SET name = '张三' WHERE id = 5;"
        "INSERT INTO person_merges (kept_id, merged_id, by_user, at, moved) VALUES (5, 9, 1, 1, '{}');"
        "INSERT INTO import_runs (kind, mode, created_at, status) VALUES ('persons', 'all-or-nothing', 1, 'committed');"
        "INSERT INTO identity_conflicts (run_id, person_id, row_no, fields, imported, status, created_at) "
        "VALUES (1, 5, 2, 'name', '{}', 'open', 1);");
    if (!sqlite) d->exec_script("SELECT setval(pg_get_serial_sequence('persons', 'id'), 9)");
  }
  auto repo = store::open_repository(db.url);
  {
    auto d = raw(db);
    EXPECT_EQ(store::applied_schema_version(*d), store::latest_schema_version());
    if (sqlite) {
      store::Q ix(*d, "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'persons' AND type = 'index' ORDER BY name");
      std::vector<std::string> names;
      while (ix.next()) {
        names.push_back(ix.str(0));
        EXPECT_EQ(ix.str(0).find("autoindex"), std::string::npos) << ix.str(0);
      }
      EXPECT_NE(std::find(names.begin(), names.end(), "persons_doc"), names.end());
      // v30: persons_doc serves the lookups by doc_number too; v39 adds persons_merged_id.
      EXPECT_EQ(names.size(), 9u);
      EXPECT_NE(std::find(names.begin(), names.end(), "persons_merged_id"), names.end());
      store::Q fk(*d, "PRAGMA foreign_keys");
      ASSERT_TRUE(fk.next());
      EXPECT_EQ(fk.int64(0), 1);
      store::Q check(*d, "PRAGMA foreign_key_check");
      EXPECT_FALSE(check.next());
      store::Q trig(*d, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'persons_revision'");
      ASSERT_TRUE(trig.next());
      EXPECT_EQ(trig.int64(0), 1);
    } else {
      store::Q c(*d, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'persons'::regclass AND contype = 'u'");
      ASSERT_TRUE(c.next());
      EXPECT_EQ(c.int64(0), 0);
      store::Q ix(*d, "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'persons_doc'");
      ASSERT_TRUE(ix.next());
      EXPECT_NE(ix.str(0).find("UNIQUE"), std::string::npos);
    }
    // The references to persons still hold: an order for someone who does not exist is refused.
    bool refused = false;
    try {
      d->exec_script("INSERT INTO person_merges (kept_id, merged_id, by_user, at, moved) VALUES (5, 4242, 1, 1, '{}')");
    } catch (const Error&) {
      refused = true;
    }
    EXPECT_TRUE(refused);
  }
  // Rows, ids and the revision trigger.
  auto p = repo->person(5, Scope::everything());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "张三");
  EXPECT_EQ(p->revision, 2);  // raised by the trigger of v6 before the migration
  auto merged = repo->person(9, Scope::everything());
  ASSERT_TRUE(merged);
  EXPECT_EQ(merged->merged_into, 5);
  p->name = "张叁";
  EXPECT_TRUE(repo->update_person(*p, 2));
  EXPECT_EQ(repo->person(5, Scope::everything())->revision, 3);
  // ON CONFLICT (doc_type, doc_number, nationality): the key is unique and upserts by it.
  std::vector<Person> same(1);
  same[0].doc_number = rid("11010519850307123");
  same[0].name = "张叁";
  same[0].sex = Sex::male;
  same[0].birth_date = *parse_date("1985-03-07");
  same[0].area_code = "110105001001001";
  const auto st = repo->upsert_persons(same);
  EXPECT_EQ(st.inserted, 0);
  EXPECT_EQ(same[0].id, 5);
  std::vector<Person> fresh = same;
  fresh[0].id = 0;
  fresh[0].doc_number = rid("11010519700101003");
  EXPECT_EQ(repo->upsert_persons(fresh).inserted, 1);
  EXPECT_GT(fresh[0].id, 9);
  // Many rows at once (PostgreSQL's COPY path: INSERT ... SELECT ... ON CONFLICT): inserted once,
  // unchanged the second time, with the same ids.
  std::vector<Person> many(100);
  for (std::size_t i = 0; i < many.size(); ++i) {
    many[i] = same[0];
    many[i].id = 0;
    many[i].doc_number = rid("11010519800101" + std::to_string(100 + i));
  }
  EXPECT_EQ(repo->upsert_persons(many).inserted, 100);
  std::vector<Person> again = many;
  for (auto& a : again) a.id = 0;
  EXPECT_EQ(repo->upsert_persons(again).unchanged, 100);
  for (std::size_t i = 0; i < many.size(); ++i) EXPECT_EQ(again[i].id, many[i].id);
  // Reopening applies nothing more.
  repo.reset();
  repo = store::open_repository(db.url);
  EXPECT_EQ(repo->person(5, Scope::everything())->name, "张叁");
}

INSTANTIATE_TEST_SUITE_P(Backends, MigrationV12, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return std::string(p.param); });

}  // namespace bihuan::migrationtest
