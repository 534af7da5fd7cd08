#pragma once
// The one storage interface of bihuan. Two backends implement it: SQLite (embedded default,
// WAL) and PostgreSQL. open_repository() picks one from a URL:
//   sqlite:PATH | PATH ending in .db       -> SQLite file (created if missing)
//   postgresql://... | postgres://...       -> PostgreSQL (libpq connection URI)
//
// Contract for every method:
// - Errors are bihuan::Error (core/error.hpp): invalid_argument naming the field, not_found,
//   conflict on a taken unique key, unavailable when the backend cannot be reached.
// - Every method that writes more than one row does so in one transaction: all or nothing.
// - A method that returned has committed durably enough to survive kill -9 of the process.
// - Scoped reads take a Scope and filter inside the query: rows outside the scope are neither
//   returned nor counted. Scope::org matches persons by workplace_org_id.
//   Scope per entity:            area scope (prefix P)        org scope (org O)
//     persons                     area_code in subtree of P    workplace_org_id = O
//     households                  area_code in subtree of P    has a (non-merged) member working at O
//     venues                      area_code in subtree of P    area_code in the subtree of O's area
//     orgs                        area_code in subtree of P    O itself
//   Scope::area("") and Scope::org(0) see nothing; the whole system is Scope::everything().
//   area_children_counts under an area scope lists the children inside P and the ancestors of
//   P (counted inside P only); under an org scope the children holding any counted row.
// - Merged persons (merged_into != 0) are left out of find_persons, household_members,
//   count_persons and the counts, but person(id) still returns them.
// - Upserts compare stored values: a row identical to the stored one counts as unchanged and
//   is not written. Instants are stored as unix ms, dates as 'YYYY-MM-DD', enums by name.
// - Upserts of zero-valued created_at/updated_at (persons) take the current time.
// - A Repository object is used by one thread at a time; make one per worker thread
//   (open_repository is cheap after the first call migrated the schema).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "core/model.hpp"
#include "core/rbac.hpp"

namespace bihuan::store {

// Keyset pagination: pass the `next` of the previous page as `after`; 0 = from the start.
struct Page {
  std::int64_t after = 0;
  int limit = 50;  // 1..1000
};
template <typename T>
struct PageOf {
  std::vector<T> items;
  std::int64_t next = 0;  // 0 = no more
};

struct PersonQuery {
  std::string doc_number;   // exact (resident ID normalised to upper-case X)
  std::string name;         // exact or prefix ("张" finds 张三)
  std::string phone;        // exact
  std::string address;      // substring of the person's or household's address
  std::string area_prefix;  // narrow within the scope
  std::int64_t household_id = 0;
};

struct AreaCount {
  Area area;
  std::int64_t households = 0;  // in scope
  std::int64_t persons = 0;     // in scope
};

struct User {
  std::int64_t id = 0;
  std::string username;
  std::string display_name;
  std::string password_hash;  // Argon2id encoded string (libsodium crypto_pwhash_str)
  Role role = Role::grid_worker;
  std::string scope_area;     // canonical area prefix for area-scoped roles ("" = whole system, admin/auditor)
  std::int64_t scope_org = 0; // for org-scoped roles
  bool active = true;
  Instant created_at{};
};

struct ApiToken {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string name;
  std::string token_hash;  // hex SHA-256 of the secret; the secret is shown once
  Instant created_at{};
  bool revoked = false;
};

struct SessionRecord {
  std::string token_hash;  // hex SHA-256 of the cookie value
  std::int64_t user_id = 0;
  Instant created_at{};
  Instant expires_at{};
  std::string ip;
};

struct AuditRecord {
  std::int64_t id = 0;
  Instant at{};
  std::int64_t user_id = 0;
  std::string username;
  std::string action;      // "person.read", "person.unmask", "person.update", "person.merge", "login", ...
  std::string entity;      // "person", "household", "user", "import", ...
  std::int64_t entity_id = 0;
  std::string ip;
  std::string reason;      // required for unmasking and exports
  std::string detail;      // JSON text
};

struct AuditQuery {
  std::int64_t user_id = 0;
  std::string action;
  std::string entity;
  std::int64_t entity_id = 0;
  std::optional<Instant> from, to;
};

struct MergeRecord {
  std::int64_t id = 0;
  std::int64_t kept_id = 0;
  std::int64_t merged_id = 0;
  std::int64_t by_user = 0;
  Instant at{};
  std::string moved;   // JSON: which linked rows were re-pointed, for undo
  bool undone = false;
};

// Outcome of an upsert batch: rows inserted, rows updated, rows identical to what was stored.
struct UpsertStats {
  std::int64_t inserted = 0;
  std::int64_t updated = 0;
  std::int64_t unchanged = 0;
};

class Repository {
 public:
  virtual ~Repository() = default;
  virtual std::string backend() const = 0;  // "sqlite" or "postgresql"

