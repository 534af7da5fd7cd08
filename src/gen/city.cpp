#include "gen/city.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "gen/census.hpp"
#include "gen/divisions.hpp"
#include "gen/names.hpp"
#include "gen/random.hpp"
#include "store/nat_repository.hpp"

namespace bihuan::gen {

// ---------------------------------------------------------------- organisation codes

char social_credit_check_char(std::string_view first17) {
  static constexpr std::string_view kChars = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  static constexpr int kWeights[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
  if (first17.size() != 17) return '\0';
  int sum = 0;
  for (std::size_t i = 0; i < 17; ++i) {
    const auto pos = kChars.find(first17[i]);
    if (pos == std::string_view::npos) return '\0';
    sum += static_cast<int>(pos) * kWeights[i];
  }
  return kChars[static_cast<std::size_t>((31 - sum % 31) % 31)];
}

std::string social_credit_code(std::string_view kind2, std::string_view area6, std::uint64_t serial) {
  // Organisation code (GB 11714): 8 digits + check character (weights 3 7 9 10 5 8 4 2, MOD 11).
  static constexpr int kWeights[8] = {3, 7, 9, 10, 5, 8, 4, 2};
  const std::string body = fmt::format("{:08d}", (serial * 7919 + 10000019) % 100000000);
  int sum = 0;
  for (std::size_t i = 0; i < 8; ++i) sum += (body[i] - '0') * kWeights[i];
  const int c = 11 - sum % 11;
  const char check9 = c == 10 ? 'X' : c == 11 ? '0' : static_cast<char>('0' + c);
  std::string code = std::string(kind2) + std::string(area6) + body + check9;
  code.push_back(social_credit_check_char(code));
  return code;
}

namespace {

using std::chrono::days;
using std::chrono::sys_days;

Date years_before(Date d, int years) {
  Date r{d.year() - std::chrono::years{years}, d.month(), d.day()};
  if (!r.ok()) r = Date{std::chrono::year_month_day_last{r.year(), std::chrono::month_day_last{r.month()}}};
  return r;
}

// A birth date at which a person is exactly `age` on `today`.
Date birth_for_age(Date today, int age, Rng& rng) {
  const sys_days latest{years_before(today, age)};
  const sys_days earliest = sys_days{years_before(today, age + 1)} + days{1};
  const auto span = (latest - earliest).count() + 1;
  return Date{earliest + days{static_cast<int>(rng.below(static_cast<std::uint64_t>(span)))}};
}

std::string landline_prefix(std::string_view code) {
  static const std::map<std::string, std::string, std::less<>> kPrefixes{
      {"11", "010"}, {"12", "022"}, {"31", "021"}, {"50", "023"}, {"4401", "020"}, {"4403", "0755"},
      {"4201", "027"}, {"3301", "0571"}, {"3201", "025"}, {"5101", "028"}, {"6101", "029"}};
  for (std::size_t n : {4u, 2u}) {
    if (code.size() < n) continue;
    auto it = kPrefixes.find(code.substr(0, n));
    if (it != kPrefixes.end()) return it->second;
  }
  return {};
}

struct GridPlan {
  std::string code;
  std::string name;
  std::size_t community = 0;  // index into communities
  std::size_t street = 0;     // index into streets
  std::int64_t first_household = 0;
  std::int64_t households = 0;
};

struct StreetPlan {
  const Area* street = nullptr;
  std::vector<std::size_t> grids;  // indices into grids
  double expected_persons = 0;
  std::vector<std::int64_t> schools;  // org ids
};

// Unique resident ID numbers: per (county, birth date, sex) a counter mapped through a
// bijection onto the free sequence numbers, so numbers look scattered but never repeat.
class IdAllocator {
 public:
  IdAllocator(std::size_t counties, Date today)
      : today_(today), days_(static_cast<std::size_t>(kMaxAge + 3) * 366), counters_(counties * days_ * 2, 0) {}

  // Returns the number, or "" if (county, date, sex) is exhausted.
  std::string allocate(std::size_t county, const std::string& region6, Date birth, Sex sex) {
    const auto offset = static_cast<std::size_t>((sys_days{today_} - sys_days{birth}).count());
    if (offset >= days_) return {};
    const std::size_t s = sex == Sex::male ? 0 : 1;
    auto& counter = counters_[(county * days_ + offset) * 2 + s];
    const unsigned modulus = s == 0 ? 500 : 499;  // odd 001..999 for men, even 002..998 for women
    if (counter >= modulus) return {};
    const auto scramble = static_cast<unsigned>(splitmix64(county * 1000003 + offset) % modulus);
    const unsigned idx = (counter * 173u + scramble) % modulus;
    ++counter;
    const unsigned seq = s == 0 ? 2 * idx + 1 : 2 * idx + 2;
    std::string id = fmt::format("{}{:04d}{:02d}{:02d}{:03d}", region6, static_cast<int>(birth.year()),
                                 static_cast<unsigned>(birth.month()), static_cast<unsigned>(birth.day()), seq);
    id.push_back(resident_id_check_char(id));
    return id;
  }

 private:
  Date today_;
  std::size_t days_;
  std::vector<std::uint16_t> counters_;
};

class CityGenerator {
 public:
  CityGenerator(store::Repository& repo, const CityOptions& opt) : repo_(repo), opt_(opt) {}

  CityReport run() {
    if (opt_.persons < 1) fail(ErrorCode::invalid_argument, "persons must be at least 1", "persons");
    if (!opt_.today.ok()) fail(ErrorCode::invalid_argument, "today is not a valid date", "today");
    load_areas();
    plan_households();
    plan_grids();
    const bool bulk = opt_.bulk_load && repo_.begin_bulk_load(opt_.bulk_cache_mib);
    try {
      write_areas();
      write_institutions();
      write_venues();
      write_people();
      repo_.set_setting("gen.seed", std::to_string(opt_.seed));
      repo_.set_setting("gen.persons", std::to_string(opt_.persons));
      repo_.set_setting("gen.city", opt_.city_code);
      repo_.set_setting("gen.today", format_date(opt_.today));
      if (bulk) repo_.end_bulk_load();
    } catch (...) {
      if (bulk) repo_.abort_bulk_load();
      throw;
    }
    return report_;
  }

 private:
  // ---------------------------------------------------------------- plan
  void load_areas() {
    areas_ = load_divisions(opt_.divisions_dir, opt_.city_code);
    for (const auto& a : areas_) {
      if (a.level == AreaLevel::community) communities_.push_back(&a);
      if (a.level == AreaLevel::county) counties_.push_back(&a);
      by_code_[a.code] = &a;
    }
    if (communities_.empty())
      fail(ErrorCode::invalid_argument, "no communities or villages under " + opt_.city_code, "city");
    // The address code inside ID numbers: the county's GB/T 2260 code, or its city's when the
    // statistical code is not a GB/T 2260 code (e.g. development zones xxxx7x).
    for (const auto* c : counties_) {
      std::string code = c->code;
      if (!find_region_code(code)) code = c->code.substr(0, 4) + "00";
      if (!find_region_code(code)) code = c->code.substr(0, 2) + "0000";
      county_region_[c->code] = code;
    }
    root_ = by_code_.at(opt_.city_code);
  }

  // Household sizes come from their own stream; this pass only counts households so the grids
  // can be laid out; write_people() replays the same stream.
  void plan_households() {
    Rng sizes = Rng::stream(opt_.seed, "household-sizes");
    size_dist_ = Discrete(household_size_shares());
    std::int64_t persons = 0;
    while (persons < opt_.persons) {
      persons += static_cast<std::int64_t>(size_dist_(sizes)) + 1;
      ++households_;
    }
  }

  void plan_grids() {
    const auto g_count = std::max<std::int64_t>(1, std::llround(static_cast<double>(households_) / 300.0));
    const auto c_count = static_cast<std::int64_t>(communities_.size());
    const std::int64_t used = std::min(c_count, g_count);
    std::vector<int> per_community(communities_.size(), 0);
    std::map<std::string, std::size_t> street_index;
    for (std::int64_t g = 0; g < g_count; ++g) {
      const std::int64_t u = g * used / g_count;  // contiguous blocks of grids per community
      const auto ci = static_cast<std::size_t>(u * c_count / used);  // evenly spread over the city
      const int n = ++per_community[ci];
      if (n > 999) fail(ErrorCode::invalid_argument, "too many persons for " + opt_.city_code + ": a community would need more than 999 grids", "persons");
      GridPlan gp;
      gp.code = communities_[ci]->code + fmt::format("{:03d}", n);
      gp.name = fmt::format("第{}网格", n);
      gp.community = ci;
      gp.first_household = g * households_ / g_count;
      gp.households = (g + 1) * households_ / g_count - gp.first_household;
      grids_.push_back(std::move(gp));
      const std::string& street_code = communities_[ci]->parent_code;
      auto [it, inserted] = street_index.emplace(street_code, streets_.size());
      if (inserted) {
        StreetPlan sp;
        sp.street = by_code_.at(street_code);
        streets_.push_back(sp);
      }
      streets_[it->second].grids.push_back(grids_.size() - 1);
      grids_.back().street = it->second;
      streets_[it->second].expected_persons += static_cast<double>(grids_.back().households) * kMeanHouseholdSize;
    }
  }

  void write_areas() {
    std::vector<Area> all = areas_;
    for (const auto& g : grids_) all.push_back(Area{g.code, g.name, AreaLevel::grid, communities_[g.community]->code});
    report_.areas = static_cast<std::int64_t>(all.size());
    report_.grids = static_cast<std::int64_t>(grids_.size());
    for (std::size_t i = 0; i < all.size(); i += 5000) {
      std::vector<Area> batch(all.begin() + static_cast<std::ptrdiff_t>(i),
                              all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), i + 5000)));
      repo_.upsert_areas(batch);
    }
  }

