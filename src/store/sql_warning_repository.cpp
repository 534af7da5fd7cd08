// WarningRepository over the Db driver layer, sharing the connection of a Repository.
#include <algorithm>
#include <map>

#include "core/area.hpp"
#include "core/error.hpp"
#include "store/db.hpp"
#include "store/sql_access.hpp"
#include "store/warning_repository.hpp"

namespace bihuan::store {

namespace {

std::int64_t ms(Instant t) { return to_unix_ms(t); }

constexpr const char* kRuleCols = "feed, area_code, method, weeks, k, min_count, updated_by, updated_at";
WarningRuleRow read_rule(const Q& q) {
  WarningRuleRow r;
  Cols c(q);
  r.feed = c.str();
  r.area_code = c.str();
  r.method = c.str();
  r.weeks = static_cast<int>(c.i64());
  r.k = c.real();
  r.min_count = c.i64();
  r.updated_by = c.i64();
  r.updated_at = c.at();
  return r;
}

constexpr const char* kSignalCols =
    "id, feed, area_code, since, last_day, observed, peak, expected, threshold, status, event_id, opened_at, "
    "updated_at, closed_at";
SignalRow read_signal(const Q& q) {
  SignalRow s;
  Cols c(q);
  s.id = c.i64();
  s.feed = c.str();
  s.area_code = c.str();
  s.since = c.str();
  s.last_day = c.str();
  s.observed = c.i64();
  s.peak = c.i64();
  s.expected = c.real();
  s.threshold = c.real();
  s.status = c.str();
  s.event_id = c.i64();
  s.opened_at = c.at();
  s.updated_at = c.at();
  s.closed_at = c.maybe_at();
  return s;
}

class SqlWarningRepository final : public WarningRepository {
 public:
  explicit SqlWarningRepository(Repository& repo) : db_(database_of(repo)) {}

  // ------------------------------------------------------------ feeds
  void upsert_feed_counts(const std::vector<FeedCountRow>& rows, std::int64_t job_id, std::int64_t by,
                          Instant at) override {
    for (const auto& r : rows) {
      Q q(db_,
          "INSERT INTO feed_counts (feed, site, site_name, area_code, day, reason, n, job_id, reported_by, reported_at) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (feed, site, day, reason) DO UPDATE SET "
          "site_name = excluded.site_name, area_code = excluded.area_code, n = excluded.n, job_id = excluded.job_id, "
          "reported_by = excluded.reported_by, reported_at = excluded.reported_at");
      q.text(r.feed).text(r.site).text(r.site_name).text(r.area_code).text(r.day).text(r.reason).i64(r.n).i64(job_id);
      q.i64(by).i64(ms(at));
      q.run();
    }
  }

  std::vector<FeedDay> feed_days(const std::string& feed, const std::string& prefix, int len, const std::string& from,
                                 const std::string& to, const std::string& reason) override {
    Conds w;
    w.t(feed);
    w.add("feed = ?");
    w.area("area_code", prefix);
    w.t(from);
    w.add("day >= ?");
    w.t(to);
    w.add("day <= ?");
    if (!reason.empty()) {
      w.t(reason);
      w.add("reason = ?");
    }
    Q q(db_, "SELECT substr(area_code, 1, " + std::to_string(len) + "), day, SUM(n) FROM feed_counts" + w.sql +
                 " GROUP BY 1, 2 ORDER BY 1, 2");
    w.bind(q);
    std::vector<FeedDay> out;
    while (q.next()) out.push_back({q.str(0), q.str(1), q.int64(2)});
    return out;
  }

  std::vector<FeedCountRow> feed_sites(const std::string& feed, const std::string& prefix, int limit) override {
    Conds w;
    w.t(feed);
    w.add("feed = ?");
    w.area("area_code", prefix);
    Q q(db_, "SELECT site, MAX(site_name), MAX(area_code), MAX(day), COUNT(DISTINCT day) FROM feed_counts" + w.sql +
                 " GROUP BY site ORDER BY site LIMIT ?");
    w.bind(q);
    q.i64(limit);
    std::vector<FeedCountRow> out;
    while (q.next()) {
      FeedCountRow r;
      Cols c(q);
      r.feed = feed;
      r.site = c.str();
      r.site_name = c.str();
      r.area_code = c.str();
      r.day = c.str();
      r.n = c.i64();
      out.push_back(std::move(r));
    }
    return out;
  }

