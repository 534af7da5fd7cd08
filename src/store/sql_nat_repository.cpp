// NatRepository over the Db driver layer, sharing the connection of a Repository.
#include <algorithm>
#include <map>
#include <unordered_map>

#include "core/area.hpp"
#include "core/error.hpp"
#include "store/db.hpp"
#include "store/sql_access.hpp"
#include "store/nat_repository.hpp"

namespace bihuan::store {

namespace {

std::string date_text(Date d) { return d.ok() ? format_date(d) : std::string(); }

void bind_opt_real(Q& q, const std::optional<double>& v) {
  if (v)
    q.f64(*v);
  else
    q.null();
}
std::optional<double> maybe_real(const Q& q, int c) {
  if (q.null_at(c)) return std::nullopt;
  return q.real(c);
}


constexpr const char* kPointCols =
    "id, name, area_code, address, opens, closes, capacity_per_hour, lab_org_id, active, created_at";
SamplingPointRow read_point(const Q& q) {
  Cols c(q);
  SamplingPointRow p;
  p.id = c.i64();
  p.name = c.str();
  p.area_code = c.str();
  p.address = c.str();
  p.opens = c.str();
  p.closes = c.str();
  p.capacity_per_hour = static_cast<int>(c.i64());
  p.lab_org_id = c.i64();
  p.active = c.i64() != 0;
  p.created_at = c.at();
  return p;
}

constexpr const char* kRoundCols =
    "id, campaign, area_code, day, profile, rule, pool_ratio, status, created_by, created_at, closed_at";
RoundRow read_round(const Q& q) {
  Cols c(q);
  RoundRow r;
  r.id = c.i64();
  r.campaign = c.str();
  r.area_code = c.str();
  r.day = parse_date(c.str()).value_or(Date{});
  r.profile = c.str();
  r.rule = c.str();
  r.pool_ratio = static_cast<int>(c.i64());
  r.status = c.str();
  r.created_by = c.i64();
  r.created_at = c.at();
  r.closed_at = c.maybe_at();
  return r;
}

constexpr const char* kTubeCols =
    "id, barcode, ratio, round_id, point_id, area_code, priority, status, members, opened_at, opened_by, closed_at, "
    "box_id, lab_org_id, result, result_at, retest_task";
TubeRow read_tube(const Q& q) {
  Cols c(q);
  TubeRow t;
  t.id = c.i64();
  t.barcode = c.str();
  t.ratio = static_cast<int>(c.i64());
  t.round_id = c.i64();
  t.point_id = c.i64();
  t.area_code = c.str();
  t.priority = c.str();
  t.status = c.str();
  t.members = static_cast<int>(c.i64());
  t.opened_at = c.at();
  t.opened_by = c.i64();
  t.closed_at = c.maybe_at();
  t.box_id = c.i64();
  t.lab_org_id = c.i64();
  t.result = c.str();
  t.result_at = c.maybe_at();
  t.retest_task = c.i64();
  return t;
}

constexpr const char* kBoxCols =
    "id, code, point_id, area_code, lab_org_id, status, tubes, created_at, created_by, sealed_at, sealed_by, "
    "picked_at, picked_by, carrier, received_at, received_by, due_at";
BoxRow read_box(const Q& q) {
  Cols c(q);
  BoxRow b;
  b.id = c.i64();
  b.code = c.str();
  b.point_id = c.i64();
  b.area_code = c.str();
  b.lab_org_id = c.i64();
  b.status = c.str();
  b.tubes = static_cast<int>(c.i64());
  b.created_at = c.at();
  b.created_by = c.i64();
  b.sealed_at = c.maybe_at();
  b.sealed_by = c.i64();
  b.picked_at = c.maybe_at();
  b.picked_by = c.i64();
  b.carrier = c.str();
  b.received_at = c.maybe_at();
  b.received_by = c.i64();
  b.due_at = c.maybe_at();
  return b;
}

constexpr const char* kResultCols =
    "id, lab_org_id, tube_id, person_id, version, current, reported, outcome, orf1ab_ct, n_ct, sampled_at, "
    "tested_at, received_at, external_id, channel, reason, by_user";
ResultRow read_result(const Q& q) {
  ResultRow r;
  Cols c(q);
  r.id = c.i64();
  r.lab_org_id = c.i64();
  r.tube_id = c.i64();
  r.person_id = c.i64();
  r.version = static_cast<int>(c.i64());
  r.current = c.i64() != 0;
  r.reported = c.str();
  r.outcome = c.str();
  r.orf1ab_ct = maybe_real(q, c.next());
  c.real();
  r.n_ct = maybe_real(q, c.next());
  c.real();
  r.sampled_at = c.maybe_at();
  r.tested_at = c.maybe_at();
  r.received_at = c.at();
  r.external_id = c.str();
  r.channel = c.str();
  r.reason = c.str();
  r.by_user = c.i64();
  return r;
}

constexpr const char* kConflictCols =
    "id, result_id, lab_org_id, tube_id, person_id, reported, orf1ab_ct, n_ct, tested_at, received_at, area_code, "
    "status, decided_by, decided_at, note";
ConflictRow read_conflict(const Q& q) {
  ConflictRow r;
  Cols c(q);
  r.id = c.i64();
  r.result_id = c.i64();
  r.lab_org_id = c.i64();
  r.tube_id = c.i64();
  r.person_id = c.i64();
  r.reported = c.str();
  r.orf1ab_ct = maybe_real(q, c.next());
  c.real();
  r.n_ct = maybe_real(q, c.next());
  c.real();
  r.tested_at = c.maybe_at();
  r.received_at = c.at();
  r.area_code = c.str();
  r.status = c.str();
  r.decided_by = c.i64();
  r.decided_at = c.maybe_at();
  r.note = c.str();
  return r;
}

constexpr const char* kTaskCols =
    "t.id, t.person_id, t.kind, t.area_code, t.source_tube, t.round_id, t.ratio, t.priority, t.door_to_door, "
    "t.flag_colour, t.due_at, t.status, t.tube_id, t.outcome, t.created_at, t.closed_at, t.task_day, t.org_id, p.name, "
    "p.address";
constexpr const char* kTaskFrom = " FROM test_tasks t JOIN persons p ON p.id = t.person_id";
TaskRow read_task(const Q& q) {
  TaskRow t;
  Cols c(q);
  t.id = c.i64();
  t.person_id = c.i64();
  t.kind = c.str();
  t.area_code = c.str();
  t.source_tube = c.i64();
  t.round_id = c.i64();
  t.ratio = static_cast<int>(c.i64());
  t.priority = c.str();
  t.door_to_door = c.i64() != 0;
  t.flag_colour = c.str();
  t.due_at = c.at();
  t.status = c.str();
  t.tube_id = c.i64();
  t.outcome = c.str();
  t.created_at = c.at();
  t.closed_at = c.maybe_at();
  t.task_day = c.str();
  t.org_id = c.i64();
  t.person_name = c.str();
  t.person_address = c.str();
  return t;
}

constexpr const char* kAlertCols =
    "id, kind, severity, subject, person_id, tube_id, box_id, area_code, lab_org_id, detail, raised_at, status, "
    "settled_at";
TestAlertRow read_alert(const Q& q) {
  TestAlertRow a;
  Cols c(q);
  a.id = c.i64();
  a.kind = c.str();
  a.severity = c.str();
  a.subject = c.str();
  a.person_id = c.i64();
  a.tube_id = c.i64();
  a.box_id = c.i64();
  a.area_code = c.str();
  a.lab_org_id = c.i64();
  a.detail = c.str();
  a.raised_at = c.at();
  a.status = c.str();
  a.settled_at = c.maybe_at();
  return a;
}

constexpr const char* kCaseCols =
    "id, person_id, area_code, source, result_id, tube_id, classification, status, opened_at, opened_by, note";
CaseRow read_case(const Q& q) {
  CaseRow r;
  Cols c(q);
  r.id = c.i64();
  r.person_id = c.i64();
  r.area_code = c.str();
  r.source = c.str();
  r.result_id = c.i64();
  r.tube_id = c.i64();
  r.classification = c.str();
  r.status = c.str();
  r.opened_at = c.at();
  r.opened_by = c.i64();
  r.note = c.str();
  return r;
}

// Keyset page, newest first, of `select` (its columns start with the id) under `w`.

class SqlNatRepository final : public NatRepository {
 public:
  explicit SqlNatRepository(Repository& repo) : repo_(repo), db_(database_of(repo)) {}
  Repository& base() override { return repo_; }

