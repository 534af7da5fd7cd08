// A city-wide testing round (全员核酸) through the testing service, step by step, against plain
// prepared inserts of the same sample rows in the same run (bench/RESULTS.md, "25 M-person
// testing round"). The database comes from `bihuan gen`; the round covers its whole city.
//
//   nat_round_bench --db sqlite:PATH [--ratio 10] [--tubes-per-upload 1000]
//                   [--positive-every 1000] [--policies DIR] [--barcode-prefix P] [--no-baseline]
//
// Steps, each timed (wall and CPU):
//   1. sampling: every resident, street by street, into tubes of `ratio` at the street's sampling
//      point, sent as sampling-device uploads (nat::Service::upload_samples, the code path of
//      POST /api/nat/samples/upload) of `tubes-per-upload` tubes;
//   2. results: one result per tube (post_results, the code path of POST /api/nat/results and
//      of lab files), every `positive-every`-th tube positive: its members are flagged and get
//      single-tube re-test tasks;
//   3. re-tests: every re-test task sampled into a single tube (uploads) and resulted, the
//      first member of each positive pool positive (a case), the others negative;
//   4. coverage: the round's coverage by district (every grid counted, rolled up);
//   5. baseline: the same sample rows written with one prepared INSERT into a table of
//      tube_members' shape and indexes, in one transaction, in a scratch database.
// Prints one JSON document on stdout; progress on stderr.
#include <sqlite3.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_common.hpp"
#include "core/caller.hpp"
#include "core/date.hpp"
#include "loop/service.hpp"
#include "nat/service.hpp"
#include "store/repository.hpp"

namespace {

using namespace bihuan;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}
double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// The machine's 1-minute load average (other sessions share it): noted with every step.
double load_average() {
  double l = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = -1;
    std::fclose(f);
  }
  return l;
}

struct Step {
  Clock::time_point t0 = Clock::now();
  double c0 = cpu_seconds();
  double load0 = load_average();
  json done(std::int64_t items) const {
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    return {{"wall_s", wall}, {"cpu_s", cpu_seconds() - c0}, {"items", items},
            {"per_s", wall > 0 ? static_cast<double>(items) / wall : 0.0},
            {"load_start", load0}, {"load_end", load_average()}};
  }
};

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

// The residents, read once before the clock starts: document number, street and id.
struct City {
  std::vector<std::array<char, 18>> doc;
  std::vector<std::int64_t> id;
  std::vector<std::uint32_t> street;  // index into streets
  std::vector<std::string> streets;
  std::vector<std::int64_t> index_of_id;  // person id -> row, -1 = none
};

City read_city(const std::string& path) {
  City c;
  sqlite3* db = nullptr;
  check(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), db, "open");
  sqlite3_stmt* st = nullptr;
  // By grid, then id (the generator writes a household's members together): the order people
  // queue at their street's point, household by household.
  check(sqlite3_prepare_v2(db,
                           "SELECT id, doc_number, area_code FROM persons WHERE merged_into IS NULL "
                           "ORDER BY area_code, id",
                           -1, &st, nullptr),
        db, "prepare");
  std::map<std::string, std::uint32_t> street_ix;
  std::int64_t max_id = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const auto* doc = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
    const auto* area = reinterpret_cast<const char*>(sqlite3_column_text(st, 2));
    if (!doc || std::strlen(doc) != 18 || !area || std::strlen(area) < 9) continue;
    std::array<char, 18> d{};
    std::memcpy(d.data(), doc, 18);
    const std::string s(area, 9);
    auto [it, fresh] = street_ix.emplace(s, static_cast<std::uint32_t>(c.streets.size()));
    if (fresh) c.streets.push_back(s);
    c.doc.push_back(d);
    c.id.push_back(sqlite3_column_int64(st, 0));
    c.street.push_back(it->second);
    max_id = std::max(max_id, c.id.back());
  }
  check(rc, db, "read persons");
  sqlite3_finalize(st);
  sqlite3_close(db);
  c.index_of_id.assign(static_cast<std::size_t>(max_id + 1), -1);
  for (std::size_t i = 0; i < c.id.size(); ++i) c.index_of_id[static_cast<std::size_t>(c.id[i])] = static_cast<std::int64_t>(i);
  return c;
}

std::string barcode(const char* prefix, std::int64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%010lld", prefix, static_cast<long long>(n));
  return buf;
}

std::string doc_of(const City& c, std::size_t i) { return std::string(c.doc[i].data(), 18); }

