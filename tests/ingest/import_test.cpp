// run_import against a real SQLite file: modes, row errors, re-import, encodings.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "ingest/encoding.hpp"
#include "ingest/import.hpp"
#include "test_db.hpp"

namespace bihuan::ingest {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono;

const Date kToday{year{2026}, month{1}, day{15}};

// A valid resident ID: 17 digits + computed check character.
std::string rid(std::string first17) { return first17 + resident_id_check_char(first17); }
// Same digits with a wrong check character.
std::string rid_bad(std::string first17) {
  const char good = resident_id_check_char(first17);
  return first17 + (good == '0' ? '1' : '0');
}

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<Area> areas{{"11", "北京市", AreaLevel::province, ""},
                            {"1101", "市辖区", AreaLevel::city, "11"},
                            {"110105", "朝阳区", AreaLevel::county, "1101"},
                            {"110105001", "建外街道", AreaLevel::street, "110105"},
                            {"110105001001", "永安里社区居委会", AreaLevel::community, "110105001"},
                            {"110105001001001", "第1网格", AreaLevel::grid, "110105001001"}};
    repo().upsert_areas(areas);
    std::vector<Org> orgs(1);
    orgs[0].code = "91110105MA00000001";
    orgs[0].name = "建外科技有限公司";
    orgs[0].kind = OrgKind::enterprise;
    orgs[0].area_code = "110105001";
    repo().upsert_orgs(orgs);
    org_id_ = orgs[0].id;
  }
  store::Repository& repo() { return db_.repo(); }
  ImportReport run(ImportKind kind, const std::string& csv, ImportMode mode = ImportMode::all_or_nothing,
                   Encoding enc = Encoding::auto_detect) {
    ImportOptions opt;
    opt.kind = kind;
    opt.mode = mode;
    opt.encoding = enc;
    opt.today = kToday;
    opt.batch_rows = 2;  // several batches even in small tests
    return run_import(repo(), csv, opt);
  }
  std::int64_t persons() { return repo().count_persons(Scope::everything()); }

  testing::TempDb db_;
  std::int64_t org_id_ = 0;
};

const std::string kHeader = "身份证号码,姓名,性别,出生日期,手机号,网格编码,住址,工作单位编码\n";

std::string good_persons() {
  return kHeader + rid("11010519900307001") + ",张三,男,1990-03-07,13812345678,110105001001001,永安里1号楼101,91110105MA00000001\n" +
         rid("11010519850612002") + ",李四,女,1985/6/12,13912345678,110105001001001,永安里1号楼102,\n" +
         rid("11010520100101003") + ",王小明,,,,110105001001001,永安里1号楼102,\n";
}

TEST_F(ImportTest, AllOrNothingCommitsEverythingAndDerivesFromTheId) {
  auto r = run(ImportKind::persons, good_persons());
  EXPECT_TRUE(r.committed);
  EXPECT_EQ(r.total_rows, 3);
  EXPECT_EQ(r.accepted, 3);
  EXPECT_EQ(r.rejected, 0);
  EXPECT_EQ(r.stats.inserted, 3);
  EXPECT_TRUE(r.errors.empty());
  auto p = repo().person_by_doc(rid("11010520100101003"), Scope::everything());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "王小明");
  EXPECT_EQ(p->sex, Sex::male);  // sequence 003 is odd
  EXPECT_EQ(p->birth_date, (Date{year{2010}, month{1}, day{1}}));
  auto z = repo().person_by_doc(rid("11010519900307001"), Scope::everything());
  ASSERT_TRUE(z);
  EXPECT_EQ(z->workplace_org_id, org_id_);
  EXPECT_EQ(z->phone, "13812345678");
}

TEST_F(ImportTest, ReimportChangesNothing) {
  ASSERT_TRUE(run(ImportKind::persons, good_persons()).committed);
  auto again = run(ImportKind::persons, good_persons());
  EXPECT_TRUE(again.committed);
  EXPECT_EQ(again.stats.inserted, 0);
  EXPECT_EQ(again.stats.updated, 0);
  EXPECT_EQ(again.stats.unchanged, 3);
  EXPECT_EQ(persons(), 3);
}

TEST_F(ImportTest, ChangedRowIsAnUpdate) {
  ASSERT_TRUE(run(ImportKind::persons, good_persons()).committed);
  std::string changed = good_persons();
  changed.replace(changed.find("13912345678"), 11, "13900000000");
  auto r = run(ImportKind::persons, changed);
  EXPECT_EQ(r.stats.inserted, 0);
  EXPECT_EQ(r.stats.updated, 1);
  EXPECT_EQ(r.stats.unchanged, 2);
}