  // ---------------------------------------------------------------- names of places
  std::string county_of(std::string_view code) const { return std::string(code.substr(0, 6)); }
  std::string region6(std::string_view code) const {
    auto it = county_region_.find(county_of(code));
    return it != county_region_.end() ? it->second : gbt2260_code(code.substr(0, std::min<std::size_t>(code.size(), 4)));
  }
  // "北京市" for municipalities (whose city level is 市辖区), else the city's name.
  std::string city_name() const {
    for (const auto& a : areas_)
      if (a.level == AreaLevel::city && opt_.city_code.starts_with(a.code.substr(0, std::min(a.code.size(), opt_.city_code.size()))))
        return a.name == "市辖区" || a.name == "县" ? areas_.front().name : a.name;
    return areas_.front().name;
  }
  std::string name_of(std::string_view code) const {
    auto it = by_code_.find(std::string(code));
    return it == by_code_.end() ? std::string() : it->second->name;
  }
  std::string phone_for_org(Rng& rng) const {
    const std::string prefix = landline_prefix(opt_.city_code);
    if (prefix.empty()) return random_mobile(rng);
    const int digits = prefix.size() == 3 ? 8 : 7;
    std::string out = prefix + "-" + std::to_string(rng.between(2, 8));
    for (int i = 1; i < digits; ++i) out.push_back(static_cast<char>('0' + rng.below(10)));
    return out;
  }

