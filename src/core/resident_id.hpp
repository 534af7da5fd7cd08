#pragma once
// Resident identity numbers (居民身份证号码), GB 11643-1999: 6-digit address code (GB/T 2260),
// 8-digit birth date, 3-digit sequence (odd = male), ISO 7064 MOD 11-2 check character.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "core/model.hpp"

namespace bihuan {

// One GB/T 2260 county-or-higher code with the years it was in use (end_year 0 = still in use).
struct RegionCode {
  std::string_view code;
  std::string_view name;       // full name: "北京市朝阳区"
  int start_year = 0;
  int end_year = 0;
};
// Every code in use 1981-2024, retired ones included (ID numbers keep the code of issue).
// Sorted by code. Data: yescallop/areacodes (CC0), see data/areacodes.csv.
const std::vector<RegionCode>& region_codes();
const RegionCode* find_region_code(std::string_view code);

struct ResidentId {
  std::string number;        // 18 characters, check character upper-case
  Date birth_date{};
  Sex sex = Sex::male;
  std::string region_code;   // 6 digits
  std::string region_name;   // "北京市朝阳区"; "香港特别行政区" for 81 permits
  std::vector<std::string> warnings;  // e.g. code not yet in use in the birth year
};

// The MOD 11-2 check character ('0'-'9' or 'X') of the first 17 digits.
char resident_id_check_char(std::string_view first17);
// Parses and validates an 18-character number (lower-case x accepted), or upgrades a 15-digit
// first-generation number (19YY birth year) to 18. Throws Error(invalid_argument, reason,
// field) on a wrong length or character, unknown address code, impossible or future birth date
// (after `today`), or a wrong check character. `field` names the caller's field.
ResidentId parse_resident_id(std::string_view text, Date today, std::string_view field = "id_number");
// Non-throwing variant: the reason, or nullopt when valid.
std::optional<std::string> resident_id_error(std::string_view text, Date today);
// A document number as it is stored and looked up: surrounding blanks removed, the lower-case
// check character x of an 18-character number upper-cased.
std::string normalise_doc_number(std::string_view text);

}  // namespace bihuan
