#pragma once
// Names for synthetic people and places: common Chinese surnames (roughly by frequency), given
// name characters, Latin names for foreigners, shop and company names.
#include <string>
#include <string_view>

#include "gen/random.hpp"

namespace bihuan::gen {

std::string random_surname(Rng& rng);
// A one- or two-character given name; the character pools lean by sex.
std::string random_given_name(Rng& rng, bool male);
// "John Smith"-style name of a foreign national.
std::string random_latin_name(Rng& rng, bool male);
// A nationality (ISO alpha-3) for a foreign resident, weighted towards neighbours and big senders.
std::string_view random_foreign_nationality(Rng& rng);
// Two characters for a shop or company brand ("华联", "鑫盛").
std::string random_brand(Rng& rng);
// Name of a residential compound ("光华里", "阳光花园"), deterministic in `n`.
std::string compound_name(Rng& rng);
// Mainland mobile number 1[3-9]x xxxx xxxx with real operator prefixes.
std::string random_mobile(Rng& rng);
// Short form of a place name: strips 街道/镇/乡/地区/社区居委会/村委会/... suffixes.
std::string short_place_name(std::string_view name);

}  // namespace bihuan::gen
