#pragma once
// The venue-scan path's shared state (one per server, in cases::Settings): the group commit of
// the scan log, the verified health codes and the venues looked up.
//
// Group commit: each scan is decided outside the write lock (token, venue, person, colour), then
// its visit is handed to append(). The first caller that finds no group being committed commits
// everything queued so far in one write transaction on its own connection; the others wait until
// the group holding their visit has committed (an acknowledged scan is durable: it is answered
// only after its commit) and the next of them commits the group gathered meanwhile. Inside the
// group the visits are applied in arrival order: a repeat of a visit within
// trace.duplicate_seconds (also one earlier in the same group) is answered as that visit, an exit
// scan closes the person's latest visit. One visit's error (an exit scan with nothing to close)
// is that request's answer only; a database error rolls the group back and each of its visits is
// then tried alone, so that every request gets its own answer.
//
// On a SQLite file the group is one write() to the appender's segment of the file's scan queue
// (store/scan_queue.hpp), not a transaction of venue_scans: the main file is not written by a
// scan, so the other connections keep their page caches. A queued visit gets its final id from a
// block the appender reserved (once scans have begun the mover reserves the next block ahead, so
// that a committing caller, which may be an I/O thread of the server, seldom writes the main file
// itself); an exit scan is queued as an exit record. A mover thread moves the queue into
// venue_scans every `move_every` (the server's: trace.scan_move_ms, 500 ms by default) and once
// more when the appender ends; readers of the log move first, so they see every acknowledged
// visit.
//
// Recent visits (SQLite queue): the appender keeps in memory the latest visit of each (person,
// venue) it queued, with its exit, until the visit is in the log and older than the longest
// trace.duplicate_seconds seen (at most kMaxRecent are kept; more are let go early once moved).
// A duplicate is then looked up in memory, and in the log only when its window reaches back to
// the log's latest entry when the appender's first group began (among its last
// CaseRepository::kRecentScanIds ids, the visits appended last) or to a visit let go: no
// statement for the common new visit. An exit scan looks at memory and at the log and closes the
// later visit. Visits appended to the log by another writer meanwhile (another server process on
// the same file, an import) are seen by exit scans but not by the duplicate check, which then
// logs a second visit.
//
// Verified tokens: a token that verified is kept, keyed by its exact bytes, with its claims; a hit
// still checks the expiry against the time of the scan. Nothing else is taken from the cache (the
// colour comes from the person's orders at every scan). Venues: kept for a few seconds
// (kVenueSeconds) and forgotten at once when a venue is closed or reopened in this process.
#include <array>
#include <climits>
#include <deque>
#include <atomic>
#include <memory>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/date.hpp"
#include "core/health_code.hpp"
#include "store/case_repository.hpp"
#include "store/repository.hpp"
#include "store/scan_facts_cache.hpp"
#include "store/scan_queue.hpp"

namespace bihuan::cases {

class ScanLogIndex;

class ScanAppender {
 public:
  // `group_wait`: a caller that is to commit a group of fewer than kGroupTarget visits first waits
  // this long for more to join it (as PostgreSQL's commit_delay; setting trace.scan_group_wait_us).
  // `queue_main`: the SQLite file whose scan queue (store/scan_queue.hpp) takes the visits
  // (empty: they go into venue_scans directly, as on PostgreSQL); a mover thread then moves the
  // queue into venue_scans every `move_every` (none when zero: readers move first anyway) and
  // hands the visits that went in below the log's top to `index` (ScanLogIndex::late).
  explicit ScanAppender(std::chrono::microseconds group_wait = std::chrono::microseconds{0}, std::string queue_main = {},
                        std::shared_ptr<ScanLogIndex> index = nullptr,
                        std::chrono::milliseconds move_every = std::chrono::milliseconds{100});
  ~ScanAppender();
  ScanAppender(const ScanAppender&) = delete;
  ScanAppender& operator=(const ScanAppender&) = delete;
  static constexpr std::size_t kGroupTarget = 8;
  static constexpr int kVenueSeconds = 5;
  static constexpr std::size_t kMaxTokens = 200'000;  // the cache starts over when full

