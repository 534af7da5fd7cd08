// The interval join on hand-made cases: the minimum overlap to the second, window clipping,
// self, the largest overlap per (case, contact, venue), per-venue minimums, partitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "trace/join.hpp"
#include "trace/partition.hpp"

namespace bihuan::trace {
namespace {

constexpr std::int64_t T0 = 1'780'000'000;  // some instant; minutes below are after it
constexpr std::int64_t M = 60;

// n stays starting within `span` seconds after T0, of min_len plus up to `spread` seconds, by
// persons below `persons`.
struct Stay {
  VenueId venue;
  PersonId person;
  std::int64_t from, to;
};
template <class VenueOf>
std::vector<Stay> random_stays(std::mt19937_64& rng, int n, std::int64_t span, std::uint64_t persons, std::int64_t min_len,
                               std::int64_t spread, VenueOf venue_of) {
  std::vector<Stay> out;
  for (int i = 0; i < n; ++i) {
    const std::int64_t from = T0 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(span));
    const VenueId venue = venue_of(rng);
    const auto person = static_cast<PersonId>(rng() % persons);
    out.push_back({venue, person, from, from + min_len + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(spread))});
  }
  return out;
}

struct Fixture {
  VisitIndex ix{T0 - 86400};
  std::vector<CaseQuery> cases;
  OverlapRule rule;
  // A visit of `person` at `venue`, also recorded as the case's when person is a case's.
  void visit(VenueId venue, PersonId person, std::int64_t from, std::int64_t to) {
    ix.add(venue, person, from, to - from);
    for (auto& c : cases)
      if (c.person == person) c.visits.push_back({venue, from, to});
  }
  std::vector<ContactHit> run() {
    auto hits = find_contacts(ix, cases, rule);
    sort_hits(hits);
    return hits;
  }
};

TEST(Join, OverlapExactlyAtTheMinimumCountsOneSecondShortDoesNot) {
  Fixture f;
  f.cases.push_back({1, T0 - 86400, T0 + 86400, {}});
  f.visit(0, 1, T0, T0 + 30 * M);             // the case: 0..30 min
  f.visit(0, 2, T0 + 15 * M, T0 + 40 * M);     // overlap exactly 15 min
  f.visit(0, 3, T0 + 15 * M + 1, T0 + 40 * M); // 15 min less one second
  f.visit(0, 4, T0 - 60 * M, T0 + 15 * M - 1); // 15 min less one second, before
  const auto hits = f.run();
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0], (ContactHit{0, 2, 0, 15 * M}));
}

TEST(Join, ACaseIsNotItsOwnContact) {
  Fixture f;
  f.cases.push_back({1, T0 - 86400, T0 + 86400, {}});
  f.visit(0, 1, T0, T0 + 60 * M);
  f.visit(0, 1, T0 + 10 * M, T0 + 50 * M);  // the case again, overlapping itself
  EXPECT_TRUE(f.run().empty());
}

TEST(Join, OnlyThePartOfTheCaseVisitInsideItsWindowCounts) {
  Fixture f;
  f.cases.push_back({1, T0 + 30 * M, T0 + 24 * 60 * M, {}});  // window opens 30 min in
  f.visit(0, 1, T0, T0 + 60 * M);              // case 0..60, counts 30..60
  f.visit(0, 2, T0, T0 + 29 * M);              // overlaps the case only before the window
  f.visit(0, 3, T0 + 10 * M, T0 + 50 * M);     // 20 min inside the window (40 in all)
  f.visit(0, 4, T0 + 20 * M, T0 + 90 * M);     // 30 min inside
  f.visit(1, 1, T0 - 120 * M, T0 - 60 * M);    // a visit wholly before the window
  f.visit(1, 5, T0 - 120 * M, T0 - 60 * M);
  const auto hits = f.run();
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0], (ContactHit{0, 3, 0, 20 * M}));
  EXPECT_EQ(hits[1], (ContactHit{0, 4, 0, 30 * M}));
}

TEST(Join, WindowEndClipsToo) {
  Fixture f;
  f.cases.push_back({1, T0 - 86400, T0 + 20 * M, {}});
  f.visit(0, 1, T0, T0 + 60 * M);
  f.visit(0, 2, T0 + 10 * M, T0 + 60 * M);  // 50 min with the case, 10 inside the window
  EXPECT_TRUE(f.run().empty());
  f.rule.default_seconds = 10 * M;
  const auto hits = f.run();
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].overlap_seconds, 10 * M);
}

