// bihuan-mpi: the simulator's replicates spread across MPI ranks, or one city split across them.
//   mpirun -n K bihuan-mpi abm --scenario FILE --runs M --seed S [--profile P] [--split]
//   mpirun -n K bihuan-mpi branching --r0 R --k K --initial-cases N --traced P --runs M --seed S
//   mpirun -n K bihuan-mpi trace --scans FILE --cases FILE [--venues FILE] [--json]  (src/trace/mpi)
// Rank r runs replicates r, r + K, r + 2K, ...; rank 0 gathers them in replicate order and prints
// the same JSON whatever K, because every replicate's random streams depend only on (seed,
// replicate) (sim/rng.hpp). With --split every replicate runs on all ranks, each owning the
// agents of a run of areas (Abm::run_split): infections and quarantine orders for another rank's
// agents travel as MPI_Alltoallv messages, counts are summed with MPI_Allreduce, and the JSON is
// again the same whatever K. Built only when CMake finds MPI (src/sim/CMakeLists.txt).
#include <mpi.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <iostream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "sim/abm.hpp"
#include "sim/branching.hpp"
#include "sim/profiles.hpp"
#include "sim/scenario.hpp"
#include "trace/mpi/trace_mpi.hpp"

namespace {

using nlohmann::ordered_json;

// A field of /proc/self/status in KiB (VmRSS, VmHWM), 0 when unknown.
long rss_kib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  return 0;
}
using namespace bihuan::sim;

// RunResult <-> doubles: a fixed header, then days x s_count values.
constexpr int kHeader = 16;

std::vector<double> pack(const RunResult& r, std::int64_t replicate) {
  std::vector<double> v = {static_cast<double>(replicate), r.complete ? 1.0 : 0.0, r.rebound ? 1.0 : 0.0,
                           static_cast<double>(r.local_infections), static_cast<double>(r.imported_infections),
                           static_cast<double>(r.community_cases), static_cast<double>(r.cases_in_control),
                           static_cast<double>(r.central_person_days), static_cast<double>(r.home_person_days),
                           static_cast<double>(r.lockdown_person_days), static_cast<double>(r.tests),
                           static_cast<double>(r.tubes), static_cast<double>(r.peak_beds), static_cast<double>(r.peak_rooms),
                           static_cast<double>(r.symptomatic_isolations), static_cast<double>(r.daily.size())};
  for (const auto& d : r.daily)
    for (auto x : d) v.push_back(x);
  return v;
}

std::size_t unpack(const double* v, RunResult& r, std::int64_t& replicate) {
  replicate = static_cast<std::int64_t>(v[0]);
  r.complete = v[1] != 0;
  r.rebound = v[2] != 0;
  auto i64 = [&](int k) { return static_cast<std::int64_t>(v[k]); };
  r.local_infections = i64(3);
  r.imported_infections = i64(4);
  r.community_cases = i64(5);
  r.cases_in_control = i64(6);
  r.central_person_days = i64(7);
  r.home_person_days = i64(8);
  r.lockdown_person_days = i64(9);
  r.tests = i64(10);
  r.tubes = i64(11);
  r.peak_beds = i64(12);
  r.peak_rooms = i64(13);
  r.symptomatic_isolations = i64(14);
  const auto days = static_cast<std::size_t>(v[15]);
  r.daily.resize(days);
  std::size_t k = kHeader;
  for (auto& d : r.daily)
    for (auto& x : d) x = static_cast<std::int32_t>(v[k++]);
  return k;
}

// Gathers every rank's doubles on rank 0.
std::vector<double> gather(const std::vector<double>& mine, int rank, int size) {
  int n = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<std::size_t>(size)), displs(static_cast<std::size_t>(size));
  MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<double> all;
  if (rank == 0) {
    int total = 0;
    for (int i = 0; i < size; ++i) {
      displs[static_cast<std::size_t>(i)] = total;
      total += counts[static_cast<std::size_t>(i)];
    }
    all.resize(static_cast<std::size_t>(total));
  }
  MPI_Gatherv(mine.data(), n, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return all;
}