// The floor: the same member rows through one prepared INSERT, one transaction.
json baseline(const std::vector<std::array<std::int64_t, 2>>& rows, std::int64_t round_id) {
  const std::string path = bench::scratch_db("nat-baseline");
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open baseline");
  check(sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                     "CREATE TABLE tube_members (tube_id INTEGER NOT NULL, person_id INTEGER NOT NULL, "
                     "round_id INTEGER NOT NULL DEFAULT 0, task_id INTEGER NOT NULL DEFAULT 0, "
                     "sampled_at INTEGER NOT NULL, sampled_by INTEGER NOT NULL DEFAULT 0, "
                     "open INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (tube_id, person_id)); "
                     "CREATE INDEX tube_members_person ON tube_members (person_id, sampled_at); "
                     "CREATE UNIQUE INDEX tube_members_open_round ON tube_members (round_id, person_id) "
                     "WHERE open = 1 AND round_id <> 0; "
                     "CREATE INDEX tube_members_round ON tube_members (round_id, person_id);",
                     nullptr, nullptr, nullptr),
        db, "baseline schema");
  Step s;
  sqlite3_stmt* st = nullptr;
  check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
  check(sqlite3_prepare_v2(db,
                           "INSERT INTO tube_members (tube_id, person_id, round_id, task_id, sampled_at, sampled_by, open) "
                           "VALUES (?, ?, ?, 0, ?, 1, 0)",
                           -1, &st, nullptr),
        db, "prepare insert");
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  for (const auto& r : rows) {
    sqlite3_bind_int64(st, 1, r[0]);
    sqlite3_bind_int64(st, 2, r[1]);
    sqlite3_bind_int64(st, 3, round_id);
    sqlite3_bind_int64(st, 4, now);
    check(sqlite3_step(st), db, "insert");
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  json out = s.done(static_cast<std::int64_t>(rows.size()));
  sqlite3_close(db);
  bench::remove_db(path);
  return out;
}

