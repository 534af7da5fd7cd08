#pragma once
// Thin driver layer under the repository: one connection, prepared statements cached by SQL
// text, positional parameters, row reading, transactions. Two drivers implement it: SQLite
// (sqlite_db.cpp) and PostgreSQL (pg_db.cpp). SQL is written once with `?` placeholders; the
// PostgreSQL driver rewrites them to $1, $2, ... when it prepares a statement.
//
// Errors surface as bihuan::Error: conflict for a unique violation, invalid_argument for a
// foreign-key / not-null / check violation, unavailable when the server cannot be reached or
// the database stays locked, internal otherwise.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bihuan::store {

enum class Backend { sqlite, postgresql };

// Hash for the statement caches: looks SQL text up without copying it into a std::string.
struct SqlHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// One prepared statement. Parameters are 1-based, columns 0-based. step() runs the statement
// on its first call and then moves to the next result row; it returns false when there are no
// more rows. reset() makes it reusable (clears parameters and results); it never throws.
class Stmt {
 public:
  virtual ~Stmt() = default;
  virtual void bind_null(int idx) = 0;
  virtual void bind_i64(int idx, std::int64_t v) = 0;
  virtual void bind_f64(int idx, double v) = 0;
  virtual void bind_text(int idx, std::string_view v) = 0;
  virtual bool step() = 0;
  virtual bool is_null(int col) const = 0;
  virtual std::int64_t i64(int col) const = 0;  // NULL reads as 0
  virtual double f64(int col) const = 0;
  virtual std::string text(int col) const = 0;  // NULL reads as ""
  virtual std::int64_t changes() const = 0;     // rows changed by the last run
  // SQLite: rowid of the row the last run inserted. PostgreSQL: 0 (use RETURNING there; on
  // SQLite RETURNING makes a small INSERT several times slower, so it is avoided).
  virtual std::int64_t last_insert_id() const = 0;
  virtual void reset() noexcept = 0;
};

// SQL that differs between the backends; everything else is written once.
struct Dialect {
  Backend backend;
  // Null-safe "differs": `a IS NOT b` (SQLite) / `a IS DISTINCT FROM b` (PostgreSQL).
  std::string distinct(std::string_view a, std::string_view b) const;
  // Position of needle in haystack, 0 when absent: instr(h, n) / strpos(h, n).
  std::string find(std::string_view haystack, std::string_view needle) const;
  // Expands schema placeholders: {pk} auto-increment primary key, {text} text column with
  // byte-order collation, {i64} 64-bit integer.
  std::string schema(std::string_view sql) const;
  // An INSERT that reports the key it inserted: PostgreSQL appends `RETURNING col`; SQLite
  // reads last_insert_id(). Run it with inserted_id().
  std::string insert_returning(std::string_view insert_sql, std::string_view col) const;
};

class Db {
 public:
  virtual ~Db() = default;
  virtual Backend backend() const = 0;
  const Dialect& dialect() const { return dialect_; }
  // A cached prepared statement for sql (prepared on first use). The statement stays owned by
  // the Db. Do not use the same SQL text twice at once (nested iteration).
  virtual Stmt& prepare(std::string_view sql) = 0;
  // Runs one or more statements without parameters (schema scripts).
  virtual void exec_script(std::string_view sql) = 0;
  // Transactions. begin() takes the write lock up front on SQLite (BEGIN IMMEDIATE) so that
  // two writers queue on busy_timeout instead of failing to upgrade a read lock.
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
  virtual void savepoint(std::string_view name) = 0;
  virtual void release(std::string_view name) = 0;
  virtual void rollback_to(std::string_view name) noexcept = 0;
  // PostgreSQL bulk path: `COPY table (columns) FROM STDIN` with rows in COPY's text format
  // (CopyWriter below), sent with PQputCopyData. Returns the rows copied. SQLite: internal error
  // (it has no COPY; prepared INSERTs in one transaction are its bulk path).
  virtual std::int64_t copy_in(std::string_view table_and_columns, std::string_view data);

  // Held reads (SQLite in WAL mode; no-ops elsewhere). Every autocommit read begins and ends a
  // read transaction of its own, which on SQLite costs two file locks (fcntl) and a pass over the
  // shared WAL index for each statement. hold_reads() instead keeps one read transaction open
  // across the statements of the calls that follow, for as long as nothing has been committed to
  // the database since it began, by any connection of any process: each call compares the header
  // of the WAL index in shared memory, which every commit rewrites, with the header read before the
  // held snapshot began, and begins a new snapshot when they differ. A caller therefore never
  // reads data older than a commit that had finished before its call. A statement that writes,
  // begin() and savepoint() end the held reads first; end_reads() ends them (call it when idle, so
  // that checkpoints can pass the snapshot). Inside a transaction of the caller nothing is held.
  virtual void hold_reads() {}
  virtual void end_reads() noexcept {}
  virtual bool holding_reads() const { return false; }
  // The held snapshot's number, unique in the process (a new one at each snapshot a hold begins):
  // equal numbers mean the same snapshot of the same connection. 0 when nothing is held.
  virtual std::uint64_t held_snapshot() const { return 0; }

