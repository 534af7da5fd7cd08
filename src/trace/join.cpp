#include "trace/join.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <tuple>

namespace bihuan::trace {
namespace {

// (contact, venue) -> position in a case's hits: open addressing, cleared per case by the slots
// it used.
class HitTable {
 public:
  HitTable() { resize(1u << 12); }
  // The slot of `key`; `fresh` tells whether it was empty (the caller then stores its value).
  struct Slot {
    std::uint64_t key;
    std::uint32_t idx;   // position of the hit among the case's hits
    std::uint32_t best;  // its largest overlap so far (seconds, saturated)
  };
  inline Slot& find(std::uint64_t key, bool& fresh) {
    if ((used_.size() + 1) * 2 > slots_.size()) [[unlikely]] grow();
    std::size_t i = mix(key) & mask_;
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
    fresh = slots_[i].key == kEmpty;
    if (fresh) {
      slots_[i].key = key;
      used_.push_back(static_cast<std::uint32_t>(i));
    }
    return slots_[i];
  }
  // Hands each used slot to fn, then empties the table.
  template <class F>
  void drain(F&& fn) {
    for (const auto i : used_) {
      fn(slots_[i]);
      slots_[i].key = kEmpty;
    }
    used_.clear();
  }

 private:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
  static std::size_t mix(std::uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return static_cast<std::size_t>(k);
  }
  void resize(std::size_t n) {
    slots_.assign(n, Slot{kEmpty, 0, 0});
    mask_ = n - 1;
  }
  [[gnu::noinline]] void grow() {
    std::vector<Slot> live;
    live.reserve(used_.size());
    for (const auto i : used_) live.push_back(slots_[i]);
    resize(slots_.size() * 2);
    used_.clear();
    for (const auto& x : live) {
      bool fresh = false;
      find(x.key, fresh) = x;
    }
  }
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> used_;
  std::size_t mask_ = 0;
};

// Hits go into memory offered to the kernel as transparent huge pages: a large query writes tens
// of megabytes of fresh memory, and one fault per 2 MiB instead of per 4 KiB is much cheaper.
void advise_huge(void* p, std::size_t bytes) noexcept {
  constexpr std::uintptr_t kHuge = std::uintptr_t{1} << 21;
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t from = (a + kHuge - 1) & ~(kHuge - 1), to = (a + bytes) & ~(kHuge - 1);
  // A hint only: without transparent huge pages nothing changes.
  if (to > from) ::madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE);
}

void reserve_huge(std::vector<ContactHit>& v, std::size_t n) {
  if (n <= v.capacity()) return;
  std::vector<ContactHit> bigger;
  bigger.reserve(n);
  advise_huge(bigger.data(), n * sizeof(ContactHit));
  bigger.insert(bigger.end(), v.begin(), v.end());
  v.swap(bigger);
}

[[gnu::noinline]] void grow(std::vector<ContactHit>& v) { reserve_huge(v, std::max<std::size_t>(4096, v.capacity() * 2)); }

void one_case(const VisitIndex& index, const CaseQuery& q, std::uint32_t c, const OverlapRule& rule, HitTable& table,
              std::vector<VisitIndex::Window>& windows, std::vector<ContactHit>& out) {
  // The case's hits are out[first...]: the table holds positions relative to it.
  const std::size_t first = out.size();
  auto need_at = [&rule](VenueId v) { return std::max<std::int64_t>(rule.at(v), 1); };
  windows.clear();
  for (const CaseVisit& raw : q.visits) {
    const CaseVisit v = clip(raw, q.window_start, q.window_end);
    // A stay shorter than the minimum cannot give a contact.
    if (v.end - v.start < need_at(v.venue)) continue;
    windows.push_back({v.venue, v.start, v.end});
  }
  // By venue: a venue's visits are walked together (their blocks are shared), and the table only
  // ever holds the contacts of the venues in hand, so it stays small enough for the cache.
  std::sort(windows.begin(), windows.end(), [](const VisitIndex::Window& a, const VisitIndex::Window& b) {
    return a.venue != b.venue ? a.venue < b.venue : a.from < b.from;
  });
  const std::size_t n = windows.size();
  for (std::size_t i = 0; i < n;) {
    // Up to kLanes windows, ending where a venue's run ends unless one venue alone has more.
    std::size_t j = std::min(i + VisitIndex::kLanes, n);
    if (j < n && windows[j].venue == windows[j - 1].venue) {
      std::size_t k = j - 1;
      while (k > i && windows[k - 1].venue == windows[j].venue) --k;
      if (k > i) j = k;
    }
    const std::span<const VisitIndex::Window> part(windows.data() + i, j - i);
    std::int64_t needs[VisitIndex::kLanes];
    for (std::size_t k = 0; k < part.size(); ++k) needs[k] = need_at(part[k].venue);
    index.overlapping_batch(part, [&](std::size_t k, PersonId p, std::int64_t entry, std::int64_t end) {
      if (p == q.person) return;
      const VisitIndex::Window& v = part[k];
      const std::int64_t overlap = std::min(end, v.to) - std::max(entry, v.from);
      if (overlap < needs[k]) return;
      const auto o = static_cast<std::uint32_t>(std::min<std::int64_t>(overlap, 0xFFFFFFFFll));
      bool fresh = false;
      HitTable::Slot& slot = table.find((std::uint64_t{p} << 32) | v.venue, fresh);
      if (fresh) {
        slot.idx = static_cast<std::uint32_t>(out.size() - first);
        slot.best = o;
        if (out.size() == out.capacity()) [[unlikely]] grow(out);
        out.push_back(ContactHit{c, p, v.venue, o});
      } else if (slot.best < o) {
        slot.best = o;
      }
    });
    i = j;
    // The largest overlaps into the hits once a venue's run is done.
    if (i == n || windows[i].venue != windows[i - 1].venue)
      table.drain([&](const HitTable::Slot& x) { out[first + x.idx].overlap_seconds = x.best; });
  }
}

}  // namespace

