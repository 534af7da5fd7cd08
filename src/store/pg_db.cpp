// PostgreSQL driver over libpq: statements are prepared once per connection (PQprepare) and run
// with PQexecPrepared, parameters and results in text format.
#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "store/db.hpp"

namespace bihuan::store {

namespace {

struct ResultDeleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// Maps a failed result (or a dead connection) to a bihuan::Error.
[[noreturn]] void raise(PGconn* conn, const PGresult* res, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  const char* detail = res ? PQresultErrorMessage(res) : nullptr;
  msg += (detail && *detail) ? detail : PQerrorMessage(conn);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (PQstatus(conn) == CONNECTION_BAD) fail(ErrorCode::unavailable, msg);
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string_view s = state ? state : "";
  if (s == "23505") fail(ErrorCode::conflict, msg);
  if (s == "23503" || s == "23502" || s == "23514" || s.starts_with("22")) fail(ErrorCode::invalid_argument, msg);
  if (s.starts_with("08") || s.starts_with("57P") || s == "53300" || s == "40001" || s == "40P01" ||
      s == "55P03")
    fail(ErrorCode::unavailable, msg);
  fail(ErrorCode::internal, msg);
}

// `?` placeholders to `$1, $2, ...`, leaving quoted literals and identifiers alone.
std::string number_placeholders(std::string_view sql, int& count) {
  std::string out;
  out.reserve(sql.size() + 16);
  count = 0;
  char quote = 0;
  for (char c : sql) {
    if (quote) {
      if (c == quote) quote = 0;
      out += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      out += c;
    } else if (c == '?') {
      out += '$';
      out += std::to_string(++count);
    } else {
      out += c;
    }
  }
  return out;
}

class PgStmt final : public Stmt {
 public:
  PgStmt(PGconn* conn, std::string name, int nparams)
      : conn_(conn), name_(std::move(name)), params_(static_cast<std::size_t>(nparams)) {}

  void bind_null(int idx) override { slot(idx).reset(); }
  void bind_i64(int idx, std::int64_t v) override { slot(idx) = std::to_string(v); }
  void bind_f64(int idx, double v) override {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    slot(idx) = std::string(buf, r.ptr);
  }
  void bind_text(int idx, std::string_view v) override { slot(idx) = std::string(v); }

  bool step() override {
    if (!res_) {
      std::vector<const char*> values(params_.size());
      for (std::size_t i = 0; i < params_.size(); ++i) values[i] = params_[i] ? params_[i]->c_str() : nullptr;
      res_.reset(PQexecPrepared(conn_, name_.c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                                nullptr, 0));
      auto st = res_ ? PQresultStatus(res_.get()) : PGRES_FATAL_ERROR;
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        Result failed = std::move(res_);
        raise(conn_, failed.get(), "postgresql");
      }
      rows_ = PQntuples(res_.get());
      const char* n = PQcmdTuples(res_.get());
      changes_ = (n && *n) ? std::atoll(n) : 0;
      row_ = -1;
    }
    if (row_ + 1 < rows_) {
      ++row_;
      return true;
    }
    row_ = rows_;
    return false;
  }
  bool is_null(int col) const override { return PQgetisnull(res_.get(), row_, col) != 0; }
  std::int64_t i64(int col) const override {
    if (is_null(col)) return 0;
    const char* v = PQgetvalue(res_.get(), row_, col);
    std::int64_t out = 0;
    std::from_chars(v, v + PQgetlength(res_.get(), row_, col), out);
    return out;
  }
  double f64(int col) const override {
    if (is_null(col)) return 0;
    return std::strtod(PQgetvalue(res_.get(), row_, col), nullptr);
  }
  std::string text(int col) const override {
    if (is_null(col)) return {};
    return std::string(PQgetvalue(res_.get(), row_, col), static_cast<std::size_t>(PQgetlength(res_.get(), row_, col)));
  }
  std::int64_t changes() const override { return changes_; }
  std::int64_t last_insert_id() const override { return 0; }
  void reset() noexcept override {
    res_.reset();
    for (auto& p : params_) p.reset();
    rows_ = 0;
    row_ = -1;
    changes_ = 0;
  }

