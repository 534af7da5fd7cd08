// The visit index: order, overlap queries against brute force, out-of-order arrivals, long
// stays, range checks and bytes per stored visit.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

#include "core/error.hpp"
#include "trace/visit_index.hpp"

namespace bihuan::trace {
namespace {

struct Plain {
  VenueId venue;
  PersonId person;
  std::int64_t entry, duration;
};
using Found = std::tuple<PersonId, std::int64_t, std::int64_t>;

std::vector<Found> query(const VisitIndex& ix, VenueId v, std::int64_t from, std::int64_t to) {
  std::vector<Found> out;
  ix.overlapping(v, from, to, [&](PersonId p, std::int64_t e, std::int64_t x) { out.emplace_back(p, e, x); });
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Found> brute(const std::vector<Plain>& all, VenueId v, std::int64_t from, std::int64_t to) {
  std::vector<Found> out;
  if (to <= from) return out;
  for (const auto& p : all)
    if (p.venue == v && p.entry < to && p.entry + p.duration > from) out.emplace_back(p.person, p.entry, p.entry + p.duration);
  std::sort(out.begin(), out.end());
  return out;
}

constexpr std::int64_t kBase = 1'700'000'000;

// n visits `step` seconds apart, roughly in time order (one in ten late by up to two hours),
// lasting up to an hour (one in twenty up to 14 hours), by persons below `persons`.
template <class VenueOf>
std::vector<Plain> random_visits(std::mt19937_64& rng, int n, std::int64_t step, std::uint64_t persons, VenueOf venue_of) {
  std::vector<Plain> all;
  for (int i = 0; i < n; ++i) {
    const std::int64_t t = i * step - static_cast<std::int64_t>(rng() % 100 < 10 ? rng() % 7200 : 0);
    const std::int64_t d = rng() % 100 < 5 ? static_cast<std::int64_t>(rng() % 50400) : static_cast<std::int64_t>(rng() % 3600);
    const VenueId v = venue_of(rng);
    all.push_back({v, static_cast<PersonId>(rng() % persons), std::max<std::int64_t>(0, t) + kBase, d});
  }
  return all;
}

TEST(VisitIndex, FindsOverlapsHalfOpen) {
  VisitIndex ix(kBase);
  ix.add(0, 1, kBase + 100, 50);  // [100, 150)
  ix.add(0, 2, kBase + 150, 10);  // [150, 160)
  ix.add(1, 3, kBase + 120, 10);  // other venue
  EXPECT_EQ(ix.visits(), 3u);
  EXPECT_EQ(query(ix, 0, kBase + 149, kBase + 151), (std::vector<Found>{{1, kBase + 100, kBase + 150}, {2, kBase + 150, kBase + 160}}));
  // Touching intervals do not overlap.
  EXPECT_TRUE(query(ix, 0, kBase + 160, kBase + 200).empty());
  EXPECT_TRUE(query(ix, 0, kBase + 50, kBase + 100).empty());
  EXPECT_EQ(query(ix, 0, kBase + 50, kBase + 101).size(), 1u);
  EXPECT_TRUE(query(ix, 7, kBase, kBase + 1000).empty());  // unknown venue
  EXPECT_TRUE(query(ix, 0, kBase + 120, kBase + 120).empty());  // empty interval
}

TEST(VisitIndex, OutOfOrderArrivalsKeepEntryOrder) {
  VisitIndex ix(kBase);
  std::vector<std::int64_t> entries;
  for (int i = 0; i < 300; ++i) entries.push_back(i * 60);
  std::mt19937 rng(5);
  std::shuffle(entries.begin(), entries.end(), rng);
  for (std::size_t i = 0; i < entries.size(); ++i) ix.add(0, static_cast<PersonId>(i), kBase + entries[i], 30);
  ASSERT_EQ(ix.visits_at(0), 300u);
  for (std::uint32_t i = 0; i < 300; ++i) EXPECT_EQ(ix.at(0, i).entry, i * 60u) << i;
  EXPECT_GT(ix.out_of_order(), 0u);
  // Every visit is still found by its time.
  for (int i = 0; i < 300; ++i) {
    auto f = query(ix, 0, kBase + i * 60 + 10, kBase + i * 60 + 11);
    ASSERT_EQ(f.size(), 1u) << i;
    EXPECT_EQ(std::get<1>(f[0]), kBase + i * 60);
  }
}

TEST(VisitIndex, EqualEntriesKeepArrivalOrder) {
  VisitIndex ix(kBase);
  ix.add(0, 1, kBase + 100, 10);
  ix.add(0, 2, kBase + 200, 10);
  ix.add(0, 3, kBase + 100, 10);  // out of order, ties with person 1: goes after it
  EXPECT_EQ(ix.at(0, 0).person, 1u);
  EXPECT_EQ(ix.at(0, 1).person, 3u);
  EXPECT_EQ(ix.at(0, 2).person, 2u);
}

TEST(VisitIndex, LongEarlyStayIsFoundFromFarLater) {
  VisitIndex ix(kBase);
  ix.add(0, 99, kBase, 10 * 24 * 3600);  // a stay of ten days, first in the venue
  for (int i = 1; i < 5000; ++i) ix.add(0, static_cast<PersonId>(i), kBase + i * 120, 60);
  // Between two short visits (one entered at 5 days, left a minute later; the next 2 minutes in).
  const auto f = query(ix, 0, kBase + 5 * 24 * 3600 + 70, kBase + 5 * 24 * 3600 + 80);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(std::get<0>(f[0]), 99u);
  // And a long stay inserted out of order later.
  ix.add(0, 77, kBase + 60, 9 * 24 * 3600);
  EXPECT_EQ(query(ix, 0, kBase + 8 * 24 * 3600, kBase + 8 * 24 * 3600 + 1).size(), 2u);
}

TEST(VisitIndex, MatchesBruteForceOnRandomVisits) {
  std::mt19937_64 rng(11);
  const int venues = 7;
  const auto all = random_visits(rng, 6000, 30, 500, [](std::mt19937_64& r) { return static_cast<VenueId>(r() % venues); });
  VisitIndex ix(kBase);
  for (const auto& p : all) ix.add(p.venue, p.person, p.entry, p.duration);
  EXPECT_EQ(ix.visits(), all.size());
  for (int q = 0; q < 2000; ++q) {
    const VenueId v = static_cast<VenueId>(rng() % venues);
    const std::int64_t from = kBase - 3600 + static_cast<std::int64_t>(rng() % 190000);
    const std::int64_t to = from + static_cast<std::int64_t>(rng() % 7200);
    ASSERT_EQ(query(ix, v, from, to), brute(all, v, from, to)) << "query " << q;
  }
}

TEST(VisitIndex, BatchedWindowsFindWhatEachWindowFindsAlone) {
  std::mt19937_64 rng(23);
  const int venues = 40;
  // Venues of very different sizes: the low numbers get most of the visits.
  const auto all = random_visits(rng, 20000, 20, 900, [](std::mt19937_64& r) {
    return static_cast<VenueId>(std::min<std::uint64_t>(venues - 1, (r() % 1000) * (r() % 1000) / 25000));
  });
  VisitIndex ix(kBase);
  for (const auto& p : all) ix.add(p.venue, p.person, p.entry, p.duration);
  // Batches of every size around the lane count, with windows the index cannot answer mixed in:
  // a venue it does not hold, an empty or reversed window, one wholly before its base.
  for (std::size_t size : {std::size_t{1}, std::size_t{5}, VisitIndex::kLanes - 1, VisitIndex::kLanes,
                           VisitIndex::kLanes + 1, 3 * VisitIndex::kLanes + 7}) {
    for (int round = 0; round < 20; ++round) {
      std::vector<VisitIndex::Window> ws;
      for (std::size_t k = 0; k < size; ++k) {
        VisitIndex::Window w;
        w.venue = static_cast<VenueId>(rng() % (venues + 3));
        w.from = kBase - 3600 + static_cast<std::int64_t>(rng() % 420000);
        w.to = w.from + static_cast<std::int64_t>(rng() % 100 < 5 ? 0 : rng() % 14400) - (rng() % 100 < 3 ? 60 : 0);
        if (rng() % 100 < 3) w.from = kBase - 7200, w.to = kBase - 3600;
        ws.push_back(w);
      }
      std::vector<std::vector<Found>> got(ws.size());
      std::vector<std::int64_t> last_entry(ws.size(), std::numeric_limits<std::int64_t>::max());
      std::size_t prev = 0;
      ix.overlapping_batch(std::span<const VisitIndex::Window>(ws),
                           [&](std::size_t k, PersonId p, std::int64_t e, std::int64_t x) {
                             ASSERT_LT(k, ws.size());
                             EXPECT_GE(k, prev) << "windows are answered in order";
                             EXPECT_LE(e, last_entry[k]) << "a window's visits come in entry-descending order";
                             prev = k;
                             last_entry[k] = e;
                             got[k].emplace_back(p, e, x);
                           });
      for (std::size_t k = 0; k < ws.size(); ++k) {
        std::sort(got[k].begin(), got[k].end());
        ASSERT_EQ(got[k], query(ix, ws[k].venue, ws[k].from, ws[k].to)) << "batch of " << size << ", window " << k;
        ASSERT_EQ(got[k], brute(all, ws[k].venue, ws[k].from, ws[k].to)) << "batch of " << size << ", window " << k;
      }
    }
  }
  // No windows: nothing is called.
  ix.overlapping_batch(std::span<const VisitIndex::Window>(), [](std::size_t, PersonId, std::int64_t, std::int64_t) {
    ADD_FAILURE() << "called without windows";
  });
}

TEST(VisitIndex, RejectsOutOfRange) {
  VisitIndex ix(kBase);
  EXPECT_THROW(ix.add(0, 1, kBase - 1, 10), Error);
  EXPECT_THROW(ix.add(0, 1, kBase + (std::int64_t{1} << 32), 10), Error);
  EXPECT_THROW(ix.add(0, 1, kBase, -1), Error);
  EXPECT_EQ(ix.visits(), 0u);
  ix.add(0, 1, kBase + (std::int64_t{1} << 32) - 1, 0xFFFFFFFFll);  // the last second, longest stay
  EXPECT_EQ(query(ix, 0, kBase + (std::int64_t{1} << 33) - 10, kBase + (std::int64_t{1} << 33)).size(), 1u);
}

TEST(VisitIndex, AtMostSixteenBytesPerVisit) {
  // Four million visits as scans arrive: half at 200 busy venues (about 10,000 each), half over
  // 20,000 small ones (about 100 each, like a home's fortnight).
  VisitIndex ix(kBase);
  std::mt19937_64 rng(3);
  const std::size_t n = 4'000'000;
  for (std::size_t i = 0; i < n; ++i) {
    const auto r = rng();
    const VenueId v = (r & 1) ? static_cast<VenueId>((r >> 1) % 200) : static_cast<VenueId>((r >> 1) % 20000);
    ix.add(v, static_cast<PersonId>(r >> 40), kBase + static_cast<std::int64_t>(i / 2), 600);
  }
  const double per = static_cast<double>(ix.memory_bytes()) / static_cast<double>(ix.visits());
  EXPECT_LE(per, 16.0);
  EXPECT_GE(per, 12.0);  // a record is 12 bytes: the count is honest
}

}  // namespace
}  // namespace bihuan::trace
