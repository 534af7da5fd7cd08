#pragma once
// Numbered schema migrations. Each is applied in its own transaction and recorded in
// schema_migrations; reopening a migrated database applies nothing. Two processes opening one
// database at once are serialised (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock keyed
// on the current schema), and each re-reads the version under the lock.
#include <vector>

#include "store/db.hpp"

namespace bihuan::store {

struct Migration {
  int version;
  const char* sql;         // both backends; {pk} {text} {i64} expand per Dialect::schema
  const char* sqlite_sql;  // extra statements for SQLite only (may be empty)
  const char* pg_sql;      // extra statements for PostgreSQL only (may be empty)
  // SQLite: run with foreign keys off (a table rebuild: create, copy, drop, rename), checked with
  // PRAGMA foreign_key_check before the migration commits, and switched on again afterwards.
  bool sqlite_foreign_keys_off = false;
};

const std::vector<Migration>& migrations();
int latest_schema_version();
// Applies pending migrations; returns the version afterwards.
int migrate(Db& db);
// Highest applied version, 0 for an empty database.
int applied_schema_version(Db& db);

}  // namespace bihuan::store
