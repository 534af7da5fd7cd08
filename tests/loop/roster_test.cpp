// The staff roster of an organisation (GET /api/roster): the page's orders, open test_missing
// alerts and tests are read for the whole page at once (chunks of ids), not per person. The
// colours and latest tests must be those of the per-person reads (colour_of, tests_of), over
// more staff than one chunk of ids holds. SQLite always, PostgreSQL when BIHUAN_TEST_PG is set.
#include <gtest/gtest.h>

#include <map>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "store/db.hpp"
#include "store/repository.hpp"

namespace bihuan::rostertest {
namespace {

using looptest::area;
using loop::Owner;

class Roster : public ::testing::TestWithParam<std::string> {};

TEST_P(Roster, ColoursAndLatestTestsAreThoseOfEachPerson) {
  looptest::TestBackend db(GetParam());
  if (!db.skip.empty()) GTEST_SKIP() << db.skip;
  auto repo = store::open_repository(db.url);
  repo->upsert_areas({area("11", "北京市"), area("1101", "市辖区"), area("110105", "朝阳区"),
                      area("110105001", "建外街道"), area("110105001001", "光华里社区"),
                      area("110105001001001", "第1网格")});
  std::vector<Org> orgs(2);
  orgs[0].code = "91110105MA00000001";
  orgs[0].name = "光华科技有限公司";
  orgs[0].kind = OrgKind::enterprise;
  orgs[0].area_code = "110105001001001";
  orgs[1].code = "site";
  orgs[1].name = "隔离点";
  orgs[1].kind = OrgKind::quarantine_site;
  orgs[1].area_code = "110105";
  repo->upsert_orgs(orgs);
  const std::int64_t company = orgs[0].id, site = orgs[1].id;

  // 150 staff (more than two chunks of ids) and 5 persons working elsewhere.
  std::vector<Person> ps;
  for (int i = 0; i < 155; ++i) {
    char seq[4];
    std::snprintf(seq, sizeof seq, "%03d", i);
    const std::string first17 = std::string("11010519900101") + seq;
    Person p;
    p.doc_number = first17 + resident_id_check_char(first17);
    p.name = "职工" + std::to_string(i);
    p.birth_date = Date{std::chrono::year{1990}, std::chrono::month{1}, std::chrono::day{1}};
    p.area_code = "110105001001001";
    p.workplace_org_id = i < 150 ? company : 0;
    ps.push_back(p);
  }
  repo->upsert_persons(ps);

  loop::Profiles profiles(std::string(BIHUAN_SOURCE_DIR) + "/policies");
  ManualClock clock(*parse_instant("2022-07-05T02:00:00Z"));
  loop::Service svc(*repo, profiles, clock);
  const Caller admin = Caller::local("tester", 1);
  // Every third staff member under control since 1 July (two orders for every ninth), tests on
  // some of them, and an open test_missing alert on one: red, yellow and green on the roster.
  std::map<std::int64_t, std::vector<std::int64_t>> orders_of;
  for (std::size_t i = 0; i < ps.size(); i += 3) {
    for (int k = 0; k < (i % 9 == 0 ? 2 : 1); ++k) {
      loop::NewOrder n;
      n.person_id = ps[i].id;
      n.group = k == 0 ? "close_contact" : "inbound";
      n.source = loop::OrderSource::close_contact;
      n.start = Date{std::chrono::year{2022}, std::chrono::month{7}, std::chrono::day{static_cast<unsigned>(1 + k)}};
      n.stage = loop::Stage::quarantine_site;
      n.owner = Owner::org(site);
      auto row = svc.create_order(n, admin);
      orders_of[ps[i].id].push_back(row.order.id);
      const auto plan = svc.plan_of(row);
      int recorded = 0;
      for (const auto& ph : plan.phases)
        for (auto d : ph.test_dates)
          if (std::chrono::sys_days(d) <= std::chrono::sys_days(Date{std::chrono::year{2022}, std::chrono::month{7},
                                                                      std::chrono::day{5}}) &&
              recorded++ < static_cast<int>(i % 4))
            svc.record_test(row.order.id, d, "negative", std::nullopt, admin);
    }
  }
  {
    store::AlertRow a;
    a.order_id = orders_of[ps[30].id].front();
    a.kind = "test_missing";
    a.severity = "high";
    a.subject = "test:2022-07-02";
    a.raised_at = clock.now();
    a.owner = Owner::org(site);
    repo->transaction([&] { svc.loop().raise_alert(a); });
  }

  Caller staff;
  staff.user_id = 7;
  staff.username = "enterprise";
  staff.role = Role::enterprise;
  staff.scope = Scope::org(company);
  std::vector<loop::RosterEntry> all;
  store::Page page{0, 70};
  for (;;) {
    auto r = svc.roster(staff, page);
    for (auto& e : r.items) all.push_back(std::move(e));
    if (r.next == 0) break;
    page.after = r.next;
  }
  ASSERT_EQ(all.size(), 150u);

  const Date today{std::chrono::year{2022}, std::chrono::month{7}, std::chrono::day{5}};
  std::map<policy::Colour, int> colours;
  int with_test = 0;
  for (const auto& e : all) {
    EXPECT_EQ(e.person.workplace_org_id, company);
    // The per-person reads the roster replaces.
    EXPECT_EQ(e.colour, svc.colour_of(e.person.id, today)) << e.person.name;
    std::optional<store::TestRow> last;
    for (const auto& o : svc.loop().active_orders_of_person(e.person.id))
      for (auto& t : svc.loop().tests_of(o.order.id))
        if (!last || t.day > last->day || (t.day == last->day && t.id > last->id)) last = t;
    ASSERT_EQ(e.last_test.has_value(), last.has_value()) << e.person.name;
    if (last) {
      EXPECT_EQ(e.last_test->id, last->id) << e.person.name;
      EXPECT_EQ(e.last_test->day, last->day);
      EXPECT_EQ(e.last_test->result, "negative");
      ++with_test;
    }
    ++colours[e.colour];
  }
  // The world is as meant: some of each, so the comparison above compares something.
  EXPECT_GT(colours[policy::Colour::green], 50);
  EXPECT_GT(colours[policy::Colour::red] + colours[policy::Colour::yellow], 40);
  EXPECT_GT(with_test, 20);
  EXPECT_TRUE(svc.loop().has_open_alert(orders_of[ps[30].id].front(), "test_missing"));
}

INSTANTIATE_TEST_SUITE_P(Backends, Roster, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return std::string(p.param); });

}  // namespace
}  // namespace bihuan::rostertest
