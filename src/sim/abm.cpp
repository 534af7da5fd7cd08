#include "sim/abm.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.hpp"
#include "core/lab_rules.hpp"
#include "sim/parallel.hpp"
#include "sim/rng.hpp"

namespace bihuan::sim {
namespace {

constexpr std::int16_t kNever = std::numeric_limits<std::int16_t>::min();
enum : std::uint64_t { tag_nh = 101, tag_contact = 102, tag_tx = 103, tag_test = 104, tag_trace = 105,
                       tag_import = 106, tag_seed = 107, tag_mass = 108 };
enum Measure : std::uint8_t { m_none, m_central, m_home, m_monitor, m_test_only, m_iso_central, m_iso_home };
enum Plan : std::uint8_t { p_none, p_close, p_secondary, p_inbound, p_start0 };  // p_start0 + g: a start order of group g
enum Flag : std::uint8_t { f_asym = 1, f_severe = 2, f_detected = 4, f_imported = 8, f_pending = 16 };
enum Layer : int { l_household, l_group, l_venue, l_community };

std::uint8_t measure_code(policy::Measure m) {
  switch (m) {
    case policy::Measure::central_quarantine: return m_central;
    case policy::Measure::home_isolation: return m_home;
    case policy::Measure::home_health_monitoring: return m_monitor;
    case policy::Measure::testing_only: return m_test_only;
  }
  return m_none;
}

double gamma_pdf(double x, double shape, double scale) {
  if (x <= 0) return 0;
  return std::exp((shape - 1) * std::log(x) - x / scale - std::lgamma(shape) - shape * std::log(scale));
}

std::string read_text(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::not_found, std::string("cannot read ") + what + " " + path, what);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void read_matrix(const std::string& file, double (&m)[kBands][kBands]) {
  std::istringstream in(read_text(file, "contact matrix"));
  std::string line;
  std::getline(in, line);  // header
  for (int r = 0; r < kBands; ++r) {
    if (!std::getline(in, line)) fail(ErrorCode::invalid_argument, file + ": fewer than 16 rows", "contact_matrix");
    std::istringstream row(line);
    std::string cell;
    std::getline(row, cell, ',');  // band label
    for (int c = 0; c < kBands; ++c) {
      if (!std::getline(row, cell, ','))
        fail(ErrorCode::invalid_argument, file + ": row " + std::to_string(r + 2) + " has fewer than 16 values",
             "contact_matrix");
      try {
        m[r][c] = std::stod(cell);
      } catch (const std::exception&) {
        fail(ErrorCode::invalid_argument, file + ": row " + std::to_string(r + 2) + ": not a number: " + cell,
             "contact_matrix");
      }
      if (!(m[r][c] >= 0) || !std::isfinite(m[r][c]))
        fail(ErrorCode::invalid_argument, file + ": row " + std::to_string(r + 2) + ": negative or not finite",
             "contact_matrix");
    }
  }
}

}  // namespace

const char* series_name(int s) {
  static const char* names[s_count] = {"infections", "imported", "detected_inside_control", "detected_outside_control",
                                       "central_quarantine", "home_quarantine", "health_monitoring", "isolated_cases",
                                       "locked_down", "tests", "tubes", "hospital_beds"};
  return s >= 0 && s < s_count ? names[s] : "";
}

Variant load_variant(const std::string& file, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(read_text(file, "variants"));
  } catch (const YAML::Exception& e) {
    fail(ErrorCode::invalid_argument, file + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg, "variants");
  }
  const YAML::Node v = root["variants"][name];
  if (!v) fail(ErrorCode::invalid_argument, "variant: no preset named '" + name + "' in " + file, "variant");
  Variant out;
  out.name = name;
  auto num = [&](const char* key, const char* sub) {
    const YAML::Node n = v[key][sub];
    if (!n) fail(ErrorCode::invalid_argument, "variants." + name + "." + key + "." + sub + ": missing", key);
    try {
      return n.as<double>();
    } catch (const YAML::Exception&) {
      fail(ErrorCode::invalid_argument, "variants." + name + "." + key + "." + sub + ": not a number", key);
    }
  };
  out.r0 = num("r0", "value");
  out.gt_mean = num("generation_time", "mean");
  out.gt_sd = num("generation_time", "sd");
  out.inc_mean = num("incubation", "mean");
  out.inc_sd = num("incubation", "sd");
  out.asymptomatic_share = num("asymptomatic_share", "value");
  out.asymptomatic_infectiousness = num("asymptomatic_infectiousness", "value");
  out.infectious_days = static_cast<int>(num("infectious_days", "value"));
  const YAML::Node h = v["hospitalisation_by_age"]["values"];
  if (!h || !h.IsSequence() || h.size() != 9)
    fail(ErrorCode::invalid_argument, "variants." + name + ".hospitalisation_by_age.values: need 9 values", "variant");
  for (std::size_t i = 0; i < 9; ++i) out.hospitalisation[i] = h[i].as<double>();
  if (!(out.r0 >= 0) || !(out.gt_mean > 0) || !(out.gt_sd > 0) || !(out.inc_mean > 0) || !(out.inc_sd > 0) ||
      !(out.asymptomatic_share >= 0 && out.asymptomatic_share <= 1) || out.infectious_days < 1 ||
      out.infectious_days > 60)
    fail(ErrorCode::invalid_argument, "variants." + name + ": a value is out of range", "variant");
  return out;
}

ContactMatrices load_prem(const std::string& dir) {
  ContactMatrices m;
  read_matrix(dir + "/prem2021_contact_home_CHN.csv", m.home);
  read_matrix(dir + "/prem2021_contact_school_CHN.csv", m.school);
  read_matrix(dir + "/prem2021_contact_work_CHN.csv", m.work);
  read_matrix(dir + "/prem2021_contact_others_CHN.csv", m.others);
  return m;
}

Interventions interventions_from(const policy::Profile& p) {
  Interventions iv;
  iv.profile = p.name;
  iv.close_plan = group_days(p, "close_contact");
  iv.secondary_plan = group_days(p, "secondary_contact");
  iv.inbound_plan = group_days(p, "inbound");
  if (auto it = p.groups.find("inbound"); it != p.groups.end()) iv.pre_departure_test_hours = it->second.pre_departure_test_hours;
  iv.tracing = !iv.close_plan.empty();
  iv.secondary = !iv.secondary_plan.empty();
  iv.lockdown = manages(p, "high_risk_area_arrival");
  iv.mass_testing = manages(p, "medium_risk_area_arrival");
  if (iv.mass_testing) {
    try {
      apply_round_rule(iv, p, "");
    } catch (const Error&) {
      // No round rule the profile allows: the engine's defaults (daily city-wide rounds).
    }
  }
  if (manages(p, "mild_case")) {
    iv.central_case_isolation = false;
    iv.home_case_isolation_days = static_cast<int>(group_days(p, "mild_case").size());
  } else if (!iv.tracing) {
    iv.central_case_isolation = false;  // 乙类乙管: no isolation order; a few days at home (local setting)
    iv.home_case_isolation_days = 5;
  }
  return iv;
}

const char* round_area_name(RoundArea a) {
  switch (a) {
    case RoundArea::city: return "city";
    case RoundArea::district: return "district";
    case RoundArea::grid: return "grid";
  }
  return "";
}

RoundArea round_area_of(const policy::RoundRule& rule) {
  if (!rule.administrative_area) return RoundArea::grid;
  if (rule.key.find("district") != std::string::npos) return RoundArea::district;
  return RoundArea::city;
}

void apply_round_rule(Interventions& iv, const policy::Profile& p, const std::string& key) {
  const auto& rules = p.testing.round_rules;
  const policy::RoundRule* chosen = nullptr;
  if (!key.empty()) {
    auto it = rules.find(key);
    if (it == rules.end())
      fail(ErrorCode::invalid_argument, "round_rule: profile " + p.name + " has no round rule '" + key + "'", "round_rule");
    const auto permit = lab::round_permit(p, key, true);  // a community case declares the outbreak
    if (!permit.allowed) fail(ErrorCode::invalid_argument, "round_rule: " + permit.reason, "round_rule");
    chosen = &it->second;
  } else {
    for (RoundArea want : {RoundArea::district, RoundArea::city, RoundArea::grid}) {
      for (const auto& [k, r] : rules)
        if (round_area_of(r) == want && lab::round_permit(p, k, true).allowed) {
          chosen = &r;
          break;
        }
      if (chosen) break;
    }
    if (!chosen) fail(ErrorCode::invalid_argument, "round_rule: profile " + p.name + " allows no round rule", "round_rule");
  }
  iv.round_rule = chosen->key;
  iv.round_area = round_area_of(*chosen);
  iv.round_every_days = std::max(1, chosen->every_days);
  iv.round_count = std::max(0, chosen->rounds);
  iv.final_round_gap_days = std::max(0, chosen->final_round_gap_days);
  if (chosen->stop_after_clean > 0) iv.clean_rounds_to_stop = chosen->stop_after_clean;
}

