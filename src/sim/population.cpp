#include "sim/population.hpp"

#include <algorithm>
#include <numeric>

#include "core/error.hpp"
#include "gen/census.hpp"
#include "gen/random.hpp"

namespace bihuan::sim {

std::size_t Population::bytes() const {
  auto b = [](const auto& v) { return v.capacity() * sizeof(v[0]); };
  return b(age) + b(band) + b(household) + b(hh_start) + b(grid_start) + b(grid_of_hh) + b(district_start) + b(group) + b(group_start) +
         b(group_members) + b(band_start) + b(band_members);
}

void index_groups_and_bands(Population& p, std::uint32_t groups) {
  const std::uint32_t n = p.n;
  p.group_start.assign(static_cast<std::size_t>(groups) + 1, 0);
  for (std::uint32_t i = 0; i < n; ++i)
    if (p.group[i] != kNoGroup) ++p.group_start[p.group[i] + 1];
  std::partial_sum(p.group_start.begin(), p.group_start.end(), p.group_start.begin());
  p.group_members.resize(p.group_start.back());
  {
    std::vector<std::uint32_t> fill(p.group_start.begin(), p.group_start.end() - 1);
    for (std::uint32_t i = 0; i < n; ++i)
      if (p.group[i] != kNoGroup) p.group_members[fill[p.group[i]]++] = i;
  }
  p.band_start.assign(kBands + 1, 0);
  for (std::uint32_t i = 0; i < n; ++i) ++p.band_start[p.band[i] + 1u];
  std::partial_sum(p.band_start.begin(), p.band_start.end(), p.band_start.begin());
  p.band_members.resize(n);
  {
    std::vector<std::uint32_t> fill(p.band_start.begin(), p.band_start.end() - 1);
    for (std::uint32_t i = 0; i < n; ++i) p.band_members[fill[p.band[i]]++] = i;
  }
}

Population build_population(const PopulationOptions& opt) {
  if (opt.persons < 1 || opt.persons > (std::int64_t{1} << 31))
    fail(ErrorCode::invalid_argument, "persons: must be from 1 to 2,147,483,648", "persons");
  if (opt.households_per_grid < 1 || opt.grids_per_street < 1 || opt.grids_per_district < 1 || opt.class_size < 2 ||
      opt.workplace_size < 2)
    fail(ErrorCode::invalid_argument, "population: grid, street, district, class and workplace sizes must be positive",
         "population");
  Population p;
  const auto n = static_cast<std::uint32_t>(opt.persons);
  p.n = n;
  p.age.resize(n);
  p.band.resize(n);
  p.household.resize(n);
  p.group.assign(n, kNoGroup);
  p.hh_start.reserve(static_cast<std::size_t>(n / 2) + 2);

  gen::Rng sizes = gen::Rng::stream(opt.seed, "sim-household-sizes");
  gen::Rng rng = gen::Rng::stream(opt.seed, "sim-people");
  const gen::Discrete size_dist(gen::household_size_shares());
  const auto f = gen::age_shares();
  std::vector<double> head(f.size(), 0.0), rest(f.size(), 0.0);
  double adult = 0;
  for (std::size_t a = 18; a < f.size(); ++a) adult += f[a];
  for (std::size_t a = 18; a < f.size(); ++a) head[a] = f[a] / adult;
  const double hshare = 1.0 / gen::kMeanHouseholdSize;
  for (std::size_t a = 0; a < f.size(); ++a) rest[a] = std::max(0.0, f[a] - hshare * head[a]) / (1 - hshare);
  const gen::Discrete head_age(head), rest_age(rest), any_age(f);

  std::uint32_t made = 0;
  std::uint32_t hh_in_grid = 0;
  p.grid_start.push_back(0);
  while (made < n) {
    if (hh_in_grid == static_cast<std::uint32_t>(opt.households_per_grid)) {
      p.grid_start.push_back(made);
      hh_in_grid = 0;
    }
    const auto h = static_cast<std::uint32_t>(p.hh_start.size());
    p.hh_start.push_back(made);
    p.grid_of_hh.push_back(static_cast<std::uint32_t>(p.grid_start.size() - 1));
    ++hh_in_grid;
    std::uint32_t size = opt.random_mixing ? 1 : static_cast<std::uint32_t>(size_dist(sizes)) + 1;
    size = std::min(size, n - made);
    for (std::uint32_t m = 0; m < size; ++m, ++made) {
      const int a = static_cast<int>(opt.random_mixing ? any_age(rng) : (m == 0 ? head_age(rng) : rest_age(rng)));
      p.age[made] = static_cast<std::uint8_t>(a);
      p.band[made] = static_cast<std::uint8_t>(band_of_age(a));
      p.household[made] = h;
    }
  }
  p.hh_start.push_back(n);
  p.grid_start.push_back(n);
  for (std::uint32_t g = 0; g < p.grids(); g += static_cast<std::uint32_t>(opt.grids_per_district)) p.district_start.push_back(g);
  p.district_start.push_back(p.grids());
  p.hh_start.shrink_to_fit();
  p.grid_of_hh.shrink_to_fit();

  // Schools: children 6-17 of a street (grids_per_street grids) in classes of class_size, in
  // person order. Workplaces: 3/4 of adults 18-59, shuffled across the city, in workplaces of
  // workplace_size.
  std::vector<std::uint32_t> members_order;
  std::uint32_t groups = 0;
  if (!opt.random_mixing) {
    const std::uint32_t grids = p.grids();
    for (std::uint32_t s = 0; s < grids; s += static_cast<std::uint32_t>(opt.grids_per_street)) {
      const std::uint32_t end_grid = std::min(grids, s + static_cast<std::uint32_t>(opt.grids_per_street));
      std::uint32_t in_class = 0;
      bool open = false;
      for (std::uint32_t i = p.grid_start[s]; i < p.grid_start[end_grid]; ++i) {
        if (p.age[i] < 6 || p.age[i] > 17) continue;
        if (!open || in_class == static_cast<std::uint32_t>(opt.class_size)) {
          ++groups;
          in_class = 0;
          open = true;
        }
        p.group[i] = groups - 1;
        ++in_class;
      }
    }
    std::vector<std::uint32_t> workers;
    for (std::uint32_t i = 0; i < n; ++i)
      if (p.age[i] >= 18 && p.age[i] <= 59 && rng.chance(0.75)) workers.push_back(i);
    for (std::size_t i = workers.size(); i > 1; --i) std::swap(workers[i - 1], workers[rng.below(i)]);
    for (std::size_t i = 0; i < workers.size(); ++i) {
      if (i % static_cast<std::size_t>(opt.workplace_size) == 0) ++groups;
      p.group[workers[i]] = groups - 1;
    }
  }
  index_groups_and_bands(p, groups);
  return p;
}

}  // namespace bihuan::sim
