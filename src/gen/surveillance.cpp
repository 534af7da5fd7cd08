#include "gen/surveillance.hpp"

#include <cmath>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/vaccination.hpp"
#include "gen/random.hpp"
#include "store/warning_repository.hpp"

namespace bihuan::gen {

namespace {

using std::chrono::days;
using std::chrono::sys_days;

// Poisson(lambda): Knuth's product method for small means, the normal approximation above 30.
std::int64_t poisson(Rng& rng, double lambda) {
  if (lambda <= 0) return 0;
  if (lambda > 30) {
    const double u1 = std::max(rng.unit(), 1e-12), u2 = rng.unit();
    const double z = std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    return std::max<std::int64_t>(0, std::llround(lambda + std::sqrt(lambda) * z));
  }
  const double limit = std::exp(-lambda);
  double p = 1;
  std::int64_t k = -1;
  do {
    ++k;
    p *= rng.unit();
  } while (p > limit);
  return k;
}

// Weekly pattern: clinics and pharmacies busier on Mondays and at weekends; schools closed at
// weekends (no report).
double weekday_factor(const std::string& feed, unsigned wd) {
  if (feed == "school") return wd == 0 || wd == 6 ? 0 : (wd == 1 ? 1.2 : 1.0);
  if (wd == 1) return 1.3;
  if (wd == 0 || wd == 6) return 1.15;
  return 1.0;
}

}  // namespace

SurveillanceReport seed_surveillance(store::Repository& repo, const SurveillanceOptions& opt) {
  auto district = canonical_area_code(opt.district);
  if (!district || area_level_of(*district) != AreaLevel::county)
    fail(ErrorCode::invalid_argument, "--district must be a county-level area code", "district");
  if (!repo.area(*district)) fail(ErrorCode::invalid_argument, "no such district " + *district, "district");
  if (opt.weeks < 3 || opt.weeks > 52) fail(ErrorCode::invalid_argument, "--weeks must be 3..52", "weeks");
  if (opt.rise_days < 0 || opt.rise_days > 14) fail(ErrorCode::invalid_argument, "--rise-days must be 0..14", "rise_days");
  auto w = store::open_warning_repository(repo);
  SurveillanceReport rep;
  Rng rng = Rng::stream(opt.seed, "surveillance");
  const Date today = opt.local.date_of(opt.now);
  const int n = 7 * opt.weeks;
  // Every district of the city of the outbreak's district, each with sites in its first streets.
  const std::string city = district->substr(0, 4);
  std::vector<store::FeedCountRow> rows;
  struct Feed {
    const char* key;
    const char* prefix;
    const char* name;
    double base;
    double rise;  // growth a day during the rise, in the outbreak's district
  };
  const Feed feeds[] = {{"fever_clinic", "FC", "发热门诊", 18, 1.45}, {"pharmacy", "PH", "药店", 30, 1.35},
                        {"school", "SC", "学校", 12, 1.3}};
  for (const auto& d : repo.area_children(city)) {
    if (area_level_of(d.code) != AreaLevel::county) continue;
    auto streets = repo.area_children(d.code);
    const bool outbreak = d.code == *district;
    for (const auto& f : feeds) {
      for (int s = 0; s < 3; ++s) {
        store::FeedCountRow site;
        site.feed = f.key;
        site.site = std::string(f.prefix) + "-" + d.code + "-" + std::to_string(s + 1);
        site.site_name = d.name + f.name + std::to_string(s + 1);
        site.area_code = streets.empty() ? d.code : streets[static_cast<std::size_t>(s) % streets.size()].code;
        ++rep.sites;
        const double level = f.base * (0.6 + 0.8 * rng.unit());
        for (int i = n - 1; i >= 0; --i) {
          const Date day = Date(sys_days(today) - days(i));
          const unsigned wd = std::chrono::weekday(sys_days(day)).c_encoding();
          double mean = level * weekday_factor(f.key, wd);
          if (mean == 0) continue;
          if (outbreak && i < opt.rise_days) mean *= std::pow(f.rise, opt.rise_days - i);
          store::FeedCountRow r = site;
          r.day = format_date(day);
          if (std::string(f.key) == "school") {
            // Absences by reason: fever / respiratory symptoms / other.
            const std::int64_t total = poisson(rng, mean);
            const double ill = outbreak && i < opt.rise_days ? 0.7 : 0.35;
            std::int64_t fever = 0, resp = 0;
            for (std::int64_t k = 0; k < total; ++k) {
              const double u = rng.unit();
              if (u < ill * 0.6) ++fever;
              else if (u < ill) ++resp;
            }
            for (const auto& [reason, c] : {std::pair<const char*, std::int64_t>{"fever", fever}, {"respiratory", resp},
                                            {"other", total - fever - resp}}) {
              r.reason = reason;
              r.n = c;
              rows.push_back(r);
            }
          } else {
            r.n = poisson(rng, mean);
            rows.push_back(r);
          }
        }
      }
    }
  }
  repo.transaction([&] { w->upsert_feed_counts(rows, 0, 0, opt.now); });
  rep.feed_rows = static_cast<std::int64_t>(rows.size());

  // Beds of the hospitals (a setting per hospital, kept when set).
  for (const auto& o : repo.find_orgs("", OrgKind::hospital, Scope::everything(), store::Page{0, 1000}).items) {
    const std::string key = "capacity.beds." + o.code;
    if (!repo.setting(key)) repo.set_setting(key, std::to_string(100 * rng.between(2, 8)));
    ++rep.hospitals;
  }

  if (!opt.vaccination) return rep;
  // Doses by age band: the share with a full course and with a booster (China, end of 2022:
  // about 90 % fully vaccinated overall, lower among the oldest).
  struct Band {
    int lo, hi;
    double full, booster;
  };
  const Band bands[] = {{3, 17, 0.86, 0.05}, {18, 59, 0.93, 0.72}, {60, 69, 0.86, 0.66}, {70, 79, 0.74, 0.52},
                        {80, 200, 0.42, 0.24}};
  const char* products[] = {"bbibp", "coronavac", "wibp", "ad5", "zf2001"};
  const double product_w[] = {0.42, 0.38, 0.12, 0.04, 0.04};
  Discrete product_of(std::vector<double>(std::begin(product_w), std::end(product_w)));
  const Date start = *parse_date("2021-03-01");
  store::PersonQuery q;
  q.area_prefix = city;
  store::Page page{0, 1000};
  for (;;) {
    auto p = repo.find_persons(q, Scope::everything(), page);
    std::vector<store::DoseRow> doses;
    std::vector<store::VaccinationStatusRow> statuses;
    for (const auto& person : p.items) {
      const int age = vaccination::age_on(person.birth_date, today);
      const Band* b = nullptr;
      for (const auto& x : bands)
        if (age >= x.lo && age <= x.hi) b = &x;
      if (!b) continue;
      const double u = rng.unit();
      const std::string product = products[product_of(rng)];
      const auto* prod = vaccination::product_from(product);
      const int primary = prod ? prod->primary_doses : 2;
      int count = 0;
      if (u < b->booster) count = primary + 1;
      else if (u < b->full) count = primary;
      else if (u < b->full + (1 - b->full) * 0.3) count = primary > 1 ? primary - 1 : 0;
      if (count == 0) continue;
      std::vector<vaccination::Dose> ds;
      Date d = Date(sys_days(start) + days(rng.between(0, 200)));
      for (int k = 1; k <= count; ++k) {
        if (sys_days(d) > sys_days(today)) break;
        ds.push_back({k, d, k > primary ? std::string("zf2001") : product});
        doses.push_back({person.id, k, format_date(d), ds.back().product, ""});
        d = Date(sys_days(d) + days(k >= primary ? rng.between(180, 270) : rng.between(21, 56)));
      }
      if (ds.empty()) continue;
      const auto st = vaccination::status_of(ds);
      auto f = [](const std::optional<Date>& v) { return v ? format_date(*v) : std::string(); };
      statuses.push_back({person.id, st.doses, f(st.first), f(st.full_course), f(st.booster), f(st.last)});
    }
    repo.transaction([&] {
      w->upsert_doses(doses, 0, opt.now);
      for (const auto& s : statuses) w->put_status(s, opt.now);
    });
    rep.doses += static_cast<std::int64_t>(doses.size());
    rep.persons_vaccinated += static_cast<std::int64_t>(statuses.size());
    if (p.next == 0) break;
    page.after = p.next;
  }
  return rep;
}

}  // namespace bihuan::gen
