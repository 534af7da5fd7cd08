#pragma once
// Travellers from other cities' risk areas (外地风险区来返人员, issue 10; docs/API-risk.md,
// "Other cities' risk areas and arrival reports"). Other cities' published areas come in as a
// list (imported by the command centre from the national or provincial bulletin); an arrival
// report (来返报备) names a resident, where they stayed and the last day there; the group follows
// from the list (core/arrival.hpp) and the resident is put under that group's control order in
// the same transaction, as the loop would (create_or_refer: an investigator's report of someone
// outside its area becomes a referral). The report is kept, with its decision.
//
// Every operation takes the caller and checks it inside the transaction: importing the list needs
// risk.manage; reading it loop.read; a report needs loop.write and a resident the caller may put
// under control (a person outside its scope answers like an unknown one); reports are listed in
// the caller's area.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/arrival.hpp"
#include "core/caller.hpp"
#include "core/date.hpp"
#include "store/arrival_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::loop {
class Service;
}  // namespace bihuan::loop

namespace bihuan::risk {

struct ListRowError {
  std::int64_t row = 0;
  std::string column, value, reason;
};
struct ListImport {
  std::int64_t total_rows = 0, inserted = 0, updated = 0;
  bool committed = false;
  std::vector<ListRowError> errors;  // any error: nothing written
};

struct ArrivalInput {
  std::int64_t person_id = 0;
  std::string origin;   // an area code of China's divisions, at any level
  Date left_on{};       // the last day there (default: the arrival date)
  Date arrival{};       // default: today
  std::string note;
};

struct ArrivalOutcome {
  store::ArrivalReportRow report;
  arrival::Decision decision;
  std::string stage;  // the order's first stage ("" without one)
};

class Arrivals {
 public:
  // lookback_days: `risk.arrival_lookback_days` (7, the ninth edition's "in the last 7 days").
  Arrivals(store::Repository& repo, loop::Service& loop, const Clock& clock, LocalTime local);

  // CSV with a header: 地区代码 (area_code), 名称 (name), 等级 (level: 高/中/低 or high/medium/low),
  // 起始日期 (since), 解除日期 (until, optional), 来源 (source, optional). All or nothing.
  ListImport import_list(std::string_view csv, const Caller& c);
  // Listed areas whose period touches `on` (nullopt: all, newest first; at most 5000).
  std::vector<store::ExternalAreaRow> list(std::optional<Date> on, const Caller& c);

  ArrivalOutcome report(const ArrivalInput& in, const Caller& c);
  // A resident's own report (来返报备 at /r, signed in as `person_id`): decided and put into the
  // loop exactly as a grid worker's report of that person, audited `arrival.self_report` under
  // "resident:ID". At most kSelfReportsPerDay a local day (rate_limited after that: the grid
  // worker corrects a wrong report).
  static constexpr int kSelfReportsPerDay = 3;
  ArrivalOutcome self_report(std::int64_t person_id, ArrivalInput in, const std::string& ip);
  // The resident's own reports, newest first (at most 20).
  std::vector<store::ArrivalReportRow> reports_of_resident(std::int64_t person_id);
  store::PageOf<store::ArrivalReportRow> reports(store::Page page, const Caller& c);
  int lookback_days();

 private:
  // The report inside the caller's transaction.
  ArrivalOutcome report_in(const ArrivalInput& in, const Caller& c, const std::string& channel,
                           const std::string& action);
  store::Repository& repo_;
  loop::Service& loop_;
  const Clock& clock_;
  LocalTime local_;
};

}  // namespace bihuan::risk
