// ImportRepository over the Db driver layer, sharing the connection of a Repository.
//
// Every table an import writes is described once (Spec: key columns, value columns, whether it
// has a rev column and an updated_at stamp); one engine writes rows of any of them: it reads
// the stored row by key, inserts or updates only the columns the file has, and records the
// inserted id or the previous values under the run. Revert reads those records back.
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <variant>

#include "core/area.hpp"
#include "core/error.hpp"
#include "store/db.hpp"
#include "store/import_repository.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

using nlohmann::json;
using Val = std::variant<std::monostate, std::int64_t, std::string>;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A column: 't' text, 'i' integer, 'r' reference (0 stored as NULL).
struct Col {
  const char* name;
  char type;
};

struct Spec {
  const char* entity;  // table name, also the entity recorded under the run
  std::vector<Col> keys;
  std::vector<Col> cols;  // value columns; the first `identity` of them must not change
  std::size_t identity = 0;
  bool rev = true;
  bool stamps = false;  // created_at / updated_at (persons)
};

const Spec kPersons{"persons",
                    {{"doc_type", 't'}, {"doc_number", 't'}, {"nationality", 't'}},
                    {{"name", 't'},
                     {"sex", 't'},
                     {"birth_date", 't'},
                     {"phone", 't'},
                     {"household_id", 'r'},
                     {"area_code", 't'},
                     {"address", 't'},
                     {"workplace_org_id", 'r'}},
                    3,
                    true,
                    true};
const Spec kHouseholds{"households",
                       {{"household_no", 't'}},
                       {{"building_id", 'r'}, {"area_code", 't'}, {"address", 't'}},
                       0,
                       true,
                       false};
const Spec kBuildings{"buildings", {{"address", 't'}}, {{"area_code", 't'}}, 0, false, false};
const Spec kVenues{"venues",
                   {{"code", 't'}},
                   {{"name", 't'},
                    {"type", 't'},
                    {"area_code", 't'},
                    {"address", 't'},
                    {"capacity", 'i'},
                    {"enclosed", 'i'}},
                   0,
                   true,
                   false};
const Spec kOrgs{"orgs",
                 {{"code", 't'}},
                 {{"name", 't'}, {"kind", 't'}, {"area_code", 't'}, {"address", 't'}, {"phone", 't'}},
                 0,
                 true,
                 false};

const Spec& spec_of(std::string_view entity) {
  for (const Spec* s : {&kPersons, &kHouseholds, &kBuildings, &kVenues, &kOrgs})
    if (entity == s->entity) return *s;
  fail(ErrorCode::internal, "unknown import entity " + std::string(entity));
}

Val ref(std::int64_t id) { return id == 0 ? Val{} : Val{id}; }

void bind_val(Q& q, const Val& v) {
  if (std::holds_alternative<std::int64_t>(v))
    q.i64(std::get<std::int64_t>(v));
  else if (std::holds_alternative<std::string>(v))
    q.text(std::get<std::string>(v));
  else
    q.null();
}

Val read(const Q& q, int c, char type) {
  if (type == 't') return q.str(c);
  if (type == 'r' && q.null_at(c)) return Val{};
  return q.int64(c);
}

json to_json(const Val& v) {
  if (std::holds_alternative<std::int64_t>(v)) return std::get<std::int64_t>(v);
  if (std::holds_alternative<std::string>(v)) return std::get<std::string>(v);
  return nullptr;
}

Val from_json(const json& j, char type) {
  if (j.is_null()) return type == 't' ? Val{std::string()} : Val{};
  if (type == 't') return j.get<std::string>();
  return j.get<std::int64_t>();
}

// One row to write: key values, value columns and which of them the file has.
struct RowVals {
  std::vector<Val> keys;
  std::vector<Val> cols;
  std::vector<bool> present;
};

enum class Outcome { inserted, updated, unchanged, conflict };

std::string date_text(Date d) { return d.ok() ? format_date(d) : std::string(); }

