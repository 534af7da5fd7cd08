#pragma once
// The visit index of batch contact finding (流调 scan co-location, docs/TRACE.md): every venue
// scan kept as one 12-byte record, per venue in entry-time order, built as scans arrive.
//
// Layout. A record is {person u32, entry u32, duration u32}: person is a dense id given by the
// caller, entry is seconds since the index's base instant (so an index covers 136 years from its
// base), duration is whole seconds (the exit scan's time minus the entry's, or the venue's dwell
// time when the visit has no exit scan; the caller resolves which). Records live in blocks of
// kBlock records carved out of large slabs; a venue owns a contiguous list of its blocks, and every
// block of a venue except its last is full, so a venue is one logical array sorted by entry (ties
// keep arrival order). The list holds per block its first entry, the latest end of its records and
// the latest end of all records of the venue up to and including it (a prefix maximum): a query
// binary-searches the list for the last block that starts before its end, walks back, skips
// blocks that end before its start and stops at the first block whose prefix maximum ends before
// its start, so a long stay (an overnight visit, a missing exit) widens the search only at its own
// venue and only for the blocks after it, and records are read only in blocks that may overlap.
//
// Arrivals: a visit that entered at or after the venue's last record is appended (the usual
// case: scans arrive roughly in time order). An earlier one is inserted at its place, shifting
// the venue's later records by one (cost proportional to how far out of order it is).
//
// memory_bytes() counts every byte the index holds in its containers (slabs, the per-venue block
// lists by capacity, the venue table), which is what the "bytes per stored visit" figure divides.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace bihuan::trace {

using PersonId = std::uint32_t;
using VenueId = std::uint32_t;

class VisitIndex {
 public:
  static constexpr std::uint32_t kBlock = 32;         // records per block
  // Blocks per slab: a slab is one 2 MiB-aligned region of at most 2 MiB, offered to the kernel
  // as a transparent huge page (a query's blocks are scattered over the whole index; one TLB
  // entry per 2 MiB instead of per 4 KiB keeps the walk from missing the TLB at every block).
  static constexpr std::uint32_t kSlabBlocks = (std::size_t{1} << 21) / (kBlock * 12);

  struct Record {
    std::uint32_t person;
    std::uint32_t entry;     // seconds since base()
    std::uint32_t duration;  // seconds
  };

  // base_unix_seconds: the earliest entry the index can hold; the latest is base + 2^32 - 1 s.
  explicit VisitIndex(std::int64_t base_unix_seconds) : base_(base_unix_seconds) {}
  VisitIndex(VisitIndex&&) noexcept = default;
  VisitIndex& operator=(VisitIndex&&) noexcept = default;

  // Adds one visit; entry in unix seconds, duration >= 0 seconds. Throws
  // Error(invalid_argument) when the entry is outside the index's range or the duration is
  // negative or longer than 2^32 - 1 seconds. Venue ids are dense (0, 1, ...): the index grows
  // to hold `venue`.
  void add(VenueId venue, PersonId person, std::int64_t entry_unix_seconds, std::int64_t duration_seconds);

  // Calls fn(person, entry_unix_seconds, end_unix_seconds) for every visit at `venue` that
  // overlaps [from, to): entry < to and entry + duration > from. Order: entry descending.
  template <class F>
  void overlapping(VenueId venue, std::int64_t from, std::int64_t to, F&& fn) const;

  // One window of overlapping_batch.
  struct Window {
    VenueId venue = 0;
    std::int64_t from = 0, to = 0;  // unix seconds, [from, to)
  };
  // The same as overlapping() for each window, with fn(k, person, entry, end) for window k (in
  // window order, each window's visits in entry-descending order), but the windows' reads are
  // issued together: a query's cost is a few dependent reads per window (the venue, the steps of
  // the search in its block list, the blocks), each a cache and TLB miss in a large index, and
  // walking kLanes windows in step keeps that many misses in flight instead of one.
  template <class F>
  void overlapping_batch(std::span<const Window> windows, F&& fn) const;
  static constexpr std::size_t kLanes = 16;