// ---------------------------------------------------------------------------------------------
struct Model {
  PoissonTable group_n[kBands], venue_n[kBands], community_n[kBands], random_n;  // contacts per day (per visit)
  std::vector<double> w;               // infectiousness by days since infection
  double beta = 0;
  double group_rate[kBands]{};         // school (6-17) or work contacts per day, by band
  double community_rate[kBands]{};
  double venue_rate[kBands]{};         // contacts per visit
  double others_cdf[kBands][kBands]{}; // community contact's band
  double inc_meanlog = 0, inc_sdlog = 0;
};

Abm::Abm(const Population& pop, const ContactMatrices& prem, AbmConfig cfg) : pop_(&pop), cfg_(std::move(cfg)), m_(std::make_unique<Model>()) {
  const Variant& v = cfg_.variant;
  if (pop.n == 0) fail(ErrorCode::invalid_argument, "population: empty", "persons");
  if (cfg_.days < 1 || cfg_.days > 3000) fail(ErrorCode::invalid_argument, "days: must be from 1 to 3000", "days");
  if (cfg_.initial_infections < 0 || static_cast<std::uint32_t>(cfg_.initial_infections) > pop.n)
    fail(ErrorCode::invalid_argument, "initial_infections: must be from 0 to the population", "initial_infections");
  if (cfg_.start) {
    const StartState& st = *cfg_.start;
    if (cfg_.start_plans.size() != st.groups.size())
      fail(ErrorCode::invalid_argument, "start: the plans of the order groups are not set (set_start)", "start");
    for (const auto& o : st.orders)
      if (o.agent >= pop.n || o.group < 0 || static_cast<std::size_t>(o.group) >= st.groups.size() ||
          o.plan_start < -3000 || o.plan_start > 0)
        fail(ErrorCode::invalid_argument, "start: an order names no agent, no group or a plan start outside -3000..0", "start");
    for (const auto& c : st.cases)
      if (c.agent >= pop.n || c.sample_day < -3000 || c.sample_day > 0 || c.result_day < -3000 || c.result_day > 0)
        fail(ErrorCode::invalid_argument, "start: a case names no agent or a day outside -3000..0", "start");
  }
  // Generation time: gamma, discretised by rounding (day tau holds (tau - 0.5, tau + 0.5]; the
  // mass before 0.5 goes to day 1), cut at infectious_days and renormalised.
  const double shape = (v.gt_mean * v.gt_mean) / (v.gt_sd * v.gt_sd), scale = (v.gt_sd * v.gt_sd) / v.gt_mean;
  m_->w.assign(static_cast<std::size_t>(v.infectious_days) + 1, 0.0);
  const int steps = 400;
  double total = 0;
  for (int tau = 1; tau <= v.infectious_days; ++tau) {
    const double lo = tau == 1 ? 0.0 : tau - 0.5, hi = tau + 0.5;
    double s = 0;
    for (int k = 0; k < steps; ++k) s += gamma_pdf(lo + (hi - lo) * (k + 0.5) / steps, shape, scale);
    m_->w[static_cast<std::size_t>(tau)] = s * (hi - lo) / steps;
    total += m_->w[static_cast<std::size_t>(tau)];
  }
  for (double& x : m_->w) x /= total;
  m_->inc_sdlog = std::sqrt(std::log(1 + (v.inc_sd * v.inc_sd) / (v.inc_mean * v.inc_mean)));
  m_->inc_meanlog = std::log(v.inc_mean) - m_->inc_sdlog * m_->inc_sdlog / 2;

  // Contact rates by band from Prem et al. 2021.
  for (int b = 0; b < kBands; ++b) {
    double school = 0, work = 0, others = 0;
    for (int c = 0; c < kBands; ++c) {
      school += prem.school[b][c];
      work += prem.work[b][c];
      others += prem.others[b][c];
    }
    m_->group_rate[b] = (b >= 1 && b <= 3) ? school : work;
    m_->venue_rate[b] = cfg_.venue_visit_share > 0 ? others * cfg_.venue_contact_share / cfg_.venue_visit_share : 0;
    m_->community_rate[b] = others * (1 - cfg_.venue_contact_share);
    double acc = 0;
    for (int c = 0; c < kBands; ++c) {
      acc += prem.others[b][c];
      m_->others_cdf[b][c] = others > 0 ? acc / others : (c + 1.0) / kBands;
    }
    m_->others_cdf[b][kBands - 1] = 1.0;
  }
  for (int b = 0; b < kBands; ++b) {
    m_->group_n[b].build(m_->group_rate[b]);
    m_->venue_n[b].build(m_->venue_rate[b]);
    m_->community_n[b].build(m_->community_rate[b]);
  }
  m_->random_n.build(cfg_.random_contacts);
  // beta: an average infection in a fully susceptible city with no measure causes R0 infections
  // (to first order: repeated contacts within a household make the realised number lower).
  double weighted = 0;
  for (std::uint32_t i = 0; i < pop.n; ++i) {
    if (cfg_.random_mixing) {
      weighted += cfg_.random_contacts;
      continue;
    }
    const std::uint32_t h = pop.household[i];
    const int b = pop.band[i];
    weighted += cfg_.household_weight * (pop.hh_start[h + 1] - pop.hh_start[h] - 1);
    if (pop.group[i] != kNoGroup) weighted += m_->group_rate[b];
    weighted += cfg_.venue_visit_share * m_->venue_rate[b] + m_->community_rate[b];
  }
  weighted /= pop.n;
  const double rho = (1 - v.asymptomatic_share) + v.asymptomatic_share * v.asymptomatic_infectiousness;
  m_->beta = weighted > 0 && rho > 0 ? v.r0 / (weighted * rho) : 0;
}

void set_start(AbmConfig& cfg, std::shared_ptr<const StartState> start, const policy::Profile& profile) {
  cfg.start_plans.clear();
  if (start) {
    if (start->groups.size() > 200u) fail(ErrorCode::invalid_argument, "start: more than 200 order groups", "groups");
    for (const auto& g : start->groups) cfg.start_plans.push_back(group_days(profile, g));
  }
  cfg.start = std::move(start);
}

const std::vector<double>& Abm::weights() const { return m_->w; }
double Abm::beta() const { return m_->beta; }

namespace {

// Per-agent state of the agents [off, off + size) (a rank of a split city holds its own only).
template <typename T>
struct AgentArray {
  std::vector<T> v;
  std::uint32_t off = 0;
  void assign(std::uint32_t lo, std::uint32_t hi, T x) {
    off = lo;
    v.assign(hi - lo, x);
  }
  T& operator[](std::uint32_t j) { return v[j - off]; }
  const T& operator[](std::uint32_t j) const { return v[j - off]; }
};

// Rows [off, off + size) of a table, read by their index in the whole table.
template <typename T>
struct Rows {
  const T* p = nullptr;
  std::uint32_t off = 0;
  const T& operator[](std::uint32_t j) const { return p[j - off]; }
};

// A member of the workplace/class list (table 0) or the age-band list (table 1) that another rank
// holds: kRemote | table << 62 | index in the whole list. A contact is otherwise an agent id
// (below 2^31) or kNobody.
constexpr std::uint64_t kRemote = std::uint64_t{1} << 63;
constexpr std::uint64_t kTableBit = std::uint64_t{1} << 62;

}  // namespace

// One rank's part of the population tables (Abm::keep_split): the rows of its own agents and
// households, and its own entries of the group and band member lists (the entries of one group or
// band held by one rank are a contiguous run, as the lists are in agent order); the small tables
// (grid, district, group and band starts, the ranks' first agents) whole.
struct RankSlice {
  int rank = 0, ranks = 1;
  std::uint32_t n = 0, lo = 0, hi = 0, hh_lo = 0, hh_hi = 0;
  std::vector<std::uint32_t> bounds;  // rank k's first agent (k = 0..ranks), bounds[ranks] = n
  std::vector<std::uint8_t> age, band;
  std::vector<std::uint32_t> household, group, hh_start, grid_of_hh;
  std::vector<std::uint32_t> grid_start, district_start, group_start, band_start;
  // List entries [cut[g * (ranks + 1) + r], cut[g * (ranks + 1) + r + 1]) of group (band) g are
  // rank r's; this rank's are at members[base[g] ...].
  std::vector<std::uint32_t> group_members, group_cut, group_base, band_members, band_cut, band_base;
  std::size_t bytes() const {
    auto b = [](const auto& v) { return v.capacity() * sizeof(v[0]); };
    return b(bounds) + b(age) + b(band) + b(household) + b(group) + b(hh_start) + b(grid_of_hh) + b(grid_start) +
           b(district_start) + b(group_start) + b(band_start) + b(group_members) + b(group_cut) + b(group_base) +
           b(band_members) + b(band_cut) + b(band_base);
  }
};