  // What is written for one scan.
  struct Visit {
    store::ScanRow row;             // venue, person, time, day, colour, pass, via, by_user
    std::string venue_code;         // for the exit scan's error
    bool exit = false;              // closes the person's latest visit of the last 24 h at the venue
    int duplicate_seconds = 0;      // a repeat within this (same pass) is the same visit
  };
  struct Result {
    std::int64_t scan_id = 0;
    bool duplicate = false;
    std::string colour;  // an exit scan: the colour of the visit it closed
  };

  // Appends `v` together with the visits of concurrent callers; returns once its group is
  // committed. `repo` is the caller's connection, outside any transaction (used if this caller
  // commits the group). Throws the visit's own error, or the group's database error.
  Result append(store::Repository& repo, Visit v);
  // Several visits in arrival order, all in one group (with whatever else is queued): each one's
  // result or error. For imports of many scans, and for tests.
  struct Outcome {
    Result result;
    std::exception_ptr error;
  };
  std::vector<Outcome> append_all(store::Repository& repo, std::vector<Visit> visits);

  // Moves the scan queue into venue_scans through `repo` (outside any transaction), as the mover
  // does; for readers of the log that must see every acknowledged visit (contact finding).
  // Returns the visits moved. Nothing without a queue.
  std::int64_t move(store::Repository& repo);
  bool queued() const { return !queue_main_.empty(); }

  // Verifies `token` for its issuer `keys` (code::verify_issued: by the issuer's MAC when it
  // carries one, else by the signature) unless these exact bytes verified before; the expiry is
  // checked against `now` either way.
  code::Claims verify(std::string_view token, const code::KeyPair& keys, Instant now);
  // The venue of `code` (at most kVenueSeconds old), read through `log` when not kept; null when
  // there is none. Shared, not copied: every scan at the door looks it up.
  std::shared_ptr<const store::VenueRow> venue(store::CaseRepository& log, const std::string& code, Instant now);
  void forget_venues();
  // The person's scan facts through `repo`'s held snapshot (`log` on the same connection): kept in
  // memory on a SQLite file with a queue (store/scan_facts_cache.hpp), else read.
  std::optional<store::ScanFacts> facts(store::Repository& repo, store::CaseRepository& log, std::int64_t person_id);
  const store::ScanFactsCache* facts_cache() const { return facts_.get(); }  // for tests

  // Whether the mover has a block of ids reserved ahead (for tests).
  bool spare_ready() const;
  // Counters (for tests and /metrics).
  std::int64_t groups() const;
  std::int64_t appended() const;
  std::int64_t token_hits() const;

 private:
  struct Entry {
    Visit visit;
    Result result;
    std::exception_ptr error;
    bool done = false;
  };
  // false: the visit's own error is in e.error (nothing written for it).
  static bool apply(store::CaseRepository& log, Entry& e);
  // The same into the queue (its group open), with the log read through `log` and the recent
  // visits (recent_mu_ held) changed as `undo` records.
  struct Undo;
  bool apply_queued(store::CaseRepository& log, Entry& e, Undo& undo);
  void commit(store::Repository& repo, const std::vector<Entry*>& group);
  void commit_queued(store::Repository& repo, const std::vector<Entry*>& group);
  void ensure_ids(store::Repository& repo, std::size_t n);
  void reserve_spare(store::Repository& repo);  // the mover: a block reserved ahead, if none is
  static constexpr std::int64_t kSpareBlocks = 64;  // 262,144 ids: seconds of scans at the highest rates
  void feed(const store::ScanMove& m);
  void mover_loop();
  void run(store::Repository& repo, std::vector<Entry>& mine);  // queues `mine`, returns when all are done

  std::chrono::microseconds group_wait_;
  mutable std::mutex mu_;
  std::condition_variable done_;
  std::vector<Entry*> queue_;  // guarded by mu_
  bool committing_ = false;    // guarded by mu_
  std::int64_t groups_ = 0, appended_ = 0;

