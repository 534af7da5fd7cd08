// The testing service (核酸检测) on SQLite and, when BIHUAN_TEST_PG is set, PostgreSQL: a round
// over a street, pooled tubes, boxes, lab results, pool re-tests, cases, coverage, and the
// jurisdiction rules (outside the scope = does not exist).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "core/nat.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "store/db.hpp"
#include "store/repository.hpp"
#include "nat/service.hpp"
#include "store/case_repository.hpp"

namespace bihuan::nattest {

using looptest::area;
using looptest::code_of;
using looptest::resident_id;
using nlohmann::json;

Instant at(const std::string& s) { return *parse_instant(s); }

class NatService : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr const char* kStreet = "110105001";
  static constexpr const char* kGridA = "110105001001001";
  static constexpr const char* kGridB = "110105001001002";
  static constexpr const char* kOtherStreetGrid = "110105002001001";

  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas({area("11", "北京市"), area("1101", "市辖区"), area("110105", "朝阳区"),
                         area(kStreet, "建外街道"), area("110105001001", "建外社区"), area(kGridA, "第1网格"),
                         area(kGridB, "第2网格"), area("110105002", "朝外街道"), area("110105002001", "朝外社区"),
                         area(kOtherStreetGrid, "第1网格")});
    std::vector<Org> orgs(2);
    orgs[0].code = "LAB-1";
    orgs[0].name = "朝阳检测所";
    orgs[0].kind = OrgKind::lab;
    orgs[0].area_code = "110105";
    orgs[1].code = "LAB-2";
    orgs[1].name = "另一检测所";
    orgs[1].kind = OrgKind::lab;
    orgs[1].area_code = "110105";
    repo_->upsert_orgs(orgs);
    lab_ = orgs[0].id;
    lab2_ = orgs[1].id;
    // Households: A1 (3 people, grid A), A2 (2 people, grid A), B1 (2 people, grid B); one
    // person in the other street.
    std::vector<Household> hs(4);
    const char* grids[] = {kGridA, kGridA, kGridB, kOtherStreetGrid};
    for (int i = 0; i < 4; ++i) {
      hs[i].household_no = "H" + std::to_string(i);
      hs[i].area_code = grids[i];
      hs[i].address = std::string("建外大街") + std::to_string(i + 1) + "号";
    }
    repo_->upsert_households(hs);
    const int sizes[] = {3, 2, 2, 1};
    std::vector<Person> ps;
    int seq = 0;
    for (int h = 0; h < 4; ++h)
      for (int k = 0; k < sizes[h]; ++k) {
        Person p;
        p.doc_number = resident_id("110105", "19800101", ++seq);
        p.name = "居民" + std::to_string(seq);
        p.birth_date = *parse_date("1980-01-01");
        p.area_code = grids[h];
        p.household_id = hs[h].id;
        p.address = hs[h].address;
        ps.push_back(p);
      }
    repo_->upsert_persons(ps);
    persons_ = ps;
    loop_ = std::make_unique<loop::Service>(*repo_, profiles_, clock_);
    signer_ = std::make_unique<loop::CodeSigner>(db_->dir + "/code-signing");
    svc_ = std::make_unique<nat::Service>(*repo_, *loop_, signer_.get(), clock_);
    centre_.role = Role::command_centre;
    centre_.scope = Scope::area("110105");
    centre_.user_id = 2;
    centre_.username = "centre";
    sampler_.role = Role::sampler;
    sampler_.scope = Scope::area(kStreet);
    sampler_.user_id = 3;
    sampler_.username = "sampler";
    lab_caller_.role = Role::lab;
    lab_caller_.scope = Scope::org(lab_);
    lab_caller_.user_id = 4;
    lab_caller_.username = "lab";
    other_sampler_ = sampler_;
    other_sampler_.scope = Scope::area("110105002");
    other_sampler_.user_id = 5;
  }

  store::SamplingPointRow point() {
    nat::NewPoint p;
    p.name = "建外采样点";
    p.area_code = kStreet;
    p.lab_org_id = lab_;
    return svc_->create_point(p, centre_);
  }
  store::RoundRow round(int ratio = 5) {
    nat::NewRounds r;
    r.area_code = kStreet;
    r.days = {*parse_date("2022-04-04")};
    r.pool_ratio = ratio;
    r.rule = "outbreak_district_10m";
    return svc_->start_rounds(r, centre_).at(0);
  }
  nat::SampleWho by_doc(int i) {
    nat::SampleWho w;
    w.doc_number = persons_[static_cast<std::size_t>(i)].doc_number;
    return w;
  }
  nat::IntakeReport post(const std::string& barcode, const std::string& result, const Caller* who = nullptr) {
    nat::ResultInput in;
    in.row = 2;
    in.barcode = barcode;
    in.reported = result;
    in.tested_at = clock_.now();
    return svc_->post_results({in}, 0, "api", who ? *who : lab_caller_);
  }
  // Opens a tube, samples persons [from, to), closes it, boxes, seals and has the lab receive it.
  store::TubeRow pooled(const std::string& barcode, std::int64_t point_id, std::int64_t round_id, int from, int to,
                        int ratio = 5) {
    nat::NewTube t;
    t.barcode = barcode;
    t.point_id = point_id;
    t.round_id = round_id;
    t.ratio = ratio;
    auto tube = svc_->open_tube(t, sampler_);
    for (int i = from; i < to; ++i) svc_->sample(tube.id, by_doc(i), sampler_);
    auto b = svc_->open_box("BOX-" + barcode, point_id, 0, sampler_);
    svc_->add_to_box(b.id, {barcode}, sampler_);
    svc_->seal_box(b.id, sampler_);
    svc_->pick_up_box(b.id, "张师傅", sampler_);
    svc_->receive_box(b.id, lab_caller_);
    return svc_->tube(tube.id, centre_).tube;
  }

  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{at("2022-04-04T01:00:00Z")};
  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<loop::Service> loop_;
  std::unique_ptr<loop::CodeSigner> signer_;
  std::unique_ptr<nat::Service> svc_;
  std::vector<Person> persons_;
  std::int64_t lab_ = 0, lab2_ = 0;
  Caller centre_, sampler_, lab_caller_, other_sampler_;
};

TEST_P(NatService, PooledTubeFillsClosesAndNeverOverflows) {
  auto p = point();
  auto r = round(5);
  nat::NewTube t;
  t.barcode = "T0001";
  t.point_id = p.id;
  t.round_id = r.id;
  t.ratio = 0;  // the round's ratio
  auto tube = svc_->open_tube(t, sampler_);
  EXPECT_EQ(tube.ratio, 5);
  for (int i = 0; i < 4; ++i) {
    auto s = svc_->sample(tube.id, by_doc(i), sampler_);
    EXPECT_FALSE(s.tube_closed);
    EXPECT_EQ(s.masked_name.substr(0, 3), "居");  // masked: only the first character
    EXPECT_NE(s.masked_name, persons_[static_cast<std::size_t>(i)].name);
  }
  // A person already in an open tube of the round cannot be sampled into it again.
  EXPECT_EQ(code_of([&] { svc_->sample(tube.id, by_doc(0), sampler_); }), ErrorCode::conflict);
  auto s5 = svc_->sample(tube.id, by_doc(4), sampler_);
  EXPECT_TRUE(s5.tube_closed);
  EXPECT_EQ(s5.members, 5);
  // A closed (full) tube takes nobody.
  EXPECT_EQ(code_of([&] { svc_->sample(tube.id, by_doc(5), sampler_); }), ErrorCode::conflict);
  EXPECT_EQ(svc_->tube(tube.id, centre_).members.size(), 5u);
  // The same barcode twice is a conflict.
  EXPECT_EQ(code_of([&] { svc_->open_tube(t, sampler_); }), ErrorCode::conflict);
  // An unregistered ID number is not found.
  t.barcode = "T0002";
  auto tube2 = svc_->open_tube(t, sampler_);
  nat::SampleWho w;
  w.doc_number = resident_id("110105", "19900101", 999);
  EXPECT_EQ(code_of([&] { svc_->sample(tube2.id, w, sampler_); }), ErrorCode::not_found);
}