Abm::~Abm() = default;

namespace {

RankSlice make_slice(const Population& pop, int rank, int ranks) {
  RankSlice s;
  s.rank = rank;
  s.ranks = ranks;
  s.n = pop.n;
  for (int k = 0; k < ranks; ++k) s.bounds.push_back(split_range(pop, k, ranks).first);
  s.bounds.push_back(pop.n);
  s.lo = s.bounds[static_cast<std::size_t>(rank)];
  s.hi = s.bounds[static_cast<std::size_t>(rank) + 1];
  // Households are numbered in agent order and a rank's agents are whole grids: its households
  // are a contiguous run too.
  s.hh_lo = s.lo < pop.n ? pop.household[s.lo] : pop.households();
  s.hh_hi = s.hi < pop.n ? pop.household[s.hi] : pop.households();
  s.age.assign(pop.age.begin() + s.lo, pop.age.begin() + s.hi);
  s.band.assign(pop.band.begin() + s.lo, pop.band.begin() + s.hi);
  s.household.assign(pop.household.begin() + s.lo, pop.household.begin() + s.hi);
  s.group.assign(pop.group.begin() + s.lo, pop.group.begin() + s.hi);
  s.hh_start.assign(pop.hh_start.begin() + s.hh_lo, pop.hh_start.begin() + s.hh_hi + 1);
  s.grid_of_hh.assign(pop.grid_of_hh.begin() + s.hh_lo, pop.grid_of_hh.begin() + s.hh_hi);
  s.grid_start = pop.grid_start;
  s.district_start = pop.district_start;
  s.group_start = pop.group_start;
  s.band_start = pop.band_start;
  auto cut_lists = [&](const std::vector<std::uint32_t>& start, const std::vector<std::uint32_t>& members,
                       std::vector<std::uint32_t>& cut, std::vector<std::uint32_t>& base, std::vector<std::uint32_t>& mine) {
    const std::size_t lists = start.size() - 1, width = static_cast<std::size_t>(ranks) + 1;
    cut.resize(lists * width);
    base.resize(lists);
    for (std::size_t g = 0; g < lists; ++g) {
      const auto first = members.begin() + start[g], last = members.begin() + start[g + 1];
      for (std::size_t r = 0; r < width; ++r)
        cut[g * width + r] = static_cast<std::uint32_t>(std::lower_bound(first, last, s.bounds[r]) - members.begin());
      base[g] = static_cast<std::uint32_t>(mine.size());
      mine.insert(mine.end(), members.begin() + cut[g * width + static_cast<std::size_t>(rank)],
                  members.begin() + cut[g * width + static_cast<std::size_t>(rank) + 1]);
    }
    mine.shrink_to_fit();
  };
  cut_lists(s.group_start, pop.group_members, s.group_cut, s.group_base, s.group_members);
  cut_lists(s.band_start, pop.band_members, s.band_cut, s.band_base, s.band_members);
  return s;
}

// The population tables a replicate reads: the whole city's (Abm::run) or one rank's slice
// (Abm::run_split), under the same names and indices.
struct PopView {
  std::uint32_t n = 0;
  Rows<std::uint8_t> age, band;
  Rows<std::uint32_t> household, group, hh_start, grid_of_hh;
  const std::vector<std::uint32_t>& grid_start;
  const std::vector<std::uint32_t>& district_start;
  const std::vector<std::uint32_t>& group_start;
  const std::vector<std::uint32_t>& band_start;
  const RankSlice* slice = nullptr;  // null: the whole city
  const std::uint32_t* group_members = nullptr;
  const std::uint32_t* band_members = nullptr;

  explicit PopView(const Population& p)
      : n(p.n),
        age{p.age.data(), 0},
        band{p.band.data(), 0},
        household{p.household.data(), 0},
        group{p.group.data(), 0},
        hh_start{p.hh_start.data(), 0},
        grid_of_hh{p.grid_of_hh.data(), 0},
        grid_start(p.grid_start),
        district_start(p.district_start),
        group_start(p.group_start),
        band_start(p.band_start),
        group_members(p.group_members.data()),
        band_members(p.band_members.data()) {}
  explicit PopView(const RankSlice& s)
      : n(s.n),
        age{s.age.data(), s.lo},
        band{s.band.data(), s.lo},
        household{s.household.data(), s.lo},
        group{s.group.data(), s.lo},
        hh_start{s.hh_start.data(), s.hh_lo},
        grid_of_hh{s.grid_of_hh.data(), s.hh_lo},
        grid_start(s.grid_start),
        district_start(s.district_start),
        group_start(s.group_start),
        band_start(s.band_start),
        slice(&s),
        group_members(s.group_members.data()),
        band_members(s.band_members.data()) {}

  std::uint32_t grids() const { return static_cast<std::uint32_t>(grid_start.size() - 1); }
  std::uint32_t grid_of(std::uint32_t j) const { return grid_of_hh[household[j]]; }

  // Entry x of list `list` (group or band `list`) of table t: the agent, or a remote reference.
  std::uint64_t member(int t, std::uint32_t list, std::uint32_t x) const {
    if (!slice) return (t == 0 ? group_members : band_members)[x];
    const auto w = static_cast<std::size_t>(slice->ranks) + 1;
    const std::uint32_t* cut = (t == 0 ? slice->group_cut : slice->band_cut).data() + list * w;
    const auto r = static_cast<std::size_t>(slice->rank);
    if (x >= cut[r] && x < cut[r + 1])
      return (t == 0 ? group_members : band_members)[(t == 0 ? slice->group_base : slice->band_base)[list] + x - cut[r]];
    return kRemote | (t == 0 ? 0 : kTableBit) | x;
  }
  // The table, list and entry of a remote reference (its entry index in the low 31 bits).
  static int table_of(std::uint64_t ref) { return (ref & kTableBit) ? 1 : 0; }
  std::uint32_t list_of(int t, std::uint32_t x) const {
    const auto& start = t == 0 ? group_start : band_start;
    return static_cast<std::uint32_t>(std::upper_bound(start.begin(), start.end(), x) - start.begin() - 1);
  }
  // The rank holding entry x of table t.
  std::size_t owner(int t, std::uint32_t x) const {
    const auto w = static_cast<std::size_t>(slice->ranks) + 1;
    const std::uint32_t* cut = (t == 0 ? slice->group_cut : slice->band_cut).data() + list_of(t, x) * w;
    return static_cast<std::size_t>(std::upper_bound(cut, cut + w, x) - cut - 1);
  }
  // The agent of entry x of table t, held by this rank.
  std::uint32_t resolve(int t, std::uint32_t x) const { return static_cast<std::uint32_t>(member(t, list_of(t, x), x)); }
};

// One replicate's state and the phases of a day.
struct World {
  const PopView& pop;
  const AbmConfig& cfg;
  const Model& m;
  std::uint64_t seed, rep;
  // Per agent (13 bytes).
  AgentArray<std::int16_t> inf_day, onset_day, seek_day, plan_start, iso_until;
  AgentArray<std::uint8_t> flags, measure, plan;
  // Lists.
  std::vector<std::uint32_t> active;    // infected, not yet past infectiousness or test seeking
  std::size_t sorted_upto = 0;          // active[0, sorted_upto) is in agent order
  std::vector<std::uint32_t> measured;  // under a measure (some may have been released since)
  struct Pending {
    std::uint32_t agent;
    std::int16_t result_day, sample_day;
    bool inside;
  };
  std::vector<Pending> pending;
  struct Trace {
    std::uint32_t agent;
    std::int16_t day, sample_day;
    bool inside;
  };
  std::vector<Trace> traces;
  std::vector<std::int16_t> lockdown_until;  // by grid
  // Mass-testing rounds by unit: the whole city, a district or a grid (cfg.iv.round_area); the
  // agents of unit u are [unit_start[u], unit_start[u + 1]). The state of every unit is the same
  // on every rank (its decisions are made on sums over the ranks).
  struct RoundUnit {
    bool on = false, final_pending = false;  // final_pending: the streak is reached, one more round due
    int streak = 0, done = 0, next_day = 0;
  };
  std::vector<RoundUnit> round_units;
  std::vector<std::uint32_t> unit_start;
  std::vector<std::uint32_t> rounds_on;  // units with rounds going on, in order
  std::vector<std::uint64_t> triggered;  // units where this rank found a community case today
  RunResult r;
  std::array<std::int32_t, s_count> today{};
  // The split across ranks (Partition): this rank's agents [lo, hi) and grids [grid_lo, grid_hi);
  // bounds[r] is rank r's first agent. Without a partition everything is this rank's.
  Partition* part = nullptr;
  std::uint32_t own_lo = 0, own_hi = 0, grid_lo = 0, grid_hi = 0;
  std::vector<std::uint32_t> bounds;
  std::vector<std::vector<std::uint64_t>> outbox{1};