  // ------------------------------------------------------------ points
  std::int64_t insert_point(SamplingPointRow& p) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO sampling_points (name, area_code, address, opens, closes, capacity_per_hour, lab_org_id, "
                 "active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.text(p.name).text(p.area_code).text(p.address).text(p.opens).text(p.closes).i64(p.capacity_per_hour);
    q.i64(p.lab_org_id).i64(p.active ? 1 : 0).i64(to_unix_ms(p.created_at));
    p.id = q.inserted_id();
    return p.id;
  }
  void update_point(const SamplingPointRow& p) override {
    Q q(db_,
        "UPDATE sampling_points SET name = ?, address = ?, opens = ?, closes = ?, capacity_per_hour = ?, "
        "lab_org_id = ?, active = ? WHERE id = ?");
    q.text(p.name).text(p.address).text(p.opens).text(p.closes).i64(p.capacity_per_hour).i64(p.lab_org_id);
    q.i64(p.active ? 1 : 0).i64(p.id).run();
  }
  std::optional<SamplingPointRow> point(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kPointCols + " FROM sampling_points WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_point(q);
  }
  std::vector<SamplingPointRow> points(const Scope& scope, int limit) override {
    Conds w;
    w.scope(scope, "area_code", "lab_org_id");
    Q q(db_, std::string("SELECT ") + kPointCols + " FROM sampling_points" + w.sql + " ORDER BY area_code, id LIMIT ?");
    w.bind(q);
    q.i64(limit);
    std::vector<SamplingPointRow> out;
    while (q.next()) out.push_back(read_point(q));
    return out;
  }

  // ------------------------------------------------------------ rounds
  std::int64_t insert_round(RoundRow& r) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO test_rounds (campaign, area_code, day, profile, rule, pool_ratio, status, created_by, "
                 "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.text(r.campaign).text(r.area_code).text(date_text(r.day)).text(r.profile).text(r.rule).i64(r.pool_ratio);
    q.text(r.status).i64(r.created_by).i64(to_unix_ms(r.created_at));
    r.id = q.inserted_id();
    return r.id;
  }
  std::optional<RoundRow> round(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kRoundCols + " FROM test_rounds WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_round(q);
  }
  std::vector<RoundRow> rounds(const Scope& scope, int limit) override {
    Conds w;
    if (scope.kind == Scope::Kind::area) {
      // A round is visible inside its area and to callers whose area contains it or lies in it.
      if (scope.area_prefix.empty()) return {};
      auto r = subtree_range(scope.area_prefix);
      w.t(r.lo);
      w.t(r.hi.empty() ? std::string("\x7f") : r.hi);
      w.t(scope.area_prefix);
      w.add("(area_code >= ? AND area_code < ?) OR " + db_.dialect().find("?", "area_code") + " = 1");
    } else if (scope.kind == Scope::Kind::org) {
      return {};  // rounds are the areas' business
    }
    Q q(db_, std::string("SELECT ") + kRoundCols + " FROM test_rounds" + w.sql + " ORDER BY id DESC LIMIT ?");
    w.bind(q);
    q.i64(limit);
    std::vector<RoundRow> out;
    while (q.next()) out.push_back(read_round(q));
    return out;
  }
  void set_round_status(std::int64_t id, const std::string& status, std::optional<Instant> closed_at) override {
    Q q(db_, "UPDATE test_rounds SET status = ?, closed_at = ? WHERE id = ?");
    q.text(status);
    bind_opt_at(q, closed_at);
    q.i64(id).run();
  }
  bool upsert_exclusion(const ExclusionRow& x) override {
    const auto n = Q(db_, "DELETE FROM round_exclusions WHERE round_id = ? AND person_id = ?")
                       .i64(x.round_id)
                       .i64(x.person_id)
                       .run();
    Q(db_, "INSERT INTO round_exclusions (round_id, person_id, reason, note, by_user, at) VALUES (?, ?, ?, ?, ?, ?)")
        .i64(x.round_id)
        .i64(x.person_id)
        .text(x.reason)
        .text(x.note)
        .i64(x.by_user)
        .i64(to_unix_ms(x.at))
        .run();
    return n == 0;
  }
  std::vector<ExclusionRow> exclusions(std::int64_t round_id) override {
    Q q(db_, "SELECT round_id, person_id, reason, note, by_user, at FROM round_exclusions WHERE round_id = ? ORDER BY person_id");
    q.i64(round_id);
    std::vector<ExclusionRow> out;
    while (q.next()) {
      Cols c(q);
      ExclusionRow x;
      x.round_id = c.i64();
      x.person_id = c.i64();
      x.reason = c.str();
      x.note = c.str();
      x.by_user = c.i64();
      x.at = c.at();
      out.push_back(std::move(x));
    }
    return out;
  }