  std::int64_t base() const noexcept { return base_; }
  std::size_t visits() const noexcept { return visits_; }
  std::size_t venue_count() const noexcept { return venues_.size(); }
  std::uint32_t visits_at(VenueId venue) const noexcept {
    return venue < venues_.size() ? venues_[venue].count : 0;
  }
  // The i-th record (0-based, entry order) of a venue; i < visits_at(venue).
  const Record& at(VenueId venue, std::uint32_t i) const noexcept {
    const Venue& v = venues_[venue];
    return record(v.blocks[i / kBlock].block, i % kBlock);
  }
  // Bytes held by all containers of the index (see above).
  std::size_t memory_bytes() const noexcept;
  // How many visits arrived out of order (inserted rather than appended), and how many records
  // those insertions shifted.
  std::size_t out_of_order() const noexcept { return out_of_order_; }
  std::size_t shifted() const noexcept { return shifted_; }

 private:
  static constexpr std::uint32_t kOpenEnd = 0xFFFFFFFFu;
  // A venue's block: where its records are and what a query needs to know before reading them,
  // kept in the venue's own contiguous list so that the search and the walk back touch the
  // records only where they may overlap.
  struct BlockRef {
    std::uint32_t block;           // number of the block in the slabs
    std::uint32_t first_entry;     // entry of its first record
    std::uint32_t max_end;         // latest entry + duration in the block (saturated)
    std::uint32_t prefix_max_end;  // latest end in this block and every earlier block of its venue
  };
  struct Slab {
    Record records[kSlabBlocks][kBlock];
  };
  struct FreeSlab {
    void operator()(Slab* s) const noexcept;
  };
  struct Venue {
    std::vector<BlockRef> blocks;
    std::uint32_t count = 0;
  };

  Record* block_records(std::uint32_t b) noexcept { return slabs_[b / kSlabBlocks]->records[b % kSlabBlocks]; }
  const Record* block_records(std::uint32_t b) const noexcept {
    return slabs_[b / kSlabBlocks]->records[b % kSlabBlocks];
  }
  const Record& record(std::uint32_t b, std::uint32_t i) const noexcept { return block_records(b)[i]; }
  // Whether a stay ending at `end` (saturated at kOpenEnd, which never rules a block out) may
  // still be there at `rel_from`.
  static bool reaches(std::uint32_t end, std::int64_t rel_from) noexcept {
    return end == kOpenEnd || static_cast<std::int64_t>(end) > rel_from;
  }
  std::uint32_t new_block();
  void refresh_meta(Venue& v, std::size_t from_block);

  std::int64_t base_;
  std::vector<std::unique_ptr<Slab, FreeSlab>> slabs_;
  std::uint32_t blocks_used_ = 0;
  std::vector<Venue> venues_;
  std::size_t visits_ = 0;
  std::size_t out_of_order_ = 0;
  std::size_t shifted_ = 0;
};

template <class F>
void VisitIndex::overlapping(VenueId venue, std::int64_t from, std::int64_t to, F&& fn) const {
  const Window w{venue, from, to};
  overlapping_batch(std::span<const Window>(&w, 1),
                    [&fn](std::size_t, PersonId p, std::int64_t entry, std::int64_t end) { fn(p, entry, end); });
}