  World(const PopView& p, const AbmConfig& c, const Model& mo, std::uint64_t s, std::uint64_t re,
        Partition* pa = nullptr)
      : pop(p), cfg(c), m(mo), seed(s), rep(re) {
    own_hi = p.n;
    grid_hi = p.grids();
    if (pa) split(*pa);
    inf_day.assign(own_lo, own_hi, kNever);
    onset_day.assign(own_lo, own_hi, kNever);
    seek_day.assign(own_lo, own_hi, kNever);
    plan_start.assign(own_lo, own_hi, 0);
    iso_until.assign(own_lo, own_hi, 0);
    flags.assign(own_lo, own_hi, 0);
    measure.assign(own_lo, own_hi, m_none);
    plan.assign(own_lo, own_hi, p_none);
    lockdown_until.assign(p.grids(), kNever);
    if (c.iv.mass_testing) {
      if (c.iv.round_area == RoundArea::city) {
        unit_start = {0, p.n};
      } else if (c.iv.round_area == RoundArea::district) {
        for (std::uint32_t d : p.district_start) unit_start.push_back(p.grid_start[d]);
      } else {
        unit_start = p.grid_start;
      }
      round_units.assign(unit_start.size() - 1, RoundUnit{});
    }
  }
  std::uint32_t unit_of(std::uint32_t j) const {
    return static_cast<std::uint32_t>(std::upper_bound(unit_start.begin(), unit_start.end(), j) - unit_start.begin() - 1);
  }

  // This rank's agents and grids; the state arrays hold only them.
  void split(Partition& pa) {
    part = &pa;
    bounds = pop.slice->bounds;
    own_lo = bounds[static_cast<std::size_t>(pa.rank())];
    own_hi = bounds[static_cast<std::size_t>(pa.rank()) + 1];
    auto grid_at = [&](std::uint32_t a) {  // the grid starting at agent a (a is a grid boundary)
      return static_cast<std::uint32_t>(std::lower_bound(pop.grid_start.begin(), pop.grid_start.end(), a) - pop.grid_start.begin());
    };
    grid_lo = grid_at(own_lo);
    grid_hi = grid_at(own_hi);
    outbox.assign(static_cast<std::size_t>(pa.size()), {});
  }
  bool own(std::uint32_t j) const { return j >= own_lo && j < own_hi; }
  // Queues a message for the owner of agent j (this rank when there is no partition).
  void post(std::uint32_t j, std::uint64_t msg) {
    std::size_t to = 0;
    if (part) to = static_cast<std::size_t>(std::upper_bound(bounds.begin(), bounds.end(), j) - bounds.begin() - 1);
    outbox[to].push_back(msg);
  }
  // Queues a message for the rank holding list entry `ref` (a remote reference).
  void post_entry(std::uint64_t ref, std::uint64_t msg) {
    outbox[pop.owner(PopView::table_of(ref), static_cast<std::uint32_t>(ref & 0x7FFFFFFFu))].push_back(msg);
  }
  // The messages for this rank, sorted (a fixed order whatever the number of ranks).
  std::vector<std::uint64_t> deliver() {
    std::vector<std::uint64_t> in;
    if (part) {
      in = part->exchange(outbox);
    } else {
      in.swap(outbox[0]);
    }
    std::sort(in.begin(), in.end());
    return in;
  }
  void reduce(std::vector<std::int64_t>& v) {
    if (part) part->sum(v);
  }

  bool locked(std::uint32_t i, int day) const { return lockdown_until[pop.grid_of(i)] >= day; }
  // 0 = no contacts at all, 1 = household only, 2 = everyone.
  int reach(std::uint32_t i, int day) const {
    const std::uint8_t ms = measure[i];
    if (ms == m_central || ms == m_iso_central) return 0;
    if (ms == m_home || ms == m_iso_home) return 1;
    if (!cfg.random_mixing && locked(i, day)) return 1;
    return 2;
  }
  bool infected_now(std::uint32_t i, int day) const {
    return inf_day[i] != kNever && day - inf_day[i] <= cfg.variant.infectious_days + 21;
  }

  void infect(std::uint32_t j, int day, bool imported) {
    inf_day[j] = static_cast<std::int16_t>(day);
    Stream s = Stream::of(tag_nh, seed, rep, j);
    const Variant& v = cfg.variant;
    const bool asym = s.chance(v.asymptomatic_share);
    const double inc = s.lognormal(m.inc_meanlog, m.inc_sdlog);
    const double seek = s.exponential(cfg.iv.seek_delay_mean);
    const bool severe = s.chance(v.hospitalisation[std::min<std::size_t>(8, pop.age[j] / 10u)]);
    std::uint8_t f = flags[j];
    if (asym) f |= f_asym;
    if (severe && !asym) f |= f_severe;
    if (imported) f |= f_imported;
    flags[j] = f;
    if (!asym) {
      const int onset = day + std::max(1, static_cast<int>(std::lround(inc)));
      onset_day[j] = static_cast<std::int16_t>(onset);
      seek_day[j] = static_cast<std::int16_t>(onset + static_cast<int>(std::lround(seek)));
      ++r.symptomatic_infections;
      const double d = static_cast<double>(onset - day);
      r.incubation_sum += d;
      r.incubation_sumsq += d * d;
      ++r.incubation_n;
    }
    active.push_back(j);
    if (imported) {
      ++r.imported_infections;
      ++today[s_imported];
    } else {
      ++r.local_infections;
      ++today[s_infections];
    }
  }

  // A case of the start state, sampled on `sample_day` (<= 0): infected max(1, incubation) days
  // before (its onset on the sampling day when symptomatic), with the same natural-history draws
  // as infect(). Not counted as an infection of the forecast.
  void infect_before(std::uint32_t j, int sample_day) {
    Stream s = Stream::of(tag_nh, seed, rep, j);
    const Variant& v = cfg.variant;
    const bool asym = s.chance(v.asymptomatic_share);
    const double inc = s.lognormal(m.inc_meanlog, m.inc_sdlog);
    (void)s.exponential(cfg.iv.seek_delay_mean);
    const bool severe = s.chance(v.hospitalisation[std::min<std::size_t>(8, pop.age[j] / 10u)]);
    const int lag = std::max(1, static_cast<int>(std::lround(inc)));
    inf_day[j] = static_cast<std::int16_t>(sample_day - lag);
    std::uint8_t f = flags[j];
    if (asym) f |= f_asym;
    if (severe && !asym) f |= f_severe;
    flags[j] = f;
    if (!asym) {
      onset_day[j] = static_cast<std::int16_t>(sample_day);
      seek_day[j] = static_cast<std::int16_t>(sample_day);
    }
    active.push_back(j);
  }

  // Day 0 of a start from today: orders in their current measure on their plan's day, cases
  // infected and isolated (open cases) or with their result due today (positive results).
  void place_start() {
    const StartState& st = *cfg.start;
    for (const auto& o : st.orders) {
      const std::uint32_t j = o.agent;
      if (!own(j)) continue;
      if (plan[j] != p_none || measure[j] != m_none) continue;  // one order per person: the first
      plan[j] = static_cast<std::uint8_t>(p_start0 + o.group);
      plan_start[j] = static_cast<std::int16_t>(o.plan_start);
      measure[j] = measure_code(o.today);
      measured.push_back(j);
    }
    for (const auto& c : st.cases) {
      const std::uint32_t j = c.agent;
      if (!own(j) || inf_day[j] != kNever) continue;
      infect_before(j, c.sample_day);
      if (!c.opened) {
        flags[j] |= f_pending;
        pending.push_back({j, 0, static_cast<std::int16_t>(c.sample_day), under_control(j)});
        continue;
      }
      flags[j] = static_cast<std::uint8_t>(flags[j] | f_detected);
      const bool was_measured = measure[j] != m_none;
      plan[j] = p_none;
      if (cfg.iv.central_case_isolation) {
        measure[j] = m_iso_central;
        iso_until[j] = static_cast<std::int16_t>(std::max(c.result_day + 10, inf_day[j] + cfg.variant.infectious_days + 1));
      } else {
        measure[j] = m_iso_home;
        iso_until[j] = static_cast<std::int16_t>(c.result_day + cfg.iv.home_case_isolation_days);
      }
      iso_until[j] = std::max<std::int16_t>(iso_until[j], 1);  // an open case is isolated today
      if (!was_measured) measured.push_back(j);
    }
  }