  // --- transactions: run fn inside one transaction; commits if fn returns, rolls back if it throws.
  virtual void transaction(const std::function<void()>& fn) = 0;

  // --- bulk load (bihuan gen into a database without persons). begin_bulk_load() returns false
  // and changes nothing when persons are stored already. Otherwise everything up to
  // end_bulk_load() is one transaction (transaction() calls inside it do not open savepoints),
  // with the secondary indexes of persons, households and buildings dropped, a page cache of
  // cache_mib MiB and, on SQLite, the rollback journal in memory instead of the write-ahead log.
  // end_bulk_load() builds the indexes again, commits and puts the database back in its normal
  // mode (WAL, synced); abort_bulk_load() rolls everything back. A process killed during the
  // load can leave an unusable SQLite file: delete it and generate again.
  virtual bool begin_bulk_load(std::int64_t cache_mib) = 0;
  virtual void end_bulk_load() = 0;
  virtual void abort_bulk_load() noexcept = 0;

  // --- held reads (store/db.hpp "Held reads"): the reads of the calls that follow share one
  // snapshot for as long as it is the newest; end_reads() lets it go. Ignored inside a transaction
  // or a bulk load; no-ops on PostgreSQL.
  virtual void hold_reads() {}
  virtual void end_reads() noexcept {}
  // The held snapshot's number (Db::held_snapshot), 0 when nothing is held.
  virtual std::uint64_t held_snapshot() const { return 0; }

  // --- areas
  virtual UpsertStats upsert_areas(const std::vector<Area>& areas) = 0;
  virtual std::optional<Area> area(std::string_view code) = 0;
  virtual std::vector<Area> area_children(std::string_view parent_code) = 0;  // "" = provinces
  // Children of parent with household/person counts inside `scope` (children outside scope omitted).
  virtual std::vector<AreaCount> area_children_counts(std::string_view parent_code, const Scope& scope) = 0;

  // --- buildings and households (upsert by address / household_no)
  virtual std::int64_t upsert_building(const Building& b) = 0;  // returns id
  virtual UpsertStats upsert_households(std::vector<Household>& hs) = 0;  // fills ids
  virtual std::optional<Household> household(std::int64_t id, const Scope& scope) = 0;
  virtual std::optional<Household> household_by_no(std::string_view household_no, const Scope& scope) = 0;

  // --- persons. Upsert key: (doc_type, doc_number, nationality). Fills ids.
  virtual UpsertStats upsert_persons(std::vector<Person>& ps) = 0;
  // Writes the editable fields of p (name, phone, household, area, address, workplace,
  // updated_at) when its stored revision is `revision`, and raises the revision by one; false
  // (nothing written) when the stored revision differs or the row does not exist. Every other
  // change of a person row (upserts, merges) raises the revision too.
  virtual bool update_person(const Person& p, std::int64_t revision) = 0;
  virtual std::optional<Person> person(std::int64_t id, const Scope& scope) = 0;
  virtual std::optional<Person> person_by_doc(std::string_view doc_number, const Scope& scope) = 0;
  // Persons by ids inside the scope, ordered by id; ids missing or outside the scope are left out.
  virtual std::vector<Person> persons_by_ids(const std::vector<std::int64_t>& ids, const Scope& scope) = 0;
  virtual PageOf<Person> find_persons(const PersonQuery& q, const Scope& scope, Page page) = 0;
  virtual std::vector<Person> household_members(std::int64_t household_id, const Scope& scope) = 0;
  virtual std::int64_t count_persons(const Scope& scope) = 0;