// One file with every kind of row error; each reported with its row and column.
std::string bad_persons() {
  return kHeader +
         rid("11010519900307001") + ",好人,男,,,110105001001001,,\n" +                      // row 2 ok
         rid_bad("11010519900307011") + ",错校验,男,,,110105001001001,,\n" +                 // row 3 check char
         rid("11010519900307021") + ",错区划,男,,,110105999999001,,\n" +                     // row 4 unknown area
         rid("11010519900307031") + ",错电话,男,,12345,110105001001001,,\n" +                // row 5 phone
         rid("11010519900307041") + ",错生日,男,1990-03-08,,110105001001001,,\n" +           // row 6 birth mismatch
         rid("11010519900307051") + ",错性别,女,,,110105001001001,,\n" +                     // row 7 sex mismatch
         rid("11010519900307001") + ",重复,男,,,110105001001001,,\n" +                       // row 8 duplicate of 2
         rid("11010519900307061") + ",错单位,男,,,110105001001001,,NOSUCHORG\n" +            // row 9 org
         rid("11010519900307071") + ",,男,,,110105001001001,,\n";                           // row 10 name
}

TEST_F(ImportTest, EachRowErrorNamesRowColumnAndReason) {
  auto r = run(ImportKind::persons, bad_persons());
  EXPECT_FALSE(r.committed);
  EXPECT_EQ(r.total_rows, 9);
  EXPECT_EQ(r.rejected, 8);
  auto find = [&](std::int64_t row) -> const RowError* {
    for (const auto& e : r.errors)
      if (e.row == row) return &e;
    return nullptr;
  };
  struct Expect {
    std::int64_t row;
    const char* column;
    const char* reason;
  };
  for (const auto& x : {Expect{3, "身份证号码", "check character"}, Expect{4, "网格编码", "unknown area code"},
                        Expect{5, "手机号", "mobile"}, Expect{6, "出生日期", "does not match the ID number (1990-03-07)"},
                        Expect{7, "性别", "does not match the ID number"}, Expect{8, "身份证号码", "duplicate of row 2"},
                        Expect{9, "工作单位编码", "unknown organisation code"}, Expect{10, "姓名", "required"}}) {
    const RowError* e = find(x.row);
    ASSERT_NE(e, nullptr) << "no error for row " << x.row;
    EXPECT_EQ(e->column, x.column) << "row " << x.row;
    EXPECT_THAT(e->reason, HasSubstr(x.reason)) << "row " << x.row;
  }
  EXPECT_EQ(find(3)->value, rid_bad("11010519900307011"));
  EXPECT_EQ(find(2), nullptr);
}

TEST_F(ImportTest, AllOrNothingWritesNothingWhenOneRowIsBad) {
  auto r = run(ImportKind::persons, bad_persons());
  EXPECT_FALSE(r.committed);
  EXPECT_EQ(r.stats.inserted, 0);
  EXPECT_EQ(persons(), 0);
}

TEST_F(ImportTest, ValidRowsWritesTheGoodOnes) {
  auto r = run(ImportKind::persons, bad_persons(), ImportMode::valid_rows);
  EXPECT_TRUE(r.committed);
  EXPECT_EQ(r.accepted, 1);
  EXPECT_EQ(r.rejected, 8);
  EXPECT_EQ(r.stats.inserted, 1);
  EXPECT_EQ(persons(), 1);
  EXPECT_TRUE(repo().person_by_doc(rid("11010519900307001"), Scope::everything()));
  // Errors come sorted by row.
  for (std::size_t i = 1; i < r.errors.size(); ++i) EXPECT_LE(r.errors[i - 1].row, r.errors[i].row);
}

TEST_F(ImportTest, Gb18030FileImports) {
  const std::string gb = utf8_to_gb18030(good_persons());
  auto r = run(ImportKind::persons, gb);
  ASSERT_TRUE(r.committed) << (r.errors.empty() ? "" : r.errors[0].reason);
  auto p = repo().person_by_doc(rid("11010519850612002"), Scope::everything());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "李四");
  EXPECT_EQ(p->address, "永安里1号楼102");
  // Forcing UTF-8 on GB18030 bytes is a whole-file error naming the line.
  try {
    run(ImportKind::persons, gb, ImportMode::all_or_nothing, Encoding::utf8);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("line 1"));
  }
}

TEST_F(ImportTest, EnglishHeadersAndUnknownColumnsAreIgnored) {
  const std::string csv = "id_number,name,remark,area_code,sex,birth_date\n" + rid("11010519900307001") +
                          ",Zhang San,whatever,110105001001001,male,19900307\n";
  auto r = run(ImportKind::persons, csv);
  EXPECT_TRUE(r.committed);
  EXPECT_EQ(r.stats.inserted, 1);
}