  // The draws behind agent i's non-household contacts on `day`: a count per layer from the
  // stream keyed (seed, replicate, day, agent), and the identity of a layer's contact k at draw k
  // of the layer's own stream (random access: Stream::at). Transmission visits only the contacts
  // that transmit; tracing replays them all (contacts()), the same people.
  static constexpr std::uint32_t kNobody = 0xFFFFFFFFu;
  struct DayContacts {
    std::uint64_t k_group = 0, k_venue = 0, k_scan = 0, k_community = 0;
    std::uint32_t group_id = 0, group_lo = 0, group_size = 0, grid_lo = 0, grid_size = 0;
    std::int64_t n_group = 0, n_venue = 0, n_community = 0;
    bool scanned = false;
    int band = 0;
  };
  DayContacts day_contacts(std::uint32_t i, int day) const {
    DayContacts d;
    const std::uint64_t key = key_of(tag_contact, seed, rep, static_cast<std::uint64_t>(day + 40000), i);
    d.k_group = mix64(key ^ 0x5A17E3C4B1D29F01ULL);
    d.k_venue = mix64(key ^ 0x3C6EF372FE94F82BULL);
    d.k_scan = mix64(key ^ 0xA54FF53A5F1D36F1ULL);
    d.k_community = mix64(key ^ 0x510E527FADE682D1ULL);
    Stream s(key);
    if (cfg.random_mixing) {
      d.n_community = m.random_n.draw(s.unit());
      return d;
    }
    const int b = pop.band[i];
    d.band = b;
    if (pop.group[i] != kNoGroup) {
      const std::uint32_t g = pop.group[i];
      d.group_id = g;
      d.group_lo = pop.group_start[g];
      d.group_size = pop.group_start[g + 1] - d.group_lo;
      d.n_group = d.group_size > 1 ? m.group_n[b].draw(s.unit()) : 0;
    }
    if (s.chance(cfg.venue_visit_share)) {
      d.scanned = s.chance(cfg.iv.scan_compliance);
      const std::uint32_t g = pop.grid_of(i);
      d.grid_lo = pop.grid_start[g];
      d.grid_size = pop.grid_start[g + 1] - d.grid_lo;
      d.n_venue = m.venue_n[b].draw(s.unit());
    }
    d.n_community = m.community_n[b].draw(s.unit());
    return d;
  }
  // Contact k of a layer: an agent, kNobody when its age band is empty, or (a rank of a split
  // city) a remote reference to the member list entry another rank holds.
  std::uint64_t contact_of(const DayContacts& d, int layer, std::int64_t k) const {
    const auto kk = static_cast<std::uint64_t>(k);
    if (layer == l_group)
      return pop.member(0, d.group_id, d.group_lo + static_cast<std::uint32_t>(Stream::below_at(d.k_group, kk, d.group_size)));
    if (layer == l_venue) return d.grid_lo + Stream::below_at(d.k_venue, kk, d.grid_size);
    if (cfg.random_mixing) return Stream::below_at(d.k_community, kk, pop.n);
    const double u = Stream::unit_at(d.k_community, 2 * kk);
    int c = 0;
    while (c < kBands - 1 && u >= m.others_cdf[d.band][c]) ++c;
    const std::uint32_t lo = pop.band_start[static_cast<std::size_t>(c)];
    const std::uint32_t size = pop.band_start[static_cast<std::size_t>(c) + 1] - lo;
    if (size == 0) return kNobody;
    return pop.member(1, static_cast<std::uint32_t>(c), lo + static_cast<std::uint32_t>(Stream::below_at(d.k_community, 2 * kk + 1, size)));
  }

  // Every non-household contact of i on `day`, replayable: cb(j, layer, scanned).
  template <typename F>
  void contacts(std::uint32_t i, int day, F&& cb) const {
    const DayContacts d = day_contacts(i, day);
    for (std::int64_t k = 0; k < d.n_group; ++k) {
      const std::uint64_t j = contact_of(d, l_group, k);
      if (j != i) cb(j, l_group, false);
    }
    for (std::int64_t k = 0; k < d.n_venue; ++k) {
      const std::uint64_t j = contact_of(d, l_venue, k);
      const bool other_scanned = Stream::unit_at(d.k_scan, static_cast<std::uint64_t>(k)) < cfg.iv.scan_compliance;
      if (j != i) cb(j, l_venue, d.scanned && other_scanned);
    }
    for (std::int64_t k = 0; k < d.n_community; ++k) {
      const std::uint64_t j = contact_of(d, l_community, k);
      if (j != kNobody && j != i) cb(j, l_community, false);
    }
  }

  void transmit(int day) {
    const std::size_t n_active = active.size();
    const double rel_asym = cfg.variant.asymptomatic_infectiousness;
    const double venue_mult = cfg.iv.mask_multiplier * cfg.iv.gathering_multiplier;
    for (std::size_t a = 0; a < n_active; ++a) {
      const std::uint32_t i = active[a];
      const int tau = day - inf_day[i];
      if (tau < 1 || tau >= static_cast<int>(m.w.size())) continue;
      const int rch = reach(i, day);
      if (rch == 0) continue;
      const double base = m.beta * m.w[static_cast<std::size_t>(tau)] * ((flags[i] & f_asym) ? rel_asym : 1.0);
      if (!(base > 0)) continue;
      Stream tx = Stream::of(tag_tx, seed, rep, static_cast<std::uint64_t>(day + 40000), i);
      if (!cfg.random_mixing) {
        const std::uint32_t h = pop.household[i];
        const double p = base * cfg.household_weight;
        for (std::uint32_t j = pop.hh_start[h]; j < pop.hh_start[h + 1]; ++j) {
          if (j == i) continue;
          const double u = tx.unit();
          if (inf_day[j] == kNever && reach(j, day) > 0 && u < p) infect(j, day, false);
        }
      }
      if (rch < 2) continue;
      // Each of a layer's n contacts transmits with probability p, independently: the gaps between
      // the contacts that do are geometric, so only those are visited.
      const DayContacts d = day_contacts(i, day);
      auto layer = [&](int which, std::int64_t n, double p) {
        if (n <= 0 || !(p > 0)) return;
        const double log_q = p < 1 ? std::log1p(-p) : 0;
        double k = -1;
        for (;;) {
          k += 1;
          if (p < 1) k += std::floor(std::log(tx.open_unit()) / log_q);
          if (k >= static_cast<double>(n)) return;
          const std::uint64_t c = contact_of(d, which, static_cast<std::int64_t>(k));
          if (c == kNobody || c == i) continue;
          if (c & kRemote) {  // another rank holds the entry, and the agent: it decides
            post_entry(c, c);
            continue;
          }
          const auto j = static_cast<std::uint32_t>(c);
          if (!own(j)) {
            post(j, j);  // the owner decides whether j can still be infected
            continue;
          }
          if (inf_day[j] == kNever && reach(j, day) >= 2) infect(j, day, false);
        }
      };
      layer(l_group, d.n_group, base);
      layer(l_venue, d.n_venue, base * venue_mult);
      layer(l_community, d.n_community, base * cfg.iv.mask_multiplier);
    }
    if (part) {
      std::vector<std::uint32_t> hit;
      for (const std::uint64_t msg : deliver())
        hit.push_back((msg & kRemote) ? pop.resolve(PopView::table_of(msg), static_cast<std::uint32_t>(msg & 0x7FFFFFFFu))
                                      : static_cast<std::uint32_t>(msg));
      std::sort(hit.begin(), hit.end());
      for (const std::uint32_t j : hit)
        if (inf_day[j] == kNever && reach(j, day) >= 2) infect(j, day, false);
    }
  }

  void start_plan(std::uint32_t j, std::uint8_t which, int day) {
    const auto& days = which == p_close ? cfg.iv.close_plan : which == p_secondary ? cfg.iv.secondary_plan : cfg.iv.inbound_plan;
    if (days.empty()) return;
    if (flags[j] & f_detected) return;
    if (measure[j] == m_iso_central || measure[j] == m_iso_home) return;
    if (plan[j] != p_none) return;  // already under a plan: not restarted
    plan[j] = which;
    plan_start[j] = static_cast<std::int16_t>(day);
    measure[j] = measure_code(days.front().measure);
    measured.push_back(j);
  }

