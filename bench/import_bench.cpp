// CSV import of persons vs the floor: a plain loop of prepared SQLite INSERTs of the same rows
// in one transaction, into the same schema, in the same run.
//   import_bench                                1,000,000 rows (BIHUAN_BENCH_ROWS overrides)
// Report: the ratio of the two real times (BM_ImportPersonsCsv / BM_PlainSqliteInserts).
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "core/resident_id.hpp"
#include "ingest/csv.hpp"
#include "ingest/import.hpp"
#include "store/repository.hpp"

namespace {

const bihuan::Date kToday = std::chrono::year{2026} / 1 / 15;

std::vector<bihuan::Area> areas() {
  using bihuan::AreaLevel;
  std::vector<bihuan::Area> a{{"11", "北京市", AreaLevel::province, ""},
                              {"1101", "市辖区", AreaLevel::city, "11"},
                              {"110105", "朝阳区", AreaLevel::county, "1101"},
                              {"110105001", "建外街道", AreaLevel::street, "110105"},
                              {"110105001001", "永安里社区居委会", AreaLevel::community, "110105001"}};
  for (int g = 1; g <= 100; ++g)
    a.push_back({fmt::format("110105001001{:03d}", g), fmt::format("第{}网格", g), AreaLevel::grid, "110105001001"});
  return a;
}

// The CSV of `rows` persons with valid, unique resident IDs (UTF-8, Chinese headers).
const std::string& persons_csv(long rows) {
  static std::string csv;
  if (!csv.empty()) return csv;
  csv = "身份证号码,姓名,性别,出生日期,手机号,网格编码,住址\n";
  static const char* kSurnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵"};
  static const char* kGiven[] = {"伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "艳"};
  long n = 0;
  for (int y = 1940; n < rows; ++y) {
    for (int day = 0; day < 365 && n < rows; ++day) {
      const auto d = bihuan::Date{std::chrono::sys_days{std::chrono::year{y} / 1 / 1} + std::chrono::days{day}};
      for (int seq = 1; seq <= 99 && n < rows; ++seq, ++n) {
        std::string id = fmt::format("110105{:04d}{:02d}{:02d}{:03d}", static_cast<int>(d.year()),
                                     static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()), seq);
        id.push_back(bihuan::resident_id_check_char(id));
        csv += fmt::format("{},{}{}{},{},{},1{}{:09d},110105001001{:03d},永安里{}号楼{}单元{}\n", id,
                           kSurnames[n % 8], kGiven[n % 10], kGiven[(n / 10) % 10], seq % 2 ? "男" : "女",
                           bihuan::format_date(d), 3 + n % 7, n, 1 + n % 100, 1 + n % 40, 1 + n % 4, 101 + n % 600);
      }
    }
  }
  return csv;
}

void BM_ImportPersonsCsv(benchmark::State& state) {
  const std::string& csv = persons_csv(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = bihuan::bench::scratch_db("import");
    auto repo = bihuan::store::open_repository("sqlite:" + path);
    auto a = areas();
    repo->upsert_areas(a);
    state.ResumeTiming();
    bihuan::ingest::ImportOptions opt;
    opt.today = kToday;
    const auto r = bihuan::ingest::run_import(*repo, csv, opt);
    if (!r.committed || r.stats.inserted != state.range(0)) state.SkipWithError("import did not commit every row");
    state.PauseTiming();
    repo.reset();
    bihuan::bench::remove_db(path);
    state.ResumeTiming();
  }
  state.counters["rows_per_s"] = benchmark::Counter(static_cast<double>(state.range(0)) * static_cast<double>(state.iterations()),
                                                    benchmark::Counter::kIsRate);
  state.counters["MB"] = static_cast<double>(csv.size()) / 1e6;
}

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db));
}

void BM_PlainSqliteInserts(benchmark::State& state) {
  // The same rows, already split into fields (the CSV split is not timed): the floor a
  // database-bound import cannot beat.
  std::vector<bihuan::ingest::CsvRecord> rows = bihuan::ingest::parse_csv(persons_csv(state.range(0)));
  rows.erase(rows.begin());
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = bihuan::bench::scratch_db("plain");
    bihuan::store::open_repository("sqlite:" + path).reset();  // same schema, indexes and pragmas
    sqlite3* db = nullptr;
    check(sqlite3_open(path.c_str(), &db), db, "open");
    check(sqlite3_exec(db,
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                       "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;",
                       nullptr,
                       nullptr, nullptr),
          db, "pragma");
    state.ResumeTiming();
    sqlite3_stmt* st = nullptr;
    check(sqlite3_prepare_v2(db,
                             "INSERT INTO persons (doc_type, doc_number, nationality, name, sex, birth_date, phone, "
                             "area_code, address, created_at, updated_at) VALUES ('resident_id', ?, 'CHN', ?, ?, ?, "
                             "?, ?, ?, 0, 0)",
                             -1, &st, nullptr),
          db, "prepare");
    check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
    for (const auto& r : rows) {
      const auto& f = r.fields;
      sqlite3_bind_text(st, 1, f[0].data(), static_cast<int>(f[0].size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 2, f[1].data(), static_cast<int>(f[1].size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 3, f[2] == "男" ? "male" : "female", -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 4, f[3].data(), static_cast<int>(f[3].size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 5, f[4].data(), static_cast<int>(f[4].size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 6, f[5].data(), static_cast<int>(f[5].size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 7, f[6].data(), static_cast<int>(f[6].size()), SQLITE_STATIC);
      check(sqlite3_step(st), db, "insert");
      sqlite3_reset(st);
    }
    check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
    sqlite3_finalize(st);
    sqlite3_close(db);
    state.PauseTiming();
    bihuan::bench::remove_db(path);
    state.ResumeTiming();
  }
  state.counters["rows_per_s"] = benchmark::Counter(static_cast<double>(state.range(0)) * static_cast<double>(state.iterations()),
                                                    benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_PlainSqliteInserts)
    ->Arg(bihuan::bench::env_long("BIHUAN_BENCH_ROWS", 1000000))
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK(BM_ImportPersonsCsv)
    ->Arg(bihuan::bench::env_long("BIHUAN_BENCH_ROWS", 1000000))
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

BENCHMARK_MAIN();
