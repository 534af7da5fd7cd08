#pragma once
// Deliveries (配送, docs/API-supply.md): packages from a supply station through the receiving
// point (收货点) of the compound to the door of a controlled household, recorded step by step:
// packed (taken out of the station's stock in the same transaction), at the receiving point,
// delivered at the door (who took it), or failed (why; the packages go back into the stock). A
// delivery may name a necessities or medicine request of the household it serves: the request
// goes on the way (owned by the station) when the delivery is packed and is delivered with it; a
// failed delivery leaves it on the way, for the next delivery to name.
//
// Only households on the controlled list (home isolation or a high-risk area's control) receive
// deliveries: any other household is an error naming household_id, and nothing is written. A
// household outside the station's area or the caller's answers like one that does not exist.
// Recording needs loop.write and a station (or, for the steps, a delivery) the caller sees: its
// household's area or the station's area in an area scope, the station's organisation in an org
// scope.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/stock.hpp"
#include "store/needs_repository.hpp"
#include "store/repository.hpp"
#include "store/stock_repository.hpp"

namespace bihuan::supply {

class Stations;
class NeedsService;

struct DeliveryInput {
  std::int64_t station_id = 0, point_id = 0, household_id = 0, request_id = 0;
  std::vector<stock::Line> items;
  std::string note;
};

class Deliveries {
 public:
  // `needs` moves the requests the deliveries name (on the way, delivered).
  Deliveries(store::Repository& repo, Stations& stations, NeedsService& needs, const Clock& clock);

  store::DeliveryRow create(const DeliveryInput& in, const Caller& c);
  store::PageOf<store::DeliveryRow> list(const store::DeliveryFilter& f, const Caller& c, store::Page page);
  store::DeliveryRow get(std::int64_t id, const Caller& c);
  // The steps; `rev` is the revision the caller read (a stale one is a conflict).
  store::DeliveryRow at_point(std::int64_t id, std::int64_t rev, const Caller& c);
  store::DeliveryRow deliver(std::int64_t id, std::int64_t rev, const std::string& receiver, const std::string& note,
                             const Caller& c);
  store::DeliveryRow fail_delivery(std::int64_t id, std::int64_t rev, const std::string& reason, const Caller& c);
  // The requests a station serves (owned by it: handed to it, or named by one of its deliveries),
  // newest first, for its staff to pack: supply.read and the station visible to the caller (its
  // organisation, or its area; an area caller sees those of its area only). `status` "" any,
  // "open" or one status. The rows carry the person's fields: the API leaves them out.
  store::PageOf<store::RequestRow> station_requests(std::int64_t station_id, const std::string& status,
                                                    const Caller& c, store::Page page);
  ~Deliveries();

 private:
  store::DeliveryRow visible(std::int64_t id, const Caller& c);
  store::DeliveryRow step(std::int64_t id, std::int64_t rev, stock::DeliveryStatus to, const std::string& receiver,
                          const std::string& text, const Caller& c);
  void audit(const Caller& c, const std::string& action, std::int64_t id, const std::string& reason = {},
             const std::string& detail = {});

  // The request a delivery to `household_id` names: the household's own necessities or medicine
  // request, still open (Error naming request_id otherwise).
  store::RequestRow request_for(std::int64_t request_id, std::int64_t household_id);
  void advance_request(std::int64_t request_id, const std::string& to, const std::string& note,
                       const store::StationRow* station, const Caller& c);

  store::Repository& repo_;
  Stations& stations_;
  NeedsService& needs_;
  const Clock& clock_;
  std::unique_ptr<store::NeedsRepository> n_;
};

}  // namespace bihuan::supply
