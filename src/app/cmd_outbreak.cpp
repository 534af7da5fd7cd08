// bihuan outbreak seed: a demo outbreak in one district (src/gen/outbreak.hpp): cases along an
// epidemic curve over the last weeks, their links, and a local rebound found in the community in
// the last hour, which starts the emergency playbooks when the server runs (make run's demo).
// bihuan outbreak treat: some of the open cases in treatment at the district's hospitals, and a
// few of those discharged on two negative tests, under post-discharge home health monitoring.
#include <algorithm>
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
