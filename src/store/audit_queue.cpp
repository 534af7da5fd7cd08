#include "store/audit_queue.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <string_view>
#include <utility>

#include "core/date.hpp"
#include "core/error.hpp"
#include "store/journal.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

namespace fs = std::filesystem;

// --- Records ------------------------------------------------------------------------------------
// A record's payload (framed as store/journal.hpp says): at, user_id, entity_id (i64 each), then
// username, action, entity, ip, reason, detail (each a u32 length and its bytes).

using journal::get_u32;

void frame(std::string& out, const AuditRecord& r) {
  const std::size_t start = journal::begin_record(out);
  journal::put_i64(out, to_unix_ms(r.at));
  journal::put_i64(out, r.user_id);
  journal::put_i64(out, r.entity_id);
  for (const std::string* s : {&r.username, &r.action, &r.entity, &r.ip, &r.reason, &r.detail}) journal::put_str(out, *s);
  journal::end_record(out, start);
}

// One queued record as views of its payload (valid while the payload's bytes are).
struct RecordView {
  std::int64_t at_ms = 0, user_id = 0, entity_id = 0;
  std::string_view username, action, entity, ip, reason, detail;
};

// Reads one payload into `r`; false when it does not parse (damage).
bool unframe(std::string_view p, RecordView& r) {
  journal::Reader in(p);
  if (!in.i64(r.at_ms) || !in.i64(r.user_id) || !in.i64(r.entity_id)) return false;
  for (std::string_view* s : {&r.username, &r.action, &r.entity, &r.ip, &r.reason, &r.detail})
    if (!in.str(*s)) return false;
  return in.done();
}

bool path_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

constexpr const char* kInsert =
    "INSERT INTO audit_log (at, user_id, username, action, entity, entity_id, ip, reason, detail) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

// Moved records go in by statements of kRowsPerInsert rows (and the rest one by one): one
// statement's step, bindings and reset for many rows. OR FAIL, not the default ABORT: a
// statement of several rows that may abort makes SQLite keep a statement journal (a copy of every
// page the statement changes, to undo the statement alone), and a failed move rolls back its whole
// transaction anyway (journal::move_segments). See scan_queue.cpp for the measurement.
constexpr int kRowsPerInsert = 32;

const std::string& insert_many() {
  static const std::string sql = [] {
    std::string s = "INSERT OR FAIL INTO audit_log (at, user_id, username, action, entity, entity_id, ip, reason, detail) VALUES ";
    for (int i = 0; i < kRowsPerInsert; ++i) s += i ? ",(?, ?, ?, ?, ?, ?, ?, ?, ?)" : "(?, ?, ?, ?, ?, ?, ?, ?, ?)";
    return s;
  }();
  return sql;
}

void bind_view(Q& q, const RecordView& r) {
  q.i64(r.at_ms).i64(r.user_id).text(r.username).text(r.action).text(r.entity).i64(r.entity_id).text(r.ip);
  q.text(r.reason).text(r.detail);
}

// Inserts `n` records into audit_log in their order.
void insert_records(Db& main, const RecordView* rows, int n) {
  if (n == kRowsPerInsert) {
    Q many(main, insert_many());
    for (int i = 0; i < n; ++i) bind_view(many, rows[i]);
    many.run();
    return;
  }
  Q one(main, kInsert);
  for (int i = 0; i < n; ++i) {
    one.again();
    bind_view(one, rows[i]);
    one.run();
  }
}

// Copies the whole records of `bytes` (a segment's from its mark) into audit_log; returns how many
// bytes they took (a damaged or half-written record and what follows it are left).
std::int64_t copy_records(Db& main, std::string_view bytes, std::int64_t& copied) {
  std::array<RecordView, kRowsPerInsert> rows;
  int n = 0;
  const std::int64_t took = journal::for_each_record(bytes, [&](std::string_view payload) {
    if (!unframe(payload, rows[static_cast<std::size_t>(n)])) return false;
    if (++n == kRowsPerInsert) {
      insert_records(main, rows.data(), n);
      copied += n;
      n = 0;
    }
    return true;
  });
  insert_records(main, rows.data(), n);
  copied += n;
  return took;
}


// --- The queue file of earlier versions (a SQLite database), drained once ------------------------

std::string legacy_path(const std::string& main_path) { return main_path + "-auditq"; }

