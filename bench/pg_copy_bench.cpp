// PostgreSQL bulk path: the repository's upsert of persons (COPY into a staging table, then one
// INSERT ... ON CONFLICT DO UPDATE and one SELECT of ids per batch) against a plain COPY of the same rows
// straight into the persons table, in the same run, on the same server.
//   BIHUAN_BENCH_PG=postgresql://... pg_copy_bench        1,000,000 rows (BIHUAN_BENCH_ROWS)
// Each measurement starts from an empty persons table. Prints a Markdown table.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "core/model.hpp"
#include "core/resident_id.hpp"
#include "store/db.hpp"
#include "store/loop_repository.hpp"
#include "store/repository.hpp"

namespace {

using namespace bihuan;

std::vector<Person> make_rows(long n) {
  static const char* kSurnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵"};
  static const char* kGiven[] = {"伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "艳"};
  std::vector<Person> out;
  out.reserve(static_cast<std::size_t>(n));
  long i = 0;
  for (int y = 1940; i < n; ++y)
    for (int day = 0; day < 365 && i < n; ++day) {
      const Date d{std::chrono::sys_days{std::chrono::year{y} / 1 / 1} + std::chrono::days{day}};
      for (int seq = 1; seq <= 99 && i < n; ++seq, ++i) {
        Person p;
        p.doc_type = DocType::resident_id;
        p.doc_number = fmt::format("110105{:04d}{:02d}{:02d}{:03d}", static_cast<int>(d.year()),
                                   static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()), seq);
        p.doc_number.push_back(resident_id_check_char(p.doc_number));
        p.nationality = "CHN";
        p.name = fmt::format("{}{}{}", kSurnames[i % 8], kGiven[i % 10], kGiven[(i / 10) % 10]);
        p.sex = seq % 2 ? Sex::male : Sex::female;
        p.birth_date = d;
        p.phone = fmt::format("1{}{:09d}", 3 + i % 7, i);
        p.area_code = "110105001001";
        p.address = fmt::format("永安里{}号楼{}单元{}", 1 + i % 40, 1 + i % 4, 101 + i % 600);
        p.created_at = p.updated_at = Instant{std::chrono::milliseconds{1767225600000}};
        out.push_back(std::move(p));
      }
    }
  return out;
}

void empty_persons(store::Db& db) { db.exec_script("TRUNCATE persons RESTART IDENTITY CASCADE"); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main() {
  const char* url = std::getenv("BIHUAN_BENCH_PG");
  if (!url || !*url) {
    std::fprintf(stderr, "set BIHUAN_BENCH_PG to a postgresql:// URL of a scratch database\n");
    return 2;
  }
  const long rows = bench::env_long("BIHUAN_BENCH_ROWS", 1000000);
  const std::size_t batch = static_cast<std::size_t>(bench::env_long("BIHUAN_BENCH_BATCH", 10000));
  auto repo = store::open_repository(url);
  // A second connection of the benchmark's own for the floor (plain COPY) and for emptying the
  // table between measurements: SQL the repository rightly does not offer.
  auto own = store::open_pg(url);
  auto& db = *own;
  std::vector<Area> areas{{"11", "北京市", AreaLevel::province, ""},
                          {"1101", "市辖区", AreaLevel::city, "11"},
                          {"110105", "朝阳区", AreaLevel::county, "1101"},
                          {"110105001", "建外街道", AreaLevel::street, "110105"},
                          {"110105001001", "永安里社区居委会", AreaLevel::community, "110105001"}};
  repo->upsert_areas(areas);
  const auto all = make_rows(rows);

  // Plain COPY of the same rows into persons (the floor), one transaction.
  empty_persons(db);
  auto t0 = std::chrono::steady_clock::now();
  {
    store::CopyWriter w;
    for (const auto& p : all)
      w.text(to_string(p.doc_type)).text(p.doc_number).text(p.nationality).text(p.name).text(to_string(p.sex))
          .text(format_date(p.birth_date)).text(p.phone).null().text(p.area_code).text(p.address).null()
          .i64(to_unix_ms(p.created_at)).i64(to_unix_ms(p.updated_at)).end_row();
    db.begin();
    db.copy_in("persons (doc_type, doc_number, nationality, name, sex, birth_date, phone, household_id, area_code, "
               "address, workplace_org_id, created_at, updated_at)",
               w.data());
    db.commit();
  }
  const double plain = seconds_since(t0);

  // The repository's upsert in batches, one transaction; seconds taken.
  const auto upsert_all = [&] {
    const auto start = std::chrono::steady_clock::now();
    repo->transaction([&] {
      for (std::size_t i = 0; i < all.size(); i += batch) {
        std::vector<Person> part(all.begin() + static_cast<std::ptrdiff_t>(i),
                                 all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), i + batch)));
        repo->upsert_persons(part);
      }
    });
    return seconds_since(start);
  };
  empty_persons(db);
  const double insert = upsert_all();  // every row new
  const double again = upsert_all();   // the same rows again: every row unchanged (the re-import case)
  empty_persons(db);

  std::printf("| %ld persons rows, batches of %zu | seconds | rows/s | ratio to plain COPY |\n", rows, batch);
  std::printf("|---|---|---|---|\n");
  std::printf("| plain COPY into persons | %.2f | %.0f | 1.00 |\n", plain, static_cast<double>(rows) / plain);
  std::printf("| upsert_persons, new rows (COPY + INSERT ... ON CONFLICT) | %.2f | %.0f | %.2f |\n", insert,
              static_cast<double>(rows) / insert, insert / plain);
  std::printf("| upsert_persons, same rows again (all unchanged) | %.2f | %.0f | %.2f |\n", again,
              static_cast<double>(rows) / again, again / plain);
  return 0;
}