TEST_F(ImportTest, MissingRequiredColumnIsAFileError) {
  try {
    run(ImportKind::persons, "姓名,手机号\n张三,13812345678\n");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_THAT(e.what(), HasSubstr("id_number"));
  }
}

TEST_F(ImportTest, BrokenQuotingIsARowErrorNamingTheLine) {
  const std::string csv = kHeader + rid("11010519900307001") + ",\"张\"三,男,,,110105001001001,,\n" +
                          rid("11010519850612002") + ",李四,,,,110105001001001,,\n";
  auto r = run(ImportKind::persons, csv, ImportMode::valid_rows);
  ASSERT_EQ(r.rejected, 1);
  EXPECT_EQ(r.errors[0].row, 2);
  EXPECT_THAT(r.errors[0].reason, HasSubstr("closing quote"));
  EXPECT_EQ(r.stats.inserted, 1);
}

TEST_F(ImportTest, PassportHoldersNeedBirthDateSexAndNationality) {
  const std::string csv = "证件类型,证件号码,国籍,姓名,性别,出生日期,网格编码\n"
                          "护照,E12345678,美国,John Smith,男,1980-01-02,110105001001001\n"
                          "护照,E87654321,,Jane Doe,,,110105001001001\n";
  auto r = run(ImportKind::persons, csv);
  EXPECT_FALSE(r.committed);
  std::vector<std::string> columns;
  for (const auto& e : r.errors) {
    EXPECT_EQ(e.row, 3);
    columns.push_back(e.column);
  }
  EXPECT_THAT(columns, ::testing::UnorderedElementsAre("国籍", "性别", "出生日期"));
}

TEST_F(ImportTest, HouseholdsThenPersonsByHouseholdNumber) {
  const std::string hh = "户号,网格编码,住址,楼栋\n"
                         "H0001,110105001001001,永安里1号楼1单元101,永安里1号楼\n"
                         "H0002,110105001001001,永安里1号楼1单元102,永安里1号楼\n"
                         "H0002,110105001001001,重复,永安里1号楼\n";
  auto bad = run(ImportKind::households, hh);
  EXPECT_FALSE(bad.committed);
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0].row, 4);
  EXPECT_EQ(bad.errors[0].column, "户号");
  EXPECT_THAT(bad.errors[0].reason, HasSubstr("duplicate of row 3"));

  auto ok = run(ImportKind::households, hh.substr(0, hh.rfind("H0002,")));
  ASSERT_TRUE(ok.committed);
  EXPECT_EQ(ok.stats.inserted, 2);
  auto h = repo().household_by_no("H0002", Scope::everything());
  ASSERT_TRUE(h);
  EXPECT_NE(h->building_id, 0);

  const std::string ps = "身份证号,姓名,户号\n" + rid("11010519900307001") + ",张三,H0002\n" +
                         rid("11010519850612002") + ",李四,H9999\n";
  auto r = run(ImportKind::persons, ps, ImportMode::valid_rows);
  ASSERT_EQ(r.rejected, 1);
  EXPECT_EQ(r.errors[0].row, 3);
  EXPECT_EQ(r.errors[0].column, "户号");
  auto p = repo().person_by_doc(rid("11010519900307001"), Scope::everything());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->household_id, h->id);
  EXPECT_EQ(p->area_code, "110105001001001");  // from the household
  EXPECT_EQ(p->address, "永安里1号楼1单元102");
}

TEST_F(ImportTest, VenuesWithChineseLabels) {
  const std::string csv = "场所码,名称,类型,区划,地址,容量,是否密闭\n"
                          "V1,新发地农贸市场,农贸市场,110105001,某路1号,3000,否\n"
                          "V2,物美超市,supermarket,110105001001001,某路2号,,是\n"
                          "V3,太空站,太空站,110105001,,abc,也许\n";
  auto r = run(ImportKind::venues, csv, ImportMode::valid_rows);
  EXPECT_EQ(r.stats.inserted, 2);
  ASSERT_EQ(r.rejected, 1);
  std::vector<std::string> columns;
  for (const auto& e : r.errors) {
    EXPECT_EQ(e.row, 4);
    columns.push_back(e.column);
  }
  EXPECT_THAT(columns, ::testing::UnorderedElementsAre("类型", "容量", "是否密闭"));
  auto page = repo().find_venues("新发地", Scope::everything(), {});
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].type, VenueType::market);
  EXPECT_FALSE(page.items[0].enclosed);
  EXPECT_EQ(page.items[0].capacity, 3000);
}