class SqlImportRepository final : public ImportRepository {
 public:
  explicit SqlImportRepository(Repository& repo) : db_(database_of(repo)) {}

  // ------------------------------------------------------------------ runs
  std::int64_t create_run(const ImportRun& r) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO import_runs (job_id, kind, mode, file_name, created_by, created_at, status, owner_host, "
                 "owner_pid, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                 "id"));
    q.i64(r.job_id).text(r.kind).text(r.mode).text(r.file_name).i64(r.created_by).i64(to_unix_ms(r.created_at));
    q.text(r.owner_host).i64(r.owner_pid).i64(to_unix_ms(r.created_at));
    return q.inserted_id();
  }

  void finish_run(const ImportRun& r) override {
    Q(db_,
      "UPDATE import_runs SET status = ?, finished_at = ?, total_rows = ?, accepted = ?, rejected = ?, inserted = ?, "
      "updated = ?, unchanged = ?, conflicts = ? WHERE id = ?")
        .text(r.status)
        .i64(to_unix_ms(r.finished_at.value_or(Instant{})))
        .i64(r.total_rows)
        .i64(r.accepted)
        .i64(r.rejected)
        .i64(r.inserted)
        .i64(r.updated)
        .i64(r.unchanged)
        .i64(r.conflicts)
        .i64(r.id)
        .run();
  }

  static constexpr const char* kRunCols =
      "id, job_id, kind, mode, file_name, created_by, created_at, finished_at, status, total_rows, accepted, "
      "rejected, inserted, updated, unchanged, conflicts, undone_at, undone_by, owner_host, owner_pid, heartbeat_at";

  static ImportRun read_run(const Q& q) {
    Cols c(q);
    ImportRun r;
    r.id = c.i64();
    r.job_id = c.i64();
    r.kind = c.str();
    r.mode = c.str();
    r.file_name = c.str();
    r.created_by = c.i64();
    r.created_at = c.at();
    r.finished_at = c.maybe_at();
    r.status = c.str();
    for (auto* n : {&r.total_rows, &r.accepted, &r.rejected, &r.inserted, &r.updated, &r.unchanged, &r.conflicts})
      *n = c.i64();
    r.undone_at = c.maybe_at();
    r.undone_by = c.i64();
    r.owner_host = c.str();
    r.owner_pid = c.i64();
    r.heartbeat_at = c.at();
    return r;
  }

  std::optional<ImportRun> run(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kRunCols + " FROM import_runs WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_run(q);
  }

  std::optional<ImportRun> run_of_job(std::int64_t job_id) override {
    Q q(db_, std::string("SELECT ") + kRunCols + " FROM import_runs WHERE job_id = ? ORDER BY id DESC");
    q.i64(job_id);
    if (job_id == 0 || !q.next()) return std::nullopt;
    return read_run(q);
  }

  PageOf<ImportRun> runs(std::int64_t created_by, Page page) override {
    return newest_first<ImportRun>(db_, std::string("SELECT ") + kRunCols + " FROM import_runs WHERE 1 = 1", created_by,
                                   page, read_run);
  }

  std::vector<RunningRun> running_runs() override {
    std::string sql = "SELECT ";
    for (std::string_view c : split_cols(kRunCols)) sql += "r." + std::string(c) + ", ";
    sql += "COALESCE(j.status, '') FROM import_runs r LEFT JOIN jobs j ON j.id = r.job_id AND r.job_id <> 0 "
           "WHERE r.status = 'running' ORDER BY r.id";
    Q q(db_, sql);
    std::vector<RunningRun> out;
    while (q.next()) out.push_back(RunningRun{read_run(q), q.str(21)});
    return out;
  }

  void heartbeat(std::int64_t run, Instant at) override {
    Q(db_, "UPDATE import_runs SET heartbeat_at = ? WHERE id = ?").i64(to_unix_ms(at)).i64(run).run();
  }

