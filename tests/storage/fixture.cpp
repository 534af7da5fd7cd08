#include "fixture.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "core/area.hpp"
#include "core/resident_id.hpp"
#include "store/db.hpp"

namespace bihuan::store::testing {

namespace {
std::string random_suffix() {
  std::random_device rd;
  std::mt19937_64 g(rd() ^ static_cast<std::uint64_t>(::getpid()));
  const char* digits = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (int i = 0; i < 12; ++i) s += digits[g() % 36];
  return s;
}
}  // namespace

void RepoTest::SetUp() {
  if (GetParam() == "sqlite") {
    auto base = std::filesystem::temp_directory_path() / ("bihuan-store-" + random_suffix());
    std::filesystem::create_directories(base);
    dir_ = base.string();
    url_ = "sqlite:" + dir_ + "/test.db";
  } else {
    const char* pg = std::getenv("BIHUAN_TEST_PG");
    const char* req = std::getenv("BIHUAN_REQUIRE_PG");
    const bool required = req && std::string(req) == "1";
    if (!pg || !*pg) {
      if (required) FAIL() << "BIHUAN_REQUIRE_PG=1 but BIHUAN_TEST_PG is not set";
      GTEST_SKIP() << "BIHUAN_TEST_PG not set";
    }
    pg_base_ = pg;
    schema_ = "t_" + random_suffix();
    try {
      auto db = open_pg(pg_base_);
      db->exec_script("CREATE SCHEMA " + schema_);
    } catch (const Error& e) {
      if (required) FAIL() << "PostgreSQL unreachable: " << e.what();
      GTEST_SKIP() << "PostgreSQL unreachable: " << e.what();
    }
    url_ = pg_base_ + (pg_base_.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema_;
  }
  repo_ = open_repository(url_);
}

void RepoTest::TearDown() {
  repo_.reset();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  if (!schema_.empty()) {
    try {
      open_pg(pg_base_)->exec_script("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    } catch (const Error&) {
    }
  }
}

std::unique_ptr<Repository> RepoTest::reopen() { return open_repository(url_); }

std::string backend_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

Area make_area(const std::string& code, const std::string& name) {
  Area a;
  a.code = code;
  a.name = name;
  a.level = *area_level_of(code);
  a.parent_code = parent_area_code(code);
  return a;
}

Person make_person(const std::string& doc, const std::string& name, const std::string& area,
                   const std::string& birth) {
  Person p;
  p.doc_number = doc;
  p.name = name;
  p.area_code = area;
  p.birth_date = *parse_date(birth);
  p.created_at = p.updated_at = from_unix_ms(1'700'000'000'000);
  return p;
}

std::string resident_id(const std::string& birth, int seq) {
  std::string s = std::to_string(1000 + (seq % 1000)).substr(1);
  std::string first17 = "110105" + birth + s;
  return first17 + resident_id_check_char(first17);
}

void seed_areas(Repository& repo) {
  repo.upsert_areas({make_area("11", "北京市"), make_area("1101", "市辖区"), make_area("110105", "朝阳区"),
                     make_area("110105001", "建外街道"), make_area("110105001001", "光华里社区"),
                     make_area("110105001002", "永安里社区"), make_area("110105001001001", "第1网格"),
                     make_area("110105001001002", "第2网格"), make_area("110105001002001", "第1网格")});
}

}  // namespace bihuan::store::testing