TEST_P(NatService, DeviceUploadTakesWholeTubesAndReportsTheRest) {
  auto p = point();
  auto r = round(5);
  auto tube_of = [&](const std::string& barcode, std::vector<int> who, bool close = true) {
    nat::UploadTube t;
    t.barcode = barcode;
    t.close = close;
    for (int i : who) t.members.push_back(by_doc(i));
    return t;
  };
  nat::SampleUpload u;
  u.point_id = p.id;
  u.round_id = r.id;
  u.tubes.push_back(tube_of("U-0001", {0, 1, 2, 3, 4}));       // full: closes
  u.tubes.push_back(tube_of("U-0002", {5}, false));            // stays open
  auto unknown = by_doc(6);
  unknown.doc_number = resident_id("110105", "19900101", 998);
  auto bad = tube_of("U-0003", {6});
  bad.members.push_back(unknown);                              // an unregistered number
  u.tubes.push_back(bad);
  u.tubes.push_back(tube_of("U-0004", {0, 1, 2, 3, 4, 5}));    // over the ratio
  u.tubes.push_back(tube_of("U-0005", {6, 6}));                // the same person twice
  u.tubes.push_back(tube_of("x", {6}));                        // a malformed barcode
  auto rep = svc_->upload_samples(u, sampler_);
  EXPECT_EQ(rep.tubes, 2);
  EXPECT_EQ(rep.samples, 6);
  EXPECT_EQ(rep.rejected, 4);
  ASSERT_EQ(rep.errors.size(), 4u);
  std::map<std::int64_t, nat::UploadError> by_tube;
  for (const auto& e : rep.errors) by_tube[e.tube] = e;
  EXPECT_EQ(by_tube[2].member, 1);
  EXPECT_EQ(by_tube[2].field, "doc_number");
  EXPECT_EQ(by_tube[3].field, "members");
  EXPECT_EQ(by_tube[4].member, 1);
  EXPECT_EQ(by_tube[5].field, "barcode");
  // Refused tubes left nothing; taken ones hold their members, the full one closed.
  EXPECT_EQ(code_of([&] { svc_->tube_by_barcode("U-0003", centre_); }), ErrorCode::not_found);
  auto t1 = svc_->tube_by_barcode("U-0001", centre_);
  EXPECT_EQ(t1.status, "closed");
  EXPECT_EQ(t1.members, 5);
  EXPECT_EQ(svc_->tube(t1.id, centre_).members.size(), 5u);
  auto t2 = svc_->tube_by_barcode("U-0002", centre_);
  EXPECT_EQ(t2.status, "open");
  EXPECT_EQ(t2.ratio, 5);
  // The same upload again: the taken tubes are duplicates, nothing is added.
  nat::SampleUpload again;
  again.point_id = p.id;
  again.round_id = r.id;
  again.tubes = {tube_of("U-0001", {4, 3, 2, 1, 0}), tube_of("U-0002", {5}, false)};
  auto rep2 = svc_->upload_samples(again, sampler_);
  EXPECT_EQ(rep2.duplicates, 2);
  EXPECT_EQ(rep2.tubes, 0);
  EXPECT_EQ(svc_->tube(t1.id, centre_).members.size(), 5u);
  // A known barcode with other members is refused.
  again.tubes = {tube_of("U-0001", {6})};
  auto rep3 = svc_->upload_samples(again, sampler_);
  EXPECT_EQ(rep3.rejected, 1);
  // A person in an open tube of the round cannot be put in another open one: the database's
  // rule, refused per tube with nothing left behind.
  again.tubes = {tube_of("U-0006", {5}, false), tube_of("U-0007", {6}, false)};
  auto rep4 = svc_->upload_samples(again, sampler_);
  EXPECT_EQ(rep4.tubes, 1);
  EXPECT_EQ(rep4.rejected, 1);
  ASSERT_EQ(rep4.errors.size(), 1u);
  EXPECT_EQ(rep4.errors[0].tube, 0);
  EXPECT_EQ(code_of([&] { svc_->tube_by_barcode("U-0006", centre_); }), ErrorCode::not_found);
  // A sampler of another street cannot use this point; a lab cannot sample.
  EXPECT_EQ(code_of([&] { svc_->upload_samples(u, other_sampler_); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->upload_samples(u, lab_caller_); }), ErrorCode::permission_denied);
}

// Persons by document number in an upload: a number typed with blanks around it is the same
// number; a person merged into another (a duplicate record) is no longer found by theirs, and a
// tube naming them is refused whole, the rest of the upload taken.
TEST_P(NatService, UploadFindsLivePersonsByDocumentNumberNotMergedOnes) {
  auto p = point();
  auto r = round(5);
  repo_->merge_persons(persons_[5].id, persons_[6].id, 1, clock_.now());
  nat::SampleUpload u;
  u.point_id = p.id;
  u.round_id = r.id;
  nat::UploadTube a;
  a.barcode = "M-0001";
  a.close = true;
  a.members = {by_doc(0), by_doc(1)};
  a.members[1].doc_number = "  " + a.members[1].doc_number + " ";
  nat::UploadTube b;
  b.barcode = "M-0002";
  b.close = true;
  b.members = {by_doc(5), by_doc(6)};
  u.tubes = {a, b};
  const auto rep = svc_->upload_samples(u, sampler_);
  EXPECT_EQ(rep.tubes, 1);
  EXPECT_EQ(rep.samples, 2);
  ASSERT_EQ(rep.errors.size(), 1u);
  EXPECT_EQ(rep.errors[0].tube, 1);
  EXPECT_EQ(rep.errors[0].member, 1);
  EXPECT_EQ(rep.errors[0].field, "doc_number");
  const auto t = svc_->tube(svc_->tube_by_barcode("M-0001", centre_).id, centre_);
  ASSERT_EQ(t.members.size(), 2u);
  std::set<std::int64_t> ids{t.members[0].person_id, t.members[1].person_id};
  EXPECT_EQ(ids, (std::set<std::int64_t>{persons_[0].id, persons_[1].id}));
  // The kept person is found by their own number.
  b.members = {by_doc(5)};
  u.tubes = {b};
  EXPECT_EQ(svc_->upload_samples(u, sampler_).samples, 1);
}

