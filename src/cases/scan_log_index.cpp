#include "cases/scan_log_index.hpp"

#include <algorithm>
#include <iterator>
#include <limits>
#include <set>

namespace bihuan::cases {

using namespace std::chrono;

namespace {

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;
constexpr std::int64_t kDaySeconds = 24LL * 3600;
// Ids read within this long are read again at the next refresh (a PostgreSQL transaction can
// commit a lower id after a higher one was read).
constexpr auto kLag = seconds{60};
// After the first load, the last this many ids are read again as well.
constexpr std::int64_t kFirstTail = 20000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return -floor_div(-a, b); }
std::int64_t ms_of(Instant t) { return t.time_since_epoch().count(); }

}  // namespace

bool ScanLogIndex::encodable(std::int64_t entered_ms) {
  const std::int64_t rel = floor_div(entered_ms, 1000) - kBase;
  return rel >= std::numeric_limits<std::int32_t>::min() && rel <= std::numeric_limits<std::int32_t>::max();
}

std::uint32_t ScanLogIndex::end_code(const store::TraceLogRow& r, std::int64_t entered_s, Instant now) {
  if (r.exited_at_ms) {
    // tracing::visit_end: an exit before the entry is ignored (the dwell applies); an exit is
    // never changed once set (cases::Service::scan).
    if (*r.exited_at_ms < r.entered_at_ms) return kClosedByDwell;
    const std::int64_t dur = ceil_div(*r.exited_at_ms - entered_s * 1000, 1000);
    if (dur >= static_cast<std::int64_t>(kUnbounded) - 2) return kUnbounded;
    return static_cast<std::uint32_t>(2 + dur);
  }
  // An exit scan at time t closes only a visit that entered at t - 24 h or later.
  if (r.entered_at_ms < ms_of(now) - kDayMs) return kClosedByDwell;
  return kOpen;
}

void ScanLogIndex::add(const store::TraceLogRow& r, Instant now) {
  last_id_ = std::max(last_id_, r.id);
  if (!r.pass) return;  // a stopped scan is no visit (and stays one)
  if (!encodable(r.entered_at_ms)) {
    odd_[r.venue_id].push_back(r.id);
    ++rows_;
    return;
  }
  const std::int64_t es = floor_div(r.entered_at_ms, 1000);
  auto& v = venues_[r.venue_id];
  v.push_back(Rec{r.id, static_cast<std::int32_t>(es - kBase), end_code(r, es, now)});
  ++rows_;
}

bool ScanLogIndex::refresh(store::TraceRepository& log, Instant now) {
  std::lock_guard lock(mu_);
  return refresh_locked(log, now);
}

namespace {
struct WarmStopped {};
}  // namespace

bool ScanLogIndex::warm(store::TraceRepository& log, Instant now, const std::function<bool(std::int64_t)>& go_on) {
  std::lock_guard lock(mu_);
  if (loaded_) return refresh_locked(log, now);
  go_on_ = &go_on;
  try {
    const bool ok = refresh_locked(log, now);
    go_on_ = nullptr;
    return ok;
  } catch (const WarmStopped&) {
    go_on_ = nullptr;
    clear();
    return false;
  } catch (...) {
    go_on_ = nullptr;
    clear();
    throw;
  }
}

bool ScanLogIndex::loaded() const {
  std::lock_guard lock(mu_);
  return loaded_;
}

void ScanLogIndex::clear() {
  venues_.clear();
  odd_.clear();
  marks_.clear();
  tail_ids_.clear();
  last_id_ = floor_id_ = rows_ = reread_from_ = 0;
  loaded_ = false;
}