std::uint64_t file_size(const std::string& p) {
  std::error_code ec;
  auto n = std::filesystem::file_size(p, ec);
  return ec ? 0 : n;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, policies = std::string(BIHUAN_SOURCE_DIR) + "/policies", rule, prefix;
  int ratio = 10, per_upload = 1000;
  std::int64_t positive_every = 1000;
  bool with_baseline = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--db") url = next();
    else if (a == "--ratio") ratio = std::stoi(next());
    else if (a == "--tubes-per-upload") per_upload = std::stoi(next());
    else if (a == "--positive-every") positive_every = std::stoll(next());
    else if (a == "--policies") policies = next();
    else if (a == "--rule") rule = next();
    else if (a == "--barcode-prefix") prefix = next();
    else if (a == "--no-baseline") with_baseline = false;
    else {
      std::cerr << "usage: nat_round_bench --db sqlite:PATH [--ratio 10] [--tubes-per-upload 1000] "
                   "[--positive-every 1000] [--rule KEY] [--policies DIR] [--no-baseline]\n";
      return 2;
    }
  }
  if (url.rfind("sqlite:", 0) != 0) {
    std::cerr << "--db sqlite:PATH is required\n";
    return 2;
  }
  const std::string path = url.substr(7);
  json out;
  out["database"] = path;
  out["ratio"] = ratio;

  Step read_step;
  const City city = read_city(path);
  out["persons"] = city.id.size();
  out["streets"] = city.streets.size();
  out["read_residents"] = read_step.done(static_cast<std::int64_t>(city.id.size()));
  std::cerr << "residents: " << city.id.size() << " in " << city.streets.size() << " streets\n";

  auto repo = store::open_repository(url);
  loop::Profiles profiles(policies);
  SystemClock clock;
  loop::Service loop(*repo, profiles, clock);
  nat::Service svc(*repo, loop, nullptr, clock);
  const Caller admin = Caller::local("bench");

  // A point per street (the generator's), and the city's area code.
  std::map<std::string, store::SamplingPointRow> point_of;
  for (const auto& p : svc.points(admin))
    if (p.active && p.area_code.size() >= 9) point_of.emplace(p.area_code.substr(0, 9), p);
  // Points sample only in their hours (07:00-21:00 for the generator's): a city-wide round keeps
  // the points it uses open around the clock, so that the benchmark runs at any hour.
  {
    nat::PointChange all_day;
    all_day.opens = "00:00";
    all_day.closes = "24:00";
    for (auto& [s, p] : point_of) p = svc.change_point(p.id, all_day, admin);
  }
  std::int64_t any_lab = 0;
  for (const auto& [s, p] : point_of)
    if (p.lab_org_id) any_lab = p.lab_org_id;
  if (any_lab == 0) throw std::runtime_error("no sampling point sends to a lab: generate the city with bihuan gen");
  const std::string city_code = city.streets.front().substr(0, 4);

  if (rule.empty()) rule = "outbreak_district_10m";
  nat::NewRounds nr;
  nr.area_code = city_code;
  nr.days = {svc.settings().local.date_of(clock.now())};
  nr.rule = rule;
  nr.pool_ratio = ratio;
  nr.outbreak_declared = true;
  nr.campaign = "bench";
  const auto round = svc.start_rounds(nr, admin).at(0);
  out["round_id"] = round.id;

  // 1. Sampling.
  std::vector<std::array<std::int64_t, 2>> rows;  // (tube number, person id) for the baseline
  rows.reserve(city.id.size());
  std::vector<std::string> tube_codes;
  tube_codes.reserve(city.id.size() / static_cast<std::size_t>(ratio) + city.streets.size());
  std::int64_t samples = 0, rejected = 0;
  {
    Step s;
    std::size_t i = 0;
    std::int64_t uploads = 0;
    while (i < city.id.size()) {
      const std::uint32_t st = city.street[i];
      auto pt = point_of.find(city.streets[st]);
      std::size_t end = i;
      while (end < city.id.size() && city.street[end] == st) ++end;
      if (pt == point_of.end()) {
        i = end;
        continue;
      }
      while (i < end) {
        nat::SampleUpload u;
        u.point_id = pt->second.id;
        u.round_id = round.id;
        for (int t = 0; t < per_upload && i < end; ++t) {
          nat::UploadTube tube;
          tube.barcode = barcode((prefix + "R").c_str(), static_cast<std::int64_t>(tube_codes.size() + u.tubes.size()));
          for (int k = 0; k < ratio && i < end; ++k, ++i) {
            nat::SampleWho w;
            w.doc_number = doc_of(city, i);
            tube.members.push_back(std::move(w));
            rows.push_back({static_cast<std::int64_t>(tube_codes.size() + u.tubes.size()), city.id[i]});
          }
          u.tubes.push_back(std::move(tube));
        }
        auto rep = svc.upload_samples(u, admin);
        samples += rep.samples;
        rejected += rep.rejected;
        for (const auto& e : rep.errors)
          if (rejected <= 5) std::cerr << "refused tube " << e.barcode << ": " << e.reason << "\n";
        for (auto& t : u.tubes) tube_codes.push_back(std::move(t.barcode));
        if (++uploads % 250 == 0)
          std::cerr << "\rsampled " << samples << " / " << city.id.size() << std::flush;
      }
    }
    std::cerr << "\rsampled " << samples << " / " << city.id.size() << "\n";
    out["sampling"] = s.done(samples);
    out["sampling"]["tubes"] = tube_codes.size();
    out["sampling"]["uploads"] = uploads;
    out["sampling"]["rejected_tubes"] = rejected;
    std::cerr << "step sampling " << out["sampling"].dump() << "\n";
  }

  // 2. Results, every positive_every-th tube positive.
  std::int64_t positive_pools = 0, retests = 0;
  {
    Step s;
    std::vector<nat::ResultInput> items;
    const Instant now = clock.now();
    std::int64_t accepted = 0;
    for (std::size_t t = 0; t < tube_codes.size(); ++t) {
      nat::ResultInput in;
      in.index = static_cast<std::int64_t>(items.size());
      in.barcode = tube_codes[t];
      const bool pos = positive_every > 0 && (t + 1) % static_cast<std::size_t>(positive_every) == 0;
      in.reported = pos ? "positive" : "negative";
      if (pos) {
        in.orf1ab_ct = 28.5;
        in.n_ct = 27.9;
      }
      in.tested_at = now;
      items.push_back(std::move(in));
      if (items.size() == 10000 || t + 1 == tube_codes.size()) {
        auto rep = svc.post_results(items, any_lab, "api", admin);
        accepted += rep.accepted;
        positive_pools += rep.positive_pools;
        retests += rep.retest_tasks;
        if (rep.rejected && rejected < 5) std::cerr << "\nrejected results: " << rep.rejected << "\n";
        items.clear();
        std::cerr << "\rresulted " << t + 1 << " / " << tube_codes.size() << std::flush;
      }
    }
    std::cerr << "\n";
    out["results"] = s.done(accepted);
    out["results"]["positive_pools"] = positive_pools;
    out["results"]["retest_tasks"] = retests;
    std::cerr << "step results " << out["results"].dump() << "\n";
  }

  // 3. Re-tests: single tubes at the person's street point, resulted.
  {
    Step s;
    std::vector<store::TaskRow> tasks;
    store::TaskFilter f;
    f.status = "open";
    store::Page page;
    page.limit = 1000;
    for (;;) {
      auto p = svc.tasks(f, admin, page);
      for (auto& t : p.items) tasks.push_back(std::move(t));
      if (p.next == 0) break;
      page.after = p.next;
    }
    std::map<std::string, std::vector<std::size_t>> by_street;
    for (const auto& t : tasks) {
      const auto ix = t.person_id < static_cast<std::int64_t>(city.index_of_id.size())
                          ? city.index_of_id[static_cast<std::size_t>(t.person_id)]
                          : -1;
      if (ix >= 0) by_street[city.streets[city.street[static_cast<std::size_t>(ix)]]].push_back(static_cast<std::size_t>(ix));
    }
    std::int64_t taken = 0;
    std::vector<std::pair<std::string, std::int64_t>> single;  // barcode, person id
    for (const auto& [street, people] : by_street) {
      nat::SampleUpload u;
      u.point_id = point_of.at(street).id;
      u.round_id = round.id;
      for (auto ix : people) {
        nat::UploadTube tube;
        tube.barcode = barcode((prefix + "S").c_str(), static_cast<std::int64_t>(single.size()));
        tube.ratio = 1;
        tube.priority = "key";
        nat::SampleWho w;
        w.doc_number = doc_of(city, ix);
        tube.members.push_back(std::move(w));
        single.emplace_back(tube.barcode, city.id[ix]);
        u.tubes.push_back(std::move(tube));
        if (u.tubes.size() == static_cast<std::size_t>(per_upload)) {
          taken += svc.upload_samples(u, admin).samples;
          u.tubes.clear();
        }
      }
      if (!u.tubes.empty()) taken += svc.upload_samples(u, admin).samples;
    }
    // The first re-test of each positive pool (by tube number) is positive.
    std::vector<nat::ResultInput> items;
    std::int64_t cases = 0, accepted = 0;
    std::map<std::int64_t, bool> pool_seen;  // positive pool tube number -> a positive given
    std::map<std::int64_t, std::int64_t> pool_of_person;  // the people of positive pools
    for (const auto& r : rows)
      if (positive_every > 0 && (r[0] + 1) % positive_every == 0) pool_of_person.emplace(r[1], r[0]);
    for (const auto& [code, pid] : single) {
      nat::ResultInput in;
      in.index = static_cast<std::int64_t>(items.size());
      in.barcode = code;
      const auto found = pool_of_person.find(pid);
      const std::int64_t pool = found == pool_of_person.end() ? -1 : found->second;
      const bool pos = pool >= 0 && !pool_seen[pool];
      if (pool >= 0) pool_seen[pool] = true;
      in.reported = pos ? "positive" : "negative";
      if (pos) {
        in.orf1ab_ct = 26.0;
        in.n_ct = 25.5;
      }
      in.tested_at = clock.now();
      items.push_back(std::move(in));
    }
    for (std::size_t i = 0; i < items.size(); i += 10000) {
      std::vector<nat::ResultInput> part(items.begin() + static_cast<std::ptrdiff_t>(i),
                                         items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), i + 10000)));
      auto rep = svc.post_results(part, any_lab, "api", admin);
      cases += rep.cases_opened;
      accepted += rep.accepted;
    }
    out["retests"] = s.done(taken);
    out["retests"]["tasks"] = tasks.size();
    out["retests"]["results"] = accepted;
    out["retests"]["cases_opened"] = cases;
    std::cerr << "step retests " << out["retests"].dump() << "\n";
  }

  // 4. Coverage by district.
  {
    Step s;
    const auto cov = svc.coverage(round.id, 6, admin);
    out["coverage"] = s.done(cov.total.expected);
    out["coverage"]["expected"] = cov.total.expected;
    out["coverage"]["sampled"] = cov.total.sampled;
    out["coverage"]["resulted"] = cov.total.resulted;
    out["coverage"]["positive"] = cov.total.positive;
    out["coverage"]["households_full"] = cov.total.households_full;
    out["coverage"]["households_none"] = cov.total.households_none;
    out["coverage"]["districts"] = cov.rows.size();
    std::cerr << "step coverage " << out["coverage"].dump() << "\n";
  }
  double round_wall = 0;
  for (const char* k : {"sampling", "results", "retests", "coverage"}) round_wall += out[k]["wall_s"].get<double>();
  out["round_wall_s"] = round_wall;
  out["database_bytes"] = file_size(path) + file_size(path + "-wal");
  out["peak_rss_mib"] = peak_rss_mib();

  // 5. The floor.
  if (with_baseline) {
    std::cerr << "baseline: " << rows.size() << " plain inserts\n";
    out["baseline_inserts"] = baseline(rows, round.id);
    out["sampling_to_baseline"] =
        out["sampling"]["wall_s"].get<double>() / out["baseline_inserts"]["wall_s"].get<double>();
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}