// Key groups (重点人群): the staff of a designated organisation get a routine task on the group's
// days; a result from any channel closes it (pooled tubes are allowed); a missed one alerts and
// turns the code yellow until a result comes; removing the group cancels its open tasks.
TEST_P(NatService, KeyGroupStaffGetRoutineTasks) {
  std::vector<Org> orgs(1);
  orgs[0].code = "COLD-1";
  orgs[0].name = "冷链仓库";
  orgs[0].kind = OrgKind::enterprise;
  orgs[0].area_code = kGridA;
  repo_->upsert_orgs(orgs);
  const std::int64_t org = orgs[0].id;
  std::vector<Person> staff = {persons_[0], persons_[5]};
  for (auto& p : staff) p.workplace_org_id = org;
  repo_->upsert_persons(staff);
  // Only the active profile's groups; only organisations of the caller's area.
  EXPECT_EQ(code_of([&] { svc_->set_key_group(org, "no_such_group", std::nullopt, centre_); }), ErrorCode::invalid_argument);
  Caller far = centre_;
  far.scope = Scope::area("110106");
  EXPECT_EQ(code_of([&] { svc_->set_key_group(org, "delivery_and_market_staff", std::nullopt, far); }), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->set_key_group(org, "delivery_and_market_staff", std::nullopt, sampler_); }),
            ErrorCode::permission_denied);
  // Every 3 days from today (2022-04-04).
  auto k = svc_->set_key_group(org, "delivery_and_market_staff", std::nullopt, centre_);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->staff, 2);
  EXPECT_EQ(k->open_tasks, 2);
  EXPECT_TRUE(svc_->key_groups(far).empty());
  ASSERT_EQ(svc_->key_groups(centre_).size(), 1u);
  svc_->sweep();  // the same day again: nothing new
  store::TaskFilter f;
  f.kind = "routine";
  auto tasks = svc_->tasks(f, centre_, {});
  ASSERT_EQ(tasks.items.size(), 2u);
  EXPECT_EQ(tasks.items[0].task_day, "2022-04-04");
  // Staff with a routine task still go into pooled tubes; the negative pool closes the task.
  auto p = point();
  auto r = round(5);
  pooled("KG-POOL", p.id, r.id, 0, 5);
  post("KG-POOL", "negative");
  f.status = "cleared";
  auto cleared = svc_->tasks(f, centre_, {});
  ASSERT_EQ(cleared.items.size(), 1u);
  EXPECT_EQ(cleared.items[0].person_id, persons_[0].id);
  // Past the day and its grace: missed, alerted, yellow.
  clock_.set(at("2022-04-06T01:00:00Z"));
  const Date day6 = *parse_date("2022-04-06");
  EXPECT_EQ(loop_->colour_of(persons_[5].id, day6), policy::Colour::green);
  svc_->sweep();
  f.status = "missed";
  auto missed = svc_->tasks(f, centre_, {});
  ASSERT_EQ(missed.items.size(), 1u);
  EXPECT_EQ(missed.items[0].person_id, persons_[5].id);
  EXPECT_EQ(loop_->colour_of(persons_[5].id, day6), policy::Colour::yellow);
  bool alerted = false;
  for (const auto& a : svc_->alerts("", centre_, {}).items) alerted |= a.kind == "routine_missed" && a.person_id == persons_[5].id;
  EXPECT_TRUE(alerted);
  // 2022-04-06 is not a day of the group; 2022-04-07 is.
  f.status = "open";
  EXPECT_TRUE(svc_->tasks(f, centre_, {}).items.empty());
  // A result by ID number (sampled today) makes the missed task good: green again.
  nat::ResultInput in;
  in.doc_number = persons_[5].doc_number;
  in.reported = "negative";
  in.sampled_at = at("2022-04-06T00:30:00Z");
  in.tested_at = clock_.now();
  auto rep = svc_->post_results({in}, 0, "api", lab_caller_);
  EXPECT_EQ(rep.accepted, 1);
  EXPECT_EQ(loop_->colour_of(persons_[5].id, day6), policy::Colour::green);
  clock_.set(at("2022-04-07T01:00:00Z"));
  svc_->sweep();
  EXPECT_EQ(svc_->tasks(f, centre_, {}).items.size(), 2u);
  // Removing the group cancels its open tasks.
  EXPECT_FALSE(svc_->set_key_group(org, "", std::nullopt, centre_));
  EXPECT_TRUE(svc_->tasks(f, centre_, {}).items.empty());
  EXPECT_TRUE(svc_->key_groups(centre_).empty());
}

TEST_P(NatService, TurnaroundByLabAndPriorityAgainstTheTarget) {
  auto p = point();
  auto r = round(5);
  pooled("TA-1", p.id, r.id, 0, 5);
  pooled("TA-2", p.id, r.id, 5, 7);
  clock_.advance(std::chrono::hours{3});
  post("TA-1", "negative");
  clock_.advance(std::chrono::hours{11});
  post("TA-2", "negative");
  auto rows = svc_->turnaround(7, centre_);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].lab_org_id, lab_);
  EXPECT_EQ(rows[0].priority, "routine");
  EXPECT_EQ(rows[0].target_hours, 12);
  EXPECT_EQ(rows[0].stats.tubes, 2);
  EXPECT_EQ(rows[0].stats.within_target, 1);  // 3 h in, 14 h out
  EXPECT_EQ(rows[0].histogram.at(3), 1);
  EXPECT_EQ(rows[0].histogram.at(14), 1);
  EXPECT_EQ(svc_->turnaround(7, lab_caller_).size(), 1u);
  EXPECT_TRUE(svc_->turnaround(7, other_sampler_).empty());
  EXPECT_EQ(code_of([&] { svc_->turnaround(0, centre_); }), ErrorCode::invalid_argument);
}

TEST_P(NatService, SamplingByScannedHealthCode) {
  auto p = point();
  nat::NewTube t;
  t.barcode = "S0001";
  t.point_id = p.id;
  t.ratio = 1;
  auto tube = svc_->open_tube(t, sampler_);
  auto out = loop_->code_for(persons_[0].id, *signer_, Caller::local("t"));
  nat::SampleWho w;
  w.code_token = out.token;
  auto s = svc_->sample(tube.id, w, sampler_);
  EXPECT_EQ(s.person_id, persons_[0].id);
  EXPECT_TRUE(s.tube_closed);
  w.code_token = out.token + "x";
  t.barcode = "S0002";
  auto tube2 = svc_->open_tube(t, sampler_);
  // A forged or foreign code is a bad scan naming the code, not an authentication failure of the
  // sampler (which would log the sampler out of the console).
  try {
    svc_->sample(tube2.id, w, sampler_);
    ADD_FAILURE() << "a forged code was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_EQ(e.field(), "code");
  }
  w.code_token = "not-a-health-code";
  EXPECT_EQ(code_of([&] { svc_->sample(tube2.id, w, sampler_); }), ErrorCode::invalid_argument);
}

TEST_P(NatService, NegativePoolClearsPositivePoolFlagsAndRetestsConfirm) {
  auto p = point();
  auto r = round(5);
  auto neg = pooled("P-NEG", p.id, r.id, 0, 5);
  auto pos = pooled("P-POS", p.id, r.id, 5, 7, 5);  // two people, closed when boxed
  EXPECT_EQ(pos.status, "received");
  auto rep = post("P-NEG", "negative");
  EXPECT_EQ(rep.accepted, 1);
  EXPECT_EQ(rep.retest_tasks, 0);
  EXPECT_EQ(svc_->tube(neg.id, centre_).tube.result, "negative");
  // Idempotent: the same result again is one.
  rep = post("P-NEG", "negative");
  EXPECT_EQ(rep.accepted, 1);
  EXPECT_EQ(rep.duplicates, 1);
  EXPECT_EQ(svc_->tube(neg.id, centre_).results.size(), 1u);
  // A different result for the same tube is a conflict to review; nothing changes.
  rep = post("P-NEG", "positive");
  EXPECT_EQ(rep.rejected, 1);
  EXPECT_EQ(rep.conflicts, 1);
  ASSERT_EQ(rep.errors.size(), 1u);
  EXPECT_EQ(rep.errors[0].column, "barcode");
  EXPECT_EQ(svc_->tube(neg.id, centre_).tube.result, "negative");
  EXPECT_EQ(svc_->conflicts("open", centre_).size(), 1u);

  // The positive pool flags both members (yellow code) and makes single-tube re-tests.
  const auto before = loop_->colour_of(persons_[5].id, *parse_date("2022-04-04"));
  EXPECT_EQ(before, policy::Colour::green);
  rep = post("P-POS", "positive");
  EXPECT_EQ(rep.positive_pools, 1);
  EXPECT_EQ(rep.retest_tasks, 2);
  EXPECT_EQ(loop_->colour_of(persons_[5].id, *parse_date("2022-04-04")), policy::Colour::yellow);
  EXPECT_EQ(loop_->colour_of(persons_[0].id, *parse_date("2022-04-04")), policy::Colour::green);
  auto tasks = svc_->tasks({"open", "retest", 0}, centre_, {});
  ASSERT_EQ(tasks.items.size(), 2u);
  auto alerts = svc_->alerts("open", centre_, {});
  bool pool_alert = false;
  for (const auto& a : alerts.items) pool_alert = pool_alert || a.kind == "positive_pool";
  EXPECT_TRUE(pool_alert);

  // A flagged person cannot go into a pooled tube; the re-tests are single tubes.
  nat::NewTube t;
  t.barcode = "P-MIX";
  t.point_id = p.id;
  t.ratio = 10;
  auto mix = svc_->open_tube(t, sampler_);
  EXPECT_EQ(code_of([&] { svc_->sample(mix.id, by_doc(5), sampler_); }), ErrorCode::invalid_argument);
  auto r1 = pooled("RR-5", p.id, 0, 5, 6, 1);
  auto r2 = pooled("RR-6", p.id, 0, 6, 7, 1);
  EXPECT_NE(r1.retest_task, 0);
  rep = post("RR-5", "negative");
  EXPECT_EQ(rep.accepted, 1);
  EXPECT_EQ(loop_->colour_of(persons_[5].id, *parse_date("2022-04-04")), policy::Colour::green);
  rep = post("RR-6", "positive");
  EXPECT_EQ(rep.cases_opened, 1);
  auto cases = svc_->cases(centre_, {});
  ASSERT_EQ(cases.items.size(), 1u);
  EXPECT_EQ(cases.items[0].person_id, persons_[6].id);
  // The case's exposure window can be placed from the positive sampling (no onset date yet).
  auto record = store::open_case_repository(*repo_)->case_record(cases.items[0].id);
  ASSERT_TRUE(record && record->first_positive_at);
  EXPECT_LE(*record->first_positive_at, clock_.now());
  bool case_alert = false;
  for (const auto& a : svc_->alerts("open", centre_, {}).items)
    if (a.kind == "positive_case") {
      case_alert = true;
      EXPECT_EQ(json::parse(a.detail)["address"], persons_[6].address);
    }
  EXPECT_TRUE(case_alert);
  EXPECT_EQ(svc_->tasks({"confirmed", "", 0}, centre_, {}).items.size(), 1u);
  EXPECT_EQ(svc_->tasks({"cleared", "", 0}, centre_, {}).items.size(), 1u);
}