  // --- identity resolution
  // Probable duplicates among persons (not merged) in scope; keyset on person_a.
  virtual PageOf<DuplicateCandidate> duplicate_candidates(const Scope& scope, Page page) = 0;
  // Merges `merged` into `kept`: every record linked to `merged` is re-pointed to `kept` and
  // `merged.merged_into` is set; returns the merge record (one transaction).
  virtual MergeRecord merge_persons(std::int64_t kept, std::int64_t merged, std::int64_t by_user, Instant at) = 0;
  // Restores the state before the merge (one transaction). not_found / conflict if already undone.
  virtual void undo_merge(std::int64_t merge_id) = 0;
  virtual std::vector<MergeRecord> merges_of(std::int64_t person_id) = 0;

  // --- venues and organisations (upsert by code)
  virtual UpsertStats upsert_venues(std::vector<Venue>& vs) = 0;
  virtual UpsertStats upsert_orgs(std::vector<Org>& os) = 0;
  virtual PageOf<Venue> find_venues(std::string_view text, const Scope& scope, Page page) = 0;
  virtual PageOf<Org> find_orgs(std::string_view text, std::optional<OrgKind> kind, const Scope& scope, Page page) = 0;
  virtual std::optional<Org> org(std::int64_t id) = 0;
  virtual std::optional<Org> org_by_code(std::string_view code) = 0;

  // --- users, sessions, tokens
  virtual std::int64_t create_user(const User& u) = 0;  // conflict if username taken
  virtual void update_user(const User& u) = 0;
  virtual std::optional<User> user(std::int64_t id) = 0;
  virtual std::optional<User> user_by_name(std::string_view username) = 0;
  virtual std::vector<User> users() = 0;
  virtual void put_session(const SessionRecord& s) = 0;
  virtual std::optional<SessionRecord> session(std::string_view token_hash) = 0;
  virtual void delete_session(std::string_view token_hash) = 0;
  virtual std::int64_t create_token(const ApiToken& t) = 0;
  virtual std::optional<ApiToken> token_by_hash(std::string_view token_hash) = 0;
  virtual void revoke_token(std::int64_t id) = 0;

  // --- audit (append-only)
  virtual std::int64_t append_audit(const AuditRecord& r) = 0;
  virtual void append_audit_batch(const std::vector<AuditRecord>& rs) = 0;  // one transaction
  virtual PageOf<AuditRecord> find_audit(const AuditQuery& q, Page page) = 0;  // newest first

  // --- key/value settings (e.g. demo seed, schema facts)
  virtual std::optional<std::string> setting(std::string_view key) = 0;
  virtual void set_setting(std::string_view key, std::string_view value) = 0;
};

// Opens (and migrates to the latest schema version) the database named by url.
std::unique_ptr<Repository> open_repository(const std::string& url);
// Schema version after migration.
int schema_version(Repository& repo);

// The deployment's local time: setting `deployment.time_zone` (a zone name such as
// "Asia/Shanghai" or a fixed offset such as "+08:00"; absent = Asia/Shanghai). A value that
// parse_local_time rejects is an Error(invalid_argument) naming the setting, so a deployment
// never runs on a silently wrong day.
inline constexpr std::string_view kTimeZoneSetting = "deployment.time_zone";
LocalTime local_time_of(Repository& repo);

}  // namespace bihuan::store
