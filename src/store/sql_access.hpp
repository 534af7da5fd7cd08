#pragma once
// Private to src/store: the driver connection under a repository opened by open_repository, for
// the other SQL repositories of the store that share its connection and transactions. Nothing
// outside src/store includes this header (tests/storage/sql_boundary_test.cpp checks it): code
// elsewhere adds a repository method instead of running SQL.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/area.hpp"

#include "core/date.hpp"
#include "core/error.hpp"
#include "store/db.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

Db& database_of(Repository& repo);

// Reads the columns of a result row from left to right, so that a row mapping names no column
// numbers: `Cols c(q); r.id = c.i64(); r.kind = c.str(); r.finished_at = c.maybe_at();`.
class Cols {
 public:
  explicit Cols(const Q& q, int first = 0) : q_(q), i_(first) {}
  std::int64_t i64() { return q_.int64(i_++); }
  std::string str() { return q_.str(i_++); }
  double real() { return q_.real(i_++); }
  Instant at() { return from_unix_ms(q_.int64(i_++)); }
  // NULL: nullopt.
  std::optional<Instant> maybe_at() {
    const int i = i_++;
    if (q_.null_at(i)) return std::nullopt;
    return from_unix_ms(q_.int64(i));
  }
  int next() const { return i_; }  // the column the next read takes

 private:
  const Q& q_;
  int i_;
};

// A page of the rows of `select_where` ("SELECT cols FROM table WHERE cond", id first) created by
// `created_by` (0 = everybody's), newest first, keyset on id; `read` maps a row to a T with `id`.
template <typename T, typename Read>
PageOf<T> newest_first(Db& db, std::string select_where, std::int64_t created_by, Page page, Read read) {
  if (page.limit < 1 || page.limit > 1000)
    fail(ErrorCode::invalid_argument, "page limit must be between 1 and 1000", "limit");
  if (created_by != 0) select_where += " AND created_by = ?";
  if (page.after > 0) select_where += " AND id < ?";
  select_where += " ORDER BY id DESC LIMIT ?";
  Q q(db, select_where);
  if (created_by != 0) q.i64(created_by);
  if (page.after > 0) q.i64(page.after);
  q.i64(page.limit + 1);
  PageOf<T> out;
  while (q.next()) out.items.push_back(read(q));
  if (static_cast<int>(out.items.size()) > page.limit) {
    out.items.resize(static_cast<std::size_t>(page.limit));
    out.next = out.items.back().id;
  }
  return out;
}

// Binds an optional instant (NULL when absent).
inline void bind_opt_at(Q& q, const std::optional<Instant>& t) {
  if (t)
    q.i64(to_unix_ms(*t));
  else
    q.null();
}

inline void check_page(const Page& page) {
  if (page.limit < 1 || page.limit > 1000)
    fail(ErrorCode::invalid_argument, "page limit must be between 1 and 1000", "limit");
}

// A WHERE clause under construction: conditions joined with AND and their parameters.
struct Conds {
  std::string sql;
  std::vector<std::pair<char, std::string>> params;  // 't' text, 'i' integer (as text)
  void add(const std::string& c) { sql += (sql.empty() ? " WHERE " : " AND ") + ("(" + c + ")"); }
  void t(std::string v) { params.emplace_back('t', std::move(v)); }
  void i(std::int64_t v) { params.emplace_back('i', std::to_string(v)); }
  void bind(Q& q) const {
    for (const auto& [k, v] : params) {
      if (k == 't')
        q.text(v);
      else
        q.i64(std::stoll(v));
    }
  }
  // `col` inside the subtree of prefix.
  void area(const std::string& col, std::string_view prefix) {
    auto r = subtree_range(prefix);
    if (r.lo.empty() && r.hi.empty()) return;
    t(r.lo);
    if (r.hi.empty()) {
      add(col + " >= ?");
      return;
    }
    t(r.hi);
    add(col + " >= ? AND " + col + " < ?");
  }
  // The scope of rows with an area column and, where labs handle them, a lab column.
  void scope(const Scope& s, const std::string& area_col, const std::string& lab_col) {
    if (s.kind == Scope::Kind::all) return;
    if (s.kind == Scope::Kind::org) {
      if (lab_col.empty() || s.org_id == 0) {
        add("1 = 0");
        return;
      }
      i(s.org_id);
      add(lab_col + " = ?");
      return;
    }
    if (s.area_prefix.empty()) {
      add("1 = 0");
      return;
    }
    area(area_col, s.area_prefix);
  }
};

// A page of `select` + `w`, newest first by `id_col`, keyset on it.
template <typename T, typename Read>
PageOf<T> page_desc(Db& db, const std::string& select, const std::string& id_col, Conds w, Page page, Read read) {
  check_page(page);
  if (page.after > 0) {
    w.i(page.after);
    w.add(id_col + " < ?");
  }
  Q q(db, select + w.sql + " ORDER BY " + id_col + " DESC LIMIT ?");
  w.bind(q);
  q.i64(page.limit + 1);
  PageOf<T> out;
  while (q.next()) out.items.push_back(read(q));
  if (static_cast<int>(out.items.size()) > page.limit) {
    out.items.resize(static_cast<std::size_t>(page.limit));
    out.next = out.items.back().id;
  }
  return out;
}

}  // namespace bihuan::store