TEST_P(NatService, LabSeesOnlyItsTubesAndServesItsCity) {
  auto p = point();
  pooled("LL-1", p.id, 0, 0, 1, 1);
  Caller other = lab_caller_;
  other.scope = Scope::org(lab2_);
  // Another lab's tube answers exactly like an unknown one.
  auto a = post("LL-1", "negative", &other);
  auto b = post("NO-SUCH", "negative", &other);
  ASSERT_EQ(a.errors.size(), 1u);
  ASSERT_EQ(b.errors.size(), 1u);
  EXPECT_EQ(a.errors[0].reason, b.errors[0].reason);
  // By ID number: a person registered in the lab's city.
  nat::ResultInput in;
  in.doc_number = persons_[1].doc_number;
  in.reported = "negative";
  in.sampled_at = at("2022-04-04T00:30:00Z");
  auto rep = svc_->post_results({in}, 0, "csv", lab_caller_);
  EXPECT_EQ(rep.accepted, 1);
  // A bad check character is rejected with the reason.
  std::string bad = persons_[1].doc_number;
  bad.back() = bad.back() == '1' ? '2' : '1';
  in.doc_number = bad;
  rep = svc_->post_results({in}, 0, "csv", lab_caller_);
  EXPECT_EQ(rep.rejected, 1);
  EXPECT_EQ(rep.errors[0].column, "doc_number");
  // A sampler cannot post results; a lab cannot sample.
  EXPECT_EQ(code_of([&] { svc_->post_results({in}, lab_, "api", sampler_); }), ErrorCode::permission_denied);
  EXPECT_EQ(code_of([&] { svc_->open_box("BX-9", p.id, 0, lab_caller_); }), ErrorCode::permission_denied);
}

TEST_P(NatService, OutsideTheAreaAnswersLikeNothing) {
  auto p = point();
  nat::NewTube t;
  t.barcode = "OO-1";
  t.point_id = p.id;
  t.ratio = 1;
  auto tube = svc_->open_tube(t, sampler_);
  std::string m1, m2;
  EXPECT_EQ(code_of([&] { svc_->tube(tube.id, other_sampler_); }, &m1), ErrorCode::not_found);
  EXPECT_EQ(code_of([&] { svc_->tube(999999, other_sampler_); }, &m2), ErrorCode::not_found);
  EXPECT_EQ(m1.substr(0, 13), m2.substr(0, 13));
  EXPECT_EQ(code_of([&] { svc_->sample(tube.id, by_doc(0), other_sampler_); }), ErrorCode::not_found);
  t.barcode = "OO-2";
  t.point_id = p.id;
  EXPECT_EQ(code_of([&] { svc_->open_tube(t, other_sampler_); }), ErrorCode::not_found);
  auto r = round();
  EXPECT_EQ(code_of([&] { svc_->coverage(r.id, 0, other_sampler_); }), ErrorCode::not_found);
  EXPECT_TRUE(svc_->tubes({}, other_sampler_, {}).items.empty());
  EXPECT_EQ(svc_->tubes({}, sampler_, {}).items.size(), 1u);
}

TEST_P(NatService, CoverageCountsPeopleAndHouseholdsAndHonoursExclusions) {
  auto p = point();
  auto r = round(5);
  // Household A1 fully (0,1,2), A2 partly (3), B1 none.
  pooled("CC-1", p.id, r.id, 0, 4, 5);
  post("CC-1", "negative");
  svc_->exclude(r.id, persons_[6].id, "bedridden", "卧床", sampler_);
  auto cov = svc_->coverage(r.id, 15, centre_);
  EXPECT_EQ(cov.total.expected, 6);  // 7 residents of the street, one excluded
  EXPECT_EQ(cov.total.excluded, 1);
  EXPECT_EQ(cov.total.sampled, 4);
  EXPECT_EQ(cov.total.resulted, 4);
  EXPECT_EQ(cov.total.positive, 0);
  ASSERT_EQ(cov.rows.size(), 2u);
  EXPECT_EQ(cov.rows[0].area_code, kGridA);
  EXPECT_EQ(cov.rows[0].households_full, 1);
  EXPECT_EQ(cov.rows[0].households_partial, 1);
  EXPECT_EQ(cov.rows[1].households_none, 1);
  auto street = svc_->coverage(r.id, 9, centre_);
  ASSERT_EQ(street.rows.size(), 1u);
  EXPECT_EQ(street.rows[0].sampled, 4);
  // The door-to-door list: grid A's unsampled resident (4), grid B's unsampled (5; 6 excluded).
  Caller grid;  // the door-to-door list is the grid worker's (it names people)
  grid.role = Role::grid_worker;
  grid.scope = Scope::area(kStreet);
  grid.user_id = 8;
  EXPECT_EQ(code_of([&] { svc_->missing(r.id, kGridA, {}, sampler_); }), ErrorCode::permission_denied);
  auto miss = svc_->missing(r.id, kGridA, {}, grid);
  ASSERT_EQ(miss.items.size(), 1u);
  EXPECT_EQ(miss.items[0].person_id, persons_[4].id);
  auto all = svc_->missing(r.id, "", {}, grid);
  EXPECT_EQ(all.items.size(), 2u);
  // The person of the other street is nobody's business here.
  EXPECT_EQ(code_of([&] { svc_->exclude(r.id, persons_[7].id, "away", "", sampler_); }), ErrorCode::not_found);
}

