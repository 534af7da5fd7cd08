#include "store/scan_facts_cache.hpp"

#include <utility>
#include <vector>

#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {
// More changes than this since the cache's last read: it starts over instead of reading them.
constexpr std::int64_t kMaxRead = 10'000;
}  // namespace

std::optional<std::int64_t> ScanFactsCache::snapshot_seq(Repository& repo, std::uint64_t snapshot) {
  {
    std::lock_guard lock(mu_);
    for (const auto& s : seen_)
      if (s.snapshot == snapshot) return s.seq;
  }
  Db& db = database_of(repo);
  if (db.backend() != Backend::sqlite) return std::nullopt;
  std::int64_t after = 0;
  {
    std::lock_guard lock(mu_);
    after = known_;
  }
  // The highest change number ever given (AUTOINCREMENT's high-water mark: it never goes back,
  // also when the rows are trimmed), then the changes past `after`, all through the snapshot.
  std::int64_t high = 0;
  {
    Q h(db, "SELECT seq FROM sqlite_sequence WHERE name = 'scan_fact_changes'");
    if (h.next()) high = h.int64(0);
  }
  std::vector<std::pair<std::int64_t, std::int64_t>> changes;
  bool start_over = after < 0;
  if (!start_over && high > after) {
    if (high - after > kMaxRead) {
      start_over = true;
    } else {
      Q c(db, "SELECT seq, person_id FROM scan_fact_changes WHERE seq > ? AND seq <= ? ORDER BY seq");
      c.i64(after).i64(high);
      while (c.next()) changes.emplace_back(c.int64(0), c.int64(1));
      // Committed changes are numbered without gaps; missing ones were trimmed unseen.
      if (static_cast<std::int64_t>(changes.size()) != high - after) start_over = true;
    }
  }
  std::lock_guard lock(mu_);
  if (high > known_ || known_ < 0) {
    if (start_over) {
      facts_.clear();
    } else {
      for (const auto& [seq, person] : changes)
        if (seq > known_) facts_.erase(person);
    }
    known_ = high;
  }
  seen_[seen_next_] = Seen{snapshot, high};
  seen_next_ = (seen_next_ + 1) % seen_.size();
  return high;
}

std::optional<ScanFacts> ScanFactsCache::get(Repository& repo, CaseRepository& log, std::int64_t person_id) {
  const std::uint64_t snapshot = repo.held_snapshot();
  if (snapshot == 0) return log.scan_facts(person_id);
  const auto seq = snapshot_seq(repo, snapshot);
  if (!seq) return log.scan_facts(person_id);
  {
    std::lock_guard lock(mu_);
    if (auto it = facts_.find(person_id); it != facts_.end()) {
      ++hits_;
      return it->second;
    }
  }
  auto f = log.scan_facts(person_id);
  if (f) {
    std::lock_guard lock(mu_);
    // Only facts as new as every change the cache has applied: a change past this snapshot may
    // have forgotten this person already.
    if (*seq >= known_) {
      if (facts_.size() >= max_) facts_.clear();
      facts_.insert_or_assign(person_id, *f);
    }
  }
  return f;
}

std::size_t ScanFactsCache::size() const {
  std::lock_guard lock(mu_);
  return facts_.size();
}
std::int64_t ScanFactsCache::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}
std::int64_t ScanFactsCache::known_seq() const {
  std::lock_guard lock(mu_);
  return known_;
}

std::int64_t trim_scan_fact_changes(Repository& repo) {
  Db& db = database_of(repo);
  if (db.backend() != Backend::sqlite) return 0;
  Q q(db,
      "DELETE FROM scan_fact_changes WHERE seq <= "
      "(SELECT seq FROM sqlite_sequence WHERE name = 'scan_fact_changes') - ?");
  q.i64(ScanFactsCache::kKeptChanges);
  return q.run();
}

}  // namespace bihuan::store
