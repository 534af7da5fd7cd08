#include "store/scan_queue.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <ctime>
#include <filesystem>
#include <optional>

#include "core/date.hpp"
#include "core/error.hpp"
#include "store/audit_queue.hpp"
#include "store/journal.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

namespace fs = std::filesystem;

constexpr const char* kCols = "id, venue_id, person_id, entered_at, exited_at, scan_day, colour, pass, via, by_user";
constexpr std::int64_t kSegmentBytes = 8 << 20;
constexpr std::int64_t kNoExit = INT64_MIN;

std::int64_t scalar(Db& db, const char* sql) {
  Q q(db, sql);
  return q.next() ? q.int64(0) : 0;
}

// --- Records -------------------------------------------------------------------------------------
// A record's payload: kind (u8: 0 a visit, 1 an exit scan of the visit `id` at `entered_at`), id,
// venue_id, person_id, entered_at (ms), exited_at (ms, or INT64_MIN for none; i64 each), pass (u8),
// by_user (i64), scan_day, colour, via (each a u32 length and its bytes).
void frame(std::string& out, std::uint8_t kind, const ScanRow& s, std::int64_t at_ms) {
  const std::size_t start = journal::begin_record(out);
  out.push_back(static_cast<char>(kind));
  journal::put_i64(out, s.id);
  journal::put_i64(out, s.venue_id);
  journal::put_i64(out, s.person_id);
  journal::put_i64(out, at_ms);
  journal::put_i64(out, kind == 0 && s.exited_at ? to_unix_ms(*s.exited_at) : kNoExit);
  out.push_back(static_cast<char>(kind == 0 && s.pass ? 1 : 0));
  journal::put_i64(out, kind == 0 ? s.by_user : 0);
  journal::put_str(out, kind == 0 ? std::string_view(s.scan_day) : std::string_view());
  journal::put_str(out, kind == 0 ? std::string_view(s.colour) : std::string_view());
  journal::put_str(out, kind == 0 ? std::string_view(s.via) : std::string_view());
  journal::end_record(out, start);
}

struct RecordView {
  std::uint8_t kind = 0, pass = 0;
  std::int64_t id = 0, venue_id = 0, person_id = 0, entered_ms = 0, exited_ms = kNoExit, by_user = 0;
  std::string_view scan_day, colour, via;
};

bool unframe(std::string_view p, RecordView& r) {
  journal::Reader in(p);
  return in.u8(r.kind) && r.kind <= 1 && in.i64(r.id) && in.i64(r.venue_id) && in.i64(r.person_id) &&
         in.i64(r.entered_ms) && in.i64(r.exited_ms) && in.u8(r.pass) && in.i64(r.by_user) && in.str(r.scan_day) &&
         in.str(r.colour) && in.str(r.via) && in.done();
}

// --- Moving --------------------------------------------------------------------------------------
// Visits go in by statements of kRowsPerInsert rows (the rest one by one); an exit is applied in
// its place, after the visits before it. A visit's person is looked up among the merged persons
// only (persons_merged_id, migration v39: a partial index of the few merged records, usually
// empty), not in the persons table, whose descent was a lookup per visit moved.
// When the move's transaction finds no merged person at all (the usual case), the rows go in
// without the lookup.
// The statements are INSERT OR FAIL: with the default ABORT, a statement of several rows makes
// SQLite keep a statement journal (every page the statement changes is copied first, so that the
// statement alone can be undone). A failed move rolls back its whole transaction anyway
// (journal::move_segments), so FAIL answers the same and the copies go: bench/scan_move_bench
// measured the move's inserts 1.8x (door pattern) to 2.3x (city pattern) cheaper.
constexpr int kRowsPerInsert = 32;
constexpr const char* kRow =
    "(?, ?, COALESCE((SELECT merged_into FROM persons INDEXED BY persons_merged_id WHERE id = ? AND merged_into IS NOT "
    "NULL), ?), ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kPlainRow = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

std::string insert_sql(int rows, bool merged) {
  std::string s = "INSERT OR FAIL INTO venue_scans (id, venue_id, person_id, entered_at, exited_at, scan_day, colour, pass, via, by_user) VALUES ";
  for (int i = 0; i < rows; ++i) {
    if (i) s += ',';
    s += merged ? kRow : kPlainRow;
  }
  return s;
}

void bind_visit(Q& q, const RecordView& r, bool merged) {
  q.i64(r.id).i64(r.venue_id).i64(r.person_id);
  if (merged) q.i64(r.person_id);
  q.i64(r.entered_ms);
  if (r.exited_ms == kNoExit)
    q.null();
  else
    q.i64(r.exited_ms);
  q.text(r.scan_day).text(r.colour).i64(r.pass).text(r.via).i64(r.by_user);
}

