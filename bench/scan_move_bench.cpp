// The scan queue's move into the scan log (issue 8, bench/RESULTS.md "Venue scans: the mover
// without the merged-person lookup"): store::ScanQueue::move_into, the mover of a SQLite
// deployment, against the same rows put into venue_scans by plain SQLite statements in the same
// run (no queue to read, no lookup of merged persons), 32 rows per INSERT and one row per INSERT.
//
//   scan_move_bench [--benchmark_filter=...]
//
// Each database is made by the migrations (the log's table and both indexes), empty; each of 20
// iterations adds a move's worth of visits (25,000, about half a second of scans at the API
// benchmark's rate) in one transaction, so the log grows to 500,000 visits as in a run of
// scripts/bench-scan-api.sh. Visitors follow one of two patterns:
// "door" is the API benchmark's (2,000 visitors in turn at one venue after another: neighbouring
// rows land on the same index pages) and "city" draws each visit's person among 100,000 and its
// venue among 1,116 (rows land all over both indexes, as a city's scans do). Reported: CPU time
// of the inserting thread per visit.
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/date.hpp"
#include "store/repository.hpp"
#include "store/scan_queue.hpp"

using namespace bihuan;
namespace fs = std::filesystem;

namespace {

constexpr int kPerMove = 25'000, kVenues = 1116, kDoorVisitors = 2000, kCityPersons = 100'000;
constexpr std::int64_t kT0 = 1'764'720'000'000;  // 2025-12-03 (ms); one visit every 2 ms after it

struct Visit {
  std::int64_t id, venue, person, at_ms;
};

// Visits first .. first + n - 1 of a pattern.
std::vector<Visit> visits(bool city, std::int64_t first, int n) {
  std::vector<Visit> out;
  out.reserve(static_cast<std::size_t>(n));
  std::mt19937_64 rng(static_cast<std::uint64_t>(first));
  for (std::int64_t i = first; i < first + n; ++i) {
    Visit v{i, 0, 0, kT0 + i * 2};
    if (city) {
      v.person = 1 + static_cast<std::int64_t>(rng() % kCityPersons);
      v.venue = 1 + static_cast<std::int64_t>(rng() % kVenues);
    } else {
      v.person = 1 + i % kDoorVisitors;
      v.venue = 1 + (i / kDoorVisitors) % kVenues;
    }
    out.push_back(v);
  }
  return out;
}

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db));
}

// A raw connection with the server's settings (store/sqlite_db.cpp).
sqlite3* open_raw(const std::string& path) {
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open");
  check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;", nullptr,
                     nullptr, nullptr),
        db, "pragmas");
  return db;
}

// A row of the log (the day, colour and the rest as the move writes them for these visits).
const char* kRow = "(?, ?, ?, ?, NULL, '2025-12-03', 'green', 1, 'code', 1)";

std::string insert_sql(int rows, const char* verb = "INSERT") {
  std::string s = std::string(verb) + " INTO venue_scans (id, venue_id, person_id, entered_at, exited_at, scan_day, colour, pass, via, by_user) VALUES ";
  for (int i = 0; i < rows; ++i) {
    if (i) s += ',';
    s += kRow;
  }
  return s;
}

// Inserts `vs` in one transaction, `per` rows per statement (the rest one by one).
void insert_raw(sqlite3* db, const std::vector<Visit>& vs, int per, const char* verb) {
  check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
  sqlite3_stmt* many = nullptr;
  sqlite3_stmt* one = nullptr;
  check(sqlite3_prepare_v2(db, insert_sql(per, verb).c_str(), -1, &many, nullptr), db, "prepare");
  check(sqlite3_prepare_v2(db, insert_sql(1, verb).c_str(), -1, &one, nullptr), db, "prepare");
  auto bind = [](sqlite3_stmt* st, int at, const Visit& v) {
    sqlite3_bind_int64(st, at + 1, v.id);
    sqlite3_bind_int64(st, at + 2, v.venue);
    sqlite3_bind_int64(st, at + 3, v.person);
    sqlite3_bind_int64(st, at + 4, v.at_ms);
  };
  std::size_t i = 0;
  for (; i + static_cast<std::size_t>(per) <= vs.size(); i += static_cast<std::size_t>(per)) {
    for (int k = 0; k < per; ++k) bind(many, k * 4, vs[i + static_cast<std::size_t>(k)]);
    check(sqlite3_step(many), db, "insert");
    sqlite3_reset(many);
  }
  for (; i < vs.size(); ++i) {
    bind(one, 0, vs[i]);
    check(sqlite3_step(one), db, "insert");
    sqlite3_reset(one);
  }
  sqlite3_finalize(many);
  sqlite3_finalize(one);
  check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
}

// An empty scan log of the current schema (made by the migrations).
struct Fixture {
  fs::path dir;
  std::string file;
  Fixture() {
    dir = fs::temp_directory_path() / ("bihuan-scan-move-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir);
    fs::create_directories(dir);
    file = (dir / "city.db").string();
    store::open_repository("sqlite:" + file).reset();  // the migrations
  }
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  static inline int counter = 0;
};

// Plain statements, `per` rows each.
void raw(benchmark::State& state, bool city, int per, const char* verb = "INSERT") {
  Fixture f;
  sqlite3* db = open_raw(f.file);
  std::int64_t next = 1;
  for (auto _ : state) {
    state.PauseTiming();
    const auto vs = visits(city, next, kPerMove);
    next += kPerMove;
    state.ResumeTiming();
    insert_raw(db, vs, per, verb);
  }
  sqlite3_close(db);
  state.SetItemsProcessed(state.iterations() * kPerMove);
}

// The mover: the visits queued (not timed), then moved into the log (timed).
void move(benchmark::State& state, bool city) {
  Fixture f;
  auto repo = store::open_repository("sqlite:" + f.file);
  store::ScanQueue q(f.file);
  for (auto _ : state) {
    state.PauseTiming();
    const std::int64_t first = store::ScanQueue::reserve_ids(*repo, kPerMove);
    const auto vs = visits(city, first, kPerMove);
    q.begin();
    for (const auto& v : vs) {
      store::ScanRow s;
      s.id = v.id;
      s.venue_id = v.venue;
      s.person_id = v.person;
      s.entered_at = from_unix_ms(v.at_ms);
      s.scan_day = "2025-12-03";
      s.colour = "green";
      s.pass = true;
      s.via = "code";
      s.by_user = 1;
      q.add_visit(s);
    }
    q.commit();
    state.ResumeTiming();
    const auto m = q.move_into(*repo);
    if (m.visits != kPerMove) state.SkipWithError("the move did not move every visit");
  }
  state.SetItemsProcessed(state.iterations() * kPerMove);
}

void BM_Raw32RowsPerInsert(benchmark::State& s) { raw(s, s.range(0) != 0, 32); }
void BM_Raw1RowPerInsert(benchmark::State& s) { raw(s, s.range(0) != 0, 1); }
void BM_Raw32RowsPerInsertOrFail(benchmark::State& s) { raw(s, s.range(0) != 0, 32, "INSERT OR FAIL"); }
void BM_ScanQueueMove(benchmark::State& s) { move(s, s.range(0) != 0); }

// range(0): 0 the door pattern, 1 the city pattern.
BENCHMARK(BM_Raw32RowsPerInsert)->Arg(0)->Arg(1)->Iterations(20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Raw32RowsPerInsertOrFail)->Arg(0)->Arg(1)->Iterations(20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Raw1RowPerInsert)->Arg(0)->Arg(1)->Iterations(20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScanQueueMove)->Arg(0)->Arg(1)->Iterations(20)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