TEST(Join, OneResultPerCaseContactVenueWithTheLargestOverlap) {
  Fixture f;
  f.cases.push_back({1, T0 - 86400, T0 + 86400, {}});
  f.visit(0, 1, T0, T0 + 30 * M);
  f.visit(0, 1, T0 + 120 * M, T0 + 180 * M);
  f.visit(0, 2, T0 + 5 * M, T0 + 25 * M + 30);        // 20.5 min with the first
  f.visit(0, 2, T0 + 130 * M - 10, T0 + 155 * M);     // 25 min 10 s with the second
  f.visit(1, 1, T0 + 200 * M, T0 + 240 * M);
  f.visit(1, 2, T0 + 200 * M, T0 + 220 * M);          // another venue: its own result
  const auto hits = f.run();
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0], (ContactHit{0, 2, 0, 25 * M + 10}));
  EXPECT_EQ(hits[1], (ContactHit{0, 2, 1, 20 * M}));
}

TEST(Join, MinimumOverlapPerVenue) {
  Fixture f;
  f.rule.min_overlap_seconds = {5 * M, 30 * M};  // venue 0: 5 min, venue 1: 30 min, venue 2: default 15
  f.cases.push_back({1, T0 - 86400, T0 + 86400, {}});
  for (VenueId v = 0; v < 3; ++v) {
    f.visit(v, 1, T0, T0 + 60 * M);
    f.visit(v, 2, T0 + 54 * M, T0 + 70 * M);  // 6 min
    f.visit(v, 3, T0 + 40 * M, T0 + 70 * M);  // 20 min
  }
  const auto hits = f.run();
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0], (ContactHit{0, 2, 0, 6 * M}));
  EXPECT_EQ(hits[1], (ContactHit{0, 3, 0, 20 * M}));
  EXPECT_EQ(hits[2], (ContactHit{0, 3, 2, 20 * M}));
}

TEST(Join, SeveralCasesAndAContactWhoIsACase) {
  Fixture f;
  f.cases.push_back({1, T0 - 86400, T0 + 86400, {}});
  f.cases.push_back({2, T0 - 86400, T0 + 86400, {}});
  f.visit(0, 1, T0, T0 + 60 * M);
  f.visit(0, 2, T0, T0 + 60 * M);
  const auto hits = f.run();
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0], (ContactHit{0, 2, 0, 60 * M}));
  EXPECT_EQ(hits[1], (ContactHit{1, 1, 0, 60 * M}));
}

TEST(Join, MatchesBruteForceWithManyVisitsPerCase) {
  // Cases with far more visits than a batch's lanes, several at the same venue (their hits are
  // merged across batches), per-venue minimums, windows that clip, and contacts who are cases.
  std::mt19937_64 rng(5);
  const int venues = 25;
  // A third of the visits at three busy venues.
  const auto visits = random_stays(rng, 12000, 6 * 86400, 200, 60, 10800, [](std::mt19937_64& r) {
    return static_cast<VenueId>(r() % 3 == 0 ? r() % 3 : r() % venues);
  });
  VisitIndex ix(T0 - 86400);
  std::vector<CaseQuery> cases;
  for (PersonId p = 0; p < 12; ++p) cases.push_back({p * 16, T0 + 86400, T0 + 5 * 86400, {}});
  OverlapRule rule;
  rule.min_overlap_seconds = {0, 5 * M, 30 * M, 1};  // the rest: 15 minutes
  for (const auto& v : visits) {
    ix.add(v.venue, v.person, v.from, v.to - v.from);
    for (auto& c : cases)
      if (c.person == v.person) c.visits.push_back({v.venue, v.from, v.to});
  }
  std::vector<ContactHit> want;
  for (std::uint32_t c = 0; c < cases.size(); ++c) {
    const CaseQuery& q = cases[c];
    ASSERT_GT(q.visits.size(), 2 * VisitIndex::kLanes);
    for (const auto& raw : q.visits) {
      const CaseVisit cv = clip(raw, q.window_start, q.window_end);
      const std::int64_t need = std::max<std::int64_t>(rule.at(cv.venue), 1);
      for (const auto& v : visits) {
        if (v.venue != cv.venue || v.person == q.person) continue;
        const std::int64_t o = std::min(v.to, cv.end) - std::max(v.from, cv.start);
        if (o < need) continue;
        auto it = std::find_if(want.begin(), want.end(), [&](const ContactHit& h) {
          return h.case_index == c && h.contact == v.person && h.venue == v.venue;
        });
        if (it == want.end()) want.push_back({c, v.person, v.venue, static_cast<std::uint32_t>(o)});
        else it->overlap_seconds = std::max(it->overlap_seconds, static_cast<std::uint32_t>(o));
      }
    }
  }
  sort_hits(want);
  ASSERT_GT(want.size(), 500u);
  auto one = find_contacts(ix, cases, rule);
  auto two = find_contacts(ix, cases, rule, 2);
  EXPECT_EQ(two, one) << "two threads find the same hits in the same order";
  // By case, in case order.
  EXPECT_TRUE(std::is_sorted(one.begin(), one.end(),
                             [](const ContactHit& a, const ContactHit& b) { return a.case_index < b.case_index; }));
  sort_hits(one);
  EXPECT_EQ(one, want);
}

