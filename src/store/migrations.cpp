#include "store/migrations.hpp"

#include <chrono>

#include "core/error.hpp"

namespace bihuan::store {

namespace {

// Version 1: the population registry, accounts and audit.
constexpr const char* kV1 = R"SQL(
CREATE TABLE areas (
  code {text} PRIMARY KEY,
  name {text} NOT NULL,
  level INTEGER NOT NULL,
  parent_code {text} NOT NULL DEFAULT '',
  rev {i64} NOT NULL DEFAULT 1
);
CREATE INDEX areas_parent ON areas (parent_code, code);

CREATE TABLE buildings (
  id {pk},
  area_code {text} NOT NULL DEFAULT '',
  address {text} NOT NULL UNIQUE
);
CREATE INDEX buildings_area ON buildings (area_code);

CREATE TABLE households (
  id {pk},
  household_no {text} NOT NULL UNIQUE,
  building_id {i64} REFERENCES buildings (id),
  area_code {text} NOT NULL DEFAULT '',
  address {text} NOT NULL DEFAULT '',
  rev {i64} NOT NULL DEFAULT 1
);
CREATE INDEX households_area ON households (area_code);
CREATE INDEX households_building ON households (building_id) WHERE building_id IS NOT NULL;

CREATE TABLE orgs (
  id {pk},
  code {text} NOT NULL UNIQUE,
  name {text} NOT NULL,
  kind {text} NOT NULL,
  area_code {text} NOT NULL DEFAULT '',
  address {text} NOT NULL DEFAULT '',
  phone {text} NOT NULL DEFAULT '',
  rev {i64} NOT NULL DEFAULT 1
);
CREATE INDEX orgs_area ON orgs (area_code);
CREATE INDEX orgs_name ON orgs (name);

CREATE TABLE venues (
  id {pk},
  code {text} NOT NULL UNIQUE,
  name {text} NOT NULL,
  type {text} NOT NULL,
  area_code {text} NOT NULL DEFAULT '',
  address {text} NOT NULL DEFAULT '',
  capacity {i64} NOT NULL DEFAULT 0,
  enclosed INTEGER NOT NULL DEFAULT 1,
  rev {i64} NOT NULL DEFAULT 1
);
CREATE INDEX venues_area ON venues (area_code);
CREATE INDEX venues_name ON venues (name);

CREATE TABLE persons (
  id {pk},
  doc_type {text} NOT NULL,
  doc_number {text} NOT NULL,
  nationality {text} NOT NULL,
  name {text} NOT NULL,
  sex {text} NOT NULL,
  birth_date {text} NOT NULL DEFAULT '',
  phone {text} NOT NULL DEFAULT '',
  household_id {i64} REFERENCES households (id),
  area_code {text} NOT NULL DEFAULT '',
  address {text} NOT NULL DEFAULT '',
  workplace_org_id {i64} REFERENCES orgs (id),
  merged_into {i64} REFERENCES persons (id),
  created_at {i64} NOT NULL,
  updated_at {i64} NOT NULL,
  rev {i64} NOT NULL DEFAULT 1,
  UNIQUE (doc_type, doc_number, nationality)
);
CREATE INDEX persons_name ON persons (name, birth_date);
CREATE INDEX persons_phone ON persons (phone);
CREATE INDEX persons_area ON persons (area_code, merged_into);
CREATE INDEX persons_household ON persons (household_id);
CREATE INDEX persons_birth ON persons (birth_date);
CREATE INDEX persons_doc_number ON persons (doc_number);
CREATE INDEX persons_org ON persons (workplace_org_id) WHERE workplace_org_id IS NOT NULL;
CREATE INDEX persons_merged ON persons (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE person_merges (
  id {pk},
  kept_id {i64} NOT NULL REFERENCES persons (id),
  merged_id {i64} NOT NULL REFERENCES persons (id),
  by_user {i64} NOT NULL DEFAULT 0,
  at {i64} NOT NULL,
  moved {text} NOT NULL DEFAULT '{}',
  undone INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX person_merges_kept ON person_merges (kept_id);
CREATE INDEX person_merges_merged ON person_merges (merged_id);

CREATE TABLE users (
  id {pk},
  username {text} NOT NULL UNIQUE,
  display_name {text} NOT NULL DEFAULT '',
  password_hash {text} NOT NULL DEFAULT '',
  role {text} NOT NULL,
  scope_area {text} NOT NULL DEFAULT '',
  scope_org {i64} NOT NULL DEFAULT 0,
  active INTEGER NOT NULL DEFAULT 1,
  created_at {i64} NOT NULL
);

CREATE TABLE sessions (
  token_hash {text} PRIMARY KEY,
  user_id {i64} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at {i64} NOT NULL,
  expires_at {i64} NOT NULL,
  ip {text} NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
  id {pk},
  user_id {i64} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name {text} NOT NULL DEFAULT '',
  token_hash {text} NOT NULL UNIQUE,
  created_at {i64} NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE audit_log (
  id {pk},
  at {i64} NOT NULL,
  user_id {i64} NOT NULL DEFAULT 0,
  username {text} NOT NULL DEFAULT '',
  action {text} NOT NULL,
  entity {text} NOT NULL DEFAULT '',
  entity_id {i64} NOT NULL DEFAULT 0,
  ip {text} NOT NULL DEFAULT '',
  reason {text} NOT NULL DEFAULT '',
  detail {text} NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_user ON audit_log (user_id);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);

CREATE TABLE settings (
  key {text} PRIMARY KEY,
  value {text} NOT NULL
);
)SQL";

constexpr const char* kV1Sqlite = R"SQL(
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
)SQL";

constexpr const char* kV1Pg = R"SQL(
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
)SQL";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr const char* kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)";

int read_version(Db& db) {
  Q q(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  return q.next() ? static_cast<int>(q.int64(0)) : 0;
}

void apply_pending(Db& db) {
  for (const auto& m : migrations()) {
    db.begin();
    try {
      if (read_version(db) < m.version) {
        db.exec_script(db.dialect().schema(m.sql));
        const char* extra = db.backend() == Backend::sqlite ? m.sqlite_sql : m.pg_sql;
        if (extra && *extra) db.exec_script(extra);
        Q(db, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").i64(m.version).i64(now_ms()).run();
      }
      db.commit();
    } catch (...) {
      db.rollback();
      throw;
    }
  }
}

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all{
      {1, kV1, kV1Sqlite, kV1Pg},
  };
  return all;
}

int latest_schema_version() { return migrations().back().version; }

int applied_schema_version(Db& db) { return read_version(db); }

int migrate(Db& db) {
  // Fast path: an up-to-date database needs no lock.
  try {
    if (read_version(db) >= latest_schema_version()) return read_version(db);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::unavailable) throw;
    if (db.backend() == Backend::postgresql) db.rollback();  // clear an aborted state, if any
  }
  if (db.backend() == Backend::postgresql) {
    Q(db, "SELECT pg_advisory_lock(7426001, hashtext(current_schema()))").run();
    try {
      db.exec_script(kCreateTable);
      apply_pending(db);
    } catch (...) {
      try {
        Q(db, "SELECT pg_advisory_unlock(7426001, hashtext(current_schema()))").run();
      } catch (...) {
      }
      throw;
    }
    Q(db, "SELECT pg_advisory_unlock(7426001, hashtext(current_schema()))").run();
  } else {
    db.begin();
    try {
      db.exec_script(kCreateTable);
      db.commit();
    } catch (...) {
      db.rollback();
      throw;
    }
    apply_pending(db);
  }
  return read_version(db);
}

}  // namespace bihuan::store