bool ScanLogIndex::refresh_locked(store::TraceRepository& log, Instant now) {
  const auto t = steady_clock::now();
  // Rows below the log's smallest id have been purged: sweep them out once a good share has gone.
  const std::int64_t min_id = log.min_scan_id();
  if (!loaded_ && min_id > 0 && log.max_scan_id() - min_id + 1 > max_rows_) return false;
  if ((min_id == 0 && rows_ > 0) || min_id - floor_id_ > std::max<std::int64_t>(1024, rows_ / 32)) {
    const std::int64_t cut = min_id == 0 ? std::numeric_limits<std::int64_t>::max() : min_id;
    for (auto it = venues_.begin(); it != venues_.end();) {
      auto& v = it->second;
      const auto n0 = v.size();
      std::erase_if(v, [&](const Rec& r) { return r.id < cut; });
      rows_ -= static_cast<std::int64_t>(n0 - v.size());
      if (v.empty()) {
        it = venues_.erase(it);
      } else {
        v.shrink_to_fit();
        ++it;
      }
    }
    for (auto it = odd_.begin(); it != odd_.end();) {
      const auto n0 = it->second.size();
      std::erase_if(it->second, [&](std::int64_t id) { return id < cut; });
      rows_ -= static_cast<std::int64_t>(n0 - it->second.size());
      it = it->second.empty() ? odd_.erase(it) : std::next(it);
    }
    floor_id_ = min_id == 0 ? last_id_ : min_id;
  }

  // Venues that get rows in this refresh, with their size before it (sorted up to there).
  std::unordered_map<std::int64_t, std::size_t> before;
  auto take = [&](const store::TraceLogRow& r) {
    if (r.pass && encodable(r.entered_at_ms)) {
      auto it = venues_.find(r.venue_id);
      before.try_emplace(r.venue_id, it == venues_.end() ? 0 : it->second.size());
    }
    add(r, now);
  };

  // Rows a mover put in below the tail already read (ScanLogIndex::late): before this refresh's
  // rows, so that the venues' lists are still sorted for has(); rows above last_id_ are read
  // from the log below.
  {
    std::vector<store::TraceLogRow> late;
    bool overflow = false;
    {
      std::lock_guard l(late_mu_);
      late.swap(late_);
      overflow = late_overflow_;
      late_overflow_ = false;
    }
    if (overflow && loaded_) {
      clear();  // loaded again below
      before.clear();
    } else if (loaded_) {
      for (const auto& r : late)
        if (r.id <= last_id_ && r.id >= floor_id_ && !has(r)) {
          const auto keep_last = last_id_;
          take(r);
          last_id_ = keep_last;
        }
    }
  }

  const bool in_order = log.ids_commit_in_order();
  if (!loaded_) {
    const std::int64_t top = log.max_scan_id();
    reread_from_ = in_order ? top : std::max<std::int64_t>(0, top - kFirstTail);
    std::int64_t read = 0;
    log.for_each_log_row_after(0, [&](const store::TraceLogRow& r) {
      if (r.id > reread_from_) tail_ids_.insert(r.id);
      take(r);
      if (go_on_ && ++read % kWarmStep == 0 && !(*go_on_)(read)) throw WarmStopped{};
    });
    loaded_ = true;
  } else if (in_order) {
    // SQLite: every id up to the last one read is final; read what is above it.
    if (log.max_scan_id() > last_id_)
      log.for_each_log_row_after(last_id_, [&](const store::TraceLogRow& r) { take(r); });
    reread_from_ = last_id_;
    tail_ids_.clear();
  } else {
    // Move the re-read mark to what was read at least kLag ago.
    while (!marks_.empty() && marks_.front().first + kLag <= t) {
      reread_from_ = std::max(reread_from_, marks_.front().second);
      marks_.pop_front();
    }
    std::erase_if(tail_ids_, [&](std::int64_t id) { return id <= reread_from_; });
    if (reread_from_ < last_id_ || log.max_scan_id() > last_id_) {
      log.for_each_log_row_after(reread_from_, [&](const store::TraceLogRow& r) {
        if (!tail_ids_.insert(r.id).second) return;  // read already
        take(r);
      });
    }
  }
  marks_.emplace_back(t, last_id_);
  if (rows_ > max_rows_) {
    clear();
    return false;
  }

  for (const auto& [venue, n0] : before) {
    auto& v = venues_[venue];
    const auto mid = v.begin() + static_cast<std::ptrdiff_t>(n0);
    std::sort(mid, v.end(), by_entry);
    if (n0 > 0 && by_entry(*mid, *(mid - 1))) std::inplace_merge(v.begin(), mid, v.end(), by_entry);
    if (n0 == 0) v.shrink_to_fit();  // a venue's first rows (the first load): no spare capacity
  }
  return true;
}

