// Epidemic analytics over a 100-day outbreak (bench/RESULTS.md, "Analytics queries"): writes
// `--cases` cases of residents of a generated city (`bihuan gen`) into its database, with an epidemic
// curve rising and falling over `--days` days, then times the analytics service's four queries
// (curves, Rt, nowcast, growth; the code path of GET /api/analytics/*) `--reps` times each, for
// the whole city and for one district, and writes the cases as CSV for the DuckDB baseline
// (bench/duckdb/analytics.mjs) that runs the same aggregates over the same rows.
//
//   analytics_bench --db sqlite:PATH --out DIR [--cases 100000] [--days 100] [--reps 50]
//                   [--end 2026-11-29] [--seed 1]
//
// Prints one JSON document on stdout (p50/p99/max in ms per query); progress on stderr.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analytics/service.hpp"
#include "bulletin/service.hpp"
#include "core/caller.hpp"
#include "core/date.hpp"
#include "store/case_repository.hpp"
#include "store/repository.hpp"

namespace {

using namespace bihuan;
using SteadyClock = std::chrono::steady_clock;
using nlohmann::json;

std::string arg(int argc, char** argv, const std::string& name, const std::string& dflt) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return argv[i + 1];
  return dflt;
}

Date plus(Date d, int n) { return Date(std::chrono::sys_days(d) + std::chrono::days(n)); }

json percentiles(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(ms.size()))) - 1;
    return ms[std::min(i, ms.size() - 1)];
  };
  return {{"n", ms.size()}, {"p50_ms", at(0.5)}, {"p99_ms", at(0.99)}, {"max_ms", ms.back()}};
}

}  // namespace