  // ------------------------------------------------------------ rules
  std::optional<WarningRuleRow> rule(const std::string& feed, const std::string& area_code) override {
    Q q(db_, std::string("SELECT ") + kRuleCols + " FROM warning_rules WHERE feed = ? AND area_code = ?");
    q.text(feed).text(area_code);
    if (!q.next()) return std::nullopt;
    return read_rule(q);
  }
  std::vector<WarningRuleRow> rules(const std::string& prefix) override {
    Conds w;
    w.area("area_code", prefix);
    Q q(db_, std::string("SELECT ") + kRuleCols + " FROM warning_rules" + w.sql + " ORDER BY area_code, feed");
    w.bind(q);
    std::vector<WarningRuleRow> out;
    while (q.next()) out.push_back(read_rule(q));
    return out;
  }
  void put_rule(const WarningRuleRow& r) override {
    Q q(db_,
        "INSERT INTO warning_rules (feed, area_code, method, weeks, k, min_count, updated_by, updated_at) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (feed, area_code) DO UPDATE SET method = excluded.method, "
        "weeks = excluded.weeks, k = excluded.k, min_count = excluded.min_count, updated_by = excluded.updated_by, "
        "updated_at = excluded.updated_at");
    q.text(r.feed).text(r.area_code).text(r.method).i64(r.weeks).f64(r.k).i64(r.min_count).i64(r.updated_by);
    q.i64(ms(r.updated_at));
    q.run();
  }

  // ------------------------------------------------------------ signals
  std::optional<SignalRow> signal(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kSignalCols + " FROM warning_signals WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_signal(q);
  }
  std::optional<SignalRow> open_signal(const std::string& feed, const std::string& area_code) override {
    Q q(db_, std::string("SELECT ") + kSignalCols +
                 " FROM warning_signals WHERE feed = ? AND area_code = ? AND status = 'open'");
    q.text(feed).text(area_code);
    if (!q.next()) return std::nullopt;
    return read_signal(q);
  }
  std::int64_t insert_signal(const SignalRow& s) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO warning_signals (feed, area_code, since, last_day, observed, peak, expected, threshold, "
                 "status, event_id, opened_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.text(s.feed).text(s.area_code).text(s.since).text(s.last_day).i64(s.observed).i64(s.peak).f64(s.expected);
    q.f64(s.threshold).text(s.status).i64(s.event_id).i64(ms(s.opened_at)).i64(ms(s.updated_at));
    return q.inserted_id();
  }
  void update_signal(const SignalRow& s) override {
    Q q(db_,
        "UPDATE warning_signals SET since = ?, last_day = ?, observed = ?, peak = ?, expected = ?, threshold = ?, "
        "status = ?, event_id = ?, updated_at = ?, closed_at = ? WHERE id = ?");
    q.text(s.since).text(s.last_day).i64(s.observed).i64(s.peak).f64(s.expected).f64(s.threshold).text(s.status);
    q.i64(s.event_id).i64(ms(s.updated_at));
    bind_opt_at(q, s.closed_at);
    q.i64(s.id);
    q.run();
  }
  PageOf<SignalRow> signals(const std::string& prefix, const std::string& status, Page page) override {
    Conds w;
    w.area("area_code", prefix);
    if (!status.empty()) {
      w.t(status);
      w.add("status = ?");
    }
    return page_desc<SignalRow>(db_, std::string("SELECT ") + kSignalCols + " FROM warning_signals", "id", w, page,
                                read_signal);
  }

