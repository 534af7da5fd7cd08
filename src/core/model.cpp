#include "core/model.hpp"

#include <array>
#include <string_view>
#include <utility>

namespace bihuan {

namespace {
template <typename E, std::size_t N>
using Names = std::array<std::pair<E, const char*>, N>;

constexpr Names<Sex, 2> kSex{{{Sex::male, "male"}, {Sex::female, "female"}}};
constexpr Names<AreaLevel, 6> kLevel{{{AreaLevel::province, "province"},
                                      {AreaLevel::city, "city"},
                                      {AreaLevel::county, "county"},
                                      {AreaLevel::street, "street"},
                                      {AreaLevel::community, "community"},
                                      {AreaLevel::grid, "grid"}}};
constexpr Names<DocType, 5> kDoc{{{DocType::resident_id, "resident_id"},
                                  {DocType::passport, "passport"},
                                  {DocType::hkmo_permit, "hkmo_permit"},
                                  {DocType::tw_permit, "tw_permit"},
                                  {DocType::foreigner_permit, "foreigner_permit"}}};
constexpr Names<VenueType, 18> kVenue{{{VenueType::restaurant, "restaurant"},
                                       {VenueType::supermarket, "supermarket"},
                                       {VenueType::market, "market"},
                                       {VenueType::shopping_mall, "shopping_mall"},
                                       {VenueType::school, "school"},
                                       {VenueType::office, "office"},
                                       {VenueType::factory, "factory"},
                                       {VenueType::hospital, "hospital"},
                                       {VenueType::clinic, "clinic"},
                                       {VenueType::pharmacy, "pharmacy"},
                                       {VenueType::hotel, "hotel"},
                                       {VenueType::transport_hub, "transport_hub"},
                                       {VenueType::entertainment, "entertainment"},
                                       {VenueType::gym, "gym"},
                                       {VenueType::religious, "religious"},
                                       {VenueType::government, "government"},
                                       {VenueType::residential_gate, "residential_gate"},
                                       {VenueType::other, "other"}}};
constexpr Names<OrgKind, 10> kOrg{{{OrgKind::command_centre, "command_centre"},
                                   {OrgKind::port, "port"},
                                   {OrgKind::transfer_team, "transfer_team"},
                                   {OrgKind::quarantine_site, "quarantine_site"},
                                   {OrgKind::hospital, "hospital"},
                                   {OrgKind::lab, "lab"},
                                   {OrgKind::cdc, "cdc"},
                                   {OrgKind::enterprise, "enterprise"},
                                   {OrgKind::school, "school"},
                                   {OrgKind::community, "community"}}};

template <typename E, std::size_t N>
const char* name_of(const Names<E, N>& names, E v) {
  for (const auto& [e, n] : names)
    if (e == v) return n;
  return "unknown";
}
template <typename E, std::size_t N>
std::optional<E> value_of(const Names<E, N>& names, std::string_view s) {
  for (const auto& [e, n] : names)
    if (s == n) return e;
  return std::nullopt;
}
}  // namespace

const char* to_string(Sex v) { return name_of(kSex, v); }
const char* to_string(AreaLevel v) { return name_of(kLevel, v); }
const char* to_string(DocType v) { return name_of(kDoc, v); }
const char* to_string(VenueType v) { return name_of(kVenue, v); }
const char* to_string(OrgKind v) { return name_of(kOrg, v); }
std::optional<Sex> sex_from(std::string_view s) { return value_of(kSex, s); }
std::optional<AreaLevel> area_level_from(std::string_view s) { return value_of(kLevel, s); }
std::optional<DocType> doc_type_from(std::string_view s) { return value_of(kDoc, s); }
std::optional<VenueType> venue_type_from(std::string_view s) { return value_of(kVenue, s); }
std::optional<OrgKind> org_kind_from(std::string_view s) { return value_of(kOrg, s); }

const std::vector<VenueType>& all_venue_types() {
  static const std::vector<VenueType> v = [] {
    std::vector<VenueType> out;
    for (const auto& [e, n] : kVenue) out.push_back(e);
    return out;
  }();
  return v;
}
const std::vector<OrgKind>& all_org_kinds() {
  static const std::vector<OrgKind> v = [] {
    std::vector<OrgKind> out;
    for (const auto& [e, n] : kOrg) out.push_back(e);
    return out;
  }();
  return v;
}

}  // namespace bihuan
