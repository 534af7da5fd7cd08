// bihuan outbreak seed: a demo outbreak in one district (src/gen/outbreak.hpp): cases along an
// epidemic curve over the last weeks, their links, and a local rebound found in the community in
// the last hour, which starts the emergency playbooks when the server runs (make run's demo).
// bihuan outbreak treat: some of the open cases in treatment at the district's hospitals, and a
// few of those discharged on two negative tests, under post-discharge home health monitoring.
// bihuan outbreak quarantine: the district's quarantine sites get rooms and its hospitals a bed
// count, and close contacts go through the sites over the last weeks (admitted day by day along a
// rise and fall, released after their stay), so that the capacity tab (容量) has a history, an
// occupancy now and a forecast to draw.
#include <algorithm>
#include <random>
#include <iostream>
#include <memory>
#include <string>

#include "app/commands.hpp"
#include "app/data_dirs.hpp"
#include "cases/treatment.hpp"
#include "core/error.hpp"
#include "core/treatment.hpp"
#include "loop/service.hpp"
#include "nat/service.hpp"
#include "store/case_repository.hpp"
#include "store/loop_repository.hpp"
#include "store/settings.hpp"
#include "gen/outbreak.hpp"
#include "gen/surveillance.hpp"
#include "store/repository.hpp"

