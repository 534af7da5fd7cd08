#pragma once
// Engine 2: the agent-based model (docs/SIMULATION.md). A city (sim/population.hpp) day by day
// with household, school/workplace, venue and community contacts (age mixing from Prem et al.
// 2021), a variant's natural history (scenarios/variants.yaml) and the interventions of a policy
// profile. A day runs fixed phases in a fixed order: policy update -> arrivals -> contacts and
// transmission -> disease progression -> testing and results -> tracing -> quarantine/isolation
// changes -> release.
//
// Every draw comes from a counter-based stream keyed by (seed, replicate, day, agent, purpose), so
// a replicate is the same whatever thread runs it, and the contacts of an agent on a day can be
// replayed exactly when the agent is traced later. Two profiles run with the same seed share
// their random streams (common random numbers).
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "core/policy.hpp"
#include "sim/population.hpp"
#include "sim/profiles.hpp"
#include "sim/stats.hpp"
#include "sim/testing.hpp"

namespace bihuan::sim {

struct Variant {
  std::string name;
  double r0 = 2.5;
  double gt_mean = 5.2, gt_sd = 1.72;     // generation time, gamma
  double inc_mean = 5.5, inc_sd = 2.4;    // incubation, lognormal
  double asymptomatic_share = 0.2;
  double asymptomatic_infectiousness = 0.35;
  int infectious_days = 14;
  std::array<double, 9> hospitalisation{};  // by ten-year age band 0-9 ... 80+
};
// Reads one preset from a variants file (scenarios/variants.yaml).
Variant load_variant(const std::string& file, const std::string& name);

// The area a mass-testing round covers: the whole city, the district(s) where a community case
// was found (疫情发生区), or the grid (compound) of the case (a delineated area, 划定区域).
enum class RoundArea { city, district, grid };
const char* round_area_name(RoundArea a);

// Prem et al. 2021 matrices for China (contacts per day, row = participant band).
struct ContactMatrices {
  double home[kBands][kBands]{}, school[kBands][kBands]{}, work[kBands][kBands]{}, others[kBands][kBands]{};
};
ContactMatrices load_prem(const std::string& dir);

// The measures of a profile as the engine applies them, plus settings the profiles do not carry
// (each a scenario override; defaults are local settings, documented in docs/SIMULATION.md).
struct Interventions {
  std::string profile;
  std::vector<DayRegime> close_plan, secondary_plan, inbound_plan;
  int pre_departure_test_hours = 0;
  bool tracing = false;         // close contacts are traced (close_contact managed)
  bool secondary = false;       // household members of close contacts (secondary_contact managed)
  bool lockdown = false;        // a community case locks its grid (high_risk_area_arrival managed)
  bool mass_testing = false;    // a community case starts pooled rounds (medium_risk_area_arrival managed)
  // The round rule of the profile the rounds follow (testing.round_rules, apply_round_rule):
  // the area a round covers, every how many days, how many rounds (0: until clean_rounds_to_stop
  // clean rounds, then one more after final_round_gap_days when > 0).
  RoundArea round_area = RoundArea::city;
  std::string round_rule;
  int round_every_days = 1;
  int round_count = 0;
  int final_round_gap_days = 0;
  bool central_case_isolation = true;  // cases isolate centrally until recovered; else at home
  int home_case_isolation_days = 7;
  double tracing_coverage = 0.8;    // share of workplace/school contacts found
  double community_recall = 0.3;    // share of community contacts a case can name
  double scan_compliance = 0.8;     // share of venue visits scanned
  int tracing_delay = 1;            // days from a positive result to the contacts' quarantine
  int result_delay = 1;             // days from sample to result
  double seek_test_share = 0.6;     // symptomatic people outside control who get tested
  double seek_delay_mean = 2;       // days from onset to that test
  int pool_size = 10;               // mass-testing pool (混采) ratio
  int clean_rounds_to_stop = 3;
  int lockdown_days = 7;
  double mask_multiplier = 1;       // venue and community transmission
  double gathering_multiplier = 1;  // venue transmission
};
// The interventions a profile implies (see the rules in docs/SIMULATION.md).
Interventions interventions_from(const policy::Profile& p);
// The area a round rule covers: a delineated area (administrative_area false) is the case's grid;
// an administrative rule whose key names a district (outbreak_district_*) covers the districts of
// the cases; any other administrative rule (ordinary_city_urban) the whole city.
RoundArea round_area_of(const policy::RoundRule& rule);
// Makes the rounds follow the profile's round rule `key` (empty: the first the profile's
// mass_testing value allows, districts before the city before delineated areas). Error
// (invalid_argument, field round_rule) when the profile has no such rule or does not allow it.
void apply_round_rule(Interventions& iv, const policy::Profile& p, const std::string& key);

// "Start from today" (sim/start.hpp): people under control orders, cases and positive results
// of a bihuan database, as agents of a population built from the same database. Day 0 is today.
struct StartState {
  struct Order {
    std::uint32_t agent = 0;
    int group = 0;           // index into groups
    int plan_start = 0;      // the simulation day of the order's plan day 1 (0 = today, -3 = started 3 days ago)
    policy::Measure today = policy::Measure::central_quarantine;  // the measure of the order's current stage
  };
  struct Case {
    std::uint32_t agent = 0;
    int sample_day = 0;      // <= 0
    int result_day = 0;      // opened (case) or received (result) day, <= 0
    bool opened = false;     // a case is open (isolated); false: a positive result not yet acted on
  };
  std::vector<std::string> groups;  // policy groups of the orders
  std::vector<Order> orders;
  std::vector<Case> cases;
};

struct AbmConfig {
  Variant variant;
  Interventions iv;
  int days = 60;
  int initial_infections = 10;      // seeded on day 0, not under any measure
  double imports_per_day = 0;       // arrivals per day
  double import_prevalence = 0.0;   // share of arrivals infected
  double household_weight = 2.0;    // per-contact transmission at home relative to elsewhere
  double venue_visit_share = 0.5;   // share of people visiting a venue on a day
  double venue_contact_share = 0.4; // share of Prem "others" contacts made at venues
  bool random_mixing = false;       // analytic setting: only random community contacts
  double random_contacts = 10;      // contacts per day in random mixing
  int rebound_threshold = 10;       // local community cases (not imported, found outside control) that make a rebound
  SensitivityCurve sensitivity;
  // Start from today: the orders' and cases' state on day 0; start_plans[g] is the simulated
  // profile's plan of start->groups[g] (empty when the profile does not manage the group: the
  // order ends after today). Seeded infections are placed only when start has no cases.
  std::shared_ptr<const StartState> start;
  std::vector<std::vector<DayRegime>> start_plans;
};
// Sets cfg.start and the plans of its groups under `profile`.
void set_start(AbmConfig& cfg, std::shared_ptr<const StartState> start, const policy::Profile& profile);

enum Series : int {
  s_infections, s_imported, s_detected_inside, s_detected_outside, s_central_quarantine, s_home_quarantine,
  s_monitoring, s_isolated, s_locked, s_tests, s_tubes, s_beds, s_count
};
const char* series_name(int s);

struct RunResult {
  bool complete = false;
  std::vector<std::array<std::int32_t, s_count>> daily;
  std::int64_t local_infections = 0, imported_infections = 0, community_cases = 0, cases_in_control = 0;
  std::int64_t central_person_days = 0, home_person_days = 0, lockdown_person_days = 0, tests = 0, tubes = 0;
  std::int64_t peak_beds = 0, peak_rooms = 0;
  std::int64_t symptomatic_isolations = 0;  // cases isolated after a test prompted by their symptoms
  std::int64_t symptomatic_infections = 0;
  // Observed transition times (for the natural-history checks).
  double incubation_sum = 0, incubation_sumsq = 0;
  std::int64_t incubation_n = 0;
  bool rebound = false;
  double disruption() const {  // person-days under measures: quarantine and lockdown
    return static_cast<double>(central_person_days + home_person_days + lockdown_person_days);
  }
};

struct Model;      // precomputed tables shared by the replicates
struct RankSlice;  // one rank's part of the population tables (keep_split)

// One city split across processes by area (MPI ranks: sim/mpi/bihuan_mpi.cpp). Rank r owns the
// agents of a contiguous run of grids (split_range) and keeps their state and their rows of the
// population tables; an infection or a quarantine order aimed at another rank's agent (or at an
// entry of the member lists another rank holds) is sent to it as a message at the end of the
// phase, mass-testing decisions and the day's counts are summed across ranks.
// Every message is applied in a fixed order (by agent), so the result is the same for any number
// of ranks, and equal to Abm::run.
class Partition {
 public:
  virtual ~Partition() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // All-to-all: out[r] goes to rank r (out[rank()] too); returns what every rank sent here,
  // concatenated in rank order. out is cleared.
  virtual std::vector<std::uint64_t> exchange(std::vector<std::vector<std::uint64_t>>& out) = 0;
  // Element-wise sum over the ranks, in place, on every rank.
  virtual void sum(std::vector<std::int64_t>& v) = 0;
};
// The agents [first, second) rank `rank` of `ranks` owns: whole grids in order, cut where the
// running count of persons passes rank * n / ranks.
std::pair<std::uint32_t, std::uint32_t> split_range(const Population& pop, int rank, int ranks);

class Abm {
 public:
  Abm(const Population& pop, const ContactMatrices& prem, AbmConfig cfg);
  ~Abm();
  Abm(const Abm&) = delete;
  Abm& operator=(const Abm&) = delete;
  // One replicate; `cancelled` is polled once a day (an interrupted run is not complete).
  RunResult run(std::uint64_t seed, std::uint64_t replicate, const std::function<bool()>& cancelled = {}) const;
  // One replicate with the city split across the ranks of `part` (called on every rank); every
  // rank returns the whole city's result, equal to run(seed, replicate). The rank reads only its
  // part of the population tables: the one kept by keep_split, else one made for the run.
  RunResult run_split(std::uint64_t seed, std::uint64_t replicate, Partition& part) const;
  // Keeps only rank `rank`'s part of the population tables (of `ranks`): its agents' rows, its
  // households and its entries of the workplace/class and age-band lists, plus the small tables
  // (grid, district, group and band starts). Afterwards the Population given to the constructor
  // is no longer read (it may be released); run() throws, run_split() serves that rank only.
  void keep_split(int rank, int ranks);
  // Bytes of the tables kept by keep_split (0 before).
  std::size_t split_table_bytes() const;
  // Daily infectiousness weights w[tau], tau = days since infection (sums to 1).
  const std::vector<double>& weights() const;
  double beta() const;
  // Bytes per agent of one replicate's state.
  static constexpr std::size_t state_bytes_per_agent() { return 13; }
  const AbmConfig& config() const { return cfg_; }

 private:
  const Population* pop_;  // null after keep_split
  AbmConfig cfg_;
  std::unique_ptr<Model> m_;
  std::unique_ptr<RankSlice> slice_;
};

struct SeriesBand {
  std::vector<double> q05, q25, median, q75, q95, mean;
};
struct AbmSummary {
  std::int64_t runs = 0;
  Proportion rebound;
  Summary local_infections, community_cases, disruption, central_person_days, home_person_days,
      lockdown_person_days, tests, tubes, peak_beds, peak_rooms;
  std::array<SeriesBand, s_count> series;
};
AbmSummary summarise_runs(const std::vector<RunResult>& runs);

// Runs replicates 0..runs-1 on `threads` threads; the result does not depend on `threads`.
std::vector<RunResult> run_replicates(const Abm& abm, std::int64_t runs, std::uint64_t seed, unsigned threads,
                                      const std::function<bool()>& cancelled = {},
                                      const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                                      std::int64_t first = 0, std::int64_t stride = 1);

// Root r of 1 = R sum_tau w(tau) exp(-r tau) (the discrete Euler-Lotka equation).
double euler_lotka_discrete(double r0, const std::vector<double>& w);

}  // namespace bihuan::sim
