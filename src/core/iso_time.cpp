#include "core/iso_time.hpp"

namespace bihuan {
namespace {

bool digits(std::string_view s, int& out) noexcept {
  if (s.empty()) return false;
  int v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::optional<Instant> parse_iso8601(std::string_view t) noexcept {
  // YYYY-MM-DD
  if (t.size() < 17 || t.size() > 40 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != ' ')) return std::nullopt;
  const auto d = parse_date(t.substr(0, 10));
  if (!d) return std::nullopt;
  std::string_view rest = t.substr(11);
  // The zone at the end.
  std::chrono::minutes offset{0};
  if (rest.back() == 'Z' || rest.back() == 'z') {
    rest.remove_suffix(1);
  } else {
    const auto pm = rest.find_last_of("+-");
    if (pm == std::string_view::npos) return std::nullopt;
    const std::string_view z = rest.substr(pm + 1);
    int hh = 0, mm = 0;
    bool ok = false;
    if (z.size() == 5 && z[2] == ':') ok = digits(z.substr(0, 2), hh) && digits(z.substr(3, 2), mm);
    else if (z.size() == 4) ok = digits(z.substr(0, 2), hh) && digits(z.substr(2, 2), mm);
    else if (z.size() == 2) ok = digits(z, hh);
    if (!ok || hh > 14 || mm > 59 || hh * 60 + mm > 14 * 60) return std::nullopt;
    offset = std::chrono::minutes{(rest[pm] == '-' ? -1 : 1) * (hh * 60 + mm)};
    rest = rest.substr(0, pm);
  }
  // HH:MM:SS[.fraction]
  int hh = 0, mi = 0, ss = 0, ms = 0;
  if (rest.size() < 8 || rest[2] != ':' || rest[5] != ':' || !digits(rest.substr(0, 2), hh) ||
      !digits(rest.substr(3, 2), mi) || !digits(rest.substr(6, 2), ss))
    return std::nullopt;
  rest.remove_prefix(8);
  if (!rest.empty()) {
    if ((rest.front() != '.' && rest.front() != ',') || rest.size() < 2 || rest.size() > 10) return std::nullopt;
    const std::string_view frac = rest.substr(1);
    int f = 0;
    if (!digits(frac, f)) return std::nullopt;
    // Milliseconds: the first three digits (a finer fraction is dropped).
    int scale = 100;
    for (std::size_t i = 0; i < frac.size() && i < 3; ++i, scale /= 10) ms += (frac[i] - '0') * scale;
  }
  if (hh > 23 || mi > 59 || ss > 59) return std::nullopt;
  return Instant{std::chrono::sys_days{*d}} + std::chrono::hours{hh} + std::chrono::minutes{mi} +
         std::chrono::seconds{ss} + std::chrono::milliseconds{ms} - offset;
}

}  // namespace bihuan
