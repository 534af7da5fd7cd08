// Work resumption and supplies at city scale (issue 11; bench/RESULTS.md, "Work resumption and
// supplies"): a generated 25 M-person city (`bihuan gen`) gets 200,000 enterprises with their
// rosters and a week of routine tests, and 2 M people under control (high-risk areas and
// home isolation of close contacts' households) with their households' needs records; then the
// compliance table of every enterprise and the day's needs lists of every controlled area are
// built through the services (the code of GET /api/enterprises/compliance and of the needs
// lists' route), and the same rows are written as CSV for the DuckDB baseline
// (bench/duckdb/supply.mjs) that runs the same queries in the same run.
//
//   supply_bench seed    --db sqlite:PATH --out DIR [--enterprises 200000] [--controlled 2000000]
//                        [--today 2026-11-29] [--days 7]
//   supply_bench measure --db sqlite:PATH --out DIR [--reps 5] [--today 2026-11-29] [--days 7]
//
// `seed` writes fixture rows with plain SQL in one transaction per table (they stand for what the
// registration, nat and loop services would have written over weeks; those paths have their own
// benchmarks) and the CSV files. `measure` runs in a process of its own so that its peak memory
// is the queries'. Each prints one JSON document on stdout; progress goes to stderr.
#include <sqlite3.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/iso_time.hpp"
#include "enterprise/service.hpp"
#include "loop/service.hpp"
#include "nat/service.hpp"
#include "store/needs_repository.hpp"
#include "store/repository.hpp"
#include "supply/needs_service.hpp"

namespace {

using namespace bihuan;
using SteadyClock = std::chrono::steady_clock;
using nlohmann::json;

std::string arg(int argc, char** argv, const std::string& name, const std::string& dflt) {
  for (int i = 2; i + 1 < argc; ++i)
    if (argv[i] == name) return argv[i + 1];
  return dflt;
}

double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double peak_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// ---- plain SQLite for the fixture ----

struct Sqlite {
  sqlite3* db = nullptr;
  explicit Sqlite(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("open " + path);
    exec("PRAGMA journal_mode = WAL");
    exec("PRAGMA synchronous = NORMAL");
    exec("PRAGMA cache_size = -1048576");  // 1 GiB
    exec("PRAGMA temp_store = MEMORY");
  }
  ~Sqlite() { sqlite3_close(db); }
  Sqlite(const Sqlite&) = delete;
  Sqlite& operator=(const Sqlite&) = delete;
  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error(m + " in: " + sql.substr(0, 200));
    }
  }
  std::int64_t changes() const { return sqlite3_changes64(db); }
  // Runs a query and calls row(stmt) per row.
  template <typename F>
  void each(const std::string& sql, F&& row) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string(sqlite3_errmsg(db)) + " in: " + sql.substr(0, 200));
    int rc = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) row(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) throw std::runtime_error(std::string(sqlite3_errmsg(db)) + " in: " + sql.substr(0, 200));
  }
  std::int64_t scalar(const std::string& sql) {
    std::int64_t v = 0;
    each(sql, [&](sqlite3_stmt* st) { v = sqlite3_column_int64(st, 0); });
    return v;
  }
  // Writes the rows of a query as CSV with a header.
  std::int64_t to_csv(const std::string& sql, const std::string& path, const std::string& header) {
    std::ofstream out(path);
    out << header << '\n';
    std::int64_t n = 0;
    each(sql, [&](sqlite3_stmt* st) {
      const int cols = sqlite3_column_count(st);
      for (int i = 0; i < cols; ++i) {
        if (i) out << ',';
        const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
        if (t) out << t;
      }
      out << '\n';
      ++n;
    });
    return n;
  }
};

std::string sqlite_path(const std::string& url) {
  const std::string p = "sqlite:";
  if (url.rfind(p, 0) != 0) throw std::runtime_error("the fixture needs a sqlite: database");
  return url.substr(p.size());
}

std::string day_plus(const std::string& day, int n) {
  return format_date(Date(std::chrono::sys_days(*parse_date(day)) + std::chrono::days(n)));
}

// Local midnight (UTC+8) of a day, in Unix ms.
std::int64_t local_midnight_ms(const std::string& day) {
  return static_cast<std::int64_t>(std::chrono::sys_days(*parse_date(day)).time_since_epoch().count()) * 86400000 -
         8 * 3600000;
}