// The ranks of MPI_COMM_WORLD as a Partition of one city.
class MpiPartition final : public Partition {
 public:
  MpiPartition(int rank, int size) : rank_(rank), size_(size) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::vector<std::uint64_t> exchange(std::vector<std::vector<std::uint64_t>>& out) override {
    const auto k = static_cast<std::size_t>(size_);
    std::vector<int> send_counts(k), recv_counts(k), send_displs(k), recv_displs(k);
    std::vector<std::uint64_t> send;
    for (std::size_t r = 0; r < k; ++r) {
      send_displs[r] = static_cast<int>(send.size());
      send_counts[r] = static_cast<int>(out[r].size());
      send.insert(send.end(), out[r].begin(), out[r].end());
      out[r].clear();
    }
    MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    int total = 0;
    for (std::size_t r = 0; r < k; ++r) {
      recv_displs[r] = total;
      total += recv_counts[r];
    }
    std::vector<std::uint64_t> in(static_cast<std::size_t>(total));
    MPI_Alltoallv(send.data(), send_counts.data(), send_displs.data(), MPI_UINT64_T, in.data(), recv_counts.data(),
                  recv_displs.data(), MPI_UINT64_T, MPI_COMM_WORLD);
    return in;
  }
  void sum(std::vector<std::int64_t>& v) override {
    MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  }

 private:
  int rank_, size_;
};

