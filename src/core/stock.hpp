#pragma once
// Supplies for people who cannot go out (保供, docs/API-supply.md): the rules of supply stations'
// stock and of deliveries from a station to a receiving point (收货点) to a household's door.
// Rules only, no I/O and no clock: the service passes the time and the stored rows in.
//
// Stock is a ledger: every change is a move (a receipt from a supplier, a delivery packed out, a
// delivery that failed coming back, a counted adjustment), and the balance of a station and
// package kind is the sum of its moves, never below zero.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bihuan::stock {

// Why a station's stock of a package kind changed.
enum class MoveKind {
  receipt,   // packages in from a supplier or warehouse (quantity > 0)
  delivery,  // packed into a delivery to a household (quantity < 0)
  returned,  // a delivery that failed at the door came back (quantity > 0)
  adjust,    // counted stock differs (loss, damage, recount): either sign, with a note
};
const char* to_string(MoveKind k);
std::optional<MoveKind> move_kind_from(std::string_view s);

// The balance after applying `quantity` to `on_hand`: Error(conflict, field) when it would go
// below zero ("only 3 in stock"), Error(invalid_argument, field) for a zero quantity or a sign
// that does not fit the kind (a receipt takes a positive quantity, a delivery a negative one),
// and for an adjustment without a note.
std::int64_t apply_move(std::int64_t on_hand, MoveKind kind, std::int64_t quantity, const std::string& note,
                        const std::string& field);

// One line of a delivery or of a stock receipt: a package kind and how many.
struct Line {
  std::string kind;
  std::int64_t quantity = 0;
};
// Checks lines: at least one, each kind known (in `kinds`) and listed once, each quantity 1..10000.
// Error(invalid_argument) naming the line, e.g. "items[1].quantity".
void check_lines(const std::vector<Line>& lines, const std::vector<std::string>& kinds, const std::string& field = "items");

// Days of need. A package kind lasts a household `lasts_days` days (a vegetable box 3, a rice bag
// 10); a station serving `households` controlled households needs, for `days` days,
// ceil(households * days / lasts_days) packages of the kind.
std::int64_t need_for(std::int64_t households, int days, int lasts_days);
// How many days `on_hand` packages last the households (floor); nullopt when none are served.
std::optional<std::int64_t> days_covered(std::int64_t on_hand, std::int64_t households, int lasts_days);

// A package kind as the station's shortage check sees it.
struct KindNeed {
  std::string kind;
  int lasts_days = 1;
  std::int64_t on_hand = 0;
};
struct Shortage {
  std::string kind;
  std::int64_t on_hand = 0, need = 0, missing = 0;
  std::optional<std::int64_t> days;  // days the stock lasts (nullopt: no household served)
};
// The kinds of a station whose stock is below `min_days` days of need of its households
// (kinds that households do not need, households = 0, are never short), in the order given.
std::vector<Shortage> shortages(const std::vector<KindNeed>& kinds, std::int64_t households, int min_days);

// A delivery's way from the station to the door.
enum class DeliveryStatus {
  packed,     // taken out of the station's stock (装车)
  at_point,   // arrived at the receiving point of the compound (到达收货点)
  delivered,  // handed over at the household's door (送达)
  failed,     // not handed over (refused, nobody answered): the packages go back to the station
};
const char* to_string(DeliveryStatus s);
std::optional<DeliveryStatus> delivery_status_from(std::string_view s);
// Whether a delivery may move from `from` to `to`: packed → at_point → delivered; packed or
// at_point → delivered (a station next door hands it over itself) or failed.
bool delivery_step_allowed(DeliveryStatus from, DeliveryStatus to);
// Error(conflict, field "status") when the step is not allowed, naming both statuses.
void check_delivery_step(DeliveryStatus from, DeliveryStatus to);

// The age bands of the centre's board (requests by age): under 1 h, 1-4 h, 4-24 h, over 24 h.
const std::vector<std::string>& age_bands();
std::string age_band(std::int64_t minutes);

}  // namespace bihuan::stock