json timed(const std::string& what, double& total, const std::function<std::int64_t()>& fn) {
  std::cerr << "== " << what << "\n";
  const auto t0 = SteadyClock::now();
  const double c0 = cpu_seconds();
  const std::int64_t rows = fn();
  const double wall = seconds_since(t0);
  total += wall;
  std::cerr << "   " << rows << " rows, " << wall << " s\n";
  return {{"rows", rows}, {"wall_s", wall}, {"cpu_s", cpu_seconds() - c0}};
}

// ---- seed ----

int seed(int argc, char** argv) {
  const std::string url = arg(argc, argv, "--db", "");
  const std::string out = arg(argc, argv, "--out", "");
  const std::int64_t n_ent = std::stoll(arg(argc, argv, "--enterprises", "200000"));
  const std::int64_t n_controlled = std::stoll(arg(argc, argv, "--controlled", "2000000"));
  const std::string today = arg(argc, argv, "--today", "2026-11-29");
  const int days = std::stoi(arg(argc, argv, "--days", "7"));
  if (url.empty() || out.empty()) throw std::runtime_error("seed needs --db and --out");
  // Bring the schema up to date first (the repository migrates on open).
  { auto repo = store::open_repository(url); }
  Sqlite s(sqlite_path(url));
  json steps = json::object();
  double total = 0;
  if (s.scalar("SELECT COUNT(*) FROM enterprises") > 0)
    throw std::runtime_error("the database has enterprises already: seed a fresh city");
  const std::int64_t now_ms = local_midnight_ms(today) + 10 * 3600000;  // 10:00 local today

  // Enterprises: every organisation of kind enterprise of the generated city, and new ones (with
  // eight staff each from people without a workplace) up to n_ent.
  steps["enterprises"] = timed("enterprises", total, [&] {
    s.exec("BEGIN");
    const std::int64_t have = s.scalar("SELECT COUNT(*) FROM orgs WHERE kind = 'enterprise'");
    const std::int64_t extra = std::max<std::int64_t>(0, n_ent - have);
    if (extra > 0) {
      // New ones go to the grids of the existing ones, round robin.
      s.exec("CREATE TEMP TABLE grids AS SELECT area_code, ROW_NUMBER() OVER (ORDER BY area_code) - 1 AS i FROM "
             "(SELECT DISTINCT area_code FROM orgs WHERE kind = 'enterprise')");
      const std::int64_t g = s.scalar("SELECT COUNT(*) FROM grids");
      s.exec("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < " + std::to_string(extra) +
             ") INSERT INTO orgs (code, name, kind, area_code) SELECT 'BENCH-ENT-' || n.i, '新办企业' || n.i, "
             "'enterprise', g.area_code FROM n JOIN grids g ON g.i = n.i % " + std::to_string(g));
      s.exec("CREATE TEMP TABLE idle AS SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS i FROM persons "
             "WHERE workplace_org_id IS NULL AND merged_into IS NULL AND birth_date <= '2000-01-01' "
             "AND birth_date > '1966-01-01' LIMIT " + std::to_string(extra * 8));
      s.exec("CREATE TEMP TABLE fresh AS SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS i FROM orgs "
             "WHERE code LIKE 'BENCH-ENT-%'");
      s.exec("CREATE INDEX idle_id ON idle (id)");
      s.exec("CREATE INDEX fresh_i ON fresh (i)");
      s.exec("UPDATE persons SET workplace_org_id = (SELECT f.id FROM idle JOIN fresh f ON f.i = idle.i / 8 "
             "WHERE idle.id = persons.id) WHERE id IN (SELECT id FROM idle)");
    }
    // A seventh are reopened under an approved plan (white-listed when the id says so); the rest
    // registered, submitted or returned.
    s.exec("INSERT INTO enterprises (org_id, industry, white_list, status, reopened, plan_version, registered_at, "
           "updated_at) SELECT id, CASE id % 5 WHEN 0 THEN 'manufacturing' WHEN 1 THEN 'retail' WHEN 2 THEN "
           "'logistics' WHEN 3 THEN 'catering' ELSE 'services' END, CASE WHEN id % 20 = 0 THEN 1 ELSE 0 END, "
           "CASE WHEN id % 7 = 0 THEN 'approved' WHEN id % 7 = 1 THEN 'submitted' WHEN id % 7 = 2 THEN 'returned' "
           "ELSE 'registered' END, CASE WHEN id % 7 = 0 THEN 1 ELSE 0 END, CASE WHEN id % 7 IN (0, 1, 2) THEN 1 "
           "ELSE 0 END, " + std::to_string(now_ms) + ", " + std::to_string(now_ms) +
           " FROM orgs WHERE kind = 'enterprise' ORDER BY id LIMIT " + std::to_string(n_ent));
    const std::int64_t n = s.changes();
    s.exec("INSERT INTO enterprise_sites (org_id, name, address, area_code) SELECT e.org_id, '主厂区', o.address, "
           "o.area_code FROM enterprises e JOIN orgs o ON o.id = e.org_id");
    s.exec("COMMIT");
    return n;
  });
  // Rosters: everyone working there, by post (production, office, delivery, retail).
  steps["staff"] = timed("staff", total, [&] {
    s.exec("BEGIN");
    s.exec("INSERT INTO enterprise_staff (org_id, person_id, site, post, shift) SELECT p.workplace_org_id, p.id, "
           "'主厂区', CASE WHEN (p.id * 2654435761) % 100 < 55 THEN 'production' WHEN (p.id * 2654435761) % 100 < 80 "
           "THEN 'office' WHEN (p.id * 2654435761) % 100 < 90 THEN 'delivery' ELSE 'retail' END, CASE WHEN p.id % 3 = "
           "0 THEN 'night' ELSE 'day' END FROM persons p JOIN enterprises e ON e.org_id = p.workplace_org_id "
           "WHERE p.merged_into IS NULL");
    const std::int64_t n = s.changes();
    s.exec("COMMIT");
    return n;
  });
  // Routine tests of the reopened enterprises' staff over the span: production daily, delivery and
  // retail every third day, office once a week; settled days 96 % done and 4 % missed, today 60 %
  // done so far and the rest open.
  steps["routine_tasks"] = timed("routine tasks", total, [&] {
    s.exec("BEGIN");
    std::int64_t n = 0;
    for (int i = 0; i < days; ++i) {
      const std::string day = day_plus(today, -(days - 1 - i));
      const bool is_today = i == days - 1;
      const std::string posts = std::string("s.post = 'production'") + (i % 3 == 0 ? " OR s.post IN ('delivery', 'retail')" : "") +
                                (i == days - 1 ? " OR s.post = 'office'" : "");
      const std::string status = is_today ? "CASE WHEN (s.person_id * 40503 + " + std::to_string(i) +
                                                ") % 100 < 60 THEN 'cleared' ELSE 'open' END"
                                          : "CASE WHEN (s.person_id * 40503 + " + std::to_string(i) +
                                                ") % 100 < 96 THEN 'cleared' ELSE 'missed' END";
      const std::int64_t due = local_midnight_ms(day) + 36 * 3600000;  // the day and its 12 h grace
      s.exec("INSERT INTO test_tasks (person_id, kind, area_code, ratio, priority, flag_colour, due_at, status, "
             "created_at, task_day, org_id) SELECT s.person_id, 'routine', p.area_code, 0, 'key', '', " +
             std::to_string(due) + ", " + status + ", " + std::to_string(local_midnight_ms(day)) + ", '" + day +
             "', s.org_id FROM enterprise_staff s JOIN enterprises e ON e.org_id = s.org_id AND e.reopened = 1 "
             "JOIN persons p ON p.id = s.person_id WHERE " + posts);
      n += s.changes();
    }
    s.exec("COMMIT");
    return n;
  });
  // People under control: whole grids as high-risk areas (their residents' orders, home
  // isolation, owned by the grid) until 80 % of the target, then whole households of close
  // contacts elsewhere (home isolation) for the rest.
  steps["control_orders"] = timed("control orders", total, [&] {
    std::vector<std::pair<std::string, std::int64_t>> grids;
    s.each("SELECT area_code, COUNT(*) FROM persons WHERE merged_into IS NULL GROUP BY area_code",
           [&](sqlite3_stmt* st) {
             grids.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), sqlite3_column_int64(st, 1));
           });
    // A fixed shuffle: by a hash of the code.
    std::sort(grids.begin(), grids.end(), [](const auto& a, const auto& b) {
      auto h = [](const std::string& x) {
        std::uint64_t v = 1469598103934665603ULL;
        for (char ch : x) v = (v ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
        return v;
      };
      return h(a.first) < h(b.first);
    });
    s.exec("BEGIN");
    s.exec("CREATE TEMP TABLE hot (area_code TEXT PRIMARY KEY)");
    std::int64_t covered = 0;
    const std::int64_t want_areas = n_controlled * 8 / 10;
    for (const auto& [code, count] : grids) {
      if (covered >= want_areas) break;
      s.exec("INSERT INTO hot VALUES ('" + code + "')");
      covered += count;
    }
    const std::string start = day_plus(today, -3);
    const std::string since = std::to_string(local_midnight_ms(start) + 9 * 3600000);
    s.exec("INSERT INTO control_orders (person_id, group_key, profile, source, status, start_date, stage, owner_kind, "
           "owner_area, since, created_at) SELECT p.id, 'high_risk_area_resident', 'ninth-edition', 'risk_area_list', "
           "'active', '" + start + "', 'home_isolation', 'area', p.area_code, " + since + ", " + since +
           " FROM persons p WHERE p.merged_into IS NULL AND p.area_code IN (SELECT area_code FROM hot)");
    std::int64_t n = s.changes();
    // Households of close contacts: every k-th household outside the hot grids.
    const std::int64_t rest = n_controlled - n;
    const std::int64_t outside = s.scalar("SELECT COUNT(*) FROM persons WHERE merged_into IS NULL AND household_id "
                                          "IS NOT NULL AND area_code NOT IN (SELECT area_code FROM hot)");
    const std::int64_t k = std::max<std::int64_t>(1, outside / std::max<std::int64_t>(1, rest));
    s.exec("INSERT INTO control_orders (person_id, group_key, profile, source, status, start_date, stage, owner_kind, "
           "owner_area, since, created_at) SELECT p.id, 'close_contact', 'ninth-edition', 'close_contact', 'active', "
           "'" + start + "', 'home_isolation', 'area', p.area_code, " + since + ", " + since +
           " FROM persons p WHERE p.merged_into IS NULL AND p.household_id % " + std::to_string(k) +
           " = 3 AND p.area_code NOT IN (SELECT area_code FROM hot)");
    n += s.changes();
    s.exec("COMMIT");
    return n;
  });

  // What the grid knows: needs records of 70 % of the controlled households, the registry's
  // vulnerable people city-wide (each category by its own rule of age and sex), and requests of
  // one controlled person in forty (a third of them served).
  steps["needs"] = timed("needs records", total, [&] {
    s.exec("BEGIN");
    s.exec("CREATE TEMP TABLE ctl AS SELECT DISTINCT p.household_id AS id FROM persons p JOIN control_orders o ON "
           "o.person_id = p.id WHERE p.household_id IS NOT NULL AND o.status = 'active'");
    s.exec("INSERT INTO household_needs (household_id, area_code, necessities, medicines, medical, diet, contact_phone, "
           "note, version, recorded_by_name, recorded_at) SELECT h.id, h.area_code, '大米5kg，食用油1桶，蔬菜每日', "
           "CASE WHEN h.id % 4 = 0 THEN '降压药（硝苯地平）' ELSE '' END, CASE WHEN h.id % 25 = 0 THEN '每周二、四、六透析' "
           "ELSE '' END, CASE WHEN h.id % 9 = 0 THEN '清真' ELSE '' END, '1380000' || substr('0000' || (h.id % 10000), -4), "
           "'', 1, 'grid', " + std::to_string(now_ms) + " FROM households h JOIN ctl ON ctl.id = h.id WHERE h.id % 10 < 7");
    std::int64_t n = s.changes();
    const std::string t = std::to_string(now_ms);
    auto flag = [&](const std::string& category, const std::string& where) {
      s.exec("INSERT INTO vulnerable_people (person_id, category, detail, area_code, flagged_by_name, flagged_at) "
             "SELECT id, '" + category + "', '', area_code, 'grid', " + t + " FROM persons WHERE merged_into IS NULL AND " +
             where);
      n += s.changes();
    };
    const std::string y60 = day_plus(today, -60 * 365 - 15), y18 = day_plus(today, -18 * 365 - 4),
                      y40 = day_plus(today, -40 * 365 - 10), y20 = day_plus(today, -20 * 365 - 5);
    flag("elderly_alone", "birth_date <= '" + y60 + "' AND id % 40 = 0");
    flag("pregnancy", "sex = 'female' AND birth_date > '" + y40 + "' AND birth_date <= '" + y20 + "' AND id % 100 = 1");
    flag("dialysis", "id % 1000 = 2");
    flag("chemotherapy", "id % 1500 = 3");
    flag("chronic_illness", "birth_date <= '" + y40 + "' AND id % 50 = 4");
    flag("child_in_difficulty", "birth_date > '" + y18 + "' AND id % 500 = 5");
    flag("disability", "id % 150 = 6");
    s.exec("INSERT INTO supply_requests (person_id, household_id, order_id, area_code, kind, priority, detail, deadline, "
           "owner_kind, owner_area, status, received_at, updated_at, served_at) SELECT o.person_id, "
           "COALESCE(p.household_id, 0), o.id, p.area_code, CASE o.person_id % 3 WHEN 0 THEN 'necessities' WHEN 1 THEN "
           "'medicine' ELSE 'medical_visit' END, 'normal', '米面油', " + std::to_string(now_ms + 12 * 3600000) +
           ", 'grid', p.area_code, CASE WHEN o.person_id % 120 < 40 THEN 'delivered' ELSE 'received' END, " + t + ", " + t +
           ", CASE WHEN o.person_id % 120 < 40 THEN " + t + " END FROM control_orders o JOIN persons p ON p.id = "
           "o.person_id WHERE o.status = 'active' AND o.person_id % 40 = 0");
    n += s.changes();
    s.exec("COMMIT");
    return n;
  });

  // The rows of the baseline, as CSV.
  steps["csv"] = timed("csv", total, [&] {
    std::int64_t n = 0;
    n += s.to_csv("SELECT id, COALESCE(household_id, 0), area_code, CASE WHEN merged_into IS NULL THEN 0 ELSE 1 END, "
                  "name, doc_number, phone FROM persons",
                  out + "/persons.csv", "id,household_id,area_code,merged,name,doc_number,phone");
    n += s.to_csv("SELECT id, household_no, area_code FROM households", out + "/households.csv",
                  "id,household_no,area_code");
    n += s.to_csv("SELECT person_id, status, stage, source, release_date FROM control_orders", out + "/orders.csv",
                  "person_id,status,stage,source,release_date");
    n += s.to_csv("SELECT household_id, version, recorded_at FROM household_needs", out + "/needs.csv",
                  "household_id,version,recorded_at");
    n += s.to_csv("SELECT id, person_id, category, CASE WHEN cleared_at IS NULL THEN 0 ELSE 1 END FROM "
                  "vulnerable_people",
                  out + "/vulnerable.csv", "id,person_id,category,cleared");
    n += s.to_csv("SELECT household_id, status FROM supply_requests", out + "/requests.csv", "household_id,status");
    n += s.to_csv("SELECT e.org_id, o.area_code, e.reopened, e.white_list FROM enterprises e JOIN orgs o ON o.id = "
                  "e.org_id",
                  out + "/enterprises.csv", "org_id,area_code,reopened,white_list");
    n += s.to_csv("SELECT org_id, person_id, post FROM enterprise_staff", out + "/staff.csv", "org_id,person_id,post");
    n += s.to_csv("SELECT org_id, person_id, task_day, status FROM test_tasks WHERE kind = 'routine'",
                  out + "/tasks.csv", "org_id,person_id,task_day,status");
    return n;
  });
  json o = {{"steps", steps},
            {"seed_wall_s", total},
            {"enterprises", s.scalar("SELECT COUNT(*) FROM enterprises")},
            {"reopened", s.scalar("SELECT COUNT(*) FROM enterprises WHERE reopened = 1")},
            {"staff", s.scalar("SELECT COUNT(*) FROM enterprise_staff")},
            {"routine_tasks", s.scalar("SELECT COUNT(*) FROM test_tasks WHERE kind = 'routine'")},
            {"controlled", s.scalar("SELECT COUNT(*) FROM control_orders WHERE status = 'active'")},
            {"needs_records", s.scalar("SELECT COUNT(*) FROM household_needs")},
            {"vulnerable", s.scalar("SELECT COUNT(*) FROM vulnerable_people")},
            {"requests", s.scalar("SELECT COUNT(*) FROM supply_requests")},
            {"persons", s.scalar("SELECT COUNT(*) FROM persons WHERE merged_into IS NULL")}};
  std::cout << o.dump(2) << "\n";
  return 0;
}