template <class F>
void VisitIndex::overlapping_batch(std::span<const Window> windows, F&& fn) const {
  struct Lane {
    const Venue* v;
    std::int64_t rel_from, rel_to;
    std::size_t lo, hi;  // the search's bounds in v->blocks
  };
  Lane lane[kLanes];
  auto prefetch_block = [this](std::uint32_t b) {
    const char* p = reinterpret_cast<const char*>(block_records(b));
    for (std::size_t k = 0; k < sizeof(Record) * kBlock; k += 64) __builtin_prefetch(p + k);
  };
  for (std::size_t base = 0; base < windows.size(); base += kLanes) {
    const std::size_t n = std::min(kLanes, windows.size() - base);
    // 1. The venues (each window's first miss), all at once.
    for (std::size_t k = 0; k < n; ++k)
      if (windows[base + k].venue < venues_.size()) __builtin_prefetch(&venues_[windows[base + k].venue]);
    // 2. The search bounds, and the first step's entry of each block list.
    for (std::size_t k = 0; k < n; ++k) {
      const Window& w = windows[base + k];
      Lane& l = lane[k];
      l.v = nullptr;
      if (w.venue >= venues_.size() || w.to <= w.from) continue;
      const Venue& v = venues_[w.venue];
      l.rel_from = w.from - base_;
      l.rel_to = w.to - base_;
      if (v.count == 0 || l.rel_to <= 0) continue;  // every stored entry is >= 0
      l.v = &v;
      l.lo = 0;
      l.hi = v.blocks.size();
      __builtin_prefetch(&v.blocks[l.lo + (l.hi - l.lo) / 2]);
    }
    // 3. The searches in step, one level per round: the last block that starts before `to`.
    for (bool more = true; more;) {
      more = false;
      for (std::size_t k = 0; k < n; ++k) {
        Lane& l = lane[k];
        if (!l.v || l.lo >= l.hi) continue;
        const std::size_t mid = l.lo + (l.hi - l.lo) / 2;
        if (static_cast<std::int64_t>(l.v->blocks[mid].first_entry) < l.rel_to) l.lo = mid + 1;
        else l.hi = mid;
        if (l.lo < l.hi) {
          __builtin_prefetch(&l.v->blocks[l.lo + (l.hi - l.lo) / 2]);
          more = true;
        }
      }
    }
    // 4. The blocks each walk reads first: the last block and the one before it.
    for (std::size_t k = 0; k < n; ++k) {
      const Lane& l = lane[k];
      if (!l.v || l.lo == 0) continue;
      prefetch_block(l.v->blocks[l.lo - 1].block);
      if (l.lo >= 2) {
        const BlockRef& prev = l.v->blocks[l.lo - 2];
        if (reaches(prev.prefix_max_end, l.rel_from)) prefetch_block(prev.block);
      }
    }
    // 5. The walks: from the last block back, skipping blocks that end before `from` and stopping
    // at the first whose prefix maximum does.
    for (std::size_t k = 0; k < n; ++k) {
      const Lane& l = lane[k];
      if (!l.v || l.lo == 0) continue;
      const Venue& v = *l.v;
      const std::size_t last = l.lo - 1;
      const std::uint32_t in_last =
          last + 1 < v.blocks.size() ? kBlock : v.count - static_cast<std::uint32_t>(last) * kBlock;
      const Record* lr = block_records(v.blocks[last].block);
      std::uint32_t n_last = in_last;
      while (n_last > 0 && static_cast<std::int64_t>(lr[n_last - 1].entry) >= l.rel_to) --n_last;
      for (std::size_t b = last + 1; b-- > 0;) {
        const BlockRef& m = v.blocks[b];
        if (!reaches(m.prefix_max_end, l.rel_from)) break;
        if (!reaches(m.max_end, l.rel_from)) continue;
        const Record* r = block_records(m.block);
        if (b >= 2) {  // two ahead (step 4 issued this block and the next)
          const BlockRef& ahead = v.blocks[b - 2];
          if (reaches(ahead.prefix_max_end, l.rel_from)) prefetch_block(ahead.block);
        }
        for (std::uint32_t i = b == last ? n_last : kBlock; i-- > 0;) {
          const std::int64_t e = r[i].entry, x = e + r[i].duration;
          if (x > l.rel_from) fn(base + k, r[i].person, e + base_, x + base_);
        }
      }
    }
  }
}

}  // namespace bihuan::trace