  // ------------------------------------------------------------ tubes
  std::int64_t insert_tube(TubeRow& t) override {
    // A barcode already taken is refused by the table's unique index (no look-up first: an
    // upload has checked its barcodes together, tubes_by_barcodes).
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO tubes (barcode, ratio, round_id, point_id, area_code, priority, status, members, "
                 "opened_at, opened_by, closed_at, lab_org_id, retest_task) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
                 "id"));
    q.text(t.barcode).i64(t.ratio).i64(t.round_id).i64(t.point_id).text(t.area_code).text(t.priority).text(t.status);
    q.i64(to_unix_ms(t.opened_at)).i64(t.opened_by);
    bind_opt_at(q, t.closed_at);
    q.i64(t.lab_org_id).i64(t.retest_task);
    try {
      t.id = q.inserted_id();
    } catch (const Error& e) {
      if (e.code() == ErrorCode::conflict) fail(ErrorCode::conflict, "a tube with barcode " + t.barcode + " exists", "barcode");
      throw;
    }
    return t.id;
  }
  std::optional<TubeRow> tube(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kTubeCols + " FROM tubes WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_tube(q);
  }
  std::optional<TubeRow> tube_by_barcode(std::string_view barcode) override {
    Q q(db_, std::string("SELECT ") + kTubeCols + " FROM tubes WHERE barcode = ?");
    q.text(barcode);
    if (!q.next()) return std::nullopt;
    return read_tube(q);
  }
  std::vector<TubeRow> tubes_by_barcodes(const std::vector<std::string>& barcodes) override {
    std::vector<TubeRow> out;
    constexpr std::size_t kChunk = 200;
    for (std::size_t i = 0; i < barcodes.size(); i += kChunk) {
      const std::size_t n = std::min(kChunk, barcodes.size() - i);
      std::string sql = std::string("SELECT ") + kTubeCols + " FROM tubes WHERE barcode IN (";
      for (std::size_t k = 0; k < n; ++k) sql += k ? ", ?" : "?";
      sql += ")";
      Q q(db_, sql);
      for (std::size_t k = 0; k < n; ++k) q.text(barcodes[i + k]);
      while (q.next()) out.push_back(read_tube(q));
    }
    return out;
  }
  PageOf<TubeRow> tubes(const TubeFilter& f, const Scope& scope, Page page) override {
    Conds w;
    w.scope(scope, "area_code", "lab_org_id");
    if (!f.status.empty()) {
      w.t(f.status);
      w.add("status = ?");
    }
    if (!f.result.empty()) {
      w.t(f.result);
      w.add("result = ?");
    }
    if (f.round_id) {
      w.i(f.round_id);
      w.add("round_id = ?");
    }
    if (f.box_id) {
      w.i(f.box_id);
      w.add("box_id = ?");
    }
    return page_desc<TubeRow>(db_, std::string("SELECT ") + kTubeCols + " FROM tubes", "id", w, page, read_tube);
  }
  void update_tube(const TubeRow& t) override {
    Q q(db_, "UPDATE tubes SET status = ?, members = ?, closed_at = ?, box_id = ?, lab_org_id = ?, result = ?, "
             "result_at = ?, retest_task = ? WHERE id = ?");
    q.text(t.status).i64(t.members);
    bind_opt_at(q, t.closed_at);
    q.i64(t.box_id).i64(t.lab_org_id).text(t.result);
    bind_opt_at(q, t.result_at);
    q.i64(t.retest_task).i64(t.id).run();
  }
  void insert_members(const std::vector<NewMember>& ms) override {
    if (ms.empty()) return;
    std::map<std::int64_t, int> added;
    // Members of closed tubes (an uploaded full tube) are not bound by the open-tube rule: they go
    // in multi-row INSERTs of up to kRows (one cached statement per size); the rest one by one, so
    // that a person already in an open tube of the round is named.
    constexpr std::size_t kRows = 20;
    std::vector<const NewMember*> closed;
    closed.reserve(ms.size());
    for (const auto& m : ms)
      if (!m.open) closed.push_back(&m);
    for (std::size_t i = 0; i < closed.size(); i += kRows) {
      const std::size_t n = std::min(kRows, closed.size() - i);
      std::string sql = "INSERT INTO tube_members (tube_id, person_id, round_id, task_id, sampled_at, sampled_by, open) VALUES ";
      for (std::size_t k = 0; k < n; ++k) sql += k ? ", (?, ?, ?, ?, ?, ?, 0)" : "(?, ?, ?, ?, ?, ?, 0)";
      Q q(db_, sql);
      for (std::size_t k = 0; k < n; ++k) {
        const auto& m = *closed[i + k];
        q.i64(m.tube_id).i64(m.person_id).i64(m.round_id).i64(m.task_id).i64(to_unix_ms(m.sampled_at)).i64(m.sampled_by);
        ++added[m.tube_id];
      }
      try {
        q.run();
      } catch (const Error& e) {
        if (e.code() == ErrorCode::conflict) fail(ErrorCode::conflict, "a person appears twice in one tube", "person_id");
        throw;
      }
    }
    for (const auto& m : ms) {
      if (!m.open) continue;
      try {
        Q(db_, "INSERT INTO tube_members (tube_id, person_id, round_id, task_id, sampled_at, sampled_by, open) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)")
            .i64(m.tube_id)
            .i64(m.person_id)
            .i64(m.round_id)
            .i64(m.task_id)
            .i64(to_unix_ms(m.sampled_at))
            .i64(m.sampled_by)
            .i64(m.open ? 1 : 0)
            .run();
      } catch (const Error& e) {
        if (e.code() == ErrorCode::conflict)
          fail(ErrorCode::conflict, "person " + std::to_string(m.person_id) + " is already in an open tube of this round",
               "person_id");
        throw;
      }
      ++added[m.tube_id];
    }
    for (const auto& [tube, n] : added) Q(db_, "UPDATE tubes SET members = members + ? WHERE id = ?").i64(n).i64(tube).run();
  }
  std::vector<MemberRow> members(std::int64_t tube_id) override {
    Q q(db_, "SELECT tube_id, person_id, round_id, task_id, sampled_at, sampled_by, open FROM tube_members "
             "WHERE tube_id = ? ORDER BY sampled_at, person_id");
    q.i64(tube_id);
    std::vector<MemberRow> out;
    while (q.next()) {
      Cols c(q);
      MemberRow m;
      m.tube_id = c.i64();
      m.person_id = c.i64();
      m.round_id = c.i64();
      m.task_id = c.i64();
      m.sampled_at = c.at();
      m.sampled_by = c.i64();
      m.open = c.i64() != 0;
      out.push_back(m);
    }
    return out;
  }
  void close_members(std::int64_t tube_id) override {
    Q(db_, "UPDATE tube_members SET open = 0 WHERE tube_id = ? AND open = 1").i64(tube_id).run();
  }
  std::optional<std::int64_t> open_tube_of(std::int64_t round_id, std::int64_t person_id) override {
    Q q(db_, "SELECT tube_id FROM tube_members WHERE round_id = ? AND person_id = ? AND open = 1");
    q.i64(round_id).i64(person_id);
    if (!q.next()) return std::nullopt;
    return q.int64(0);
  }
  std::vector<TubeRow> tubes_of_box(std::int64_t box_id) override {
    Q q(db_, std::string("SELECT ") + kTubeCols + " FROM tubes WHERE box_id = ? ORDER BY id");
    q.i64(box_id);
    std::vector<TubeRow> out;
    while (q.next()) out.push_back(read_tube(q));
    return out;
  }
  std::vector<DocRef> persons_by_docs(const std::vector<std::string>& docs) override {
    // SQLite: two reads per chunk, neither touching the persons' rows: document number and id
    // from the index persons_doc (covering: id is the rowid), then which of those ids are merged
    // from the partial index of merged persons (v39; without INDEXED BY SQLite would look the ids
    // up in the table itself). PostgreSQL reads the rows for id anyway (its index holds no id), so
    // it takes merged_into with them.
    const bool sqlite = db_.backend() == Backend::sqlite;
    std::vector<DocRef> out;
    constexpr std::size_t kChunk = 500;
    for (std::size_t i = 0; i < docs.size(); i += kChunk) {
      const std::size_t n = std::min(kChunk, docs.size() - i);
      std::string sql = sqlite ? "SELECT doc_number, id, 0 FROM persons WHERE doc_number IN ("
                               : "SELECT doc_number, id, merged_into FROM persons WHERE doc_number IN (";
      for (std::size_t k = 0; k < n; ++k) sql += k ? ", ?" : "?";
      sql += ")";
      Q q(db_, sql);
      for (std::size_t k = 0; k < n; ++k) q.text(docs[i + k]);
      const std::size_t first = out.size();
      while (q.next()) {
        Cols c(q);
        DocRef d;
        d.doc_number = c.str();
        d.id = c.i64();
        d.merged = c.i64() != 0;
        out.push_back(std::move(d));
      }
      if (!sqlite || out.size() == first) continue;
      std::string ids = "SELECT id FROM persons INDEXED BY persons_merged_id WHERE merged_into IS NOT NULL AND id IN (";
      for (std::size_t k = first; k < out.size(); ++k) ids += k > first ? ", ?" : "?";
      ids += ")";
      Q m(db_, ids);
      for (std::size_t k = first; k < out.size(); ++k) m.i64(out[k].id);
      std::vector<std::int64_t> merged;
      while (m.next()) merged.push_back(m.int64(0));
      if (merged.empty()) continue;
      std::sort(merged.begin(), merged.end());
      for (std::size_t k = first; k < out.size(); ++k)
        out[k].merged = std::binary_search(merged.begin(), merged.end(), out[k].id);
    }
    return out;
  }
  std::vector<std::int64_t> persons_under_control(const std::vector<std::int64_t>& ids) override {
    static const std::string sql =
        with_id_list("SELECT DISTINCT person_id FROM control_orders WHERE status = 'active' AND person_id IN ({ids})");
    std::vector<std::int64_t> out;
    for_id_chunks(db_, sql, ids, [&](Q& q) {
      while (q.next()) out.push_back(q.int64(0));
    });
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }
  std::vector<std::int64_t> persons_needing_single(const std::vector<std::int64_t>& ids) override {
    std::vector<std::int64_t> out;
    constexpr std::size_t kChunk = 500;
    for (std::size_t i = 0; i < ids.size(); i += kChunk) {
      const std::size_t n = std::min(kChunk, ids.size() - i);
      std::string in;
      for (std::size_t k = 0; k < n; ++k) in += k ? ", ?" : "?";
      Q q(db_, "SELECT person_id FROM control_orders WHERE status = 'active' AND person_id IN (" + in +
                   ") UNION SELECT person_id FROM test_tasks WHERE status IN ('open', 'sampled') AND kind <> 'routine' "
                   "AND person_id IN (" + in + ")");
      for (int rep = 0; rep < 2; ++rep)
        for (std::size_t k = 0; k < n; ++k) q.i64(ids[i + k]);
      while (q.next()) out.push_back(q.int64(0));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }
  std::vector<TubeRow> unresulted_before(const std::string& priority, Instant cutoff, int limit) override {
    Q q(db_, std::string("SELECT ") + kTubeCols +
                 " FROM tubes WHERE status IN ('closed', 'boxed', 'received') AND priority = ? AND closed_at < ? "
                 "ORDER BY closed_at LIMIT ?");
    q.text(priority).i64(to_unix_ms(cutoff)).i64(limit);
    std::vector<TubeRow> out;
    while (q.next()) out.push_back(read_tube(q));
    return out;
  }
  void set_tubes_status_of_box(std::int64_t box_id, const std::string& status, std::int64_t lab_org_id) override {
    Q(db_, "UPDATE tubes SET status = ?, lab_org_id = ? WHERE box_id = ? AND status <> 'resulted'")
        .text(status)
        .i64(lab_org_id)
        .i64(box_id)
        .run();
  }

  // ------------------------------------------------------------ boxes
  std::int64_t insert_box(BoxRow& b) override {
    {
      Q e(db_, "SELECT 1 FROM sample_boxes WHERE code = ?");
      e.text(b.code);
      if (e.next()) fail(ErrorCode::conflict, "a box with code " + b.code + " exists", "code");
    }
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO sample_boxes (code, point_id, area_code, lab_org_id, status, tubes, created_at, "
                 "created_by) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                 "id"));
    q.text(b.code).i64(b.point_id).text(b.area_code).i64(b.lab_org_id).text(b.status);
    q.i64(to_unix_ms(b.created_at)).i64(b.created_by);
    b.id = q.inserted_id();
    return b.id;
  }
  std::optional<BoxRow> box(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kBoxCols + " FROM sample_boxes WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_box(q);
  }
  std::optional<BoxRow> box_by_code(std::string_view code) override {
    Q q(db_, std::string("SELECT ") + kBoxCols + " FROM sample_boxes WHERE code = ?");
    q.text(code);
    if (!q.next()) return std::nullopt;
    return read_box(q);
  }
  PageOf<BoxRow> boxes(const std::string& status, const Scope& scope, Page page) override {
    Conds w;
    w.scope(scope, "area_code", "lab_org_id");
    if (!status.empty()) {
      w.t(status);
      w.add("status = ?");
    }
    return page_desc<BoxRow>(db_, std::string("SELECT ") + kBoxCols + " FROM sample_boxes", "id", w, page, read_box);
  }
  void update_box(const BoxRow& b) override {
    Q q(db_, "UPDATE sample_boxes SET lab_org_id = ?, status = ?, tubes = ?, sealed_at = ?, sealed_by = ?, "
             "picked_at = ?, picked_by = ?, carrier = ?, received_at = ?, received_by = ?, due_at = ? WHERE id = ?");
    q.i64(b.lab_org_id).text(b.status).i64(b.tubes);
    bind_opt_at(q, b.sealed_at);
    q.i64(b.sealed_by);
    bind_opt_at(q, b.picked_at);
    q.i64(b.picked_by).text(b.carrier);
    bind_opt_at(q, b.received_at);
    q.i64(b.received_by);
    bind_opt_at(q, b.due_at);
    q.i64(b.id).run();
  }
  std::vector<BoxRow> overdue_boxes(Instant now, int limit) override {
    Q q(db_, std::string("SELECT ") + kBoxCols +
                 " FROM sample_boxes WHERE status IN ('sealed', 'in_transit') AND due_at IS NOT NULL AND due_at < ? "
                 "ORDER BY due_at LIMIT ?");
    q.i64(to_unix_ms(now)).i64(limit);
    std::vector<BoxRow> out;
    while (q.next()) out.push_back(read_box(q));
    return out;
  }

  // ------------------------------------------------------------ results
  std::int64_t insert_result(ResultRow& r) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO lab_results (lab_org_id, tube_id, person_id, version, current, reported, outcome, "
                 "orf1ab_ct, n_ct, sampled_at, tested_at, received_at, external_id, channel, reason, by_user) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.i64(r.lab_org_id).i64(r.tube_id).i64(r.person_id).i64(r.version).i64(r.current ? 1 : 0);
    q.text(r.reported).text(r.outcome);
    bind_opt_real(q, r.orf1ab_ct);
    bind_opt_real(q, r.n_ct);
    bind_opt_at(q, r.sampled_at);
    bind_opt_at(q, r.tested_at);
    q.i64(to_unix_ms(r.received_at)).text(r.external_id).text(r.channel).text(r.reason).i64(r.by_user);
    r.id = q.inserted_id();
    return r.id;
  }
  std::optional<ResultRow> current_result_of_tube(std::int64_t tube_id) override {
    Q q(db_, std::string("SELECT ") + kResultCols +
                 " FROM lab_results WHERE tube_id = ? AND current = 1 ORDER BY version DESC LIMIT 1");
    q.i64(tube_id);
    if (!q.next()) return std::nullopt;
    return read_result(q);
  }
  std::optional<ResultRow> current_result_of_person(std::int64_t lab_org_id, std::int64_t person_id,
                                                    std::optional<Instant> sampled_at,
                                                    const std::string& external_id) override {
    if (sampled_at) {
      Q q(db_, std::string("SELECT ") + kResultCols +
                   " FROM lab_results WHERE tube_id = 0 AND person_id = ? AND lab_org_id = ? AND sampled_at = ? "
                   "AND current = 1 ORDER BY version DESC LIMIT 1");
      q.i64(person_id).i64(lab_org_id).i64(to_unix_ms(*sampled_at));
      if (q.next()) return read_result(q);
      return std::nullopt;
    }
    if (external_id.empty()) return std::nullopt;
    Q q(db_, std::string("SELECT ") + kResultCols +
                 " FROM lab_results WHERE tube_id = 0 AND person_id = ? AND lab_org_id = ? AND external_id = ? "
                 "AND current = 1 ORDER BY version DESC LIMIT 1");
    q.i64(person_id).i64(lab_org_id).text(external_id);
    if (q.next()) return read_result(q);
    return std::nullopt;
  }
  std::optional<ResultRow> result(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kResultCols + " FROM lab_results WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_result(q);
  }
  void supersede_result(std::int64_t id) override {
    Q(db_, "UPDATE lab_results SET current = 0 WHERE id = ?").i64(id).run();
  }
  std::vector<ResultRow> results_of_person(std::int64_t person_id, int limit) override {
    // Direct results and the results of every tube the person was sampled into.
    Q q(db_, std::string("SELECT ") + kResultCols +
                 " FROM lab_results WHERE current = 1 AND (person_id = ? OR tube_id IN "
                 "(SELECT tube_id FROM tube_members WHERE person_id = ?)) ORDER BY received_at DESC, id DESC LIMIT ?");
    q.i64(person_id).i64(person_id).i64(limit);
    std::vector<ResultRow> out;
    while (q.next()) out.push_back(read_result(q));
    return out;
  }
  std::vector<ResultRow> results_of_tube(std::int64_t tube_id) override {
    Q q(db_, std::string("SELECT ") + kResultCols + " FROM lab_results WHERE tube_id = ? ORDER BY version");
    q.i64(tube_id);
    std::vector<ResultRow> out;
    while (q.next()) out.push_back(read_result(q));
    return out;
  }
  std::int64_t insert_conflict(ConflictRow& c) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO result_conflicts (result_id, lab_org_id, tube_id, person_id, reported, orf1ab_ct, n_ct, "
                 "tested_at, received_at, area_code, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')",
                 "id"));
    q.i64(c.result_id).i64(c.lab_org_id).i64(c.tube_id).i64(c.person_id).text(c.reported);
    bind_opt_real(q, c.orf1ab_ct);
    bind_opt_real(q, c.n_ct);
    bind_opt_at(q, c.tested_at);
    q.i64(to_unix_ms(c.received_at)).text(c.area_code);
    c.id = q.inserted_id();
    return c.id;
  }
  std::optional<ConflictRow> conflict(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kConflictCols + " FROM result_conflicts WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_conflict(q);
  }
  std::vector<ConflictRow> conflicts(const std::string& status, const Scope& scope, int limit) override {
    Conds w;
    w.scope(scope, "area_code", "lab_org_id");
    if (!status.empty()) {
      w.t(status);
      w.add("status = ?");
    }
    Q q(db_, std::string("SELECT ") + kConflictCols + " FROM result_conflicts" + w.sql + " ORDER BY id DESC LIMIT ?");
    w.bind(q);
    q.i64(limit);
    std::vector<ConflictRow> out;
    while (q.next()) out.push_back(read_conflict(q));
    return out;
  }
  void decide_conflict(const ConflictRow& c) override {
    Q q(db_, "UPDATE result_conflicts SET status = ?, decided_by = ?, decided_at = ?, note = ? WHERE id = ?");
    q.text(c.status).i64(c.decided_by);
    bind_opt_at(q, c.decided_at);
    q.text(c.note).i64(c.id).run();
  }