  static std::vector<std::string_view> split_cols(std::string_view cols) {
    std::vector<std::string_view> out;
    while (!cols.empty()) {
      auto comma = cols.find(',');
      auto c = cols.substr(0, comma);
      while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
      out.push_back(c);
      if (comma == std::string_view::npos) break;
      cols.remove_prefix(comma + 1);
    }
    return out;
  }

  // ------------------------------------------------------------------ writes
  UpsertStats write_persons(std::int64_t run, std::vector<Person>& ps, const std::vector<PersonFields>& fields,
                            const std::vector<std::int64_t>& lines, std::vector<ConflictFound>& conflicts) override {
    if (fields.size() != ps.size()) fail(ErrorCode::internal, "write_persons: one PersonFields per person");
    UpsertStats st;
    const std::int64_t now = now_ms();
    for (std::size_t i = 0; i < ps.size(); ++i) {
      Person& p = ps[i];
      const PersonFields& f = fields[i];
      if (p.doc_number.empty()) fail(ErrorCode::invalid_argument, "persons[" + std::to_string(i) + "].doc_number: required", "doc_number");
      RowVals r;
      r.keys = {std::string(to_string(p.doc_type)), p.doc_number, p.nationality};
      r.cols = {p.name,       std::string(to_string(p.sex)), date_text(p.birth_date), p.phone, ref(p.household_id),
                p.area_code, p.address,                     ref(p.workplace_org_id)};
      r.present = {true, true, true, f.phone, f.household, f.area, f.address, f.workplace};
      const std::int64_t stamp = p.updated_at == Instant{} ? now : to_unix_ms(p.updated_at);
      std::vector<std::string> differs;
      const Outcome o = write_row(run, kPersons, r, stamp, p.id, &differs);
      if (o == Outcome::conflict) {
        ConflictFound c{i, p.id, differs};
        record_conflict(run, p, c, i < lines.size() ? lines[i] : 0, now);
        conflicts.push_back(std::move(c));
        continue;
      }
      count(st, o);
    }
    return st;
  }

  UpsertStats write_households(std::int64_t run, std::vector<Household>& hs, const HouseholdFields& f) override {
    UpsertStats st;
    for (auto& h : hs) {
      RowVals r{{h.household_no}, {ref(h.building_id), h.area_code, h.address}, {f.building, true, true}};
      count(st, write_row(run, kHouseholds, r, 0, h.id, nullptr));
    }
    return st;
  }

  std::int64_t write_building(std::int64_t run, const Building& b) override {
    if (b.address.empty()) fail(ErrorCode::invalid_argument, "building address is required", "address");
    RowVals r{{b.address}, {b.area_code}, {true}};
    std::int64_t id = 0;
    write_row(run, kBuildings, r, 0, id, nullptr);
    return id;
  }

  UpsertStats write_venues(std::int64_t run, std::vector<Venue>& vs, const VenueFields& f) override {
    UpsertStats st;
    for (auto& v : vs) {
      RowVals r{{v.code},
                {v.name, std::string(to_string(v.type)), v.area_code, v.address, std::int64_t{v.capacity},
                 std::int64_t{v.enclosed ? 1 : 0}},
                {true, true, true, f.address, f.capacity, f.enclosed}};
      count(st, write_row(run, kVenues, r, 0, v.id, nullptr));
    }
    return st;
  }

  UpsertStats write_orgs(std::int64_t run, std::vector<Org>& os, const OrgFields& f) override {
    UpsertStats st;
    for (auto& o : os) {
      RowVals r{{o.code}, {o.name, std::string(to_string(o.kind)), o.area_code, o.address, o.phone},
                {true, true, true, f.address, f.phone}};
      count(st, write_row(run, kOrgs, r, 0, o.id, nullptr));
    }
    return st;
  }