  const std::vector<DayRegime>& plan_days(std::uint8_t which) const {
    if (which >= p_start0) return cfg.start_plans[static_cast<std::size_t>(which - p_start0)];
    return which == p_close ? cfg.iv.close_plan : which == p_secondary ? cfg.iv.secondary_plan : cfg.iv.inbound_plan;
  }

  bool under_control(std::uint32_t j) const { return measure[j] != m_none; }

  void sample(std::uint32_t j, int day, std::uint64_t why) {
    ++today[s_tests];
    ++today[s_tubes];
    if (flags[j] & (f_pending | f_detected)) return;
    if (inf_day[j] == kNever) return;
    Stream s = Stream::of(tag_test, seed, rep, static_cast<std::uint64_t>(day + 40000), j, why);
    if (!s.chance(cfg.sensitivity.at(day - inf_day[j]))) return;
    flags[j] |= f_pending;
    pending.push_back({j, static_cast<std::int16_t>(day + cfg.iv.result_delay), static_cast<std::int16_t>(day),
                       under_control(j)});
  }

  void detect(const Pending& p, int day, bool by_symptoms) {
    const std::uint32_t j = p.agent;
    flags[j] = static_cast<std::uint8_t>((flags[j] | f_detected) & ~f_pending);
    if (p.inside) {
      ++r.cases_in_control;
      ++today[s_detected_inside];
    } else {
      if (!(flags[j] & f_imported)) ++r.community_cases;  // local cases found outside control
      ++today[s_detected_outside];
    }
    if (by_symptoms) ++r.symptomatic_isolations;
    const bool was_measured = measure[j] != m_none;
    plan[j] = p_none;
    if (cfg.iv.central_case_isolation) {
      measure[j] = m_iso_central;
      iso_until[j] = static_cast<std::int16_t>(std::max(day + 10, inf_day[j] + cfg.variant.infectious_days + 1));
    } else {
      measure[j] = m_iso_home;
      iso_until[j] = static_cast<std::int16_t>(day + cfg.iv.home_case_isolation_days);
    }
    if (!was_measured) measured.push_back(j);
    if (cfg.iv.tracing) traces.push_back({j, static_cast<std::int16_t>(day + cfg.iv.tracing_delay), p.sample_day, p.inside});
    if (!p.inside && !cfg.random_mixing) {
      if (cfg.iv.lockdown) lockdown_until[pop.grid_of(j)] = static_cast<std::int16_t>(day + cfg.iv.lockdown_days);
      if (cfg.iv.mass_testing) triggered.push_back(unit_of(j));  // shared with every rank after the results
    }
  }

  void trace(const Trace& t, int day) {
    const std::uint32_t i = t.agent;
    std::vector<std::uint64_t> found;  // agents and remote references
    const std::uint32_t h = pop.household[i];
    for (std::uint32_t j = pop.hh_start[h]; j < pop.hh_start[h + 1]; ++j)
      if (j != i) found.push_back(j);
    if (!t.inside) {
      const int ref = (onset_day[i] != kNever && onset_day[i] <= t.sample_day) ? onset_day[i] : t.sample_day;
      Stream s = Stream::of(tag_trace, seed, rep, static_cast<std::uint64_t>(day + 40000), i);
      for (int d = std::max(ref - 2, static_cast<int>(t.sample_day) - 14); d <= t.sample_day; ++d) {
        contacts(i, d, [&](std::uint64_t j, int layer, bool scanned) {
          const double u = s.unit();
          const bool hit = layer == l_group ? u < cfg.iv.tracing_coverage
                         : layer == l_venue ? scanned
                                            : u < cfg.iv.tracing_coverage * cfg.iv.community_recall;
          if (hit) found.push_back(j);
        });
      }
    }
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    for (const std::uint64_t j : found) {
      if (j & kRemote)  // to the rank holding the entry: kRemote | table | entry << 31 | case
        post_entry(j, (j & (kRemote | kTableBit)) | ((j & 0x7FFFFFFFu) << 31) | i);
      else
        post(static_cast<std::uint32_t>(j), (j << 32) | i);  // to j's owner
    }
  }

  // The close contacts found today, in the order (contact, case) whatever the rank that traced
  // them: each starts the close-contact plan; the household of a contact not under any measure
  // before starts the secondary plan after every close contact has started.
  void quarantine_found(int day) {
    std::vector<std::uint32_t> secondary;
    std::vector<std::uint64_t> in = deliver();
    if (part) {  // remote references resolved to (contact, case); a contact found twice counts once
      for (std::uint64_t& msg : in)
        if (msg & kRemote) {
          const std::uint32_t j = pop.resolve(PopView::table_of(msg), static_cast<std::uint32_t>((msg >> 31) & 0x7FFFFFFFu));
          msg = (static_cast<std::uint64_t>(j) << 32) | (msg & 0x7FFFFFFFu);
        }
      std::sort(in.begin(), in.end());
      in.erase(std::unique(in.begin(), in.end()), in.end());
    }
    for (const std::uint64_t msg : in) {
      const auto j = static_cast<std::uint32_t>(msg >> 32), i = static_cast<std::uint32_t>(msg);
      const bool fresh = plan[j] == p_none && measure[j] == m_none;
      start_plan(j, p_close, day);
      if (fresh && cfg.iv.secondary) {
        const std::uint32_t hj = pop.household[j];
        for (std::uint32_t k = pop.hh_start[hj]; k < pop.hh_start[hj + 1]; ++k)
          if (k != j && k != i) secondary.push_back(k);
      }
    }
    std::sort(secondary.begin(), secondary.end());
    for (std::uint32_t k : secondary) start_plan(k, p_secondary, day);
  }

  void arrivals(int day) {
    if (!(cfg.imports_per_day > 0)) return;
    Stream s = Stream::of(tag_import, seed, rep, static_cast<std::uint64_t>(day + 40000));
    const double whole = std::floor(cfg.imports_per_day);
    const std::int64_t n = static_cast<std::int64_t>(whole) + (s.chance(cfg.imports_per_day - whole) ? 1 : 0);
    for (std::int64_t k = 0; k < n; ++k) {
      const std::uint32_t j = s.below(pop.n);
      const bool infected = s.chance(cfg.import_prevalence);
      const int since = static_cast<int>(s.below(5));
      const bool stopped = cfg.iv.pre_departure_test_hours > 0 && infected &&
                           s.chance(cfg.sensitivity.at(since - cfg.iv.pre_departure_test_hours / 24.0));
      if (stopped || !own(j)) continue;  // every rank draws every arrival; the owner places it
      if (infected && inf_day[j] == kNever) infect(j, day - since, true);
      start_plan(j, p_inbound, day);
    }
  }