// ---- measure ----

json stats(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {{"n", ms.size()}, {"min_ms", ms.front()}, {"median_ms", ms[ms.size() / 2]}, {"max_ms", ms.back()}};
}

int measure(int argc, char** argv) {
  const std::string url = arg(argc, argv, "--db", "");
  const int reps = std::stoi(arg(argc, argv, "--reps", "5"));
  const std::string today = arg(argc, argv, "--today", "2026-11-29");
  const int days = std::stoi(arg(argc, argv, "--days", "7"));
  if (url.empty()) throw std::runtime_error("measure needs --db");
  const double rss_open = peak_mib();
  auto repo = store::open_repository(url);
  ManualClock clock(*parse_instant(today + "T02:00:00Z"));  // 10:00 local
  loop::Profiles profiles(std::string(BIHUAN_SOURCE_DIR) + "/policies");
  loop::Service loop(*repo, profiles, clock);
  nat::Service nat(*repo, loop, nullptr, clock);
  enterprise::Service ent(*repo, loop, nat, clock, LocalTime{});
  Caller centre;
  centre.role = Role::command_centre;
  centre.scope = Scope::everything();
  centre.user_id = 1;
  centre.username = "bench";
  json o = json::object();
  {
    std::vector<double> ms;
    json check;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = SteadyClock::now();
      auto t = ent.compliance_table(days, centre);
      ms.push_back(seconds_since(t0) * 1000);
      std::int64_t staff = 0, due = 0, done = 0, missed = 0, open = 0, rows = 0;
      for (const auto& it : t.items) {
        staff += it.total.staff;
        due += it.total.due;
        done += it.total.done;
        missed += it.total.missed;
        open += it.total.open;
        rows += static_cast<std::int64_t>(it.posts.size());
      }
      check = {{"enterprises", t.items.size()}, {"post_rows", rows}, {"staff", staff}, {"due", due},
               {"done", done},                  {"missed", missed},  {"open", open},   {"from", t.from}, {"to", t.to}};
      std::cerr << "compliance " << r << ": " << ms.back() << " ms\n";
    }
    o["compliance"] = {{"time", stats(ms)}, {"result", check}};
  }
  {
    // The day's needs lists of every controlled area, as the centre builds them: every controlled
    // household of the city with its area, members at home, needs record, flags and open
    // requests (the code of GET /api/supply/households, 1,000 a page), and every flagged person of
    // a controlled household (GET /api/supply/vulnerable?controlled=1); grouped by area here.
    supply::NeedsService needs(*repo, loop, clock, supply::read_deadline_rules(*repo), LocalTime{});
    std::vector<double> ms;
    json check;
    for (int r = 0; r < std::max(1, reps / 2); ++r) {
      std::int64_t households = 0, controlled = 0, with_needs = 0, vulnerable_in_households = 0, open_requests = 0,
                   vulnerable_listed = 0, pages = 0;
      std::map<std::string, std::int64_t> by_area;
      const auto t0 = SteadyClock::now();
      for (store::Page page{0, 1000};;) {
        auto p = needs.households("", centre, page);
        ++pages;
        for (const auto& h : p.items) {
          ++households;
          ++by_area[h.area_code];
          controlled += h.controlled;
          with_needs += h.needs_version > 0 ? 1 : 0;
          vulnerable_in_households += h.vulnerable;
          open_requests += h.open_requests;
        }
        if (p.next == 0) break;
        page.after = p.next;
      }
      store::VulnerableFilter f;
      f.controlled = true;
      for (store::Page page{0, 1000};;) {
        auto p = needs.vulnerable(f, centre, page);
        ++pages;
        vulnerable_listed += static_cast<std::int64_t>(p.items.size());
        if (p.next == 0) break;
        page.after = p.next;
      }
      ms.push_back(seconds_since(t0) * 1000);
      check = {{"areas", by_area.size()},
               {"households", households},
               {"controlled", controlled},
               {"with_needs", with_needs},
               {"vulnerable_in_households", vulnerable_in_households},
               {"open_requests", open_requests},
               {"vulnerable_listed", vulnerable_listed},
               {"pages", pages}};
      std::cerr << "needs lists " << r << ": " << ms.back() << " ms\n";
    }
    o["needs_lists"] = {{"time", stats(ms)}, {"result", check}};
  }
  o["peak_rss_mib"] = peak_mib();
  o["rss_before_mib"] = rss_open;
  std::cout << o.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "seed") return seed(argc, argv);
    if (cmd == "measure") return measure(argc, argv);
    std::cerr << "usage: supply_bench seed|measure --db sqlite:PATH --out DIR ...\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "supply_bench: " << e.what() << "\n";
    return 1;
  }
}
