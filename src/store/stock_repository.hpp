#pragma once
// Storage of supply stations (保供, migration v21): package kinds, stations and their receiving
// points (收货点), the stock ledger (every move one row, the balance of a station and kind kept
// beside it and changed only together with a move), deliveries from a station to a household's
// door with their lines, the controlled households a station serves, and the figures of the
// centre's board (stations' stock, deliveries, enterprises reopened and their staff's testing
// compliance). Shares the connection and transactions of a Repository; rows are returned
// unscoped except where a Scope is taken: src/supply checks the caller.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "core/rbac.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

struct KindRow {
  std::string code, name, unit;
  int lasts_days = 1;  // days one package lasts a household
  Instant created_at{};
};

struct StationRow {
  std::int64_t id = 0;
  std::string name, area_code, address, phone;
  std::int64_t org_id = 0;  // the operating organisation (0 = run by the area itself)
  int min_days = 3;         // stock below this many days of need is a shortage
  std::string status = "open";  // open | closed
  std::int64_t created_by = 0;
  Instant created_at{};
  std::int64_t rev = 1;
};

struct PointRow {
  std::int64_t id = 0, station_id = 0;
  std::string name, area_code, address;
  Instant created_at{};
};

// A station's stock of a kind (every kind of the catalogue, 0 when never received).
struct StockRow {
  std::int64_t station_id = 0;
  std::string kind, name, unit;
  int lasts_days = 1;
  std::int64_t on_hand = 0;
};

struct MoveRow {
  std::int64_t id = 0, station_id = 0;
  std::string kind;
  std::string move;  // receipt | delivery | return | adjust (core/stock MoveKind)
  std::int64_t quantity = 0, balance = 0;
  std::int64_t delivery_id = 0;
  std::string ref, note;  // ref: supplier, waybill or batch of a receipt
  std::int64_t by_user = 0;
  std::string by_name;
  Instant at{};
};

struct DeliveryItem {
  std::string kind;
  std::int64_t quantity = 0;
};

struct DeliveryRow {
  std::int64_t id = 0, station_id = 0, point_id = 0, household_id = 0;
  std::string area_code;            // the household's area
  std::int64_t request_id = 0;      // the necessities request it fulfils (0 = none)
  std::string status = "packed";    // packed | at_point | delivered | failed
  std::string note, receiver, reason;
  std::int64_t created_by = 0, done_by = 0;
  Instant created_at{};
  std::optional<Instant> at_point_at, done_at;
  std::int64_t rev = 1;
  std::vector<DeliveryItem> items;
  // joined, read-only
  std::string station_name, point_name, household_no, address;
};

struct DeliveryFilter {
  std::string status;  // "" any, "open" = packed or at_point, or one status
  std::int64_t station_id = 0, household_id = 0, request_id = 0;
  std::string area;    // household area prefix
};

// Deliveries of one status in the board's count.
struct StatusCount {
  std::string status;
  std::int64_t count = 0;
};

// Requests (src/supply needs) of one status and age band in the board's count.
struct RequestCount {
  std::string status;
  std::string band;  // core/stock age_band of the time since received ("" for served ones)
  std::int64_t count = 0;
};

// An open medical request whose deadline is near or past, as the board lists it (no person).
struct RequestAtRisk {
  std::int64_t id = 0, household_id = 0;
  std::string area_code, kind, priority, status, owner_kind, owner_name;
  Instant received_at{}, deadline{};
  bool escalated = false;
  int escalation_level = 0;  // core/supply: 1 grid, 2 street, 3 district, 4 city
};

class StockRepository {
 public:
  virtual ~StockRepository() = default;

  virtual std::vector<KindRow> kinds() = 0;  // by code
  virtual std::optional<KindRow> kind(const std::string& code) = 0;
  virtual void insert_kind(const KindRow& k) = 0;  // conflict when the code exists
  virtual void update_kind(const KindRow& k) = 0;

  virtual std::int64_t insert_station(StationRow& s) = 0;  // fills id
  virtual std::optional<StationRow> station(std::int64_t id) = 0;
  // Stations in scope (area: the station's area inside it; org: run by that org), newest first;
  // `area` narrows to a subtree ("" = all in scope).
  virtual PageOf<StationRow> stations(const Scope& scope, const std::string& area, Page page) = 0;
  // Every station in scope (for the board and the map).
  virtual std::vector<StationRow> all_stations(const Scope& scope) = 0;
  virtual void update_station(const StationRow& s) = 0;

  virtual std::int64_t insert_point(PointRow& p) = 0;  // fills id; conflict on a second name
  virtual std::optional<PointRow> point(std::int64_t id) = 0;
  virtual std::vector<PointRow> points(std::int64_t station_id) = 0;

  virtual std::vector<StockRow> stock(std::int64_t station_id) = 0;  // every kind, by code
  virtual std::int64_t on_hand(std::int64_t station_id, const std::string& kind) = 0;
  // Applies a move to the balance and appends it to the ledger (fills id and balance). The
  // balance never goes below zero: false (nothing written) when it would.
  virtual bool add_move(MoveRow& m) = 0;
  virtual PageOf<MoveRow> moves(std::int64_t station_id, const std::string& kind, Page page) = 0;  // newest first

  virtual std::int64_t insert_delivery(DeliveryRow& d) = 0;  // with its items; fills id
  virtual std::optional<DeliveryRow> delivery(std::int64_t id) = 0;
  // Deliveries visible in scope (the household's area or the station's in an area scope; the
  // station's org in an org scope), newest first.
  virtual PageOf<DeliveryRow> deliveries(const Scope& scope, const DeliveryFilter& f, Page page) = 0;
  // Status, notes and times; conflict when the stored rev is not d.rev (then d.rev + 1 stored).
  virtual void update_delivery(const DeliveryRow& d) = 0;

  // Controlled households: a member under an active order in home isolation or from a high-risk
  // area's list (core/supply controlled_household, NeedsRepository::is_controlled_household for
  // one household): how many live in a subtree, and how many by area (grid) in a subtree.
  virtual std::int64_t controlled_households(const std::string& prefix) = 0;
  struct AreaCount {
    std::string area_code;
    std::int64_t count = 0;
  };
  virtual std::vector<AreaCount> controlled_by_area(const std::string& prefix) = 0;

  // The board: deliveries in scope by status (open ones and those created since `since`); open
  // requests in scope by status and age band at `now`, and those served or refused since `since`
  // by status (band ""); open medical requests (`kinds`) due before `before`, soonest first.
  // Requests are in scope by their area (area scopes) or their hospital owner (org scopes).
  virtual std::vector<StatusCount> delivery_counts(const Scope& scope, Instant since) = 0;
  virtual std::vector<RequestCount> request_counts(const Scope& scope, Instant now, Instant since) = 0;
  virtual std::vector<RequestAtRisk> medical_at_risk(const Scope& scope, const std::vector<std::string>& kinds,
                                                     Instant before, int limit) = 0;
};

std::unique_ptr<StockRepository> open_stock_repository(Repository& repo);

}  // namespace bihuan::store
