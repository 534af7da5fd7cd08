// Identity resolution: duplicate candidates, merge, undo.
#include <nlohmann/json.hpp>

#include <algorithm>

#include "fixture.hpp"
#include "store/enterprise_repository.hpp"
#include "store/needs_repository.hpp"

namespace bihuan::store::testing {
namespace {

using MergeTest = RepoTest;

constexpr const char* kGrid1 = "110105001001001";
constexpr const char* kGrid2 = "110105001001002";

TEST_P(MergeTest, DuplicateCandidatesNeedNameBirthAndOneMoreMatch) {
  seed_areas(*repo_);
  std::vector<Person> ps{
      make_person(resident_id("19750505", 1), "陈明", kGrid1, "1975-05-05"),
      make_person(resident_id("19750505", 3), "陈明", kGrid1, "1975-05-05"),  // same phone as 0
      make_person(resident_id("19750505", 5), "陈明", kGrid1, "1975-05-05"),  // nothing shared
      make_person(resident_id("19750506", 7), "陈明", kGrid1, "1975-05-06"),  // other birth date
      make_person(resident_id("19750505", 9), "陈亮", kGrid1, "1975-05-05"),  // other name
  };
  ps[0].phone = ps[1].phone = ps[3].phone = ps[4].phone = "13700000000";
  repo_->upsert_persons(ps);
  auto r = repo_->duplicate_candidates(Scope::everything(), {});
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].person_a, ps[0].id);
  EXPECT_EQ(r.items[0].person_b, ps[1].id);
  EXPECT_EQ(r.items[0].reason, "same name, birth date and phone");
  EXPECT_EQ(r.next, 0);

  // Same address also counts.
  ps[2].address = "光华里3号楼";
  ps[0].address = "光华里3号楼";
  repo_->upsert_persons(ps);
  r = repo_->duplicate_candidates(Scope::everything(), {});
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[1].person_b, ps[2].id);
  EXPECT_EQ(r.items[1].reason, "same name, birth date and address");
}

TEST_P(MergeTest, DuplicateCandidatesStayInScopeAndPageByGroup) {
  seed_areas(*repo_);
  std::vector<Person> ps;
  // Three records of one person in grid 1 (3 pairs with a = first), two in grid 2.
  for (int i = 0; i < 3; ++i) ps.push_back(make_person(resident_id("19880808", 10 * i + 1), "周杰", kGrid1, "1988-08-08"));
  for (int i = 0; i < 2; ++i) ps.push_back(make_person(resident_id("19990909", 10 * i + 1), "吴敏", kGrid2, "1999-09-09"));
  for (auto& p : ps) p.phone = p.name == "周杰" ? "13811111111" : "13822222222";
  // A record in grid 2 that duplicates the grid-1 person: not visible to a grid-1 scope.
  ps.push_back(make_person(resident_id("19880808", 91), "周杰", kGrid2, "1988-08-08"));
  ps.back().phone = "13811111111";
  repo_->upsert_persons(ps);

  auto g1 = repo_->duplicate_candidates(Scope::area(kGrid1), {});
  EXPECT_EQ(g1.items.size(), 3u);
  for (const auto& d : g1.items) {
    EXPECT_NE(d.person_a, ps[5].id);
    EXPECT_NE(d.person_b, ps[5].id);
  }
  auto g2 = repo_->duplicate_candidates(Scope::area(kGrid2), {});
  ASSERT_EQ(g2.items.size(), 1u);
  EXPECT_EQ(g2.items[0].person_a, ps[3].id);

  // Everything: pairs (0,1) (0,2) (0,5) (1,2) (1,5) (2,5) (3,4) = 7; page of 2 must not split a's group.
  std::vector<DuplicateCandidate> all;
  Page page{0, 2};
  for (int guard = 0; guard < 20; ++guard) {
    auto r = repo_->duplicate_candidates(Scope::everything(), page);
    all.insert(all.end(), r.items.begin(), r.items.end());
    if (r.next == 0) break;
    page.after = r.next;
  }
  EXPECT_EQ(all.size(), 7u);
}