  // ---------------------------------------------------------------- orgs
  Org make_org(OrgKind kind, std::string name, const std::string& area, std::string_view reg_kind, Rng& rng) {
    Org o;
    o.kind = kind;
    o.name = std::move(name);
    o.area_code = area;
    o.code = social_credit_code(reg_kind, region6(area.size() >= 6 ? area : counties_.front()->code), ++org_serial_);
    o.address = city_name() + name_of(county_of(area.size() >= 6 ? area : counties_.front()->code)) +
                (area.size() >= 9 ? short_place_name(name_of(area.substr(0, 9))) : std::string()) +
                fmt::format("{}路{}号", random_brand(rng), rng.between(1, 300));
    o.phone = phone_for_org(rng);
    return o;
  }

  void flush_orgs(std::vector<Org>& orgs) {
    if (orgs.empty()) return;
    repo_.upsert_orgs(orgs);
    report_.orgs += static_cast<std::int64_t>(orgs.size());
  }

  // Sampling points (采样点), sized so that a whole-city round (全员核酸) samples every resident
  // in one day (docs/API-testing.md, "Sampling points and labs of the generated city"):
  //  - count: one per 1,300 expected residents of the street, at least one (Shanghai 2022-04-04:
  //    about 20,000 points for 25.665 M people sampled; ../shared/policies/REFERENCE.md);
  //  - kinds and hours (local settings): the street's community health centre (社区卫生服务中心)
  //    07:00-21:00, or around the clock (24小时核酸采样点) in the first street of each county and
  //    one street in five; the others are convenience kiosks (便民采样亭), half of them 08:00-20:00,
  //    a quarter morning-only (06:30-11:30, before work), a quarter in the evening (16:00-22:00);
  //  - places an hour: sampling tables (采样台) of kTablePlaces each (local setting: one swab
  //    with its code scan in about 30 s), a centre twice a kiosk's tables, as few tables as give
  //    the street kSamplingMargin times its expected residents in a day.
  static constexpr double kResidentsPerPoint = 1300.0;
  static constexpr int kTablePlaces = 120;
  static constexpr double kSamplingMargin = 1.25;
  // Labs (检测机构): a county's lab takes the tubes of its points' whole round in 10-in-1 pools
  // with Shanghai's margin (4 M tubes a day of lab capacity for the 2.427 M tubes of 2022-04-04:
  // 1.65); the city's third-party lab a quarter of the counties' sum in reserve (local setting).
  // Written as the setting capacity.tubes.<lab code> (tubes a day), rounded up to 1,000.
  static constexpr double kLabMargin = 1.65;
  static constexpr int kLabPool = 10;

  void write_sampling_points(const std::map<std::string, std::int64_t>& county_lab) {
    auto nat = store::open_nat_repository(repo_);
    Rng rng = Rng::stream(opt_.seed, "sampling_points");
    repo_.transaction([&] {
      std::set<std::string> counties_seen;
      for (const auto& sp : streets_) {
        const int n = std::max(1, static_cast<int>(std::ceil(sp.expected_persons / kResidentsPerPoint)));
        const std::string sn = short_place_name(sp.street->name);
        const std::string county = county_of(sp.street->code);
        const bool first_of_county = counties_seen.insert(county).second;
        auto lab = county_lab.find(county);
        std::vector<store::SamplingPointRow> points;
        std::vector<int> weight;  // a point's tables per table of a kiosk (a centre has twice theirs)
        for (int i = 0; i < n; ++i) {
          store::SamplingPointRow p;
          p.area_code = grids_[sp.grids[rng.below(sp.grids.size())]].code;
          if (i == 0) {
            const bool all_day = rng.below(5) == 0 || first_of_county;
            p.name = sn + (all_day ? "24小时核酸采样点" : "核酸采样点");
            p.address = sp.street->name + "社区卫生服务中心";
            p.opens = all_day ? "00:00" : "07:00";
            p.closes = all_day ? "24:00" : "21:00";
            weight.push_back(2);
          } else {
            p.name = fmt::format("{}第{}核酸采样点", sn, i + 1);
            p.address = sp.street->name + fmt::format("{}号便民采样亭", i + 1);
            const auto hours = rng.below(4);
            p.opens = hours < 2 ? "08:00" : hours == 2 ? "06:30" : "16:00";
            p.closes = hours < 2 ? "20:00" : hours == 2 ? "11:30" : "22:00";
            weight.push_back(1);
          }
          p.lab_org_id = lab == county_lab.end() ? 0 : lab->second;
          p.created_at = LocalTime{}.start_of(opt_.today);
          points.push_back(std::move(p));
        }
        // Places a day of one kiosk table at every point (a centre counts twice).
        auto minute = [](const std::string& hhmm) { return std::stoi(hhmm.substr(0, 2)) * 60 + std::stoi(hhmm.substr(3, 2)); };
        std::int64_t per_table = 0;
        for (std::size_t i = 0; i < points.size(); ++i)
          per_table += static_cast<std::int64_t>(weight[i]) * kTablePlaces *
                       (minute(points[i].closes) - minute(points[i].opens)) / 60;
        const auto need = static_cast<std::int64_t>(std::ceil(sp.expected_persons * kSamplingMargin));
        const auto tables = std::max<std::int64_t>(1, (need + per_table - 1) / per_table);
        for (std::size_t i = 0; i < points.size(); ++i) {
          points[i].capacity_per_hour = static_cast<int>(tables * weight[i] * kTablePlaces);
          nat->insert_point(points[i]);
          ++report_.sampling_points;
        }
        county_persons_[county] += sp.expected_persons;
      }
    });
  }

