#pragma once
// Storage of the daily bulletin and the public portal (issue 10): bulletin revisions, their
// errata, health-education articles, and the reads that count a day (cases of an area with the
// fields the bulletin needs, close contacts traced, released and under observation). Shares the
// connection and transactions of a Repository; the bulletin service checks the caller.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/date.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct BulletinRow {
  std::int64_t id = 0;
  std::string area_code, day;  // day: local YYYY-MM-DD
  std::int64_t revision = 1;
  std::string status = "draft";  // draft | published | superseded
  std::string figures = "{}";    // JSON (core/bulletin Figures)
  std::string notices = "[]";    // JSON array of {case_id, kind, text_zh, text_en}
  std::string note, correction_reason;
  Instant generated_at{};
  std::int64_t generated_by = 0;
  std::optional<Instant> published_at;
  std::int64_t published_by = 0;
  std::int64_t rev = 1;
};

struct ErratumRow {
  std::int64_t id = 0, bulletin_id = 0;
  std::string area_code, day;
  std::int64_t revision = 0;
  std::string field;
  std::int64_t old_value = 0, new_value = 0;
  std::string reason;
  Instant at{};
  std::int64_t by_user = 0;
};

struct ArticleRow {
  std::int64_t id = 0;
  std::string area_code, category, title, summary, body;
  std::string status = "draft";  // draft | published | withdrawn
  Instant created_at{};
  std::int64_t created_by = 0;
  Instant updated_at{};
  std::optional<Instant> published_at;
  std::int64_t published_by = 0;
  std::int64_t rev = 1;
};

// A case with what the bulletin counts (instants; the service turns them into local days).
struct BulletinCase {
  std::int64_t id = 0;
  std::string classification, origin, origin_place, area_code, severity, outcome, found_by;
  Instant reported{};  // the report card's report time, else the case's opening
  std::optional<Instant> converted_at, closed_at;
  std::string death_date;             // YYYY-MM-DD or ""
  std::string sex, birth_date;        // the person's (filled by case_persons only)
};

struct ContactCounts {
  std::int64_t traced = 0, released = 0, under_observation = 0;
};

class BulletinRepository {
 public:
  virtual ~BulletinRepository() = default;

  // --- counting a day
  // Every case (any status) whose area lies under `area_prefix` ("" = all), reported before `until`,
  // without its person's sex and birth date (reading the person of every case of an outbreak costs
  // a random read of the registry per case: seconds in a city of 25 M).
  virtual std::vector<BulletinCase> bulletin_cases(const std::string& area_prefix, Instant until) = 0;
  // case id -> (sex, birth date) of the case's person, for the given cases (a day's new ones).
  virtual std::map<std::int64_t, std::pair<std::string, std::string>> case_persons(
      const std::vector<std::int64_t>& case_ids) = 0;
  // infectee case id -> infector case ids, for the given infectees.
  virtual std::map<std::int64_t, std::vector<std::int64_t>> infectors_of(const std::vector<std::int64_t>& ids) = 0;
  // Close contacts (degree 1) living under `area_prefix`, distinct persons: taken into control in
  // [from, to), released in [from, to), under control now.
  virtual ContactCounts contact_counts(const std::string& area_prefix, Instant from, Instant to) = 0;
  // Names of areas by code (those that exist).
  virtual std::map<std::string, std::string> area_names(const std::vector<std::string>& codes) = 0;
  // Published risk areas under `area_prefix` ("" = all): (level, unit name), by level then name.
  virtual std::vector<std::pair<std::string, std::string>> published_risk_units(const std::string& area_prefix) = 0;
  // (code, name) of the county-level areas (districts) under `prefix` ("" = all), by code.
  virtual std::vector<std::pair<std::string, std::string>> districts(const std::string& prefix) = 0;
  // Codes of the areas without a parent (the top of the registry's tree).
  virtual std::vector<std::string> top_areas() = 0;

  // --- bulletins
  virtual std::optional<BulletinRow> bulletin(std::int64_t id) = 0;
  // Every revision of an area's day, by revision.
  virtual std::vector<BulletinRow> revisions(const std::string& area_code, const std::string& day) = 0;
  // Newest day first, then revision; status "" = any; the areas under `scope_prefix` ("" = all),
  // or with `exact` the area `scope_prefix` itself. Pages by day through `before_day`.
  virtual std::vector<BulletinRow> bulletins(const std::string& scope_prefix, const std::string& status,
                                             const std::string& before_day, int limit, bool exact = false) = 0;
  virtual std::int64_t insert_bulletin(BulletinRow& b) = 0;  // fills id
  // Writes status, figures, notices, note, correction_reason, generated_*, published_*;
  // false when the stored rev is not `rev`.
  virtual bool update_bulletin(const BulletinRow& b, std::int64_t rev) = 0;
  virtual void insert_erratum(ErratumRow& e) = 0;
  // Errata written by publishing one revision, in the order of its figures.
  virtual std::vector<ErratumRow> errata_of(std::int64_t bulletin_id) = 0;
  // Errata of an area ("" = every area), newest first.
  virtual std::vector<ErratumRow> errata(const std::string& area_code, int limit) = 0;
  // Published bulletins of one area, oldest day first (open data).
  virtual std::vector<BulletinRow> published(const std::string& area_code) = 0;

  // --- articles
  virtual std::optional<ArticleRow> article(std::int64_t id) = 0;
  // status "" = any; newest first (published_at, else created_at).
  virtual PageOf<ArticleRow> articles(const std::string& scope_prefix, const std::string& status, Page page) = 0;
  virtual std::int64_t insert_article(ArticleRow& a) = 0;
  virtual bool update_article(const ArticleRow& a, std::int64_t rev) = 0;
};

std::unique_ptr<BulletinRepository> open_bulletin_repository(Repository& repo);

}  // namespace bihuan::store