 private:
  std::optional<std::string>& slot(int idx) {
    if (idx < 1 || static_cast<std::size_t>(idx) > params_.size())
      fail(ErrorCode::internal, "postgresql: parameter " + std::to_string(idx) + " out of range");
    return params_[static_cast<std::size_t>(idx - 1)];
  }
  PGconn* conn_;
  std::string name_;
  std::vector<std::optional<std::string>> params_;
  Result res_;
  int rows_ = 0;
  int row_ = -1;
  std::int64_t changes_ = 0;
};

void quiet_notices(void*, const char*) {}

class PgDb final : public Db {
 public:
  explicit PgDb(const std::string& uri) : Db(Backend::postgresql) {
    conn_ = PQconnectdb(uri.c_str());
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
      std::string msg = conn_ ? PQerrorMessage(conn_) : "out of memory";
      while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
      PQfinish(conn_);
      conn_ = nullptr;
      fail(ErrorCode::unavailable, "cannot connect to PostgreSQL: " + msg);
    }
    PQsetNoticeProcessor(conn_, quiet_notices, nullptr);
    try {
      exec_script("SET client_min_messages = warning; SET TIME ZONE 'UTC'");
    } catch (...) {
      PQfinish(conn_);
      conn_ = nullptr;
      throw;
    }
  }
  ~PgDb() override {
    stmts_.clear();
    PQfinish(conn_);
  }
  PgDb(const PgDb&) = delete;
  PgDb& operator=(const PgDb&) = delete;

  Backend backend() const override { return Backend::postgresql; }

  Stmt& prepare(std::string_view sql) override {
    auto it = stmts_.find(sql);
    if (it != stmts_.end()) return *it->second;
    int n = 0;
    std::string text = number_placeholders(sql, n);
    // Appended rather than "b" + to_string(): g++ 12 at -O3 warns (-Wrestrict) on the latter.
    std::string name("b");
    name += std::to_string(++counter_);
    Result r(PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr));
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) raise(conn_, r.get(), "postgresql prepare [" + text + "]");
    auto& slot = stmts_[std::string(sql)];
    slot = std::make_unique<PgStmt>(conn_, std::move(name), n);
    return *slot;
  }

  void exec_script(std::string_view sql) override {
    std::string s(sql);
    Result r(PQexec(conn_, s.c_str()));
    auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) raise(conn_, r.get(), "postgresql");
  }

  std::int64_t copy_in(std::string_view table_and_columns, std::string_view data) override {
    const std::string sql = "COPY " + std::string(table_and_columns) + " FROM STDIN";
    {
      Result r(PQexec(conn_, sql.c_str()));
      if (!r || PQresultStatus(r.get()) != PGRES_COPY_IN) raise(conn_, r.get(), "postgresql [" + sql + "]");
    }
    // In pieces of 1 MiB: libpq buffers what it cannot send at once.
    constexpr std::size_t kPiece = 1 << 20;
    bool sent = true;
    for (std::size_t at = 0; at < data.size() && sent; at += kPiece) {
      const auto n = std::min(kPiece, data.size() - at);
      sent = PQputCopyData(conn_, data.data() + at, static_cast<int>(n)) == 1;
    }
    if (PQputCopyEnd(conn_, sent ? nullptr : "the client could not send the data") != 1 || !sent) {
      while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
      raise(conn_, nullptr, "postgresql COPY " + std::string(table_and_columns));
    }
    Result r(PQgetResult(conn_));
    while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) raise(conn_, r.get(), "postgresql COPY");
    const char* n = PQcmdTuples(r.get());
    return (n && *n) ? std::atoll(n) : 0;
  }

  void begin() override { exec_script("BEGIN"); }
  void commit() override { exec_script("COMMIT"); }
  void rollback() noexcept override {
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE) PQclear(PQexec(conn_, "ROLLBACK"));
  }
  void savepoint(std::string_view name) override { exec_script("SAVEPOINT " + std::string(name)); }
  void release(std::string_view name) override { exec_script("RELEASE SAVEPOINT " + std::string(name)); }
  void rollback_to(std::string_view name) noexcept override {
    std::string n(name);
    PQclear(PQexec(conn_, ("ROLLBACK TO SAVEPOINT " + n + "; RELEASE SAVEPOINT " + n).c_str()));
  }

 private:
  PGconn* conn_ = nullptr;
  int counter_ = 0;
  std::unordered_map<std::string, std::unique_ptr<PgStmt>, SqlHash, std::equal_to<>> stmts_;
};

}  // namespace

std::unique_ptr<Db> open_pg(const std::string& uri) { return std::make_unique<PgDb>(uri); }

}  // namespace bihuan::store
