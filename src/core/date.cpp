#include "core/date.hpp"

#include <charconv>
#include <cstdio>

namespace bihuan {

namespace {
bool parse_int(std::string_view s, int& out) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}
}  // namespace

std::optional<Date> parse_date(std::string_view t) noexcept {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return std::nullopt;
  int y = 0, m = 0, d = 0;
  if (!parse_int(t.substr(0, 4), y) || !parse_int(t.substr(5, 2), m) || !parse_int(t.substr(8, 2), d))
    return std::nullopt;
  Date date{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(m)},
            std::chrono::day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  return date;
}

std::string format_date(Date d) {
  const int y = static_cast<int>(d.year());
  if (d.ok() && y >= 0 && y <= 9999) {  // the usual case, without printf's format parsing
    const auto m = static_cast<unsigned>(d.month()), dd = static_cast<unsigned>(d.day());
    const char out[10] = {static_cast<char>('0' + y / 1000), static_cast<char>('0' + y / 100 % 10),
                          static_cast<char>('0' + y / 10 % 10), static_cast<char>('0' + y % 10), '-',
                          static_cast<char>('0' + m / 10), static_cast<char>('0' + m % 10), '-',
                          static_cast<char>('0' + dd / 10), static_cast<char>('0' + dd % 10)};
    return std::string(out, sizeof out);
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

std::string format_instant(Instant t) {
  auto day = std::chrono::floor<std::chrono::days>(t);
  Date d{day};
  std::chrono::hh_mm_ss hms{t - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return buf;
}

std::optional<Instant> parse_instant(std::string_view t) noexcept {
  // Accepts YYYY-MM-DDTHH:MM:SS[.mmm]Z
  if (t.size() < 20 || t.back() != 'Z' || t[10] != 'T') return std::nullopt;
  auto d = parse_date(t.substr(0, 10));
  if (!d) return std::nullopt;
  int hh = 0, mm = 0, ss = 0, ms = 0;
  if (t[13] != ':' || t[16] != ':') return std::nullopt;
  if (!parse_int(t.substr(11, 2), hh) || !parse_int(t.substr(14, 2), mm) || !parse_int(t.substr(17, 2), ss))
    return std::nullopt;
  if (t.size() == 24) {
    if (t[19] != '.' || !parse_int(t.substr(20, 3), ms)) return std::nullopt;
  } else if (t.size() != 20) {
    return std::nullopt;
  }
  if (hh > 23 || mm > 59 || ss > 60) return std::nullopt;
  return Instant{std::chrono::sys_days{*d}} + std::chrono::hours{hh} + std::chrono::minutes{mm} +
         std::chrono::seconds{ss} + std::chrono::milliseconds{ms};
}

int age_on(Date birth, Date on) noexcept {
  int age = static_cast<int>(on.year()) - static_cast<int>(birth.year());
  if (on.month() < birth.month() || (on.month() == birth.month() && on.day() < birth.day())) --age;
  return age;
}

std::int64_t to_unix_ms(Instant t) noexcept { return t.time_since_epoch().count(); }
Instant from_unix_ms(std::int64_t ms) noexcept { return Instant{std::chrono::milliseconds{ms}}; }

Date LocalTime::date_of(Instant t) const { return Date{std::chrono::floor<std::chrono::days>(t + offset)}; }

Instant LocalTime::start_of(Date d) const { return Instant{std::chrono::sys_days{d}} - offset; }

std::string LocalTime::offset_text() const {
  const auto m = offset.count();
  const auto a = m < 0 ? -m : m;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", m < 0 ? '-' : '+', static_cast<int>(a / 60), static_cast<int>(a % 60));
  return buf;
}

std::string LocalTime::format(Instant t) const {
  const Instant local = t + offset;
  auto day = std::chrono::floor<std::chrono::days>(local);
  Date d{day};
  std::chrono::hh_mm_ss hms{std::chrono::floor<std::chrono::seconds>(local - day)};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf + offset_text();
}

std::optional<LocalTime> parse_local_time(std::string_view text) {
  struct Known {
    std::string_view name;
    int minutes;
  };
  // Zones of China and its neighbours' fixed-offset names; all without daylight saving time.
  static constexpr Known kKnown[] = {
      {"Asia/Shanghai", 480}, {"Asia/Chongqing", 480}, {"Asia/Chungking", 480}, {"Asia/Harbin", 480},
      {"Asia/Hong_Kong", 480}, {"Asia/Macau", 480},    {"Asia/Taipei", 480},    {"PRC", 480},
      {"Asia/Urumqi", 360},   {"Asia/Kashgar", 360},   {"UTC", 0},              {"Etc/UTC", 0},
      {"GMT", 0},             {"Etc/GMT", 0},
  };
  for (const auto& k : kKnown)
    if (text == k.name) return LocalTime{std::string(k.name), std::chrono::minutes{k.minutes}};
  // Fixed offsets: [UTC|GMT]+H, +HH, +HH:MM, +HHMM (sign required).
  std::string_view t = text;
  if (t.substr(0, 3) == "UTC" || t.substr(0, 3) == "GMT") t.remove_prefix(3);
  if (t.size() < 2 || (t[0] != '+' && t[0] != '-')) return std::nullopt;
  const int sign = t[0] == '-' ? -1 : 1;
  t.remove_prefix(1);
  int h = 0, m = 0;
  std::string_view hh = t, mm;
  if (auto colon = t.find(':'); colon != std::string_view::npos) {
    hh = t.substr(0, colon);
    mm = t.substr(colon + 1);
    if (mm.size() != 2) return std::nullopt;
  } else if (t.size() == 4) {
    hh = t.substr(0, 2);
    mm = t.substr(2);
  }
  if (hh.empty() || hh.size() > 2 || !parse_int(hh, h)) return std::nullopt;
  if (!mm.empty() && !parse_int(mm, m)) return std::nullopt;
  if (m > 59 || h * 60 + m > 14 * 60) return std::nullopt;
  return LocalTime{std::string(text), std::chrono::minutes{sign * (h * 60 + m)}};
}

Instant SystemClock::now() const {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

}  // namespace bihuan
