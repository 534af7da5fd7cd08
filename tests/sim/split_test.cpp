// One city split by area across ranks (Abm::run_split): the ranks here are threads exchanging
// their messages through shared memory (the MPI ranks of bihuan-mpi do the same through
// MPI_Alltoallv, tests/sim/mpi-test.sh). For 1, 2 and 3 ranks the result equals Abm::run exactly.
#include <gtest/gtest.h>

#include <barrier>
#include <memory>
#include <thread>

#include "core/error.hpp"
#include "sim/abm.hpp"
#include "sim/profiles.hpp"

namespace bihuan::sim {
namespace {

const std::string kSrc = BIHUAN_SOURCE_DIR;

struct Hub {
  explicit Hub(int k) : ranks(k), sync(k), boxes(static_cast<std::size_t>(k * k)), sums(static_cast<std::size_t>(k)) {}
  int ranks;
  std::barrier<> sync;
  std::vector<std::vector<std::uint64_t>> boxes;  // [from * ranks + to]
  std::vector<std::vector<std::int64_t>> sums;
};

class ThreadPartition final : public Partition {
 public:
  ThreadPartition(Hub& h, int r) : hub_(h), rank_(r) {}
  int rank() const override { return rank_; }
  int size() const override { return hub_.ranks; }
  std::vector<std::uint64_t> exchange(std::vector<std::vector<std::uint64_t>>& out) override {
    const auto k = static_cast<std::size_t>(hub_.ranks), me = static_cast<std::size_t>(rank_);
    for (std::size_t t = 0; t < k; ++t) {
      hub_.boxes[me * k + t] = std::move(out[t]);
      out[t].clear();
    }
    hub_.sync.arrive_and_wait();
    std::vector<std::uint64_t> in;
    for (std::size_t f = 0; f < k; ++f) in.insert(in.end(), hub_.boxes[f * k + me].begin(), hub_.boxes[f * k + me].end());
    hub_.sync.arrive_and_wait();
    return in;
  }
  void sum(std::vector<std::int64_t>& v) override {
    hub_.sums[static_cast<std::size_t>(rank_)] = v;
    hub_.sync.arrive_and_wait();
    std::fill(v.begin(), v.end(), 0);
    for (const auto& s : hub_.sums)
      for (std::size_t i = 0; i < v.size(); ++i) v[i] += s[i];
    hub_.sync.arrive_and_wait();
  }

