#pragma once
// Value-parameterised fixture: every storage test runs on a fresh temporary SQLite file and,
// when BIHUAN_TEST_PG holds a URL, on PostgreSQL in a fresh schema of its own (dropped after).
// With BIHUAN_REQUIRE_PG=1 a missing or unreachable PostgreSQL fails the PostgreSQL cases.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/error.hpp"
#include "core/model.hpp"
#include "store/repository.hpp"

namespace bihuan::store::testing {

class RepoTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Another connection to the same database (as a second worker or process would open it).
  std::unique_ptr<Repository> reopen();
  bool is_pg() const { return GetParam() == "postgresql"; }

  std::string url_;
  std::string dir_;      // SQLite: temp directory
  std::string pg_base_;  // PostgreSQL: server URL without the schema option
  std::string schema_;
  std::unique_ptr<Repository> repo_;
};

std::string backend_name(const ::testing::TestParamInfo<std::string>& info);

// Small builders for test data.
Area make_area(const std::string& code, const std::string& name);
Person make_person(const std::string& doc, const std::string& name, const std::string& area,
                   const std::string& birth = "1990-01-01");
// A valid resident ID number for region 110105 and the given birth date and sequence.
std::string resident_id(const std::string& birth_yyyymmdd, int seq);
// Areas 11 > 1101 > 110105 > 110105001 > {110105001001 > {..001, ..002}, 110105001002 > {..001}}.
void seed_areas(Repository& repo);

#define BIHUAN_EXPECT_ERROR(stmt, errcode)                                    \
  do {                                                                        \
    try {                                                                     \
      stmt;                                                                   \
      ADD_FAILURE() << "expected bihuan::Error " #errcode;                    \
    } catch (const ::bihuan::Error& e) {                                      \
      EXPECT_EQ(e.code(), ::bihuan::ErrorCode::errcode) << e.what();          \
    }                                                                         \
  } while (0)

}  // namespace bihuan::store::testing