  // ------------------------------------------------------------------ rollback and undo
  std::vector<std::string> undo_blockers(std::int64_t run, int limit) override {
    std::vector<std::string> out;
    auto collect = [&](const std::string& sql, const char* what, const std::string& why) {
      if (static_cast<int>(out.size()) >= limit) return;
      Q q(db_, sql);
      q.i64(run);
      while (q.next() && static_cast<int>(out.size()) < limit)
        out.push_back(std::string(what) + " " + std::to_string(q.int64(0)) + ": " + why);
    };
    // Rows changed since the run wrote them.
    for (const Spec* s : {&kPersons, &kHouseholds, &kVenues, &kOrgs})
      collect(std::string("SELECT t.id FROM import_run_rows r JOIN ") + s->entity +
                  " t ON t.id = r.row_id WHERE r.run_id = ? AND r.entity = '" + s->entity +
                  "' AND t.rev <> r.rev_after ORDER BY t.id",
              singular(s->entity), "changed since the import");
    // Rows the run inserted that other records refer to now.
    struct Link {
      const char* entity;  // inserted by the run
      const char* table;   // refers to it
      const char* column;
      const char* table_entity;  // the referring table's rows written by the same run do not count
    };
    static const std::vector<Link> links{
        {"persons", "control_orders", "person_id", nullptr},
        {"persons", "room_occupants", "person_id", nullptr},
        {"persons", "manifest_passengers", "person_id", nullptr},
        {"persons", "persons", "merged_into", nullptr},
        {"persons", "person_merges", "kept_id", nullptr},
        {"persons", "person_merges", "merged_id", nullptr},
        {"persons", "identity_conflicts", "person_id", nullptr},
        {"households", "persons", "household_id", "persons"},
        {"buildings", "households", "building_id", "households"},
        {"orgs", "persons", "workplace_org_id", "persons"},
        {"orgs", "users", "scope_org", nullptr},
        {"orgs", "quarantine_rooms", "org_id", nullptr},
        {"orgs", "arrival_manifests", "port_org", nullptr},
        {"orgs", "control_orders", "owner_org", nullptr},
        {"orgs", "control_orders", "pending_org", nullptr},
    };
    for (const auto& l : links) {
      std::string sql = std::string("SELECT DISTINCT r.row_id FROM import_run_rows r JOIN ") + l.table + " t ON t." +
                        l.column + " = r.row_id WHERE r.run_id = ? AND r.entity = '" + l.entity +
                        "' AND r.action = 'insert'";
      if (l.table_entity)
        sql += std::string(" AND NOT EXISTS (SELECT 1 FROM import_run_rows x WHERE x.run_id = r.run_id AND x.entity = '") +
               l.table_entity + "' AND x.row_id = t.id)";
      sql += " ORDER BY r.row_id";
      collect(sql, singular(l.entity), std::string("referenced by ") + l.table + "." + l.column + " since the import");
    }
    return out;
  }

  std::int64_t revert_rows(std::int64_t run, int limit) override {
    // Changed rows first (an updated person may point at a household the run inserted), then
    // inserted rows from the referring tables to the referred ones.
    static const std::vector<std::pair<const char*, const char*>> phases{
        {"update", "persons"},    {"update", "households"}, {"update", "buildings"}, {"update", "venues"},
        {"update", "orgs"},       {"insert", "persons"},    {"insert", "households"}, {"insert", "buildings"},
        {"insert", "venues"},     {"insert", "orgs"}};
    for (const auto& [action, entity] : phases) {
      struct Item {
        std::int64_t id;
        std::string previous;
      };
      std::vector<Item> items;
      {
        Q q(db_, "SELECT row_id, previous FROM import_run_rows WHERE run_id = ? AND entity = ? AND action = ? "
                 "ORDER BY row_id LIMIT ?");
        q.i64(run).text(entity).text(action).i64(limit);
        while (q.next()) items.push_back({q.int64(0), q.str(1)});
      }
      if (items.empty()) continue;
      const Spec& s = spec_of(entity);
      const bool insert = std::string_view(action) == "insert";
      for (const auto& it : items) {
        if (insert) {
          try {
            Q(db_, std::string("DELETE FROM ") + s.entity + " WHERE id = ?").i64(it.id).run();
          } catch (const Error& e) {
            fail(ErrorCode::conflict,
                 std::string(singular(s.entity)) + " " + std::to_string(it.id) + " is referenced by other records: " + e.what(),
                 "id");
          }
        } else {
          restore(s, it.id, it.previous);
        }
        Q(db_, "DELETE FROM import_run_rows WHERE run_id = ? AND entity = ? AND row_id = ?")
            .i64(run)
            .text(entity)
            .i64(it.id)
            .run();
      }
      return static_cast<std::int64_t>(items.size());
    }
    Q(db_, "DELETE FROM identity_conflicts WHERE run_id = ? AND status = 'open'").i64(run).run();
    return 0;
  }