TEST_P(MergeTest, MergeHidesRecordAndUndoRestoresExactly) {
  seed_areas(*repo_);
  std::vector<Person> ps{make_person(resident_id("19700101", 1), "孙丽", kGrid1, "1970-01-01"),
                         make_person(resident_id("19700101", 3), "孙丽", kGrid1, "1970-01-01"),
                         make_person(resident_id("19700101", 5), "孙丽", kGrid1, "1970-01-01")};
  for (auto& p : ps) p.phone = "13933333333";
  repo_->upsert_persons(ps);
  EXPECT_EQ(repo_->count_persons(Scope::everything()), 3);

  // 2 into 1, then 1 into 0: 2 follows 1 to 0.
  auto m1 = repo_->merge_persons(ps[1].id, ps[2].id, 7, from_unix_ms(1'750'000'000'000));
  EXPECT_GT(m1.id, 0);
  EXPECT_EQ(repo_->count_persons(Scope::everything()), 2);
  auto merged = repo_->person(ps[2].id, Scope::everything());
  ASSERT_TRUE(merged);  // still readable by id
  EXPECT_EQ(merged->merged_into, ps[1].id);
  EXPECT_TRUE(repo_->find_persons({}, Scope::everything(), {}).items.size() == 2u);

  auto m2 = repo_->merge_persons(ps[0].id, ps[1].id, 7, from_unix_ms(1'750'000'001'000));
  EXPECT_EQ(repo_->count_persons(Scope::everything()), 1);
  EXPECT_EQ(repo_->person(ps[2].id, Scope::everything())->merged_into, ps[0].id);
  auto moved = nlohmann::json::parse(m2.moved);
  ASSERT_TRUE(moved.contains("persons.merged_into"));
  EXPECT_EQ(moved["persons.merged_into"], nlohmann::json::array({ps[2].id}));
  EXPECT_TRUE(repo_->duplicate_candidates(Scope::everything(), {}).items.empty());

  // Merging a merged record again, or a record into itself, is refused.
  BIHUAN_EXPECT_ERROR(repo_->merge_persons(ps[0].id, ps[1].id, 7, from_unix_ms(1)), conflict);
  BIHUAN_EXPECT_ERROR(repo_->merge_persons(ps[0].id, ps[0].id, 7, from_unix_ms(1)), invalid_argument);
  BIHUAN_EXPECT_ERROR(repo_->merge_persons(ps[0].id, 999999, 7, from_unix_ms(1)), not_found);
  // The earlier merge cannot be undone before the later one.
  BIHUAN_EXPECT_ERROR(repo_->undo_merge(m1.id), conflict);

  auto hist = repo_->merges_of(ps[1].id);
  ASSERT_EQ(hist.size(), 2u);
  EXPECT_EQ(hist[0].id, m1.id);
  EXPECT_EQ(hist[1].by_user, 7);
  EXPECT_EQ(hist[1].at, from_unix_ms(1'750'000'001'000));

  repo_->undo_merge(m2.id);
  EXPECT_EQ(repo_->person(ps[1].id, Scope::everything())->merged_into, 0);
  EXPECT_EQ(repo_->person(ps[2].id, Scope::everything())->merged_into, ps[1].id);
  BIHUAN_EXPECT_ERROR(repo_->undo_merge(m2.id), conflict);
  repo_->undo_merge(m1.id);
  EXPECT_EQ(repo_->person(ps[2].id, Scope::everything())->merged_into, 0);
  EXPECT_EQ(repo_->count_persons(Scope::everything()), 3);
  EXPECT_EQ(repo_->duplicate_candidates(Scope::everything(), {}).items.size(), 3u);
  BIHUAN_EXPECT_ERROR(repo_->undo_merge(424242), not_found);
  auto after = repo_->merges_of(ps[2].id);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_TRUE(after[0].undone);
}

