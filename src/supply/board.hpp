#pragma once
// The centre's board of supplies and work resumption (保供与复工复产看板, docs/API-supply.md), for
// the caller's area: requests by status and age, medical requests at risk (late or due within two
// hours), the stations' stock and shortages, deliveries by status, the enterprises (reopened or
// not) with their staff's testing compliance, and the map of shortages by area. Read
// in one transaction with the caller's scope inside every query (loop.read; the enterprises also
// need org.read).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "store/enterprise_repository.hpp"
#include "store/repository.hpp"
#include "store/stock_repository.hpp"
#include "supply/stations.hpp"

namespace bihuan::supply {

// An enterprise on the board: its plan status and its staff's routine tests over the span.
struct EnterpriseLine {
  store::EnterpriseBrief enterprise;
  std::int64_t staff = 0, due = 0, done = 0, missed = 0;
};

struct BoardView {
  std::string day;  // today, local
  Instant now{};
  std::vector<store::RequestCount> requests;     // open by status and age; served in 24 h by status
  std::vector<store::RequestAtRisk> medical;     // open medical requests late or due within 2 hours
  std::vector<StationView> stations;
  std::vector<store::StatusCount> deliveries;  // open ones and those of the last 24 hours, by status
  bool enterprises_shown = false;              // the caller holds org.read
  std::string compliance_from, compliance_to;  // the span of the compliance figures (7 days)
  std::vector<EnterpriseLine> enterprises;     // by org id
};

// One child area on the map of shortages.
struct MapArea {
  std::string code, name;
  std::int64_t stations = 0, short_stations = 0, households = 0, open_deliveries = 0;
};
struct MapView {
  std::string parent;
  std::vector<MapArea> items;
};

class Board {
 public:
  Board(store::Repository& repo, Stations& stations, const Clock& clock, LocalTime local);

  BoardView board(const Caller& c);
  // The children of `parent` (inside the caller's scope or above it; "" = the city above the
  // caller's area) with their stations, short stations, controlled households and open deliveries.
  MapView map(const std::string& parent, const Caller& c);

 private:
  std::string parent_of(const std::string& given, const Caller& c);

  store::Repository& repo_;
  Stations& stations_;
  const Clock& clock_;
  LocalTime local_;
};

}  // namespace bihuan::supply