 protected:
  explicit Db(Backend b) : dialect_{b} {}

 private:
  Dialect dialect_;
};

// Opens a connection: a file path for SQLite, a libpq URI for PostgreSQL.
std::unique_ptr<Db> open_sqlite(const std::string& path);

std::unique_ptr<Db> open_pg(const std::string& uri);

// Binds parameters in order and reads rows of one cached statement; resets it when destroyed.
//   Q q(db, "SELECT id FROM persons WHERE name = ? AND area_code >= ?");
//   q.text(name).text(lo);
//   while (q.next()) ids.push_back(q.int64(0));
class Q {
 public:
  Q(Db& db, std::string_view sql) : s_(&db.prepare(sql)), backend_(db.backend()) { s_->reset(); }
  ~Q() { s_->reset(); }
  Q(const Q&) = delete;
  Q& operator=(const Q&) = delete;

  Q& i64(std::int64_t v) { s_->bind_i64(++n_, v); return *this; }
  Q& f64(double v) { s_->bind_f64(++n_, v); return *this; }
  Q& text(std::string_view v) { s_->bind_text(++n_, v); return *this; }
  Q& null() { s_->bind_null(++n_); return *this; }
  // A row id where 0 means "none": binds NULL for 0.
  Q& ref(std::int64_t id) { return id == 0 ? null() : i64(id); }

  // Runs an INSERT built with Dialect::insert_returning: the new row's id (or 1 for a table
  // keyed otherwise), 0 when no row was inserted (ON CONFLICT DO NOTHING).
  std::int64_t inserted_id() {
    if (backend_ == Backend::postgresql) return next() ? (int64(0) != 0 ? int64(0) : 1) : 0;
    return run() > 0 ? s_->last_insert_id() : 0;
  }

  // Makes the statement ready to run again with new parameters (one Q for a loop over rows).
  Q& again() {
    s_->reset();
    n_ = 0;
    return *this;
  }

  bool next() { return s_->step(); }
  // Runs a statement that returns no rows (or whose rows are ignored); returns rows changed.
  std::int64_t run() {
    while (s_->step()) {
    }
    return s_->changes();
  }
  std::int64_t last_insert_id() const { return s_->last_insert_id(); }
  // Column readers (0-based).
  bool null_at(int c) const { return s_->is_null(c); }
  std::int64_t int64(int c) const { return s_->i64(c); }
  double real(int c) const { return s_->f64(c); }
  std::string str(int c) const { return s_->text(c); }

 private:
  Stmt* s_;
  Backend backend_;
  int n_ = 0;
};

// Rows in COPY's text format: fields separated by tabs, rows by newlines, NULL as \N, and
// backslash, tab, newline and carriage return escaped.
class CopyWriter {
 public:
  CopyWriter& text(std::string_view v) {
    sep();
    for (char c : v) {
      switch (c) {
        case '\\': out_ += "\\\\"; break;
        case '\t': out_ += "\\t"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        default: out_ += c;
      }
    }
    return *this;
  }
  CopyWriter& i64(std::int64_t v) {
    sep();
    out_ += std::to_string(v);
    return *this;
  }
  CopyWriter& null() {
    sep();
    out_ += "\\N";
    return *this;
  }
  CopyWriter& ref(std::int64_t id) { return id == 0 ? null() : i64(id); }  // 0 = NULL
  void end_row() {
    out_ += '\n';
    first_ = true;
    ++rows_;
  }
  const std::string& data() const { return out_; }
  std::int64_t rows() const { return rows_; }
  void clear() {
    out_.clear();
    first_ = true;
    rows_ = 0;
  }

 private:
  void sep() {
    if (!first_) out_ += '\t';
    first_ = false;
  }
  std::string out_;
  bool first_ = true;
  std::int64_t rows_ = 0;
};

// Lists by ids without a query per row and without one SQL text per list length: the ids go in
// chunks of kIdChunk through one statement whose `{ids}` is kIdChunk placeholders (unused ones
// bound to 0, which is never a row id).
//   const std::string sql = with_id_list("SELECT ... WHERE alert_id IN ({ids})");
//   for_id_chunks(db, sql, ids, [&](Q& q) { while (q.next()) ...; });
inline constexpr std::size_t kIdChunk = 64;
std::string with_id_list(std::string_view sql);
// Runs sql once per chunk of ids (duplicates removed); `before` binds parameters that come
// before the list, fn reads the rows.
void for_id_chunks(Db& db, const std::string& sql, const std::vector<std::int64_t>& ids,
                   const std::function<void(Q&)>& fn, const std::function<void(Q&)>& before = {});

}  // namespace bihuan::store