// Vulnerable flags (保供) and places on a staff roster (复工复产) follow the person to the kept
// record, except what the kept record has already (the same active flag, the same roster), which
// stays on the merged record; undo puts back exactly what moved.
TEST_P(MergeTest, FlagsAndRostersFollowTheMergeAndUndo) {
  seed_areas(*repo_);
  std::vector<Person> ps{make_person(resident_id("19600101", 1), "赵强", kGrid1, "1960-01-01"),
                         make_person(resident_id("19600101", 3), "赵强", kGrid1, "1960-01-01")};
  repo_->upsert_persons(ps);
  std::vector<Org> orgs(2);
  for (int i = 0; i < 2; ++i) {
    orgs[i].code = "ENT-" + std::to_string(i);
    orgs[i].name = "企业" + std::to_string(i);
    orgs[i].kind = OrgKind::enterprise;
    orgs[i].area_code = kGrid1;
  }
  repo_->upsert_orgs(orgs);
  auto ent = open_enterprise_repository(*repo_);
  auto needs = open_needs_repository(*repo_);
  repo_->transaction([&] {
    auto row = [](std::int64_t person, const char* site, const char* post) {
      StaffRow r;
      r.person_id = person;
      r.site = site;
      r.post = post;
      return r;
    };
    ent->replace_staff(orgs[0].id, {row(ps[0].id, "一厂", "装配"), row(ps[1].id, "一厂", "装配")});
    ent->replace_staff(orgs[1].id, {row(ps[1].id, "门店", "收银")});
    for (auto [who, cat] : {std::pair{0, "elderly_alone"}, {1, "elderly_alone"}, {1, "dialysis"}}) {
      VulnerableRow v;
      v.person_id = ps[static_cast<std::size_t>(who)].id;
      v.category = cat;
      v.area_code = kGrid1;
      v.flagged_at = from_unix_ms(1'750'000'000'000);
      needs->insert_flag(v);
    }
  });
  auto staff_of = [&](std::int64_t org) {
    std::vector<std::int64_t> ids;
    for (const auto& r : ent->staff(org)) ids.push_back(r.person_id);
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  auto flags_of = [&](std::int64_t person) {
    std::vector<std::string> cats;
    for (const auto& c : {"elderly_alone", "dialysis"})
      if (needs->active_flag(person, c)) cats.emplace_back(c);
    return cats;
  };

  auto m = repo_->merge_persons(ps[0].id, ps[1].id, 7, from_unix_ms(1'750'000'001'000));
  // The roster of enterprise 1 now names the kept record; enterprise 0 had both: it keeps the kept
  // one, and the merged one's place stays (hidden with the merged record).
  EXPECT_EQ(staff_of(orgs[1].id), std::vector<std::int64_t>{ps[0].id});
  EXPECT_EQ(staff_of(orgs[0].id), (std::vector<std::int64_t>{ps[0].id, ps[1].id}));
  EXPECT_EQ(flags_of(ps[0].id), (std::vector<std::string>{"elderly_alone", "dialysis"}));
  EXPECT_EQ(flags_of(ps[1].id), std::vector<std::string>{"elderly_alone"});
  auto moved = nlohmann::json::parse(m.moved);
  EXPECT_EQ(moved["enterprise_staff.person_id"], nlohmann::json::array({orgs[1].id}));
  EXPECT_EQ(moved["vulnerable_people.person_id"].size(), 1u);

  repo_->undo_merge(m.id);
  EXPECT_EQ(staff_of(orgs[1].id), std::vector<std::int64_t>{ps[1].id});
  EXPECT_EQ(staff_of(orgs[0].id), (std::vector<std::int64_t>{ps[0].id, ps[1].id}));
  EXPECT_EQ(flags_of(ps[0].id), std::vector<std::string>{"elderly_alone"});
  EXPECT_EQ(flags_of(ps[1].id), (std::vector<std::string>{"elderly_alone", "dialysis"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, MergeTest, ::testing::Values("sqlite", "postgresql"), backend_name);

}  // namespace
}  // namespace bihuan::store::testing
