// Persons and households: upserts, lookups, keyset pagination, scope isolation, counts.
#include <set>

#include "fixture.hpp"

namespace bihuan::store::testing {
namespace {

using PersonsTest = RepoTest;

constexpr const char* kGrid1 = "110105001001001";
constexpr const char* kGrid2 = "110105001001002";
constexpr const char* kGrid3 = "110105001002001";

TEST_P(PersonsTest, UpsertReportsInsertedUpdatedUnchangedAndFillsIds) {
  seed_areas(*repo_);
  std::vector<Person> ps{make_person(resident_id("19900101", 11), "张三", kGrid1),
                         make_person(resident_id("19900202", 21), "李四", kGrid1, "1990-02-02")};
  auto st = repo_->upsert_persons(ps);
  EXPECT_EQ(st.inserted, 2);
  EXPECT_EQ(st.updated, 0);
  EXPECT_EQ(st.unchanged, 0);
  ASSERT_GT(ps[0].id, 0);
  ASSERT_GT(ps[1].id, 0);
  EXPECT_NE(ps[0].id, ps[1].id);
  const auto id0 = ps[0].id, id1 = ps[1].id;

  // Re-import of identical rows: nothing written, ids still filled.
  std::vector<Person> again{make_person(resident_id("19900101", 11), "张三", kGrid1),
                            make_person(resident_id("19900202", 21), "李四", kGrid1, "1990-02-02")};
  again[0].updated_at = from_unix_ms(1'800'000'000'000);  // a newer timestamp alone is no change
  st = repo_->upsert_persons(again);
  EXPECT_EQ(st.inserted, 0);
  EXPECT_EQ(st.updated, 0);
  EXPECT_EQ(st.unchanged, 2);
  EXPECT_EQ(again[0].id, id0);
  EXPECT_EQ(again[1].id, id1);
  EXPECT_EQ(repo_->person(id0, Scope::everything())->updated_at, from_unix_ms(1'700'000'000'000));

  // One changed phone: one update.
  again[1].phone = "13800138000";
  st = repo_->upsert_persons(again);
  EXPECT_EQ(st.updated, 1);
  EXPECT_EQ(st.unchanged, 1);
  auto p = repo_->person(id1, Scope::everything());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->phone, "13800138000");
  EXPECT_EQ(p->name, "李四");
  EXPECT_EQ(p->birth_date, *parse_date("1990-02-02"));
  EXPECT_EQ(p->area_code, kGrid1);
  EXPECT_EQ(p->doc_type, DocType::resident_id);
  EXPECT_EQ(p->nationality, "CHN");
  EXPECT_EQ(repo_->count_persons(Scope::everything()), 2);
}

TEST_P(PersonsTest, SameNumberUnderAnotherDocTypeIsAnotherPerson) {
  std::vector<Person> ps{make_person("E12345678", "John Smith", ""), make_person("E12345678", "John Smith", "")};
  ps[0].doc_type = DocType::passport;
  ps[0].nationality = "GBR";
  ps[1].doc_type = DocType::passport;
  ps[1].nationality = "USA";
  auto st = repo_->upsert_persons(ps);
  EXPECT_EQ(st.inserted, 2);
  EXPECT_NE(ps[0].id, ps[1].id);
}

TEST_P(PersonsTest, ResidentIdNormalisedToUpperX) {
  // 11010519491231002X is the classic valid example number.
  std::vector<Person> ps{make_person("11010519491231002x", "王五", kGrid1, "1949-12-31")};
  repo_->upsert_persons(ps);
  auto p = repo_->person(ps[0].id, Scope::everything());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->doc_number, "11010519491231002X");
  EXPECT_TRUE(repo_->person_by_doc("11010519491231002x", Scope::everything()));
  PersonQuery q;
  q.doc_number = "11010519491231002x";
  EXPECT_EQ(repo_->find_persons(q, Scope::everything(), {}).items.size(), 1u);
}

TEST_P(PersonsTest, InvalidRowRejectsWholeBatchNamingTheField) {
  seed_areas(*repo_);
  std::vector<Person> ps{make_person(resident_id("19900101", 1), "甲", kGrid1),
                         make_person(resident_id("19900101", 3), "", kGrid1)};
  try {
    repo_->upsert_persons(ps);
    ADD_FAILURE() << "expected invalid_argument";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_EQ(e.field(), "persons[1].name");
  }
  EXPECT_EQ(repo_->count_persons(Scope::everything()), 0);

  // A reference to a missing household fails in the database and rolls back the batch.
  std::vector<Person> dangling{make_person(resident_id("19900101", 5), "乙", kGrid1),
                               make_person(resident_id("19900101", 7), "丙", kGrid1)};
  dangling[1].household_id = 999999;
  BIHUAN_EXPECT_ERROR(repo_->upsert_persons(dangling), invalid_argument);
  EXPECT_EQ(repo_->count_persons(Scope::everything()), 0);
}