// Coverage of households living in two grids (counted in the first), a positive pool, members
// sampled by upload (one audit record per tube) and people not in the round's area.
TEST_P(NatService, CoverageOfAHouseholdInTwoGridsAndAPositivePool) {
  auto p = point();
  auto r = round(5);
  // Person 5 of household B1 (grid B) now lives in grid A: B1 is in grids A and B.
  auto moved = repo_->person(persons_[5].id, Scope::everything());
  ASSERT_TRUE(moved);
  moved->area_code = kGridA;
  ASSERT_TRUE(repo_->update_person(*moved, moved->revision));
  nat::SampleUpload u;
  u.point_id = p.id;
  u.round_id = r.id;
  nat::UploadTube a;  // household A1 and person 5, closed with 4 of 5
  a.barcode = "CV-1";
  a.close = true;
  for (int i : {0, 1, 2, 5}) a.members.push_back(by_doc(i));
  nat::UploadTube b;
  b.barcode = "CV-2";
  b.close = true;
  b.members.push_back(by_doc(7));  // the other street's resident: not in this round's area
  u.tubes = {a, b};
  auto rep = svc_->upload_samples(u, sampler_);
  ASSERT_EQ(rep.tubes, 2) << (rep.errors.empty() ? "" : rep.errors[0].reason);
  EXPECT_EQ(rep.samples, 5);
  store::AuditQuery aq;
  aq.action = "test.sample";
  aq.entity = "tube";
  auto audits = repo_->find_audit(aq, {});
  EXPECT_EQ(audits.items.size(), 2u);
  for (const auto& x : audits.items) EXPECT_NE(x.detail.find("\"upload\":true"), std::string::npos) << x.detail;
  // The lab receives the tubes through a box and posts CV-1 positive.
  auto box = svc_->open_box("CV-BOX", p.id, 0, sampler_);
  svc_->add_to_box(box.id, {"CV-1", "CV-2"}, sampler_);
  svc_->seal_box(box.id, sampler_);
  svc_->pick_up_box(box.id, "张师傅", sampler_);
  svc_->receive_box(box.id, lab_caller_);
  EXPECT_EQ(post("CV-1", "positive").positive_pools, 1);
  auto cov = svc_->coverage(r.id, 15, centre_);
  EXPECT_EQ(cov.total.expected, 7);
  EXPECT_EQ(cov.total.sampled, 4);
  EXPECT_EQ(cov.total.resulted, 4);
  EXPECT_EQ(cov.total.positive, 4);
  ASSERT_EQ(cov.rows.size(), 2u);
  EXPECT_EQ(cov.rows[0].area_code, kGridA);
  EXPECT_EQ(cov.rows[0].expected, 6);  // A1 (3), A2 (2) and person 5
  EXPECT_EQ(cov.rows[0].sampled, 4);
  EXPECT_EQ(cov.rows[0].positive, 4);
  // A1 full; A2 none; B1 (persons 5 in grid A, 6 in grid B) partly, counted in grid A.
  EXPECT_EQ(cov.rows[0].households_full, 1);
  EXPECT_EQ(cov.rows[0].households_partial, 1);
  EXPECT_EQ(cov.rows[0].households_none, 1);
  EXPECT_EQ(cov.rows[1].area_code, kGridB);
  EXPECT_EQ(cov.rows[1].expected, 1);
  EXPECT_EQ(cov.rows[1].sampled, 0);
  EXPECT_EQ(cov.rows[1].households_full + cov.rows[1].households_partial + cov.rows[1].households_none, 0);
  // Excluding person 6 makes B1 full (its only other member is sampled).
  svc_->exclude(r.id, persons_[6].id, "away", "", sampler_);
  cov = svc_->coverage(r.id, 15, centre_);
  EXPECT_EQ(cov.rows[0].households_full, 2);
  EXPECT_EQ(cov.rows[0].households_partial, 0);
  EXPECT_EQ(cov.rows[1].excluded, 1);
  EXPECT_EQ(cov.rows[1].expected, 0);
}

TEST_P(NatService, BoxesKeepTheirChainAndLateOnesAlert) {
  auto p = point();
  nat::NewTube t;
  t.barcode = "BB-1";
  t.point_id = p.id;
  t.ratio = 5;
  auto tube = svc_->open_tube(t, sampler_);
  svc_->sample(tube.id, by_doc(0), sampler_);
  auto b = svc_->open_box("BOX-1", p.id, 0, sampler_);
  EXPECT_EQ(b.lab_org_id, lab_);
  EXPECT_EQ(code_of([&] { svc_->seal_box(b.id, sampler_); }), ErrorCode::invalid_argument);  // empty
  b = svc_->add_to_box(b.id, {"BB-1"}, sampler_);
  EXPECT_EQ(b.tubes, 1);
  EXPECT_EQ(svc_->tube(tube.id, centre_).tube.status, "boxed");  // an open tube closes when boxed
  b = svc_->seal_box(b.id, sampler_);
  ASSERT_TRUE(b.due_at.has_value());
  EXPECT_EQ(code_of([&] { svc_->add_to_box(b.id, {"BB-1"}, sampler_); }), ErrorCode::conflict);
  // Another lab cannot receive it (it does not exist for them).
  Caller other = lab_caller_;
  other.scope = Scope::org(lab2_);
  EXPECT_EQ(code_of([&] { svc_->receive_box(b.id, other); }), ErrorCode::not_found);
  clock_.advance(std::chrono::hours{5});
  auto raised = svc_->sweep();
  bool overdue = false;
  for (const auto& a : raised) overdue = overdue || a.kind == "box_overdue";
  EXPECT_TRUE(overdue);
  EXPECT_TRUE(svc_->sweep().empty() || svc_->sweep().size() < raised.size() + 1);  // raised once
  b = svc_->receive_box(b.id, lab_caller_);
  EXPECT_EQ(b.status, "received");
}

TEST_P(NatService, CorrectionIsANewVersionAndUndoesTheFlags) {
  auto p = point();
  auto r = round(5);
  pooled("VV-1", p.id, r.id, 0, 2, 5);
  post("VV-1", "positive");
  EXPECT_EQ(loop_->colour_of(persons_[0].id, *parse_date("2022-04-04")), policy::Colour::yellow);
  auto d = svc_->tube(svc_->tube_by_barcode("VV-1", centre_).id, centre_);
  ASSERT_EQ(d.results.size(), 1u);
  EXPECT_EQ(code_of([&] { svc_->correct_result(d.results[0].id, "negative", std::nullopt, std::nullopt, "", lab_caller_); }),
            ErrorCode::invalid_argument);
  auto v2 = svc_->correct_result(d.results[0].id, "negative", std::nullopt, std::nullopt, "录入错误", lab_caller_);
  EXPECT_EQ(v2.version, 2);
  d = svc_->tube(d.tube.id, centre_);
  ASSERT_EQ(d.results.size(), 2u);
  EXPECT_FALSE(d.results[0].current);
  EXPECT_EQ(d.tube.result, "negative");
  EXPECT_EQ(loop_->colour_of(persons_[0].id, *parse_date("2022-04-04")), policy::Colour::green);
  EXPECT_EQ(code_of([&] { svc_->correct_result(d.results[0].id, "positive", std::nullopt, std::nullopt, "x", lab_caller_); }),
            ErrorCode::conflict);
}

TEST_P(NatService, AntigenPositiveOpensASingleTubeTask) {
  Caller grid;
  grid.role = Role::grid_worker;
  grid.scope = Scope::area(kGridA);
  grid.user_id = 9;
  // The ninth edition does not use antigen self-tests; the new ten measures do.
  EXPECT_EQ(code_of([&] { svc_->record_antigen(persons_[0].id, "positive", std::nullopt, grid); }),
            ErrorCode::invalid_argument);
  loop_->switch_profile("new-ten-measures", "test", Caller::local("t"));
  auto a = svc_->record_antigen(persons_[0].id, "positive", std::nullopt, grid);
  EXPECT_NE(a.task_id, 0);
  auto tasks = svc_->tasks({"open", "antigen_followup", 0}, grid, {});
  ASSERT_EQ(tasks.items.size(), 1u);
  EXPECT_EQ(tasks.items[0].ratio, 1);
  // A resident of grid B is not this grid worker's.
  EXPECT_EQ(code_of([&] { svc_->record_antigen(persons_[5].id, "negative", std::nullopt, grid); }), ErrorCode::not_found);
}