  // Tubes a day of each lab (see above), as settings: the labs receiving the points' boxes first,
  // then the others (the city's third-party lab).
  void write_lab_capacity(const std::vector<Org>& labs, const std::map<std::string, std::int64_t>& county_lab) {
    auto round_up = [](double tubes) {
      return std::max<std::int64_t>(1000, static_cast<std::int64_t>(std::ceil(tubes / 1000.0)) * 1000);
    };
    std::int64_t counties = 0;
    std::set<std::int64_t> receiving;
    for (const auto& [county, lab_id] : county_lab) {
      const std::int64_t id = lab_id;  // (clang 14 cannot capture a structured binding)
      const auto it = county_persons_.find(county);
      const auto lab = std::find_if(labs.begin(), labs.end(), [&](const Org& o) { return o.id == id; });
      if (lab == labs.end()) continue;
      const auto tubes = round_up((it == county_persons_.end() ? 0.0 : it->second) / kLabPool * kLabMargin);
      repo_.set_setting("capacity.tubes." + lab->code, std::to_string(tubes));
      counties += tubes;
      receiving.insert(id);
    }
    for (const auto& o : labs)
      if (!receiving.count(o.id))
        repo_.set_setting("capacity.tubes." + o.code, std::to_string(round_up(static_cast<double>(counties) / 4.0)));
  }

  void write_institutions() {
    Rng rng = Rng::stream(opt_.seed, "orgs");
    const std::string city = city_name();
    const std::string root = root_->code;
    const std::string root_name = root_->level == AreaLevel::county ? name_of(root) : city;
    std::vector<Org> orgs;
    orgs.push_back(make_org(OrgKind::command_centre, root_name + "疫情防控指挥部", root, "11", rng));
    orgs.push_back(make_org(OrgKind::cdc, root_name + "疾病预防控制中心", root, "12", rng));
    orgs.push_back(make_org(OrgKind::port, city + "国际机场口岸", root, "11", rng));
    orgs.push_back(make_org(OrgKind::port, city + "站铁路口岸", root, "11", rng));
    orgs.push_back(make_org(OrgKind::lab, root_name + "第三方医学检验实验室", root, "91", rng));
    // Per populated county.
    std::vector<std::string> used_counties;
    for (const auto& sp : streets_) {
      const std::string c = county_of(sp.street->code);
      if (std::find(used_counties.begin(), used_counties.end(), c) == used_counties.end()) used_counties.push_back(c);
    }
    for (const auto& c : used_counties) {
      const std::string cn = name_of(c);
      if (c != root) orgs.push_back(make_org(OrgKind::cdc, cn + "疾病预防控制中心", c, "12", rng));
      orgs.push_back(make_org(OrgKind::hospital, cn + "人民医院（定点医院）", c, "12", rng));
      orgs.push_back(make_org(OrgKind::lab, cn + "核酸检测实验室", c, "12", rng));
      orgs.push_back(make_org(OrgKind::quarantine_site, cn + "第一集中隔离点", c, "91", rng));
      orgs.push_back(make_org(OrgKind::quarantine_site, cn + "第二集中隔离点", c, "91", rng));
      orgs.push_back(make_org(OrgKind::transfer_team, cn + "转运专班", c, "11", rng));
    }
    // Community committees of populated communities.
    std::vector<std::size_t> used_communities;
    for (const auto& g : grids_)
      if (used_communities.empty() || used_communities.back() != g.community) used_communities.push_back(g.community);
    // The county labs (written with this first batch) receive the boxes of their sampling points.
    flush_orgs(orgs);
    std::map<std::string, std::int64_t> county_lab;
    for (const auto& o : orgs)
      if (o.kind == OrgKind::lab && o.area_code.size() == 6) county_lab[o.area_code] = o.id;
    std::vector<Org> labs;
    for (const auto& o : orgs)
      if (o.kind == OrgKind::lab) labs.push_back(o);
    orgs.clear();
    write_sampling_points(county_lab);
    write_lab_capacity(labs, county_lab);
    for (auto ci : used_communities) {
      const Area* c = communities_[ci];
      orgs.push_back(make_org(OrgKind::community, c->name, c->code, "11", rng));
      if (orgs.size() >= 5000) flush_orgs(orgs), orgs.clear();
    }
    flush_orgs(orgs);
    orgs.clear();

    // Schools: about one per 1,500 school-age children of a street, at least one per street.
    static constexpr std::array<std::string_view, 3> kSchoolKinds{"小学", "中学", "实验学校"};
    for (auto& sp : streets_) {
      const int n = std::max(1, static_cast<int>(std::lround(sp.expected_persons * 0.138 / 1500.0)));
      const std::string sn = short_place_name(sp.street->name);
      std::vector<Org> schools;
      for (int i = 0; i < n; ++i) {
        const std::string& grid = grids_[sp.grids[rng.below(sp.grids.size())]].code;
        schools.push_back(make_org(OrgKind::school,
                                   fmt::format("{}{}{}", sn, i == 0 ? std::string() : fmt::format("第{}", i + 1),
                                               kSchoolKinds[static_cast<std::size_t>(i) % kSchoolKinds.size()]),
                                   grid, "12", rng));
      }
      flush_orgs(schools);
      for (const auto& s : schools) {
        sp.schools.push_back(s.id);
        school_venues_.push_back(s);
      }
    }

    // Enterprises: one per ~60 employed adults, spread over the populated streets.
    static constexpr std::array<std::string_view, 8> kIndustry{"科技有限公司", "贸易有限公司", "餐饮管理有限公司",
                                                               "建筑工程有限公司", "物流有限公司", "文化传媒有限公司",
                                                               "物业管理有限公司", "医药有限公司"};
    const auto n_ent = std::max<std::int64_t>(3, std::llround(static_cast<double>(opt_.persons) * 0.6 * 0.75 / 60.0));
    std::vector<Org> ents;
    for (std::int64_t i = 0; i < n_ent; ++i) {
      const auto& sp = streets_[rng.below(streets_.size())];
      const std::string& grid = grids_[sp.grids[rng.below(sp.grids.size())]].code;
      ents.push_back(make_org(OrgKind::enterprise,
                              fmt::format("{}{}{}", short_place_name(name_of(county_of(grid))), random_brand(rng),
                                          kIndustry[rng.below(kIndustry.size())]),
                              grid, "91", rng));
      if (ents.size() >= 5000 || i + 1 == n_ent) {
        flush_orgs(ents);
        for (const auto& e : ents) enterprises_.push_back(e.id);
        ents.clear();
      }
    }
  }

