#include "trace/join.hpp"

#include <algorithm>
#include <atomic>
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

void one_case(const VisitIndex& index, const CaseQuery& q, std::uint32_t c, const OverlapRule& rule, HitTable& table,
              std::vector<ContactHit>& out) {
  // The case's hits are out[first...]: the table holds positions relative to it.
  const std::size_t first = out.size();
  for (const CaseVisit& raw : q.visits) {
    const CaseVisit v = clip(raw, q.window_start, q.window_end);
    const std::int64_t need = std::max<std::int64_t>(rule.at(v.venue), 1);
    // A stay shorter than the minimum cannot give a contact.
    if (v.end - v.start < need) continue;
    index.overlapping(v.venue, v.start, v.end, [&](PersonId p, std::int64_t entry, std::int64_t end) {
      if (p == q.person) return;
      const std::int64_t overlap = std::min(end, v.end) - std::max(entry, v.start);
      if (overlap < need) return;
      const auto o = static_cast<std::uint32_t>(std::min<std::int64_t>(overlap, 0xFFFFFFFFll));
      bool fresh = false;
      HitTable::Slot& slot = table.find((std::uint64_t{p} << 32) | v.venue, fresh);
      if (fresh) {
        slot.idx = static_cast<std::uint32_t>(out.size() - first);
        slot.best = o;
        out.push_back(ContactHit{c, p, v.venue, overlap});
      } else if (slot.best < o) {
        slot.best = o;
      }
    });
  }
  // The largest overlaps into the hits (an overlap is at most a visit's duration, < 2^32 s).
  table.drain([&](const HitTable::Slot& x) { out[first + x.idx].overlap_seconds = x.best; });
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
  if (threads <= 1 || cases.size() < 2) {
    HitTable table;
    for (std::size_t c = 0; c < cases.size(); ++c) one_case(index, cases[c], static_cast<std::uint32_t>(c), rule, table, out);
    return out;
  }
  // Cases handed out one at a time; each case's hits kept apart and joined in case order.
  std::vector<std::vector<ContactHit>> per_case(cases.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    HitTable table;
    for (std::size_t c; (c = next.fetch_add(1)) < cases.size();)
      one_case(index, cases[c], static_cast<std::uint32_t>(c), rule, table, per_case[c]);
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  std::size_t n = 0;
  for (const auto& v : per_case) n += v.size();
  out.reserve(n);
  for (const auto& v : per_case) out.insert(out.end(), v.begin(), v.end());
  return out;
}

}  // namespace bihuan::trace