  // ------------------------------------------------------------ tasks
  std::int64_t insert_task(TaskRow& t) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO test_tasks (person_id, kind, area_code, source_tube, round_id, ratio, priority, "
                 "door_to_door, flag_colour, due_at, status, tube_id, outcome, created_at, task_day, org_id) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.i64(t.person_id).text(t.kind).text(t.area_code).i64(t.source_tube).i64(t.round_id).i64(t.ratio);
    q.text(t.priority).i64(t.door_to_door ? 1 : 0).text(t.flag_colour).i64(to_unix_ms(t.due_at)).text(t.status);
    q.i64(t.tube_id).text(t.outcome).i64(to_unix_ms(t.created_at)).text(t.task_day).i64(t.org_id);
    t.id = q.inserted_id();
    return t.id;
  }
  std::optional<TaskRow> task(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kTaskCols + kTaskFrom + " WHERE t.id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_task(q);
  }
  std::vector<TaskRow> open_tasks_of_person(std::int64_t person_id) override {
    Q q(db_, std::string("SELECT ") + kTaskCols + kTaskFrom +
                 " WHERE t.person_id = ? AND t.status IN ('open', 'sampled') ORDER BY t.id");
    q.i64(person_id);
    std::vector<TaskRow> out;
    while (q.next()) out.push_back(read_task(q));
    return out;
  }
  std::vector<TaskRow> tasks_from_tube(std::int64_t tube_id) override {
    Q q(db_, std::string("SELECT ") + kTaskCols + kTaskFrom + " WHERE t.source_tube = ? ORDER BY t.id");
    q.i64(tube_id);
    std::vector<TaskRow> out;
    while (q.next()) out.push_back(read_task(q));
    return out;
  }
  PageOf<TaskRow> tasks(const TaskFilter& f, const Scope& scope, Page page) override {
    Conds w;
    w.scope(scope, "t.area_code", "");
    if (!f.status.empty()) {
      w.t(f.status);
      w.add("t.status = ?");
    }
    if (!f.kind.empty()) {
      w.t(f.kind);
      w.add("t.kind = ?");
    }
    if (f.person_id) {
      w.i(f.person_id);
      w.add("t.person_id = ?");
    }
    return page_desc<TaskRow>(db_, std::string("SELECT ") + kTaskCols + kTaskFrom, "t.id", w, page, read_task);
  }
  void update_task(const TaskRow& t) override {
    Q q(db_, "UPDATE test_tasks SET status = ?, tube_id = ?, outcome = ?, closed_at = ? WHERE id = ?");
    q.text(t.status).i64(t.tube_id).text(t.outcome);
    bind_opt_at(q, t.closed_at);
    q.i64(t.id).run();
  }
  std::vector<TaskRow> overdue_tasks(Instant now, int limit) override {
    Q q(db_, std::string("SELECT ") + kTaskCols + kTaskFrom +
                 " WHERE t.status = 'open' AND t.kind <> 'routine' AND t.due_at < ? ORDER BY t.due_at LIMIT ?");
    q.i64(to_unix_ms(now)).i64(limit);
    std::vector<TaskRow> out;
    while (q.next()) out.push_back(read_task(q));
    return out;
  }
  std::string open_flag(std::int64_t person_id) override {
    Q q(db_,
        "SELECT flag_colour FROM test_tasks WHERE person_id = ? AND status IN ('open', 'sampled', 'missed') "
        "AND flag_colour <> ''");
    q.i64(person_id);
    std::string best;
    while (q.next()) {
      auto c = q.str(0);
      if (c == "red" || best.empty()) best = c;
    }
    return best;
  }

