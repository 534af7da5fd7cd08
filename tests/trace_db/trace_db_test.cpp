// `bihuan trace --db`: the scan log, venues, cases and settings read through store's
// TraceRepository on SQLite and PostgreSQL give the contacts the same rules give from files.
#include <gtest/gtest.h>

#include "../storage/fixture.hpp"
#include "core/iso_time.hpp"
#include "store/sql_access.hpp"
#include "store/trace_repository.hpp"
#include "trace/batch/batch.hpp"

namespace bihuan::trace {
namespace {

using store::testing::RepoTest;

std::int64_t ms(const char* iso) { return to_unix_ms(*parse_iso8601(iso)); }

class TraceDbTest : public RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store::testing::seed_areas(*repo_);
    std::vector<Person> ps;
    for (int i = 1; i <= 4; ++i)
      ps.push_back(store::testing::make_person(store::testing::resident_id("19900101", i), "P" + std::to_string(i), "110105001001001"));
    repo_->upsert_persons(ps);
    for (int i = 1; i <= 4; ++i) {
      auto p = repo_->person_by_doc(store::testing::resident_id("19900101", i), Scope::everything());
      ASSERT_TRUE(p);
      person_[i] = p->id;
    }
    auto& db = store::database_of(*repo_);
    auto venue = [&](const char* code, const char* type, int dwell) {
      store::Q q(db, "INSERT INTO venues (code, name, type, dwell_minutes) VALUES (?, ?, ?, ?)");
      q.text(code).text(code).text(type).i64(dwell).run();
      store::Q id(db, "SELECT id FROM venues WHERE code = ?");
      id.text(code);
      EXPECT_TRUE(id.next());
      return id.int64(0);
    };
    shop_ = venue("SHOP-1", "supermarket", 30);
    rest_ = venue("REST-1", "restaurant", 0);  // the type's setting, else the default
  }
  void scan(std::int64_t venue, int person, const char* in, const char* out) {
    store::Q q(store::database_of(*repo_),
               "INSERT INTO venue_scans (venue_id, person_id, entered_at, exited_at, scan_day, colour, pass) "
               "VALUES (?, ?, ?, ?, '2026-11-01', 'green', 1)");
    q.i64(venue).i64(person_[person]).i64(ms(in));
    if (out) q.i64(ms(out));
    else q.null();
    q.run();
  }
  void add_case(int person, const char* from, const char* to) {
    store::Q q(store::database_of(*repo_),
               "INSERT INTO cases (person_id, source, opened_at, window_start, window_end) VALUES (?, 'manual', 0, ?, ?)");
    q.i64(person_[person]);
    if (from) q.i64(ms(from)).i64(ms(to));
    else q.null().null();
    q.run();
  }
  std::string doc(int i) { return store::testing::resident_id("19900101", i); }
  std::string contacts(TraceSettings s = {}) {
    const auto data = read_trace_db(url_, s);
    notes_ = data.notes;
    return contacts_json(data, run_trace(data, s, 0, 1));
  }
  std::map<int, std::int64_t> person_;
  std::int64_t shop_ = 0, rest_ = 0;
  std::vector<std::string> notes_;
};

TEST_P(TraceDbTest, ContactsFromTheScanLog) {
  add_case(1, "2026-11-01T00:00:00Z", "2026-11-03T00:00:00Z");
  add_case(4, nullptr, nullptr);  // no exposure window yet: left out, said in a note
  scan(shop_, 1, "2026-11-01T10:00:00Z", "2026-11-01T10:30:00Z");
  scan(shop_, 2, "2026-11-01T10:15:00Z", "2026-11-01T11:00:00Z");  // 15 min
  scan(shop_, 3, "2026-11-01T10:15:01Z", nullptr);                 // dwell 30: 14 min 59 s
  scan(rest_, 1, "2026-11-01T12:00:00Z", "2026-11-01T13:00:00Z");
  scan(rest_, 3, "2026-11-01T12:30:00Z", nullptr);                 // default dwell 60: 30 min
  scan(rest_, 2, "2026-11-01T12:50:00Z", "2026-11-01T12:40:00Z");  // exit before entry: left out
  const std::string d1 = doc(1), d2 = doc(2), d3 = doc(3);
  EXPECT_EQ(contacts(), "{\"contacts\":[{\"case\":\"" + d1 + "\",\"contact\":\"" + d2 +
                            "\",\"venue\":\"SHOP-1\",\"overlap_minutes\":15},{\"case\":\"" + d1 + "\",\"contact\":\"" + d3 +
                            "\",\"venue\":\"REST-1\",\"overlap_minutes\":30}]}");
  ASSERT_EQ(notes_.size(), 2u);
  EXPECT_NE(notes_[0].find("1 cases without an exposure window"), std::string::npos);
  EXPECT_NE(notes_[1].find("1 scans with an exit before the entry"), std::string::npos);
  // Settings: the restaurant's dwell (10 minutes: no overlap left) and minimum overlap.
  repo_->set_setting("venue.dwell.restaurant", "10");
  EXPECT_EQ(contacts().find("REST-1"), std::string::npos);
  repo_->set_setting("venue.dwell.restaurant", "45");
  repo_->set_setting("trace.min_overlap.restaurant", "20");
  EXPECT_NE(contacts().find("\"venue\":\"REST-1\",\"overlap_minutes\":30"), std::string::npos);
  repo_->set_setting("trace.min_overlap.restaurant", "31");
  EXPECT_EQ(contacts().find("REST-1"), std::string::npos);
  // The command line wins over the setting.
  TraceSettings s;
  s.min_overlap_minutes["restaurant"] = 5;
  EXPECT_NE(contacts(s).find("REST-1"), std::string::npos);
  // A malformed setting is an error naming it.
  repo_->set_setting("trace.min_overlap.restaurant", "half an hour");
  try {
    contacts();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("trace.min_overlap.restaurant"), std::string::npos) << e.what();
  }
}

TEST_P(TraceDbTest, ReadsTheLogInPages) {
  for (int i = 0; i < 25; ++i) scan(shop_, 1 + i % 4, "2026-11-01T10:00:00Z", nullptr);
  auto tr = store::open_trace_repository(*repo_);
  int n = 0;
  tr->for_each_scan([&](const store::TraceScanRow& r) {
    EXPECT_EQ(r.venue_id, shop_);
    EXPECT_FALSE(r.exited_at_ms);
    ++n;
  }, 7);
  EXPECT_EQ(n, 25);
  int persons = 0;
  tr->for_each_person_doc([&](std::int64_t, const std::string&) { ++persons; }, 3);
  EXPECT_EQ(persons, 4);
}

INSTANTIATE_TEST_SUITE_P(Backends, TraceDbTest, ::testing::Values("sqlite", "postgresql"), store::testing::backend_name);

}  // namespace
}  // namespace bihuan::trace
