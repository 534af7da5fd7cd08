#pragma once
// Other cities' published risk areas (an imported list) and arrival reports (来返报备) of
// travellers from other cities (issue 10, schema v26). Shares the connection and transactions of
// a Repository; reports are scoped by the registered area of the person at the time of the
// report (the service checks the caller).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/arrival.hpp"
#include "core/rbac.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct ExternalAreaRow {
  arrival::ExternalArea area;
  std::string source;
  Instant created_at{}, updated_at{};
  std::int64_t created_by = 0;
};

struct ArrivalReportRow {
  std::int64_t id = 0, person_id = 0;
  std::string area_code;  // the person's registered area
  std::string origin;     // canonical area code of the stay
  Date left_on{}, arrival_date{};
  std::string group;      // "" = no measure
  std::int64_t external_area_id = 0;
  std::string why, note;
  std::int64_t order_id = 0, referral_id = 0;
  Instant created_at{};
  std::int64_t created_by = 0;
  std::string channel = "staff";  // staff | resident (the resident's own report)
  std::string person_name, external_area_name;  // read with the row
};

class ArrivalRepository {
 public:
  virtual ~ArrivalRepository() = default;
  // Inserts or updates (by area code, level and start) the listed areas; returns {inserted, updated}.
  virtual std::pair<int, int> upsert_external(const std::vector<ExternalAreaRow>& rows) = 0;
  // Areas whose period overlaps [from, to] (both dates inclusive), ordered by code.
  virtual std::vector<ExternalAreaRow> external_between(Date from, Date to) = 0;
  // Every listed area, newest start first (at most `limit`).
  virtual std::vector<ExternalAreaRow> external_all(int limit) = 0;
  virtual std::int64_t insert_report(const ArrivalReportRow& r) = 0;
  virtual std::optional<ArrivalReportRow> report(std::int64_t id) = 0;
  // Reports of persons registered in the scope's area (an area scope; other scopes: none), newest
  // first.
  virtual PageOf<ArrivalReportRow> reports(const Scope& scope, Page page) = 0;
  // The person's reports (newest first, at most `limit`), and how many of them came through
  // `channel` at or after `since`.
  virtual std::vector<ArrivalReportRow> reports_of_person(std::int64_t person_id, int limit) = 0;
  virtual int count_reports_since(std::int64_t person_id, const std::string& channel, Instant since) = 0;
};

std::unique_ptr<ArrivalRepository> open_arrival_repository(Repository& repo);

}  // namespace bihuan::store