  // ---------------------------------------------------------------- venues
  void write_venues() {
    Rng rng = Rng::stream(opt_.seed, "venues");
    struct Rate {
      VenueType type;
      double per_1000;
      std::array<std::string_view, 4> nouns;
      int cap_lo, cap_hi;
      double enclosed;
    };
    static const std::array<Rate, 15> kRates{{
        {VenueType::restaurant, 4.0, {"饭店", "面馆", "火锅店", "快餐店"}, 20, 200, 0.95},
        {VenueType::supermarket, 1.0, {"超市", "便利店", "生鲜超市", "超市"}, 30, 500, 1.0},
        {VenueType::market, 0.15, {"农贸市场", "菜市场", "农贸市场", "批发市场"}, 200, 3000, 0.5},
        {VenueType::shopping_mall, 0.05, {"购物中心", "商场", "广场", "百货"}, 1000, 20000, 1.0},
        {VenueType::office, 0.8, {"大厦", "写字楼", "商务中心", "科技园"}, 200, 5000, 1.0},
        {VenueType::factory, 0.3, {"工厂", "加工厂", "制造厂", "厂区"}, 50, 2000, 0.8},
        {VenueType::clinic, 0.4, {"诊所", "门诊部", "社区卫生服务站", "口腔诊所"}, 10, 80, 1.0},
        {VenueType::pharmacy, 0.5, {"大药房", "药店", "医药连锁店", "药房"}, 5, 40, 1.0},
        {VenueType::hotel, 0.3, {"酒店", "宾馆", "快捷酒店", "旅馆"}, 30, 800, 1.0},
        {VenueType::entertainment, 0.4, {"KTV", "网吧", "影城", "棋牌室"}, 30, 600, 1.0},
        {VenueType::gym, 0.25, {"健身中心", "游泳馆", "羽毛球馆", "健身房"}, 30, 400, 1.0},
        {VenueType::religious, 0.03, {"寺", "教堂", "清真寺", "道观"}, 50, 1000, 0.6},
        {VenueType::government, 0.08, {"政务服务中心", "派出所", "社区服务中心", "税务所"}, 30, 300, 1.0},
        {VenueType::transport_hub, 0.03, {"公交枢纽站", "地铁站", "长途汽车站", "火车站"}, 500, 20000, 0.9},
        {VenueType::other, 0.2, {"洗浴中心", "理发店", "洗衣店", "快递站"}, 10, 100, 0.9},
    }};
    std::vector<Venue> batch;
    auto flush = [&] {
      if (batch.empty()) return;
      repo_.upsert_venues(batch);
      report_.venues += static_cast<std::int64_t>(batch.size());
      batch.clear();
    };
    for (const auto& sp : streets_) {
      const std::string sn = short_place_name(sp.street->name);
      int seq = 0;
      auto add = [&](VenueType type, std::string name, const std::string& area, int cap, bool enclosed) {
        Venue v;
        v.code = fmt::format("V{}{:05d}", sp.street->code, ++seq);
        v.name = std::move(name);
        v.type = type;
        v.area_code = area;
        v.address = city_name() + name_of(county_of(area)) + sp.street->name +
                    fmt::format("{}路{}号", random_brand(rng), rng.between(1, 300));
        v.capacity = cap;
        v.enclosed = enclosed;
        batch.push_back(std::move(v));
      };
      for (const auto& r : kRates) {
        const double expected = r.per_1000 * sp.expected_persons / 1000.0;
        const auto n = static_cast<int>(std::floor(expected + rng.unit()));  // random rounding
        for (int i = 0; i < n; ++i) {
          const std::string& grid = grids_[sp.grids[rng.below(sp.grids.size())]].code;
          std::string name = r.type == VenueType::government || r.type == VenueType::transport_hub
                                 ? sn + std::string(r.nouns[rng.below(r.nouns.size())])
                                 : random_brand(rng) + std::string(r.nouns[rng.below(r.nouns.size())]) + "（" + sn + "店）";
          add(r.type, std::move(name), grid, static_cast<int>(rng.between(r.cap_lo, r.cap_hi)), rng.chance(r.enclosed));
        }
      }
      for (auto gi : sp.grids)
        add(VenueType::residential_gate, short_place_name(communities_[grids_[gi].community]->name) + grids_[gi].name + "小区门口",
            grids_[gi].code, 0, false);
      if (batch.size() >= 5000) flush();
    }
    for (const auto& s : school_venues_) {
      Venue v;
      v.code = "V" + s.code;
      v.name = s.name;
      v.type = VenueType::school;
      v.area_code = s.area_code;
      v.address = s.address;
      v.capacity = static_cast<int>(rng.between(600, 3000));
      v.enclosed = true;
      batch.push_back(std::move(v));
      if (batch.size() >= 5000) flush();
    }
    flush();
  }

