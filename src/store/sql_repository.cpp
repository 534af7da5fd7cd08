// The one Repository implementation, over the Db driver layer. SQL is written once with `?`
// placeholders; the few spots where SQLite and PostgreSQL differ go through Dialect.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_set>
#include <variant>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "core/vaccination.hpp"
#include "core/rbac.hpp"
#include "store/audit_queue.hpp"
#include "store/db.hpp"
#include "store/loop_repository.hpp"
#include "store/migrations.hpp"
#include "store/repository.hpp"
#include "store/scan_queue.hpp"
#include "store/sql_access.hpp"
#include "store/warning_repository.hpp"

namespace bihuan::store {

namespace {

// Every (table, column) that refers to a person and follows the person when two records are
// merged. A table added later that links to persons adds itself here; merge_persons re-points
// the rows and undo_merge puts them back. `key` identifies a row among the person's rows (an
// integer: the `id` primary key, or for a table keyed by (org_id, person_id) the org_id); the
// keys moved are recorded for undo. `stays`, when set, is a condition on a row of the merged
// record (one ? = the kept record) under which the row stays where it is because the kept
// record has the same already (a second active flag of one category, a second place on one
// staff roster would break the table's unique key); it is not lost: undo finds it untouched.
// (persons.household_id is the person's own membership and stays with the merged record.)
// `text_key`: the key is a text column (a resident session's token hash), recorded as a string.
// Every ? of `stays` is the kept record. The rows are read with `column <> 0` as well (no person
// is 0), which lets a partial index `WHERE column <> 0` serve the read on SQLite, and on
// PostgreSQL under a generic plan.
struct PersonLink {
  const char* table;
  const char* column;
  const char* key = "id";
  const char* stays = nullptr;
  bool text_key = false;
};
const std::vector<PersonLink>& person_links() {
  static const std::vector<PersonLink> links{
      {"persons", "merged_into"},  // records merged earlier into the merged one follow it
      {"control_orders", "person_id"},
      {"room_occupants", "person_id"},
      {"manifest_passengers", "person_id"},
      {"supply_requests", "person_id"},
      {"vulnerable_people", "person_id", "id",
       "vulnerable_people.cleared_at IS NULL AND EXISTS (SELECT 1 FROM vulnerable_people k WHERE k.person_id = ? "
       "AND k.category = vulnerable_people.category AND k.cleared_at IS NULL)"},
      {"enterprise_staff", "person_id", "org_id",
       "EXISTS (SELECT 1 FROM enterprise_staff k WHERE k.person_id = ? AND k.org_id = enterprise_staff.org_id)"},
      {"arrival_reports", "person_id"},
      // Cases and their care (issue 8): a case, its treatments and re-positive findings, the
      // contact lists it appears on (once per case: a contact the kept record is already on for
      // that case stays) and the contacts reached through the person.
      {"cases", "person_id"},
      {"treatments", "person_id"},
      {"repositives", "person_id"},
      {"case_contacts", "person_id", "id",
       "EXISTS (SELECT 1 FROM case_contacts k WHERE k.person_id = ? AND k.case_id = case_contacts.case_id)"},
      {"case_contacts", "via_person_id"},
      // Testing (issue 7): tube places (a tube the kept record is in already, or an open place in
      // a round where the kept record has one, stays), results, result conflicts, test tasks (a
      // routine task of a day the kept record has one for stays), antigen tests, alerts.
      {"tube_members", "person_id", "tube_id",
       "EXISTS (SELECT 1 FROM tube_members k WHERE k.person_id = ? AND (k.tube_id = tube_members.tube_id OR "
       "(tube_members.open = 1 AND tube_members.round_id <> 0 AND k.open = 1 AND k.round_id = tube_members.round_id)))"},
      {"lab_results", "person_id"},
      {"result_conflicts", "person_id"},
      {"test_tasks", "person_id", "id",
       "test_tasks.kind = 'routine' AND EXISTS (SELECT 1 FROM test_tasks k WHERE k.person_id = ? AND "
       "k.kind = 'routine' AND k.task_day = test_tasks.task_day)"},
      {"antigen_tests", "person_id"},
      {"test_alerts", "person_id"},
      // Residents' appeals (issue 10) and identity conflicts of imports and manifests.
      {"resident_appeals", "person_id"},
      {"identity_conflicts", "person_id"},
      // Venue scans (issue 8); vaccination doses (a dose number the kept record has already
      // stays; both records' vaccination status is computed again from their doses, see
      // restate_vaccination); round exclusions (a round the kept record is excluded from already
      // stays); referrals to other regions; residents' sign-in codes and sessions (a resident
      // signed in as the merged record goes on as the kept one; undo hands the session back).
      {"venue_scans", "person_id"},
      {"vaccination_doses", "person_id", "dose",
       "EXISTS (SELECT 1 FROM vaccination_doses k WHERE k.person_id = ? AND k.dose = vaccination_doses.dose)"},
      {"round_exclusions", "person_id", "round_id",
       "EXISTS (SELECT 1 FROM round_exclusions k WHERE k.person_id = ? AND k.round_id = round_exclusions.round_id)"},
      {"referrals", "person_id"},
      {"resident_otps", "person_id"},
      {"resident_sessions", "person_id", "token_hash", nullptr, true},
      // The outbox's messages about the person (their history follows them); a round's sampling
      // plan (issue 7): a unit of one person (planned alone, or one member of a household too
      // large for one slot) follows them unless the kept record has a slot in that round already,
      // as a person or through its household's unit (households' units name no person and stay);
      // the persons of signed referral letters (issue 8), sent or received.
      {"notify_messages", "person_id"},
      {"round_slot_units", "person_id", "id",
       "EXISTS (SELECT 1 FROM round_slot_units k WHERE k.round_id = round_slot_units.round_id AND (k.person_id = ? OR "
       "(k.person_id = 0 AND k.household_id IN (SELECT h.household_id FROM persons h WHERE h.id = ?))))"},
      {"referral_letter_persons", "person_id"},
  };
  return links;
}

// Binds a moved row's key as recorded in person_merges.moved (an integer, or a text key).
void bind_key(Q& q, const nlohmann::json& key) {
  if (key.is_string())
    q.text(key.get<std::string>());
  else
    q.i64(key.get<std::int64_t>());
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Bigger than any UTF-8 continuation of a prefix: U+10FFFF.
constexpr std::string_view kMaxChar = "\xF4\x8F\xBF\xBF";

std::string date_text(Date d) { return d.ok() ? format_date(d) : std::string(); }
Date date_from(const std::string& s) { return s.empty() ? Date{} : parse_date(s).value_or(Date{}); }

int check_limit(const Page& page) {
  if (page.limit < 1 || page.limit > 1000)
    fail(ErrorCode::invalid_argument, "page limit must be between 1 and 1000", "limit");
  if (page.after < 0) fail(ErrorCode::invalid_argument, "page cursor must not be negative", "after");
  return page.limit;
}

void check_area_code(const std::string& code, const std::string& field, bool required) {
  if (code.empty()) {
    if (required) fail(ErrorCode::invalid_argument, field + ": area code is required", field);
    return;
  }
  auto c = canonical_area_code(code);
  if (!c || *c != code)
    fail(ErrorCode::invalid_argument, field + ": '" + code + "' is not a canonical area code", field);
}

std::string at(const char* what, std::size_t i, const char* field) {
  return std::string(what) + "[" + std::to_string(i) + "]." + field;
}

// A WHERE clause built from conditions, with its parameters in order.
using Param = std::variant<std::monostate, std::int64_t, std::string>;
struct Where {
  std::vector<std::string> conds;
  std::vector<Param> params;
  void add(std::string cond) { conds.push_back(std::move(cond)); }
  void add(std::string cond, Param p) {
    conds.push_back(std::move(cond));
    params.push_back(std::move(p));
  }
  void add(std::string cond, Param p1, Param p2) {
    conds.push_back(std::move(cond));
    params.push_back(std::move(p1));
    params.push_back(std::move(p2));
  }
  void nothing() { conds.emplace_back("1 = 0"); }
  // `col` in the subtree of prefix (prefix "" = everything).
  void range(const std::string& col, std::string_view prefix) {
    if (prefix.empty()) return;
    auto r = subtree_range(prefix);
    add(col + " >= ? AND " + col + " < ?", r.lo, r.hi);
  }
  std::string sql() const {
    if (conds.empty()) return " WHERE 1 = 1";
    std::string s = " WHERE ";
    for (std::size_t i = 0; i < conds.size(); ++i) {
      if (i) s += " AND ";
      s += "(" + conds[i] + ")";
    }
    return s;
  }
  void bind(Q& q) const {
    for (const auto& p : params) {
      if (std::holds_alternative<std::int64_t>(p))
        q.i64(std::get<std::int64_t>(p));
      else if (std::holds_alternative<std::string>(p))
        q.text(std::get<std::string>(p));
      else
        q.null();
    }
  }
};

constexpr const char* kPersonCols =
    "p.id, p.doc_type, p.doc_number, p.nationality, p.name, p.sex, p.birth_date, p.phone, p.household_id, "
    "p.area_code, p.address, p.workplace_org_id, p.merged_into, p.created_at, p.updated_at, p.revision";

Person read_person(const Q& q) {
  Person p;
  p.id = q.int64(0);
  p.doc_type = doc_type_from(q.str(1)).value_or(DocType::resident_id);
  p.doc_number = q.str(2);
  p.nationality = q.str(3);
  p.name = q.str(4);
  p.sex = sex_from(q.str(5)).value_or(Sex::male);
  p.birth_date = date_from(q.str(6));
  p.phone = q.str(7);
  p.household_id = q.int64(8);
  p.area_code = q.str(9);
  p.address = q.str(10);
  p.workplace_org_id = q.int64(11);
  p.merged_into = q.int64(12);
  p.created_at = from_unix_ms(q.int64(13));
  p.updated_at = from_unix_ms(q.int64(14));
  p.revision = q.int64(15);
  return p;
}

constexpr const char* kHouseholdCols = "h.id, h.household_no, h.building_id, h.area_code, h.address";
Household read_household(const Q& q) {
  Household h;
  h.id = q.int64(0);
  h.household_no = q.str(1);
  h.building_id = q.int64(2);
  h.area_code = q.str(3);
  h.address = q.str(4);
  return h;
}

constexpr const char* kVenueCols = "v.id, v.code, v.name, v.type, v.area_code, v.address, v.capacity, v.enclosed";
Venue read_venue(const Q& q) {
  Venue v;
  v.id = q.int64(0);
  v.code = q.str(1);
  v.name = q.str(2);
  v.type = venue_type_from(q.str(3)).value_or(VenueType::other);
  v.area_code = q.str(4);
  v.address = q.str(5);
  v.capacity = static_cast<int>(q.int64(6));
  v.enclosed = q.int64(7) != 0;
  return v;
}

constexpr const char* kOrgCols = "o.id, o.code, o.name, o.kind, o.area_code, o.address, o.phone";
Org read_org(const Q& q) {
  Org o;
  o.id = q.int64(0);
  o.code = q.str(1);
  o.name = q.str(2);
  o.kind = org_kind_from(q.str(3)).value_or(OrgKind::enterprise);
  o.area_code = q.str(4);
  o.address = q.str(5);
  o.phone = q.str(6);
  return o;
}

constexpr const char* kUserCols =
    "id, username, display_name, password_hash, role, scope_area, scope_org, active, created_at";
User read_user(const Q& q) {
  User u;
  u.id = q.int64(0);
  u.username = q.str(1);
  u.display_name = q.str(2);
  u.password_hash = q.str(3);
  u.role = role_from(q.str(4)).value_or(Role::grid_worker);
  u.scope_area = q.str(5);
  u.scope_org = q.int64(6);
  u.active = q.int64(7) != 0;
  u.created_at = from_unix_ms(q.int64(8));
  return u;
}

constexpr const char* kAuditCols = "id, at, user_id, username, action, entity, entity_id, ip, reason, detail";
AuditRecord read_audit(const Q& q) {
  AuditRecord r;
  r.id = q.int64(0);
  r.at = from_unix_ms(q.int64(1));
  r.user_id = q.int64(2);
  r.username = q.str(3);
  r.action = q.str(4);
  r.entity = q.str(5);
  r.entity_id = q.int64(6);
  r.ip = q.str(7);
  r.reason = q.str(8);
  r.detail = q.str(9);
  return r;
}

constexpr const char* kMergeCols = "id, kept_id, merged_id, by_user, at, moved, undone";
MergeRecord read_merge(const Q& q) {
  MergeRecord m;
  m.id = q.int64(0);
  m.kept_id = q.int64(1);
  m.merged_id = q.int64(2);
  m.by_user = q.int64(3);
  m.at = from_unix_ms(q.int64(4));
  m.moved = q.str(5);
  m.undone = q.int64(6) != 0;
  return m;
}

// Upsert statements generated from one column list, so every table upserts the same way:
//   insert     INSERT ... ON CONFLICT (key) DO NOTHING          -> inserted (id known) or not
//   upsert     INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE (a compared column differs)
//                                                              -> 1 row changed = updated, 0 = unchanged
//   select_id  SELECT id ... WHERE key                          -> id of an updated/unchanged row
// A fresh import costs one statement per row. (SQLite's RETURNING made the per-row INSERT
// several times slower, so ids come from last_insert_rowid there.)
struct UpsertCol {
  enum Kind { key, compared, insert_only, touched };
  const char* name;
  Kind kind;
  bool nullable = false;
};
struct UpsertSql {
  std::string insert, upsert, select_id;
  std::string append;  // a plain INSERT (a bulk load without the key's unique index)
  // PostgreSQL's bulk path (tables keyed by id): COPY into a staging table, then one INSERT ...
  // ON CONFLICT DO UPDATE of every row (new rows inserted, changed rows updated) and one SELECT
  // of every row's id. Both probe the key's unique index row by row: join plans chosen from a
  // staging table's missing statistics scanned the whole table for every row.
  std::string bulk_create, bulk_truncate, bulk_copy, bulk_upsert, bulk_ids;
};
UpsertSql make_upsert(const Dialect& d, const std::string& table, const std::vector<UpsertCol>& cols,
                      const char* id_col, bool has_rev) {
  std::string names, marks, keys, sets, changed, where_key;
  auto sep = [](std::string& s, const char* by) {
    if (!s.empty()) s += by;
  };
  for (const auto& c : cols) {
    const std::string n = c.name;
    sep(names, ", ");
    names += n;
    sep(marks, ", ");
    marks += "?";
    if (c.kind == UpsertCol::key) {
      sep(keys, ", ");
      keys += n;
      sep(where_key, " AND ");
      where_key += n + " = ?";
    }
    if (c.kind == UpsertCol::compared || c.kind == UpsertCol::touched) {
      sep(sets, ", ");
      sets += n + " = excluded." + n;
    }
    if (c.kind == UpsertCol::compared) {
      sep(changed, " OR ");
      changed += c.nullable ? d.distinct(table + "." + n, "excluded." + n) : table + "." + n + " <> excluded." + n;
    }
  }
  if (has_rev) sets += ", rev = " + table + ".rev + 1";
  const std::string base = "INSERT INTO " + table + " (" + names + ") VALUES (" + marks + ") ON CONFLICT (" + keys + ") DO ";
  UpsertSql out;
  out.insert = d.insert_returning(base + "NOTHING", id_col);
  out.append = d.insert_returning("INSERT INTO " + table + " (" + names + ") VALUES (" + marks + ")", id_col);
  out.upsert = base + "UPDATE SET " + sets + " WHERE " + changed;
  out.select_id = std::string("SELECT ") + id_col + " FROM " + table + " WHERE " + where_key;
  if (d.backend == Backend::postgresql && std::string_view(id_col) == "id") {
    const std::string stage = "bulk_" + table;
    std::string b_names, t_match;
    for (const auto& c : cols) {
      const std::string n = c.name;
      sep(b_names, ", ");
      b_names += "b." + n;
      if (c.kind == UpsertCol::key) {
        sep(t_match, " AND ");
        t_match += "t." + n + " = b." + n;
      }
    }
    out.bulk_create = "CREATE TEMP TABLE IF NOT EXISTS " + stage + " AS SELECT CAST(0 AS BIGINT) AS ord, " + names +
                      " FROM " + table + " WITH NO DATA";
    out.bulk_truncate = "TRUNCATE " + stage;
    out.bulk_copy = stage + " (ord, " + names + ")";
    out.bulk_upsert = "INSERT INTO " + table + " (" + names + ") SELECT " + b_names + " FROM " + stage +
                      " b ORDER BY b.ord ON CONFLICT (" + keys + ") DO UPDATE SET " + sets + " WHERE " + changed +
                      " RETURNING (xmax = 0)::int";
    out.bulk_ids = "SELECT b.ord, (SELECT t.id FROM " + table + " t WHERE " + t_match + ") FROM " + stage + " b";
  }
  return out;
}

enum class Outcome { inserted, updated, unchanged };
void count(UpsertStats& st, Outcome o) {
  switch (o) {
    case Outcome::inserted: ++st.inserted; break;
    case Outcome::updated: ++st.updated; break;
    case Outcome::unchanged: ++st.unchanged; break;
  }
}

class SqlRepository final : public Repository {
 public:
  void set_sqlite_path(std::string path) { sqlite_path_ = std::move(path); }
  const std::string& sqlite_path() const { return sqlite_path_; }
  bool in_transaction() const { return depth_ != 0; }
  explicit SqlRepository(std::unique_ptr<Db> db) : db_(std::move(db)) {
    migrate(*db_);
    build_sql();
  }

  Db& db() { return *db_; }

  std::string backend() const override { return db_->backend() == Backend::sqlite ? "sqlite" : "postgresql"; }

  void transaction(const std::function<void()>& fn) override { tx(fn); }

  void hold_reads() override {
    if (depth_ == 0 && !bulk_) db_->hold_reads();
  }
  void end_reads() noexcept override { db_->end_reads(); }
  std::uint64_t held_snapshot() const override { return depth_ == 0 && !bulk_ ? db_->held_snapshot() : 0; }

  // ------------------------------------------------------------------ bulk load
  bool begin_bulk_load(std::int64_t cache_mib) override {
    if (depth_ != 0 || bulk_) fail(ErrorCode::internal, "a bulk load cannot start inside a transaction");
    {
      Q q(*db_, "SELECT 1 FROM persons LIMIT 1");
      if (q.next()) return false;
    }
    const bool sqlite = db_->backend() == Backend::sqlite;
    cache_mib = std::clamp<std::int64_t>(cache_mib, 16, 1 << 20);
    if (sqlite) {
      // Out of WAL mode (only possible while no other connection is open; otherwise the load
      // stays in WAL mode, which is slower but just as correct).
      db_->exec_script("PRAGMA journal_mode=MEMORY; PRAGMA cache_size=-" + std::to_string(cache_mib * 1024) +
                       "; PRAGMA threads=2;");
    }
    db_->begin();
    depth_ = 1;
    bulk_ = true;
    try {
      if (!sqlite) db_->exec_script("SET LOCAL maintenance_work_mem = '" + std::to_string(cache_mib) + "MB'");
      bulk_indexes_.clear();
      {
        // SQLite: the unique index of persons' key (persons_doc, v12) goes too: the rows are
        // then appended with plain INSERTs (upsert_persons) and the index is built once at the
        // end, which also finds any duplicate key. PostgreSQL keeps its unique indexes (the
        // COPY path upserts against them).
        Q q(*db_, sqlite ? "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND "
                           "tbl_name IN ('persons', 'households', 'buildings') ORDER BY name"
                         : "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
                           "AND i.tablename IN ('persons', 'households', 'buildings') AND NOT EXISTS (SELECT 1 FROM "
                           "pg_constraint c WHERE c.conname = i.indexname) AND i.indexdef NOT LIKE 'CREATE UNIQUE %' "
                           "ORDER BY i.indexname");
        while (q.next()) bulk_indexes_.emplace_back(q.str(0), q.str(1));
      }
      for (const auto& [name, sql] : bulk_indexes_) db_->exec_script("DROP INDEX " + name);
      bulk_plain_persons_ = std::any_of(bulk_indexes_.begin(), bulk_indexes_.end(),
                                        [](const auto& ix) { return ix.first == "persons_doc"; });
    } catch (...) {
      abort_bulk_load();
      throw;
    }
    return true;
  }

  void end_bulk_load() override {
    if (!bulk_) fail(ErrorCode::internal, "no bulk load is running");
    try {
      for (const auto& [name, sql] : bulk_indexes_) {
        if (name != "persons_doc") {
          db_->exec_script(sql);
          continue;
        }
        try {
          db_->exec_script(sql);
        } catch (const Error&) {
          // Two loaded rows share a key: name one, and load nothing.
          Q q(*db_, "SELECT doc_type, doc_number, nationality, COUNT(*) FROM persons GROUP BY doc_type, doc_number, "
                    "nationality HAVING COUNT(*) > 1 LIMIT 1");
          if (!q.next()) throw;
          fail(ErrorCode::conflict,
               "the bulk load has persons with the same document (" + q.str(0) + " " + mask_id_number(q.str(1)) + " " +
                   q.str(2) + ", " + std::to_string(q.int64(3)) + " rows); nothing was loaded",
               "doc_number");
        }
      }
      bulk_ = false;
      bulk_plain_persons_ = false;
      depth_ = 0;
      db_->commit();
    } catch (...) {
      abort_bulk_load();
      throw;
    }
    bulk_indexes_.clear();
    normal_mode();
  }

  void abort_bulk_load() noexcept override {
    if (!bulk_) return;
    bulk_ = false;
    bulk_plain_persons_ = false;
    depth_ = 0;
    db_->rollback();
    bulk_indexes_.clear();
    try {
      normal_mode();
    } catch (...) {
    }
  }

  // ------------------------------------------------------------------ areas
  UpsertStats upsert_areas(const std::vector<Area>& areas) override {
    for (std::size_t i = 0; i < areas.size(); ++i) {
      const auto& a = areas[i];
      check_area_code(a.code, at("areas", i, "code"), true);
      if (a.name.empty()) fail(ErrorCode::invalid_argument, at("areas", i, "name") + ": name is required", at("areas", i, "name"));
      if (area_level_of(a.code) != a.level)
        fail(ErrorCode::invalid_argument, at("areas", i, "level") + ": level does not match the code length",
             at("areas", i, "level"));
      if (!a.parent_code.empty() && a.parent_code != parent_area_code(a.code))
        fail(ErrorCode::invalid_argument, at("areas", i, "parent_code") + ": parent does not match the code",
             at("areas", i, "parent_code"));
    }
    UpsertStats st;
    tx([&] {
      for (const auto& a : areas) {
        const std::string parent = parent_area_code(a.code);
        count(st, upsert_row(
                      up_area_, [&](Q& q) { q.text(a.code).text(a.name).i64(static_cast<int>(a.level)).text(parent); },
                      [](Q&) {}, nullptr));
      }
    });
    return st;
  }

  std::optional<Area> area(std::string_view code) override {
    Q q(*db_, "SELECT code, name, level, parent_code FROM areas WHERE code = ?");
    q.text(code);
    if (!q.next()) return std::nullopt;
    return read_area(q);
  }

  std::vector<Area> area_children(std::string_view parent_code) override {
    Q q(*db_, "SELECT code, name, level, parent_code FROM areas WHERE parent_code = ? ORDER BY code");
    q.text(parent_code);
    std::vector<Area> out;
    while (q.next()) out.push_back(read_area(q));
    return out;
  }

  std::vector<AreaCount> area_children_counts(std::string_view parent_code, const Scope& scope) override {
    auto children = area_children(parent_code);
    std::vector<AreaCount> out;
    if (children.empty()) return out;
    // The narrowest prefix covering both the parent's subtree and the scope.
    std::string prefix(parent_code);
    if (scope.kind == Scope::Kind::area) {
      if (scope.area_prefix.empty()) return out;
      if (in_subtree(scope.area_prefix, prefix))
        prefix = scope.area_prefix;
      else if (!in_subtree(prefix, scope.area_prefix))
        return out;  // disjoint
    }
    if (scope.kind == Scope::Kind::org && scope.org_id == 0) return out;

    // Count per stored area code (walks the area_code index in order, no sort), then add the
    // codes up under the child they belong to.
    std::map<std::string, std::int64_t> persons, households;
    std::set<std::string> child_codes;
    std::set<std::size_t> lengths;
    for (const auto& c : children) {
      child_codes.insert(c.code);
      lengths.insert(c.code.size());
    }
    auto add_up = [&](std::map<std::string, std::int64_t>& into, const std::string& code, std::int64_t n) {
      for (auto len : lengths)
        if (code.size() >= len && child_codes.count(code.substr(0, len))) {
          into[code.substr(0, len)] += n;
          return;
        }
    };
    Where wp;
    wp.add("p.merged_into IS NULL");
    wp.range("p.area_code", prefix);
    if (scope.kind == Scope::Kind::org) wp.add("p.workplace_org_id = ?", scope.org_id);
    {
      Q q(*db_, "SELECT p.area_code, count(*) FROM persons p" + wp.sql() + " GROUP BY p.area_code");
      wp.bind(q);
      while (q.next()) add_up(persons, q.str(0), q.int64(1));
    }
    Where wh;
    wh.range("h.area_code", prefix);
    if (scope.kind == Scope::Kind::org)
      wh.add("EXISTS (SELECT 1 FROM persons m WHERE m.household_id = h.id AND m.merged_into IS NULL AND "
             "m.workplace_org_id = ?)",
             scope.org_id);
    {
      Q q(*db_, "SELECT h.area_code, count(*) FROM households h" + wh.sql() + " GROUP BY h.area_code");
      wh.bind(q);
      while (q.next()) add_up(households, q.str(0), q.int64(1));
    }
    for (auto& c : children) {
      AreaCount ac;
      auto pi = persons.find(c.code);
      auto hi = households.find(c.code);
      ac.persons = pi == persons.end() ? 0 : pi->second;
      ac.households = hi == households.end() ? 0 : hi->second;
      bool visible = true;
      if (scope.kind == Scope::Kind::area)
        visible = in_subtree(c.code, scope.area_prefix) || in_subtree(scope.area_prefix, c.code);
      else if (scope.kind == Scope::Kind::org)
        visible = ac.persons > 0 || ac.households > 0;
      if (!visible) continue;
      ac.area = std::move(c);
      out.push_back(std::move(ac));
    }
    return out;
  }

  // ------------------------------------------------------------------ buildings, households
  std::int64_t upsert_building(const Building& b) override {
    if (b.address.empty()) fail(ErrorCode::invalid_argument, "building address is required", "address");
    check_area_code(b.area_code, "area_code", false);
    std::int64_t id = 0;
    tx([&] {
      upsert_row(
          up_building_, [&](Q& q) { q.text(b.address).text(b.area_code); }, [&](Q& q) { q.text(b.address); }, &id);
    });
    return id;
  }

  UpsertStats upsert_households(std::vector<Household>& hs) override {
    for (std::size_t i = 0; i < hs.size(); ++i) {
      auto& h = hs[i];
      if (h.household_no.empty())
        fail(ErrorCode::invalid_argument, at("households", i, "household_no") + ": household number is required",
             at("households", i, "household_no"));
      check_area_code(h.area_code, at("households", i, "area_code"), false);
      if (h.building_id < 0)
        fail(ErrorCode::invalid_argument, at("households", i, "building_id") + ": must not be negative",
             at("households", i, "building_id"));
    }
    UpsertStats st;
    auto values = [](auto& q, const Household& h) {
      q.text(h.household_no).ref(h.building_id).text(h.area_code).text(h.address);
    };
    tx([&] {
      if (bulk_upsert(up_household_, hs, values, [](const Household& h) { return h.household_no; }, st)) return;
      for (auto& h : hs) {
        count(st, upsert_row(
                      up_household_, [&](Q& q) { values(q, h); }, [&](Q& q) { q.text(h.household_no); }, &h.id));
      }
    });
    return st;
  }

  std::optional<Household> household(std::int64_t id, const Scope& scope) override {
    Where w;
    w.add("h.id = ?", id);
    household_scope(w, scope);
    Q q(*db_, std::string("SELECT ") + kHouseholdCols + " FROM households h" + w.sql());
    w.bind(q);
    if (!q.next()) return std::nullopt;
    return read_household(q);
  }

  std::optional<Household> household_by_no(std::string_view household_no, const Scope& scope) override {
    Where w;
    w.add("h.household_no = ?", std::string(household_no));
    household_scope(w, scope);
    Q q(*db_, std::string("SELECT ") + kHouseholdCols + " FROM households h" + w.sql());
    w.bind(q);
    if (!q.next()) return std::nullopt;
    return read_household(q);
  }

  // ------------------------------------------------------------------ persons
  UpsertStats upsert_persons(std::vector<Person>& ps) override {
    for (std::size_t i = 0; i < ps.size(); ++i) {
      auto& p = ps[i];
      if (p.doc_type == DocType::resident_id) p.doc_number = normalise_doc_number(p.doc_number);
      if (p.doc_number.empty())
        fail(ErrorCode::invalid_argument, at("persons", i, "doc_number") + ": document number is required",
             at("persons", i, "doc_number"));
      if (p.nationality.empty())
        fail(ErrorCode::invalid_argument, at("persons", i, "nationality") + ": nationality is required",
             at("persons", i, "nationality"));
      if (p.name.empty())
        fail(ErrorCode::invalid_argument, at("persons", i, "name") + ": name is required", at("persons", i, "name"));
      if (p.household_id < 0 || p.workplace_org_id < 0)
        fail(ErrorCode::invalid_argument, at("persons", i, "household_id") + ": ids must not be negative",
             at("persons", i, "household_id"));
      check_area_code(p.area_code, at("persons", i, "area_code"), false);
    }
    UpsertStats st;
    const std::int64_t now = now_ms();
    for (auto& p : ps) {
      if (p.created_at == Instant{}) p.created_at = from_unix_ms(now);
      if (p.updated_at == Instant{}) p.updated_at = from_unix_ms(now);
    }
    auto values = [](auto& q, const Person& p) {
      q.text(to_string(p.doc_type))
          .text(p.doc_number)
          .text(p.nationality)
          .text(p.name)
          .text(to_string(p.sex))
          .text(date_text(p.birth_date))
          .text(p.phone)
          .ref(p.household_id)
          .text(p.area_code)
          .text(p.address)
          .ref(p.workplace_org_id)
          .i64(to_unix_ms(p.created_at))
          .i64(to_unix_ms(p.updated_at));
    };
    tx([&] {
      if (bulk_plain_persons_) {
        // A bulk load into an empty table without its unique index: plain appends (the index
        // built at the end refuses duplicates, end_bulk_load).
        for (auto& p : ps) {
          Q q(*db_, up_person_.append);
          values(q, p);
          p.id = q.inserted_id();
        }
        st.inserted += static_cast<std::int64_t>(ps.size());
        return;
      }
      if (bulk_upsert(up_person_, ps, values,
                      [](const Person& p) { return std::string(to_string(p.doc_type)) + '\t' + p.doc_number + '\t' + p.nationality; },
                      st))
        return;
      for (auto& p : ps) {
        auto key = [&](Q& q) { q.text(to_string(p.doc_type)).text(p.doc_number).text(p.nationality); };
        count(st, upsert_row(up_person_, [&](Q& q) { values(q, p); }, key, &p.id));
      }
    });
    return st;
  }

  bool update_person(const Person& p, std::int64_t revision) override {
    if (p.name.empty()) fail(ErrorCode::invalid_argument, "name is required", "name");
    if (p.household_id < 0 || p.workplace_org_id < 0)
      fail(ErrorCode::invalid_argument, "ids must not be negative", "household_id");
    check_area_code(p.area_code, "area_code", false);
    return Q(*db_, "UPDATE persons SET name = ?, phone = ?, household_id = ?, area_code = ?, address = ?, "
                   "workplace_org_id = ?, updated_at = ?, revision = revision + 1 WHERE id = ? AND revision = ?")
               .text(p.name)
               .text(p.phone)
               .ref(p.household_id)
               .text(p.area_code)
               .text(p.address)
               .ref(p.workplace_org_id)
               .i64(to_unix_ms(p.updated_at))
               .i64(p.id)
               .i64(revision)
               .run() == 1;
  }

  std::optional<Person> person(std::int64_t id, const Scope& scope) override {
    Where w;
    w.add("p.id = ?", id);
    person_scope(w, scope, "p");
    Q q(*db_, std::string("SELECT ") + kPersonCols + " FROM persons p" + w.sql());
    w.bind(q);
    if (!q.next()) return std::nullopt;
    return read_person(q);
  }

  std::optional<Person> person_by_doc(std::string_view doc_number, const Scope& scope) override {
    // The API's hot path: one statement text per kind of scope, with the conditions of
    // person_scope() written out (no SQL text built per lookup).
    static const std::string by_doc = std::string("SELECT ") + kPersonCols + " FROM persons p WHERE p.doc_number = ?";
    static const std::string by_doc_area = by_doc + " AND p.area_code >= ? AND p.area_code < ?";
    static const std::string by_doc_org = by_doc + " AND p.workplace_org_id = ?";
    const std::string doc = normalise_doc_number(doc_number);
    CodeRange range;
    const std::string* sql = &by_doc;
    switch (scope.kind) {
      case Scope::Kind::all: break;
      case Scope::Kind::area:
        if (scope.area_prefix.empty()) return std::nullopt;  // person_scope: nothing
        range = subtree_range(scope.area_prefix);
        sql = &by_doc_area;
        break;
      case Scope::Kind::org:
        if (scope.org_id == 0) return std::nullopt;  // person_scope: nothing
        sql = &by_doc_org;
        break;
    }
    // The record not merged away first, then the oldest. Chosen here rather than with ORDER BY
    // ... LIMIT 1, which makes SQLite build a temporary b-tree for the one or two rows of a
    // document number on every lookup (the API's hot path).
    Q q(*db_, *sql);
    q.text(doc);
    if (sql == &by_doc_area) q.text(range.lo).text(range.hi);
    if (sql == &by_doc_org) q.i64(scope.org_id);
    std::optional<Person> best;
    while (q.next()) {
      Person p = read_person(q);
      if (!best || (p.merged_into == 0) > (best->merged_into == 0) ||
          ((p.merged_into == 0) == (best->merged_into == 0) && p.id < best->id))
        best = std::move(p);
    }
    return best;
  }

  std::vector<Person> persons_by_ids(const std::vector<std::int64_t>& ids, const Scope& scope) override {
    Where w;
    person_scope(w, scope, "p");
    w.add("p.id IN ({ids})");
    const std::string sql = with_id_list(std::string("SELECT ") + kPersonCols + " FROM persons p" + w.sql());
    std::vector<Person> out;
    for_id_chunks(
        *db_, sql, ids, [&](Q& q) {
          while (q.next()) out.push_back(read_person(q));
        },
        [&](Q& q) { w.bind(q); });
    std::sort(out.begin(), out.end(), [](const Person& a, const Person& b) { return a.id < b.id; });
    return out;
  }

  PageOf<Person> find_persons(const PersonQuery& pq, const Scope& scope, Page page) override {
    const int limit = check_limit(page);
    Where w;
    w.add("p.merged_into IS NULL");
    person_scope(w, scope, "p");
    if (!pq.area_prefix.empty()) {
      if (!canonical_area_code(pq.area_prefix))
        fail(ErrorCode::invalid_argument, "'" + pq.area_prefix + "' is not an area code", "area_prefix");
      w.range("p.area_code", pq.area_prefix);
    }
    if (!pq.doc_number.empty()) w.add("p.doc_number = ?", normalise_doc_number(pq.doc_number));
    if (!pq.name.empty()) w.add("p.name >= ? AND p.name < ?", pq.name, pq.name + std::string(kMaxChar));
    if (!pq.phone.empty()) w.add("p.phone = ?", pq.phone);
    if (pq.household_id != 0) w.add("p.household_id = ?", pq.household_id);
    if (!pq.address.empty()) {
      const auto& d = db_->dialect();
      w.add(d.find("p.address", "?") + " > 0 OR EXISTS (SELECT 1 FROM households ha WHERE ha.id = p.household_id AND " +
                d.find("ha.address", "?") + " > 0)",
            pq.address, pq.address);
    }
    if (page.after > 0) w.add("p.id > ?", page.after);
    Q q(*db_, std::string("SELECT ") + kPersonCols + " FROM persons p" + w.sql() + " ORDER BY p.id LIMIT ?");
    w.bind(q);
    q.i64(limit + 1);
    PageOf<Person> out;
    while (q.next()) out.items.push_back(read_person(q));
    finish_page(out, limit, [](const Person& p) { return p.id; });
    return out;
  }

  std::vector<Person> household_members(std::int64_t household_id, const Scope& scope) override {
    Where w;
    w.add("p.household_id = ?", household_id);
    w.add("p.merged_into IS NULL");
    person_scope(w, scope, "p");
    Q q(*db_, std::string("SELECT ") + kPersonCols + " FROM persons p" + w.sql() + " ORDER BY p.id");
    w.bind(q);
    std::vector<Person> out;
    while (q.next()) out.push_back(read_person(q));
    return out;
  }

  std::int64_t count_persons(const Scope& scope) override {
    Where w;
    w.add("p.merged_into IS NULL");
    person_scope(w, scope, "p");
    Q q(*db_, "SELECT count(*) FROM persons p" + w.sql());
    w.bind(q);
    return q.next() ? q.int64(0) : 0;
  }

  // ------------------------------------------------------------------ identity resolution
  PageOf<DuplicateCandidate> duplicate_candidates(const Scope& scope, Page page) override {
    const int limit = check_limit(page);
    Where w;
    w.add("a.merged_into IS NULL AND b.merged_into IS NULL");
    w.add("a.birth_date <> '' AND a.doc_number <> b.doc_number");
    w.add("(a.phone <> '' AND a.phone = b.phone) OR a.household_id = b.household_id OR "
          "(a.address <> '' AND a.address = b.address)");
    person_scope(w, scope, "a");
    person_scope(w, scope, "b");
    const std::string base =
        "SELECT a.id, b.id, CASE WHEN a.phone <> '' AND a.phone = b.phone THEN 'same name, birth date and phone' "
        "WHEN a.household_id = b.household_id THEN 'same name, birth date and household' "
        "ELSE 'same name, birth date and address' END "
        "FROM persons a JOIN persons b ON b.name = a.name AND b.birth_date = a.birth_date AND b.id > a.id";
    auto run = [&](Where ww, std::int64_t lim) {
      Q q(*db_, base + ww.sql() + " ORDER BY a.id, b.id" + (lim > 0 ? " LIMIT ?" : ""));
      ww.bind(q);
      if (lim > 0) q.i64(lim);
      std::vector<DuplicateCandidate> rows;
      while (q.next()) rows.push_back({q.int64(0), q.int64(1), q.str(2)});
      return rows;
    };
    Where wp = w;
    if (page.after > 0) wp.add("a.id > ?", page.after);
    auto rows = run(wp, limit + 1);
    PageOf<DuplicateCandidate> out;
    if (static_cast<int>(rows.size()) <= limit) {
      out.items = std::move(rows);
      return out;
    }
    // More follow. The cursor is person_a, so a page ends after a complete group of person_a.
    const std::int64_t cut = rows[static_cast<std::size_t>(limit)].person_a;
    rows.resize(static_cast<std::size_t>(limit));
    if (rows.back().person_a == cut) {
      while (!rows.empty() && rows.back().person_a == cut) rows.pop_back();
      if (rows.empty()) {  // a single group larger than the page: return it whole
        Where wa = w;
        wa.add("a.id = ?", cut);
        rows = run(wa, 0);
      }
    }
    out.next = rows.back().person_a;
    out.items = std::move(rows);
    return out;
  }

  MergeRecord merge_persons(std::int64_t kept, std::int64_t merged, std::int64_t by_user, Instant when) override {
    if (kept == merged) fail(ErrorCode::invalid_argument, "a person cannot be merged into itself", "merged_id");
    MergeRecord rec;
    tx([&] {
      auto k = person(kept, Scope::everything());
      auto m = person(merged, Scope::everything());
      if (!k) fail(ErrorCode::not_found, "no person " + std::to_string(kept), "kept_id");
      if (!m) fail(ErrorCode::not_found, "no person " + std::to_string(merged), "merged_id");
      if (k->merged_into != 0) fail(ErrorCode::conflict, "person " + std::to_string(kept) + " is merged already", "kept_id");
      if (m->merged_into != 0)
        fail(ErrorCode::conflict, "person " + std::to_string(merged) + " is merged already", "merged_id");
      nlohmann::json moved = nlohmann::json::object();
      for (const auto& link : person_links()) {
        const std::string t = link.table, c = link.column, key = link.key;
        const std::string stays = link.stays ? std::string(" AND NOT (") + link.stays + ")" : std::string();
        nlohmann::json ids = nlohmann::json::array();
        {
          Q q(*db_, "SELECT " + key + " FROM " + t + " WHERE " + c + " = ? AND " + c + " <> 0" + stays + " ORDER BY " +
                        key);
          q.i64(merged);
          if (link.stays)
            for (const char* ch = link.stays; *ch; ++ch)
              if (*ch == '?') q.i64(kept);
          while (q.next()) {
            if (link.text_key)
              ids.push_back(q.str(0));
            else
              ids.push_back(q.int64(0));
          }
        }
        if (ids.empty()) continue;
        for (const auto& id : ids) {
          Q u(*db_, "UPDATE " + t + " SET " + c + " = ? WHERE " + key + " = ? AND " + c + " = ?");
          u.i64(kept);
          bind_key(u, id);
          u.i64(merged).run();
        }
        moved[t + "." + c] = std::move(ids);
      }
      if (moved.contains("cases.person_id")) close_duplicate_cases(kept, moved, by_user, to_unix_ms(when));
      if (moved.contains("vaccination_doses.person_id")) {
        restate_vaccination(kept, to_unix_ms(when));
        restate_vaccination(merged, to_unix_ms(when));
      }
      Q(*db_, "UPDATE persons SET merged_into = ?, updated_at = ?, rev = rev + 1 WHERE id = ?")
          .i64(kept)
          .i64(to_unix_ms(when))
          .i64(merged)
          .run();
      rec.kept_id = kept;
      rec.merged_id = merged;
      rec.by_user = by_user;
      rec.at = when;
      rec.moved = moved.dump();
      Q q(*db_, db_->dialect().insert_returning(
                    "INSERT INTO person_merges (kept_id, merged_id, by_user, at, moved, undone) VALUES (?, ?, ?, ?, ?, 0)",
                    "id"));
      q.i64(kept).i64(merged).i64(by_user).i64(to_unix_ms(when)).text(rec.moved);
      rec.id = q.inserted_id();
    });
    return rec;
  }

  void undo_merge(std::int64_t merge_id) override {
    tx([&] {
      std::optional<MergeRecord> m;
      {
        Q q(*db_, std::string("SELECT ") + kMergeCols + " FROM person_merges WHERE id = ?");
        q.i64(merge_id);
        if (q.next()) m = read_merge(q);
      }
      if (!m) fail(ErrorCode::not_found, "no merge " + std::to_string(merge_id), "merge_id");
      if (m->undone) fail(ErrorCode::conflict, "merge " + std::to_string(merge_id) + " was undone already", "merge_id");
      auto merged = person(m->merged_id, Scope::everything());
      if (!merged || merged->merged_into != m->kept_id)
        fail(ErrorCode::conflict,
             "merge " + std::to_string(merge_id) + " cannot be undone: undo the later merges of person " +
                 std::to_string(m->kept_id) + " first",
             "merge_id");
      auto kept = person(m->kept_id, Scope::everything());
      if (!kept || kept->merged_into != 0)
        fail(ErrorCode::conflict,
             "merge " + std::to_string(merge_id) + " cannot be undone: person " + std::to_string(m->kept_id) +
                 " was merged since",
             "merge_id");
      auto moved = nlohmann::json::parse(m->moved.empty() ? std::string("{}") : m->moved, nullptr, false);
      if (moved.is_discarded() || !moved.is_object())
        fail(ErrorCode::internal, "merge " + std::to_string(merge_id) + " has an unreadable record of moved rows");
      if (auto it = moved.find("cases.duplicates"); it != moved.end()) reopen_duplicate_cases(*it);
      for (const auto& link : person_links()) {
        const std::string t = link.table, c = link.column;
        auto it = moved.find(t + "." + c);
        if (it == moved.end()) continue;
        for (const auto& idj : *it) {
          Q u(*db_, "UPDATE " + t + " SET " + c + " = ? WHERE " + link.key + " = ? AND " + c + " = ?");
          u.i64(m->merged_id);
          bind_key(u, idj);
          u.i64(m->kept_id).run();
        }
      }
      if (moved.contains("vaccination_doses.person_id")) {
        restate_vaccination(m->kept_id, now_ms());
        restate_vaccination(m->merged_id, now_ms());
      }
      Q(*db_, "UPDATE persons SET merged_into = NULL, rev = rev + 1 WHERE id = ?").i64(m->merged_id).run();
      Q(*db_, "UPDATE person_merges SET undone = 1 WHERE id = ?").i64(merge_id).run();
    });
  }

  // After a merge moved cases: one person has one open case. When the kept record now has more
  // than one, the one opened first stays open (its report is the first; the others are repeat
  // reports of the same infection, 重复报告) and each other is closed as a duplicate: status
  // closed, outcome `excluded` (so that no count, bulletin or curve counts the person twice),
  // closed at the merge. Its investigation goes to the case kept: its places, and its contacts
  // except those the kept case lists already (one place per person on a case's list), which stay
  // with it. Its active treatment is settled so that the person is in one treatment (see
  // settle_duplicate_treatments); ended treatments, links and disinfection tasks stay with the
  // case they were made for. Recorded under "cases.duplicates" in the merge's moved rows: {case,
  // kept_case, contacts, places, and treatments when it had an active one}, for undo.
  void close_duplicate_cases(std::int64_t kept, nlohmann::json& moved, std::int64_t by_user, std::int64_t at_ms) {
    std::vector<std::int64_t> open;
    {
      Q q(*db_, "SELECT id FROM cases WHERE person_id = ? AND status = 'open' ORDER BY opened_at, id");
      q.i64(kept);
      while (q.next()) open.push_back(q.int64(0));
    }
    // Only when this merge brought an open case: duplicates the kept record had before are not
    // this merge's to settle.
    const auto& came = moved.at("cases.person_id");
    const bool brought = std::any_of(open.begin(), open.end(), [&](std::int64_t id) {
      return std::find(came.begin(), came.end(), nlohmann::json(id)) != came.end();
    });
    if (open.size() < 2 || !brought) return;
    const std::int64_t first = open.front();
    nlohmann::json dups = nlohmann::json::array();
    for (std::size_t i = 1; i < open.size(); ++i) {
      const std::int64_t d = open[i];
      std::vector<std::int64_t> contacts, places;
      {
        Q q(*db_,
            "SELECT id FROM case_contacts WHERE case_id = ? AND NOT EXISTS (SELECT 1 FROM case_contacts k WHERE "
            "k.case_id = ? AND k.person_id = case_contacts.person_id) ORDER BY id");
        q.i64(d).i64(first);
        while (q.next()) contacts.push_back(q.int64(0));
      }
      {
        Q q(*db_, "SELECT id FROM case_places WHERE case_id = ? ORDER BY id");
        q.i64(d);
        while (q.next()) places.push_back(q.int64(0));
      }
      for (const auto id : contacts)
        Q(*db_, "UPDATE case_contacts SET case_id = ? WHERE id = ? AND case_id = ?").i64(first).i64(id).i64(d).run();
      for (const auto id : places)
        Q(*db_, "UPDATE case_places SET case_id = ? WHERE id = ? AND case_id = ?").i64(first).i64(id).i64(d).run();
      Q(*db_,
        "UPDATE cases SET status = 'closed', outcome = 'excluded', closed_at = ?, rev = rev + 1 WHERE id = ? AND "
        "status = 'open'")
          .i64(at_ms)
          .i64(d)
          .run();
      nlohmann::json dup{{"case", d}, {"kept_case", first}, {"contacts", contacts}, {"places", places}};
      auto treated = settle_duplicate_treatments(d, first, by_user, at_ms);
      if (!treated.empty()) dup["treatments"] = std::move(treated);
      dups.push_back(std::move(dup));
    }
    moved["cases.duplicates"] = std::move(dups);
  }

  // A duplicate case's active treatments (status admitted: the person handed over to, or held
  // by, a designated or shelter hospital) after the merge closed it in favour of case `first`:
  // one person is in one treatment, under one control order.
  // - When the case kept has no active treatment, the duplicate's moves to it whole (case_id;
  //   its order, hospital and stage stay): the person is where that treatment says.
  // - Otherwise the case kept's treatment, order and stage stay, and the duplicate's treatment
  //   ends: status `duplicate`, ended (discharged_at) at the merge by the merging user, its note
  //   saying why; its control order, when active and not the kept treatment's, is released at
  //   the merge (a new stage-history entry, as the loop's release writes; the loop's watcher
  //   drops its deadlines when they come due on a released order). An order with a handover
  //   pending cannot be released (the receiver is waiting for the person): the merge is refused
  //   until the handover is received or withdrawn.
  // Returns, for undo: {treatment, moved_to} or {treatment, ended, note, kept_treatment[, order,
  // stage, owner_kind, owner_org, owner_area, since, released_at]}.
  nlohmann::json settle_duplicate_treatments(std::int64_t d, std::int64_t first, std::int64_t by_user,
                                             std::int64_t at_ms) {
    struct Active {
      std::int64_t id = 0, order_id = 0;
      std::string note;
    };
    auto admitted = [&](std::int64_t case_id) {
      std::vector<Active> out;
      Q q(*db_, "SELECT id, order_id, note FROM treatments WHERE case_id = ? AND status = 'admitted' ORDER BY id");
      q.i64(case_id);
      while (q.next()) out.push_back({q.int64(0), q.int64(1), q.str(2)});
      return out;
    };
    nlohmann::json out = nlohmann::json::array();
    const auto dup = admitted(d);
    if (dup.empty()) return out;
    auto kept = admitted(first);
    std::size_t i = 0;
    if (kept.empty()) {
      Q(*db_, "UPDATE treatments SET case_id = ? WHERE id = ? AND case_id = ?").i64(first).i64(dup[0].id).i64(d).run();
      out.push_back({{"treatment", dup[0].id}, {"moved_to", first}});
      kept.push_back(dup[0]);
      i = 1;
    }
    const Active& k = kept.front();
    auto loops = open_loop_repository(*this);
    for (; i < dup.size(); ++i) {
      const auto& t = dup[i];
      nlohmann::json e{{"treatment", t.id}, {"ended", true}, {"note", t.note}, {"kept_treatment", k.id}};
      if (t.order_id != 0 && t.order_id != k.order_id) {
        auto o = loops->order(t.order_id, Scope::everything());
        if (o && o->order.status == loop::OrderStatus::active) {
          if (o->order.pending)
            fail(ErrorCode::conflict,
                 "case " + std::to_string(d) + " would close as a duplicate, but its treatment " + std::to_string(t.id) +
                     " waits for handover " + std::to_string(o->order.pending->id) + " of order " +
                     std::to_string(t.order_id) + ": the handover is received or withdrawn before the merge",
                 "merged_id");
          const auto& cur = o->order.current;
          e["order"] = t.order_id;
          e["stage"] = loop::to_string(cur.stage);
          e["owner_kind"] = cur.owner.kind == loop::Owner::Kind::org ? "org" : "area";
          e["owner_org"] = cur.owner.org_id;
          e["owner_area"] = cur.owner.area_code;
          e["since"] = to_unix_ms(cur.since);
          e["released_at"] = at_ms;
          loops->set_current(t.order_id, loop::StageEntry{loop::Stage::released, cur.owner, from_unix_ms(at_ms)},
                             loop::OrderStatus::released);
        }
      }
      std::string note = "duplicate of case " + std::to_string(first) + " (persons merged): treatment " +
                         std::to_string(k.id) + " continues";
      if (!t.note.empty()) note = t.note + "; " + note;
      Q(*db_,
        "UPDATE treatments SET status = 'duplicate', discharged_at = ?, discharged_by = ?, note = ? WHERE id = ? AND "
        "status = 'admitted'")
          .i64(at_ms)
          .i64(by_user)
          .text(note)
          .i64(t.id)
          .run();
      out.push_back(std::move(e));
    }
    return out;
  }

  // Undo of settle_duplicate_treatments: a moved treatment goes back to its case; an ended one is
  // admitted again with its note, and its order, if released by the merge and untouched since,
  // is active again in the stage and with the owner it had (a new stage-history entry, now).
  void restore_duplicate_treatments(std::int64_t d, std::int64_t first, const nlohmann::json& ts) {
    auto loops = open_loop_repository(*this);
    for (const auto& e : ts) {
      const auto id = e.at("treatment").get<std::int64_t>();
      if (e.contains("moved_to")) {
        Q(*db_, "UPDATE treatments SET case_id = ? WHERE id = ? AND case_id = ?").i64(d).i64(id).i64(first).run();
        continue;
      }
      Q(*db_,
        "UPDATE treatments SET status = 'admitted', discharged_at = NULL, discharged_by = 0, note = ? WHERE id = ? AND "
        "status = 'duplicate'")
          .text(e.at("note").get<std::string>())
          .i64(id)
          .run();
      if (!e.contains("order")) continue;
      const auto order_id = e.at("order").get<std::int64_t>();
      auto o = loops->order(order_id, Scope::everything());
      if (!o || o->order.status != loop::OrderStatus::released || o->order.current.stage != loop::Stage::released ||
          to_unix_ms(o->order.current.since) != e.at("released_at").get<std::int64_t>())
        continue;  // changed since the merge: left as it is
      const auto stage = loop::stage_from(e.at("stage").get<std::string>());
      if (!stage) continue;
      const auto owner = e.at("owner_kind").get<std::string>() == "org"
                             ? loop::Owner::org(e.at("owner_org").get<std::int64_t>())
                             : loop::Owner::area(e.at("owner_area").get<std::string>());
      loops->set_current(order_id, loop::StageEntry{*stage, owner, from_unix_ms(now_ms())}, loop::OrderStatus::active);
    }
  }

  // Undo of close_duplicate_cases: the investigation goes back and the case opens again (unless
  // someone closed or reopened it otherwise since: then it is left as it is).
  void reopen_duplicate_cases(const nlohmann::json& dups) {
    for (const auto& e : dups) {
      const auto d = e.at("case").get<std::int64_t>(), first = e.at("kept_case").get<std::int64_t>();
      if (auto it = e.find("treatments"); it != e.end()) restore_duplicate_treatments(d, first, *it);
      for (const auto& id : e.at("contacts"))
        Q(*db_, "UPDATE case_contacts SET case_id = ? WHERE id = ? AND case_id = ?")
            .i64(d)
            .i64(id.get<std::int64_t>())
            .i64(first)
            .run();
      for (const auto& id : e.at("places"))
        Q(*db_, "UPDATE case_places SET case_id = ? WHERE id = ? AND case_id = ?")
            .i64(d)
            .i64(id.get<std::int64_t>())
            .i64(first)
            .run();
      Q(*db_,
        "UPDATE cases SET status = 'open', outcome = '', closed_at = NULL, rev = rev + 1 WHERE id = ? AND "
        "status = 'closed' AND outcome = 'excluded'")
          .i64(d)
          .run();
    }
  }

  // A person's vaccination status (vaccination_status) computed again from the doses recorded for
  // them, through the immunisation import's reads and writes (store/warning_repository.hpp,
  // core/vaccination.hpp); none without doses.
  void restate_vaccination(std::int64_t person_id, std::int64_t at_ms) {
    auto w = open_warning_repository(*this);
    std::vector<vaccination::Dose> ds;
    for (const auto& r : w->doses_of(person_id))
      if (auto d = parse_date(r.day)) ds.push_back({r.dose, *d, r.product});
    if (ds.empty()) {
      Q(*db_, "DELETE FROM vaccination_status WHERE person_id = ?").i64(person_id).run();
      return;
    }
    const auto st = vaccination::status_of(ds);
    auto day = [](const std::optional<Date>& v) { return v ? format_date(*v) : std::string(); };
    VaccinationStatusRow row;
    row.person_id = person_id;
    row.doses = st.doses;
    row.first_day = day(st.first);
    row.full_day = day(st.full_course);
    row.booster_day = day(st.booster);
    row.last_day = day(st.last);
    w->put_status(row, from_unix_ms(at_ms));
  }

  std::vector<MergeRecord> merges_of(std::int64_t person_id) override {
    Q q(*db_, std::string("SELECT ") + kMergeCols + " FROM person_merges WHERE kept_id = ? OR merged_id = ? ORDER BY id");
    q.i64(person_id).i64(person_id);
    std::vector<MergeRecord> out;
    while (q.next()) out.push_back(read_merge(q));
    return out;
  }

  // ------------------------------------------------------------------ venues, orgs
  UpsertStats upsert_venues(std::vector<Venue>& vs) override {
    for (std::size_t i = 0; i < vs.size(); ++i) {
      const auto& v = vs[i];
      if (v.code.empty())
        fail(ErrorCode::invalid_argument, at("venues", i, "code") + ": venue code is required", at("venues", i, "code"));
      if (v.name.empty())
        fail(ErrorCode::invalid_argument, at("venues", i, "name") + ": name is required", at("venues", i, "name"));
      if (v.capacity < 0)
        fail(ErrorCode::invalid_argument, at("venues", i, "capacity") + ": must not be negative",
             at("venues", i, "capacity"));
      check_area_code(v.area_code, at("venues", i, "area_code"), false);
    }
    UpsertStats st;
    tx([&] {
      for (auto& v : vs) {
        count(st, upsert_row(
                      up_venue_,
                      [&](Q& q) {
                        q.text(v.code).text(v.name).text(to_string(v.type)).text(v.area_code).text(v.address).i64(
                            v.capacity).i64(v.enclosed ? 1 : 0);
                      },
                      [&](Q& q) { q.text(v.code); }, &v.id));
      }
    });
    return st;
  }

  UpsertStats upsert_orgs(std::vector<Org>& os) override {
    for (std::size_t i = 0; i < os.size(); ++i) {
      const auto& o = os[i];
      if (o.code.empty())
        fail(ErrorCode::invalid_argument, at("orgs", i, "code") + ": organisation code is required", at("orgs", i, "code"));
      if (o.name.empty())
        fail(ErrorCode::invalid_argument, at("orgs", i, "name") + ": name is required", at("orgs", i, "name"));
      check_area_code(o.area_code, at("orgs", i, "area_code"), false);
    }
    UpsertStats st;
    tx([&] {
      for (auto& o : os) {
        count(st, upsert_row(
                      up_org_,
                      [&](Q& q) {
                        q.text(o.code).text(o.name).text(to_string(o.kind)).text(o.area_code).text(o.address).text(
                            o.phone);
                      },
                      [&](Q& q) { q.text(o.code); }, &o.id));
      }
    });
    return st;
  }

  PageOf<Venue> find_venues(std::string_view text, const Scope& scope, Page page) override {
    const int limit = check_limit(page);
    Where w;
    if (scope.kind == Scope::Kind::area) {
      if (scope.area_prefix.empty())
        w.nothing();
      else
        w.range("v.area_code", scope.area_prefix);
    } else if (scope.kind == Scope::Kind::org) {
      auto o = scope.org_id ? org(scope.org_id) : std::nullopt;
      if (!o || o->area_code.empty())
        w.nothing();
      else
        w.range("v.area_code", o->area_code);
    }
    if (!text.empty()) {
      const auto& d = db_->dialect();
      std::string t(text);
      w.conds.push_back(d.find("v.name", "?") + " > 0 OR v.code = ? OR " + d.find("v.address", "?") + " > 0");
      w.params.insert(w.params.end(), {t, t, t});
    }
    if (page.after > 0) w.add("v.id > ?", page.after);
    Q q(*db_, std::string("SELECT ") + kVenueCols + " FROM venues v" + w.sql() + " ORDER BY v.id LIMIT ?");
    w.bind(q);
    q.i64(limit + 1);
    PageOf<Venue> out;
    while (q.next()) out.items.push_back(read_venue(q));
    finish_page(out, limit, [](const Venue& v) { return v.id; });
    return out;
  }

  PageOf<Org> find_orgs(std::string_view text, std::optional<OrgKind> kind, const Scope& scope, Page page) override {
    const int limit = check_limit(page);
    Where w;
    if (scope.kind == Scope::Kind::area) {
      if (scope.area_prefix.empty())
        w.nothing();
      else
        w.range("o.area_code", scope.area_prefix);
    } else if (scope.kind == Scope::Kind::org) {
      w.add("o.id = ?", scope.org_id);
    }
    if (kind) w.add("o.kind = ?", std::string(to_string(*kind)));
    if (!text.empty()) {
      const auto& d = db_->dialect();
      std::string t(text);
      w.conds.push_back(d.find("o.name", "?") + " > 0 OR o.code = ? OR " + d.find("o.address", "?") + " > 0");
      w.params.insert(w.params.end(), {t, t, t});
    }
    if (page.after > 0) w.add("o.id > ?", page.after);
    Q q(*db_, std::string("SELECT ") + kOrgCols + " FROM orgs o" + w.sql() + " ORDER BY o.id LIMIT ?");
    w.bind(q);
    q.i64(limit + 1);
    PageOf<Org> out;
    while (q.next()) out.items.push_back(read_org(q));
    finish_page(out, limit, [](const Org& o) { return o.id; });
    return out;
  }

  std::optional<Org> org(std::int64_t id) override {
    Q q(*db_, std::string("SELECT ") + kOrgCols + " FROM orgs o WHERE o.id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_org(q);
  }

  std::optional<Org> org_by_code(std::string_view code) override {
    Q q(*db_, std::string("SELECT ") + kOrgCols + " FROM orgs o WHERE o.code = ?");
    q.text(code);
    if (!q.next()) return std::nullopt;
    return read_org(q);
  }

  // ------------------------------------------------------------------ users, sessions, tokens
  std::int64_t create_user(const User& u) override {
    std::int64_t id = 0;
    guard([&] { id = create_user_unguarded(u); });
    return id;
  }

  std::int64_t create_user_unguarded(const User& u) {
    if (u.username.empty()) fail(ErrorCode::invalid_argument, "username is required", "username");
    try {
      Q q(*db_, db_->dialect().insert_returning(
                    "INSERT INTO users (username, display_name, password_hash, role, scope_area, scope_org, active, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    "id"));
      q.text(u.username)
          .text(u.display_name)
          .text(u.password_hash)
          .text(to_string(u.role))
          .text(u.scope_area)
          .i64(u.scope_org)
          .i64(u.active ? 1 : 0)
          .i64(u.created_at == Instant{} ? now_ms() : to_unix_ms(u.created_at));
      return q.inserted_id();
    } catch (const Error& e) {
      if (e.code() == ErrorCode::conflict)
        fail(ErrorCode::conflict, "username '" + u.username + "' is taken", "username");
      throw;
    }
  }

  void update_user(const User& u) override {
    guard([&] { update_user_unguarded(u); });
  }

  void update_user_unguarded(const User& u) {
    if (u.username.empty()) fail(ErrorCode::invalid_argument, "username is required", "username");
    std::int64_t changed = 0;
    try {
      changed = Q(*db_,
                  "UPDATE users SET username = ?, display_name = ?, password_hash = ?, role = ?, scope_area = ?, "
                  "scope_org = ?, active = ? WHERE id = ?")
                    .text(u.username)
                    .text(u.display_name)
                    .text(u.password_hash)
                    .text(to_string(u.role))
                    .text(u.scope_area)
                    .i64(u.scope_org)
                    .i64(u.active ? 1 : 0)
                    .i64(u.id)
                    .run();
    } catch (const Error& e) {
      if (e.code() == ErrorCode::conflict)
        fail(ErrorCode::conflict, "username '" + u.username + "' is taken", "username");
      throw;
    }
    if (changed == 0) fail(ErrorCode::not_found, "no user " + std::to_string(u.id), "id");
  }

  std::optional<User> user(std::int64_t id) override {
    Q q(*db_, std::string("SELECT ") + kUserCols + " FROM users WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_user(q);
  }

  std::optional<User> user_by_name(std::string_view username) override {
    Q q(*db_, std::string("SELECT ") + kUserCols + " FROM users WHERE username = ?");
    q.text(username);
    if (!q.next()) return std::nullopt;
    return read_user(q);
  }

  std::vector<User> users() override {
    Q q(*db_, std::string("SELECT ") + kUserCols + " FROM users ORDER BY id");
    std::vector<User> out;
    while (q.next()) out.push_back(read_user(q));
    return out;
  }

  void put_session(const SessionRecord& s) override {
    guard([&] { put_session_unguarded(s); });
  }

  void put_session_unguarded(const SessionRecord& s) {
    if (s.token_hash.empty()) fail(ErrorCode::invalid_argument, "session token hash is required", "token_hash");
    Q(*db_,
      "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, ip) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (token_hash) DO UPDATE SET user_id = excluded.user_id, created_at = excluded.created_at, "
      "expires_at = excluded.expires_at, ip = excluded.ip")
        .text(s.token_hash)
        .i64(s.user_id)
        .i64(to_unix_ms(s.created_at))
        .i64(to_unix_ms(s.expires_at))
        .text(s.ip)
        .run();
  }

  std::optional<SessionRecord> session(std::string_view token_hash) override {
    Q q(*db_, "SELECT token_hash, user_id, created_at, expires_at, ip FROM sessions WHERE token_hash = ?");
    q.text(token_hash);
    if (!q.next()) return std::nullopt;
    SessionRecord s;
    s.token_hash = q.str(0);
    s.user_id = q.int64(1);
    s.created_at = from_unix_ms(q.int64(2));
    s.expires_at = from_unix_ms(q.int64(3));
    s.ip = q.str(4);
    return s;
  }

  void delete_session(std::string_view token_hash) override {
    Q(*db_, "DELETE FROM sessions WHERE token_hash = ?").text(token_hash).run();
  }

  std::int64_t create_token(const ApiToken& t) override {
    std::int64_t id = 0;
    guard([&] { id = create_token_unguarded(t); });
    return id;
  }

  std::int64_t create_token_unguarded(const ApiToken& t) {
    if (t.token_hash.empty()) fail(ErrorCode::invalid_argument, "token hash is required", "token_hash");
    Q q(*db_, db_->dialect().insert_returning(
                  "INSERT INTO api_tokens (user_id, name, token_hash, created_at, revoked) VALUES (?, ?, ?, ?, ?)", "id"));
    q.i64(t.user_id)
        .text(t.name)
        .text(t.token_hash)
        .i64(t.created_at == Instant{} ? now_ms() : to_unix_ms(t.created_at))
        .i64(t.revoked ? 1 : 0);
    return q.inserted_id();
  }

  std::optional<ApiToken> token_by_hash(std::string_view token_hash) override {
    Q q(*db_, "SELECT id, user_id, name, token_hash, created_at, revoked FROM api_tokens WHERE token_hash = ?");
    q.text(token_hash);
    if (!q.next()) return std::nullopt;
    ApiToken t;
    t.id = q.int64(0);
    t.user_id = q.int64(1);
    t.name = q.str(2);
    t.token_hash = q.str(3);
    t.created_at = from_unix_ms(q.int64(4));
    t.revoked = q.int64(5) != 0;
    return t;
  }

  void revoke_token(std::int64_t id) override {
    if (Q(*db_, "UPDATE api_tokens SET revoked = 1 WHERE id = ?").i64(id).run() == 0)
      fail(ErrorCode::not_found, "no token " + std::to_string(id), "id");
  }

  // ------------------------------------------------------------------ audit
  std::int64_t append_audit(const AuditRecord& r) override {
    std::int64_t id = 0;
    guard([&] { id = append_audit_unguarded(r); });
    return id;
  }

  std::int64_t append_audit_unguarded(const AuditRecord& r) {
    if (r.action.empty()) fail(ErrorCode::invalid_argument, "audit action is required", "action");
    Q q(*db_, db_->dialect().insert_returning(
                  "INSERT INTO audit_log (at, user_id, username, action, entity, entity_id, ip, reason, detail) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  "id"));
    bind_audit(q, r);
    return q.inserted_id();
  }

  void append_audit_batch(const std::vector<AuditRecord>& rs) override {
    for (std::size_t i = 0; i < rs.size(); ++i)
      if (rs[i].action.empty())
        fail(ErrorCode::invalid_argument, at("audit", i, "action") + ": audit action is required", at("audit", i, "action"));
    // Rows of kAuditChunk in one multi-row INSERT, the rest one by one (two cached statements).
    constexpr std::size_t kAuditChunk = 16;
    constexpr const char* kInsert =
        "INSERT INTO audit_log (at, user_id, username, action, entity, entity_id, ip, reason, detail) VALUES ";
    constexpr const char* kRow = "(?, ?, ?, ?, ?, ?, ?, ?, ?)";
    static const std::string one = std::string(kInsert) + kRow;
    static const std::string chunk = [&] {
      std::string sql = kInsert;
      for (std::size_t i = 0; i < kAuditChunk; ++i) sql.append(i ? ", " : "").append(kRow);
      return sql;
    }();
    tx([&] {
      std::size_t i = 0;
      for (; i + kAuditChunk <= rs.size(); i += kAuditChunk) {
        Q q(*db_, chunk);
        for (std::size_t k = 0; k < kAuditChunk; ++k) bind_audit(q, rs[i + k]);
        q.run();
      }
      for (; i < rs.size(); ++i) {
        Q q(*db_, one);
        bind_audit(q, rs[i]);
        q.run();
      }
    });
  }

  PageOf<AuditRecord> find_audit(const AuditQuery& aq, Page page) override {
    const int limit = check_limit(page);
    // The records still in the audit queue (SQLite, store/audit_queue.hpp) first, so the log
    // reads complete; not inside a caller's transaction (the queue rows are deleted after the
    // move commits).
    if (depth_ == 0 && !sqlite_path_.empty()) move_audit_queue(*db_, sqlite_path_);
    Where w;
    if (aq.user_id != 0) w.add("user_id = ?", aq.user_id);
    if (!aq.action.empty()) w.add("action = ?", aq.action);
    if (!aq.entity.empty()) w.add("entity = ?", aq.entity);
    if (aq.entity_id != 0) w.add("entity_id = ?", aq.entity_id);
    if (aq.from) w.add("at >= ?", to_unix_ms(*aq.from));
    if (aq.to) w.add("at < ?", to_unix_ms(*aq.to));
    if (page.after > 0) w.add("id < ?", page.after);
    Q q(*db_, std::string("SELECT ") + kAuditCols + " FROM audit_log" + w.sql() + " ORDER BY id DESC LIMIT ?");
    w.bind(q);
    q.i64(limit + 1);
    PageOf<AuditRecord> out;
    while (q.next()) out.items.push_back(read_audit(q));
    finish_page(out, limit, [](const AuditRecord& r) { return r.id; });
    return out;
  }

  // ------------------------------------------------------------------ settings
  std::optional<std::string> setting(std::string_view key) override {
    Q q(*db_, "SELECT value FROM settings WHERE key = ?");
    q.text(key);
    if (!q.next()) return std::nullopt;
    return q.str(0);
  }

  void set_setting(std::string_view key, std::string_view value) override {
    guard([&] { set_setting_unguarded(key, value); });
  }

  void set_setting_unguarded(std::string_view key, std::string_view value) {
    if (key.empty()) fail(ErrorCode::invalid_argument, "setting key is required", "key");
    Q(*db_, "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .text(key)
        .text(value)
        .run();
  }

 private:
  // A single-statement write. Alone it is atomic by itself; inside a transaction on PostgreSQL
  // it gets a savepoint, so that a failure the caller catches (a taken username, say) does not
  // leave the whole transaction aborted (SQLite undoes just the failed statement by itself).
  template <typename F>
  void guard(F&& fn) {
    if (depth_ == 0 || db_->backend() == Backend::sqlite)
      fn();
    else
      tx(fn);
  }

  template <typename F>
  void tx(F&& fn) {
    if (depth_ == 0) {
      db_->begin();
      depth_ = 1;
      try {
        fn();
      } catch (...) {
        depth_ = 0;
        db_->rollback();
        throw;
      }
      depth_ = 0;
      try {
        db_->commit();
      } catch (...) {
        db_->rollback();
        throw;
      }
    } else if (bulk_) {
      fn();  // a bulk load is one transaction: a failure rolls all of it back
    } else {
      const std::string name = "sp" + std::to_string(depth_);
      db_->savepoint(name);
      ++depth_;
      try {
        fn();
      } catch (...) {
        --depth_;
        db_->rollback_to(name);
        throw;
      }
      --depth_;
      db_->release(name);
    }
  }

  template <typename T, typename Id>
  static void finish_page(PageOf<T>& page, int limit, Id id_of) {
    if (static_cast<int>(page.items.size()) > limit) {
      page.items.resize(static_cast<std::size_t>(limit));
      page.next = id_of(page.items.back());
    }
  }

  static Area read_area(const Q& q) {
    Area a;
    a.code = q.str(0);
    a.name = q.str(1);
    a.level = static_cast<AreaLevel>(q.int64(2));
    a.parent_code = q.str(3);
    return a;
  }

  // Scope::area("") and Scope::org(0) see nothing: use Scope::everything() for the whole system.
  static void person_scope(Where& w, const Scope& scope, const std::string& alias) {
    switch (scope.kind) {
      case Scope::Kind::all: break;
      case Scope::Kind::area:
        if (scope.area_prefix.empty())
          w.nothing();
        else
          w.range(alias + ".area_code", scope.area_prefix);
        break;
      case Scope::Kind::org:
        if (scope.org_id == 0)
          w.nothing();
        else
          w.add(alias + ".workplace_org_id = ?", scope.org_id);
        break;
    }
  }

  static void household_scope(Where& w, const Scope& scope) {
    switch (scope.kind) {
      case Scope::Kind::all: break;
      case Scope::Kind::area:
        if (scope.area_prefix.empty())
          w.nothing();
        else
          w.range("h.area_code", scope.area_prefix);
        break;
      case Scope::Kind::org:
        if (scope.org_id == 0)
          w.nothing();
        else
          w.add("EXISTS (SELECT 1 FROM persons m WHERE m.household_id = h.id AND m.merged_into IS NULL AND "
                "m.workplace_org_id = ?)",
                scope.org_id);
        break;
    }
  }

  // PostgreSQL: a batch of rows through COPY and three set-based statements (UpsertSql's bulk
  // path); the same outcome as upsert_row per row. Returns false (nothing done) on SQLite, for
  // small batches and for batches that name a key twice (those go row by row, in order).
  template <typename Row, typename Values, typename KeyOf>
  bool bulk_upsert(const UpsertSql& sql, std::vector<Row>& rows, Values&& values, KeyOf&& key_of, UpsertStats& st) {
    constexpr std::size_t kMinRows = 64;
    if (db_->backend() != Backend::postgresql || sql.bulk_copy.empty() || rows.size() < kMinRows) return false;
    {
      std::unordered_set<std::string> keys;
      keys.reserve(rows.size());
      for (const auto& r : rows)
        if (!keys.insert(key_of(r)).second) return false;
    }
    CopyWriter w;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      w.i64(static_cast<std::int64_t>(i));
      values(w, rows[i]);
      w.end_row();
    }
    db_->exec_script(sql.bulk_create);
    db_->exec_script(sql.bulk_truncate);
    db_->copy_in(sql.bulk_copy, w.data());
    std::int64_t inserted = 0, updated = 0;
    {
      Q q(*db_, sql.bulk_upsert);
      while (q.next()) ++(q.int64(0) != 0 ? inserted : updated);
    }
    {
      Q q(*db_, sql.bulk_ids);
      while (q.next()) {
        const auto i = q.int64(0);
        if (i >= 0 && static_cast<std::size_t>(i) < rows.size()) rows[static_cast<std::size_t>(i)].id = q.int64(1);
      }
    }
    st.inserted += inserted;
    st.updated += updated;
    st.unchanged += static_cast<std::int64_t>(rows.size()) - inserted - updated;
    return true;
  }

  template <typename Values, typename Key>
  Outcome upsert_row(const UpsertSql& sql, Values&& values, Key&& key, std::int64_t* id) {
    {
      Q q(*db_, sql.insert);
      values(q);
      if (const auto new_id = q.inserted_id(); new_id != 0) {
        if (id) *id = new_id;
        return Outcome::inserted;
      }
    }
    Outcome o = Outcome::unchanged;
    {
      Q q(*db_, sql.upsert);
      values(q);
      if (q.run() > 0) o = Outcome::updated;
    }
    if (id) {
      Q q(*db_, sql.select_id);
      key(q);
      if (q.next()) *id = q.int64(0);
    }
    return o;
  }

  void build_sql() {
    using C = UpsertCol;
    const auto& d = db_->dialect();
    up_area_ = make_upsert(d, "areas",
                           {{"code", C::key}, {"name", C::compared}, {"level", C::compared}, {"parent_code", C::compared}},
                           "code", true);
    up_building_ = make_upsert(d, "buildings", {{"address", C::key}, {"area_code", C::compared}}, "id", false);
    up_household_ = make_upsert(d, "households",
                                {{"household_no", C::key},
                                 {"building_id", C::compared, true},
                                 {"area_code", C::compared},
                                 {"address", C::compared}},
                                "id", true);
    up_person_ = make_upsert(d, "persons",
                             {{"doc_type", C::key},
                              {"doc_number", C::key},
                              {"nationality", C::key},
                              {"name", C::compared},
                              {"sex", C::compared},
                              {"birth_date", C::compared},
                              {"phone", C::compared},
                              {"household_id", C::compared, true},
                              {"area_code", C::compared},
                              {"address", C::compared},
                              {"workplace_org_id", C::compared, true},
                              {"created_at", C::insert_only},
                              {"updated_at", C::touched}},
                             "id", true);
    up_venue_ = make_upsert(d, "venues",
                            {{"code", C::key},
                             {"name", C::compared},
                             {"type", C::compared},
                             {"area_code", C::compared},
                             {"address", C::compared},
                             {"capacity", C::compared},
                             {"enclosed", C::compared}},
                            "id", true);
    up_org_ = make_upsert(d, "orgs",
                          {{"code", C::key},
                           {"name", C::compared},
                           {"kind", C::compared},
                           {"area_code", C::compared},
                           {"address", C::compared},
                           {"phone", C::compared}},
                          "id", true);
  }

  // Back to the driver's normal settings after a bulk load (SQLite: WAL, 64 MiB cache).
  void normal_mode() {
    if (db_->backend() == Backend::sqlite)
      db_->exec_script("PRAGMA journal_mode=WAL; PRAGMA cache_size=-65536; PRAGMA threads=0;");
  }

  std::unique_ptr<Db> db_;
  std::string sqlite_path_;  // the SQLite file (for its audit queue); empty for PostgreSQL
  int depth_ = 0;
  bool bulk_ = false;
  bool bulk_plain_persons_ = false;  // persons' unique index is dropped for the bulk load
  std::vector<std::pair<std::string, std::string>> bulk_indexes_;  // name, CREATE statement
  UpsertSql up_area_, up_building_, up_household_, up_person_, up_venue_, up_org_;
};

bool starts_with(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

}  // namespace

std::unique_ptr<Repository> open_repository(const std::string& url) {
  if (starts_with(url, "postgresql://") || starts_with(url, "postgres://"))
    return std::make_unique<SqlRepository>(open_pg(url));
  std::string path;
  if (starts_with(url, "sqlite:")) {
    path = url.substr(7);
    if (starts_with(path, "//")) path = path.substr(2);
  } else if (url.size() > 3 && url.ends_with(".db")) {
    path = url;
  } else {
    fail(ErrorCode::invalid_argument,
         "unknown database URL '" + url + "': use sqlite:PATH, PATH.db or postgresql://...", "db");
  }
  if (path.empty()) fail(ErrorCode::invalid_argument, "database URL names no file", "db");
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  auto repo = std::make_unique<SqlRepository>(open_sqlite(path));
  repo->set_sqlite_path(sqlite_file_of_url(url));
  return repo;
}

Db& database_of(Repository& repo) {
  auto* r = dynamic_cast<SqlRepository*>(&repo);
  if (!r) fail(ErrorCode::internal, "database_of: not a bihuan SQL repository");
  return r->db();
}

std::string sqlite_file_of(Repository& repo) {
  auto* r = dynamic_cast<SqlRepository*>(&repo);
  return r ? r->sqlite_path() : std::string();
}

bool inside_transaction(Repository& repo) {
  auto* r = dynamic_cast<SqlRepository*>(&repo);
  return r && r->in_transaction();
}

bool holding_reads(Repository& repo) {
  auto* r = dynamic_cast<SqlRepository*>(&repo);
  return r && r->db().holding_reads();
}

int schema_version(Repository& repo) {
  auto* r = dynamic_cast<SqlRepository*>(&repo);
  if (!r) fail(ErrorCode::internal, "schema_version: not a bihuan SQL repository");
  return applied_schema_version(r->db());
}

}  // namespace bihuan::store