// A visit's late row (it went in below the log's top id).
TraceLogRow late_row(std::int64_t id, std::int64_t venue, std::int64_t person, std::int64_t entered_ms,
                     std::optional<std::int64_t> exited_ms, bool pass) {
  TraceLogRow r;
  r.id = id;
  r.venue_id = venue;
  r.person_id = person;
  r.entered_at_ms = entered_ms;
  r.exited_at_ms = exited_ms;
  r.pass = pass;
  return r;
}

class ScanSink final : public journal::Sink {
 public:
  explicit ScanSink(std::string legacy) : legacy_(std::move(legacy)) {}

  std::int64_t copy(Db& main, std::string_view bytes) override {
    read_top(main);
    merged_.reset();  // a copy may run in a transaction of its own (journal::move_segments): read again
    std::array<RecordView, kRowsPerInsert> rows;
    int n = 0;
    const std::int64_t took = journal::for_each_record(bytes, [&](std::string_view payload) {
      RecordView r;
      if (!unframe(payload, r)) return false;
      if (r.kind == 1) {
        insert(main, rows.data(), n);
        n = 0;
        exit(main, r.id, r.entered_ms);
        return true;
      }
      rows[static_cast<std::size_t>(n)] = r;
      if (++n == kRowsPerInsert) {
        insert(main, rows.data(), n);
        n = 0;
      }
      return true;
    });
    insert(main, rows.data(), n);
    return took;
  }

  void dropped_tail(Db& main, const std::string& uid, std::int64_t offset, std::int64_t bytes) override {
    record_dropped_tail(main, "scan.queue_tail_dropped", "scan_queue", uid, offset, bytes);
  }

  // The queue file of earlier versions, drained in the move's transaction.
  std::vector<std::string> also(Db& main) override;

  ScanMove out;
  std::string legacy_uid;  // set when the legacy queue file was drained by this move

 private:
  void insert(Db& main, const RecordView* rows, int n) {
    if (n == 0) return;
    if (!merged_)
      merged_ = scalar(main,
                       "SELECT EXISTS (SELECT 1 FROM persons INDEXED BY persons_merged_id WHERE merged_into IS NOT NULL)") != 0;
    const bool merged = *merged_;
    if (n == kRowsPerInsert) {
      static const std::string many[2] = {insert_sql(kRowsPerInsert, false), insert_sql(kRowsPerInsert, true)};
      Q q(main, many[merged ? 1 : 0]);
      for (int i = 0; i < n; ++i) bind_visit(q, rows[i], merged);
      q.run();
    } else {
      static const std::string one[2] = {insert_sql(1, false), insert_sql(1, true)};
      Q q(main, one[merged ? 1 : 0]);
      for (int i = 0; i < n; ++i) {
        q.again();
        bind_visit(q, rows[i], merged);
        q.run();
      }
    }
    for (int i = 0; i < n; ++i) {
      const auto& r = rows[i];
      ++out.visits;
      if (r.id < top_)
        out.late.push_back(late_row(r.id, r.venue_id, r.person_id, r.entered_ms,
                                    r.exited_ms == kNoExit ? std::nullopt : std::optional<std::int64_t>(r.exited_ms),
                                    r.pass != 0));
    }
  }
  void exit(Db& main, std::int64_t id, std::int64_t at_ms) {
    Q ex(main, "UPDATE venue_scans SET exited_at = ? WHERE id = ? AND exited_at IS NULL");
    ex.i64(at_ms).i64(id);
    ex.run();
    ++out.exits;
  }

  // The log's highest id before this move's visits (read once, in the move's transaction).
  void read_top(Db& main) {
    if (top_ < 0) top_ = scalar(main, "SELECT MAX(id) FROM venue_scans");
  }
  std::string legacy_;
  std::int64_t top_ = -1;
  std::optional<bool> merged_;  // whether any person is merged, read once per copy in its transaction

};

