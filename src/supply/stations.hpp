#pragma once
// Supply stations (保供物资站, docs/API-supply.md): the package kinds the stations hand out, the
// stations of a compound (a grid of the registry) or a community with their receiving points
// (收货点), and each station's stock as a ledger: receipts, counted adjustments, the deliveries
// packed out and the failed ones that came back, each a row with the balance after it. A station
// is short of a kind when its stock lasts fewer than its `min_days` days of the controlled
// households it serves (those living inside its area).
//
// Every operation checks the caller inside its transaction (docs/SECURITY.md): a station is
// visible to the whole system, to an area scope containing the station's area and to an org
// scope of the organisation that runs it; outside that it answers exactly like one that does not
// exist. Package kinds and stations: loop.manage; stock moves: loop.write (the station's own area
// or organisation); reading: loop.read.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/stock.hpp"
#include "store/repository.hpp"
#include "store/stock_repository.hpp"

namespace bihuan::supply {

struct StationInput {
  std::string name, area_code, address, phone;
  std::int64_t org_id = 0;
  int min_days = 3;
};

struct PointInput {
  std::string name, area_code, address;
};

// A station's stock of one kind with the days it lasts its households.
struct StockLine {
  store::StockRow row;
  std::int64_t need = 0;             // packages for min_days days of its households
  std::optional<std::int64_t> days;  // days the stock lasts (nullopt: no household served)
  bool short_of = false;
};

struct StationView {
  store::StationRow station;
  std::vector<store::PointRow> points;
  std::int64_t households = 0;  // controlled households inside its area
  std::vector<StockLine> stock;
  bool short_of = false;  // any kind short
};

// One line of stock in (receipt) or a counted adjustment.
struct MoveInput {
  std::string kind;
  std::int64_t quantity = 0;
};

class Stations {
 public:
  Stations(store::Repository& repo, const Clock& clock);
  ~Stations();

  std::vector<store::KindRow> kinds(const Caller& c);
  // A new package kind (code, name, unit, lasts_days 1..90); loop.manage.
  store::KindRow add_kind(const store::KindRow& k, const Caller& c);
  store::KindRow update_kind(const store::KindRow& k, const Caller& c);

  StationView create(const StationInput& in, const Caller& c);
  store::PageOf<store::StationRow> list(const std::string& area, const Caller& c, store::Page page);
  StationView view(std::int64_t id, const Caller& c);
  // Name, address, phone, min_days, status (open | closed); loop.manage.
  StationView update(std::int64_t id, const StationInput& in, const std::string& status, const Caller& c);
  StationView add_point(std::int64_t id, const PointInput& in, const Caller& c);

  // Packages received (move receipt, `ref` the supplier or waybill) or counted (adjust, with a
  // note), every line in one transaction: a line that fails writes nothing of the others.
  StationView move(std::int64_t id, stock::MoveKind kind, const std::vector<MoveInput>& lines, const std::string& ref,
                   const std::string& note, const Caller& c);
  store::PageOf<store::MoveRow> ledger(std::int64_t id, const std::string& kind, const Caller& c, store::Page page);

  // Every station in scope that is short of a kind (with its stock), by area.
  std::vector<StationView> shortages(const Caller& c);

  // Shared with Deliveries and the board (inside their transactions).
  store::StationRow visible(std::int64_t id, const Caller& c);
  StationView view_of(const store::StationRow& s);
  store::StockRepository& store() { return *s_; }

 private:
  void audit(const Caller& c, const std::string& action, std::int64_t id, const std::string& reason = {},
             const std::string& detail = {});
  void check_input(const StationInput& in, bool creating, const Caller& c);

  store::Repository& repo_;
  const Clock& clock_;
  std::unique_ptr<store::StockRepository> s_;
};

}  // namespace bihuan::supply