  // ------------------------------------------------------------ vaccination
  void upsert_doses(const std::vector<DoseRow>& rows, std::int64_t job_id, Instant at) override {
    for (const auto& r : rows) {
      Q q(db_,
          "INSERT INTO vaccination_doses (person_id, dose, day, product, site, job_id, imported_at) VALUES "
          "(?, ?, ?, ?, ?, ?, ?) ON CONFLICT (person_id, dose) DO UPDATE SET day = excluded.day, "
          "product = excluded.product, site = excluded.site, job_id = excluded.job_id, imported_at = excluded.imported_at");
      q.i64(r.person_id).i64(r.dose).text(r.day).text(r.product).text(r.site).i64(job_id).i64(ms(at));
      q.run();
    }
  }
  std::vector<DoseRow> doses_of(std::int64_t person_id) override {
    Q q(db_, "SELECT person_id, dose, day, product, site FROM vaccination_doses WHERE person_id = ? ORDER BY dose");
    q.i64(person_id);
    std::vector<DoseRow> out;
    while (q.next()) {
      DoseRow r;
      Cols c(q);
      r.person_id = c.i64();
      r.dose = static_cast<int>(c.i64());
      r.day = c.str();
      r.product = c.str();
      r.site = c.str();
      out.push_back(std::move(r));
    }
    return out;
  }
  void put_status(const VaccinationStatusRow& s, Instant at) override {
    Q q(db_,
        "INSERT INTO vaccination_status (person_id, doses, first_day, full_day, booster_day, last_day, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET doses = excluded.doses, "
        "first_day = excluded.first_day, full_day = excluded.full_day, booster_day = excluded.booster_day, "
        "last_day = excluded.last_day, updated_at = excluded.updated_at");
    q.i64(s.person_id).i64(s.doses).text(s.first_day).text(s.full_day).text(s.booster_day).text(s.last_day).i64(ms(at));
    q.run();
  }
  std::optional<VaccinationStatusRow> status_of(std::int64_t person_id) override {
    Q q(db_, "SELECT person_id, doses, first_day, full_day, booster_day, last_day FROM vaccination_status WHERE person_id = ?");
    q.i64(person_id);
    if (!q.next()) return std::nullopt;
    VaccinationStatusRow s;
    Cols c(q);
    s.person_id = c.i64();
    s.doses = static_cast<int>(c.i64());
    s.first_day = c.str();
    s.full_day = c.str();
    s.booster_day = c.str();
    s.last_day = c.str();
    return s;
  }
  std::vector<CoverageRow> coverage(const std::string& prefix, int len, const std::vector<std::string>& cuts,
                                    const std::string& today) override {
    if (cuts.size() != 5) fail(ErrorCode::internal, "coverage needs 5 birth-date bounds");
    // cuts: born_by 3, 18, 60, 70, 80.
    Conds w;
    w.add("p.merged_into IS NULL");
    w.add("p.birth_date <> ''");
    w.t(cuts[0]);
    w.add("p.birth_date <= ?");
    w.area("p.area_code", prefix);
    const std::string sql =
        "SELECT substr(p.area_code, 1, " + std::to_string(len) +
        "), CASE WHEN p.birth_date > ? THEN '3-17' WHEN p.birth_date > ? THEN '18-59' WHEN p.birth_date > ? THEN "
        "'60-69' WHEN p.birth_date > ? THEN '70-79' ELSE '80+' END, COUNT(*), "
        "SUM(CASE WHEN s.doses > 0 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN s.full_day <> '' AND s.full_day <= ? THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN s.booster_day <> '' AND s.booster_day <= ? THEN 1 ELSE 0 END) "
        "FROM persons p LEFT JOIN vaccination_status s ON s.person_id = p.id" +
        w.sql + " GROUP BY 1, 2 ORDER BY 1, 2";
    Q q(db_, sql);
    q.text(cuts[1]).text(cuts[2]).text(cuts[3]).text(cuts[4]).text(today).text(today);
    w.bind(q);
    std::vector<CoverageRow> out;
    while (q.next()) {
      CoverageRow r;
      Cols c(q);
      r.area = c.str();
      r.band = c.str();
      r.persons = c.i64();
      r.vaccinated = c.i64();
      r.full = c.i64();
      r.booster = c.i64();
      out.push_back(std::move(r));
    }
    return out;
  }
  PageOf<ElderlyRow> not_fully_vaccinated(const std::string& prefix, const std::string& born_by,
                                          const std::string& born_after, Page page) override {
    check_page(page);
    Conds w;
    w.add("p.merged_into IS NULL");
    w.add("p.birth_date <> ''");
    w.t(born_by);
    w.add("p.birth_date <= ?");
    if (!born_after.empty()) {
      w.t(born_after);
      w.add("p.birth_date > ?");
    }
    w.add("s.person_id IS NULL OR s.full_day = ''");
    w.area("p.area_code", prefix);
    if (page.after > 0) {
      w.i(page.after);
      w.add("p.id > ?");
    }
    Q q(db_, "SELECT p.id, COALESCE(s.doses, 0), COALESCE(s.last_day, '') FROM persons p LEFT JOIN vaccination_status s "
             "ON s.person_id = p.id" + w.sql + " ORDER BY p.id LIMIT ?");
    w.bind(q);
    q.i64(page.limit + 1);
    PageOf<ElderlyRow> out;
    while (q.next()) out.items.push_back({q.int64(0), static_cast<int>(q.int64(1)), q.str(2)});
    if (static_cast<int>(out.items.size()) > page.limit) {
      out.items.resize(static_cast<std::size_t>(page.limit));
      out.next = out.items.back().person_id;
    }
    return out;
  }