TEST_P(PersonsTest, FindByNamePrefixPhoneAddressHousehold) {
  seed_areas(*repo_);
  std::vector<Household> hs(1);
  hs[0].household_no = "H-001";
  hs[0].area_code = kGrid1;
  hs[0].address = "建外街道光华里小区3号楼2单元501";
  repo_->upsert_households(hs);
  std::vector<Person> ps{make_person(resident_id("19800101", 11), "张三", kGrid1),
                         make_person(resident_id("19800101", 13), "张三丰", kGrid1),
                         make_person(resident_id("19800101", 15), "李张", kGrid1),
                         make_person(resident_id("19800101", 17), "王芳", kGrid2)};
  ps[0].phone = "13900000001";
  ps[0].household_id = hs[0].id;
  ps[3].address = "永安里8号";
  repo_->upsert_persons(ps);

  auto names = [&](const PersonQuery& q) {
    std::set<std::string> out;
    for (const auto& p : repo_->find_persons(q, Scope::everything(), {}).items) out.insert(p.name);
    return out;
  };
  PersonQuery q;
  q.name = "张";
  EXPECT_EQ(names(q), (std::set<std::string>{"张三", "张三丰"}));
  q.name = "张三";
  EXPECT_EQ(names(q), (std::set<std::string>{"张三", "张三丰"}));
  q.name = "张三丰";
  EXPECT_EQ(names(q), (std::set<std::string>{"张三丰"}));
  q = {};
  q.phone = "13900000001";
  EXPECT_EQ(names(q), (std::set<std::string>{"张三"}));
  q = {};
  q.address = "光华里";  // the household's address
  EXPECT_EQ(names(q), (std::set<std::string>{"张三"}));
  q.address = "永安里";  // the person's own address
  EXPECT_EQ(names(q), (std::set<std::string>{"王芳"}));
  q = {};
  q.household_id = hs[0].id;
  EXPECT_EQ(names(q), (std::set<std::string>{"张三"}));
  q = {};
  q.area_prefix = kGrid2;
  EXPECT_EQ(names(q), (std::set<std::string>{"王芳"}));
  q = {};
  q.name = "%";  // no wildcard semantics
  EXPECT_TRUE(names(q).empty());

  auto members = repo_->household_members(hs[0].id, Scope::everything());
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0].name, "张三");
}

TEST_P(PersonsTest, KeysetPaginationVisitsEveryRowOnce) {
  seed_areas(*repo_);
  std::vector<Person> ps;
  for (int i = 0; i < 23; ++i) ps.push_back(make_person(resident_id("19700101", 2 * i + 1), "赵" + std::to_string(i), kGrid1));
  repo_->upsert_persons(ps);
  std::set<std::int64_t> seen;
  Page page{0, 5};
  int pages = 0;
  std::int64_t last = 0;
  for (;;) {
    auto r = repo_->find_persons({}, Scope::everything(), page);
    ++pages;
    for (const auto& p : r.items) {
      EXPECT_GT(p.id, last);
      last = p.id;
      EXPECT_TRUE(seen.insert(p.id).second);
    }
    if (r.next == 0) break;
    EXPECT_EQ(r.items.size(), 5u);
    page.after = r.next;
  }
  EXPECT_EQ(seen.size(), 23u);
  EXPECT_EQ(pages, 5);
  BIHUAN_EXPECT_ERROR(repo_->find_persons({}, Scope::everything(), Page{0, 0}), invalid_argument);
  BIHUAN_EXPECT_ERROR(repo_->find_persons({}, Scope::everything(), Page{0, 1001}), invalid_argument);
}

