#pragma once
// Value types of the population registry. Plain data: no I/O, no behaviour beyond small helpers.
// Ids are database row ids (0 = not yet stored). Area codes are the statistical division codes
// (12 digits down to community/village) extended by 3 digits for grids (网格), see area.hpp.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"

namespace bihuan {

enum class Sex { male, female };
enum class AreaLevel { province = 1, city = 2, county = 3, street = 4, community = 5, grid = 6 };

struct Area {
  std::string code;         // "110105", "110105001", "110105001001", "110105001001001" (grid)
  std::string name;         // "朝阳区", "建外街道", "...社区居委会", "第1网格"
  AreaLevel level = AreaLevel::province;
  std::string parent_code;  // empty for a province
};

// How a person is identified. A resident ID number (GB 11643) is the default; foreigners and
// residents of Hong Kong, Macau and Taiwan without a mainland ID carry a document number.
enum class DocType { resident_id, passport, hkmo_permit, tw_permit, foreigner_permit };

struct Building {
  std::int64_t id = 0;
  std::string area_code;  // the grid it stands in
  std::string address;    // "建外街道光华里小区3号楼"
};

struct Household {
  std::int64_t id = 0;
  std::string household_no;  // 户号: the external key; import is idempotent on it
  std::int64_t building_id = 0;  // 0 = unknown
  std::string area_code;         // grid
  std::string address;           // full address incl. unit and room: "...3号楼2单元501"
};

struct Person {
  std::int64_t id = 0;
  DocType doc_type = DocType::resident_id;
  std::string doc_number;   // resident ID (upper-case X) or document number
  std::string nationality = "CHN";  // ISO 3166-1 alpha-3
  std::string name;
  Sex sex = Sex::male;
  Date birth_date{};
  std::string phone;        // 11-digit mainland mobile or +CC...
  std::int64_t household_id = 0;  // 0 = none
  std::string area_code;    // residence grid (or community when no grid is known)
  std::string address;
  std::int64_t workplace_org_id = 0;  // employer or school, 0 = none
  std::int64_t merged_into = 0;       // non-zero once merged into another record
  Instant created_at{};
  Instant updated_at{};
  std::int64_t revision = 0;  // stored: 1 when created, +1 with every change (read-only here)
};

enum class VenueType {
  restaurant, supermarket, market, shopping_mall, school, office, factory, hospital, clinic,
  pharmacy, hotel, transport_hub, entertainment, gym, religious, government, residential_gate, other
};

struct Venue {
  std::int64_t id = 0;
  std::string code;       // 场所码 identifier, unique
  std::string name;
  VenueType type = VenueType::other;
  std::string area_code;
  std::string address;
  int capacity = 0;
  bool enclosed = true;
};

enum class OrgKind {
  command_centre, port, transfer_team, quarantine_site, hospital, lab, cdc, enterprise, school,
  community
};

struct Org {
  std::int64_t id = 0;
  std::string code;  // unique: unified social credit code or a local code
  std::string name;
  OrgKind kind = OrgKind::enterprise;
  std::string area_code;
  std::string address;
  std::string phone;
};

// Two records that probably describe one person (different document numbers, same name and
// birth date, and the same phone or the same household/address).
struct DuplicateCandidate {
  std::int64_t person_a = 0;
  std::int64_t person_b = 0;
  std::string reason;  // "same name, birth date and phone"
};

// Names used in JSON, CSV and SQL. from_* return nullopt for an unknown name.
const char* to_string(Sex v);
const char* to_string(AreaLevel v);
const char* to_string(DocType v);
const char* to_string(VenueType v);
const char* to_string(OrgKind v);
std::optional<Sex> sex_from(std::string_view s);
std::optional<AreaLevel> area_level_from(std::string_view s);
std::optional<DocType> doc_type_from(std::string_view s);
std::optional<VenueType> venue_type_from(std::string_view s);
std::optional<OrgKind> org_kind_from(std::string_view s);
const std::vector<VenueType>& all_venue_types();
const std::vector<OrgKind>& all_org_kinds();

}  // namespace bihuan
