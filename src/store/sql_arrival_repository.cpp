// ArrivalRepository over the Db driver layer, sharing the connection of a Repository.
#include "store/arrival_repository.hpp"
#include "store/db.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

std::int64_t ms(Instant t) { return to_unix_ms(t); }
std::string date_text(Date d) { return d.ok() ? format_date(d) : std::string(); }

constexpr const char* kAreaCols = "id, area_code, name, level, since, until, source, created_at, created_by, updated_at";

ExternalAreaRow read_area(const Q& q) {
  ExternalAreaRow r;
  Cols c(q);
  r.area.id = c.i64();
  r.area.area_code = c.str();
  r.area.name = c.str();
  r.area.level = c.str();
  r.area.since = parse_date(c.str()).value_or(Date{});
  const int u = c.next();
  const std::string until = c.str();
  if (!q.null_at(u) && !until.empty()) r.area.until = parse_date(until);
  r.source = c.str();
  r.created_at = c.at();
  r.created_by = c.i64();
  r.updated_at = c.at();
  return r;
}

constexpr const char* kReportCols =
    "r.id, r.person_id, r.area_code, r.origin, r.left_on, r.arrival_date, r.group_key, r.external_area_id, r.why, "
    "r.order_id, r.referral_id, r.note, r.created_at, r.created_by, r.channel, COALESCE(p.name, ''), "
    "COALESCE(e.name, '')";
constexpr const char* kReportFrom =
    " FROM arrival_reports r LEFT JOIN persons p ON p.id = r.person_id "
    "LEFT JOIN external_risk_areas e ON e.id = r.external_area_id";

ArrivalReportRow read_report(const Q& q) {
  ArrivalReportRow r;
  Cols c(q);
  r.id = c.i64();
  r.person_id = c.i64();
  r.area_code = c.str();
  r.origin = c.str();
  r.left_on = parse_date(c.str()).value_or(Date{});
  r.arrival_date = parse_date(c.str()).value_or(Date{});
  r.group = c.str();
  r.external_area_id = c.i64();
  r.why = c.str();
  r.order_id = c.i64();
  r.referral_id = c.i64();
  r.note = c.str();
  r.created_at = c.at();
  r.created_by = c.i64();
  r.channel = c.str();
  r.person_name = c.str();
  r.external_area_name = c.str();
  return r;
}

class SqlArrivalRepository final : public ArrivalRepository {
 public:
  explicit SqlArrivalRepository(Repository& repo) : db_(database_of(repo)) {}

  std::pair<int, int> upsert_external(const std::vector<ExternalAreaRow>& rows) override {
    int inserted = 0, updated = 0;
    for (const auto& r : rows) {
      std::int64_t id = 0;
      {
        Q q(db_, "SELECT id FROM external_risk_areas WHERE area_code = ? AND level = ? AND since = ?");
        q.text(r.area.area_code).text(r.area.level).text(date_text(r.area.since));
        if (q.next()) id = q.int64(0);
      }
      if (id != 0) {
        Q q(db_, "UPDATE external_risk_areas SET name = ?, until = ?, source = ?, updated_at = ? WHERE id = ?");
        q.text(r.area.name);
        if (r.area.until)
          q.text(date_text(*r.area.until));
        else
          q.null();
        q.text(r.source).i64(ms(r.updated_at)).i64(id);
        q.run();
        ++updated;
        continue;
      }
      Q q(db_, db_.dialect().insert_returning(
                   "INSERT INTO external_risk_areas (area_code, name, level, since, until, source, created_at, "
                   "created_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   "id"));
      q.text(r.area.area_code).text(r.area.name).text(r.area.level).text(date_text(r.area.since));
      if (r.area.until)
        q.text(date_text(*r.area.until));
      else
        q.null();
      q.text(r.source).i64(ms(r.created_at)).i64(r.created_by).i64(ms(r.updated_at));
      q.inserted_id();
      ++inserted;
    }
    return {inserted, updated};
  }

  std::vector<ExternalAreaRow> external_between(Date from, Date to) override {
    // Dates as YYYY-MM-DD text compare in date order.
    Q q(db_, std::string("SELECT ") + kAreaCols +
                 " FROM external_risk_areas WHERE since <= ? AND (until IS NULL OR until >= ?) ORDER BY area_code, id");
    q.text(date_text(to)).text(date_text(from));
    std::vector<ExternalAreaRow> out;
    while (q.next()) out.push_back(read_area(q));
    return out;
  }

  std::vector<ExternalAreaRow> external_all(int limit) override {
    Q q(db_, std::string("SELECT ") + kAreaCols + " FROM external_risk_areas ORDER BY since DESC, id DESC LIMIT ?");
    q.i64(limit);
    std::vector<ExternalAreaRow> out;
    while (q.next()) out.push_back(read_area(q));
    return out;
  }

  std::int64_t insert_report(const ArrivalReportRow& r) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO arrival_reports (person_id, area_code, origin, left_on, arrival_date, group_key, "
                 "external_area_id, why, order_id, referral_id, note, created_at, created_by, channel) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.i64(r.person_id).text(r.area_code).text(r.origin).text(date_text(r.left_on)).text(date_text(r.arrival_date));
    q.text(r.group).i64(r.external_area_id).text(r.why).i64(r.order_id).i64(r.referral_id).text(r.note);
    q.i64(ms(r.created_at)).i64(r.created_by).text(r.channel);
    return q.inserted_id();
  }

  std::vector<ArrivalReportRow> reports_of_person(std::int64_t person_id, int limit) override {
    Q q(db_, std::string("SELECT ") + kReportCols + kReportFrom + " WHERE r.person_id = ? ORDER BY r.id DESC LIMIT ?");
    q.i64(person_id).i64(limit);
    std::vector<ArrivalReportRow> out;
    while (q.next()) out.push_back(read_report(q));
    return out;
  }

  int count_reports_since(std::int64_t person_id, const std::string& channel, Instant since) override {
    Q q(db_, "SELECT COUNT(*) FROM arrival_reports WHERE person_id = ? AND channel = ? AND created_at >= ?");
    q.i64(person_id).text(channel).i64(ms(since));
    return q.next() ? static_cast<int>(q.int64(0)) : 0;
  }

  std::optional<ArrivalReportRow> report(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kReportCols + kReportFrom + " WHERE r.id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_report(q);
  }

  PageOf<ArrivalReportRow> reports(const Scope& scope, Page page) override {
    Conds w;
    if (scope.kind == Scope::Kind::org) {
      w.add("1 = 0");
    } else if (scope.kind == Scope::Kind::area) {
      if (scope.area_prefix.empty())
        w.add("1 = 0");
      else
        w.area("r.area_code", scope.area_prefix);
    }
    return page_desc<ArrivalReportRow>(db_, std::string("SELECT ") + kReportCols + kReportFrom, "r.id", w, page,
                                       read_report);
  }

 private:
  Db& db_;
};

}  // namespace

std::unique_ptr<ArrivalRepository> open_arrival_repository(Repository& repo) {
  return std::make_unique<SqlArrivalRepository>(repo);
}

}  // namespace bihuan::store
