#include "core/stock.hpp"

#include <algorithm>
#include <set>

#include "core/error.hpp"

namespace bihuan::stock {

namespace {

constexpr std::pair<MoveKind, const char*> kMoveNames[] = {
    {MoveKind::receipt, "receipt"}, {MoveKind::delivery, "delivery"}, {MoveKind::returned, "return"}, {MoveKind::adjust, "adjust"}};
constexpr std::pair<DeliveryStatus, const char*> kStatusNames[] = {{DeliveryStatus::packed, "packed"},
                                                                    {DeliveryStatus::at_point, "at_point"},
                                                                    {DeliveryStatus::delivered, "delivered"},
                                                                    {DeliveryStatus::failed, "failed"}};

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

}  // namespace

const char* to_string(MoveKind k) {
  for (const auto& [v, n] : kMoveNames)
    if (v == k) return n;
  return "adjust";
}

std::optional<MoveKind> move_kind_from(std::string_view s) {
  for (const auto& [v, n] : kMoveNames)
    if (s == n) return v;
  return std::nullopt;
}

std::int64_t apply_move(std::int64_t on_hand, MoveKind kind, std::int64_t quantity, const std::string& note,
                        const std::string& field) {
  if (quantity == 0) fail(ErrorCode::invalid_argument, field + ": a move of no packages", field);
  switch (kind) {
    case MoveKind::receipt:
    case MoveKind::returned:
      if (quantity < 0) fail(ErrorCode::invalid_argument, field + ": a " + to_string(kind) + " adds packages", field);
      break;
    case MoveKind::delivery:
      if (quantity > 0) fail(ErrorCode::invalid_argument, field + ": a delivery takes packages out", field);
      break;
    case MoveKind::adjust:
      if (blank(note)) fail(ErrorCode::invalid_argument, "an adjustment of counted stock needs a note", "note");
      break;
  }
  if (on_hand + quantity < 0)
    fail(ErrorCode::conflict,
         field + ": only " + std::to_string(on_hand) + " in stock, " + std::to_string(-quantity) + " asked", field);
  return on_hand + quantity;
}

void check_lines(const std::vector<Line>& lines, const std::vector<std::string>& kinds, const std::string& field) {
  if (lines.empty()) fail(ErrorCode::invalid_argument, field + ": at least one package kind", field);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string f = field + "[" + std::to_string(i) + "]";
    if (blank(lines[i].kind)) fail(ErrorCode::invalid_argument, f + ".kind is required", f + ".kind");
    if (std::find(kinds.begin(), kinds.end(), lines[i].kind) == kinds.end())
      fail(ErrorCode::invalid_argument, f + ".kind: no package kind " + lines[i].kind, f + ".kind");
    if (!seen.insert(lines[i].kind).second)
      fail(ErrorCode::invalid_argument, f + ".kind: " + lines[i].kind + " listed twice", f + ".kind");
    if (lines[i].quantity < 1 || lines[i].quantity > 10000)
      fail(ErrorCode::invalid_argument, f + ".quantity must be 1..10000", f + ".quantity");
  }
}

std::int64_t need_for(std::int64_t households, int days, int lasts_days) {
  if (households <= 0 || days <= 0) return 0;
  const std::int64_t l = std::max(1, lasts_days);
  return (households * days + l - 1) / l;
}

std::optional<std::int64_t> days_covered(std::int64_t on_hand, std::int64_t households, int lasts_days) {
  if (households <= 0) return std::nullopt;
  return std::max<std::int64_t>(0, on_hand) * std::max(1, lasts_days) / households;
}

std::vector<Shortage> shortages(const std::vector<KindNeed>& kinds, std::int64_t households, int min_days) {
  std::vector<Shortage> out;
  for (const auto& k : kinds) {
    const std::int64_t need = need_for(households, min_days, k.lasts_days);
    if (k.on_hand >= need) continue;
    out.push_back({k.kind, k.on_hand, need, need - k.on_hand, days_covered(k.on_hand, households, k.lasts_days)});
  }
  return out;
}

const char* to_string(DeliveryStatus s) {
  for (const auto& [v, n] : kStatusNames)
    if (v == s) return n;
  return "packed";
}

std::optional<DeliveryStatus> delivery_status_from(std::string_view s) {
  for (const auto& [v, n] : kStatusNames)
    if (s == n) return v;
  return std::nullopt;
}

bool delivery_step_allowed(DeliveryStatus from, DeliveryStatus to) {
  using S = DeliveryStatus;
  switch (from) {
    case S::packed: return to == S::at_point || to == S::delivered || to == S::failed;
    case S::at_point: return to == S::delivered || to == S::failed;
    case S::delivered:
    case S::failed: return false;
  }
  return false;
}

void check_delivery_step(DeliveryStatus from, DeliveryStatus to) {
  if (!delivery_step_allowed(from, to))
    fail(ErrorCode::conflict, std::string("a delivery that is ") + to_string(from) + " cannot become " + to_string(to),
         "status");
}

const std::vector<std::string>& age_bands() {
  static const std::vector<std::string> b = {"lt1h", "1to4h", "4to24h", "gt24h"};
  return b;
}

std::string age_band(std::int64_t minutes) {
  if (minutes < 60) return "lt1h";
  if (minutes < 240) return "1to4h";
  if (minutes < 1440) return "4to24h";
  return "gt24h";
}

}  // namespace bihuan::stock