int main(int argc, char** argv) {
  const std::string db = arg(argc, argv, "--db", "");
  const std::string out = arg(argc, argv, "--out", "");
  const int n_cases = std::stoi(arg(argc, argv, "--cases", "100000"));
  const int days = std::stoi(arg(argc, argv, "--days", "100"));
  const int reps = std::stoi(arg(argc, argv, "--reps", "50"));
  const Date end = *parse_date(arg(argc, argv, "--end", "2026-11-29"));
  const auto seed = static_cast<std::uint64_t>(std::stoll(arg(argc, argv, "--seed", "1")));
  if (db.empty() || out.empty()) {
    std::cerr << "usage: analytics_bench --db URL --out DIR [--cases N] [--days D] [--reps R]\n";
    return 2;
  }
  auto repo = store::open_repository(db);
  auto cases = store::open_case_repository(*repo);
  const LocalTime local;  // Asia/Shanghai
  const Date first = plus(end, -(days - 1));

  // Residents to fall ill: every k-th registered person, so the cases spread over the city.
  const std::int64_t registered = cases->count_persons_for_scans();
  const std::int64_t step = std::max<std::int64_t>(1, registered / n_cases);
  std::vector<store::PersonBrief> people;
  for (std::int64_t after = 0; static_cast<int>(people.size()) < n_cases;) {
    auto page = cases->persons_for_scans(after, 10000);
    if (page.empty()) break;
    after = page.back().id;
    for (std::size_t i = 0; i < page.size() && static_cast<int>(people.size()) < n_cases; i += static_cast<std::size_t>(step))
      people.push_back(page[i]);
  }
  std::cerr << "analytics_bench: " << registered << " persons registered, " << people.size() << " fall ill over " << days
            << " days\n";

  // The outbreak: a gamma-shaped curve of report days (peak at 45 % of the period); onsets 0..9
  // days before the report (mean about 2.5); 3 % imported; 60 % found inside control; 20 %
  // asymptomatic (no onset); a diagnosis the day of the report.
  std::mt19937_64 rng(seed);
  std::gamma_distribution<double> curve(4.0, static_cast<double>(days) * 0.45 / 3.0);
  std::geometric_distribution<int> delay(0.4);
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<int> minute(0, 24 * 60 - 1);
  const char* inside[] = {"central_quarantine", "home_isolation", "closed_loop_work"};
  const char* community[] = {"round_screening", "key_group_screening", "clinic"};
  std::ofstream csv(out + "/cases.csv");
  csv << "area_code,classification,origin,found_by,onset_date,opened_at,reported_at,diagnosed_at\n";
  const auto t_load = SteadyClock::now();
  std::vector<store::CaseRecord> batch;
  repo->transaction([&] {
    for (const auto& p : people) {
      int d = 0;
      do d = static_cast<int>(curve(rng));
      while (d >= days);
      const Date rep = plus(first, d);
      store::CaseRecord k;
      k.person_id = p.id;
      k.area_code = p.area_code;
      k.source = "manual";
      k.classification = u(rng) < 0.2 ? "asymptomatic" : "confirmed";
      k.origin = u(rng) < 0.03 ? "imported" : "local";
      k.found_by = u(rng) < 0.6 ? inside[minute(rng) % 3] : community[minute(rng) % 3];
      k.opened_at = local.at(rep, std::chrono::minutes(minute(rng)));
      k.reported_at = k.opened_at + std::chrono::hours(1);
      k.diagnosed_at = k.opened_at;
      if (k.classification != "asymptomatic") k.onset_date = format_date(plus(rep, -std::min(delay(rng), 9)));
      cases->insert_case(k);
      csv << k.area_code << ',' << k.classification << ',' << k.origin << ',' << k.found_by << ',' << k.onset_date << ','
          << to_unix_ms(k.opened_at) << ',' << to_unix_ms(*k.reported_at) << ',' << to_unix_ms(*k.diagnosed_at) << '\n';
    }
  });
  csv.close();
  const double load_s = std::chrono::duration<double>(SteadyClock::now() - t_load).count();
  std::cerr << "analytics_bench: cases written in " << load_s << " s\n";

  // The busiest district and a command centre holding it.
  std::map<std::string, int> by_district;
  for (const auto& p : people) ++by_district[p.area_code.substr(0, 6)];
  const auto district =
      std::max_element(by_district.begin(), by_district.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
  Caller city = Caller::local("bench");
  Caller centre;
  centre.role = Role::command_centre;
  centre.scope = Scope::area(district);
  centre.user_id = 1;
  centre.username = "bench";

  ManualClock clock(local.at(plus(end, 1), std::chrono::minutes(9 * 60)));
  analytics::Settings settings;
  analytics::Service svc(*repo, clock, settings);
  analytics::Filter f;
  f.from = first;
  f.to = end;
  json results = json::object();
  auto time = [&](const std::string& name, const std::function<std::int64_t()>& fn) {
    std::vector<double> ms;
    std::int64_t check = 0;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = SteadyClock::now();
      check = fn();
      ms.push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
    }
    json j = percentiles(ms);
    j["result"] = check;
    results[name] = j;
    std::cerr << "analytics_bench: " << name << " " << j.dump() << "\n";
  };
  for (const auto& [who, caller] : {std::pair<std::string, Caller>{"city", city}, {"district", centre}}) {
    time(who + ".curves_report", [&] {
      const auto c = svc.curves(f, caller);
      std::int64_t n = 0;
      for (auto v : c.total) n += v;
      return n;
    });
    auto g = f;
    g.by = store::CaseDate::onset;
    time(who + ".curves_onset", [&] {
      const auto c = svc.curves(g, caller);
      std::int64_t n = 0;
      for (auto v : c.total) n += v;
      return n;
    });
    time(who + ".rt", [&] {
      const auto r = svc.rt(f, std::nullopt, std::nullopt, std::nullopt, caller);
      std::int64_t n = 0;
      for (auto v : r.local) n += v;
      for (auto v : r.imported) n += v;
      return n;
    });
    analytics::Filter nf;  // the default 60 days up to the end
    nf.to = end;
    time(who + ".nowcast", [&] { return svc.nowcast(nf, std::nullopt, caller).nowcast.cases; });
    time(who + ".growth", [&] { return svc.growth({}, 14, "local", caller).growth.cases; });
  }
  // The daily bulletin of the outbreak's peak day (the code path of POST /api/bulletins): every
  // case reported up to the day's end read and counted (new, cumulative, under treatment), the
  // notices of the day's local cases with their residence and links, the draft written.
  const Date peak = plus(first, static_cast<int>(days * 0.45));
  bulletin::Service bs(*repo, clock, local);
  Caller admin = Caller::local("bench");
  for (const auto& [who, area] : {std::pair<std::string, std::string>{"city", bs.default_area(admin)}, {"district", district}}) {
    time(who + ".bulletin", [&] {
      const auto v = bs.generate(format_date(peak), area, admin);
      return v.figures.confirmed + v.figures.asymptomatic;
    });
  }
  json doc = {{"cases", people.size()},   {"registered", registered}, {"days", days},
              {"first", format_date(first)}, {"end", format_date(end)}, {"district", district},
              {"district_cases", by_district[district]}, {"load_s", load_s}, {"reps", reps},
              {"peak", format_date(peak)},
              {"queries", results}};
  std::cout << doc.dump(2) << "\n";
  return 0;
}