  std::int64_t run_rows(std::int64_t run) override {
    Q q(db_, "SELECT count(*) FROM import_run_rows WHERE run_id = ?");
    q.i64(run);
    return q.next() ? q.int64(0) : 0;
  }

  void mark_undone(std::int64_t run, std::int64_t by, Instant at) override {
    if (Q(db_, "UPDATE import_runs SET status = 'undone', undone_at = ?, undone_by = ? WHERE id = ? AND status = 'committed'")
            .i64(to_unix_ms(at))
            .i64(by)
            .i64(run)
            .run() == 0)
      fail(ErrorCode::conflict, "import run " + std::to_string(run) + " is not a committed run", "id");
  }

  // ------------------------------------------------------------------ conflicts
  static constexpr const char* kConflictCols =
      "c.id, c.run_id, c.person_id, c.row_no, c.fields, c.imported, c.status, c.created_at, c.resolved_by, c.resolved_at";

  static IdentityConflict read_conflict(const Q& q) {
    Cols col(q);
    IdentityConflict c;
    c.id = col.i64();
    c.run_id = col.i64();
    c.person_id = col.i64();
    c.row = col.i64();
    const std::string fields = col.str();
    for (std::size_t pos = 0; pos < fields.size();) {
      auto comma = fields.find(',', pos);
      if (comma == std::string::npos) comma = fields.size();
      c.fields.push_back(fields.substr(pos, comma - pos));
      pos = comma + 1;
    }
    const json j = json::parse(col.str(), nullptr, false);
    if (j.is_object()) {
      c.imported.doc_type = doc_type_from(j.value("doc_type", "")).value_or(DocType::resident_id);
      c.imported.doc_number = j.value("doc_number", "");
      c.imported.nationality = j.value("nationality", "");
      c.imported.name = j.value("name", "");
      c.imported.sex = sex_from(j.value("sex", "")).value_or(Sex::male);
      c.imported.birth_date = parse_date(j.value("birth_date", "")).value_or(Date{});
      c.imported.phone = j.value("phone", "");
      c.imported.area_code = j.value("area_code", "");
      c.imported.address = j.value("address", "");
      c.manifest_id = j.value("manifest_id", std::int64_t{0});
      c.seat = j.value("seat", "");
      c.arrival_group = j.value("arrival_group", "");
    }
    c.status = col.str();
    c.created_at = col.at();
    c.resolved_by = col.i64();
    c.resolved_at = col.maybe_at();
    return c;
  }

  // Scope on the registered person p (as the Repository scopes persons).
  static std::string scope_sql(const Scope& s, std::vector<Val>& params) {
    switch (s.kind) {
      case Scope::Kind::all: return "1 = 1";
      case Scope::Kind::area: {
        if (s.area_prefix.empty()) return "1 = 0";
        auto r = subtree_range(s.area_prefix);
        params.emplace_back(r.lo);
        if (r.hi.empty()) return "p.area_code >= ?";
        params.emplace_back(r.hi);
        return "p.area_code >= ? AND p.area_code < ?";
      }
      case Scope::Kind::org:
        if (s.org_id == 0) return "1 = 0";
        params.emplace_back(s.org_id);
        return "p.workplace_org_id = ?";
    }
    return "1 = 0";
  }

