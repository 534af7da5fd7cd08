// GB 11643 resident ID parsing against the shared test vectors (tests/data/SOURCES.md).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/resident_id.hpp"

namespace bihuan {
namespace {

const Date kToday{std::chrono::year{2026}, std::chrono::November, std::chrono::day{29}};

struct Vector {
  std::string id, expected, note;
};

std::vector<Vector> load_vectors() {
  std::ifstream in(std::string(BIHUAN_SOURCE_DIR) + "/tests/data/resident_id_test_vectors.csv");
  std::vector<Vector> out;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    // id,expected_by_source,note,...  (note may be quoted with commas)
    Vector v;
    auto c1 = line.find(',');
    auto c2 = line.find(',', c1 + 1);
    v.id = line.substr(0, c1);
    v.expected = line.substr(c1 + 1, c2 - c1 - 1);
    v.note = line.substr(c2 + 1, 60);
    out.push_back(v);
  }
  return out;
}

// Where bihuan's verdict deliberately differs from a source's, and why.
const std::map<std::string, bool>& our_verdicts() {
  static const std::map<std::string, bool> m = {
      // Codes used outside their years of use: an ID keeps the code of the issuing office, so a
      // number issued after a reorganisation is real. Valid, with a warning.
      {"110111198012010078", true},
      {"500154199301135886", true},
      {"411082198901010002", true},
      // validator.js checks only the province; 235407 is no GB/T 2260 code in any year.
      {"235407195106112745", false},
  };
  return m;
}

TEST(ResidentId, CheckCharacterOfStandardExamples) {
  EXPECT_EQ(resident_id_check_char("11010519491231002"), 'X');
  EXPECT_EQ(resident_id_check_char("44052418800101001"), '4');
}

TEST(ResidentId, SharedVectors) {
  auto vectors = load_vectors();
  ASSERT_GE(vectors.size(), 50u);
  for (const auto& v : vectors) {
    bool expected_valid = v.expected.rfind("valid", 0) == 0 || v.expected.rfind("strict:invalid", 0) == 0;
    if (auto it = our_verdicts().find(v.id); it != our_verdicts().end()) expected_valid = it->second;
    auto err = resident_id_error(v.id, kToday);
    EXPECT_EQ(!err.has_value(), expected_valid)
        << v.id << " (" << v.note << "): " << (err ? *err : std::string("accepted"));
  }
}

TEST(ResidentId, DerivesBirthSexRegion) {
  auto id = parse_resident_id("11010519491231002x", kToday);
  EXPECT_EQ(id.number, "11010519491231002X");
  EXPECT_EQ(format_date(id.birth_date), "1949-12-31");
  EXPECT_EQ(id.sex, Sex::female);
  EXPECT_EQ(id.region_code, "110105");
  EXPECT_EQ(id.region_name, "北京市朝阳区");
  EXPECT_TRUE(id.warnings.empty());
}

TEST(ResidentId, UpgradesFifteenDigits) {
  auto id = parse_resident_id("610104620927690", kToday);
  EXPECT_EQ(id.number, "610104196209276908");
  EXPECT_EQ(id.sex, Sex::female);
}

TEST(ResidentId, RegionNameFollowsBirthYear) {
  EXPECT_EQ(parse_resident_id("120110198012010073", kToday).region_name, "天津市东郊区");
  EXPECT_EQ(parse_resident_id("120110199212010072", kToday).region_name, "天津市东丽区");
}

TEST(ResidentId, WarnsWhenCodeNotInUseAtBirth) {
  auto id = parse_resident_id("110111198012010078", kToday);
  ASSERT_EQ(id.warnings.size(), 1u);
  EXPECT_NE(id.warnings[0].find("came into use"), std::string::npos);
}

TEST(ResidentId, ErrorsNameTheReasonAndField) {
  try {
    parse_resident_id("36042619910102009X", kToday, "row 3 证件号码");
    FAIL() << "accepted a wrong check character";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_EQ(e.field(), "row 3 证件号码");
    EXPECT_NE(std::string(e.what()).find("expected 3"), std::string::npos) << e.what();
  }
  EXPECT_NE(resident_id_error("990426199112010074", kToday)->find("unknown address code 990426"), std::string::npos);
  EXPECT_NE(resident_id_error("360426199113010079", kToday)->find("invalid birth date"), std::string::npos);
  EXPECT_NE(resident_id_error("44030819990110", kToday)->find("18 characters"), std::string::npos);
  EXPECT_NE(resident_id_error("110105203012310018", kToday)->find("future"), std::string::npos);
}

}  // namespace
}  // namespace bihuan