// Copies the legacy queue's records above its mark inside the caller's transaction; returns the
// number copied and sets `uid` to the file's. The file is removed by the caller after the commit.
std::int64_t drain_legacy(Db& main, const std::string& path, std::string& uid) {
  auto q = open_sqlite(path);
  uid = journal::legacy_uid(*q);
  if (uid == "-") return 0;  // an empty file: nothing to drain, removed all the same
  const std::int64_t mark = journal::mark_of(main, "audit_queue_moved", uid);
  std::int64_t last = mark, copied = 0;
  Q rows(*q,
         "SELECT id, at, user_id, username, action, entity, entity_id, ip, reason, detail "
         "FROM audit_queue WHERE id > ? ORDER BY id");
  rows.i64(mark);
  while (rows.next()) {
    Q ins(main, kInsert);
    ins.i64(rows.int64(1))
        .i64(rows.int64(2))
        .text(rows.str(3))
        .text(rows.str(4))
        .text(rows.str(5))
        .i64(rows.int64(6))
        .text(rows.str(7))
        .text(rows.str(8))
        .text(rows.str(9));
    ins.run();
    last = rows.int64(0);
    ++copied;
  }
  // The mark stays until the file is gone, in case its removal fails.
  if (last != mark) journal::set_mark(main, "audit_queue_moved", uid, last);
  return copied;
}

// The audit queue's side of a move (store/journal.hpp): records into audit_log, and the queue file
// of earlier versions drained in the same transaction.
class AuditSink final : public journal::Sink {
 public:
  explicit AuditSink(std::string legacy) : legacy_(std::move(legacy)) {}
  std::int64_t copy(Db& main, std::string_view bytes) override { return copy_records(main, bytes, copied); }
  void dropped_tail(Db& main, const std::string& uid, std::int64_t offset, std::int64_t bytes) override {
    record_dropped_tail(main, "audit.queue_tail_dropped", "audit_queue", uid, offset, bytes);
  }
  std::vector<std::string> also(Db& main) override {
    // The legacy queue's mark stays until its file is gone.
    if (!path_exists(legacy_)) return {};
    copied += drain_legacy(main, legacy_, legacy_uid);
    return {legacy_uid};
  }
  std::int64_t copied = 0;
  std::string legacy_uid;  // set when the legacy queue file was drained by this move

 private:
  std::string legacy_;
};

}  // namespace

void bind_audit(Q& q, const AuditRecord& r) {
  q.i64(to_unix_ms(r.at))
      .i64(r.user_id)
      .text(r.username)
      .text(r.action)
      .text(r.entity)
      .i64(r.entity_id)
      .text(r.ip)
      .text(r.reason)
      .text(r.detail);
}

void record_dropped_tail(Db& main, const std::string& action, const std::string& entity, const std::string& uid,
                         std::int64_t offset, std::int64_t bytes) {
  AuditRecord r;
  r.at = from_unix_ms(static_cast<std::int64_t>(std::time(nullptr)) * 1000);
  r.username = "system";
  r.action = action;
  r.entity = entity;
  r.detail = "{\"segment\":\"";
  r.detail.append(uid);
  r.detail.append("\",\"offset\":");
  r.detail.append(std::to_string(offset));
  r.detail.append(",\"bytes\":");
  r.detail.append(std::to_string(bytes));
  r.detail.push_back('}');
  Q ins(main, kInsert);
  bind_audit(ins, r);
  ins.run();
}

std::string sqlite_file_of_url(const std::string& url) {
  std::string path;
  if (url.rfind("sqlite:", 0) == 0) {
    path = url.substr(7);
    if (path.rfind("//", 0) == 0) path = path.substr(2);
  } else if (url.rfind("postgres", 0) == 0) {
    return {};
  } else if (url.size() > 3 && url.ends_with(".db")) {
    path = url;
  }
  if (path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0) return {};
  return path;
}

std::string audit_queue_path(const std::string& main_path) { return main_path + "-auditq.d"; }

AuditQueue::AuditQueue(const std::string& main_path, std::int64_t segment_bytes)
    : main_path_(main_path), writer_(audit_queue_path(main_path), segment_bytes, "audit queue") {}

AuditQueue::~AuditQueue() = default;

void AuditQueue::append(const std::vector<AuditRecord>& records) {
  for (std::size_t i = 0; i < records.size(); ++i)
    if (records[i].action.empty())
      fail(ErrorCode::invalid_argument, "audit record " + std::to_string(i + 1) + ": action is required", "action");
  if (records.empty()) return;
  std::string bytes;
  bytes.reserve(records.size() * 256);
  for (const auto& r : records) frame(bytes, r);
  writer_.append(bytes);
}

std::int64_t AuditQueue::move_into(Repository& main) { return move_into(database_of(main)); }

std::int64_t AuditQueue::move_into(Db& main) {
  const std::string legacy = legacy_path(main_path_);
  AuditSink sink(legacy);
  journal::move_segments(main, writer_.dir(), "audit_queue_moved", sink, "audit queue");
  if (!sink.legacy_uid.empty()) journal::remove_legacy(legacy);
  return sink.copied;
}

std::int64_t move_audit_queue(Db& main, const std::string& main_path) {
  if (main.backend() != Backend::sqlite || main_path.empty()) return 0;
  if (!path_exists(audit_queue_path(main_path)) && !path_exists(legacy_path(main_path))) return 0;
  AuditQueue q(main_path);
  return q.move_into(main);
}

}  // namespace bihuan::store