TEST_P(NatService, TheActiveProfileDecidesRoundsAndCtCuts) {
  loop_->switch_profile("twenty-measures", "test", Caller::local("t"));
  nat::NewRounds nr;
  nr.area_code = kStreet;
  nr.days = {*parse_date("2022-11-21")};
  nr.rule = "outbreak_district_10m";
  // Twenty measures: no mass testing by administrative area without an outbreak.
  EXPECT_EQ(code_of([&] { svc_->start_rounds(nr, centre_); }), ErrorCode::invalid_argument);
  nr.outbreak_declared = true;
  auto r = svc_->start_rounds(nr, centre_).at(0);
  EXPECT_EQ(r.profile, "twenty-measures");
  EXPECT_GT(r.pool_ratio, 1);  // the profile's ratio for the general population
  nr.rule = "no_such_rule";
  EXPECT_EQ(code_of([&] { svc_->start_rounds(nr, centre_); }), ErrorCode::not_found);

  // An inbound traveller's positive with Ct >= 35 is a past infection: negative, no case.
  loop::NewOrder n;
  n.person_id = persons_[0].id;
  n.group = "inbound";
  n.source = loop::OrderSource::arrival_manifest;
  n.start = *parse_date("2022-04-04");
  n.stage = loop::Stage::home_isolation;
  n.owner = loop::Owner::area(kGridA);
  loop_->create_order(n, Caller::local("t"));
  auto p = point();
  pooled("CT-0001", p.id, 0, 0, 1, 1);
  pooled("CT-0002", p.id, 0, 1, 2, 1);
  nat::ResultInput in;
  in.barcode = "CT-0001";
  in.reported = "positive";
  in.orf1ab_ct = 36.2;
  in.n_ct = 37.0;
  auto rep = svc_->post_results({in}, 0, "api", lab_caller_);
  EXPECT_EQ(rep.accepted, 1);
  EXPECT_EQ(rep.cases_opened, 0);
  auto d = svc_->tube(svc_->tube_by_barcode("CT-0001", centre_).id, centre_);
  EXPECT_EQ(d.results.at(0).reported, "positive");
  EXPECT_EQ(d.results.at(0).outcome, "negative");
  // The same Ct for someone of no group stands as reported: a case.
  in.barcode = "CT-0002";
  rep = svc_->post_results({in}, 0, "api", lab_caller_);
  EXPECT_EQ(rep.cases_opened, 1);
}

// Today's planned tests of control orders (今日核酸) by holder: the day's test of every active
// order whose plan has one, with its status, for the site, the grid or the command centre holding
// the order; other days and other holders are not listed.
TEST_P(NatService, PlannedTestsOfOrdersByHolder) {
  std::vector<Org> sites(1);
  sites[0].code = "SITE-1";
  sites[0].name = "建外隔离点";
  sites[0].kind = OrgKind::quarantine_site;
  sites[0].area_code = kStreet;
  repo_->upsert_orgs(sites);
  const std::int64_t site = sites[0].id;
  auto order = [&](int who, const char* group, const char* start, loop::Stage stage, loop::Owner owner) {
    loop::NewOrder n;
    n.person_id = persons_[static_cast<std::size_t>(who)].id;
    n.group = group;
    n.start = *parse_date(start);
    n.stage = stage;
    n.owner = owner;
    return loop_->create_order(n, Caller::local("t")).order.id;
  };
  // Close contacts test on days 1, 2, 3, 5, 7; secondary contacts on days 1, 4, 7.
  const auto due = order(0, "close_contact", "2022-04-04", loop::Stage::quarantine_site, loop::Owner::org(site));
  const auto sampled = order(1, "close_contact", "2022-04-03", loop::Stage::quarantine_site, loop::Owner::org(site));
  const auto resulted = order(5, "secondary_contact", "2022-04-04", loop::Stage::home_isolation, loop::Owner::area(kGridB));
  const auto day3 = order(2, "secondary_contact", "2022-04-02", loop::Stage::home_isolation,
                          loop::Owner::area(kGridA));  // day 3: no test today, day 4 tomorrow
  const auto missed = order(3, "secondary_contact", "2022-04-04", loop::Stage::home_isolation, loop::Owner::area(kGridA));
  // The sampled one is in a single tube today, the resulted one has its result, the missed one an
  // open test_missing alert for today.
  auto p = point();
  nat::NewTube t;
  t.barcode = "OT-0001";
  t.point_id = p.id;
  t.ratio = 1;
  svc_->sample(svc_->open_tube(t, sampler_).id, by_doc(1), sampler_);
  loop_->record_test(resulted, *parse_date("2022-04-04"), "negative", std::nullopt, Caller::local("t"));
  store::AlertRow a;
  a.order_id = missed;
  a.kind = "test_missing";
  a.severity = "warning";
  a.subject = "test:2022-04-04";
  a.raised_at = clock_.now();
  a.owner = loop::Owner::area(kGridA);
  loop_->loop().raise_alert(a);

  auto by_order = [](const nat::PlannedTests& r) {
    std::map<std::int64_t, std::string> m;
    for (const auto& x : r.items) m[x.row.order_id] = x.status;
    return m;
  };
  // The command centre of the district: every holder inside it, today by default.
  auto all = svc_->planned_tests({}, centre_, {0, 100});
  EXPECT_EQ(format_date(all.day), "2022-04-04");
  EXPECT_EQ(by_order(all), (std::map<std::int64_t, std::string>{
                               {due, "due"}, {sampled, "sampled"}, {resulted, "resulted"}, {missed, "missed"}}));
  ASSERT_EQ(all.holders.size(), 3u);
  std::map<std::string, nat::HolderTally> tally;
  for (const auto& h : all.holders) tally[h.owner_kind == "org" ? std::to_string(h.owner_org) : h.owner_area] = h;
  EXPECT_EQ(tally[std::to_string(site)].planned, 2);
  EXPECT_EQ(tally[std::to_string(site)].due, 1);
  EXPECT_EQ(tally[std::to_string(site)].sampled, 1);
  EXPECT_EQ(tally[std::to_string(site)].owner_name, "建外隔离点");
  EXPECT_EQ(tally[kGridA].planned, 1);
  EXPECT_EQ(tally[kGridA].missed, 1);
  EXPECT_EQ(tally[kGridB].resulted, 1);
  for (const auto& x : all.items)
    if (x.row.order_id == resulted) {
      EXPECT_EQ(x.row.result, "negative");
    }

  // The site sees the orders it holds, the grid worker of grid A those grid A holds (not the
  // site's order of a grid A resident); a lab does not read orders.
  Caller site_c;
  site_c.role = Role::quarantine_site;
  site_c.scope = Scope::org(site);
  site_c.user_id = 20;
  EXPECT_EQ(by_order(svc_->planned_tests({}, site_c, {0, 100})),
            (std::map<std::int64_t, std::string>{{due, "due"}, {sampled, "sampled"}}));
  Caller grid;
  grid.role = Role::grid_worker;
  grid.scope = Scope::area(kGridA);
  grid.user_id = 21;
  EXPECT_EQ(by_order(svc_->planned_tests({}, grid, {0, 100})), (std::map<std::int64_t, std::string>{{missed, "missed"}}));
  Caller other_centre = centre_;
  other_centre.scope = Scope::area("110106");
  EXPECT_TRUE(svc_->planned_tests({}, other_centre, {0, 100}).items.empty());
  EXPECT_EQ(code_of([&] { svc_->planned_tests({}, lab_caller_, {0, 100}); }), ErrorCode::permission_denied);

  // Filters: one holder, one status; pages by order id.
  nat::PlannedTestQuery q;
  q.holder_kind = "org";
  q.holder_org = site;
  EXPECT_EQ(svc_->planned_tests(q, centre_, {0, 100}).items.size(), 2u);
  q.holder_kind = "area";
  q.holder_area = kGridB;
  EXPECT_EQ(by_order(svc_->planned_tests(q, centre_, {0, 100})), (std::map<std::int64_t, std::string>{{resulted, "resulted"}}));
  EXPECT_TRUE(svc_->planned_tests(q, grid, {0, 100}).items.empty());  // grid B is not grid A's
  nat::PlannedTestQuery st;
  st.status = "due";
  EXPECT_EQ(by_order(svc_->planned_tests(st, centre_, {0, 100})), (std::map<std::int64_t, std::string>{{due, "due"}}));
  st.status = "late";
  EXPECT_EQ(code_of([&] { svc_->planned_tests(st, centre_, {0, 100}); }), ErrorCode::invalid_argument);
  std::vector<std::int64_t> paged;
  store::Page page{0, 1};
  for (int guard = 0; guard < 10; ++guard) {
    auto r = svc_->planned_tests({}, centre_, page);
    for (const auto& x : r.items) paged.push_back(x.row.order_id);
    if (!r.next) break;
    page.after = r.next;
  }
  EXPECT_EQ(paged.size(), 4u);
  EXPECT_TRUE(std::is_sorted(paged.begin(), paged.end()));

  // Tomorrow: the close contacts' days 2 and 3 and the earlier secondary contact's day 4; the
  // secondary contacts who started today have no test (day 2).
  nat::PlannedTestQuery tomorrow;
  tomorrow.day = *parse_date("2022-04-05");
  EXPECT_EQ(by_order(svc_->planned_tests(tomorrow, centre_, {0, 100})),
            (std::map<std::int64_t, std::string>{{due, "due"}, {sampled, "due"}, {day3, "due"}}));
}

