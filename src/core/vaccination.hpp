#pragma once
// COVID-19 vaccination (疫苗接种, issue 10): the products used in China and the doses of their
// primary course, a person's status from the doses the immunisation register recorded (full
// course, booster / 加强针), age bands for coverage. Rules only.
//
// Primary courses: 国家卫生健康委《新冠病毒疫苗接种技术指南（第一版）》(2021-03-29): inactivated
// vaccines (北京生物, 武汉生物, 科兴, 医科院, 康泰) two doses, the adenovirus-type-5 vector vaccine
// (康希诺 Ad5-nCoV) one dose, the recombinant protein vaccine (智飞 ZF2001) three doses. A dose
// beyond the primary course of the person's first product is a booster.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"

namespace bihuan::vaccination {

struct Product {
  std::string key, name_zh;
  int primary_doses = 2;
  std::vector<std::string> aliases;  // how registers write it (matched case-insensitively)
};
const std::vector<Product>& products();
// By key or alias ("coronavac", "科兴", "Sinovac", ...); nullptr when unknown.
const Product* product_from(std::string_view text);

struct Dose {
  int number = 1;  // 1-based dose number as the register counts it
  Date date{};
  std::string product;  // a Product key
};

struct Status {
  int doses = 0;  // the highest dose number recorded
  std::optional<Date> first, full_course, booster, last;
};
// Full course: a dose numbered the primary course's length of the first product (or more);
// booster: a dose numbered beyond it. Doses in any order; unknown products count as two-dose.
Status status_of(const std::vector<Dose>& doses);

struct AgeBand {
  int lo = 0, hi = 0;  // inclusive; hi = 200 for "and over"
  std::string label;
};
// 3-17, 18-59, 60-69, 70-79, 80+ (the bands China's vaccination reports used for the elderly).
const std::vector<AgeBand>& age_bands();
// Completed years on `on`; -1 when born after `on`.
int age_on(Date birth, Date on);
// The latest birth date of someone at least `years` old on `on` (for SQL ranges on birth dates).
Date born_by(int years, Date on);

}  // namespace bihuan::vaccination