namespace bihuan::app {
namespace {

struct OutbreakArgs {
  std::string db = kDefaultDb;
  std::string district;
  int days = 30;
  int cases = 120;
  std::uint64_t seed = 1;
  bool no_rebound = false;
  bool json = false;
};

struct SurveillanceArgs {
  std::string db = kDefaultDb;
  std::string district;
  int weeks = 10;
  int rise_days = 4;
  std::uint64_t seed = 1;
  bool no_vaccination = false;
};

struct QuarantineArgs {
  std::string db = kDefaultDb;
  std::string district;
  std::string policies;
  int days = 21;
  int peak = 12;  // admissions on the busiest day
  std::uint64_t seed = 1;
};

struct TreatArgs {
  std::string db = kDefaultDb;
  std::string district;
  std::string policies;
  int admit = 8;
  int discharge = 3;
};

// Through the services, on a clock stepped back in time: each case admitted two hours after it
// opened (at most 72 h ago) to a hospital of the district (its second hospital, as a shelter
// hospital, for mild and asymptomatic cases when the district has two), received an hour later;
// the first `discharge` admitted early enough get two negative results 26 h apart and are
// discharged 2 h ago. Returns (admitted, discharged).
std::pair<int, int> demo_treatment(const TreatArgs& a) {
  auto repo = store::open_repository(a.db);
  loop::Profiles profiles(data_dir(DataDir::policies, a.policies));
  const Instant now = SystemClock{}.now();
  ManualClock clock(now - std::chrono::hours{72});
  loop::Service loop(*repo, profiles, clock);
  cases::Treatment treat(*repo, loop, clock);
  nat::Service nat(*repo, loop, nullptr, clock);
  const Caller admin = Caller::local("demo");
  std::vector<Org> hospitals, labs;
  for (const auto& o : repo->find_orgs("", OrgKind::hospital, Scope::area(a.district), {0, 100}).items) hospitals.push_back(o);
  for (const auto& o : repo->find_orgs("", OrgKind::lab, Scope::everything(), {0, 10}).items) labs.push_back(o);
  if (hospitals.empty()) fail(ErrorCode::invalid_argument, "district " + a.district + " has no hospital", "district");
  if (labs.empty()) fail(ErrorCode::invalid_argument, "the city has no lab", "db");
  // The district's second hospital is its shelter hospital (方舱医院, 2,000 beds); the first
  // stays a designated hospital (定点医院).
  if (hospitals.size() > 1) treat.set_facility(hospitals[1].id, "shelter_hospital", 2000, admin);
  auto cr = store::open_case_repository(*repo);
  store::CaseFilter f;
  f.status = "open";
  std::vector<store::CaseRecord> open;
  for (auto& k : cr->cases(f, Scope::area(a.district), {0, 1000}).items)
    if (treatment::treatable(k.classification)) open.push_back(std::move(k));
  // Oldest first: they have been ill longest.
  std::sort(open.begin(), open.end(), [](const auto& x, const auto& y) { return x.opened_at < y.opened_at; });
  int admitted = 0, discharged = 0;
  std::vector<cases::TreatmentView> in;
  for (const auto& k : open) {
    if (admitted >= a.admit) break;
    const bool light = k.severity == "mild" || k.classification == "asymptomatic";
    const Org& h = hospitals.size() > 1 && light ? hospitals[1] : hospitals[0];
    // Admitted two hours after the case opened, at most three days ago, at least an hour ago.
    const Instant at = std::max(k.opened_at + std::chrono::hours{2}, now - std::chrono::hours{72});
    if (at > now - std::chrono::hours{1}) continue;
    clock.set(at);
    try {
      auto v = treat.admit(k.id, {h.id, light && hospitals.size() > 1 ? "shelter_hospital" : "designated_hospital",
                                  "演示转运车", "", "演示救治"},
                           admin);
      clock.set(at + std::chrono::hours{1});
      if (v.row.handover_id) loop.acknowledge(v.row.handover_id, "收治", admin);
      in.push_back(std::move(v));
      ++admitted;
    } catch (const Error& e) {
      std::cerr << "treat: case " << k.id << " not admitted: " << e.what() << "\n";
    }
  }
  for (const auto& v : in) {
    if (discharged >= a.discharge) break;
    if (v.row.admitted_at > now - std::chrono::hours{52}) continue;  // the first test is sampled 50 h ago
    auto p = repo->person(v.row.person_id, Scope::everything());
    if (!p) continue;
    for (int hours_ago : {50, 24}) {
      nat::ResultInput r;
      r.doc_number = p->doc_number;
      r.reported = "negative";
      r.sampled_at = now - std::chrono::hours{hours_ago};
      r.tested_at = now - std::chrono::hours{hours_ago - 4};
      clock.set(now - std::chrono::hours{hours_ago - 5});
      nat.post_results({r}, labs.front().id, "api", admin);
    }
    clock.set(now - std::chrono::hours{2});
    treat.discharge(v.row.id, "两次核酸阴性，间隔26小时", admin);
    ++discharged;
  }
  return {admitted, discharged};
}

struct QuarantineOut {
  int rooms = 0, admitted = 0, released = 0, occupied = 0, hospitals = 0;
};

// Through the services, on a clock stepped back day by day: each site gets 80 single and 10
// family rooms (once), each hospital `capacity.beds.<code>` (60, unless set); on each of the last
// `days` days some residents of the district who are under no order become close contacts at a
// site (admissions rise to `peak` at two thirds of the period, then fall), are given rooms at
// 10:00, and are released after their stay (7 to 10 days) at 09:00.
QuarantineOut demo_quarantine(const QuarantineArgs& a) {
  QuarantineOut out;
  auto repo = store::open_repository(a.db);
  loop::Profiles profiles(data_dir(DataDir::policies, a.policies));
  const Instant now = SystemClock{}.now();
  const LocalTime local = store::local_time_of(*repo);
  const Date today = local.date_of(now);
  ManualClock clock(now);
  loop::Service loop(*repo, profiles, clock);
  const Caller admin = Caller::local("demo");
  std::vector<Org> sites;
  for (const auto& o : repo->find_orgs("", OrgKind::quarantine_site, Scope::area(a.district), {0, 100}).items)
    sites.push_back(o);
  if (sites.empty()) fail(ErrorCode::invalid_argument, "district " + a.district + " has no quarantine site", "district");
  for (const auto& h : repo->find_orgs("", OrgKind::hospital, Scope::area(a.district), {0, 100}).items) {
    const std::string key = "capacity.beds." + h.code;
    if (!repo->setting(key)) repo->set_setting(key, "60");
    ++out.hospitals;
  }
  for (const auto& s : sites) {
    if (!loop.loop().rooms(s.id).empty()) continue;
    std::vector<quarantine::Room> rooms;
    for (int i = 1; i <= 90; ++i) {
      quarantine::Room r;
      r.number = std::to_string(1 + (i - 1) / 30) + "-" + std::to_string(100 + i);
      r.type = i > 80 ? quarantine::RoomType::family : quarantine::RoomType::single;
      r.capacity = i > 80 ? 3 : 1;
      rooms.push_back(r);
    }
    out.rooms += static_cast<int>(loop.add_rooms(s.id, rooms, admin).size());
  }
  // Residents of the district under no order, in a seeded order.
  std::vector<std::int64_t> pool;
  store::PersonQuery q;
  q.area_prefix = a.district;
  for (const auto& p : repo->find_persons(q, Scope::area(a.district), {0, 1000}).items)
    if (loop.loop().active_orders_of_person(p.id).empty()) pool.push_back(p.id);
  std::mt19937_64 rng(a.seed);
  std::shuffle(pool.begin(), pool.end(), rng);
  std::size_t next = 0;
  struct Stay {
    std::int64_t order = 0;
    Date until{};
  };
  std::vector<Stay> stays;
  const int rise = std::max(1, a.days * 2 / 3);
  for (int back = a.days; back >= 1; --back) {
    const Date day{std::chrono::sys_days{today} - std::chrono::days{back}};
    // Releases of the day first, at 09:00.
    clock.set(local.at(day, std::chrono::hours{9}));
    for (auto& st : stays)
      if (st.order != 0 && std::chrono::sys_days{st.until} <= std::chrono::sys_days{day}) {
        if (loop.end_order(st.order, "隔离期满解除", admin)) ++out.released;
        st.order = 0;
      }
    // Admissions along a rise and fall, at 10:00.
    const int k = a.days - back;  // 0 .. days-1
    const double shape = k <= rise ? double(k + 1) / (rise + 1) : double(a.days - k) / (a.days - rise + 1);
    const int n = std::max(1, static_cast<int>(a.peak * shape + 0.5));
    clock.set(local.at(day, std::chrono::hours{10}));
    for (std::size_t si = 0; si < sites.size(); ++si) {
      std::vector<std::int64_t> orders;
      for (int i = 0; i < n && next < pool.size(); ++i) {
        loop::NewOrder o;
        o.person_id = pool[next++];
        o.group = "close_contact";
        o.start = day;
        o.stage = loop::Stage::quarantine_site;
        o.owner = loop::Owner::org(sites[si].id);
        o.note = "演示：密接集中隔离";
        try {
          orders.push_back(loop.create_order(o, admin).order.id);
        } catch (const Error& e) {
          std::cerr << "quarantine: person " << o.person_id << ": " << e.what() << "\n";
        }
      }
      if (orders.empty()) continue;
      const auto res = loop.assign_rooms(sites[si].id, orders, admin);
      out.admitted += static_cast<int>(res.assigned.size());
      for (auto id : orders) {
        const int stay_days = 7 + static_cast<int>(rng() % 4);
        stays.push_back({id, Date{std::chrono::sys_days{day} + std::chrono::days{stay_days}}});
      }
    }
  }
  for (const auto& st : stays)
    if (st.order != 0) ++out.occupied;
  return out;
}

const bool registered = add_command([](CLI::App& app) {
  auto a = std::make_shared<OutbreakArgs>();
  auto* cmd = app.add_subcommand("outbreak", "A demo outbreak (疫情) for the console and its tests");
  cmd->require_subcommand(1);
  auto* seed = cmd->add_subcommand("seed", "Register the cases and links of a demo outbreak in one district");
  seed->add_option("--db", a->db, "database URL (sqlite:PATH or postgresql://...)");
  seed->add_option("--district", a->district, "county-level area code whose residents fall ill")->required();
  seed->add_option("--days", a->days, "the outbreak's length in days, ending now (7..120, default 30)");
  seed->add_option("--cases", a->cases, "cases over the curve (10..5000, default 120)");
  seed->add_option("--seed", a->seed, "random seed (the same seed, the same outbreak)");
  seed->add_flag("--no-rebound", a->no_rebound, "no rebound cases in the last hour");
  seed->add_flag("--json", a->json, "print the report as JSON");
  seed->callback([a] {
    auto repo = store::open_repository(a->db);
    gen::OutbreakOptions o;
    o.seed = a->seed;
    o.district = a->district;
    o.days = a->days;
    o.cases = a->cases;
    o.rebound = !a->no_rebound;
    o.local = store::local_time_of(*repo);
    o.now = SystemClock{}.now();
    const auto r = gen::seed_outbreak(*repo, o);
    if (a->json)
      std::cout << "{\"cases\":" << r.cases << ",\"imported\":" << r.imported << ",\"links\":" << r.links
                << ",\"rebound\":" << r.rebound << ",\"found_inside_control\":" << r.found_inside_control
                << ",\"found_in_community\":" << r.found_in_community << "}\n";
    else
      std::cout << "outbreak: " << r.cases << " cases (" << r.imported << " imported, " << r.found_in_community
                << " found in the community, " << r.found_inside_control << " inside control, " << r.rebound
                << " of them a rebound in the last hour), " << r.links << " links\n";
  });
  auto t = std::make_shared<TreatArgs>();
  auto* treat = cmd->add_subcommand(
      "treat", "Put open cases of the district in treatment at its hospitals and discharge a few (demo)");
  treat->add_option("--db", t->db, "database URL (sqlite:PATH or postgresql://...)");
  treat->add_option("--district", t->district, "county-level area code of the cases and hospitals")->required();
  treat->add_option("--policies", t->policies, "policy profiles directory");
  treat->add_option("--admit", t->admit, "cases to admit (default 8)");
  treat->add_option("--discharge", t->discharge, "of those, cases to discharge (default 3)");
  treat->callback([t] {
    const auto [admitted, discharged] = demo_treatment(*t);
    std::cout << "treatment: " << admitted << " cases admitted, " << discharged
              << " discharged under home health monitoring\n";
  });
  // Early-warning feeds, vaccination records and hospital beds for the 研判 page (issue 10).
  auto f = std::make_shared<SurveillanceArgs>();
  auto q = std::make_shared<QuarantineArgs>();
  auto* quarantine = cmd->add_subcommand(
      "quarantine", "Rooms at the district's quarantine sites, beds at its hospitals, and contacts through the sites over the last weeks");
  quarantine->add_option("--db", q->db, "database URL (sqlite:PATH or postgresql://...)");
  quarantine->add_option("--district", q->district, "county-level area code of the sites and residents")->required();
  quarantine->add_option("--policies", q->policies, "policy profiles directory");
  quarantine->add_option("--days", q->days, "days of history (7..60, default 21)")->check(CLI::Range(7, 60));
  quarantine->add_option("--peak", q->peak, "admissions per site on the busiest day (1..200, default 12)")->check(CLI::Range(1, 200));
  quarantine->add_option("--seed", q->seed, "random seed");
  quarantine->callback([q] {
    const auto out = demo_quarantine(*q);
    std::cout << "quarantine: " << out.rooms << " rooms added, " << out.admitted << " contacts admitted, " << out.released
              << " released, " << out.occupied << " in rooms now; beds set at " << out.hospitals << " hospitals\n";
  });

  auto* feeds = cmd->add_subcommand(
      "feeds", "Demo early-warning feeds (fever clinics, pharmacies, schools; rising in the district), doses and beds");
  feeds->add_option("--db", f->db, "database URL (sqlite:PATH or postgresql://...)");
  feeds->add_option("--district", f->district, "county-level area code whose feeds rise")->required();
  feeds->add_option("--weeks", f->weeks, "weeks of history (3..52, default 10)");
  feeds->add_option("--rise-days", f->rise_days, "days of the rise (0..14, default 4)");
  feeds->add_option("--seed", f->seed, "random seed");
  feeds->add_flag("--no-vaccination", f->no_vaccination, "no vaccination records");
  feeds->callback([f] {
    auto repo = store::open_repository(f->db);
    gen::SurveillanceOptions o;
    o.seed = f->seed;
    o.district = f->district;
    o.weeks = f->weeks;
    o.rise_days = f->rise_days;
    o.vaccination = !f->no_vaccination;
    o.local = store::local_time_of(*repo);
    o.now = SystemClock{}.now();
    const auto r = gen::seed_surveillance(*repo, o);
    std::cout << "feeds: " << r.feed_rows << " daily counts of " << r.sites << " sites; vaccination: " << r.doses
              << " doses of " << r.persons_vaccinated << " persons; " << r.hospitals << " hospitals with beds\n";
  });
});

}  // namespace
}  // namespace bihuan::app