// Opening hours are enforced: a point samples from opening to closing plus the grace for the
// queue (30 minutes), not after; a point past midnight or around the clock samples at night; an
// upload is judged at its sampling time; a point out of service samples nobody.
TEST_P(NatService, SamplingPointsSampleOnlyInTheirHours) {
  auto p = point();  // 08:00-20:00
  EXPECT_EQ(p.opens, "08:00");
  nat::NewTube t;
  t.point_id = p.id;
  t.ratio = 5;
  t.barcode = "HR-0001";
  const auto tube = svc_->open_tube(t, sampler_).id;
  svc_->sample(tube, by_doc(0), sampler_);               // 09:00 local
  clock_.set(at("2022-04-04T12:20:00Z"));                // 20:20: the queue at closing time
  svc_->sample(tube, by_doc(1), sampler_);
  clock_.set(at("2022-04-04T12:31:00Z"));                // 20:31: closed
  try {
    svc_->sample(tube, by_doc(2), sampler_);
    ADD_FAILURE() << "sampled at a closed point";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::conflict);
    EXPECT_EQ(e.field(), "point_id");
    EXPECT_NE(std::string(e.what()).find("20:31"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("08:00-20:00"), std::string::npos) << e.what();
  }
  EXPECT_EQ(svc_->tube(tube, centre_).members.size(), 2u);
  clock_.set(at("2022-04-03T23:59:00Z"));                // 07:59 the same day: not yet open
  EXPECT_EQ(code_of([&] { svc_->sample(tube, by_doc(2), sampler_); }), ErrorCode::conflict);

  // The command centre keeps the point open around the clock for the night; a sampler cannot.
  nat::PointChange night;
  night.closes = "24:00";
  night.opens = "00:00";
  EXPECT_EQ(code_of([&] { svc_->change_point(p.id, night, sampler_); }), ErrorCode::permission_denied);
  Caller other_centre = centre_;
  other_centre.scope = Scope::area("110106");
  EXPECT_EQ(code_of([&] { svc_->change_point(p.id, night, other_centre); }), ErrorCode::not_found);
  nat::PointChange bad;
  bad.closes = "24:30";
  EXPECT_EQ(code_of([&] { svc_->change_point(p.id, bad, centre_); }), ErrorCode::invalid_argument);
  auto changed = svc_->change_point(p.id, night, centre_);
  EXPECT_EQ(changed.closes, "24:00");
  svc_->sample(tube, by_doc(2), sampler_);
  // Past midnight: 20:00-08:00 samples at 03:00, not at 12:00.
  nat::PointChange overnight;
  overnight.opens = "20:00";
  overnight.closes = "08:00";
  svc_->change_point(p.id, overnight, centre_);
  clock_.set(at("2022-04-04T19:00:00Z"));  // 03:00 on 04-05
  svc_->sample(tube, by_doc(3), sampler_);
  clock_.set(at("2022-04-05T04:00:00Z"));  // 12:00
  EXPECT_EQ(code_of([&] { svc_->sample(tube, by_doc(4), sampler_); }), ErrorCode::conflict);

  // An upload is judged at the time the device sampled.
  nat::PointChange day;
  day.opens = "08:00";
  day.closes = "20:00";
  svc_->change_point(p.id, day, centre_);
  clock_.set(at("2022-04-05T14:00:00Z"));  // 22:00: uploading after closing what was sampled at 10:00
  nat::SampleUpload u;
  u.point_id = p.id;
  nat::UploadTube ut;
  ut.barcode = "HR-0002";
  ut.ratio = 5;
  ut.members = {by_doc(5)};
  u.tubes = {ut};
  u.sampled_at = at("2022-04-05T02:00:00Z");
  EXPECT_EQ(svc_->upload_samples(u, sampler_).samples, 1);
  u.tubes[0].barcode = "HR-0003";
  u.sampled_at.reset();  // sampled now, at 22:00
  EXPECT_EQ(code_of([&] { svc_->upload_samples(u, sampler_); }), ErrorCode::conflict);

  // Out of service: no tube is opened and nobody is sampled there.
  clock_.set(at("2022-04-05T02:00:00Z"));
  nat::PointChange off;
  off.active = false;
  svc_->change_point(p.id, off, centre_);
  EXPECT_EQ(code_of([&] { svc_->sample(tube, by_doc(6), sampler_); }), ErrorCode::conflict);
}

// The plan of a round: each grid's residents assigned to the points of the street within their
// daily capacity (per hour x hours), the nearest point first, the rest reported as overflow;
// residents excluded from the round leave the plan.
TEST_P(NatService, RoundPlanAssignsGridsToPointsWithinCapacity) {
  auto r = round(5);  // the street: grid A 5 residents, grid B 2
  auto make = [&](const char* name, const char* area, int per_hour, const char* opens, const char* closes) {
    nat::NewPoint n;
    n.name = name;
    n.area_code = area;
    n.capacity_per_hour = per_hour;
    n.opens = opens;
    n.closes = closes;
    return svc_->create_point(n, centre_).id;
  };
  const auto grid_point = make("一网格采样点", kGridA, 1, "08:00", "12:00");  // 4 a day
  const auto street_point = make("街道采样点", kStreet, 1, "08:00", "10:00");  // 2 a day
  make("朝外采样点", kOtherStreetGrid, 100, "08:00", "20:00");                 // not in the round's area
  auto plan = svc_->round_plan(r.id, centre_);
  ASSERT_EQ(plan.points.size(), 2u);
  EXPECT_EQ(plan.plan.residents, 7);
  EXPECT_EQ(plan.plan.capacity, 6);
  EXPECT_EQ(plan.plan.assigned, 6);
  EXPECT_EQ(plan.plan.overflowed, 1);
  ASSERT_EQ(plan.plan.overflow.size(), 1u);
  EXPECT_EQ(plan.plan.overflow[0].area_code, kGridB);
  std::map<std::int64_t, std::int64_t> load;
  for (const auto& l : plan.plan.points) load[l.point_id] = l.load;
  EXPECT_EQ(load[grid_point], 4);
  EXPECT_EQ(load[street_point], 2);
  std::map<std::pair<std::string, std::int64_t>, std::int64_t> given;
  for (const auto& a : plan.plan.assignments) given[{a.area_code, a.point_id}] = a.residents;
  EXPECT_EQ((given[{kGridA, grid_point}]), 4);
  EXPECT_EQ((given[{kGridA, street_point}]), 1);
  EXPECT_EQ((given[{kGridB, street_point}]), 1);
  // A resident of grid B away: the plan fits.
  svc_->exclude(r.id, persons_[6].id, "away", "", centre_);
  plan = svc_->round_plan(r.id, centre_);
  EXPECT_EQ(plan.plan.residents, 6);
  EXPECT_EQ(plan.plan.overflowed, 0);
  // Outside the area: like an unknown round.
  EXPECT_EQ(code_of([&] { svc_->round_plan(r.id, other_sampler_); }), ErrorCode::not_found);
}

