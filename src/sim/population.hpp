#pragma once
// The simulator's population: the synthetic city of src/gen generated straight into compact
// arrays (struct of arrays, integers only), without a database. The same census shapes and
// rules as gen::generate_city (gen/census.hpp, gen/city.cpp): household sizes fitted to 2.62
// persons, household heads adults, the other ages from the residual distribution so that the whole
// population matches the 7th census shares; grids of about 300 households; 3/4 of adults aged
// 18-59 work (workplaces of about 20 across the city), children 6-17 attend school (classes of
// about 40 within a street of about 5 grids).
//
// Persons are numbered household by household and households grid by grid, and grids district by
// district, so a household, a grid and a district are index ranges.
#include <cstdint>
#include <vector>

namespace bihuan::sim {

inline constexpr std::uint32_t kNoGroup = 0xFFFFFFFFu;
inline constexpr int kBands = 16;  // Prem et al. 2021 five-year bands 0-4 ... 75+

struct PopulationOptions {
  std::int64_t persons = 100000;
  std::uint64_t seed = 1;
  int households_per_grid = 300;
  int grids_per_street = 5;
  int grids_per_district = 50;  // districts (区) of the city: 10 streets, about 39,000 persons
  int class_size = 40;
  int workplace_size = 20;
  bool random_mixing = false;  // one household per person, no groups: the analytic test setting
};

struct Population {
  std::uint32_t n = 0;
  std::vector<std::uint8_t> age;            // years
  std::vector<std::uint8_t> band;           // Prem band 0..15
  std::vector<std::uint32_t> household;     // household of each person
  std::vector<std::uint32_t> hh_start;      // persons of household h: [hh_start[h], hh_start[h+1])
  std::vector<std::uint32_t> grid_start;    // persons of grid g: [grid_start[g], grid_start[g+1])
  std::vector<std::uint32_t> grid_of_hh;    // grid of each household
  std::vector<std::uint32_t> district_start;  // grids of district d: [district_start[d], district_start[d+1])
  std::vector<std::uint32_t> group;         // school class or workplace of each person, kNoGroup
  std::vector<std::uint32_t> group_start;   // members of group k: group_members[group_start[k] ..)
  std::vector<std::uint32_t> group_members;
  std::vector<std::uint32_t> band_start;    // persons by band: band_members[band_start[b] ..)
  std::vector<std::uint32_t> band_members;

  std::uint32_t households() const { return static_cast<std::uint32_t>(hh_start.size() - 1); }
  std::uint32_t grids() const { return static_cast<std::uint32_t>(grid_start.size() - 1); }
  std::uint32_t groups() const { return static_cast<std::uint32_t>(group_start.size() - 1); }
  std::uint32_t districts() const { return static_cast<std::uint32_t>(district_start.size() - 1); }
  std::uint32_t grid_of(std::uint32_t person) const { return grid_of_hh[household[person]]; }
  std::size_t bytes() const;
};

// Throws Error(invalid_argument) for persons outside 1 .. 2^31.
Population build_population(const PopulationOptions& opt);

// Fills group_start/group_members from `group` (groups 0..groups-1) and band_start/band_members
// from `band` (both in person order).
void index_groups_and_bands(Population& p, std::uint32_t groups);

inline int band_of_age(int age) { return age >= 75 ? 15 : age / 5; }

}  // namespace bihuan::sim
