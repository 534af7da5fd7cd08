#pragma once
// ISO 8601 instants as exchanged in files: "2026-11-29T08:15:00+08:00", "...Z", with optional
// fractional seconds ("08:15:00.250+08:00") and offsets "+HH:MM", "+HHMM" or "+HH" (|offset| <=
// 14 h). The date and the time must both be there, separated by 'T' (or one space), and the
// offset or Z is required: a time without one is ambiguous and rejected. (date.hpp's
// parse_instant reads bihuan's own UTC form only.)
#include <optional>
#include <string_view>

#include "core/date.hpp"

namespace bihuan {

std::optional<Instant> parse_iso8601(std::string_view text) noexcept;

}  // namespace bihuan
