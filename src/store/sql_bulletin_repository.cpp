// BulletinRepository over the Db driver layer, sharing the connection of a Repository.
#include <algorithm>

#include "core/area.hpp"
#include "core/error.hpp"
#include "store/bulletin_repository.hpp"
#include "store/db.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

std::int64_t ms(Instant t) { return to_unix_ms(t); }

constexpr const char* kBulletinCols =
    "id, area_code, day, revision, status, figures, notices, note, correction_reason, generated_at, generated_by, "
    "published_at, published_by, rev";
BulletinRow read_bulletin(const Q& q) {
  BulletinRow r;
  Cols c(q);
  r.id = c.i64();
  r.area_code = c.str();
  r.day = c.str();
  r.revision = c.i64();
  r.status = c.str();
  r.figures = c.str();
  r.notices = c.str();
  r.note = c.str();
  r.correction_reason = c.str();
  r.generated_at = c.at();
  r.generated_by = c.i64();
  r.published_at = c.maybe_at();
  r.published_by = c.i64();
  r.rev = c.i64();
  return r;
}

constexpr const char* kErratumCols =
    "id, bulletin_id, area_code, day, revision, field, old_value, new_value, reason, at, by_user";
ErratumRow read_erratum(const Q& q) {
  ErratumRow r;
  Cols c(q);
  r.id = c.i64();
  r.bulletin_id = c.i64();
  r.area_code = c.str();
  r.day = c.str();
  r.revision = c.i64();
  r.field = c.str();
  r.old_value = c.i64();
  r.new_value = c.i64();
  r.reason = c.str();
  r.at = c.at();
  r.by_user = c.i64();
  return r;
}

constexpr const char* kArticleCols =
    "id, area_code, category, title, summary, body, status, created_at, created_by, updated_at, published_at, "
    "published_by, rev";
ArticleRow read_article(const Q& q) {
  ArticleRow r;
  Cols c(q);
  r.id = c.i64();
  r.area_code = c.str();
  r.category = c.str();
  r.title = c.str();
  r.summary = c.str();
  r.body = c.str();
  r.status = c.str();
  r.created_at = c.at();
  r.created_by = c.i64();
  r.updated_at = c.at();
  r.published_at = c.maybe_at();
  r.published_by = c.i64();
  r.rev = c.i64();
  return r;
}

class SqlBulletinRepository final : public BulletinRepository {
 public:
  explicit SqlBulletinRepository(Repository& repo) : db_(database_of(repo)) {}

  std::vector<BulletinCase> bulletin_cases(const std::string& area_prefix, Instant until) override {
    Conds w;
    w.area("c.area_code", area_prefix);
    w.i(ms(until));
    w.add("COALESCE(c.reported_at, c.opened_at) < ?");
    Q q(db_,
        "SELECT c.id, c.classification, c.origin, c.origin_place, c.area_code, c.severity, c.outcome, c.found_by, "
        "COALESCE(c.reported_at, c.opened_at), c.converted_at, c.closed_at, c.death_date "
        "FROM cases c" +
            w.sql + " ORDER BY c.id");
    w.bind(q);
    std::vector<BulletinCase> out;
    while (q.next()) {
      BulletinCase b;
      Cols c(q);
      b.id = c.i64();
      b.classification = c.str();
      b.origin = c.str();
      b.origin_place = c.str();
      b.area_code = c.str();
      b.severity = c.str();
      b.outcome = c.str();
      b.found_by = c.str();
      b.reported = c.at();
      b.converted_at = c.maybe_at();
      b.closed_at = c.maybe_at();
      b.death_date = c.str();
      out.push_back(std::move(b));
    }
    return out;
  }

  std::map<std::int64_t, std::pair<std::string, std::string>> case_persons(
      const std::vector<std::int64_t>& case_ids) override {
    std::map<std::int64_t, std::pair<std::string, std::string>> out;
    for (std::size_t i = 0; i < case_ids.size(); i += 500) {
      std::string list;
      for (std::size_t j = i; j < std::min(case_ids.size(), i + 500); ++j) {
        if (j > i) list += ',';
        list += std::to_string(case_ids[j]);
      }
      Q q(db_, "SELECT c.id, p.sex, p.birth_date FROM cases c JOIN persons p ON p.id = c.person_id WHERE c.id IN (" +
                   list + ")");
      while (q.next()) out[q.int64(0)] = {q.str(1), q.str(2)};
    }
    return out;
  }

  std::map<std::int64_t, std::vector<std::int64_t>> infectors_of(const std::vector<std::int64_t>& ids) override {
    std::map<std::int64_t, std::vector<std::int64_t>> out;
    for (std::size_t i = 0; i < ids.size(); i += 500) {
      std::string list;
      for (std::size_t j = i; j < std::min(ids.size(), i + 500); ++j) {
        if (j > i) list += ',';
        list += std::to_string(ids[j]);
      }
      Q q(db_, "SELECT infectee_case_id, infector_case_id FROM case_links WHERE infectee_case_id IN (" + list +
                   ") ORDER BY infectee_case_id, infector_case_id");
      while (q.next()) out[q.int64(0)].push_back(q.int64(1));
    }
    return out;
  }

