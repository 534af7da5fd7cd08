#include "trace/visit_index.hpp"

#include <sys/mman.h>

#include <cstdlib>
#include <limits>
#include <new>

#include "core/error.hpp"

namespace bihuan::trace {
namespace {

constexpr std::int64_t kMaxU32 = std::numeric_limits<std::uint32_t>::max();

std::uint32_t saturate(std::int64_t v) noexcept { return v >= kMaxU32 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(v); }

}  // namespace

std::uint32_t VisitIndex::new_block() {
  if (blocks_used_ == slabs_.size() * kSlabBlocks) {
    constexpr std::size_t kHuge = std::size_t{1} << 21;
    static_assert(sizeof(Slab) <= kHuge);
    void* p = std::aligned_alloc(kHuge, kHuge);
    if (!p) throw std::bad_alloc();
    // A hint only (the machine may have transparent huge pages off); its failure changes nothing.
    ::madvise(p, kHuge, MADV_HUGEPAGE);
    slabs_.emplace_back(static_cast<Slab*>(p));
  }
  return blocks_used_++;
}

void VisitIndex::refresh_meta(Venue& v, std::size_t from_block) {
  std::uint32_t prefix = from_block > 0 ? v.blocks[from_block - 1].prefix_max_end : 0;
  for (std::size_t j = from_block; j < v.blocks.size(); ++j) {
    BlockRef& ref = v.blocks[j];
    const std::uint32_t n = j + 1 < v.blocks.size() ? kBlock : v.count - static_cast<std::uint32_t>(j) * kBlock;
    const Record* r = block_records(ref.block);
    std::uint32_t m = 0;
    for (std::uint32_t i = 0; i < n; ++i) m = std::max(m, saturate(std::int64_t{r[i].entry} + r[i].duration));
    prefix = std::max(prefix, m);
    ref.first_entry = r[0].entry;
    ref.max_end = m;
    ref.prefix_max_end = prefix;
  }
}

void VisitIndex::add(VenueId venue, PersonId person, std::int64_t entry_unix_seconds, std::int64_t duration_seconds) {
  const std::int64_t rel = entry_unix_seconds - base_;
  if (rel < 0 || rel > kMaxU32)
    fail(ErrorCode::invalid_argument, "visit entered outside the time range of the visit index", "entered_at");
  if (duration_seconds < 0 || duration_seconds > kMaxU32)
    fail(ErrorCode::invalid_argument, "visit duration out of range", "exited_at");
  if (venue >= venues_.size()) venues_.resize(static_cast<std::size_t>(venue) + 1);
  Venue& v = venues_[venue];
  const Record x{person, static_cast<std::uint32_t>(rel), static_cast<std::uint32_t>(duration_seconds)};
  const std::uint32_t end = saturate(rel + duration_seconds);
  if (v.count == 0 || at(venue, v.count - 1).entry <= x.entry) {
    const std::uint32_t i = v.count % kBlock;
    if (i == 0) {
      const std::uint32_t before = v.blocks.empty() ? 0 : v.blocks.back().prefix_max_end;
      v.blocks.push_back(BlockRef{new_block(), x.entry, end, std::max(before, end)});
    } else {
      BlockRef& m = v.blocks.back();
      m.max_end = std::max(m.max_end, end);
      m.prefix_max_end = std::max(m.prefix_max_end, end);
    }
    block_records(v.blocks.back().block)[i] = x;
    ++v.count;
    ++visits_;
    return;
  }
  // Out of order: insert after every record that entered at or before it.
  std::uint32_t lo = 0, hi = v.count;
  while (lo < hi) {
    const std::uint32_t mid = lo + (hi - lo) / 2;
    if (at(venue, mid).entry <= x.entry) lo = mid + 1;
    else hi = mid;
  }
  const std::uint32_t pos = lo;
  if (v.count % kBlock == 0) v.blocks.push_back(BlockRef{new_block(), 0, 0, 0});
  auto slot = [&](std::uint32_t i) -> Record& { return block_records(v.blocks[i / kBlock].block)[i % kBlock]; };
  for (std::uint32_t i = v.count; i > pos; --i) slot(i) = slot(i - 1);
  slot(pos) = x;
  ++out_of_order_;
  shifted_ += v.count - pos;
  ++v.count;
  ++visits_;
  refresh_meta(v, pos / kBlock);
}

void VisitIndex::FreeSlab::operator()(Slab* s) const noexcept { std::free(s); }

std::size_t VisitIndex::memory_bytes() const noexcept {
  std::size_t bytes = sizeof(*this) + slabs_.size() * (std::size_t{1} << 21) + slabs_.capacity() * sizeof(slabs_[0]) +
                      venues_.capacity() * sizeof(Venue);
  for (const auto& v : venues_) bytes += v.blocks.capacity() * sizeof(BlockRef);
  return bytes;
}

}  // namespace bihuan::trace