  // ---------------------------------------------------------------- people
  struct PendingPerson {
    Person p;
    std::int64_t household = -1;  // index into pending households, -1 = none
  };
  // One write transaction's worth of people, with their buildings and households.
  struct PeopleBatch {
    std::vector<Building> buildings;
    std::vector<Household> households;
    std::vector<std::int64_t> household_building;  // index into buildings, -1 = none
    std::vector<PendingPerson> persons;
    std::int64_t made = 0;  // persons generated so far (for progress)
  };

  // Writes batches on its own thread while the generator makes the next ones (a bounded queue
  // of kDepth batches): generating and writing each keep one core busy. Batches are written in
  // the order they are pushed, by one thread, so ids and contents are the same as when written
  // inline. The repository is used only by this thread while it runs.
  class BatchWriter {
   public:
    static constexpr std::size_t kDepth = 2;
    explicit BatchWriter(CityGenerator& g) : g_(g), thread_([this] { loop(); }) {}
    BatchWriter(const BatchWriter&) = delete;
    BatchWriter& operator=(const BatchWriter&) = delete;
    // On an error of the generator: the queued batches are dropped and the thread ends (the bulk
    // load or the caller's transaction rolls back what was written).
    ~BatchWriter() {
      {
        std::lock_guard lock(mu_);
        stop_ = true;
        queue_.clear();
      }
      changed_.notify_all();
      if (thread_.joinable()) thread_.join();
    }
    // Rethrows the writer's error, if any.
    void push(PeopleBatch&& b) {
      std::unique_lock lock(mu_);
      changed_.wait(lock, [&] { return queue_.size() < kDepth || error_; });
      if (error_) std::rethrow_exception(error_);
      queue_.push_back(std::move(b));
      changed_.notify_all();
    }
    // Waits until every batch is written; rethrows the writer's error, if any.
    void finish() {
      {
        std::lock_guard lock(mu_);
        stop_ = true;
      }
      changed_.notify_all();
      thread_.join();
      if (error_) std::rethrow_exception(error_);
    }

   private:
    void loop() {
      for (;;) {
        PeopleBatch b;
        {
          std::unique_lock lock(mu_);
          changed_.wait(lock, [&] { return !queue_.empty() || stop_; });
          if (queue_.empty()) return;
          b = std::move(queue_.front());
          queue_.pop_front();
        }
        changed_.notify_all();
        try {
          g_.write_batch(b);
        } catch (...) {
          std::lock_guard lock(mu_);
          error_ = std::current_exception();
          queue_.clear();
          changed_.notify_all();
          return;
        }
      }
    }

    CityGenerator& g_;
    std::mutex mu_;
    std::condition_variable changed_;
    std::deque<PeopleBatch> queue_;
    bool stop_ = false;
    std::exception_ptr error_;
    std::thread thread_;  // last: started once the members above exist
  };