  // The queue (SQLite): used by the committing caller only (committing_), with the ids of the
  // block reserved last, next_ .. end_.
  std::string queue_main_;
  std::shared_ptr<ScanLogIndex> index_;
  std::unique_ptr<store::ScanQueue> scanq_;
  std::int64_t next_ = 1, end_ = 0;
  mutable std::mutex ids_mu_;
  std::int64_t spare_next_ = 1, spare_end_ = 0;  // guarded by ids_mu_: reserved ahead by the mover
  std::atomic<bool> ids_taken_{false};            // a group has taken ids (the mover then reserves ahead)
  std::mutex move_mu_;
  std::condition_variable move_cv_;
  bool move_stop_ = false;  // guarded by move_mu_
  std::chrono::milliseconds move_every_;
  std::thread mover_;

  // Recent visits (see above), guarded by recent_mu_.
 public:
  static constexpr std::size_t kMaxRecent = 4'000'000;
  std::size_t recent_size() const;  // for tests

 private:
  struct RecentKey {
    std::int64_t person = 0, venue = 0;
    bool operator==(const RecentKey&) const = default;
  };
  struct RecentHash {
    std::size_t operator()(const RecentKey& k) const noexcept {
      return static_cast<std::size_t>((static_cast<std::uint64_t>(k.person) * 0x9E3779B97F4A7C15ull) ^
                                      static_cast<std::uint64_t>(k.venue));
    }
  };
  struct Recent {
    std::int64_t id = 0;
    std::int64_t entered_ms = 0;
    std::int64_t exited_ms = -1;  // -1: no exit
    std::uint64_t group = 0;      // the last group that wrote it (its visit or its exit)
    bool pass = true;
    std::string colour;
  };
  struct Aged {  // the recent visits in the order they were queued
    RecentKey key;
    std::int64_t id = 0;
    std::int64_t entered_ms = 0;
  };
  // Lets go of the recent visits moved by groups up to `moved` (the mover's).
  void moved_through(std::uint64_t moved);
  mutable std::mutex recent_mu_;
  std::unordered_map<RecentKey, Recent, RecentHash> recent_;
  std::deque<Aged> aged_;
  std::unordered_map<std::int64_t, std::pair<std::int64_t, std::uint64_t>> logged_exits_;  // visit id -> exit ms, group
  std::optional<std::int64_t> log_until_ms_;  // from the first group: the log's latest entry before it
  std::int64_t let_go_ms_ = INT64_MIN;      // the latest entry let go
  std::int64_t newest_ms_ = INT64_MIN;      // the latest entry queued
  int window_seconds_ = 0;                  // the longest duplicate_seconds seen
  std::uint64_t group_seq_ = 0;             // the committing caller's
  std::atomic<std::uint64_t> committed_seq_{0};

  mutable std::mutex cache_mu_;
  struct Key {
    std::array<unsigned char, 32> public_key;
    code::Claims claims;
  };
  struct TokenHash {  // looked up by the request's bytes, without a copy
    using is_transparent = void;
    // By the last 16 bytes: only tokens that verified are kept, and their ends are signature (or
    // issuer MAC) bytes that nobody but the issuer chooses, spread as well as the whole token's
    // hash would spread them at a tenth of its cost (equal keys are still compared whole).
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s.size() > 16 ? s.substr(s.size() - 16) : s);
    }
  };
  std::unordered_map<std::string, Key, TokenHash, std::equal_to<>> tokens_;  // guarded by cache_mu_
  struct KeptVenue {  // found venues only (a new venue is found at once)
    std::shared_ptr<const store::VenueRow> row;
    Instant read_at;
  };
  std::unordered_map<std::string, KeptVenue> venues_;  // guarded by cache_mu_
  std::int64_t token_hits_ = 0;
  std::unique_ptr<store::ScanFactsCache> facts_;  // with a queue only
};

}  // namespace bihuan::cases
