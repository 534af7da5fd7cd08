#include "core/bulletin.hpp"

#include <algorithm>
#include <map>


namespace bihuan::bulletin {

namespace {

bool is_confirmed_class(const std::string& c) { return c == "confirmed" || c == "clinical"; }

// The day a case counts as a new confirmed case, if it does.
std::optional<Date> confirmed_day(const CaseFact& k) {
  if (k.outcome == "excluded") return std::nullopt;
  if (k.converted_day) return k.converted_day;
  if (is_confirmed_class(k.classification)) return k.report_day;
  return std::nullopt;
}
// The day a case counts as a new asymptomatic infection, if it does.
std::optional<Date> asymptomatic_day(const CaseFact& k) {
  if (k.outcome == "excluded") return std::nullopt;
  if (k.classification == "asymptomatic" || k.converted_day) return k.report_day;
  return std::nullopt;
}
std::optional<Date> died_day(const CaseFact& k) {
  if (k.outcome == "excluded") return std::nullopt;
  if (k.death_day) return k.death_day;
  if (k.outcome == "died") return k.closed_day;
  return std::nullopt;
}
bool on_or_before(const std::optional<Date>& d, Date day) { return d && *d <= day; }

std::string n(std::int64_t v) { return std::to_string(v); }

std::string zh_day(Date d) {
  return n(static_cast<unsigned>(d.month())) + "月" + n(static_cast<unsigned>(d.day())) + "日";
}
std::string en_day(Date d) {
  static const char* months[] = {"January", "February", "March",     "April",   "May",      "June",
                                 "July",    "August",   "September", "October", "November", "December"};
  return std::string(months[static_cast<unsigned>(d.month()) - 1]) + " " + n(static_cast<unsigned>(d.day()));
}

const char* found_zh(const std::string& f) {
  if (f == "central_quarantine") return "在集中隔离中发现";
  if (f == "home_isolation") return "在居家隔离中发现";
  if (f == "closed_loop_work") return "在闭环作业中发现";
  if (f == "key_group_screening") return "在重点人群筛查中发现";
  if (f == "round_screening") return "在区域核酸筛查中发现";
  if (f == "clinic") return "在门诊就诊时发现";
  return "";
}

const char* found_en(const std::string& f) {
  if (f == "central_quarantine") return "found in central quarantine";
  if (f == "home_isolation") return "found under home isolation";
  if (f == "closed_loop_work") return "found in closed-loop work";
  if (f == "key_group_screening") return "found by routine testing of a key group";
  if (f == "round_screening") return "found by area-wide testing";
  if (f == "clinic") return "found at a clinic";
  return "";
}

std::string plural(std::int64_t v, const char* one, const char* many) { return n(v) + " " + (v == 1 ? one : many); }

}  // namespace

std::vector<std::pair<std::string, std::int64_t>> named(const Figures& f) {
  return {{"confirmed", f.confirmed},
          {"confirmed_imported", f.confirmed_imported},
          {"confirmed_local", f.confirmed_local},
          {"confirmed_converted", f.confirmed_converted},
          {"asymptomatic", f.asymptomatic},
          {"asymptomatic_imported", f.asymptomatic_imported},
          {"asymptomatic_local", f.asymptomatic_local},
          {"recovered", f.recovered},
          {"asymptomatic_released", f.asymptomatic_released},
          {"deaths", f.deaths},
          {"contacts_traced", f.contacts_traced},
          {"contacts_released", f.contacts_released},
          {"under_treatment", f.under_treatment},
          {"severe", f.severe},
          {"asymptomatic_under_observation", f.asymptomatic_under_observation},
          {"contacts_under_observation", f.contacts_under_observation},
          {"total_confirmed", f.total_confirmed},
          {"total_asymptomatic", f.total_asymptomatic},
          {"total_recovered", f.total_recovered},
          {"total_deaths", f.total_deaths}};
}

std::string label_zh(const std::string& name) {
  static const std::map<std::string, std::string> labels{
      {"confirmed", "新增确诊病例"},
      {"confirmed_imported", "新增境外输入确诊病例"},
      {"confirmed_local", "新增本土确诊病例"},
      {"confirmed_converted", "无症状感染者转为确诊病例"},
      {"asymptomatic", "新增无症状感染者"},
      {"asymptomatic_imported", "新增境外输入无症状感染者"},
      {"asymptomatic_local", "新增本土无症状感染者"},
      {"recovered", "新增治愈出院病例"},
      {"asymptomatic_released", "解除医学观察的无症状感染者"},
      {"deaths", "新增死亡病例"},
      {"contacts_traced", "新增密切接触者"},
      {"contacts_released", "解除医学观察的密切接触者"},
      {"under_treatment", "现有确诊病例"},
      {"severe", "现有重症病例"},
      {"asymptomatic_under_observation", "尚在医学观察的无症状感染者"},
      {"contacts_under_observation", "尚在医学观察的密切接触者"},
      {"total_confirmed", "累计报告确诊病例"},
      {"total_asymptomatic", "累计报告无症状感染者"},
      {"total_recovered", "累计治愈出院病例"},
      {"total_deaths", "累计死亡病例"}};
  auto it = labels.find(name);
  return it == labels.end() ? name : it->second;
}

Figures count(const std::vector<CaseFact>& cases, Date day, const ContactFacts& contacts) {
  Figures f;
  std::map<std::string, Part> by_origin, by_district;
  for (const auto& k : cases) {
    const auto cd = confirmed_day(k);
    const auto ad = asymptomatic_day(k);
    const auto dd = died_day(k);
    const bool imported = k.origin == "imported";
    auto part = [&]() -> Part& {
      if (imported) {
        const std::string key = k.origin_place.empty() ? "" : k.origin_place;
        auto& p = by_origin[key];
        p.key = key;
        p.name = key;
        return p;
      }
      auto& p = by_district[k.district];
      p.key = k.district;
      p.name = k.district_name.empty() ? k.district : k.district_name;
      return p;
    };
    if (cd && *cd == day) {
      ++f.confirmed;
      ++(imported ? f.confirmed_imported : f.confirmed_local);
      if (k.converted_day) ++f.confirmed_converted;
      ++part().confirmed;
    }
    if (ad && *ad == day) {
      ++f.asymptomatic;
      ++(imported ? f.asymptomatic_imported : f.asymptomatic_local);
      ++part().asymptomatic;
    }
    const bool recovered_today = k.outcome == "recovered" && k.closed_day && *k.closed_day == day;
    if (recovered_today) {
      if (cd && *cd <= day) ++f.recovered;
      else if (ad && *ad <= day) ++f.asymptomatic_released;
    }
    if (dd && *dd == day) ++f.deaths;
    // At the end of the day.
    const bool gone = on_or_before(k.closed_day, day) || on_or_before(dd, day);
    if (cd && *cd <= day) {
      ++f.total_confirmed;
      if (!gone) {
        ++f.under_treatment;
        if (k.severity == "severe" || k.severity == "critical") ++f.severe;
      }
      if (k.outcome == "recovered" && on_or_before(k.closed_day, day)) ++f.total_recovered;
    } else if (ad && *ad <= day && !gone) {
      ++f.asymptomatic_under_observation;
    }
    if (ad && *ad <= day) ++f.total_asymptomatic;
    if (dd && *dd <= day) ++f.total_deaths;
  }
  f.contacts_traced = contacts.traced;
  f.contacts_released = contacts.released;
  f.contacts_under_observation = contacts.under_observation;
  for (auto& [_, p] : by_origin) f.imported_by_origin.push_back(p);
  std::stable_sort(f.imported_by_origin.begin(), f.imported_by_origin.end(), [](const Part& a, const Part& b) {
    if (a.key.empty() != b.key.empty()) return b.key.empty();  // "origin not recorded" last
    return a.confirmed + a.asymptomatic > b.confirmed + b.asymptomatic;
  });
  for (auto& [_, p] : by_district) f.local_by_district.push_back(p);
  return f;
}

std::vector<Notice> notices(const std::vector<CaseFact>& cases, Date day) {
  std::vector<const CaseFact*> fresh, converted;
  for (const auto& k : cases) {
    if (k.origin != "local" || k.outcome == "excluded") continue;
    const auto cd = confirmed_day(k);
    const auto ad = asymptomatic_day(k);
    if (ad && *ad == day) fresh.push_back(&k);
    else if (cd && *cd == day && !k.converted_day) fresh.push_back(&k);
    if (k.converted_day && *k.converted_day == day) converted.push_back(&k);
  }
  auto by_id = [](const CaseFact* a, const CaseFact* b) { return a->id < b->id; };
  std::sort(fresh.begin(), fresh.end(), by_id);
  std::sort(converted.begin(), converted.end(), by_id);
  std::vector<Notice> out;
  int seq = 0;
  for (const auto* k : fresh) {
    Notice x;
    x.case_id = k->id;
    const bool asym = k->classification == "asymptomatic" || k->converted_day.has_value();
    x.kind = asym ? "asymptomatic" : "confirmed";
    ++seq;
    const std::string sex_zh = k->sex == "male" ? "男" : k->sex == "female" ? "女" : "";
    const std::string age = k->birth_date ? n(age_on(*k->birth_date, day)) : "";
    x.text_zh = (asym ? "本土无症状感染者" : "本土确诊病例") + n(seq) + "（编号" + n(k->id) + "）：";
    std::string who;
    if (!sex_zh.empty()) who += sex_zh;
    if (!age.empty()) who += (who.empty() ? "" : "，") + age + "岁";
    if (!who.empty()) x.text_zh += who + "，";
    x.text_zh += "现住" + (k->residence.empty() ? k->district_name : k->residence);
    if (const char* f = found_zh(k->found_by); *f) x.text_zh += std::string("，") + f;
    if (!k->infectors.empty()) {
      x.text_zh += "，与此前报告的病例（编号";
      for (std::size_t i = 0; i < k->infectors.size(); ++i) x.text_zh += (i ? "、" : "") + n(k->infectors[i]);
      x.text_zh += "）有关联";
    }
    x.text_zh += "。";
    x.text_en = std::string(asym ? "Local asymptomatic infection " : "Local confirmed case ") + n(seq) + " (no. " +
                n(k->id) + "): ";
    std::string who_en;
    if (!k->sex.empty()) who_en += k->sex;
    if (!age.empty()) who_en += (who_en.empty() ? "" : ", ") + age + " years";
    if (!who_en.empty()) x.text_en += who_en + ", ";
    x.text_en += "living in " + (k->residence.empty() ? k->district_name : k->residence);
    if (const char* f = found_en(k->found_by); *f) x.text_en += std::string(", ") + f;
    if (!k->infectors.empty()) {
      x.text_en += ", linked to earlier case";
      x.text_en += k->infectors.size() > 1 ? "s no. " : " no. ";
      for (std::size_t i = 0; i < k->infectors.size(); ++i) x.text_en += (i ? ", " : "") + n(k->infectors[i]);
    }
    x.text_en += ".";
    out.push_back(std::move(x));
  }
  for (const auto* k : converted) {
    Notice x;
    x.case_id = k->id;
    x.kind = "converted";
    x.text_zh = "无症状感染者（编号" + n(k->id) + "）转为确诊病例，现住" +
                (k->residence.empty() ? k->district_name : k->residence) + "。";
    x.text_en = "Asymptomatic infection no. " + n(k->id) + " was confirmed as a case, living in " +
                (k->residence.empty() ? k->district_name : k->residence) + ".";
    out.push_back(std::move(x));
  }
  return out;
}

std::string text(const Figures& f, const std::vector<Notice>& ns, Date day, const std::string& area_name, bool english) {
  std::string s;
  if (!english) {
    s = zh_day(day) + "0—24时，" + area_name + "新增确诊病例" + n(f.confirmed) + "例";
    if (f.confirmed > 0) {
      s += "，其中境外输入病例" + n(f.confirmed_imported) + "例";
      std::string origins;
      for (const auto& p : f.imported_by_origin)
        if (p.confirmed > 0)
          origins += (origins.empty() ? "" : "，") + (p.key.empty() ? std::string("来源地待查") : "来自" + p.name) +
                     n(p.confirmed) + "例";
      if (!origins.empty()) s += "（" + origins + "）";
      s += "，本土病例" + n(f.confirmed_local) + "例";
      std::string districts;
      for (const auto& p : f.local_by_district)
        if (p.confirmed > 0) districts += (districts.empty() ? "" : "，") + p.name + n(p.confirmed) + "例";
      if (f.confirmed_converted > 0)
        districts += (districts.empty() ? "" : "；") + std::string("含") + n(f.confirmed_converted) +
                     "例由无症状感染者转为确诊病例";
      if (!districts.empty()) s += "（" + districts + "）";
    }
    s += "；新增无症状感染者" + n(f.asymptomatic) + "例";
    if (f.asymptomatic > 0) {
      s += "，其中境外输入" + n(f.asymptomatic_imported) + "例，本土" + n(f.asymptomatic_local) + "例";
      std::string districts;
      for (const auto& p : f.local_by_district)
        if (p.asymptomatic > 0) districts += (districts.empty() ? "" : "，") + p.name + n(p.asymptomatic) + "例";
      if (!districts.empty()) s += "（" + districts + "）";
    }
    s += "。新增治愈出院病例" + n(f.recovered) + "例，解除医学观察的无症状感染者" + n(f.asymptomatic_released) +
         "例，新增死亡病例" + n(f.deaths) + "例。";
    s += "当日新增密切接触者" + n(f.contacts_traced) + "人，解除医学观察的密切接触者" + n(f.contacts_released) +
         "人，尚在医学观察的密切接触者" + n(f.contacts_under_observation) + "人。";
    s += "截至" + zh_day(day) + "24时，现有确诊病例" + n(f.under_treatment) + "例（其中重症病例" + n(f.severe) +
         "例），尚在医学观察的无症状感染者" + n(f.asymptomatic_under_observation) + "例；累计报告确诊病例" +
         n(f.total_confirmed) + "例，累计治愈出院病例" + n(f.total_recovered) + "例，累计死亡病例" +
         n(f.total_deaths) + "例。";
    if (!ns.empty()) {
      s += "\n\n病例情况：";
      for (const auto& x : ns) s += "\n" + x.text_zh;
    }
    return s;
  }
  s = "From 0:00 to 24:00 on " + en_day(day) + ", " + area_name + " reported " +
      plural(f.confirmed, "new confirmed case", "new confirmed cases");
  if (f.confirmed > 0) {
    s += ": " + n(f.confirmed_imported) + " imported";
    std::string origins;
    for (const auto& p : f.imported_by_origin)
      if (p.confirmed > 0)
        origins += (origins.empty() ? "" : ", ") + n(p.confirmed) + (p.key.empty() ? " origin pending" : " from " + p.name);
    if (!origins.empty()) s += " (" + origins + ")";
    s += " and " + n(f.confirmed_local) + " local";
    std::string districts;
    for (const auto& p : f.local_by_district)
      if (p.confirmed > 0) districts += (districts.empty() ? "" : ", ") + n(p.confirmed) + " in " + p.name;
    if (f.confirmed_converted > 0)
      districts += (districts.empty() ? "" : "; ") + n(f.confirmed_converted) + " previously asymptomatic";
    if (!districts.empty()) s += " (" + districts + ")";
  }
  s += ", and " + plural(f.asymptomatic, "new asymptomatic infection", "new asymptomatic infections");
  if (f.asymptomatic > 0) s += " (" + n(f.asymptomatic_imported) + " imported, " + n(f.asymptomatic_local) + " local)";
  s += ". " + plural(f.recovered, "patient was", "patients were") + " discharged after recovery, " +
       plural(f.asymptomatic_released, "asymptomatic infection was", "asymptomatic infections were") +
       " released from medical observation, and " + plural(f.deaths, "death was", "deaths were") + " reported. ";
  s += plural(f.contacts_traced, "close contact was", "close contacts were") + " traced, " + n(f.contacts_released) +
       " released from medical observation, and " + n(f.contacts_under_observation) +
       " remain under medical observation. ";
  s += "At 24:00 on " + en_day(day) + ", " + n(f.under_treatment) + " confirmed cases were under treatment (" +
       n(f.severe) + " severe) and " + n(f.asymptomatic_under_observation) +
       " asymptomatic infections under medical observation; in total " + n(f.total_confirmed) +
       " confirmed cases, " + n(f.total_recovered) + " recoveries and " + n(f.total_deaths) + " deaths have been reported.";
  if (!ns.empty()) {
    s += "\n\nCases:";
    for (const auto& x : ns) s += "\n" + x.text_en;
  }
  return s;
}

std::vector<Change> diff(const Figures& before, const Figures& after) {
  std::vector<Change> out;
  const auto a = named(before), b = named(after);
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].second != b[i].second) out.push_back({a[i].first, a[i].second, b[i].second});
  return out;
}

}  // namespace bihuan::bulletin