  // ------------------------------------------------------------ capacity
  std::vector<SiteCapacity> quarantine_sites(const std::string& prefix) override {
    Conds w;
    w.add("g.kind = 'quarantine_site'");
    w.area("g.area_code", prefix);
    Q q(db_,
        "SELECT g.id, g.code, g.name, g.area_code, "
        "COALESCE(SUM(CASE WHEN r.in_service = 1 THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN r.in_service = 1 THEN r.capacity ELSE 0 END), 0), "
        "(SELECT COUNT(*) FROM room_occupants x JOIN quarantine_rooms y ON y.id = x.room_id WHERE y.org_id = g.id "
        "AND x.until IS NULL) FROM orgs g LEFT JOIN quarantine_rooms r ON r.org_id = g.id" +
            w.sql + " GROUP BY g.id, g.code, g.name, g.area_code ORDER BY g.id");
    w.bind(q);
    std::vector<SiteCapacity> out;
    while (q.next()) {
      SiteCapacity s;
      Cols c(q);
      s.org_id = c.i64();
      s.code = c.str();
      s.name = c.str();
      s.area_code = c.str();
      s.rooms = c.i64();
      s.beds = c.i64();
      s.occupied = c.i64();
      out.push_back(std::move(s));
    }
    return out;
  }
  std::vector<SiteCapacity> hospitals(const std::string& prefix) override {
    Conds w;
    w.add("g.kind = 'hospital'");
    w.area("g.area_code", prefix);
    Q q(db_,
        "SELECT g.id, g.code, g.name, g.area_code, (SELECT COUNT(*) FROM control_orders o WHERE o.status = 'active' "
        "AND o.stage = 'hospital' AND o.owner_kind = 'org' AND o.owner_org = g.id) FROM orgs g" +
            w.sql + " ORDER BY g.id");
    w.bind(q);
    std::vector<SiteCapacity> out;
    while (q.next()) {
      SiteCapacity s;
      Cols c(q);
      s.org_id = c.i64();
      s.code = c.str();
      s.name = c.str();
      s.area_code = c.str();
      s.occupied = c.i64();
      out.push_back(std::move(s));
    }
    return out;
  }
  StayFacts room_stays(const std::string& prefix, Instant since, std::int64_t offset_ms) override {
    StayFacts f;
    Conds w;
    w.area("g.area_code", prefix);
    const std::string from =
        " FROM room_occupants x JOIN quarantine_rooms r ON r.id = x.room_id JOIN orgs g ON g.id = r.org_id";
    {
      Conds a = w;
      a.i(ms(since));
      a.add("x.since >= ?");
      Q q(db_, "SELECT (x.since + " + std::to_string(offset_ms) + ") / 86400000, COUNT(*)" + from + a.sql +
                   " GROUP BY 1 ORDER BY 1");
      a.bind(q);
      while (q.next()) f.admissions.emplace_back(q.int64(0), q.int64(1));
    }
    {
      Conds a = w;
      a.i(ms(since));
      a.add("x.until IS NOT NULL AND x.until >= ?");
      Q q(db_, "SELECT x.until - x.since" + from + a.sql);
      a.bind(q);
      while (q.next()) f.stays_days.push_back(static_cast<double>(q.int64(0)) / 86400000.0);
    }
    {
      Conds a = w;
      a.add("x.until IS NULL");
      Q q(db_, "SELECT COUNT(*)" + from + a.sql);
      a.bind(q);
      if (q.next()) f.occupied = q.int64(0);
    }
    return f;
  }
  StayFacts hospital_stays(const std::string& prefix, Instant since, std::int64_t offset_ms) override {
    StayFacts f;
    Conds w;
    w.add("s.stage = 'hospital'");
    w.add("s.owner_kind = 'org'");
    w.add("g.kind = 'hospital'");
    w.area("g.area_code", prefix);
    const std::string from = " FROM order_stages s JOIN orgs g ON g.id = s.owner_org";
    {
      Conds a = w;
      a.i(ms(since));
      a.add("s.since >= ?");
      Q q(db_, "SELECT (s.since + " + std::to_string(offset_ms) + ") / 86400000, COUNT(*)" + from + a.sql +
                   " GROUP BY 1 ORDER BY 1");
      a.bind(q);
      while (q.next()) f.admissions.emplace_back(q.int64(0), q.int64(1));
    }
    {
      // A stay ends when the order enters its next stage (or is released: the order's release
      // is its last stage change).
      Conds a = w;
      a.i(ms(since) - 90LL * 86400000);
      a.add("s.since >= ?");
      Q q(db_, "SELECT s.since, (SELECT MIN(n.since) FROM order_stages n WHERE n.order_id = s.order_id AND n.since > s.since)" +
                   from + a.sql);
      a.bind(q);
      const std::int64_t lo = ms(since);
      while (q.next()) {
        if (q.null_at(1)) continue;
        const std::int64_t end = q.int64(1);
        if (end < lo) continue;
        f.stays_days.push_back(static_cast<double>(end - q.int64(0)) / 86400000.0);
      }
    }
    {
      Conds a;
      a.add("o.status = 'active' AND o.stage = 'hospital' AND o.owner_kind = 'org' AND g.kind = 'hospital'");
      a.area("g.area_code", prefix);
      Q q(db_, "SELECT COUNT(*) FROM control_orders o JOIN orgs g ON g.id = o.owner_org" + a.sql);
      a.bind(q);
      if (q.next()) f.occupied = q.int64(0);
    }
    return f;
  }

 private:
  Db& db_;
};

}  // namespace

std::unique_ptr<WarningRepository> open_warning_repository(Repository& repo) {
  return std::make_unique<SqlWarningRepository>(repo);
}

}  // namespace bihuan::store