CaseVisit clip(const CaseVisit& v, std::int64_t window_start, std::int64_t window_end) noexcept {
  return CaseVisit{v.venue, std::max(v.start, window_start), std::min(v.end, window_end)};
}

void sort_hits(std::vector<ContactHit>& hits) {
  std::sort(hits.begin(), hits.end(), [](const ContactHit& a, const ContactHit& b) {
    return std::tie(a.case_index, a.contact, a.venue) < std::tie(b.case_index, b.contact, b.venue);
  });
}

std::vector<ContactHit> find_contacts(const VisitIndex& index, std::span<const CaseQuery> cases, const OverlapRule& rule,
                                      unsigned threads) {
  std::vector<ContactHit> out;
  // Room for a typical yield up front (about 19 contacts per case visit in the benchmark's city);
  // reserved, not touched, so a smaller query does not pay for it. At most 64 MiB: a reservation
  // larger than the machine's memory could be refused where the hits themselves would fit.
  std::size_t visits = 0;
  for (const auto& c : cases) visits += c.visits.size();
  constexpr std::size_t kMaxReserved = (std::size_t{64} << 20) / sizeof(ContactHit);
  const std::size_t expect = std::min(32 * visits, kMaxReserved);
  if (threads <= 1 || cases.size() < 2) {
    reserve_huge(out, expect);
    HitTable table;
    std::vector<VisitIndex::Window> windows;
    for (std::size_t c = 0; c < cases.size(); ++c)
      one_case(index, cases[c], static_cast<std::uint32_t>(c), rule, table, windows, out);
    return out;
  }
  // Cases handed out one at a time; each thread appends its cases' hits to its own vector, and
  // the parts are joined in case order at the end.
  struct Part {
    unsigned thread = 0;
    std::size_t begin = 0, end = 0;
  };
  std::vector<Part> part(cases.size());
  std::vector<std::vector<ContactHit>> mine(threads);
  std::atomic<std::size_t> next{0};
  auto work = [&](unsigned t) {
    HitTable table;
    std::vector<VisitIndex::Window> windows;
    std::vector<ContactHit>& hits = mine[t];
    reserve_huge(hits, expect / threads);
    for (std::size_t c; (c = next.fetch_add(1)) < cases.size();) {
      part[c] = Part{t, hits.size(), 0};
      one_case(index, cases[c], static_cast<std::uint32_t>(c), rule, table, windows, hits);
      part[c].end = hits.size();
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& t : pool) t.join();
  std::size_t n = 0;
  for (const auto& v : mine) n += v.size();
  reserve_huge(out, n);
  for (const Part& p : part) out.insert(out.end(), mine[p.thread].begin() + p.begin, mine[p.thread].begin() + p.end);
  return out;
}

}  // namespace bihuan::trace