TEST_P(NatService, NextRoundFollowsTheRule) {
  auto p = point();
  nat::NewRounds nr;
  nr.area_code = kStreet;
  nr.campaign = "建外全员";
  nr.rule = "outbreak_district_10m";
  nr.days = {*parse_date("2022-04-04")};
  auto r1 = svc_->start_rounds(nr, centre_).at(0);
  auto next = svc_->next_round(r1.id, centre_);
  EXPECT_TRUE(next.due);  // nothing closed yet: the first day is due
  ASSERT_TRUE(next.date);
  EXPECT_EQ(format_date(*next.date), "2022-04-04");
  // A clean first round: the next one is due the day after.
  pooled("NX-0001", p.id, r1.id, 0, 5, 5);
  post("NX-0001", "negative");
  svc_->close_round(r1.id, centre_);
  next = svc_->next_round(r1.id, centre_);
  EXPECT_TRUE(next.due);
  ASSERT_TRUE(next.date);
  EXPECT_EQ(format_date(*next.date), "2022-04-05");
  EXPECT_EQ(next.clean_streak, 1);
}

TEST(NatRules, TurnaroundQuantilesAndRoutineDays) {
  // 10 tubes: 5 in hour 1, 4 in hour 5, 1 in hour 30; target 6 h.
  auto s = nat::turnaround_stats({{1, 5}, {5, 4}, {30, 1}}, 6);
  EXPECT_EQ(s.tubes, 10);
  EXPECT_EQ(s.within_target, 9);
  EXPECT_DOUBLE_EQ(s.median_hours, 2);  // the 5th tube is in [1, 2)
  EXPECT_DOUBLE_EQ(s.p90_hours, 6);     // the 9th is in [5, 6)
  EXPECT_EQ(nat::turnaround_stats({}, 6).tubes, 0);
  const Date since = *parse_date("2022-04-04");
  EXPECT_TRUE(nat::routine_day(since, since, 3));
  EXPECT_FALSE(nat::routine_day(since, *parse_date("2022-04-05"), 3));
  EXPECT_TRUE(nat::routine_day(since, *parse_date("2022-04-07"), 3));
  EXPECT_FALSE(nat::routine_day(since, *parse_date("2022-04-01"), 3));
  EXPECT_TRUE(nat::routine_day(since, *parse_date("2022-04-05"), 0));  // every day
}

TEST(NatRules, OpeningHoursAndThePlanOfARound) {
  EXPECT_EQ(nat::minute_of_day("08:30", false), 510);
  EXPECT_FALSE(nat::minute_of_day("24:00", false));
  EXPECT_EQ(nat::minute_of_day("24:00", true), 1440);
  EXPECT_FALSE(nat::minute_of_day("8:30", false));
  EXPECT_FALSE(nat::minute_of_day("12:60", true));
  EXPECT_EQ(nat::open_minutes("08:00", "20:00"), 720);
  EXPECT_EQ(nat::open_minutes("20:00", "08:00"), 720);
  EXPECT_EQ(nat::open_minutes("00:00", "24:00"), 1440);
  EXPECT_EQ(nat::open_minutes("07:00", "07:00"), 1440);
  EXPECT_TRUE(nat::open_at("08:00", "20:00", 8 * 60, 0));
  EXPECT_FALSE(nat::open_at("08:00", "20:00", 8 * 60 - 1, 30));
  EXPECT_FALSE(nat::open_at("08:00", "20:00", 20 * 60, 0));
  EXPECT_TRUE(nat::open_at("08:00", "20:00", 20 * 60 + 29, 30));
  EXPECT_FALSE(nat::open_at("08:00", "20:00", 20 * 60 + 30, 30));
  EXPECT_TRUE(nat::open_at("20:00", "08:00", 3 * 60, 0));
  EXPECT_TRUE(nat::open_at("20:00", "08:00", 23 * 60, 0));
  EXPECT_FALSE(nat::open_at("20:00", "08:00", 12 * 60, 0));
  EXPECT_TRUE(nat::open_at("00:00", "24:00", 0, 0));
  // Two grids of a community; a point in grid 1 and one in the community. Grid 1 fills its own
  // point first, then the community's; grid 2 (served by the community's point only) gets what
  // is left, then a neighbour's point with room; the rest overflows.
  std::vector<nat::PlanPoint> pts = {{1, "110105001001001", 10, "08:00", "18:00"},   // 100
                                     {2, "110105001001", 5, "08:00", "12:00"},        // 20
                                     {3, "110105001002001", 2, "08:00", "13:00"}};    // 10, another community
  auto plan = nat::plan_round(pts, {{"110105001001002", 30}, {"110105001001001", 110}});
  EXPECT_EQ(plan.capacity, 130);
  EXPECT_EQ(plan.residents, 140);
  ASSERT_EQ(plan.points.size(), 3u);
  EXPECT_EQ(plan.points[0].load, 100);
  EXPECT_EQ(plan.points[1].load, 20);
  EXPECT_EQ(plan.points[2].load, 10);
  EXPECT_EQ(plan.assigned, 130);
  EXPECT_EQ(plan.overflowed, 10);
  ASSERT_EQ(plan.overflow.size(), 1u);
  EXPECT_EQ(plan.overflow[0].area_code, "110105001001002");
  EXPECT_EQ(plan.overflow[0].residents, 10);
  std::int64_t grid2_local = 0, grid2_neighbour = 0;
  for (const auto& a : plan.assignments)
    if (a.area_code == "110105001001002") (a.local ? grid2_local : grid2_neighbour) += a.residents;
  EXPECT_EQ(grid2_local, 10);      // the community point's room after grid 1 took 10 of it
  EXPECT_EQ(grid2_neighbour, 10);  // the other community's point
  // No points: everything overflows.
  EXPECT_EQ(nat::plan_round({}, {{"110105001001001", 5}}).overflowed, 5);
}

TEST(NatRules, ConsequencesAndRollUp) {
  EXPECT_TRUE(nat::consequence_of("negative", 10).clear_members);
  EXPECT_TRUE(nat::consequence_of("positive", 10).flag_members);
  EXPECT_TRUE(nat::consequence_of("inconclusive", 10).flag_members);
  EXPECT_TRUE(nat::consequence_of("positive", 1).open_case);
  EXPECT_TRUE(nat::consequence_of("inconclusive", 1).retest_single);
  EXPECT_FALSE(nat::valid_ratio(3));
  EXPECT_TRUE(nat::valid_ratio(20));
  EXPECT_FALSE(nat::valid_barcode("ab"));
  EXPECT_FALSE(nat::valid_barcode("AB CD"));
  std::vector<nat::CoverageRow> rows(3);
  rows[0].area_code = "110105001001001";
  rows[0].expected = 3;
  rows[1].area_code = "110105001001002";
  rows[1].expected = 4;
  rows[2].area_code = "110105002001001";
  rows[2].expected = 5;
  auto streets = nat::roll_up(rows, 9);
  ASSERT_EQ(streets.size(), 2u);
  EXPECT_EQ(streets[0].expected, 7);
  EXPECT_EQ(nat::total_of(rows, "110105").expected, 12);
}

INSTANTIATE_TEST_SUITE_P(Backends, NatService, ::testing::Values("sqlite", "postgresql"));

}  // namespace bihuan::nattest