ordered_json summary_json(const Summary& s) {
  return {{"mean", s.mean}, {"sd", s.sd}, {"q025", s.q025}, {"median", s.median}, {"q975", s.q975}};
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::string src = BIHUAN_SOURCE_DIR;
  CLI::App app{"bihuan-mpi: simulator replicates across MPI ranks"};
  app.require_subcommand(1);
  std::string scenario, profile, policies = src + "/policies", variants = src + "/scenarios/variants.yaml",
                                 matrices = src + "/scenarios/prem2021";
  std::int64_t runs = 20;
  std::uint64_t seed = 1;
  unsigned threads = 1;
  BranchingParams bp;
  auto* abm = app.add_subcommand("abm", "agent-based model");
  abm->add_option("--scenario", scenario)->required();
  abm->add_option("--profile", profile);
  bool split = false;
  abm->add_flag("--split", split, "split the city across the ranks by area (each replicate on every rank)");
  bool memory_report = false;
  abm->add_flag("--memory", memory_report, "with --split: each rank prints its population tables' bytes and resident set to stderr");
  for (auto* c : {abm}) {
    c->add_option("--policies", policies);
    c->add_option("--variants", variants);
    c->add_option("--contact-matrices", matrices);
  }
  auto* br = app.add_subcommand("branching", "branching process");
  br->add_option("--r0", bp.r0);
  br->add_option("--k", bp.dispersion);
  br->add_option("--initial-cases", bp.initial_cases);
  br->add_option("--traced", bp.traced);
  for (auto* c : {abm, br}) {
    c->add_option("--runs", runs);
    c->add_option("--seed", seed);
    c->add_option("--threads", threads, "threads per rank");
  }
  bihuan::trace::TraceOptions trace_opts;
  auto* trace = app.add_subcommand("trace", "scan co-location contacts of cases, venues split across the ranks");
  bihuan::trace::add_trace_options(*trace, trace_opts);
  int rc = 0;
  try {
    app.parse(argc, argv);
    if (trace->parsed()) {
      const auto text = bihuan::trace::run_trace_mpi(trace_opts, rank, size);
      if (rank == 0) std::cout << text << std::flush;
      MPI_Finalize();
      return 0;
    }
    if (runs < 1 || runs > 1000000) bihuan::fail(bihuan::ErrorCode::invalid_argument, "runs: must be from 1 to 1,000,000", "runs");
    ordered_json out;
    if (abm->parsed()) {
      const Scenario s = load_scenario(scenario);
      const std::string name = profile.empty() ? s.profile : profile;
      auto pop = std::make_unique<Population>(build_population(s.city));
      const std::size_t city_bytes = pop->bytes();
      Abm model(*pop, load_prem(matrices), make_config(s, load_profile(policies, name), load_variant(variants, s.variant)));
      std::vector<double> all;
      if (split) {
        // Each rank keeps only its own part of the population tables (its areas' agents and their
        // entries of the member lists) and releases the whole city's.
        model.keep_split(rank, size);
        pop.reset();
        if (memory_report) {
          std::ostringstream line;
          line << "rank " << rank << " of " << size << ": population tables " << model.split_table_bytes()
               << " bytes (whole city " << city_bytes << "), resident set " << rss_kib("VmRSS") << " KiB (peak "
               << rss_kib("VmHWM") << " KiB)\n";
          std::cerr << line.str() << std::flush;
        }
        // Every rank holds every replicate's whole result; rank 0 reports.
        MpiPartition part(rank, size);
        for (std::int64_t i = 0; i < runs; ++i) {
          const auto v = pack(model.run_split(seed, static_cast<std::uint64_t>(i), part), i);
          if (rank == 0) all.insert(all.end(), v.begin(), v.end());
        }
      } else {
        const auto mine = run_replicates(model, runs, seed, threads, {}, {}, rank, size);
        std::vector<double> packed;
        for (std::size_t i = 0; i < mine.size(); ++i) {
          const auto v = pack(mine[i], rank + static_cast<std::int64_t>(i) * size);
          packed.insert(packed.end(), v.begin(), v.end());
        }
        all = gather(packed, rank, size);
      }
      if (rank == 0) {
        std::vector<RunResult> results(static_cast<std::size_t>(runs));
        for (std::size_t k = 0; k < all.size();) {
          RunResult r;
          std::int64_t rep = 0;
          k += unpack(all.data() + k, r, rep);
          results[static_cast<std::size_t>(rep)] = std::move(r);
        }
        const auto sum = summarise_runs(results);
        ordered_json median = ordered_json::object();
        for (int k = 0; k < s_count; ++k) median[series_name(k)] = sum.series[static_cast<std::size_t>(k)].median;
        out = {{"scenario", s.name}, {"profile", name}, {"runs", sum.runs}, {"seed", seed},
               {"probability_of_rebound", sum.rebound.estimate},
               {"probability_of_rebound_95ci", {sum.rebound.lower, sum.rebound.upper}},
               {"local_infections", summary_json(sum.local_infections)},
               {"disruption_person_days", summary_json(sum.disruption)}, {"tests", summary_json(sum.tests)},
               {"series_median", median}};
      }
    } else {
      validate(bp);
      std::vector<double> packed;
      for (std::int64_t i = rank; i < runs; i += size) {
        const auto r = run_branching(bp, seed, static_cast<std::uint64_t>(i));
        packed.insert(packed.end(), {static_cast<double>(i), r.controlled ? 1.0 : 0.0, r.extinct ? 1.0 : 0.0,
                                     static_cast<double>(r.cases)});
      }
      const auto all = gather(packed, rank, size);
      if (rank == 0) {
        std::vector<double> cases(static_cast<std::size_t>(runs));
        std::int64_t controlled = 0, extinct = 0;
        for (std::size_t k = 0; k + 4 <= all.size(); k += 4) {
          controlled += all[k + 1] != 0;
          extinct += all[k + 2] != 0;
          cases[static_cast<std::size_t>(all[k])] = all[k + 3];
        }
        const auto c = wilson(controlled, runs);
        out = {{"runs", runs}, {"seed", seed}, {"probability_of_control", c.estimate},
               {"probability_of_control_95ci", {c.lower, c.upper}},
               {"probability_of_extinction", wilson(extinct, runs).estimate}, {"cases", summary_json(summarise(cases))}};
      }
    }
    if (rank == 0) std::cout << out.dump(2) << "\n";
  } catch (const CLI::ParseError& e) {
    rc = rank == 0 ? app.exit(e) : 2;
  } catch (const bihuan::Error& e) {
    if (rank == 0) std::fprintf(stderr, "error: %s\n", e.what());
    rc = bihuan::exit_code(e.code());
  } catch (const std::exception& e) {
    if (rank == 0) std::fprintf(stderr, "error: %s\n", e.what());
    rc = 1;
  }
  MPI_Finalize();
  return rc;
}
