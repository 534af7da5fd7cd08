#include "core/vaccination.hpp"

#include <algorithm>
#include <cctype>

namespace bihuan::vaccination {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const std::vector<Product>& products() {
  static const std::vector<Product> v = {
      {"bbibp", "北京生物（国药）新冠灭活疫苗", 2, {"bbibp-corv", "sinopharm", "国药", "北京生物", "国药北京"}},
      {"wibp", "武汉生物（国药）新冠灭活疫苗", 2, {"wibp-corv", "武汉生物", "国药武汉"}},
      {"coronavac", "北京科兴新冠灭活疫苗", 2, {"sinovac", "科兴", "克尔来福"}},
      {"imbcams", "医科院生物所新冠灭活疫苗", 2, {"医科院", "中国医学科学院"}},
      {"kconvac", "深圳康泰新冠灭活疫苗", 2, {"康泰", "深圳康泰"}},
      {"ad5", "康希诺腺病毒载体新冠疫苗", 1, {"ad5-ncov", "cansino", "convidecia", "康希诺", "克威莎"}},
      {"zf2001", "智飞重组蛋白新冠疫苗", 3, {"zifivax", "智飞", "智克威得", "重组蛋白"}},
  };
  return v;
}

const Product* product_from(std::string_view text) {
  const std::string t = lower(text);
  if (t.empty()) return nullptr;
  for (const auto& p : products()) {
    if (t == p.key) return &p;
    for (const auto& a : p.aliases)
      if (t == lower(a)) return &p;
  }
  return nullptr;
}

Status status_of(const std::vector<Dose>& doses) {
  Status s;
  if (doses.empty()) return s;
  std::vector<Dose> d = doses;
  std::sort(d.begin(), d.end(), [](const Dose& a, const Dose& b) {
    return a.number != b.number ? a.number < b.number : std::chrono::sys_days(a.date) < std::chrono::sys_days(b.date);
  });
  const Product* first = product_from(d.front().product);
  const int primary = first ? first->primary_doses : 2;
  for (const auto& x : d) {
    s.doses = std::max(s.doses, x.number);
    if (!s.first || std::chrono::sys_days(x.date) < std::chrono::sys_days(*s.first)) s.first = x.date;
    if (!s.last || std::chrono::sys_days(x.date) > std::chrono::sys_days(*s.last)) s.last = x.date;
    if (x.number >= primary && (!s.full_course || std::chrono::sys_days(x.date) < std::chrono::sys_days(*s.full_course)))
      s.full_course = x.date;
    if (x.number > primary && (!s.booster || std::chrono::sys_days(x.date) < std::chrono::sys_days(*s.booster)))
      s.booster = x.date;
  }
  return s;
}

const std::vector<AgeBand>& age_bands() {
  static const std::vector<AgeBand> v = {
      {3, 17, "3-17"}, {18, 59, "18-59"}, {60, 69, "60-69"}, {70, 79, "70-79"}, {80, 200, "80+"}};
  return v;
}

int age_on(Date birth, Date on) {
  if (!birth.ok() || !on.ok()) return -1;
  if (std::chrono::sys_days(birth) > std::chrono::sys_days(on)) return -1;
  int years = static_cast<int>(on.year()) - static_cast<int>(birth.year());
  if (on.month() < birth.month() || (on.month() == birth.month() && on.day() < birth.day())) --years;
  return years;
}

Date born_by(int years, Date on) {
  const Date d = (on.year() - std::chrono::years(years)) / on.month() / on.day();
  if (d.ok()) return d;
  // 29 February of a year that has none: the last day of February.
  return Date{(on.year() - std::chrono::years(years)) / std::chrono::February / std::chrono::last};
}

}  // namespace bihuan::vaccination