  PageOf<IdentityConflict> conflicts(const Scope& scope, bool open_only, Page page) override {
    if (page.limit < 1 || page.limit > 1000)
      fail(ErrorCode::invalid_argument, "page limit must be between 1 and 1000", "limit");
    std::vector<Val> params;
    std::string sql = std::string("SELECT ") + kConflictCols +
                      " FROM identity_conflicts c JOIN persons p ON p.id = c.person_id WHERE " + scope_sql(scope, params);
    if (open_only) sql += " AND c.status = 'open'";
    if (page.after > 0) {
      sql += " AND c.id > ?";
      params.emplace_back(page.after);
    }
    sql += " ORDER BY c.id LIMIT ?";
    params.emplace_back(std::int64_t{page.limit + 1});
    Q q(db_, sql);
    for (const auto& v : params) bind_val(q, v);
    PageOf<IdentityConflict> out;
    while (q.next()) out.items.push_back(read_conflict(q));
    if (static_cast<int>(out.items.size()) > page.limit) {
      out.items.resize(static_cast<std::size_t>(page.limit));
      out.next = out.items.back().id;
    }
    return out;
  }

  std::optional<IdentityConflict> conflict(std::int64_t id, const Scope& scope) override {
    std::vector<Val> params;
    const std::string where = scope_sql(scope, params);
    Q q(db_, std::string("SELECT ") + kConflictCols +
                 " FROM identity_conflicts c JOIN persons p ON p.id = c.person_id WHERE c.id = ? AND " + where);
    q.i64(id);
    for (const auto& v : params) bind_val(q, v);
    if (!q.next()) return std::nullopt;
    return read_conflict(q);
  }

  void resolve_conflict(std::int64_t id, bool take_imported, std::int64_t by, Instant at, const Scope& scope) override {
    auto c = conflict(id, scope);
    if (!c) fail(ErrorCode::not_found, "no such conflict: " + std::to_string(id), "id");
    if (c->status != "open") fail(ErrorCode::conflict, "conflict " + std::to_string(id) + " is already resolved", "id");
    if (take_imported) {
      const auto n = Q(db_,
                       "UPDATE persons SET name = ?, sex = ?, birth_date = ?, updated_at = ?, rev = rev + 1 "
                       "WHERE id = ? AND merged_into IS NULL")
                         .text(c->imported.name)
                         .text(to_string(c->imported.sex))
                         .text(date_text(c->imported.birth_date))
                         .i64(to_unix_ms(at))
                         .i64(c->person_id)
                         .run();
      if (n == 0) fail(ErrorCode::conflict, "the registered record was merged into another", "id");
    }
    close_conflict(id, take_imported ? "taken" : "kept", by, at);
  }

  void reject_conflict(std::int64_t id, std::int64_t by, Instant at, const Scope& scope) override {
    auto c = conflict(id, scope);
    if (!c) fail(ErrorCode::not_found, "no such conflict: " + std::to_string(id), "id");
    if (c->status != "open") fail(ErrorCode::conflict, "conflict " + std::to_string(id) + " is already resolved", "id");
    close_conflict(id, "rejected", by, at);
  }

  std::int64_t add_conflict(std::int64_t run, std::int64_t person_id, std::int64_t line,
                            const std::vector<std::string>& fields, const Person& imported, std::int64_t manifest_id,
                            const std::string& seat, Instant at, const std::string& arrival_group = {}) override {
    ConflictFound c;
    c.person_id = person_id;
    c.fields = fields;
    return record_conflict(run, imported, c, line, to_unix_ms(at), manifest_id, seat, arrival_group);
  }

 private:
  static const char* singular(std::string_view entity) {
    if (entity == "persons") return "person";
    if (entity == "households") return "household";
    if (entity == "buildings") return "building";
    if (entity == "venues") return "venue";
    return "organisation";
  }