TEST(Partition, BalancesVisitsDeterministically) {
  const std::vector<std::uint64_t> load = {10, 1, 7, 7, 3, 0, 5};
  const auto r = balance_venues(load, 3);
  ASSERT_EQ(r.size(), load.size());
  std::vector<std::uint64_t> per(3, 0);
  for (std::size_t v = 0; v < load.size(); ++v) per[static_cast<std::size_t>(r[v])] += load[v];
  // Largest first to the least loaded: 10 -> 0, 7 -> 1, 7 -> 2, 5 -> 1, 3 -> 2, 1 -> 0, 0 -> 2
  EXPECT_EQ(r, (std::vector<int>{0, 0, 1, 2, 2, 2, 1}));
  EXPECT_EQ(per, (std::vector<std::uint64_t>{11, 12, 10}));
  EXPECT_EQ(balance_venues(load, 1), std::vector<int>(load.size(), 0));
  for (int k = 1; k < 5; ++k) {
    const int rank = rank_of_code("V-000123", k);
    EXPECT_GE(rank, 0);
    EXPECT_LT(rank, k);
    EXPECT_EQ(rank, rank_of_code("V-000123", k));
  }
}

TEST(Partition, RanksTogetherFindWhatOneFinds) {
  std::mt19937_64 rng(21);
  const int venues = 40;
  const auto visits =
      random_stays(rng, 5000, 3 * 86400, 300, 0, 7200, [](std::mt19937_64& r) { return static_cast<VenueId>(r() % venues); });
  std::vector<std::uint64_t> load(venues, 0);
  for (const auto& v : visits) ++load[v.venue];
  auto run = [&](int rank, int ranks) {
    const auto owner = balance_venues(load, ranks);
    VisitIndex ix(T0);
    std::vector<CaseQuery> cases;
    for (PersonId p = 0; p < 30; ++p) cases.push_back({p * 7, T0 + 3600, T0 + 2 * 86400, {}});
    for (const auto& v : visits) {
      if (owner[v.venue] != rank) continue;
      ix.add(v.venue, v.person, v.from, v.to - v.from);
      for (auto& c : cases)
        if (c.person == v.person) c.visits.push_back({v.venue, v.from, v.to});
    }
    auto hits = find_contacts(ix, cases, OverlapRule{});
    // Two threads find the same hits in the same order.
    EXPECT_EQ(find_contacts(ix, cases, OverlapRule{}, 2), hits);
    sort_hits(hits);
    return hits;
  };
  const auto one = run(0, 1);
  EXPECT_GT(one.size(), 50u);
  for (int k = 2; k <= 4; ++k) {
    std::vector<ContactHit> all;
    for (int r = 0; r < k; ++r) {
      const auto part = run(r, k);
      all.insert(all.end(), part.begin(), part.end());
    }
    sort_hits(all);
    EXPECT_EQ(all, one) << k << " ranks";
  }
}

}  // namespace
}  // namespace bihuan::trace
