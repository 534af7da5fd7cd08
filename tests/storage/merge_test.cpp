// Identity resolution: duplicate candidates, merge, undo.
#include <nlohmann/json.hpp>

#include <algorithm>

#include "fixture.hpp"
#include "store/db.hpp"
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

INSTANTIATE_TEST_SUITE_P(Backends, MergeTest, ::testing::Values("sqlite", "postgresql"), backend_name);

}  // namespace
}  // namespace bihuan::store::testing