  ContactCounts contact_counts(const std::string& area_prefix, Instant from, Instant to) override {
    ContactCounts out;
    // The contact's registered area, read per contact row: with a join on persons the planner may
    // walk the persons of the whole area first (25 M index entries for a city) to find a few
    // thousand contacts.
    auto in_area = [&](Conds& w) {
      w.area("(SELECT pa.area_code FROM persons pa WHERE pa.id = k.person_id)", area_prefix);
    };
    {
      Conds w;
      in_area(w);
      w.add("k.degree = 1");
      w.add("k.status IN ('accepted', 'controlled', 'referred')");
      w.i(ms(from));
      w.i(ms(to));
      w.add("k.decided_at >= ? AND k.decided_at < ?");
      Q q(db_, "SELECT COUNT(DISTINCT k.person_id) FROM case_contacts k" + w.sql);
      w.bind(q);
      if (q.next()) out.traced = q.int64(0);
    }
    {
      Conds w;
      in_area(w);
      w.add("k.degree = 1");
      w.add("k.order_id <> 0");
      w.i(ms(from));
      w.i(ms(to));
      w.add("s.stage = 'released' AND s.since >= ? AND s.since < ?");
      Q q(db_,
          "SELECT COUNT(DISTINCT k.person_id) FROM case_contacts k JOIN order_stages s ON s.order_id = k.order_id" +
              w.sql);
      w.bind(q);
      if (q.next()) out.released = q.int64(0);
    }
    {
      Conds w;
      in_area(w);
      w.add("k.degree = 1");
      w.add("o.status = 'active'");
      Q q(db_,
          "SELECT COUNT(DISTINCT k.person_id) FROM case_contacts k JOIN control_orders o ON o.id = k.order_id" +
              w.sql);
      w.bind(q);
      if (q.next()) out.under_observation = q.int64(0);
    }
    return out;
  }