  static void count(UpsertStats& st, Outcome o) {
    switch (o) {
      case Outcome::inserted: ++st.inserted; break;
      case Outcome::updated: ++st.updated; break;
      case Outcome::unchanged:
      case Outcome::conflict: ++st.unchanged; break;
    }
  }

  struct SpecSql {
    std::string select, insert, update, restore, record;
  };

  const SpecSql& sql_of(const Spec& s) {
    auto it = sql_.find(s.entity);
    if (it != sql_.end()) return it->second;
    SpecSql out;
    std::string keys, cols, names, marks, sets;
    for (const auto& k : s.keys) {
      keys += std::string(keys.empty() ? "" : " AND ") + k.name + " = ?";
      names += std::string(names.empty() ? "" : ", ") + k.name;
      marks += std::string(marks.empty() ? "" : ", ") + "?";
    }
    for (const auto& c : s.cols) {
      cols += std::string(", ") + c.name;
      names += std::string(", ") + c.name;
      marks += ", ?";
      sets += std::string(sets.empty() ? "" : ", ") + c.name + " = ?";
    }
    if (s.stamps) {
      names += ", created_at, updated_at";
      marks += ", ?, ?";
      sets += ", updated_at = ?";
    }
    if (s.rev) sets += ", rev = rev + 1";
    out.select = std::string("SELECT id, ") + (s.rev ? "rev" : "0") + (s.stamps ? ", updated_at" : ", 0") + cols +
                 " FROM " + s.entity + " WHERE " + keys;
    out.insert = db_.dialect().insert_returning(std::string("INSERT INTO ") + s.entity + " (" + names + ") VALUES (" + marks + ")", "id");
    out.update = std::string("UPDATE ") + s.entity + " SET " + sets + " WHERE id = ?";
    out.restore = out.update;
    out.record =
        "INSERT INTO import_run_rows (run_id, entity, row_id, action, previous, rev_after) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (run_id, entity, row_id) DO NOTHING";
    return sql_.emplace(s.entity, std::move(out)).first->second;
  }

  Outcome write_row(std::int64_t run, const Spec& s, RowVals& r, std::int64_t stamp, std::int64_t& id,
                    std::vector<std::string>* differs) {
    const SpecSql& sql = sql_of(s);
    std::int64_t stored_id = 0, stored_rev = 0, stored_stamp = 0;
    std::vector<Val> stored;
    {
      Q q(db_, sql.select);
      for (const auto& k : r.keys) bind_val(q, k);
      if (q.next()) {
        stored_id = q.int64(0);
        stored_rev = q.int64(1);
        stored_stamp = q.int64(2);
        for (std::size_t c = 0; c < s.cols.size(); ++c) stored.push_back(read(q, static_cast<int>(c) + 3, s.cols[c].type));
      }
    }
    if (stored_id == 0) {
      Q q(db_, sql.insert);
      for (const auto& k : r.keys) bind_val(q, k);
      for (std::size_t c = 0; c < s.cols.size(); ++c)
        bind_val(q, r.present[c] ? r.cols[c] : (s.cols[c].type == 't' ? Val{std::string()} : s.cols[c].type == 'i' ? Val{std::int64_t{0}} : Val{}));
      if (s.stamps) q.i64(stamp).i64(stamp);
      id = q.inserted_id();
      Q(db_, sql.record).i64(run).text(s.entity).i64(id).text("insert").text("").i64(s.rev ? 1 : 0).run();
      return Outcome::inserted;
    }
    id = stored_id;
    for (std::size_t c = 0; c < s.identity; ++c)
      if (stored[c] != r.cols[c] && differs) differs->push_back(s.cols[c].name);
    if (differs && !differs->empty()) return Outcome::conflict;
    bool changed = false;
    for (std::size_t c = 0; c < s.cols.size(); ++c) {
      if (!r.present[c]) r.cols[c] = stored[c];
      if (r.cols[c] != stored[c]) changed = true;
    }
    if (!changed) return Outcome::unchanged;
    json previous = json::object();
    for (std::size_t c = 0; c < s.cols.size(); ++c) previous[s.cols[c].name] = to_json(stored[c]);
    if (s.stamps) previous["updated_at"] = stored_stamp;
    if (s.rev) previous["rev"] = stored_rev;
    {
      Q q(db_, sql.update);
      for (const auto& v : r.cols) bind_val(q, v);
      if (s.stamps) q.i64(stamp);
      q.i64(stored_id);
      q.run();
    }
    Q(db_, sql.record)
        .i64(run)
        .text(s.entity)
        .i64(stored_id)
        .text("update")
        .text(previous.dump())
        .i64(s.rev ? stored_rev + 1 : 0)
        .run();
    return Outcome::updated;
  }