  // ------------------------------------------------------------ turnaround
  std::vector<TurnaroundCell> turnaround(const Scope& scope, Instant since) override {
    Conds w;
    w.scope(scope, "t.area_code", "t.lab_org_id");
    w.i(to_unix_ms(since));
    w.add("t.closed_at >= ?");
    w.add("t.result_at IS NOT NULL AND t.status = 'resulted'");
    Q q(db_, "SELECT t.lab_org_id, COALESCE(o.name, ''), t.priority, (t.result_at - t.closed_at) / 3600000 AS h, "
             "COUNT(*) FROM tubes t LEFT JOIN orgs o ON o.id = t.lab_org_id" + w.sql +
             " GROUP BY t.lab_org_id, o.name, t.priority, (t.result_at - t.closed_at) / 3600000 "
             "ORDER BY t.lab_org_id, t.priority, h");
    w.bind(q);
    std::vector<TurnaroundCell> out;
    while (q.next()) {
      Cols c(q);
      TurnaroundCell cell;
      cell.lab_org_id = c.i64();
      cell.lab_name = c.str();
      cell.priority = c.str();
      cell.hours = static_cast<int>(c.i64());
      cell.tubes = c.i64();
      out.push_back(std::move(cell));
    }
    return out;
  }

  // ------------------------------------------------------------ key groups
  static constexpr const char* kKeyGroupSelect =
      "SELECT k.org_id, k.group_key, k.since, k.set_by, k.set_at, o.name, o.area_code, o.kind, "
      "(SELECT COUNT(*) FROM persons p WHERE p.workplace_org_id = k.org_id AND p.merged_into IS NULL), "
      "(SELECT COUNT(*) FROM test_tasks t WHERE t.org_id = k.org_id AND t.kind = 'routine' "
      "   AND t.status IN ('open', 'sampled')), "
      "(SELECT COUNT(*) FROM test_tasks t WHERE t.org_id = k.org_id AND t.kind = 'routine' AND t.status = 'missed') "
      "FROM key_group_orgs k JOIN orgs o ON o.id = k.org_id";
  static KeyGroupRow read_key_group(const Q& q) {
    Cols c(q);
    KeyGroupRow k;
    k.org_id = c.i64();
    k.group_key = c.str();
    k.since = parse_date(c.str()).value_or(Date{});
    k.set_by = c.i64();
    k.set_at = c.at();
    k.org_name = c.str();
    k.org_area = c.str();
    k.org_kind = c.str();
    k.staff = c.i64();
    k.open_tasks = c.i64();
    k.missed_tasks = c.i64();
    return k;
  }
  void upsert_key_group(const KeyGroupRow& k) override {
    if (Q(db_, "UPDATE key_group_orgs SET group_key = ?, since = ?, set_by = ?, set_at = ? WHERE org_id = ?")
            .text(k.group_key)
            .text(format_date(k.since))
            .i64(k.set_by)
            .i64(to_unix_ms(k.set_at))
            .i64(k.org_id)
            .run() > 0)
      return;
    Q(db_, "INSERT INTO key_group_orgs (org_id, group_key, since, set_by, set_at) VALUES (?, ?, ?, ?, ?)")
        .i64(k.org_id)
        .text(k.group_key)
        .text(format_date(k.since))
        .i64(k.set_by)
        .i64(to_unix_ms(k.set_at))
        .run();
  }
  bool remove_key_group(std::int64_t org_id) override {
    // Its open routine tasks end with it.
    Q(db_, "UPDATE test_tasks SET status = 'cancelled' WHERE org_id = ? AND kind = 'routine' "
           "AND status IN ('open', 'sampled', 'missed')")
        .i64(org_id)
        .run();
    Q(db_, "DELETE FROM key_group_posts WHERE org_id = ?").i64(org_id).run();
    return Q(db_, "DELETE FROM key_group_orgs WHERE org_id = ?").i64(org_id).run() > 0;
  }
  std::optional<KeyGroupRow> key_group(std::int64_t org_id) override {
    Q q(db_, std::string(kKeyGroupSelect) + " WHERE k.org_id = ?");
    q.i64(org_id);
    if (!q.next()) return std::nullopt;
    return read_key_group(q);
  }
  std::vector<KeyGroupRow> key_groups(const Scope& scope) override {
    Conds w;
    w.scope(scope, "o.area_code", "");
    Q q(db_, std::string(kKeyGroupSelect) + w.sql + " ORDER BY o.area_code, k.org_id LIMIT 1000");
    w.bind(q);
    std::vector<KeyGroupRow> out;
    while (q.next()) out.push_back(read_key_group(q));
    return out;
  }
  std::int64_t create_routine_tasks(std::int64_t org_id, const std::string& day, Instant due_at, Instant created_at,
                                    const std::string& post) override {
    // Whose task it is: the persons working there; with a post, the roster staff of that post;
    // "*": the roster staff of every post that key_group_posts does not name.
    std::string from = "FROM persons p WHERE p.workplace_org_id = ?";
    if (post == "*")
      from = "FROM enterprise_staff s JOIN persons p ON p.id = s.person_id WHERE s.org_id = ? AND s.post NOT IN "
             "(SELECT k.post FROM key_group_posts k WHERE k.org_id = s.org_id AND k.post <> '*')";
    else if (!post.empty())
      from = "FROM enterprise_staff s JOIN persons p ON p.id = s.person_id WHERE s.org_id = ? AND s.post = ?";
    Q q(db_,
        "INSERT INTO test_tasks (person_id, kind, area_code, ratio, priority, flag_colour, due_at, status, created_at, "
        "task_day, org_id) SELECT p.id, 'routine', p.area_code, 0, 'key', '', ?, 'open', ?, ?, ? " +
            from +
            " AND p.merged_into IS NULL AND NOT EXISTS (SELECT 1 FROM test_tasks t WHERE t.person_id = p.id AND "
            "t.kind = 'routine' AND t.task_day = ?)");
    q.i64(to_unix_ms(due_at)).i64(to_unix_ms(created_at)).text(day).i64(org_id).i64(org_id);
    if (!post.empty() && post != "*") q.text(post);
    return q.text(day).run();
  }
  void set_key_group_posts(std::int64_t org_id, const std::map<std::string, std::string>& posts) override {
    Q(db_, "DELETE FROM key_group_posts WHERE org_id = ?").i64(org_id).run();
    for (const auto& [post, group] : posts)
      Q(db_, "INSERT INTO key_group_posts (org_id, post, group_key) VALUES (?, ?, ?)")
          .i64(org_id)
          .text(post)
          .text(group)
          .run();
  }
  std::map<std::string, std::string> key_group_posts(std::int64_t org_id) override {
    Q q(db_, "SELECT post, group_key FROM key_group_posts WHERE org_id = ?");
    q.i64(org_id);
    std::map<std::string, std::string> out;
    while (q.next()) out.emplace(q.str(0), q.str(1));
    return out;
  }
  bool any_open_routine_task() override {
    Q q(db_, "SELECT 1 FROM test_tasks WHERE kind = 'routine' AND status IN ('open', 'sampled', 'missed') LIMIT 1");
    return q.next();
  }
  std::int64_t close_routine_tasks(const std::vector<std::int64_t>& ids, const std::string& day,
                                   const std::string& status, const std::string& outcome, std::int64_t tube_id,
                                   Instant at) override {
    static const std::string sql = with_id_list(
        "UPDATE test_tasks SET status = ?, outcome = ?, tube_id = ?, closed_at = ? WHERE kind = 'routine' "
        "AND status IN ('open', 'sampled', 'missed') AND task_day <= ? AND person_id IN ({ids})");
    std::int64_t n = 0;
    for_id_chunks(
        db_, sql, ids, [&](Q& q) { n += q.run(); },
        [&](Q& q) { q.text(status).text(outcome).i64(tube_id).i64(to_unix_ms(at)).text(day); });
    return n;
  }
  std::vector<TaskRow> overdue_routine_tasks(Instant now, int limit) override {
    Q q(db_, std::string("SELECT ") + kTaskCols + kTaskFrom +
                 " WHERE t.status = 'open' AND t.kind = 'routine' AND t.due_at < ? ORDER BY t.due_at LIMIT ?");
    q.i64(to_unix_ms(now)).i64(limit);
    std::vector<TaskRow> out;
    while (q.next()) out.push_back(read_task(q));
    return out;
  }
  void mark_task_missed(std::int64_t id, const std::string& flag_colour) override {
    Q(db_, "UPDATE test_tasks SET status = 'missed', flag_colour = ? WHERE id = ? AND status = 'open'")
        .text(flag_colour)
        .i64(id)
        .run();
  }

