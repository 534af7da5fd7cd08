// Identity resolution: duplicate candidates, merge, undo.
#include <nlohmann/json.hpp>

#include <algorithm>

#include "fixture.hpp"
#include "store/db.hpp"
#include "store/enterprise_repository.hpp"
#include "store/loop_repository.hpp"
#include "store/needs_repository.hpp"
#include "store/slot_repository.hpp"

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

// Cases, their treatments, re-positive findings and contact lists, the testing rows (tube places,
// results, tasks), residents' appeals and identity conflicts follow the merged record to the kept
// one, except what the kept record has already under a unique key (a place on the same case's
// contact list, the same tube, an open place in the same round, a routine task of the same day),
// which stays; undo puts back exactly what moved. Rows are written directly: each table's own
// service is tested elsewhere; here only who they point at matters.
TEST_P(MergeTest, CasesTestsAppealsAndConflictsFollowTheMergeAndUndo) {
  seed_areas(*repo_);
  std::vector<Person> ps{make_person(resident_id("19700101", 1), "钱多", kGrid1, "1970-01-01"),
                         make_person(resident_id("19700101", 3), "钱多", kGrid1, "1970-01-01"),
                         make_person(resident_id("19710101", 5), "孙他人", kGrid1, "1971-01-01")};
  repo_->upsert_persons(ps);
  std::vector<Org> orgs(1);
  orgs[0].code = "HOSP-M";
  orgs[0].name = "医院";
  orgs[0].kind = OrgKind::hospital;
  orgs[0].area_code = kGrid1;
  repo_->upsert_orgs(orgs);
  const std::string k = std::to_string(ps[0].id), m = std::to_string(ps[1].id), o = std::to_string(ps[2].id),
                    h = std::to_string(orgs[0].id);
  auto db = is_pg() ? open_pg(url_) : open_sqlite(dir_ + "/test.db");
  db->exec_script(
      "INSERT INTO cases (id, person_id, source, opened_at) VALUES (901, " + m + ", 'lab', 1);"
      "INSERT INTO cases (id, person_id, source, opened_at) VALUES (902, " + k + ", 'lab', 1);"
      "INSERT INTO cases (id, person_id, source, opened_at) VALUES (903, " + o + ", 'lab', 1);"
      "INSERT INTO treatments (id, case_id, person_id, org_id, facility, admitted_at) VALUES (911, 901, " + m + ", " +
      h + ", 'designated_hospital', 1);"
      "INSERT INTO repositives (id, treatment_id, person_id, decision, at) VALUES (921, 911, " + m + ", 'watch', 1);"
      "INSERT INTO case_contacts (id, case_id, person_id, found_at) VALUES (931, 903, " + m + ", 1);"
      "INSERT INTO case_contacts (id, case_id, person_id, found_at) VALUES (932, 903, " + k + ", 1);"
      "INSERT INTO case_contacts (id, case_id, person_id, via_person_id, degree, found_at) VALUES (933, 902, " + o +
      ", " + m + ", 2, 1);"
      "INSERT INTO tube_members (tube_id, person_id, sampled_at) VALUES (1, " + k + ", 1);"
      "INSERT INTO tube_members (tube_id, person_id, sampled_at) VALUES (1, " + m + ", 1);"
      "INSERT INTO tube_members (tube_id, person_id, round_id, open, sampled_at) VALUES (2, " + m + ", 5, 1, 1);"
      "INSERT INTO tube_members (tube_id, person_id, round_id, open, sampled_at) VALUES (3, " + k + ", 5, 1, 1);"
      "INSERT INTO tube_members (tube_id, person_id, round_id, open, sampled_at) VALUES (4, " + m + ", 6, 1, 1);"
      "INSERT INTO lab_results (id, lab_org_id, person_id, reported, outcome, received_at) VALUES (941, " + h +
      ", " + m + ", 'negative', 'negative', 1);"
      "INSERT INTO test_tasks (id, person_id, kind, area_code, due_at, created_at, task_day) VALUES (951, " + k +
      ", 'routine', '" + kGrid1 + "', 1, 1, '2022-07-01');"
      "INSERT INTO test_tasks (id, person_id, kind, area_code, due_at, created_at, task_day) VALUES (952, " + m +
      ", 'routine', '" + kGrid1 + "', 1, 1, '2022-07-01');"
      "INSERT INTO test_tasks (id, person_id, kind, area_code, due_at, created_at, task_day) VALUES (953, " + m +
      ", 'routine', '" + kGrid1 + "', 1, 1, '2022-07-02');"
      "INSERT INTO resident_appeals (id, person_id, area_code, colour, reason, created_at, due_at) VALUES (961, " + m +
      ", '" + kGrid1 + "', 'yellow', 'r', 1, 2);"
      "INSERT INTO import_runs (id, kind, mode, created_at, status) VALUES (971, 'persons', 'upsert', 1, 'committed');"
      "INSERT INTO identity_conflicts (id, run_id, person_id, row_no, fields, imported, status, created_at) VALUES "
      "(972, 971, " + m + ", 1, '[]', '{}', 'open', 1);");
  auto who = [&](const std::string& sql) {
    Q q(*db, sql);
    return q.next() ? q.int64(0) : -1;
  };
  auto tube_people = [&](int tube) {
    std::vector<std::int64_t> ids;
    Q q(*db, "SELECT person_id FROM tube_members WHERE tube_id = " + std::to_string(tube) + " ORDER BY person_id");
    while (q.next()) ids.push_back(q.int64(0));
    return ids;
  };
  struct Row {
    const char* sql;
    bool moves;
  };
  const std::vector<Row> rows = {
      {"SELECT person_id FROM cases WHERE id = 901", true},
      {"SELECT person_id FROM treatments WHERE id = 911", true},
      {"SELECT person_id FROM repositives WHERE id = 921", true},
      {"SELECT person_id FROM case_contacts WHERE id = 931", false},  // the kept record is on case 903's list
      {"SELECT via_person_id FROM case_contacts WHERE id = 933", true},
      {"SELECT person_id FROM tube_members WHERE tube_id = 2", false},  // kept has an open place in round 5
      {"SELECT person_id FROM tube_members WHERE tube_id = 4", true},
      {"SELECT person_id FROM lab_results WHERE id = 941", true},
      {"SELECT person_id FROM test_tasks WHERE id = 952", false},  // kept has the routine task of 07-01
      {"SELECT person_id FROM test_tasks WHERE id = 953", true},
      {"SELECT person_id FROM resident_appeals WHERE id = 961", true},
      {"SELECT person_id FROM identity_conflicts WHERE id = 972", true},
  };
  for (const auto& r : rows) ASSERT_EQ(who(r.sql), ps[1].id) << r.sql;

  auto merge = repo_->merge_persons(ps[0].id, ps[1].id, 7, from_unix_ms(1'750'000'001'000));
  for (const auto& r : rows) EXPECT_EQ(who(r.sql), r.moves ? ps[0].id : ps[1].id) << "after the merge: " << r.sql;
  EXPECT_EQ(tube_people(1), (std::vector<std::int64_t>{ps[0].id, ps[1].id}));  // both were in tube 1: it stays
  EXPECT_EQ(who("SELECT person_id FROM case_contacts WHERE id = 932"), ps[0].id);
  EXPECT_EQ(who("SELECT person_id FROM cases WHERE id = 903"), ps[2].id);  // others untouched
  auto moved = nlohmann::json::parse(merge.moved);
  EXPECT_EQ(moved["tube_members.person_id"], nlohmann::json::array({4}));
  EXPECT_EQ(moved["case_contacts.via_person_id"], nlohmann::json::array({933}));
  EXPECT_FALSE(moved.contains("case_contacts.person_id"));

  repo_->undo_merge(merge.id);
  for (const auto& r : rows) EXPECT_EQ(who(r.sql), ps[1].id) << "after the undo: " << r.sql;
  EXPECT_EQ(tube_people(1), (std::vector<std::int64_t>{ps[0].id, ps[1].id}));
  EXPECT_EQ(tube_people(3), std::vector<std::int64_t>{ps[0].id});
  EXPECT_EQ(who("SELECT person_id FROM test_tasks WHERE id = 951"), ps[0].id);
}