  // Puts the previous values back (rev moves on: it never repeats). The run that wrote those
  // values earlier (its rev_after is the rev they had) owns the row again, so that runs can be
  // undone newest first.
  void restore(const Spec& s, std::int64_t id, const std::string& previous) {
    const json p = json::parse(previous);
    {
      Q q(db_, sql_of(s).restore);
      for (const auto& c : s.cols) bind_val(q, from_json(p.value(c.name, json(nullptr)), c.type));
      if (s.stamps) q.i64(p.value("updated_at", std::int64_t{0}));
      q.i64(id);
      q.run();
    }
    if (!s.rev || !p.contains("rev")) return;
    std::int64_t now_rev = 0;
    {
      Q q(db_, std::string("SELECT rev FROM ") + s.entity + " WHERE id = ?");
      q.i64(id);
      if (q.next()) now_rev = q.int64(0);
    }
    Q(db_, "UPDATE import_run_rows SET rev_after = ? WHERE entity = ? AND row_id = ? AND rev_after = ?")
        .i64(now_rev)
        .text(s.entity)
        .i64(id)
        .i64(p.value("rev", std::int64_t{0}))
        .run();
  }

  void close_conflict(std::int64_t id, const char* status, std::int64_t by, Instant at) {
    if (Q(db_, "UPDATE identity_conflicts SET status = ?, resolved_by = ?, resolved_at = ? WHERE id = ? AND status = 'open'")
            .text(status)
            .i64(by)
            .i64(to_unix_ms(at))
            .i64(id)
            .run() == 0)
      fail(ErrorCode::conflict, "conflict " + std::to_string(id) + " is already resolved", "id");
  }

  std::int64_t record_conflict(std::int64_t run, const Person& p, const ConflictFound& c, std::int64_t line,
                               std::int64_t now, std::int64_t manifest_id = 0, const std::string& seat = {},
                               const std::string& arrival_group = {}) {
    std::string fields;
    for (const auto& f : c.fields) fields += (fields.empty() ? "" : ",") + f;
    json imported = {{"doc_type", to_string(p.doc_type)}, {"doc_number", p.doc_number},
                     {"nationality", p.nationality},      {"name", p.name},
                     {"sex", to_string(p.sex)},           {"birth_date", date_text(p.birth_date)},
                     {"phone", p.phone},                  {"area_code", p.area_code},
                     {"address", p.address}};
    if (manifest_id != 0) {
      imported["manifest_id"] = manifest_id;
      imported["seat"] = seat;
      if (!arrival_group.empty()) imported["arrival_group"] = arrival_group;
    }
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO identity_conflicts (run_id, person_id, row_no, fields, imported, status, created_at) "
                 "VALUES (?, ?, ?, ?, ?, 'open', ?)",
                 "id"));
    q.i64(run).i64(c.person_id).i64(line).text(fields).text(imported.dump(-1, ' ', false, json::error_handler_t::replace)).i64(now);
    return q.inserted_id();
  }

  Db& db_;
  std::map<std::string, SpecSql, std::less<>> sql_;
};

}  // namespace

std::unique_ptr<ImportRepository> open_import_repository(Repository& repo) {
  return std::make_unique<SqlImportRepository>(repo);
}

}  // namespace bihuan::store
