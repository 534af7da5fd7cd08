#include "cases/scan_appender.hpp"

#include <spdlog/spdlog.h>

#include <thread>

#include "cases/scan_log_index.hpp"
#include "core/error.hpp"
#include "core/health_code_mac.hpp"
#include "metrics/metrics.hpp"

namespace bihuan::cases {

namespace {
metrics::Counter& groups_counter() {
  static auto& c = metrics::counter("bihuan_scan_groups_total", "Groups of venue-scan visits committed together");
  return c;
}
metrics::Counter& visits_counter() {
  static auto& c = metrics::counter("bihuan_scan_group_visits_total", "Venue-scan visits passed through the group commit");
  return c;
}
metrics::Counter& token_hits_counter() {
  static auto& c = metrics::counter("bihuan_scan_token_cache_hits_total",
                                    "Health-code tokens of scans found verified already (same bytes)");
  return c;
}

metrics::Counter& moved_counter() {
  static auto& c = metrics::counter("bihuan_scan_queue_moved_total",
                                    "Venue-scan visits moved from the scan queue into venue_scans");
  return c;
}
metrics::Counter& move_failures_counter() {
  static auto& c = metrics::counter("bihuan_scan_queue_move_failures_total",
                                    "Moves of the scan queue into venue_scans that failed (tried again)");
  return c;
}

}  // namespace

ScanAppender::ScanAppender(std::chrono::microseconds group_wait, std::string queue_main,
                           std::shared_ptr<ScanLogIndex> index, std::chrono::milliseconds move_every)
    : group_wait_(group_wait), queue_main_(std::move(queue_main)), index_(std::move(index)), move_every_(move_every) {
  // Buckets for every recent visit it may keep, up front: rehashing millions of them inside a
  // group would hold its answers for tens of milliseconds.
  if (!queue_main_.empty()) {
    recent_.reserve(kMaxRecent);
    facts_ = std::make_unique<store::ScanFactsCache>();
  }
  if (!queue_main_.empty() && move_every_.count() > 0) mover_ = std::thread([this] { mover_loop(); });
}

ScanAppender::~ScanAppender() {
  if (mover_.joinable()) {
    {
      std::lock_guard lock(move_mu_);
      move_stop_ = true;
    }
    move_cv_.notify_all();
    mover_.join();
  }
}

void ScanAppender::feed(const store::ScanMove& m) {
  moved_counter().inc(static_cast<std::uint64_t>(m.visits));
  if (index_ && !m.late.empty()) index_->late(m.late);
}

// Moves the queue every move_every_, and once more when asked to stop.
void ScanAppender::mover_loop() {
  std::unique_ptr<store::Repository> repo;
  std::unique_ptr<store::ScanQueue> q;
  auto trimmed_at = std::chrono::steady_clock::now();
  std::unique_lock lock(move_mu_);
  for (;;) {
    const bool last = move_stop_;
    lock.unlock();
    try {
      if (!repo) repo = store::open_repository("sqlite:" + queue_main_);
      if (!q) q = std::make_unique<store::ScanQueue>(queue_main_);
      const std::uint64_t through = committed_seq_.load(std::memory_order_acquire);
      feed(q->move_into(*repo));
      moved_through(through);
      // Ids for the groups to come, reserved here rather than by a committing caller (which may
      // be an I/O thread of the server: a write of the main file can wait behind an import).
      reserve_spare(*repo);
      // The changes of scan facts the caches have read (store/scan_facts_cache.hpp), now and then.
      if (const auto now = std::chrono::steady_clock::now(); now - trimmed_at >= std::chrono::seconds{10}) {
        trimmed_at = now;
        store::trim_scan_fact_changes(*repo);
      }
    } catch (const std::exception& e) {
      move_failures_counter().inc();
      spdlog::warn("moving the scan queue into venue_scans failed (tried again): {}", e.what());
      q.reset();
      repo.reset();
    }
    lock.lock();
    if (last) return;
    move_cv_.wait_for(lock, move_every_, [&] { return move_stop_; });
  }
}

std::int64_t ScanAppender::move(store::Repository& repo) {
  if (queue_main_.empty()) return 0;
  if (store::inside_transaction(repo)) return 0;  // the caller moved before it began
  const std::uint64_t through = committed_seq_.load(std::memory_order_acquire);
  auto m = store::move_scan_queue(repo);
  feed(m);
  if (!store::sqlite_file_of(repo).empty()) moved_through(through);
  return m.visits;
}

void ScanAppender::moved_through(std::uint64_t moved) {
  std::lock_guard lock(recent_mu_);
  for (auto it = logged_exits_.begin(); it != logged_exits_.end();)
    it = it->second.second <= moved ? logged_exits_.erase(it) : std::next(it);
  const std::int64_t old_before =
      newest_ms_ == INT64_MIN ? INT64_MIN : newest_ms_ - std::int64_t{window_seconds_} * 1000;
  while (!aged_.empty()) {
    const Aged& a = aged_.front();
    auto it = recent_.find(a.key);
    if (it == recent_.end() || it->second.id != a.id) {  // replaced by a later visit (or gone)
      aged_.pop_front();
      continue;
    }
    // Kept while its visit or exit is not in the log yet, and while a duplicate can still be it
    // (unless too many are kept).
    if (it->second.group > moved) break;
    if (a.entered_ms >= old_before && recent_.size() <= kMaxRecent) break;
    let_go_ms_ = std::max(let_go_ms_, it->second.entered_ms);
    recent_.erase(it);
    aged_.pop_front();
  }
}

std::size_t ScanAppender::recent_size() const {
  std::lock_guard lock(recent_mu_);
  return recent_.size();
}

bool ScanAppender::apply(store::CaseRepository& log, Entry& e) {
  auto& v = e.visit;
  const Instant now = v.row.entered_at;
  if (v.exit) {
    // Closes the person's latest visit of the last day at this venue.
    auto last = log.latest_scan(v.row.person_id, v.row.venue_id, now - std::chrono::hours{24});
    if (!last || !last->pass) {
      e.error = std::make_exception_ptr(Error(ErrorCode::not_found, "no visit to close at " + v.venue_code, "venue"));
      return false;
    }
    if (!last->exited_at) log.set_exit(last->id, now);
    e.result.scan_id = last->id;
    e.result.colour = last->colour;
    return true;
  }
  if (v.duplicate_seconds > 0) {
    // Also a visit appended earlier in this group (same transaction).
    if (auto last = log.latest_scan(v.row.person_id, v.row.venue_id, now - std::chrono::seconds{v.duplicate_seconds});
        last && last->pass == v.row.pass) {
      e.result.duplicate = true;
      e.result.scan_id = last->id;
      return true;
    }
  }
  e.result.scan_id = log.append_scan(v.row);
  return true;
}

// The changes a group made to the recent visits, undone when its write fails.
struct ScanAppender::Undo {
  struct Step {
    RecentKey key;
    std::optional<Recent> before;  // the entry the group replaced or changed (none: it added one)
    std::int64_t logged_exit = 0;  // or: the logged visit whose exit it queued
  };
  std::vector<Step> steps;
  std::size_t aged = 0;  // entries it appended to aged_
};

bool ScanAppender::apply_queued(store::CaseRepository& log, Entry& e, Undo& undo) {
  auto& v = e.visit;
  const Instant now = v.row.entered_at;
  const std::int64_t now_ms = to_unix_ms(now);
  const RecentKey key{v.row.person_id, v.row.venue_id};
  auto mem = recent_.find(key);
  if (v.exit) {
    // The later of the visit kept here and the log's (another writer's, or one let go), of the
    // last 24 hours.
    const Instant since = now - std::chrono::hours{24};
    const std::int64_t since_ms = to_unix_ms(since);
    Recent* kept = mem != recent_.end() && mem->second.entered_ms >= since_ms ? &mem->second : nullptr;
    auto logged = log.latest_scan(v.row.person_id, v.row.venue_id, since);
    if (logged && kept) {
      const std::int64_t logged_ms = to_unix_ms(logged->entered_at);
      const bool logged_later = logged->id != kept->id && (logged_ms != kept->entered_ms ? logged_ms > kept->entered_ms
                                                                                          : logged->id > kept->id);
      if (logged_later)
        kept = nullptr;
      else
        logged.reset();
    }
    if (kept) {
      if (!kept->pass) {
        e.error = std::make_exception_ptr(Error(ErrorCode::not_found, "no visit to close at " + v.venue_code, "venue"));
        return false;
      }
      if (kept->exited_ms < 0) {
        store::ScanRow closed = v.row;
        closed.id = kept->id;
        scanq_->add_exit(closed, now);
        undo.steps.push_back({key, *kept, 0});
        kept->exited_ms = now_ms;
        kept->group = group_seq_;
      }
      e.result.scan_id = kept->id;
      e.result.colour = kept->colour;
      return true;
    }
    if (!logged || !logged->pass) {
      e.error = std::make_exception_ptr(Error(ErrorCode::not_found, "no visit to close at " + v.venue_code, "venue"));
      return false;
    }
    if (!logged->exited_at && !logged_exits_.contains(logged->id)) {
      scanq_->add_exit(*logged, now);
      logged_exits_[logged->id] = {now_ms, group_seq_};
      undo.steps.push_back({key, std::nullopt, logged->id});
    }
    e.result.scan_id = logged->id;
    e.result.colour = logged->colour;
    return true;
  }
  if (v.duplicate_seconds > 0) {
    window_seconds_ = std::max(window_seconds_, v.duplicate_seconds);
    const Instant since = now - std::chrono::seconds{v.duplicate_seconds};
    const std::int64_t since_ms = to_unix_ms(since);
    if (mem != recent_.end() && mem->second.entered_ms >= since_ms) {
      if (mem->second.pass == v.row.pass) {
        e.result.duplicate = true;
        e.result.scan_id = mem->second.id;
        return true;
      }
    } else if (!log_until_ms_ || since_ms <= *log_until_ms_ || since_ms <= let_go_ms_) {
      // The window reaches back to what is not kept here: the log too.
      if (auto last = log.latest_scan(v.row.person_id, v.row.venue_id, since); last && last->pass == v.row.pass) {
        e.result.duplicate = true;
        e.result.scan_id = last->id;
        return true;
      }
    }
  }
  if (next_ > end_) fail(ErrorCode::internal, "no scan id reserved");
  v.row.id = next_++;
  scanq_->add_visit(v.row);
  e.result.scan_id = v.row.id;
  // The latest visit of its person at its venue (an older one kept stays in the log's hands).
  if (mem == recent_.end() || mem->second.entered_ms <= now_ms) {
    Recent r;
    r.id = v.row.id;
    r.entered_ms = now_ms;
    r.group = group_seq_;
    r.pass = v.row.pass;
    r.colour = v.row.colour;
    if (mem == recent_.end()) {
      undo.steps.push_back({key, std::nullopt, 0});
      recent_.emplace(key, std::move(r));
    } else {
      undo.steps.push_back({key, mem->second, 0});
      mem->second = std::move(r);
    }
    aged_.push_back({key, v.row.id, now_ms});
    ++undo.aged;
  }
  return true;
}

void ScanAppender::ensure_ids(store::Repository& repo, std::size_t n) {
  const auto want = static_cast<std::int64_t>(n);
  if (end_ - next_ + 1 >= want) return;
  ids_taken_.store(true, std::memory_order_relaxed);
  {
    // The block the mover reserved ahead, if it is large enough: no write of the main file here.
    std::lock_guard lock(ids_mu_);
    if (spare_end_ - spare_next_ + 1 >= want) {
      next_ = spare_next_;
      end_ = spare_end_;
      spare_next_ = 1;
      spare_end_ = 0;
      return;
    }
  }
  const std::int64_t block = std::max(store::ScanQueue::kIdBlock, want);
  next_ = store::ScanQueue::reserve_ids(repo, block);
  end_ = next_ + block - 1;
}

void ScanAppender::reserve_spare(store::Repository& repo) {
  if (!ids_taken_.load(std::memory_order_relaxed)) return;  // no scan yet: the main file is not written
  {
    std::lock_guard lock(ids_mu_);
    if (spare_end_ >= spare_next_) return;
  }
  const std::int64_t block = kSpareBlocks * store::ScanQueue::kIdBlock;
  const std::int64_t first = store::ScanQueue::reserve_ids(repo, block);
  std::lock_guard lock(ids_mu_);
  spare_next_ = first;
  spare_end_ = first + block - 1;
}

void ScanAppender::commit_queued(store::Repository& repo, const std::vector<Entry*>& group) {
  try {
    auto log = store::open_case_repository(repo);
    if (!scanq_) scanq_ = std::make_unique<store::ScanQueue>(queue_main_);
    ensure_ids(repo, group.size());
    auto one_group = [&](const std::vector<Entry*>& es) {
      ++group_seq_;
      scanq_->begin();
      // The log is read through a snapshot at least as new as every move that has committed
      // (held reads begin a new one after any commit, db.hpp): a visit let go from memory is in it.
      // A caller that held its reads (the server's I/O thread) keeps them held afterwards; for any
      // other the snapshot ends with the group.
      const bool held = store::holding_reads(repo);
      // The snapshot is taken under recent_mu_: a visit the mover let go meanwhile (after its
      // move had committed) is then in it.
      std::unique_lock lock(recent_mu_);
      repo.hold_reads();
      Undo undo;
      const std::int64_t newest_before = newest_ms_;
      try {
        if (!log_until_ms_) {
          // Before the first group: the earlier visits are all in the log (or in another writer's
          // queue), none of them kept here.
          const auto last = log->recent_scan_entry();
          log_until_ms_ = last ? to_unix_ms(*last) : INT64_MIN;
        }
        // The group's recent visits looked up once ahead: a bucket of a table of millions is a
        // cache miss each, and these lookups overlap, where apply_queued's, one after another,
        // would each wait for its own miss (perf: the bucket load was 80 % of apply_queued).
        std::size_t ahead = 0;
        for (const auto* e : es)
          ahead += recent_.bucket_size(recent_.bucket(RecentKey{e->visit.row.person_id, e->visit.row.venue_id}));
        asm volatile("" : : "r"(ahead) : "memory");  // kept: only its loads matter
        for (auto* e : es) {
          e->error = nullptr;
          e->result = {};
          apply_queued(*log, *e, undo);
        }
        scanq_->commit();
      } catch (...) {
        scanq_->rollback();
        // Nothing of the group was written: its changes to the recent visits go too.
        for (auto it = undo.steps.rbegin(); it != undo.steps.rend(); ++it) {
          if (it->logged_exit != 0)
            logged_exits_.erase(it->logged_exit);
          else if (it->before)
            recent_[it->key] = *it->before;
          else
            recent_.erase(it->key);
        }
        for (std::size_t i = 0; i < undo.aged; ++i) aged_.pop_back();
        newest_ms_ = newest_before;
        lock.unlock();
        if (!held) repo.end_reads();
        throw;
      }
      for (auto* e : es)
        if (!e->visit.exit) newest_ms_ = std::max(newest_ms_, to_unix_ms(e->visit.row.entered_at));
      committed_seq_.store(group_seq_, std::memory_order_release);
      lock.unlock();
      if (!held) repo.end_reads();
    };
    try {
      one_group(group);
      return;
    } catch (const std::exception& x) {
      if (group.size() == 1) throw;
      spdlog::warn("venue scans: a group of {} could not be queued ({}); each is tried alone", group.size(), x.what());
    }
    for (auto* e : group) {
      try {
        ensure_ids(repo, 1);
        one_group({e});
      } catch (...) {
        e->result = {};
        e->error = std::current_exception();
      }
    }
  } catch (...) {
    scanq_.reset();  // opened again for the next group
    for (auto* g : group) {
      g->result = {};
      g->error = std::current_exception();
    }
  }
}

void ScanAppender::commit(store::Repository& repo, const std::vector<Entry*>& group) {
  if (!queue_main_.empty()) {
    commit_queued(repo, group);
    return;
  }
  try {
    auto log = store::open_case_repository(repo);
    try {
      repo.transaction([&] {
        for (auto* e : group) {
          e->error = nullptr;
          e->result = {};
          apply(*log, *e);
        }
      });
      return;
    } catch (const std::exception& x) {
      if (group.size() == 1) throw;
      spdlog::warn("venue scans: a group of {} could not be committed ({}); each is tried alone", group.size(), x.what());
    }
    // The group was rolled back: each visit alone, for its own answer.
    for (auto* e : group) {
      e->error = nullptr;
      e->result = {};
      try {
        repo.transaction([&] { apply(*log, *e); });
      } catch (...) {
        e->result = {};
        e->error = std::current_exception();
      }
    }
  } catch (...) {
    for (auto* e : group) {
      e->result = {};
      e->error = std::current_exception();
    }
  }
}

void ScanAppender::run(store::Repository& repo, std::vector<Entry>& mine) {
  std::unique_lock lock(mu_);
  for (auto& e : mine) queue_.push_back(&e);
  auto all_done = [&] {
    for (const auto& e : mine)
      if (!e.done) return false;
    return true;
  };
  while (!all_done()) {
    if (committing_) {
      done_.wait(lock);
      continue;
    }
    // Nobody is committing: this caller commits everything queued (its own visits included),
    // after a short wait for others to join a small group.
    committing_ = true;
    if (group_wait_.count() > 0 && queue_.size() < kGroupTarget) {
      lock.unlock();
      std::this_thread::sleep_for(group_wait_);
      lock.lock();
    }
    std::vector<Entry*> group;
    group.swap(queue_);
    lock.unlock();
    commit(repo, group);
    lock.lock();
    committing_ = false;
    ++groups_;
    groups_counter().inc();
    visits_counter().inc(group.size());
    for (auto* g : group) {
      if (!g->error && !g->result.duplicate && !g->visit.exit) ++appended_;
      g->done = true;
    }
    done_.notify_all();
  }
}

ScanAppender::Result ScanAppender::append(store::Repository& repo, Visit v) {
  std::vector<Entry> mine(1);
  mine[0].visit = std::move(v);
  run(repo, mine);
  if (mine[0].error) std::rethrow_exception(mine[0].error);
  return mine[0].result;
}

std::vector<ScanAppender::Outcome> ScanAppender::append_all(store::Repository& repo, std::vector<Visit> visits) {
  std::vector<Entry> mine(visits.size());
  for (std::size_t i = 0; i < visits.size(); ++i) mine[i].visit = std::move(visits[i]);
  run(repo, mine);
  std::vector<Outcome> out;
  out.reserve(mine.size());
  for (auto& e : mine) out.push_back({e.result, e.error});
  return out;
}

code::Claims ScanAppender::verify(std::string_view token, const code::KeyPair& keys, Instant now) {
  const auto& public_key = keys.public_key;
  {
    std::lock_guard lock(cache_mu_);
    auto it = tokens_.find(token);
    if (it != tokens_.end() && it->second.public_key == public_key && now < it->second.claims.expires) {
      ++token_hits_;
      token_hits_counter().inc();
      return it->second.claims;
    }
  }
  // Not kept, or expired (verify then answers exactly why).
  auto claims = code::verify_issued(token, keys, now);
  std::lock_guard lock(cache_mu_);
  if (tokens_.size() >= kMaxTokens) tokens_.clear();
  tokens_.insert_or_assign(std::string(token), Key{public_key, claims});
  return claims;
}

std::shared_ptr<const store::VenueRow> ScanAppender::venue(store::CaseRepository& log, const std::string& code,
                                                           Instant now) {
  {
    std::lock_guard lock(cache_mu_);
    auto it = venues_.find(code);
    if (it != venues_.end() && now >= it->second.read_at && now - it->second.read_at < std::chrono::seconds{kVenueSeconds})
      return it->second.row;
  }
  auto v = log.venue_by_code(code);
  if (!v) return nullptr;
  auto row = std::make_shared<const store::VenueRow>(std::move(*v));
  std::lock_guard lock(cache_mu_);
  if (venues_.size() >= 100'000) venues_.clear();
  venues_.insert_or_assign(code, KeptVenue{row, now});
  return row;
}

std::optional<store::ScanFacts> ScanAppender::facts(store::Repository& repo, store::CaseRepository& log,
                                                    std::int64_t person_id) {
  if (!facts_) return log.scan_facts(person_id);
  return facts_->get(repo, log, person_id);
}

void ScanAppender::forget_venues() {
  std::lock_guard lock(cache_mu_);
  venues_.clear();
}

bool ScanAppender::spare_ready() const {
  std::lock_guard lock(ids_mu_);
  return spare_end_ >= spare_next_;
}

std::int64_t ScanAppender::groups() const {
  std::lock_guard lock(mu_);
  return groups_;
}
std::int64_t ScanAppender::appended() const {
  std::lock_guard lock(mu_);
  return appended_;
}
std::int64_t ScanAppender::token_hits() const {
  std::lock_guard lock(cache_mu_);
  return token_hits_;
}

}  // namespace bihuan::cases
