#pragma once
// Storage of import runs (导入批次). Every import writes under a run: each row it inserts or
// changes is recorded with the values it had before, so an unfinished or failed run is rolled
// back batch by batch and a committed run can be undone later. Rows whose registered identity
// (name, sex, birth date) differs from the file are not written but recorded as identity
// conflicts (身份冲突) for review.
//
// An ImportRepository is opened over a Repository and shares its connection and transactions:
// the write_* calls are meant to run inside repo.transaction(...), one batch each, so that every
// batch holds the write lock only briefly.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "core/model.hpp"
#include "core/rbac.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct ImportRun {
  std::int64_t id = 0;
  std::int64_t job_id = 0;    // 0 = not run as a job (CLI)
  std::string kind;           // persons | households | venues | orgs
  std::string mode;           // all-or-nothing | valid-rows
  std::string file_name;
  std::int64_t created_by = 0;  // 0 = the command line
  Instant created_at{};
  std::optional<Instant> finished_at;
  std::string status = "running";  // running | committed | failed | undone
  std::int64_t total_rows = 0, accepted = 0, rejected = 0;
  std::int64_t inserted = 0, updated = 0, unchanged = 0, conflicts = 0;
  std::optional<Instant> undone_at;
  std::int64_t undone_by = 0;
  // The process writing the run (host name and process id) and when it last wrote a batch: a
  // `running` run whose process is gone or silent for long is rolled back by the next start.
  std::string owner_host;
  std::int64_t owner_pid = 0;
  Instant heartbeat_at{};
};

// A run still `running`, with the state of the job writing it ("" when there is no such job).
struct RunningRun {
  ImportRun run;
  std::string job_status;
};

// Which optional columns the file has. A column absent from the file leaves the stored value
// alone; a present column with an empty cell stores the empty value.
struct PersonFields {
  bool phone = true, household = true, area = true, address = true, workplace = true;
};
struct HouseholdFields {
  bool building = true;
};
struct VenueFields {
  bool address = true, capacity = true, enclosed = true;
};
struct OrgFields {
  bool address = true, phone = true;
};

// A row of a batch left alone because the registered person has another identity.
struct ConflictFound {
  std::size_t index = 0;  // in the batch
  std::int64_t person_id = 0;
  std::vector<std::string> fields;  // name, sex, birth_date
};

struct IdentityConflict {
  std::int64_t id = 0;
  std::int64_t run_id = 0;
  std::int64_t person_id = 0;
  std::int64_t row = 0;             // line of the file
  std::vector<std::string> fields;  // which identity fields differ
  Person imported;                  // the file's values (no id); for a manifest row, area_code is its destination
  // A traveller held from an arrival manifest (0 = a registry import row): the manifest and the
  // seat, so that the control order can be created once the conflict is resolved.
  std::int64_t manifest_id = 0;
  std::string seat;
  std::string arrival_group;  // a manifest imported by_origin: the row's group ("" = the manifest's)
  std::string status = "open";      // open | kept | taken | rejected (manifest rows only)
  Instant created_at{};
  std::int64_t resolved_by = 0;
  std::optional<Instant> resolved_at;
};

class ImportRepository {
 public:
  virtual ~ImportRepository() = default;

  // --- runs
  virtual std::int64_t create_run(const ImportRun& r) = 0;  // status running
  // Stores status, counts and finished_at of r.
  virtual void finish_run(const ImportRun& r) = 0;
  virtual std::optional<ImportRun> run(std::int64_t id) = 0;
  virtual std::optional<ImportRun> run_of_job(std::int64_t job_id) = 0;
  // Runs created by `created_by` (0 = everybody's), newest first.
  virtual PageOf<ImportRun> runs(std::int64_t created_by, Page page) = 0;
  // Runs still `running`, oldest first; whoever started a process decides which are stale.
  virtual std::vector<RunningRun> running_runs() = 0;
  // The run's process is alive and writing (called with every batch).
  virtual void heartbeat(std::int64_t run, Instant at) = 0;

  // --- writes under a run (call inside a transaction; fill ids). Keys as Repository's upserts.
  // Persons: a registered person whose name, sex or birth date differs is not written; the row
  // is returned in `conflicts` and recorded (with its file line from `lines`) for review.
  // `f` and `lines` run parallel to `ps` (the columns of each row; its line in the file).
  virtual UpsertStats write_persons(std::int64_t run, std::vector<Person>& ps, const std::vector<PersonFields>& f,
                                    const std::vector<std::int64_t>& lines, std::vector<ConflictFound>& conflicts) = 0;
  virtual UpsertStats write_households(std::int64_t run, std::vector<Household>& hs, const HouseholdFields& f) = 0;
  virtual std::int64_t write_building(std::int64_t run, const Building& b) = 0;  // returns id
  virtual UpsertStats write_venues(std::int64_t run, std::vector<Venue>& vs, const VenueFields& f) = 0;
  virtual UpsertStats write_orgs(std::int64_t run, std::vector<Org>& os, const OrgFields& f) = 0;

  // --- rollback and undo
  // Why the run cannot be undone: rows it inserted that other records now refer to, rows
  // changed since by someone else ("person 12: referenced by control_orders"). At most `limit`.
  virtual std::vector<std::string> undo_blockers(std::int64_t run, int limit) = 0;
  // Restores the previous values of up to `limit` rows of the run, deletes up to `limit` rows it
  // inserted (changed rows first, then inserted persons, households, buildings, venues, orgs)
  // and forgets them; open conflicts of the run go at the end. Returns the number of rows
  // handled, 0 when nothing is left. Call inside a transaction, repeatedly.
  virtual std::int64_t revert_rows(std::int64_t run, int limit) = 0;
  // Rows of the run not yet reverted.
  virtual std::int64_t run_rows(std::int64_t run) = 0;
  virtual void mark_undone(std::int64_t run, std::int64_t by, Instant at) = 0;

  // --- identity conflicts, scoped by the registered person (as Repository's person scope)
  virtual PageOf<IdentityConflict> conflicts(const Scope& scope, bool open_only, Page page) = 0;
  virtual std::optional<IdentityConflict> conflict(std::int64_t id, const Scope& scope) = 0;
  // Resolves an open conflict: keep the registered values, or take the file's name, sex and
  // birth date. not_found outside scope, conflict when already resolved.
  virtual void resolve_conflict(std::int64_t id, bool take_imported, std::int64_t by, Instant at,
                                const Scope& scope) = 0;
  // Closes an open conflict of a manifest row as "rejected": the traveller is not the registered
  // person; nothing is linked. not_found outside scope, conflict when already resolved.
  virtual void reject_conflict(std::int64_t id, std::int64_t by, Instant at, const Scope& scope) = 0;
  // Records an identity conflict outside write_persons: a row of an arrival manifest (a held
  // traveller) whose ID number is registered as `person_id` with other `fields`. Returns its id.
  virtual std::int64_t add_conflict(std::int64_t run, std::int64_t person_id, std::int64_t line,
                                    const std::vector<std::string>& fields, const Person& imported,
                                    std::int64_t manifest_id, const std::string& seat, Instant at,
                                    const std::string& arrival_group = {}) = 0;
};

std::unique_ptr<ImportRepository> open_import_repository(Repository& repo);

}  // namespace bihuan::store
