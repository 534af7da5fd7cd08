#include "trace/join.hpp"

#include <algorithm>
#include <tuple>

namespace bihuan::trace {

CaseVisit clip(const CaseVisit& v, std::int64_t window_start, std::int64_t window_end) noexcept {
  return CaseVisit{v.venue, std::max(v.start, window_start), std::min(v.end, window_end)};
}

std::vector<ContactHit> find_contacts(const VisitIndex& index, std::span<const CaseQuery> cases, const OverlapRule& rule) {
  std::vector<ContactHit> out, mine;
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const CaseQuery& q = cases[c];
    mine.clear();
    for (const CaseVisit& raw : q.visits) {
      const CaseVisit v = clip(raw, q.window_start, q.window_end);
      if (v.end <= v.start) continue;
      const std::int64_t need = std::max<std::int64_t>(rule.at(v.venue), 1);
      // A stay shorter than the minimum cannot give a contact.
      if (v.end - v.start < need) continue;
      index.overlapping(v.venue, v.start, v.end, [&](PersonId p, std::int64_t entry, std::int64_t end) {
        if (p == q.person) return;
        const std::int64_t overlap = std::min(end, v.end) - std::max(entry, v.start);
        if (overlap >= need) mine.push_back(ContactHit{static_cast<std::uint32_t>(c), p, v.venue, overlap});
      });
    }
    std::sort(mine.begin(), mine.end(), [](const ContactHit& a, const ContactHit& b) {
      return std::tie(a.contact, a.venue, b.overlap_seconds) < std::tie(b.contact, b.venue, a.overlap_seconds);
    });
    // The first of each (contact, venue) run has the largest overlap.
    for (std::size_t i = 0; i < mine.size(); ++i)
      if (i == 0 || mine[i].contact != mine[i - 1].contact || mine[i].venue != mine[i - 1].venue) out.push_back(mine[i]);
  }
  return out;
}

}  // namespace bihuan::trace