// Venue scans, vaccination doses (a dose number the kept record has already stays, and both
// records' vaccination status is computed again), round exclusions (a round the kept record is
// excluded from already stays), referrals, and residents' sign-in codes and sessions (text key)
// follow the merge; undo puts back exactly what moved and restates the status again.
TEST_P(MergeTest, ScansDosesExclusionsAndSessionsFollowTheMergeAndUndo) {
  seed_areas(*repo_);
  std::vector<Person> ps{make_person(resident_id("19700101", 1), "钱多", kGrid1, "1970-01-01"),
                         make_person(resident_id("19700101", 3), "钱多", kGrid1, "1970-01-01")};
  repo_->upsert_persons(ps);
  const std::string k = std::to_string(ps[0].id), m = std::to_string(ps[1].id);
  auto db = is_pg() ? open_pg(url_) : open_sqlite(dir_ + "/test.db");
  db->exec_script(
      "INSERT INTO venue_scans (id, venue_id, person_id, entered_at, scan_day, colour, pass) VALUES (981, 1, " + m +
      ", 1, '2022-07-01', 'green', 1);"
      "INSERT INTO venue_scans (id, venue_id, person_id, entered_at, scan_day, colour, pass) VALUES (982, 1, " + k +
      ", 1, '2022-07-01', 'green', 1);"
      "INSERT INTO vaccination_doses (person_id, dose, day, product, imported_at) VALUES (" + k +
      ", 1, '2021-03-01', 'coronavac', 1);"
      "INSERT INTO vaccination_doses (person_id, dose, day, product, imported_at) VALUES (" + m +
      ", 1, '2021-03-01', 'coronavac', 1);"
      "INSERT INTO vaccination_doses (person_id, dose, day, product, imported_at) VALUES (" + m +
      ", 2, '2021-04-01', 'coronavac', 1);"
      "INSERT INTO vaccination_status (person_id, doses, first_day, full_day, last_day, updated_at) VALUES (" + k +
      ", 1, '2021-03-01', '', '2021-03-01', 1);"
      "INSERT INTO vaccination_status (person_id, doses, first_day, full_day, last_day, updated_at) VALUES (" + m +
      ", 2, '2021-03-01', '2021-04-01', '2021-04-01', 1);"
      "INSERT INTO test_rounds (id, campaign, area_code, day, profile, created_at) VALUES (1, 'c', '" +
      std::string(kGrid1) + "', '2022-07-01', 'p', 1);"
      "INSERT INTO test_rounds (id, campaign, area_code, day, profile, created_at) VALUES (2, 'c', '" +
      std::string(kGrid1) + "', '2022-07-02', 'p', 1);"
      "INSERT INTO round_exclusions (round_id, person_id, reason, at) VALUES (1, " + k + ", 'hospital', 1);"
      "INSERT INTO round_exclusions (round_id, person_id, reason, at) VALUES (1, " + m + ", 'hospital', 1);"
      "INSERT INTO round_exclusions (round_id, person_id, reason, at) VALUES (2, " + m + ", 'hospital', 1);"
      "INSERT INTO referrals (id, person_id, requested_by, requested_at, group_key, source, start_date) VALUES (995, " +
      m + ", 1, 1, 'close_contact', 'case', '2022-07-01');"
      "INSERT INTO resident_otps (id, person_id, salt, code_hash, created_at, expires_at) VALUES (991, " + m +
      ", 's', 'h', 1, 2);"
      "INSERT INTO resident_sessions (token_hash, person_id, created_at, expires_at) VALUES ('tok-m', " + m +
      ", 1, 9999999999999);"
      "INSERT INTO resident_sessions (token_hash, person_id, created_at, expires_at) VALUES ('tok-k', " + k +
      ", 1, 9999999999999);");
  auto who = [&](const std::string& sql) {
    Q q(*db, sql);
    return q.next() ? q.int64(0) : -1;
  };
  auto doses = [&](std::int64_t person) {
    std::vector<std::int64_t> out;
    Q q(*db, "SELECT dose FROM vaccination_doses WHERE person_id = " + std::to_string(person) + " ORDER BY dose");
    while (q.next()) out.push_back(q.int64(0));
    return out;
  };
  auto status = [&](std::int64_t person) {
    Q q(*db, "SELECT doses, full_day FROM vaccination_status WHERE person_id = " + std::to_string(person));
    return q.next() ? std::to_string(q.int64(0)) + "/" + q.str(1) : std::string("none");
  };
  auto excluded = [&](int round) {
    std::vector<std::int64_t> out;
    Q q(*db, "SELECT person_id FROM round_exclusions WHERE round_id = " + std::to_string(round) + " ORDER BY person_id");
    while (q.next()) out.push_back(q.int64(0));
    return out;
  };
  struct Row {
    const char* sql;
    bool moves;
  };
  const std::vector<Row> rows = {
      {"SELECT person_id FROM venue_scans WHERE id = 981", true},
      {"SELECT person_id FROM referrals WHERE id = 995", true},
      {"SELECT person_id FROM resident_otps WHERE id = 991", true},
      {"SELECT person_id FROM resident_sessions WHERE token_hash = 'tok-m'", true},
      {"SELECT person_id FROM round_exclusions WHERE round_id = 2", true},
  };
  for (const auto& r : rows) ASSERT_EQ(who(r.sql), ps[1].id) << r.sql;

  auto merge = repo_->merge_persons(ps[0].id, ps[1].id, 7, from_unix_ms(1'750'000'001'000));
  for (const auto& r : rows) EXPECT_EQ(who(r.sql), r.moves ? ps[0].id : ps[1].id) << "after the merge: " << r.sql;
  EXPECT_EQ(who("SELECT person_id FROM venue_scans WHERE id = 982"), ps[0].id);
  EXPECT_EQ(who("SELECT person_id FROM resident_sessions WHERE token_hash = 'tok-k'"), ps[0].id);
  EXPECT_EQ(excluded(1), (std::vector<std::int64_t>{ps[0].id, ps[1].id}));  // both excluded from round 1: stays
  EXPECT_EQ(doses(ps[0].id), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(doses(ps[1].id), std::vector<std::int64_t>{1});  // the same first dose recorded twice stays
  EXPECT_EQ(status(ps[0].id), "2/2021-04-01");                // full course now, from the moved dose
  EXPECT_EQ(status(ps[1].id), "1/");
  auto moved = nlohmann::json::parse(merge.moved);
  EXPECT_EQ(moved["resident_sessions.person_id"], nlohmann::json::array({"tok-m"}));
  EXPECT_EQ(moved["vaccination_doses.person_id"], nlohmann::json::array({2}));
  EXPECT_EQ(moved["round_exclusions.person_id"], nlohmann::json::array({2}));

  repo_->undo_merge(merge.id);
  for (const auto& r : rows) EXPECT_EQ(who(r.sql), ps[1].id) << "after the undo: " << r.sql;
  EXPECT_EQ(who("SELECT person_id FROM resident_sessions WHERE token_hash = 'tok-k'"), ps[0].id);
  EXPECT_EQ(doses(ps[0].id), std::vector<std::int64_t>{1});
  EXPECT_EQ(doses(ps[1].id), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(status(ps[0].id), "1/");
  EXPECT_EQ(status(ps[1].id), "2/2021-04-01");
  EXPECT_EQ(excluded(1), (std::vector<std::int64_t>{ps[0].id, ps[1].id}));
}

// A merge leaves one person with one open case: the case opened first stays open (here the
// merged record's), every other open case is closed as a duplicate (outcome excluded, at the
// merge) and hands its places and its contacts to the case kept, except a contact the kept case
// lists already. Closed cases are not touched. Undo reopens the duplicate with its investigation.
TEST_P(MergeTest, TwoOpenCasesBecomeOneAndUndoReopensTheOther) {
  seed_areas(*repo_);
  std::vector<Person> ps{make_person(resident_id("19700101", 1), "钱多", kGrid1, "1970-01-01"),
                         make_person(resident_id("19700101", 3), "钱多", kGrid1, "1970-01-01"),
                         make_person(resident_id("19710101", 5), "孙他人", kGrid1, "1971-01-01"),
                         make_person(resident_id("19720101", 7), "李另人", kGrid1, "1972-01-01")};
  repo_->upsert_persons(ps);
  const std::string k = std::to_string(ps[0].id), m = std::to_string(ps[1].id), o = std::to_string(ps[2].id),
                    q4 = std::to_string(ps[3].id);
  auto db = is_pg() ? open_pg(url_) : open_sqlite(dir_ + "/test.db");
  db->exec_script(
      "INSERT INTO cases (id, person_id, source, opened_at) VALUES (901, " + m + ", 'lab', 1000);"
      "INSERT INTO cases (id, person_id, source, opened_at) VALUES (902, " + k + ", 'lab', 2000);"
      "INSERT INTO cases (id, person_id, source, status, outcome, opened_at, closed_at) VALUES (904, " + m +
      ", 'lab', 'closed', 'recovered', 500, 600);"
      "INSERT INTO case_contacts (id, case_id, person_id, found_at) VALUES (931, 902, " + o + ", 1);"
      "INSERT INTO case_contacts (id, case_id, person_id, found_at) VALUES (932, 901, " + o + ", 1);"
      "INSERT INTO case_contacts (id, case_id, person_id, found_at) VALUES (933, 902, " + q4 + ", 1);"
      "INSERT INTO case_places (id, case_id, description, from_at, to_at, added_at) VALUES (941, 902, 'market', 1, 2, "
      "1);");
  auto one = [&](const std::string& sql) {
    Q q(*db, sql);
    return q.next() ? q.str(0) : std::string("-");
  };
  auto open_cases = [&](std::int64_t person) {
    std::vector<std::int64_t> out;
    Q q(*db, "SELECT id FROM cases WHERE status = 'open' AND person_id = " + std::to_string(person) + " ORDER BY id");
    while (q.next()) out.push_back(q.int64(0));
    return out;
  };
  const auto when = from_unix_ms(1'750'000'001'000);
  auto merge = repo_->merge_persons(ps[0].id, ps[1].id, 7, when);
  EXPECT_EQ(open_cases(ps[0].id), std::vector<std::int64_t>{901});  // opened first
  EXPECT_EQ(one("SELECT status || '/' || outcome FROM cases WHERE id = 902"), "closed/excluded");
  EXPECT_EQ(one("SELECT closed_at FROM cases WHERE id = 902"), "1750000001000");
  EXPECT_EQ(one("SELECT status || '/' || outcome || '/' || person_id FROM cases WHERE id = 904"),
            "closed/recovered/" + k);  // moved, not reopened nor counted
  EXPECT_EQ(one("SELECT case_id FROM case_contacts WHERE id = 931"), "902");  // 901 lists that person already
  EXPECT_EQ(one("SELECT case_id FROM case_contacts WHERE id = 933"), "901");
  EXPECT_EQ(one("SELECT case_id FROM case_places WHERE id = 941"), "901");
  auto moved = nlohmann::json::parse(merge.moved);
  EXPECT_EQ(moved["cases.duplicates"],
            nlohmann::json::parse(R"([{"case":902,"kept_case":901,"contacts":[933],"places":[941]}])"));

  repo_->undo_merge(merge.id);
  EXPECT_EQ(open_cases(ps[0].id), std::vector<std::int64_t>{902});
  EXPECT_EQ(open_cases(ps[1].id), std::vector<std::int64_t>{901});
  EXPECT_EQ(one("SELECT status || '/' || outcome FROM cases WHERE id = 902"), "open/");
  EXPECT_EQ(one("SELECT COALESCE(closed_at, 0) FROM cases WHERE id = 902"), "0");
  EXPECT_EQ(one("SELECT case_id FROM case_contacts WHERE id = 933"), "902");
  EXPECT_EQ(one("SELECT case_id FROM case_places WHERE id = 941"), "902");
  EXPECT_EQ(one("SELECT case_id FROM case_contacts WHERE id = 932"), "901");
  EXPECT_EQ(one("SELECT status || '/' || outcome || '/' || person_id FROM cases WHERE id = 904"),
            "closed/recovered/" + m);

  // A merge that brings no open case closes nothing: the kept record's one open case stays.
  db->exec_script("UPDATE cases SET status = 'closed', outcome = 'recovered', closed_at = 3000 WHERE id = 901;");
  auto again = repo_->merge_persons(ps[0].id, ps[1].id, 7, when);
  EXPECT_EQ(open_cases(ps[0].id), std::vector<std::int64_t>{902});
  EXPECT_FALSE(nlohmann::json::parse(again.moved).contains("cases.duplicates"));
}

// The outbox's messages about the person, the persons of signed referral letters and a round
// plan's units of one person follow the merge. A unit of the merged record planned alone moves
// (the kept record then finds that slot as its own), unless the kept record has a slot in that
// round already, alone or through its household's unit; households' units name no person and are
// not touched. Undo puts back exactly what moved.
TEST_P(MergeTest, MessagesSlotUnitsAndLetterPersonsFollowTheMergeAndUndo) {
  seed_areas(*repo_);
  std::vector<Person> ps{make_person(resident_id("19700101", 1), "钱多", kGrid1, "1970-01-01"),
                         make_person(resident_id("19700101", 3), "钱多", kGrid1, "1970-01-01")};
  repo_->upsert_persons(ps);
  const std::string k = std::to_string(ps[0].id), m = std::to_string(ps[1].id), g = kGrid1;
  auto db = is_pg() ? open_pg(url_) : open_sqlite(dir_ + "/test.db");
  std::string sql =
      "INSERT INTO households (id, household_no, area_code) VALUES (8801, 'H-8801', '" + g + "');"
      "INSERT INTO households (id, household_no, area_code) VALUES (8802, 'H-8802', '" + g + "');"
      "UPDATE persons SET household_id = 8801 WHERE id = " + k + ";"
      "INSERT INTO notify_messages (id, channel, recipient, kind, person_id, body, next_attempt_at, created_at) "
      "VALUES (871, 'sms', '13700000000', 'order_created', " + m + ", 'b', 1, 1);"
      "INSERT INTO notify_messages (id, channel, recipient, kind, person_id, body, next_attempt_at, created_at) "
      "VALUES (872, 'push', 'user:gw', 'supply_request_late', 0, 'b', 1, 1);"
      "INSERT INTO referral_letters (id, direction, document_id, status, created_at) VALUES (851, 'in', 'doc-1', "
      "'received', 1);"
      "INSERT INTO referral_letter_persons (id, letter_id, idx, person_id) VALUES (852, 851, 0, " + m + ");"
      "INSERT INTO referral_letter_persons (id, letter_id, idx, person_id) VALUES (853, 851, 1, 0);";
  for (int r = 1; r <= 3; ++r)
    sql += "INSERT INTO test_rounds (id, campaign, area_code, day, profile, created_at) VALUES (" + std::to_string(r) +
           ", 'c', '" + g + "', '2022-07-0" + std::to_string(r) + "', 'p', 1);";
  auto unit = [&](int id, int round, const std::string& household, const std::string& person, int slot) {
    return "INSERT INTO round_slot_units (id, round_id, area_code, household_id, person_id, slot_id, members) VALUES (" +
           std::to_string(id) + ", " + std::to_string(round) + ", '" + g + "', " + household + ", " + person + ", " +
           std::to_string(slot) + ", 1);";
  };
  sql += unit(861, 1, "0", m, 11);     // round 1: the merged record alone; the kept one has no slot
  sql += unit(866, 1, "8802", "0", 12);  // another household's unit
  sql += unit(862, 2, "8801", "0", 21);  // round 2: the kept record's household ...
  sql += unit(863, 2, "0", m, 22);       // ... so the merged record's own unit stays
  sql += unit(864, 3, "0", k, 31);       // round 3: both alone: the kept record's stays its slot
  sql += unit(865, 3, "0", m, 32);
  db->exec_script(sql);
  auto who = [&](const std::string& q_sql) {
    Q q(*db, q_sql);
    return q.next() ? q.int64(0) : -1;
  };
  auto slots = open_slot_repository(*repo_);
  auto slot_of = [&](int round) {
    auto u = slots->unit_of(round, ps[0].id, 8801);
    return u ? u->slot_id : 0;
  };
  struct Row {
    const char* sql;
    bool moves;
  };
  const std::vector<Row> rows = {
      {"SELECT person_id FROM notify_messages WHERE id = 871", true},
      {"SELECT person_id FROM referral_letter_persons WHERE id = 852", true},
      {"SELECT person_id FROM round_slot_units WHERE id = 861", true},
      {"SELECT person_id FROM round_slot_units WHERE id = 863", false},
      {"SELECT person_id FROM round_slot_units WHERE id = 865", false},
  };
  for (const auto& r : rows) ASSERT_EQ(who(r.sql), ps[1].id) << r.sql;
  EXPECT_EQ(slot_of(1), 0);
  EXPECT_EQ(slot_of(2), 21);
  EXPECT_EQ(slot_of(3), 31);

  auto merge = repo_->merge_persons(ps[0].id, ps[1].id, 7, from_unix_ms(1'750'000'001'000));
  for (const auto& r : rows) EXPECT_EQ(who(r.sql), r.moves ? ps[0].id : ps[1].id) << "after the merge: " << r.sql;
  EXPECT_EQ(slot_of(1), 11);  // the merged record's slot is the kept record's now
  EXPECT_EQ(slot_of(2), 21);  // still its household's
  EXPECT_EQ(slot_of(3), 31);
  EXPECT_EQ(who("SELECT person_id FROM notify_messages WHERE id = 872"), 0);
  EXPECT_EQ(who("SELECT person_id FROM referral_letter_persons WHERE id = 853"), 0);
  EXPECT_EQ(who("SELECT household_id FROM round_slot_units WHERE id = 866"), 8802);
  EXPECT_EQ(who("SELECT person_id FROM round_slot_units WHERE id = 866"), 0);
  auto moved = nlohmann::json::parse(merge.moved);
  EXPECT_EQ(moved["notify_messages.person_id"], nlohmann::json::array({871}));
  EXPECT_EQ(moved["round_slot_units.person_id"], nlohmann::json::array({861}));
  EXPECT_EQ(moved["referral_letter_persons.person_id"], nlohmann::json::array({852}));

  repo_->undo_merge(merge.id);
  for (const auto& r : rows) EXPECT_EQ(who(r.sql), ps[1].id) << "after the undo: " << r.sql;
  EXPECT_EQ(who("SELECT person_id FROM round_slot_units WHERE id = 864"), ps[0].id);
  EXPECT_EQ(slot_of(1), 0);
  EXPECT_EQ(slot_of(3), 31);
}

// One person is in one treatment after a merge. The duplicate case's active treatment moves to
// the case kept when that case has none (its order stays where it is); when the kept case has its
// own, that one and its order's stage stay, and the duplicate's treatment ends (status
// `duplicate`, at the merge, by the merging user, its note saying why) with its control order
// released at the merge. An order with a handover pending refuses the merge, nothing written.
// Undo puts the treatments and the order back.
TEST_P(MergeTest, ADuplicateCaseHandsOverOrEndsItsTreatment) {
  seed_areas(*repo_);
  std::vector<Person> ps{make_person(resident_id("19700101", 1), "钱多", kGrid1, "1970-01-01"),
                         make_person(resident_id("19700101", 3), "钱多", kGrid1, "1970-01-01"),
                         make_person(resident_id("19800101", 1), "孙少", kGrid1, "1980-01-01"),
                         make_person(resident_id("19800101", 3), "孙少", kGrid1, "1980-01-01")};
  repo_->upsert_persons(ps);
  std::vector<Org> orgs(2);
  for (int i = 0; i < 2; ++i) {
    orgs[i].code = "HOSP-" + std::to_string(i);
    orgs[i].name = "医院" + std::to_string(i);
    orgs[i].kind = OrgKind::hospital;
    orgs[i].area_code = kGrid1;
  }
  repo_->upsert_orgs(orgs);
  auto loops = open_loop_repository(*repo_);
  auto order_in = [&](std::int64_t person, std::int64_t hospital, std::int64_t since_ms) {
    OrderRow r;
    r.order.person_id = person;
    r.order.group = "confirmed_case";
    r.order.profile = "p";
    r.order.start = *parse_date("2022-07-01");
    r.order.source = loop::OrderSource::close_contact;
    r.order.current = {loop::Stage::hospital, loop::Owner::org(hospital), from_unix_ms(since_ms)};
    r.plan_json = "{}";
    r.created_at = from_unix_ms(since_ms);
    return loops->insert_order(r);
  };
  const auto o1 = order_in(ps[1].id, orgs[0].id, 3000);  // pair 1: only the merged record is treated
  const auto o2 = order_in(ps[2].id, orgs[0].id, 3000);  // pair 2: both are
  const auto o3 = order_in(ps[3].id, orgs[1].id, 4000);
  auto id = [](std::int64_t v) { return std::to_string(v); };
  const std::string h0 = id(orgs[0].id), h1 = id(orgs[1].id);
  auto db = is_pg() ? open_pg(url_) : open_sqlite(dir_ + "/test.db");
  db->exec_script(
      "INSERT INTO cases (id, person_id, source, opened_at) VALUES (701, " + id(ps[0].id) + ", 'lab', 1000);"
      "INSERT INTO cases (id, person_id, source, opened_at) VALUES (702, " + id(ps[1].id) + ", 'lab', 2000);"
      "INSERT INTO treatments (id, case_id, person_id, org_id, facility, order_id, admitted_at) VALUES (711, 702, " +
      id(ps[1].id) + ", " + h0 + ", 'designated_hospital', " + id(o1) + ", 3000);"
      "INSERT INTO cases (id, person_id, source, opened_at) VALUES (703, " + id(ps[2].id) + ", 'lab', 1000);"
      "INSERT INTO cases (id, person_id, source, opened_at) VALUES (704, " + id(ps[3].id) + ", 'lab', 2000);"
      "INSERT INTO treatments (id, case_id, person_id, org_id, facility, order_id, admitted_at) VALUES (712, 703, " +
      id(ps[2].id) + ", " + h0 + ", 'designated_hospital', " + id(o2) + ", 3000);"
      "INSERT INTO treatments (id, case_id, person_id, org_id, facility, order_id, admitted_at, note) VALUES (713, "
      "704, " + id(ps[3].id) + ", " + h1 + ", 'shelter_hospital', " + id(o3) + ", 4000, 'bed 12');");
  auto one = [&](const std::string& sql) {
    Q q(*db, sql);
    return q.next() ? q.str(0) : std::string("-");
  };
  auto order_state = [&](std::int64_t order) {
    auto o = loops->order(order, Scope::everything());
    return std::string(loop::to_string(o->order.status)) + "/" + loop::to_string(o->order.current.stage) + "/" +
           std::to_string(o->order.current.owner.org_id);
  };
  auto active_orders = [&](std::int64_t person) {
    std::vector<std::int64_t> ids;
    for (const auto& o : loops->active_orders_of_person(person)) ids.push_back(o.order.id);
    return ids;
  };
  const auto when = from_unix_ms(1'750'000'001'000);

  // Pair 1: the kept case has no treatment: the duplicate's moves to it, order and all.
  auto m1 = repo_->merge_persons(ps[0].id, ps[1].id, 7, when);
  EXPECT_EQ(one("SELECT status || '/' || outcome FROM cases WHERE id = 702"), "closed/excluded");
  EXPECT_EQ(one("SELECT case_id || '/' || status || '/' || person_id FROM treatments WHERE id = 711"),
            "701/admitted/" + id(ps[0].id));
  EXPECT_EQ(order_state(o1), "active/hospital/" + h0);
  EXPECT_EQ(active_orders(ps[0].id), std::vector<std::int64_t>{o1});
  EXPECT_EQ(nlohmann::json::parse(m1.moved)["cases.duplicates"][0]["treatments"],
            nlohmann::json::parse(R"([{"treatment":711,"moved_to":701}])"));
  repo_->undo_merge(m1.id);
  EXPECT_EQ(one("SELECT case_id || '/' || status || '/' || person_id FROM treatments WHERE id = 711"),
            "702/admitted/" + id(ps[1].id));
  EXPECT_EQ(one("SELECT status FROM cases WHERE id = 702"), "open");

  // Pair 2: a handover pending on the duplicate's order refuses the merge, nothing written.
  loop::Handover hv;
  hv.order_id = o3;
  hv.from = loop::Stage::hospital;
  hv.to = loop::Stage::hospital;
  hv.sender = loop::Owner::org(orgs[1].id);
  hv.receiver = loop::Owner::org(orgs[0].id);
  hv.sent_at = from_unix_ms(5000);
  hv.deadline = from_unix_ms(9000);
  loops->insert_handover(hv);
  BIHUAN_EXPECT_ERROR(repo_->merge_persons(ps[2].id, ps[3].id, 7, when), conflict);
  EXPECT_EQ(one("SELECT status FROM cases WHERE id = 704"), "open");
  EXPECT_EQ(repo_->person(ps[3].id, Scope::everything())->merged_into, 0);
  ASSERT_TRUE(loops->withdraw_handover(hv.id, from_unix_ms(6000), 7, "wrong hospital"));

  // The kept case is treated: its treatment and stage stay; the duplicate's ends, its order is
  // released at the merge.
  auto m2 = repo_->merge_persons(ps[2].id, ps[3].id, 7, when);
  EXPECT_EQ(one("SELECT case_id || '/' || status FROM treatments WHERE id = 712"), "703/admitted");
  EXPECT_EQ(order_state(o2), "active/hospital/" + h0);
  EXPECT_EQ(one("SELECT case_id || '/' || status || '/' || discharged_at || '/' || discharged_by FROM treatments "
                "WHERE id = 713"),
            "704/duplicate/1750000001000/7");
  EXPECT_EQ(one("SELECT note FROM treatments WHERE id = 713"),
            "bed 12; duplicate of case 703 (persons merged): treatment 712 continues");
  EXPECT_EQ(order_state(o3), "released/released/" + h1);
  EXPECT_EQ(one("SELECT since FROM control_orders WHERE id = " + id(o3)), "1750000001000");
  EXPECT_EQ(one("SELECT stage FROM order_stages WHERE order_id = " + id(o3) + " ORDER BY since DESC, id DESC"),
            "released");
  EXPECT_EQ(active_orders(ps[2].id), std::vector<std::int64_t>{o2});  // one treatment, one order
  auto e = nlohmann::json::parse(m2.moved)["cases.duplicates"][0]["treatments"][0];
  EXPECT_EQ(e["treatment"], 713);
  EXPECT_EQ(e["kept_treatment"], 712);
  EXPECT_EQ(e["order"], o3);
  EXPECT_EQ(e["stage"], "hospital");

  repo_->undo_merge(m2.id);
  EXPECT_EQ(one("SELECT case_id || '/' || status || '/' || COALESCE(discharged_at, 0) || '/' || note || '/' || "
                "person_id FROM treatments WHERE id = 713"),
            "704/admitted/0/bed 12/" + id(ps[3].id));
  EXPECT_EQ(order_state(o3), "active/hospital/" + h1);
  EXPECT_EQ(active_orders(ps[3].id), std::vector<std::int64_t>{o3});
  EXPECT_EQ(active_orders(ps[2].id), std::vector<std::int64_t>{o2});
  EXPECT_EQ(one("SELECT status FROM cases WHERE id = 704"), "open");
}

INSTANTIATE_TEST_SUITE_P(Backends, MergeTest, ::testing::Values("sqlite", "postgresql"), backend_name);

}  // namespace
}  // namespace bihuan::store::testing