  void write_people() {
    Rng sizes = Rng::stream(opt_.seed, "household-sizes");
    Rng rng = Rng::stream(opt_.seed, "people");
    ids_ = std::make_unique<IdAllocator>(counties_.size(), opt_.today);
    for (std::size_t i = 0; i < counties_.size(); ++i) county_index_[counties_[i]->code] = i;

    // Ages: heads of household are adults; the others are drawn from the residual distribution
    // that makes the whole population match the census shares.
    const auto f = age_shares();
    std::vector<double> head(f.size(), 0.0), rest(f.size(), 0.0);
    double adult = 0;
    for (std::size_t a = 18; a < f.size(); ++a) adult += f[a];
    for (std::size_t a = 18; a < f.size(); ++a) head[a] = f[a] / adult;
    const double hshare = static_cast<double>(households_) / static_cast<double>(opt_.persons);
    for (std::size_t a = 0; a < f.size(); ++a) rest[a] = std::max(0.0, f[a] - hshare * head[a]) / (1 - hshare);
    head_age_ = Discrete(head);
    rest_age_ = Discrete(rest);

    const std::int64_t dup_target = std::min<std::int64_t>(std::max<std::int64_t>(3, opt_.persons / 5000), opt_.persons / 10);
    const std::int64_t dup_every = dup_target > 0 ? opt_.persons / (dup_target + 1) : 0;

    std::int64_t made = 0;
    std::int64_t next_dup = dup_every;
    std::optional<BatchWriter> writer;
    if (opt_.write_thread) writer.emplace(*this);
    writer_ = writer ? &*writer : nullptr;
    for (const auto& grid : grids_) {
      const Area* community = communities_[grid.community];
      const bool village = community->name.ends_with("村委会") || community->name.ends_with("村");
      const std::string county = county_of(grid.code);
      const std::string prefix = city_name() + name_of(county) + name_of(community->parent_code);
      const std::string compound = village ? short_place_name(community->name) : compound_name(rng);
      int building_no = 0, unit = 0, units = 0, floors = 0, floor = 1, room = 0;
      std::int64_t building_index = -1;
      std::string building_addr;
      for (std::int64_t h = 0; h < grid.households && made < opt_.persons; ++h) {
        // Next dwelling.
        if (village) {
          if (building_index < 0 || room >= 30) {
            ++building_no;
            room = 0;
            building_addr = prefix + compound + fmt::format("{}组", building_no);
            building_index = add_building(grid.code, building_addr);
          }
          ++room;
        } else {
          // Two flats per floor and unit; fill floor by floor, unit by unit, then a new building.
          bool new_building = building_index < 0;
          if (!new_building && ++room > 2) {
            room = 1;
            if (++floor > floors) {
              floor = 1;
              if (++unit > units) new_building = true;
            }
          }
          if (new_building) {
            ++building_no;
            units = static_cast<int>(rng.between(2, 4));
            floors = static_cast<int>(rng.between(6, 18));
            unit = 1;
            floor = 1;
            room = 1;
            building_addr = prefix + compound + fmt::format("{}号楼", building_no);
            building_index = add_building(grid.code, building_addr);
          }
        }
        Household hh;
        hh.household_no = grid.code + fmt::format("{:04d}", h + 1);
        hh.area_code = grid.code;
        hh.address = village ? building_addr + fmt::format("{}号", room)
                             : building_addr + fmt::format("{}单元{}{:02d}", unit, floor, room);
        const auto hh_index = static_cast<std::int64_t>(households_pending_.size());
        household_building_.push_back(building_index);
        households_pending_.push_back(hh);
        ++report_.households;

        std::int64_t size = static_cast<std::int64_t>(size_dist_(sizes)) + 1;
        size = std::min(size, opt_.persons - made);
        const bool foreign = rng.chance(opt_.foreign_household_share);
        const std::string nationality = foreign ? std::string(random_foreign_nationality(rng)) : "CHN";
        std::string surname = random_surname(rng);
        for (std::int64_t m = 0; m < size && made < opt_.persons; ++m) {
          PendingPerson pp;
          Person& p = pp.p;
          pp.household = hh_index;
          const int age = static_cast<int>(m == 0 ? head_age_(rng) : rest_age_(rng));
          p.sex = rng.chance(kSexRatio / (100.0 + kSexRatio)) ? Sex::male : Sex::female;
          p.birth_date = birth_for_age(opt_.today, age, rng);
          p.area_code = grid.code;
          p.address = hh.address;
          if (foreign) {
            p.doc_type = DocType::passport;
            p.nationality = nationality;
            p.doc_number = fmt::format("{}{:08d}", nationality.substr(0, 1), (++passport_serial_ * 7368787) % 100000000);
            p.name = random_latin_name(rng, p.sex == Sex::male);
            ++report_.foreigners;
          } else {
            p.doc_number = allocate_id(county, p.birth_date, p.sex);
            const std::string& sn = (m == 1 && age >= 18) ? random_surname(rng) : surname;
            p.name = sn + random_given_name(rng, p.sex == Sex::male);
          }
          if (age >= 12) p.phone = random_mobile(rng);
          if (age >= 18 && age <= 59 && rng.chance(0.75)) p.workplace_org_id = enterprises_[rng.below(enterprises_.size())];
          else if (age >= 6 && age <= 17) p.workplace_org_id = school_for(grid, rng);
          persons_pending_.push_back(pp);
          ++made;
          // A deliberate probable duplicate: the same person registered again under a second
          // ID number, without a household.
          if (!foreign && dup_every > 0 && made >= next_dup && age >= 18 && made < opt_.persons &&
              report_.duplicates < dup_target) {
            PendingPerson dup = pp;
            dup.household = -1;
            dup.p.doc_number = allocate_id(county, p.birth_date, p.sex);
            persons_pending_.push_back(dup);
            ++made;
            ++report_.duplicates;
            next_dup += dup_every;
          }
        }
        if (persons_pending_.size() >= opt_.batch_persons) {
          flush_people(made);
          // The current building was carried over as the first pending one.
          if (building_index >= 0) building_index = 0;
        }
      }
    }
    flush_people(made);
    if (writer) writer->finish();
    writer_ = nullptr;
    report_.persons = made;
    if (made != opt_.persons)
      fail(ErrorCode::internal, fmt::format("generator produced {} persons instead of {}", made, opt_.persons));
  }