  void testing(int day) {
    // Symptoms: under a measure, a test on the day of onset; outside, a share seek a test.
    for (std::uint32_t i : active) {
      if (flags[i] & (f_detected | f_pending)) continue;
      if (onset_day[i] == day && (measure[i] == m_central || measure[i] == m_home || measure[i] == m_monitor))
        sample(i, day, 1);
      else if (seek_day[i] == day && measure[i] == m_none) {
        Stream s = Stream::of(tag_test, seed, rep, static_cast<std::uint64_t>(day + 40000), i, 2);
        if (s.chance(cfg.iv.seek_test_share)) sample(i, day, 3);
      }
    }
    // Plan test days.
    for (std::uint32_t i : measured) {
      if (plan[i] == p_none) continue;
      const auto& days = plan_days(plan[i]);
      const int k = day - plan_start[i];
      if (k >= 0 && k < static_cast<int>(days.size()) && days[static_cast<std::size_t>(k)].test) sample(i, day, 4);
    }
    // Mass-testing rounds due today: everyone of the unit not isolated or centrally quarantined,
    // pooled; a unit's rounds follow the round rule (every_days, rounds or the clean streak and the
    // final round).
    std::vector<std::uint32_t> due;
    for (std::uint32_t u : rounds_on)
      if (round_units[u].next_day == day) due.push_back(u);
    if (!due.empty()) {
      auto slot = [&](std::uint32_t i) -> std::ptrdiff_t {  // index of i's unit in due, or -1
        const std::uint32_t u = unit_of(i);
        auto it = std::lower_bound(due.begin(), due.end(), u);
        return it != due.end() && *it == u ? it - due.begin() : -1;
      };
      std::vector<std::int64_t> tally(3 * due.size(), 0);  // tested, positives, community positive
      for (std::size_t k = 0; k < due.size(); ++k) {
        const std::uint32_t lo = std::max(own_lo, unit_start[due[k]]), hi = std::min(own_hi, unit_start[due[k] + 1]);
        tally[3 * k] = hi > lo ? hi - lo : 0;
      }
      for (std::uint32_t i : measured)
        if (measure[i] == m_central || measure[i] == m_iso_central)
          if (const auto k = slot(i); k >= 0) --tally[3 * static_cast<std::size_t>(k)];
      for (std::uint32_t i : active) {
        if (flags[i] & (f_detected | f_pending)) continue;
        if (measure[i] == m_central || measure[i] == m_iso_central) continue;
        const auto k = slot(i);
        if (k < 0) continue;
        Stream s = Stream::of(tag_mass, seed, rep, static_cast<std::uint64_t>(day + 40000), i);
        if (!s.chance(cfg.sensitivity.at(day - inf_day[i]))) continue;
        ++tally[3 * static_cast<std::size_t>(k) + 1];
        if (!under_control(i)) tally[3 * static_cast<std::size_t>(k) + 2] = 1;
        flags[i] |= f_pending;
        pending.push_back({i, static_cast<std::int16_t>(day + cfg.iv.result_delay), static_cast<std::int16_t>(day),
                           under_control(i)});
      }
      reduce(tally);  // a round is decided on the whole unit and counted once (rank 0)
      const std::int64_t pool = std::max(1, cfg.iv.pool_size);
      for (std::size_t k = 0; k < due.size(); ++k) {
        const std::int64_t tested = tally[3 * k], positives = tally[3 * k + 1];
        if (!part || part->rank() == 0) {
          today[s_tests] += static_cast<std::int32_t>(std::min<std::int64_t>(tested, INT32_MAX / 2));
          today[s_tubes] += static_cast<std::int32_t>((tested + pool - 1) / pool + (pool > 1 ? pool * positives : 0));
        }
        RoundUnit& ru = round_units[due[k]];
        const bool clean = tally[3 * k + 2] == 0;
        ++ru.done;
        ru.next_day = day + cfg.iv.round_every_days;
        if (cfg.iv.round_count > 0) {
          if (ru.done >= cfg.iv.round_count) ru.on = false;
        } else if (ru.final_pending) {  // the final round: clean ends the rounds, else the count restarts
          ru.final_pending = false;
          ru.streak = 0;
          if (clean) ru.on = false;
        } else {
          ru.streak = clean ? ru.streak + 1 : 0;
          if (ru.streak >= cfg.iv.clean_rounds_to_stop) {
            if (cfg.iv.final_round_gap_days > 0) {
              ru.final_pending = true;
              ru.next_day = day + cfg.iv.final_round_gap_days;
            } else {
              ru.on = false;
            }
          }
        }
      }
      std::erase_if(rounds_on, [&](std::uint32_t u) { return !round_units[u].on; });
    }
    // Results due today.
    std::size_t keep = 0;
    for (std::size_t k = 0; k < pending.size(); ++k) {
      const Pending p = pending[k];
      if (p.result_day <= day) {
        const bool by_symptoms = onset_day[p.agent] != kNever && onset_day[p.agent] <= p.sample_day && !p.inside;
        detect(p, day, by_symptoms);
      } else {
        pending[keep++] = p;
      }
    }
    pending.resize(keep);
    // A community case found today starts (or restarts) the rounds of its unit from tomorrow.
    if (cfg.iv.mass_testing) {
      if (part) {  // every rank learns every rank's units
        std::vector<std::vector<std::uint64_t>> out(static_cast<std::size_t>(part->size()), triggered);
        triggered = part->exchange(out);
      }
      std::sort(triggered.begin(), triggered.end());
      triggered.erase(std::unique(triggered.begin(), triggered.end()), triggered.end());
      for (const std::uint64_t u : triggered) {
        RoundUnit& ru = round_units[u];
        if (!ru.on) rounds_on.insert(std::lower_bound(rounds_on.begin(), rounds_on.end(), static_cast<std::uint32_t>(u)),
                                     static_cast<std::uint32_t>(u));
        ru = RoundUnit{true, false, 0, 0, day + 1};
      }
      triggered.clear();
    }
  }

  void tracing(int day) {
    std::size_t keep = 0;
    std::vector<Trace> due;
    for (const Trace& t : traces) {
      if (t.day <= day) due.push_back(t);
      else traces[keep++] = t;
    }
    traces.resize(keep);
    for (const Trace& t : due) trace(t, day);
    quarantine_found(day);
  }

  void release(int day) {
    std::size_t keep = 0;
    for (std::uint32_t i : measured) {
      std::uint8_t& ms = measure[i];
      if (ms == m_iso_central || ms == m_iso_home) {
        if (day + 1 >= iso_until[i]) ms = m_none;
      } else if (plan[i] != p_none) {
        const auto& days = plan_days(plan[i]);
        const int k = day + 1 - plan_start[i];  // tomorrow's plan day
        if (k >= static_cast<int>(days.size())) {
          plan[i] = p_none;
          ms = m_none;
        } else {
          ms = measure_code(days[static_cast<std::size_t>(k)].measure);
        }
      } else if (ms != m_none && ms != m_iso_central && ms != m_iso_home) {
        ms = m_none;
      }
      if (ms != m_none) measured[keep++] = i;
    }
    measured.resize(keep);
  }

  void count(int day) {
    for (std::uint32_t i : measured) {
      switch (measure[i]) {
        case m_central: ++today[s_central_quarantine]; break;
        case m_home: ++today[s_home_quarantine]; break;
        case m_monitor: ++today[s_monitoring]; break;
        case m_iso_central:
        case m_iso_home:
          ++today[s_isolated];
          if (flags[i] & f_severe) ++today[s_beds];
          break;
        default: break;
      }
    }
    if (!cfg.random_mixing)
      for (std::uint32_t g = grid_lo; g < grid_hi; ++g)
        if (lockdown_until[g] >= day) today[s_locked] += static_cast<std::int32_t>(pop.grid_start[g + 1] - pop.grid_start[g]);
    r.central_person_days += today[s_central_quarantine];
    r.home_person_days += today[s_home_quarantine];
    r.lockdown_person_days += today[s_locked];
    r.tests += today[s_tests];
    r.tubes += today[s_tubes];
    r.peak_beds = std::max<std::int64_t>(r.peak_beds, today[s_beds]);
    r.peak_rooms = std::max<std::int64_t>(r.peak_rooms, today[s_central_quarantine]);
  }

  // Drops agents past infectiousness and test seeking, and keeps the list in agent order (the
  // day's new infections are sorted and merged in), so the phases walk the state arrays in order
  // (nothing depends on the list's order: see quarantine_found).
  void compact(int day) {
    std::size_t keep = 0, keep_sorted = 0;
    const int horizon = cfg.variant.infectious_days;
    for (std::size_t a = 0; a < active.size(); ++a) {
      const std::uint32_t i = active[a];
      const bool live = day - inf_day[i] < horizon || (seek_day[i] != kNever && seek_day[i] > day) ||
                        (onset_day[i] != kNever && onset_day[i] > day);
      if (live) active[keep++] = i;
      if (a + 1 == sorted_upto) keep_sorted = keep;
    }
    active.resize(keep);
    const auto mid = active.begin() + static_cast<std::ptrdiff_t>(keep_sorted);
    std::sort(mid, active.end());
    std::inplace_merge(active.begin(), mid, active.end());
    sorted_upto = active.size();
  }

  void seed_infections() {
    // Every rank draws every seed (the same sequence); the owner places it.
    Stream s = Stream::of(tag_seed, seed, rep);
    std::vector<bool> drawn(cfg.initial_infections > 0 ? pop.n : 0, false);
    int placed = 0, guard = 0;
    while (placed < cfg.initial_infections && guard < cfg.initial_infections * 100 + 1000) {
      ++guard;
      const std::uint32_t j = s.below(pop.n);
      if (drawn[j]) continue;
      drawn[j] = true;
      const int when = -static_cast<int>(s.below(4));
      if (own(j)) infect(j, when, false);
      ++placed;
    }
  }
};

}  // namespace