  std::map<std::string, std::string> area_names(const std::vector<std::string>& codes) override {
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i < codes.size(); i += 500) {
      std::string marks;
      for (std::size_t j = i; j < std::min(codes.size(), i + 500); ++j) marks += j > i ? ", ?" : "?";
      Q q(db_, "SELECT code, name FROM areas WHERE code IN (" + marks + ")");
      for (std::size_t j = i; j < std::min(codes.size(), i + 500); ++j) q.text(codes[j]);
      while (q.next()) out[q.str(0)] = q.str(1);
    }
    return out;
  }

  std::vector<std::pair<std::string, std::string>> published_risk_units(const std::string& area_prefix) override {
    Conds w;
    w.area("area_code", area_prefix);
    w.add("status = 'published'");
    Q q(db_, "SELECT level, unit_name FROM risk_areas" + w.sql + " ORDER BY level, unit_name LIMIT 5000");
    w.bind(q);
    std::vector<std::pair<std::string, std::string>> out;
    while (q.next()) out.emplace_back(q.str(0), q.str(1));
    return out;
  }
  std::vector<std::pair<std::string, std::string>> districts(const std::string& prefix) override {
    Conds w;
    w.area("code", prefix);
    w.add("level = 3");
    Q q(db_, "SELECT code, name FROM areas" + w.sql + " ORDER BY code LIMIT 1000");
    w.bind(q);
    std::vector<std::pair<std::string, std::string>> out;
    while (q.next()) out.emplace_back(q.str(0), q.str(1));
    return out;
  }
  std::vector<std::string> top_areas() override {
    Q q(db_, "SELECT code FROM areas WHERE parent_code = '' ORDER BY code LIMIT 50");
    std::vector<std::string> out;
    while (q.next()) out.push_back(q.str(0));
    return out;
  }

  // ------------------------------------------------------------ bulletins
  std::optional<BulletinRow> bulletin(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kBulletinCols + " FROM bulletins WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_bulletin(q);
  }
  std::vector<BulletinRow> revisions(const std::string& area_code, const std::string& day) override {
    Q q(db_, std::string("SELECT ") + kBulletinCols + " FROM bulletins WHERE area_code = ? AND day = ? ORDER BY revision");
    q.text(area_code).text(day);
    std::vector<BulletinRow> out;
    while (q.next()) out.push_back(read_bulletin(q));
    return out;
  }
  std::vector<BulletinRow> bulletins(const std::string& scope_prefix, const std::string& status,
                                     const std::string& before_day, int limit, bool exact) override {
    if (limit < 1 || limit > 1000) fail(ErrorCode::invalid_argument, "limit must be between 1 and 1000", "limit");
    Conds w;
    if (exact) {
      w.t(scope_prefix);
      w.add("area_code = ?");
    } else if (!scope_prefix.empty()) {
      w.area("area_code", scope_prefix);
    }
    if (!status.empty()) {
      w.t(status);
      w.add("status = ?");
    }
    if (!before_day.empty()) {
      w.t(before_day);
      w.add("day < ?");
    }
    Q q(db_, std::string("SELECT ") + kBulletinCols + " FROM bulletins" + w.sql +
                 " ORDER BY day DESC, area_code, revision DESC LIMIT ?");
    w.bind(q);
    q.i64(limit);
    std::vector<BulletinRow> out;
    while (q.next()) out.push_back(read_bulletin(q));
    return out;
  }
  std::int64_t insert_bulletin(BulletinRow& b) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO bulletins (area_code, day, revision, status, figures, notices, note, correction_reason, "
                 "generated_at, generated_by, published_at, published_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.text(b.area_code).text(b.day).i64(b.revision).text(b.status).text(b.figures).text(b.notices).text(b.note);
    q.text(b.correction_reason).i64(ms(b.generated_at)).i64(b.generated_by);
    bind_opt_at(q, b.published_at);
    q.i64(b.published_by);
    b.id = q.inserted_id();
    b.rev = 1;
    return b.id;
  }
  bool update_bulletin(const BulletinRow& b, std::int64_t rev) override {
    Q q(db_,
        "UPDATE bulletins SET status = ?, figures = ?, notices = ?, note = ?, correction_reason = ?, generated_at = ?, "
        "generated_by = ?, published_at = ?, published_by = ?, rev = rev + 1 WHERE id = ? AND rev = ?");
    q.text(b.status).text(b.figures).text(b.notices).text(b.note).text(b.correction_reason);
    q.i64(ms(b.generated_at)).i64(b.generated_by);
    bind_opt_at(q, b.published_at);
    q.i64(b.published_by).i64(b.id).i64(rev);
    return q.run() == 1;
  }
  void insert_erratum(ErratumRow& e) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO bulletin_errata (bulletin_id, area_code, day, revision, field, old_value, new_value, "
                 "reason, at, by_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.i64(e.bulletin_id).text(e.area_code).text(e.day).i64(e.revision).text(e.field).i64(e.old_value);
    q.i64(e.new_value).text(e.reason).i64(ms(e.at)).i64(e.by_user);
    e.id = q.inserted_id();
  }
  std::vector<ErratumRow> errata_of(std::int64_t bulletin_id) override {
    Q q(db_, std::string("SELECT ") + kErratumCols + " FROM bulletin_errata WHERE bulletin_id = ? ORDER BY id");
    q.i64(bulletin_id);
    std::vector<ErratumRow> out;
    while (q.next()) out.push_back(read_erratum(q));
    return out;
  }
  std::vector<ErratumRow> errata(const std::string& area_code, int limit) override {
    Conds w;
    if (!area_code.empty()) {
      w.t(area_code);
      w.add("area_code = ?");
    }
    Q q(db_, std::string("SELECT ") + kErratumCols + " FROM bulletin_errata" + w.sql + " ORDER BY id DESC LIMIT ?");
    w.bind(q);
    q.i64(limit);
    std::vector<ErratumRow> out;
    while (q.next()) out.push_back(read_erratum(q));
    return out;
  }
  std::vector<BulletinRow> published(const std::string& area_code) override {
    Q q(db_, std::string("SELECT ") + kBulletinCols +
                 " FROM bulletins WHERE area_code = ? AND status = 'published' ORDER BY day");
    q.text(area_code);
    std::vector<BulletinRow> out;
    while (q.next()) out.push_back(read_bulletin(q));
    return out;
  }

  // ------------------------------------------------------------ articles
  std::optional<ArticleRow> article(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kArticleCols + " FROM articles WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_article(q);
  }
  PageOf<ArticleRow> articles(const std::string& scope_prefix, const std::string& status, Page page) override {
    Conds w;
    if (!scope_prefix.empty()) w.area("area_code", scope_prefix);
    if (!status.empty()) {
      w.t(status);
      w.add("status = ?");
    }
    return page_desc<ArticleRow>(db_, std::string("SELECT ") + kArticleCols + " FROM articles", "id", w, page,
                                 read_article);
  }
  std::int64_t insert_article(ArticleRow& a) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO articles (area_code, category, title, summary, body, status, created_at, created_by, "
                 "updated_at, published_at, published_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "id"));
    q.text(a.area_code).text(a.category).text(a.title).text(a.summary).text(a.body).text(a.status);
    q.i64(ms(a.created_at)).i64(a.created_by).i64(ms(a.updated_at));
    bind_opt_at(q, a.published_at);
    q.i64(a.published_by);
    a.id = q.inserted_id();
    a.rev = 1;
    return a.id;
  }
  bool update_article(const ArticleRow& a, std::int64_t rev) override {
    Q q(db_,
        "UPDATE articles SET category = ?, title = ?, summary = ?, body = ?, status = ?, updated_at = ?, "
        "published_at = ?, published_by = ?, rev = rev + 1 WHERE id = ? AND rev = ?");
    q.text(a.category).text(a.title).text(a.summary).text(a.body).text(a.status).i64(ms(a.updated_at));
    bind_opt_at(q, a.published_at);
    q.i64(a.published_by).i64(a.id).i64(rev);
    return q.run() == 1;
  }

 private:
  Db& db_;
};

}  // namespace

std::unique_ptr<BulletinRepository> open_bulletin_repository(Repository& repo) {
  return std::make_unique<SqlBulletinRepository>(repo);
}

}  // namespace bihuan::store
