#pragma once
// Retention settings and the purge (core/retention.hpp has the rules). The purge deletes in
// batches, each its own short write transaction, so reads, logins and audit records go on
// between them; a purge stopped half-way leaves only whole batches deleted and can simply run
// again. Every run, including a dry run, appends one audit record `retention.purge` whose detail
// holds the cut-offs and the rows per table: counts only, never personal data.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "core/date.hpp"
#include "core/retention.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

// Stored settings, defaults for what was never set.
retention::Settings retention_settings(Repository& repo);
// Validates every value (invalid_argument naming the rule) and stores them in one transaction.
void save_retention_settings(Repository& repo, const retention::Settings& s);

struct PurgeOptions {
  bool dry_run = false;     // count what would go, delete nothing
  int batch_rows = 2000;    // rows per write transaction (orders: batch_rows / 20 orders)
  // Who runs it, for the audit record ("cli", "scheduler", or the logged-in user).
  std::int64_t user_id = 0;
  std::string username;
  std::string ip;
  std::string trigger;      // "cli", "api", "schedule", "job"
  // Called between batches with the share of rules done (0..1); may be empty.
  std::function<void(double)> progress;
};

struct PurgeReport {
  bool dry_run = false;
  Instant at{};
  std::map<std::string, std::optional<Instant>> cutoffs;  // per rule; nullopt = kept for ever
  std::map<std::string, std::int64_t> rows;               // per table: deleted (or would be)
  std::int64_t total() const;
};

// Runs every rule of `s` at `now`; appends the audit record (also when a batch fails: then with
// the rows deleted so far and the error, and the error is rethrown). One purge at a time per
// process: a second one meanwhile fails with conflict.
PurgeReport purge(Repository& repo, const retention::Settings& s, Instant now, const PurgeOptions& opt);

// {"dry_run", "at", "cutoffs": {rule: ISO instant | null}, "rows": {table: n}, "total"}.
std::string purge_report_json(const PurgeReport& r);

// The newest `retention.purge` audit record, if any.
std::optional<AuditRecord> last_purge(Repository& repo);

}  // namespace bihuan::store
