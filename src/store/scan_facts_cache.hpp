#pragma once
// The scan facts of the people scanning (CaseRepository::scan_facts: name, merged_into, an open
// case, an active control order, a flagging test task), kept in memory by a server on a SQLite
// file, so that a venue scan reads no statement for them.
//
// Every change that can alter a person's facts, by any connection of any process, leaves the
// person's id in scan_fact_changes (migration v41: triggers on persons, cases, control_orders
// and test_tasks), numbered in commit order. A lookup goes through a connection's held snapshot
// (Repository::hold_reads): at the first lookup in a snapshot the cache reads the changes up to
// that snapshot and forgets those persons (all of them when rows it has not seen were trimmed
// meanwhile: trim_scan_fact_changes keeps the latest kKeptChanges). Facts read on a miss are kept
// only when read through a snapshot that holds every change the cache knows of, so that facts
// older than a forgotten change never come back. A caller whose snapshot is older than the
// cache's (another thread renewed its own meanwhile) may get facts newer than its snapshot, never
// older ones. Without held reads, or on PostgreSQL (no change table), every lookup reads the
// database.
#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "store/case_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

class ScanFactsCache {
 public:
  static constexpr std::size_t kDefaultMax = 2'000'000;  // facts kept (then it starts over)
  static constexpr std::int64_t kKeptChanges = 100'000;   // rows of scan_fact_changes kept by the trim
  explicit ScanFactsCache(std::size_t max_entries = kDefaultMax) : max_(max_entries) {}
  ScanFactsCache(const ScanFactsCache&) = delete;
  ScanFactsCache& operator=(const ScanFactsCache&) = delete;

  // The person's facts as of `repo`'s held snapshot or newer; `log` is a case repository on the
  // same connection (read on a miss).
  std::optional<ScanFacts> get(Repository& repo, CaseRepository& log, std::int64_t person_id);

  // For tests and metrics.
  std::size_t size() const;
  std::int64_t hits() const;
  std::int64_t known_seq() const;

 private:
  // The change number a snapshot holds (its read done once per snapshot); nullopt: no change
  // table (PostgreSQL, or a database before v41).
  std::optional<std::int64_t> snapshot_seq(Repository& repo, std::uint64_t snapshot);

  mutable std::mutex mu_;
  std::size_t max_;
  std::int64_t known_ = -1;  // every change up to this one is applied; -1: none read yet
  std::unordered_map<std::int64_t, ScanFacts> facts_;
  struct Seen {
    std::uint64_t snapshot = 0;
    std::int64_t seq = 0;
  };
  std::array<Seen, 16> seen_{};  // recent snapshots and their change numbers
  std::size_t seen_next_ = 0;
  std::int64_t hits_ = 0;
};

// Deletes all but the latest ScanFactsCache::kKeptChanges rows of scan_fact_changes (SQLite;
// nothing elsewhere). Returns the rows deleted.
std::int64_t trim_scan_fact_changes(Repository& repo);

}  // namespace bihuan::store