  std::int64_t insert_antigen(AntigenRow& a) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO antigen_tests (person_id, result, taken_at, recorded_at, by_user, task_id) "
                 "VALUES (?, ?, ?, ?, ?, ?)",
                 "id"));
    q.i64(a.person_id).text(a.result).i64(to_unix_ms(a.taken_at)).i64(to_unix_ms(a.recorded_at)).i64(a.by_user);
    q.i64(a.task_id);
    a.id = q.inserted_id();
    return a.id;
  }
  std::vector<AntigenRow> antigen_of_person(std::int64_t person_id, int limit) override {
    Q q(db_, "SELECT id, person_id, result, taken_at, recorded_at, by_user, task_id FROM antigen_tests "
             "WHERE person_id = ? ORDER BY taken_at DESC, id DESC LIMIT ?");
    q.i64(person_id).i64(limit);
    std::vector<AntigenRow> out;
    while (q.next()) {
      Cols c(q);
      AntigenRow a;
      a.id = c.i64();
      a.person_id = c.i64();
      a.result = c.str();
      a.taken_at = c.at();
      a.recorded_at = c.at();
      a.by_user = c.i64();
      a.task_id = c.i64();
      out.push_back(a);
    }
    return out;
  }

  // ------------------------------------------------------------ alerts and cases
  bool raise_alert(TestAlertRow& a) override {
    const auto n = Q(db_, "INSERT INTO test_alerts (kind, severity, subject, person_id, tube_id, box_id, area_code, "
                          "lab_org_id, detail, raised_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open') "
                          "ON CONFLICT (kind, subject) DO NOTHING")
                       .text(a.kind)
                       .text(a.severity)
                       .text(a.subject)
                       .i64(a.person_id)
                       .i64(a.tube_id)
                       .i64(a.box_id)
                       .text(a.area_code)
                       .i64(a.lab_org_id)
                       .text(a.detail)
                       .i64(to_unix_ms(a.raised_at))
                       .run();
    Q q(db_, "SELECT id FROM test_alerts WHERE kind = ? AND subject = ?");
    q.text(a.kind).text(a.subject);
    if (q.next()) a.id = q.int64(0);
    return n > 0;
  }
  PageOf<TestAlertRow> alerts(const std::string& status, const Scope& scope, Page page,
                              std::int64_t after_id = 0) override {
    Conds w;
    w.scope(scope, "area_code", "lab_org_id");
    if (after_id > 0) {
      w.i(after_id);
      w.add("id > ?");
    }
    if (!status.empty()) {
      w.t(status);
      w.add("status = ?");
    }
    return page_desc<TestAlertRow>(db_, std::string("SELECT ") + kAlertCols + " FROM test_alerts", "id", w, page,
                                   read_alert);
  }
  std::optional<TestAlertRow> alert(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kAlertCols + " FROM test_alerts WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_alert(q);
  }
  void settle_alert(std::int64_t id, Instant at) override {
    Q(db_, "UPDATE test_alerts SET status = 'settled', settled_at = ? WHERE id = ? AND status = 'open'")
        .i64(to_unix_ms(at))
        .i64(id)
        .run();
  }
  std::int64_t insert_case(CaseRow& c) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO cases (person_id, area_code, source, result_id, tube_id, classification, status, "
                 "opened_at, opened_by, note, first_positive_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.i64(c.person_id).text(c.area_code).text(c.source).i64(c.result_id).i64(c.tube_id).text(c.classification);
    q.text(c.status).i64(to_unix_ms(c.opened_at)).i64(c.opened_by).text(c.note);
    bind_opt_at(q, c.first_positive_at);
    c.id = q.inserted_id();
    return c.id;
  }
  std::optional<CaseRow> open_case_of(std::int64_t person_id) override {
    Q q(db_, std::string("SELECT ") + kCaseCols + " FROM cases WHERE person_id = ? AND status = 'open' ORDER BY id LIMIT 1");
    q.i64(person_id);
    if (!q.next()) return std::nullopt;
    return read_case(q);
  }
  PageOf<CaseRow> cases(const Scope& scope, Page page) override {
    Conds w;
    w.scope(scope, "area_code", "");
    return page_desc<CaseRow>(db_, std::string("SELECT ") + kCaseCols + " FROM cases", "id", w, page, read_case);
  }

  // ------------------------------------------------------------ coverage
  std::vector<CoverageCell> coverage(const RoundRow& r) override {
    if (db_.backend() == Backend::sqlite) return coverage_streamed(r);
    std::map<std::string, CoverageCell> cells;
    auto range = subtree_range(r.area_code);
    const std::string hi = range.hi.empty() ? std::string("\x7f") : range.hi;
    auto cell = [&](const std::string& code) -> CoverageCell& {
      auto& c = cells[code];
      c.area_code = code;
      return c;
    };
    // Persons: expected, excluded, sampled, resulted, positive by grid.
    {
      Q q(db_,
          "SELECT p.area_code, COUNT(*), "
          "SUM(CASE WHEN x.person_id IS NOT NULL THEN 1 ELSE 0 END), "
          "SUM(CASE WHEN x.person_id IS NULL AND s.person_id IS NOT NULL THEN 1 ELSE 0 END), "
          "SUM(CASE WHEN x.person_id IS NULL AND s.resulted = 1 THEN 1 ELSE 0 END), "
          "SUM(CASE WHEN x.person_id IS NULL AND s.positive = 1 THEN 1 ELSE 0 END) "
          "FROM persons p "
          "LEFT JOIN round_exclusions x ON x.round_id = ? AND x.person_id = p.id "
          "LEFT JOIN (SELECT m.person_id, MAX(CASE WHEN t.result <> '' THEN 1 ELSE 0 END) AS resulted, "
          "  MAX(CASE WHEN t.result IN ('positive', 'inconclusive') THEN 1 ELSE 0 END) AS positive "
          "  FROM tube_members m JOIN tubes t ON t.id = m.tube_id WHERE m.round_id = ? GROUP BY m.person_id) s "
          "  ON s.person_id = p.id "
          "WHERE p.area_code >= ? AND p.area_code < ? AND p.merged_into IS NULL GROUP BY p.area_code");
      q.i64(r.id).i64(r.id).text(range.lo).text(hi);
      while (q.next()) {
        auto& c = cell(q.str(0));
        c.excluded = q.int64(2);
        c.expected = q.int64(1) - c.excluded;
        c.sampled = q.int64(3);
        c.resulted = q.int64(4);
        c.positive = q.int64(5);
      }
    }
    // Households: every expected member sampled, some, none (by the household's first grid).
    {
      Q q(db_,
          "SELECT area, SUM(CASE WHEN s = n THEN 1 ELSE 0 END), SUM(CASE WHEN s > 0 AND s < n THEN 1 ELSE 0 END), "
          "SUM(CASE WHEN s = 0 THEN 1 ELSE 0 END) FROM ("
          "  SELECT p.household_id, MIN(p.area_code) AS area, COUNT(*) AS n, COUNT(s.person_id) AS s "
          "  FROM persons p "
          "  LEFT JOIN round_exclusions x ON x.round_id = ? AND x.person_id = p.id "
          "  LEFT JOIN (SELECT DISTINCT person_id FROM tube_members WHERE round_id = ?) s ON s.person_id = p.id "
          "  WHERE p.area_code >= ? AND p.area_code < ? AND p.merged_into IS NULL AND p.household_id IS NOT NULL "
          "    AND x.person_id IS NULL "
          "  GROUP BY p.household_id) h GROUP BY area");
      q.i64(r.id).i64(r.id).text(range.lo).text(hi);
      while (q.next()) {
        auto& c = cell(q.str(0));
        c.households_full = q.int64(1);
        c.households_partial = q.int64(2);
        c.households_none = q.int64(3);
      }
    }
    std::vector<CoverageCell> out;
    out.reserve(cells.size());
    for (auto& [k, v] : cells) out.push_back(std::move(v));
    return out;
  }
  // SQLite: the same cells from three streamed reads aggregated here, in place of two GROUP BY
  // passes whose sorters and materialised joins over every resident took 157 s at 25 M persons
  // (bench/RESULTS.md, "25 M-person testing round"). PostgreSQL keeps the aggregate queries: its
  // driver buffers a whole result, and its hash aggregates are fast.
  //   1. the round's members with their tubes' results -> flags by person id;
  //   2. the round's exclusions -> a flag;
  //   3. the residents of the round's area (the persons_area index, in area order) with their
  //      household -> counts per grid, and one entry per run of a household for step 4;
  //   4. the household entries sorted: full, partial, none by the household's first grid.
  std::vector<CoverageCell> coverage_streamed(const RoundRow& r) {
    auto range = subtree_range(r.area_code);
    const std::string hi = range.hi.empty() ? std::string("\x7f") : range.hi;
    constexpr std::uint8_t kSampled = 1, kResulted = 2, kPositive = 4, kExcluded = 8;
    std::int64_t max_id = 0;
    {
      Q q(db_, "SELECT COALESCE(MAX(id), 0) FROM persons");
      if (q.next()) max_id = q.int64(0);
    }
    // Flags by person id: a dense array while ids are (SQLite rowids of a registry are), else a map.
    const bool dense = max_id >= 0 && max_id < (std::int64_t{1} << 28);
    std::vector<std::uint8_t> flag_vec(dense ? static_cast<std::size_t>(max_id) + 1 : 0, 0);
    std::unordered_map<std::int64_t, std::uint8_t> flag_map;
    auto mark = [&](std::int64_t id, std::uint8_t f) {
      if (dense) {
        if (id >= 0 && id <= max_id) flag_vec[static_cast<std::size_t>(id)] |= f;
      } else {
        flag_map[id] |= f;
      }
    };
    auto flags = [&](std::int64_t id) -> std::uint8_t {
      if (dense) return id >= 0 && id <= max_id ? flag_vec[static_cast<std::size_t>(id)] : 0;
      auto it = flag_map.find(id);
      return it == flag_map.end() ? 0 : it->second;
    };
    {
      // A member's round is its tube's round (sampling writes the tube's round on each member).
      Q q(db_, "SELECT m.person_id, t.result FROM tubes t JOIN tube_members m ON m.tube_id = t.id "
               "WHERE t.round_id = ?");
      q.i64(r.id);
      while (q.next()) {
        const std::string res = q.str(1);
        std::uint8_t f = kSampled;
        if (!res.empty()) f |= kResulted;
        if (res == "positive" || res == "inconclusive") f |= kPositive;
        mark(q.int64(0), f);
      }
    }
    {
      Q q(db_, "SELECT person_id FROM round_exclusions WHERE round_id = ?");
      q.i64(r.id);
      while (q.next()) mark(q.int64(0), kExcluded);
    }
    struct Household {
      std::int64_t id;
      std::uint32_t cell;  // the grid of its first expected member in area order
      std::uint32_t n, sampled;
    };
    std::vector<CoverageCell> out;
    std::vector<Household> hh;
    {
      Q q(db_, "SELECT id, area_code, household_id FROM persons "
               "WHERE area_code >= ? AND area_code < ? AND merged_into IS NULL");
      q.text(range.lo).text(hi);
      std::map<std::string, std::uint32_t> cell_of;  // for area codes that come back out of order
      std::uint32_t cell = 0;
      bool any = false;
      while (q.next()) {
        const std::int64_t id = q.int64(0);
        std::string area = q.str(1);
        if (!any || out[cell].area_code != area) {
          auto [it, fresh] = cell_of.emplace(area, static_cast<std::uint32_t>(out.size()));
          if (fresh) {
            out.emplace_back();
            out.back().area_code = std::move(area);
          }
          cell = it->second;
          any = true;
        }
        auto& c = out[cell];
        const std::uint8_t f = flags(id);
        if (f & kExcluded) {
          ++c.excluded;
          continue;
        }
        ++c.expected;
        if (f & kSampled) ++c.sampled;
        if (f & kResulted) ++c.resulted;
        if (f & kPositive) ++c.positive;
        if (q.null_at(2)) continue;
        const std::int64_t h = q.int64(2);
        const std::uint32_t s = (f & kSampled) ? 1 : 0;
        if (!hh.empty() && hh.back().id == h) {
          ++hh.back().n;
          hh.back().sampled += s;
          if (out[hh.back().cell].area_code > out[cell].area_code) hh.back().cell = cell;
        } else {
          hh.push_back({h, cell, 1, s});
        }
      }
    }
    // A household's members are one run in area order unless they live in different grids.
    std::sort(hh.begin(), hh.end(), [](const Household& a, const Household& b) { return a.id < b.id; });
    for (std::size_t i = 0; i < hh.size();) {
      Household h = hh[i];
      std::size_t j = i + 1;
      for (; j < hh.size() && hh[j].id == h.id; ++j) {
        h.n += hh[j].n;
        h.sampled += hh[j].sampled;
        if (out[hh[j].cell].area_code < out[h.cell].area_code) h.cell = hh[j].cell;
      }
      auto& c = out[h.cell];
      if (h.sampled == h.n)
        ++c.households_full;
      else if (h.sampled > 0)
        ++c.households_partial;
      else
        ++c.households_none;
      i = j;
    }
    std::sort(out.begin(), out.end(), [](const CoverageCell& a, const CoverageCell& b) { return a.area_code < b.area_code; });
    return out;
  }
  PageOf<MissingPerson> missing(const RoundRow& r, const std::string& area_prefix, Page page) override {
    check_page(page);
    auto range = subtree_range(area_prefix);
    const std::string hi = range.hi.empty() ? std::string("\x7f") : range.hi;
    Q q(db_,
        "SELECT p.id, p.name, p.doc_number, p.phone, p.address, p.area_code, COALESCE(p.household_id, 0) "
        "FROM persons p WHERE p.area_code >= ? AND p.area_code < ? AND p.merged_into IS NULL AND p.id > ? "
        "AND NOT EXISTS (SELECT 1 FROM tube_members m WHERE m.round_id = ? AND m.person_id = p.id) "
        "AND NOT EXISTS (SELECT 1 FROM round_exclusions x WHERE x.round_id = ? AND x.person_id = p.id) "
        "ORDER BY p.id LIMIT ?");
    q.text(range.lo).text(hi).i64(page.after).i64(r.id).i64(r.id).i64(page.limit + 1);
    PageOf<MissingPerson> out;
    while (q.next()) {
      Cols c(q);
      MissingPerson m;
      m.person_id = c.i64();
      m.name = c.str();
      m.doc_number = c.str();
      m.phone = c.str();
      m.address = c.str();
      m.area_code = c.str();
      m.household_id = c.i64();
      out.items.push_back(std::move(m));
    }
    if (static_cast<int>(out.items.size()) > page.limit) {
      out.items.resize(static_cast<std::size_t>(page.limit));
      out.next = out.items.back().person_id;
    }
    return out;
  }
  // ------------------------------------------------------------ planned tests of control orders
  std::vector<OrderTestRow> order_tests(const OrderTestQuery& oq, const Scope& scope, std::int64_t after,
                                        int limit) override {
    if (limit < 1 || limit > 5000) fail(ErrorCode::invalid_argument, "limit must be between 1 and 5000", "limit");
    const std::string day = date_text(oq.day);
    Conds w;
    w.add("o.status = 'active'");
    // The plan names the day (a test date, or a phase bound: the service parses the plan).
    w.t("%\"" + day + "\"%");
    w.add("o.plan_json LIKE ?");
    w.i(after);
    w.add("o.id > ?");
    if (scope.kind == Scope::Kind::org) {
      if (scope.org_id == 0) {
        w.add("1 = 0");
      } else {
        w.i(scope.org_id);
        w.add("o.owner_kind = 'org' AND o.owner_org = ?");
      }
    } else if (scope.kind == Scope::Kind::area) {
      if (scope.area_prefix.empty()) {
        w.add("1 = 0");
      } else {
        const auto r = subtree_range(scope.area_prefix);
        auto in = [&](const std::string& col) {
          w.t(r.lo);
          if (r.hi.empty()) return col + " >= ?";
          w.t(r.hi);
          return col + " >= ? AND " + col + " < ?";
        };
        const std::string a = in("o.owner_area");
        const std::string g = in("g.area_code");
        w.add("(o.owner_kind = 'area' AND " + a + ") OR (o.owner_kind = 'org' AND " + g + ")");
      }
    }
    if (oq.holder_kind == "org") {
      w.i(oq.holder_org);
      w.add("o.owner_kind = 'org' AND o.owner_org = ?");
    } else if (oq.holder_kind == "area") {
      w.t(oq.holder_area);
      w.add("o.owner_kind = 'area' AND o.owner_area = ?");
    }
    Q q(db_,
        "SELECT o.id, o.person_id, p.name, p.doc_number, p.phone, p.address, p.area_code, COALESCE(p.household_id, 0), "
        "o.group_key, o.stage, o.owner_kind, o.owner_org, o.owner_area, COALESCE(g.name, ''), COALESCE(g.area_code, ''), "
        "o.plan_json, COALESCE(t.result, ''), t.ct, t.recorded_at, "
        "(SELECT MAX(m.sampled_at) FROM tube_members m WHERE m.person_id = o.person_id AND m.sampled_at >= ? "
        "AND m.sampled_at < ?), "
        "(SELECT COUNT(*) FROM alerts a WHERE a.order_id = o.id AND a.kind = 'test_missing' AND a.subject = ? "
        "AND a.status <> 'closed') "
        "FROM control_orders o JOIN persons p ON p.id = o.person_id "
        "LEFT JOIN orgs g ON o.owner_kind = 'org' AND g.id = o.owner_org "
        "LEFT JOIN order_tests t ON t.order_id = o.id AND t.day = ?" +
            w.sql + " ORDER BY o.id LIMIT ?");
    q.i64(to_unix_ms(oq.day_from)).i64(to_unix_ms(oq.day_to)).text("test:" + day).text(day);
    w.bind(q);
    q.i64(limit);
    std::vector<OrderTestRow> out;
    while (q.next()) {
      Cols c(q);
      OrderTestRow r;
      r.order_id = c.i64();
      r.person_id = c.i64();
      r.person_name = c.str();
      r.doc_number = c.str();
      r.phone = c.str();
      r.address = c.str();
      r.person_area = c.str();
      r.household_id = c.i64();
      r.group = c.str();
      r.stage = c.str();
      r.owner_kind = c.str();
      r.owner_org = c.i64();
      r.owner_area = c.str();
      r.owner_name = c.str();
      r.owner_org_area = c.str();
      r.plan_json = c.str();
      r.result = c.str();
      const int ct = c.next();
      if (!q.null_at(ct)) r.ct = q.real(ct);
      Cols rest(q, ct + 1);
      r.recorded_at = rest.maybe_at();
      r.sampled_at = rest.maybe_at();
      r.alerted = rest.i64() > 0;
      out.push_back(std::move(r));
    }
    return out;
  }

  bool resident_of(const RoundRow& r, std::int64_t person_id) override {
    Q q(db_, "SELECT area_code FROM persons WHERE id = ? AND merged_into IS NULL");
    q.i64(person_id);
    return q.next() && in_subtree(q.str(0), r.area_code);
  }

 private:
  Repository& repo_;
  Db& db_;
};

}  // namespace

std::unique_ptr<NatRepository> open_nat_repository(Repository& repo) {
  return std::make_unique<SqlNatRepository>(repo);
}

}  // namespace bihuan::store