namespace {
// The days of one replicate; false when cancelled.
bool run_days(World& w, const AbmConfig& cfg, const std::function<bool()>& cancelled) {
  w.r.daily.reserve(static_cast<std::size_t>(cfg.days));
  if (cfg.start) w.place_start();
  if (!cfg.start || cfg.start->cases.empty()) w.seed_infections();
  for (int day = 0; day < cfg.days; ++day) {
    if (cancelled && cancelled()) return false;
    const auto carried = w.today;  // infections seeded before day 0 count on day 0
    w.today = {};
    if (day == 0) {
      w.today[s_infections] = carried[s_infections];
      w.today[s_imported] = carried[s_imported];
    }
    w.arrivals(day);     // arrivals enter their plan (policy update is implicit in the day's plan)
    w.transmit(day);     // contacts and transmission
    w.testing(day);      // symptoms, plan test days, mass rounds, results -> isolation
    w.tracing(day);      // contacts of cases whose tracing is due -> quarantine
    w.count(day);
    w.release(day);      // measures ending today; tomorrow's phase of each plan
    w.compact(day);
    w.r.daily.push_back(w.today);
  }
  w.r.rebound = w.r.community_cases >= cfg.rebound_threshold;
  w.r.complete = true;
  return true;
}
}  // namespace

RunResult Abm::run(std::uint64_t seed, std::uint64_t replicate, const std::function<bool()>& cancelled) const {
  if (!pop_) fail(ErrorCode::invalid_argument, "abm: the population was released for a split run (keep_split)", "split");
  const PopView view(*pop_);
  World w(view, cfg_, *m_, seed, replicate);
  run_days(w, cfg_, cancelled);
  return w.r;
}

std::pair<std::uint32_t, std::uint32_t> split_range(const Population& pop, int rank, int ranks) {
  if (ranks < 1 || rank < 0 || rank >= ranks) fail(ErrorCode::invalid_argument, "split: rank outside 0..ranks-1", "rank");
  auto cut = [&](int k) -> std::uint32_t {
    if (k >= ranks) return pop.n;
    const std::uint64_t target = static_cast<std::uint64_t>(pop.n) * static_cast<std::uint64_t>(k) / static_cast<std::uint64_t>(ranks);
    // The first grid starting at or after the target.
    return *std::lower_bound(pop.grid_start.begin(), pop.grid_start.end(), static_cast<std::uint32_t>(target));
  };
  return {cut(rank), cut(rank + 1)};
}

void Abm::keep_split(int rank, int ranks) {
  if (!pop_) fail(ErrorCode::invalid_argument, "abm: the population was already released (keep_split)", "split");
  if (ranks < 1 || rank < 0 || rank >= ranks) fail(ErrorCode::invalid_argument, "split: rank outside 0..ranks-1", "rank");
  slice_ = std::make_unique<RankSlice>(make_slice(*pop_, rank, ranks));
  pop_ = nullptr;
}

std::size_t Abm::split_table_bytes() const { return slice_ ? slice_->bytes() : 0; }

RunResult Abm::run_split(std::uint64_t seed, std::uint64_t replicate, Partition& part) const {
  // The rank's slice of the tables: the one kept (keep_split), or made for this run from the
  // whole population (ranks as threads in one process share the Abm).
  std::unique_ptr<RankSlice> made;
  const RankSlice* slice = slice_.get();
  if (!slice || slice->rank != part.rank() || slice->ranks != part.size()) {
    if (!pop_) fail(ErrorCode::invalid_argument, "abm: the population kept is another rank's (keep_split)", "split");
    made = std::make_unique<RankSlice>(make_slice(*pop_, part.rank(), part.size()));
    slice = made.get();
  }
  const PopView view(*slice);
  World w(view, cfg_, *m_, seed, replicate, &part);
  run_days(w, cfg_, {});
  // The city's result: every count summed over the ranks; peaks from the summed series.
  RunResult& r = w.r;
  std::vector<std::int64_t> v = {r.local_infections, r.imported_infections, r.community_cases, r.cases_in_control,
                                 r.central_person_days, r.home_person_days, r.lockdown_person_days, r.tests, r.tubes,
                                 r.symptomatic_isolations, r.symptomatic_infections, r.incubation_n,
                                 std::llround(r.incubation_sum), std::llround(r.incubation_sumsq)};
  const std::size_t head = v.size();
  for (const auto& d : r.daily)
    for (auto x : d) v.push_back(x);
  part.sum(v);
  RunResult out;
  out.local_infections = v[0];
  out.imported_infections = v[1];
  out.community_cases = v[2];
  out.cases_in_control = v[3];
  out.central_person_days = v[4];
  out.home_person_days = v[5];
  out.lockdown_person_days = v[6];
  out.tests = v[7];
  out.tubes = v[8];
  out.symptomatic_isolations = v[9];
  out.symptomatic_infections = v[10];
  out.incubation_n = v[11];
  out.incubation_sum = static_cast<double>(v[12]);
  out.incubation_sumsq = static_cast<double>(v[13]);
  out.daily.assign(r.daily.size(), std::array<std::int32_t, s_count>{});
  std::size_t k = head;
  for (auto& d : out.daily) {
    for (auto& x : d) x = static_cast<std::int32_t>(v[k++]);
    out.peak_beds = std::max<std::int64_t>(out.peak_beds, d[s_beds]);
    out.peak_rooms = std::max<std::int64_t>(out.peak_rooms, d[s_central_quarantine]);
  }
  out.rebound = out.community_cases >= cfg_.rebound_threshold;
  out.complete = r.complete;
  return out;
}

std::vector<RunResult> run_replicates(const Abm& abm, std::int64_t runs, std::uint64_t seed, unsigned threads,
                                      const std::function<bool()>& cancelled,
                                      const std::function<void(std::int64_t, std::int64_t)>& progress,
                                      std::int64_t first, std::int64_t stride) {
  if (runs < 1 || runs > 1000000) fail(ErrorCode::invalid_argument, "runs: must be from 1 to 1,000,000", "runs");
  std::vector<std::int64_t> mine;
  for (std::int64_t i = first; i < runs; i += std::max<std::int64_t>(1, stride)) mine.push_back(i);
  std::vector<RunResult> out(mine.size());
  parallel_for(
      static_cast<std::int64_t>(mine.size()), threads,
      [&](std::int64_t k) {
        out[static_cast<std::size_t>(k)] = abm.run(seed, static_cast<std::uint64_t>(mine[static_cast<std::size_t>(k)]), cancelled);
      },
      cancelled, progress);
  return out;
}

AbmSummary summarise_runs(const std::vector<RunResult>& runs) {
  AbmSummary s;
  std::vector<const RunResult*> done;
  for (const auto& r : runs)
    if (r.complete) done.push_back(&r);
  s.runs = static_cast<std::int64_t>(done.size());
  std::int64_t rebounds = 0;
  auto collect = [&](auto get) {
    std::vector<double> v;
    v.reserve(done.size());
    for (const auto* r : done) v.push_back(static_cast<double>(get(*r)));
    return summarise(v);
  };
  for (const auto* r : done) rebounds += r->rebound;
  s.rebound = wilson(rebounds, s.runs);
  s.local_infections = collect([](const RunResult& r) { return r.local_infections; });
  s.community_cases = collect([](const RunResult& r) { return r.community_cases; });
  s.disruption = collect([](const RunResult& r) { return r.disruption(); });
  s.central_person_days = collect([](const RunResult& r) { return r.central_person_days; });
  s.home_person_days = collect([](const RunResult& r) { return r.home_person_days; });
  s.lockdown_person_days = collect([](const RunResult& r) { return r.lockdown_person_days; });
  s.tests = collect([](const RunResult& r) { return r.tests; });
  s.tubes = collect([](const RunResult& r) { return r.tubes; });
  s.peak_beds = collect([](const RunResult& r) { return r.peak_beds; });
  s.peak_rooms = collect([](const RunResult& r) { return r.peak_rooms; });
  if (done.empty()) return s;
  const std::size_t days = done.front()->daily.size();
  for (int k = 0; k < s_count; ++k) {
    SeriesBand& b = s.series[static_cast<std::size_t>(k)];
    for (std::size_t d = 0; d < days; ++d) {
      std::vector<double> v;
      v.reserve(done.size());
      double sum = 0;
      for (const auto* r : done) {
        v.push_back(r->daily[d][static_cast<std::size_t>(k)]);
        sum += v.back();
      }
      b.mean.push_back(sum / static_cast<double>(v.size()));
      b.q05.push_back(quantile(v, 0.05));
      b.q25.push_back(quantile(v, 0.25));
      b.median.push_back(quantile(v, 0.5));
      b.q75.push_back(quantile(v, 0.75));
      b.q95.push_back(quantile(v, 0.95));
    }
  }
  return s;
}

double euler_lotka_discrete(double r0, const std::vector<double>& w) {
  auto f = [&](double r) {
    double s = 0;
    for (std::size_t t = 1; t < w.size(); ++t) s += w[t] * std::exp(-r * static_cast<double>(t));
    return r0 * s - 1;
  };
  double lo = -2, hi = 5;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (f(mid) > 0 ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

}  // namespace bihuan::sim
