#pragma once
// A throwaway database of one backend for the loop tests: a temporary SQLite file, or a fresh
// schema of the PostgreSQL server named by BIHUAN_TEST_PG (dropped afterwards). Without that
// server `skip` says why, unless BIHUAN_REQUIRE_PG=1, which turns its absence into a failure.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/area.hpp"
#include "core/date.hpp"
#include "core/error.hpp"
#include "core/model.hpp"
#include "core/resident_id.hpp"
#include "store/db.hpp"
#include "store/repository.hpp"

namespace bihuan::looptest {

inline std::string random_suffix() {
  std::random_device rd;
  std::mt19937_64 g(rd());
  std::string s;
  for (int i = 0; i < 12; ++i) s += "abcdefghijklmnopqrstuvwxyz0123456789"[g() % 36];
  return s;
}

struct TestBackend {
  std::string url;   // empty when skipped
  std::string dir;   // a temporary directory (the SQLite file, keys, ...)
  std::string skip;  // why the backend is unavailable
  std::string pg_base, schema;

  explicit TestBackend(const std::string& kind) {
    namespace fs = std::filesystem;
    dir = (fs::temp_directory_path() / ("bihuan-loop-" + random_suffix())).string();
    fs::create_directories(dir);
    if (kind == "sqlite") {
      url = "sqlite:" + dir + "/t.db";
      return;
    }
    const char* pg = std::getenv("BIHUAN_TEST_PG");
    const char* req = std::getenv("BIHUAN_REQUIRE_PG");
    const bool required = req && std::string(req) == "1";
    if (!pg || !*pg) {
      if (required) throw std::runtime_error("BIHUAN_REQUIRE_PG=1 but BIHUAN_TEST_PG is not set");
      skip = "BIHUAN_TEST_PG not set";
      return;
    }
    pg_base = pg;
    schema = "t_" + random_suffix();
    try {
      store::open_pg(pg_base)->exec_script("CREATE SCHEMA " + schema);
    } catch (const Error& e) {
      if (required) throw;
      skip = std::string("PostgreSQL unreachable: ") + e.what();
      schema.clear();
      return;
    }
    url = pg_base + (pg_base.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema;
  }
  ~TestBackend() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (!schema.empty()) try {
        store::open_pg(pg_base)->exec_script("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
      } catch (...) {
      }
  }
  TestBackend(const TestBackend&) = delete;
  TestBackend& operator=(const TestBackend&) = delete;
};

inline Area area(const std::string& code, const std::string& name) {
  Area a;
  a.code = code;
  a.name = name;
  a.level = *area_level_of(code);
  a.parent_code = parent_area_code(code);
  return a;
}

// The two-district area tree most service tests use: 北京市 > 朝阳区 (110105) > 建外街道 >
// 建外社区 > grids 110105001001001 (第1网格) and 110105001001002 (第2网格), and 丰台区 (110106) with
// one street, community and grid 110106001001001.
inline std::vector<Area> two_districts() {
  return {area("11", "北京市"), area("1101", "市辖区"), area("110105", "朝阳区"), area("110105001", "建外街道"),
          area("110105001001", "建外社区"), area("110105001001001", "第1网格"), area("110105001001002", "第2网格"),
          area("110106", "丰台区"), area("110106001", "街道"), area("110106001001", "社区"),
          area("110106001001001", "网格")};
}

// The code of the Error `fn` throws (a test failure when it throws none), with its message and
// field when asked for.
inline ErrorCode code_of(const std::function<void()>& fn, std::string* message = nullptr, std::string* field = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (message) *message = e.what();
    if (field) *field = e.field();
    return e.code();
  }
  ADD_FAILURE() << "no error";
  return ErrorCode::internal;
}

// A valid resident ID number: region (6 digits), birth date (YYYYMMDD), sequence 0..999.
inline std::string resident_id(const std::string& region, const std::string& birth, int seq) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%03d", seq % 1000);
  const std::string first17 = region + birth + buf;
  return first17 + resident_id_check_char(first17);
}
// One of Chaoyang's, born 1980-01-01.
inline std::string resident_id(int seq) { return resident_id("110105", "19800101", seq); }

// One household in `grid` (household_no H0, 大街1号) with `n` visitors 访客1..n born 1980-01-01,
// stored in `repo`; the persons come back with their ids.
inline std::vector<Person> one_household_of_visitors(store::Repository& repo, const std::string& grid, int n) {
  std::vector<Household> hs(1);
  hs[0].household_no = "H0";
  hs[0].area_code = grid;
  hs[0].address = "大街1号";
  repo.upsert_households(hs);
  std::vector<Person> ps;
  for (int i = 0; i < n; ++i) {
    Person p;
    p.doc_number = resident_id("110105", "19800101", i + 1);
    p.name = "访客" + std::to_string(i + 1);
    p.birth_date = *parse_date("1980-01-01");
    p.area_code = grid;
    p.household_id = hs[0].id;
    p.address = hs[0].address;
    ps.push_back(p);
  }
  repo.upsert_persons(ps);
  return ps;
}

}  // namespace bihuan::looptest