TEST_P(PersonsTest, GridScopeSeesNothingOfAnotherGrid) {
  seed_areas(*repo_);
  std::vector<Household> hs(2);
  hs[0].household_no = "H-1";
  hs[0].area_code = kGrid1;
  hs[1].household_no = "H-2";
  hs[1].area_code = kGrid2;
  repo_->upsert_households(hs);
  std::vector<Person> ps{make_person(resident_id("19600101", 1), "一号", kGrid1),
                         make_person(resident_id("19600101", 3), "二号", kGrid2),
                         make_person(resident_id("19600101", 5), "三号", kGrid3)};
  ps[0].household_id = hs[0].id;
  ps[1].household_id = hs[1].id;
  repo_->upsert_persons(ps);

  const Scope g1 = Scope::area(kGrid1);
  EXPECT_EQ(repo_->count_persons(g1), 1);
  EXPECT_EQ(repo_->count_persons(Scope::area(kGrid2)), 1);
  EXPECT_EQ(repo_->count_persons(Scope::area("110105001001")), 2);
  EXPECT_EQ(repo_->count_persons(Scope::area("110105")), 3);
  EXPECT_EQ(repo_->count_persons(Scope::area("110106")), 0);
  EXPECT_EQ(repo_->count_persons(Scope::area("")), 0);  // fail closed

  EXPECT_TRUE(repo_->person(ps[0].id, g1));
  EXPECT_FALSE(repo_->person(ps[1].id, g1));
  EXPECT_FALSE(repo_->person_by_doc(ps[1].doc_number, g1));
  EXPECT_TRUE(repo_->household(hs[0].id, g1));
  EXPECT_FALSE(repo_->household(hs[1].id, g1));
  EXPECT_FALSE(repo_->household_by_no("H-2", g1));
  EXPECT_TRUE(repo_->household_members(hs[1].id, g1).empty());
  auto found = repo_->find_persons({}, g1, {});
  ASSERT_EQ(found.items.size(), 1u);
  EXPECT_EQ(found.items[0].id, ps[0].id);
  PersonQuery q;
  q.area_prefix = kGrid2;  // asking for another grid within one's scope finds nothing
  EXPECT_TRUE(repo_->find_persons(q, g1, {}).items.empty());

  // Counts by child: grid 1's worker sees only its own line of the tree, counted inside it.
  auto top = repo_->area_children_counts("110105001", g1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].area.code, "110105001001");
  EXPECT_EQ(top[0].persons, 1);
  EXPECT_EQ(top[0].households, 1);
  auto grids = repo_->area_children_counts("110105001001", g1);
  ASSERT_EQ(grids.size(), 1u);
  EXPECT_EQ(grids[0].area.code, kGrid1);
  EXPECT_TRUE(repo_->area_children_counts("110105001002", g1).empty());

  auto all = repo_->area_children_counts("110105001", Scope::everything());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].persons, 2);
  EXPECT_EQ(all[0].households, 2);
  EXPECT_EQ(all[1].persons, 1);
  EXPECT_EQ(all[1].households, 0);
  auto prov = repo_->area_children_counts("", Scope::everything());
  ASSERT_EQ(prov.size(), 1u);
  EXPECT_EQ(prov[0].persons, 3);
}

TEST_P(PersonsTest, OrgScopeMatchesWorkplace) {
  seed_areas(*repo_);
  std::vector<Org> os(2);
  os[0].code = "91110105MA00001";
  os[0].name = "光华科技";
  os[0].area_code = "110105001";
  os[1].code = "91110105MA00002";
  os[1].name = "永安商贸";
  os[1].area_code = "110105001";
  repo_->upsert_orgs(os);
  std::vector<Person> ps{make_person(resident_id("19850101", 1), "员工甲", kGrid1),
                         make_person(resident_id("19850101", 3), "员工乙", kGrid3),
                         make_person(resident_id("19850101", 5), "居民", kGrid1)};
  ps[0].workplace_org_id = os[0].id;
  ps[1].workplace_org_id = os[1].id;
  repo_->upsert_persons(ps);
  const Scope s = Scope::org(os[0].id);
  EXPECT_EQ(repo_->count_persons(s), 1);
  EXPECT_TRUE(repo_->person(ps[0].id, s));
  EXPECT_FALSE(repo_->person(ps[1].id, s));
  EXPECT_FALSE(repo_->person(ps[2].id, s));
  auto counts = repo_->area_children_counts("110105001", s);
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].area.code, "110105001001");
  EXPECT_EQ(counts[0].persons, 1);
  EXPECT_EQ(repo_->count_persons(Scope::org(0)), 0);
}

