#pragma once
// The daily bulletin (每日疫情通报): the figures of one local day (0-24 h) in the national
// bulletin's shape, counted from the cases and contacts of an area, the notice of each new local
// case, the text in Chinese and English, and the errata between two revisions. Rules only.
//
// How a case is counted (the conventions of the National Health Commission's daily bulletin):
// - a confirmed case (确诊, incl. clinically diagnosed) counts on its report day, or, when it was
//   an asymptomatic infection first, on the day it was confirmed (转确诊), as a confirmed case
//   "converted from asymptomatic";
// - an asymptomatic infection (无症状感染者) counts on its report day, also when it is confirmed
//   later;
// - recoveries (治愈出院) and releases from medical observation (解除医学观察) count on the day the
//   case was closed as recovered; deaths on the date of death;
// - suspected cases and cases closed as excluded (排除) count nowhere.
// The report day is the local day of the report card's report time, or of the case's opening
// while the card is not reported, the same day the analytics curves use.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/date.hpp"

namespace bihuan::bulletin {

// One case as the bulletin sees it (days are local).
struct CaseFact {
  std::int64_t id = 0;
  std::string classification;  // suspected | clinical | confirmed | asymptomatic (current)
  std::string origin = "local";  // local | imported
  std::string origin_place;      // imported: where from ("" = not recorded)
  std::string district, district_name;  // 6-digit code and name
  Date report_day{};
  std::optional<Date> converted_day, closed_day, death_day;
  std::string outcome;  // "" | recovered | died | excluded
  std::string severity;  // "" | mild | moderate | severe | critical
  // For the notices of new local cases.
  std::string sex;                  // male | female | ""
  std::optional<Date> birth_date;
  std::string residence;            // area names down to the grid (compound), never an address
  std::string found_by;             // core/tracing's FoundBy name, or ""
  std::vector<std::int64_t> infectors;  // earlier cases linked as the source
};

// Contacts (密切接触者) as counted by the store for the day.
struct ContactFacts {
  std::int64_t traced = 0;             // close contacts taken into control during the day
  std::int64_t released = 0;           // close contacts whose control ended during the day
  std::int64_t under_observation = 0;  // close contacts under control at the end of the day
};

// A breakdown line: imported cases by origin, local cases by district.
struct Part {
  std::string key, name;
  std::int64_t confirmed = 0, asymptomatic = 0;
};

struct Figures {
  // New during the day (0-24 h).
  std::int64_t confirmed = 0, confirmed_imported = 0, confirmed_local = 0, confirmed_converted = 0;
  std::int64_t asymptomatic = 0, asymptomatic_imported = 0, asymptomatic_local = 0;
  std::int64_t recovered = 0, asymptomatic_released = 0, deaths = 0;
  std::int64_t contacts_traced = 0, contacts_released = 0;
  // At the end of the day (24 h).
  std::int64_t under_treatment = 0, severe = 0, asymptomatic_under_observation = 0, contacts_under_observation = 0;
  std::int64_t total_confirmed = 0, total_asymptomatic = 0, total_recovered = 0, total_deaths = 0;
  std::vector<Part> imported_by_origin;  // by count, then name
  std::vector<Part> local_by_district;   // by district code
};

// The named whole-number figures, in the bulletin's order: what open data publishes and errata
// compare ("confirmed", "confirmed_local", ...).
std::vector<std::pair<std::string, std::int64_t>> named(const Figures& f);
// The Chinese label of a named figure (新增确诊病例, ...); the name itself when unknown.
std::string label_zh(const std::string& name);

Figures count(const std::vector<CaseFact>& cases, Date day, const ContactFacts& contacts);

// The notice of one new local case (病例情况), numbered in the day's order.
struct Notice {
  std::int64_t case_id = 0;
  std::string kind;  // confirmed | asymptomatic | converted
  std::string text_zh, text_en;
};
// A notice per local case counted new on `day`: confirmed or asymptomatic cases reported that day
// (by report day, then id), then the asymptomatic infections confirmed that day.
std::vector<Notice> notices(const std::vector<CaseFact>& cases, Date day);

// The bulletin as text (zh-CN or English): the figures paragraph, then the notices.
std::string text(const Figures& f, const std::vector<Notice>& ns, Date day, const std::string& area_name, bool english);

// One changed figure between two revisions.
struct Change {
  std::string field;
  std::int64_t old_value = 0, new_value = 0;
};
std::vector<Change> diff(const Figures& before, const Figures& after);

}  // namespace bihuan::bulletin