 private:
  Hub& hub_;
  int rank_;
};

std::vector<RunResult> run_on_ranks(const Abm& abm, int ranks, std::uint64_t seed, std::uint64_t rep) {
  Hub hub(ranks);
  std::vector<RunResult> out(static_cast<std::size_t>(ranks));
  std::vector<std::thread> ts;
  for (int r = 0; r < ranks; ++r)
    ts.emplace_back([&, r] {
      ThreadPartition part(hub, r);
      out[static_cast<std::size_t>(r)] = abm.run_split(seed, rep, part);
    });
  for (auto& t : ts) t.join();
  return out;
}

void expect_same(const RunResult& a, const RunResult& b) {
  EXPECT_EQ(a.daily, b.daily);
  EXPECT_EQ(a.local_infections, b.local_infections);
  EXPECT_EQ(a.imported_infections, b.imported_infections);
  EXPECT_EQ(a.community_cases, b.community_cases);
  EXPECT_EQ(a.cases_in_control, b.cases_in_control);
  EXPECT_EQ(a.central_person_days, b.central_person_days);
  EXPECT_EQ(a.home_person_days, b.home_person_days);
  EXPECT_EQ(a.lockdown_person_days, b.lockdown_person_days);
  EXPECT_EQ(a.tests, b.tests);
  EXPECT_EQ(a.tubes, b.tubes);
  EXPECT_EQ(a.peak_beds, b.peak_beds);
  EXPECT_EQ(a.peak_rooms, b.peak_rooms);
  EXPECT_EQ(a.symptomatic_isolations, b.symptomatic_isolations);
  EXPECT_EQ(a.symptomatic_infections, b.symptomatic_infections);
  EXPECT_EQ(a.incubation_n, b.incubation_n);
  EXPECT_EQ(a.incubation_sum, b.incubation_sum);
  EXPECT_EQ(a.rebound, b.rebound);
  EXPECT_EQ(a.complete, b.complete);
}

Population city(std::int64_t n) {
  PopulationOptions o;
  o.persons = n;
  o.seed = 4;
  o.grids_per_district = 4;  // several districts, cut across ranks
  return build_population(o);
}

AbmConfig config(const std::string& profile, const std::string& variant, double imports, int seeds) {
  AbmConfig c;
  c.variant = load_variant(kSrc + "/scenarios/variants.yaml", variant);
  c.iv = interventions_from(load_profile(kSrc + "/policies", profile));
  c.days = 40;
  c.initial_infections = seeds;
  c.imports_per_day = imports;
  c.import_prevalence = 0.05;
  return c;
}

TEST(SplitTest, RangesCoverTheCityOnGridBoundaries) {
  const Population pop = city(12000);
  for (int k : {1, 2, 3, 7}) {
    std::uint32_t next = 0;
    for (int r = 0; r < k; ++r) {
      const auto [lo, hi] = split_range(pop, r, k);
      EXPECT_EQ(lo, next);
      EXPECT_LE(lo, hi);
      EXPECT_TRUE(std::binary_search(pop.grid_start.begin(), pop.grid_start.end(), lo));
      next = hi;
    }
    EXPECT_EQ(next, pop.n);
  }
}

// Under the ninth edition every cross-rank path runs: infections, close and secondary contacts
// found on another rank, lockdowns and city-wide mass testing.
TEST(SplitTest, ControlledOutbreakIsTheSameOnAnyNumberOfRanks) {
  const Population pop = city(12000);
  const Abm abm(pop, load_prem(kSrc + "/scenarios/prem2021"), config("ninth-edition", "delta", 20, 10));
  for (std::uint64_t rep = 0; rep < 2; ++rep) {
    const RunResult whole = abm.run(5, rep);
    EXPECT_GT(whole.local_infections, 0);
    EXPECT_GT(whole.central_person_days, 0);
    for (int ranks : {1, 2, 3}) {
      const auto parts = run_on_ranks(abm, ranks, 5, rep);
      for (const auto& p : parts) expect_same(p, whole);
    }
  }
}

TEST(SplitTest, EpidemicIsTheSameOnAnyNumberOfRanks) {
  const Population pop = city(8000);
  const Abm abm(pop, load_prem(kSrc + "/scenarios/prem2021"), config("class-b", "ancestral", 0, 20));
  const RunResult whole = abm.run(8, 0);
  EXPECT_GT(whole.local_infections, 1000);
  for (int ranks : {2, 3}) {
    const auto parts = run_on_ranks(abm, ranks, 8, 0);
    for (const auto& p : parts) expect_same(p, whole);
  }
}

// Rounds over the whole city, the districts of the cases (several per rank and across ranks)
// and the grids of the cases; lockdowns of grids.
TEST(SplitTest, MassTestingAndLockdownAreTheSameOnAnyNumberOfRanks) {
  const Population pop = city(12000);
  ASSERT_GE(pop.districts(), 3u);
  for (const char* rule : {"ordinary_city_urban", "outbreak_district_10m", "delineated_area"}) {
    SCOPED_TRACE(rule);
    AbmConfig c = config("ninth-edition", "omicron_ba2", 30, 30);
    apply_round_rule(c.iv, load_profile(kSrc + "/policies", "ninth-edition"), rule);
    c.iv.tracing_coverage = 0.3;
    const Abm abm(pop, load_prem(kSrc + "/scenarios/prem2021"), c);
    const RunResult whole = abm.run(2, 1);
    EXPECT_GT(whole.lockdown_person_days, 0);
    EXPECT_GT(whole.tests, whole.local_infections);
    for (int ranks : {2, 3}) {
      const auto parts = run_on_ranks(abm, ranks, 2, 1);
      for (const auto& p : parts) expect_same(p, whole);
    }
  }
}

// Each rank keeps only its part of the population tables (Abm::keep_split, as bihuan-mpi does
// before it releases the whole city): its agents' rows, its households, its entries of the
// workplace/class and age-band lists. Contacts in another rank's entries travel as references the
// holder resolves; the result still equals the whole city's run, and each rank's tables are about
// its share of the city's.
TEST(SplitTest, RanksHoldingOnlyTheirTablesGiveTheSameResult) {
  const Population pop = city(12000);
  AbmConfig c = config("ninth-edition", "delta", 20, 10);
  c.iv.tracing_coverage = 0.6;
  const auto prem = load_prem(kSrc + "/scenarios/prem2021");
  const Abm whole_abm(pop, prem, c);
  for (int ranks : {2, 3}) {
    std::vector<std::unique_ptr<Abm>> abms;
    for (int r = 0; r < ranks; ++r) {
      abms.push_back(std::make_unique<Abm>(pop, prem, c));
      abms.back()->keep_split(r, ranks);
      const auto [lo, hi] = split_range(pop, r, ranks);
      const double share = static_cast<double>(hi - lo) / pop.n;
      EXPECT_LT(static_cast<double>(abms.back()->split_table_bytes()), (share + 0.1) * static_cast<double>(pop.bytes()))
          << "rank " << r << " of " << ranks;
      EXPECT_THROW(abms.back()->run(5, 0), Error);  // the whole city is gone
    }
    for (std::uint64_t rep = 0; rep < 2; ++rep) {
      const RunResult whole = whole_abm.run(5, rep);
      EXPECT_GT(whole.local_infections, 0);
      Hub hub(ranks);
      std::vector<RunResult> out(static_cast<std::size_t>(ranks));
      std::vector<std::thread> ts;
      for (int r = 0; r < ranks; ++r)
        ts.emplace_back([&, r] {
          ThreadPartition part(hub, r);
          out[static_cast<std::size_t>(r)] = abms[static_cast<std::size_t>(r)]->run_split(5, rep, part);
        });
      for (auto& t : ts) t.join();
      for (const auto& o : out) expect_same(o, whole);
    }
  }
}

}  // namespace
}  // namespace bihuan::sim