std::optional<std::vector<std::vector<store::TraceLogRow>>> ScanLogIndex::lookup(store::TraceRepository& log,
                                                                                 const std::vector<Query>& qs,
                                                                                 Instant now) {
  std::lock_guard lock(mu_);
  if (!refresh_locked(log, now)) return std::nullopt;

  struct Hit {
    std::int64_t venue;
    std::size_t pos;  // in venues_[venue]; SIZE_MAX for an odd row
    std::int64_t id;
  };
  std::vector<std::vector<Hit>> hits(qs.size());
  std::vector<std::int64_t> ids;
  for (std::size_t qi = 0; qi < qs.size(); ++qi) {
    const auto& q = qs[qi];
    const std::int64_t from_s = floor_div(ms_of(q.from), 1000);
    const std::int64_t to_last_s = floor_div(ms_of(q.to) - 1, 1000);
    const std::int64_t a0 = floor_div(ms_of(q.a0), 1000);
    const std::int64_t a1 = ceil_div(ms_of(q.a1), 1000);
    const std::int64_t need = std::max<std::int64_t>(q.need.count(), 1);
    const std::int64_t dwell = duration_cast<seconds>(q.dwell).count();
    const std::int64_t open_len = 1 + std::max(dwell, kDaySeconds);
    if (auto it = venues_.find(q.venue_id); it != venues_.end()) {
      const auto& v = it->second;
      // First record entering at or after from_s (kBase-relative, compared in 64 bits).
      auto first = std::partition_point(v.begin(), v.end(), [&](const Rec& r) { return r.entered + kBase < from_s; });
      for (auto r = first; r != v.end() && r->entered + kBase <= to_last_s; ++r) {
        const std::int64_t e = r->entered + kBase;
        const std::int64_t end = r->end == kOpen            ? e + open_len
                                 : r->end == kClosedByDwell ? e + 1 + dwell
                                 : r->end == kUnbounded     ? std::numeric_limits<std::int64_t>::max() / 4
                                                            : e + static_cast<std::int64_t>(r->end - 2);
        if (std::min(a1, end) - std::max(a0, e) < need) continue;
        hits[qi].push_back(Hit{q.venue_id, static_cast<std::size_t>(r - v.begin()), r->id});
        ids.push_back(r->id);
      }
    }
    if (auto it = odd_.find(q.venue_id); it != odd_.end())
      for (auto id : it->second) {
        hits[qi].push_back(Hit{q.venue_id, SIZE_MAX, id});
        ids.push_back(id);
      }
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::unordered_map<std::int64_t, store::TraceLogRow> now_rows;
  if (!ids.empty()) {
    auto rows = log.log_rows_by_ids(ids);
    now_rows.reserve(rows.size());
    for (auto& r : rows) now_rows.emplace(r.id, r);
  }
  read_back_ += static_cast<std::int64_t>(ids.size());

  std::vector<std::vector<store::TraceLogRow>> out(qs.size());
  std::set<std::pair<std::int64_t, std::size_t>> gone;  // (venue, pos) of rows no longer in the log
  for (std::size_t qi = 0; qi < qs.size(); ++qi) {
    const auto& q = qs[qi];
    for (const auto& h : hits[qi]) {
      auto it = now_rows.find(h.id);
      if (it == now_rows.end()) {
        if (h.pos != SIZE_MAX) gone.emplace(h.venue, h.pos);
        continue;
      }
      const auto& r = it->second;
      if (h.pos != SIZE_MAX) {
        auto& rec = venues_[h.venue][h.pos];
        rec.end = end_code(r, rec.entered + kBase, now);
      }
      if (r.venue_id != q.venue_id || !r.pass || r.entered_at_ms < ms_of(q.from) || r.entered_at_ms >= ms_of(q.to))
        continue;
      out[qi].push_back(r);
    }
    std::sort(out[qi].begin(), out[qi].end(), [](const store::TraceLogRow& a, const store::TraceLogRow& b) {
      return a.entered_at_ms != b.entered_at_ms ? a.entered_at_ms < b.entered_at_ms : a.id < b.id;
    });
    out[qi].erase(std::unique(out[qi].begin(), out[qi].end(),
                              [](const store::TraceLogRow& a, const store::TraceLogRow& b) { return a.id == b.id; }),
                  out[qi].end());
  }
  // Rows gone from the log leave the index (back to front, so positions stay valid).
  for (auto it = gone.rbegin(); it != gone.rend(); ++it) {
    auto& v = venues_[it->first];
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(it->second));
    --rows_;
    ++dropped_;
  }
  return out;
}

bool ScanLogIndex::has(const store::TraceLogRow& r) const {
  if (!r.pass) return true;  // never indexed
  if (!encodable(r.entered_at_ms)) {
    auto it = odd_.find(r.venue_id);
    return it != odd_.end() && std::find(it->second.begin(), it->second.end(), r.id) != it->second.end();
  }
  auto it = venues_.find(r.venue_id);
  if (it == venues_.end()) return false;
  const Rec key{r.id, static_cast<std::int32_t>(floor_div(r.entered_at_ms, 1000) - kBase), 0};
  return std::binary_search(it->second.begin(), it->second.end(), key, by_entry);
}

void ScanLogIndex::late(const std::vector<store::TraceLogRow>& rows) {
  std::lock_guard l(late_mu_);
  if (late_overflow_) return;
  if (late_.size() + rows.size() > kMaxLate) {
    late_.clear();
    late_.shrink_to_fit();
    late_overflow_ = true;
    return;
  }
  late_.insert(late_.end(), rows.begin(), rows.end());
}

ScanLogIndex::Stats ScanLogIndex::stats() const {
  std::lock_guard lock(mu_);
  Stats s;
  s.rows = rows_;
  s.venues = static_cast<std::int64_t>(venues_.size());
  s.last_id = last_id_;
  s.read_back = read_back_;
  s.dropped = dropped_;
  std::int64_t bytes = 0;
  for (const auto& [id, v] : venues_) bytes += static_cast<std::int64_t>(v.capacity() * sizeof(Rec) + 64);
  for (const auto& [id, v] : odd_) bytes += static_cast<std::int64_t>(v.capacity() * sizeof(std::int64_t) + 64);
  s.bytes = bytes;
  return s;
}

}  // namespace bihuan::cases