std::vector<std::string> ScanSink::also(Db& main) {
  std::error_code ec;
  if (legacy_.empty() || !fs::exists(legacy_, ec)) return {};
  read_top(main);
  auto q = open_sqlite(legacy_);
  legacy_uid = journal::legacy_uid(*q);
  if (legacy_uid == "-") return {};  // an empty file: nothing to drain, removed all the same
  const std::int64_t mark = journal::mark_of(main, "scan_queue_moved", legacy_uid);
  std::int64_t last = mark;
  Q rows(*q, std::string("SELECT seq, kind, ") + kCols + " FROM scan_queue WHERE seq > ? ORDER BY seq");
  rows.i64(mark);
  while (rows.next()) {
    last = rows.int64(0);
    RecordView r;
    r.id = rows.int64(2);
    r.entered_ms = rows.int64(5);
    if (rows.int64(1) == 1) {
      exit(main, r.id, r.entered_ms);
      continue;
    }
    r.venue_id = rows.int64(3);
    r.person_id = rows.int64(4);
    r.exited_ms = rows.null_at(6) ? kNoExit : rows.int64(6);
    const std::string day = rows.str(7), colour = rows.str(8), via = rows.str(10);
    r.scan_day = day;
    r.colour = colour;
    r.pass = rows.int64(9) != 0 ? 1 : 0;
    r.via = via;
    r.by_user = rows.int64(11);
    insert(main, &r, 1);
  }
  // The mark stays until the file is gone, in case its removal fails.
  if (last != mark) journal::set_mark(main, "scan_queue_moved", legacy_uid, last);
  return {legacy_uid};
}

}  // namespace

std::string scan_queue_dir(const std::string& main_path) { return main_path + "-scanq.d"; }
std::string scan_queue_path(const std::string& main_path) { return main_path + "-scanq"; }

bool scan_queue_exists(const std::string& main_path) {
  std::error_code ec;
  return fs::exists(scan_queue_dir(main_path), ec) || fs::exists(scan_queue_path(main_path), ec);
}

ScanRow read_scan_row(const Q& q) {
  Cols c(q);
  ScanRow s;
  s.id = c.i64();
  s.venue_id = c.i64();
  s.person_id = c.i64();
  s.entered_at = c.at();
  s.exited_at = c.maybe_at();
  s.scan_day = c.str();
  s.colour = c.str();
  s.pass = c.i64() != 0;
  s.via = c.str();
  s.by_user = c.i64();
  return s;
}

ScanQueue::ScanQueue(const std::string& main_path)
    : main_path_(main_path), writer_(scan_queue_dir(main_path), kSegmentBytes, "scan queue") {}
ScanQueue::~ScanQueue() = default;

void ScanQueue::begin() { pending_.clear(); }
void ScanQueue::commit() {
  std::string bytes;
  bytes.swap(pending_);
  writer_.append(bytes);
}
void ScanQueue::rollback() noexcept { pending_.clear(); }

void ScanQueue::add_visit(const ScanRow& s) {
  if (s.id <= 0) fail(ErrorCode::internal, "a queued visit needs its id");
  frame(pending_, 0, s, to_unix_ms(s.entered_at));
}

void ScanQueue::add_exit(const ScanRow& visit, Instant at) { frame(pending_, 1, visit, to_unix_ms(at)); }

std::int64_t ScanQueue::reserve_ids(Db& main, std::int64_t n) {
  if (main.backend() != Backend::sqlite) fail(ErrorCode::internal, "scan ids are reserved on SQLite only");
  main.begin();
  try {
    const std::int64_t reserved = scalar(main, "SELECT upto FROM scan_id_reserved WHERE k = 1");
    const std::int64_t top = scalar(main, "SELECT MAX(id) FROM venue_scans");
    const std::int64_t first = std::max(reserved, top) + 1;
    Q up(main,
         "INSERT INTO scan_id_reserved (k, upto) VALUES (1, ?) ON CONFLICT (k) DO UPDATE SET upto = excluded.upto");
    up.i64(first + n - 1);
    up.run();
    main.commit();
    return first;
  } catch (...) {
    main.rollback();
    throw;
  }
}

ScanMove ScanQueue::move_into(Db& main) {
  const std::string legacy = scan_queue_path(main_path_);
  ScanSink sink(legacy);
  journal::move_segments(main, writer_.dir(), "scan_queue_moved", sink, "scan queue");
  if (!sink.legacy_uid.empty()) journal::remove_legacy(legacy);
  return std::move(sink.out);
}

std::int64_t ScanQueue::reserve_ids(Repository& main, std::int64_t n) { return reserve_ids(database_of(main), n); }

ScanMove ScanQueue::move_into(Repository& main) { return move_into(database_of(main)); }

ScanMove move_scan_queue(Db& main, const std::string& main_path) {
  if (main.backend() != Backend::sqlite || main_path.empty() || !scan_queue_exists(main_path)) return {};
  ScanQueue q(main_path);
  return q.move_into(main);
}

ScanMove move_scan_queue(Repository& repo) {
  const std::string path = sqlite_file_of(repo);
  if (path.empty() || inside_transaction(repo)) return {};
  return move_scan_queue(database_of(repo), path);
}

}  // namespace bihuan::store