  std::string allocate_id(const std::string& county, Date birth, Sex sex) {
    const std::size_t ci = county_index_.at(county);
    const std::string& region = county_region_.at(county);
    for (int shift = 0; shift < 366; ++shift) {
      const Date d{sys_days{birth} - days{shift}};
      std::string id = ids_->allocate(ci, region, d, sex);
      if (!id.empty()) return id;
    }
    fail(ErrorCode::internal, "resident ID sequence numbers exhausted for county " + county);
  }

  std::int64_t school_for(const GridPlan& grid, Rng& rng) {
    const auto& schools = streets_[grid.street].schools;
    return schools.empty() ? 0 : schools[rng.below(schools.size())];
  }

  std::int64_t add_building(const std::string& grid, const std::string& address) {
    Building b;
    b.area_code = grid;
    b.address = address;
    buildings_pending_.push_back(std::move(b));
    ++report_.buildings;
    return static_cast<std::int64_t>(buildings_pending_.size()) - 1;
  }

  // Hands the pending people to the writer thread.
  void flush_people(std::int64_t made) {
    if (persons_pending_.empty() && households_pending_.empty()) return;
    PeopleBatch b;
    b.buildings = std::move(buildings_pending_);
    b.households = std::move(households_pending_);
    b.household_building = std::move(household_building_);
    b.persons = std::move(persons_pending_);
    b.made = made;
    // A building whose households continue in the next batch keeps its index: re-add it first
    // (written again, the upsert finds it by address).
    buildings_pending_.clear();
    if (!b.buildings.empty()) buildings_pending_.push_back(b.buildings.back());
    households_pending_.clear();
    household_building_.clear();
    persons_pending_.clear();
    persons_pending_.reserve(opt_.batch_persons + 64);
    households_pending_.reserve(opt_.batch_persons / 2 + 64);
    if (writer_)
      writer_->push(std::move(b));
    else
      write_batch(b);
  }

  // One batch, in one transaction (on the writer thread).
  void write_batch(PeopleBatch& b) {
    repo_.transaction([&] {
      std::vector<std::int64_t> building_ids;
      building_ids.reserve(b.buildings.size());
      for (const auto& bd : b.buildings) building_ids.push_back(repo_.upsert_building(bd));
      for (std::size_t i = 0; i < b.households.size(); ++i) {
        const auto bi = b.household_building[i];
        b.households[i].building_id = bi >= 0 ? building_ids[static_cast<std::size_t>(bi)] : 0;
      }
      repo_.upsert_households(b.households);
      std::vector<Person> persons;
      persons.reserve(b.persons.size());
      for (auto& pp : b.persons) {
        if (pp.household >= 0) pp.p.household_id = b.households[static_cast<std::size_t>(pp.household)].id;
        persons.push_back(std::move(pp.p));
      }
      repo_.upsert_persons(persons);
    });
    if (opt_.progress) opt_.progress(b.made, opt_.persons);
  }

  store::Repository& repo_;
  const CityOptions& opt_;
  CityReport report_;
  std::vector<Area> areas_;
  std::unordered_map<std::string, const Area*> by_code_;
  std::vector<const Area*> communities_;
  std::vector<const Area*> counties_;
  std::unordered_map<std::string, std::string> county_region_;
  std::unordered_map<std::string, std::size_t> county_index_;
  std::map<std::string, double> county_persons_;  // expected residents by county (labs' capacity)
  const Area* root_ = nullptr;
  std::int64_t households_ = 0;
  Discrete size_dist_, head_age_, rest_age_;
  std::vector<GridPlan> grids_;
  std::vector<StreetPlan> streets_;
  std::vector<std::int64_t> enterprises_;
  std::vector<Org> school_venues_;
  std::uint64_t org_serial_ = 0;
  std::uint64_t passport_serial_ = 0;
  std::unique_ptr<IdAllocator> ids_;
  std::vector<Building> buildings_pending_;
  std::vector<Household> households_pending_;
  std::vector<std::int64_t> household_building_;
  std::vector<PendingPerson> persons_pending_;
  BatchWriter* writer_ = nullptr;  // while write_people runs
};

}  // namespace

CityReport generate_city(store::Repository& repo, const CityOptions& opt) {
  CityGenerator g(repo, opt);
  return g.run();
}

}  // namespace bihuan::gen