TEST_P(PersonsTest, HouseholdsUpsertByNumber) {
  seed_areas(*repo_);
  Building b;
  b.area_code = kGrid1;
  b.address = "光华里小区3号楼";
  const auto bid = repo_->upsert_building(b);
  EXPECT_GT(bid, 0);
  EXPECT_EQ(repo_->upsert_building(b), bid);
  std::vector<Household> hs(2);
  hs[0].household_no = "110105-0001";
  hs[0].building_id = bid;
  hs[0].area_code = kGrid1;
  hs[0].address = "光华里小区3号楼2单元501";
  hs[1].household_no = "110105-0002";
  hs[1].area_code = kGrid2;
  auto st = repo_->upsert_households(hs);
  EXPECT_EQ(st.inserted, 2);
  auto copy = hs;
  st = repo_->upsert_households(copy);
  EXPECT_EQ(st.unchanged, 2);
  EXPECT_EQ(copy[0].id, hs[0].id);
  copy[1].building_id = bid;
  st = repo_->upsert_households(copy);
  EXPECT_EQ(st.updated, 1);
  auto h = repo_->household_by_no("110105-0002", Scope::everything());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->building_id, bid);
  EXPECT_EQ(h->area_code, kGrid2);
}

// A batch large enough for PostgreSQL's COPY path (and the row path of SQLite): the same counts,
// ids, stored values and revisions as row by row, with new, changed and unchanged rows mixed.
TEST_P(PersonsTest, LargeBatchUpsertMatchesRowByRow) {
  seed_areas(*repo_);
  std::vector<Person> first;
  for (int i = 0; i < 150; ++i)
    first.push_back(make_person(resident_id("19800101", 100 + i), "甲" + std::to_string(i), kGrid1));
  first[3].phone = "tab\there\\back\nline";  // COPY's text format escapes these
  first[4].household_id = 0;
  auto st = repo_->upsert_persons(first);
  EXPECT_EQ(st.inserted, 150);
  for (std::size_t i = 1; i < first.size(); ++i) EXPECT_GT(first[i].id, first[i - 1].id);  // in batch order
  EXPECT_EQ(repo_->person(first[3].id, Scope::everything())->phone, "tab\there\\back\nline");

  std::vector<Person> second;
  for (int i = 0; i < 200; ++i)  // 150 known (10 of them changed) and 50 new
    second.push_back(make_person(resident_id("19800101", 100 + i), "甲" + std::to_string(i), kGrid1));
  second[3].phone = first[3].phone;
  for (int i = 0; i < 10; ++i) second[static_cast<std::size_t>(20 + i)].address = "新址" + std::to_string(i);
  st = repo_->upsert_persons(second);
  EXPECT_EQ(st.inserted, 50);
  EXPECT_EQ(st.updated, 10);
  EXPECT_EQ(st.unchanged, 140);
  for (std::size_t i = 0; i < first.size(); ++i) EXPECT_EQ(second[i].id, first[i].id) << i;
  for (std::size_t i = 150; i < second.size(); ++i) EXPECT_GT(second[i].id, first.back().id);
  auto changed = repo_->person(second[25].id, Scope::everything());
  EXPECT_EQ(changed->address, "新址5");
  EXPECT_EQ(repo_->count_persons(Scope::everything()), 200);

  // A batch naming one person twice: row by row, the later row wins.
  std::vector<Person> twice;
  for (int i = 0; i < 100; ++i)
    twice.push_back(make_person(resident_id("19800101", 100 + i), "甲" + std::to_string(i), kGrid1));
  twice.push_back(twice[0]);
  twice.back().address = "后者";
  st = repo_->upsert_persons(twice);
  EXPECT_EQ(repo_->person(first[0].id, Scope::everything())->address, "后者");
}

TEST_P(PersonsTest, PersonsByIdsInScope) {
  seed_areas(*repo_);
  std::vector<Person> ps;
  for (int i = 0; i < 70; ++i)
    ps.push_back(make_person(resident_id("19850101", 100 + i), "乙" + std::to_string(i), i % 2 ? kGrid1 : kGrid3));
  repo_->upsert_persons(ps);
  std::vector<std::int64_t> ids;
  for (auto it = ps.rbegin(); it != ps.rend(); ++it) ids.push_back(it->id);  // out of order, > one chunk
  ids.push_back(ps[0].id);                                                     // twice
  ids.push_back(999999);                                                       // no such person
  auto all = repo_->persons_by_ids(ids, Scope::everything());
  ASSERT_EQ(all.size(), 70u);
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].id, ps[i].id);
  auto grid1 = repo_->persons_by_ids(ids, Scope::area(kGrid1));
  ASSERT_EQ(grid1.size(), 35u);
  for (const auto& p : grid1) EXPECT_EQ(p.area_code, kGrid1);
  EXPECT_TRUE(repo_->persons_by_ids({}, Scope::everything()).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, PersonsTest, ::testing::Values("sqlite", "postgresql"), backend_name);

}  // namespace
}  // namespace bihuan::store::testing