TEST_F(ImportTest, OrgsWithChineseKinds) {
  const std::string csv = "机构代码,名称,类型,区划,地址,电话\n"
                          "CDC-110105,朝阳区疾控中心,疾控中心,110105,某路3号,010-65123456\n"
                          "PORT-1,首都机场口岸,口岸,110105,,\n";
  auto r = run(ImportKind::orgs, csv);
  ASSERT_TRUE(r.committed);
  EXPECT_EQ(r.stats.inserted, 2);
  auto o = repo().org_by_code("CDC-110105");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->kind, OrgKind::cdc);
  EXPECT_EQ(o->phone, "010-65123456");
  EXPECT_EQ(run(ImportKind::orgs, csv).stats.unchanged, 2);
}

TEST_F(ImportTest, ErrorsCsvAndProgress) {
  auto r = run(ImportKind::persons, bad_persons());
  const std::string csv = errors_csv(r);
  EXPECT_TRUE(csv.starts_with("\xEF\xBB\xBFrow,column,value,reason\r\n"));
  EXPECT_THAT(csv, HasSubstr("8,身份证号码,"));

  ImportOptions opt;
  opt.today = kToday;
  std::uint64_t last = 0, total = 0;
  int calls = 0;
  opt.progress = [&](std::uint64_t done, std::uint64_t all) {
    EXPECT_GE(done, last);
    last = done;
    total = all;
    ++calls;
  };
  const std::string data = good_persons();
  ASSERT_TRUE(run_import(repo(), data, opt).committed);
  EXPECT_GT(calls, 0);
  EXPECT_EQ(last, total);
  EXPECT_GT(total, 0u);
}

TEST_F(ImportTest, EmptyFileIsAFileError) {
  EXPECT_THROW(run(ImportKind::persons, ""), Error);
  EXPECT_THROW(run(ImportKind::persons, "\xEF\xBB\xBF"), Error);
}

}  // namespace
}  // namespace bihuan::ingest

namespace bihuan::ingest {
namespace {

class ScopedImportTest : public ImportTest {
 protected:
  void SetUp() override {
    ImportTest::SetUp();
    std::vector<Area> more{{"110105001002", "光华里社区居委会", AreaLevel::community, "110105001"},
                           {"110105001002001", "第1网格", AreaLevel::grid, "110105001002"}};
    repo().upsert_areas(more);
  }
  ImportReport run_as(const Scope& scope, const std::string& csv) {
    ImportOptions opt;
    opt.kind = ImportKind::persons;
    opt.today = kToday;
    opt.scope = scope;
    return run_import(repo(), csv, opt);
  }
};

TEST_F(ScopedImportTest, AreaScopeRejectsRowsOutsideTheJurisdiction) {
  std::string csv = kHeader + rid("11010519900307001") + ",张三,男,,,110105001001001,永安里1号楼101,\n" +
                    rid("11010519850612002") + ",李四,女,,,110105001002001,光华里2号楼1,\n";
  auto r = run_as(Scope::area("110105001001"), csv);
  EXPECT_FALSE(r.committed);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].row, 3);
  EXPECT_EQ(r.errors[0].column, "网格编码");
  EXPECT_THAT(r.errors[0].reason, HasSubstr("outside your jurisdiction"));
  EXPECT_EQ(persons(), 0);
}

TEST_F(ScopedImportTest, APersonRegisteredElsewhereCannotBeMovedIn) {
  std::string outside = kHeader + rid("11010519850612002") + ",李四,女,,,110105001002001,光华里2号楼1,\n";
  ASSERT_TRUE(run(ImportKind::persons, outside).committed);
  // Someone scoped to the first community re-registers her there: refused, nothing changes.
  std::string moved = kHeader + rid("11010519850612002") + ",李四,女,,,110105001001001,永安里1号楼9,\n";
  auto r = run_as(Scope::area("110105001001"), moved);
  EXPECT_FALSE(r.committed);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0].reason, HasSubstr("cannot be registered here"));
  EXPECT_THAT(r.errors[0].reason, Not(HasSubstr("outside")));
  EXPECT_EQ(repo().person_by_doc(rid("11010519850612002"), Scope::everything())->area_code, "110105001002001");
}

TEST_F(ScopedImportTest, OrganisationImportsOnlyItsOwnStaff) {
  std::string csv = kHeader + rid("11010519900307001") + ",张三,男,,,110105001001001,永安里1号楼101,91110105MA00000001\n" +
                    rid("11010519850612002") + ",李四,女,,,110105001001001,永安里1号楼102,\n";
  auto r = run_as(Scope::org(org_id_), csv);
  EXPECT_FALSE(r.committed);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].row, 3);
  EXPECT_THAT(r.errors[0].reason, HasSubstr("own staff"));
}

}  // namespace
}  // namespace bihuan::ingest
