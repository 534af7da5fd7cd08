#include "trace/batch/batch.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>
#include <tuple>
#include <unordered_map>

#include "core/error.hpp"
#include "core/iso_time.hpp"
#include "ingest/csv.hpp"
#include "ingest/encoding.hpp"
#include "store/repository.hpp"
#include "store/scan_queue.hpp"
#include "store/trace_repository.hpp"
#include "trace/partition.hpp"

namespace bihuan::trace {
namespace {

constexpr int kMaxMinutes = 7 * 24 * 60;  // a week: the largest dwell or minimum overlap accepted

[[noreturn]] void row_error(std::string_view file, std::int64_t row, std::string_view field, const std::string& reason) {
  fail(ErrorCode::invalid_argument,
       std::string(file) + ": row " + std::to_string(row) + ", field " + std::string(field) + ": " + reason,
       std::string(field));
}

std::string shown(std::string_view v) {
  std::string s(v.substr(0, 80));
  return "'" + s + (v.size() > 80 ? "...'" : "'");
}

std::optional<int> parse_minutes(std::string_view v) {
  int n = 0;
  const auto* end = v.data() + v.size();
  const auto r = std::from_chars(v.data(), end, n);
  if (v.empty() || r.ec != std::errc{} || r.ptr != end || n < 0 || n > kMaxMinutes) return std::nullopt;
  return n;
}

// A CSV file: its header mapped to the columns a reader needs.
class Table {
 public:
  Table(NamedText file, std::initializer_list<std::string_view> columns) : name_(file.name), reader_(file.text) {
    std::string_view data = file.text;
    if (data.starts_with("\xEF\xBB\xBF")) reader_ = ingest::CsvReader(data.substr(3));
    if (!reader_.next(rec_)) fail(ErrorCode::invalid_argument, std::string(name_) + ": empty file, no header row", "header");
    if (!rec_.error.empty()) row_error(name_, rec_.line, "header", rec_.error);
    for (const auto c : columns) {
      const auto it = std::find(rec_.fields.begin(), rec_.fields.end(), c);
      if (it == rec_.fields.end()) row_error(name_, rec_.line, c, "missing column '" + std::string(c) + "' in the header");
      at_.push_back(static_cast<std::size_t>(it - rec_.fields.begin()));
    }
    width_ = rec_.fields.size();
  }
  bool next() {
    try {
      if (!reader_.next(rec_)) return false;
    } catch (const Error& e) {
      fail(ErrorCode::invalid_argument, std::string(name_) + ": " + e.what(), "row");
    }
    if (!rec_.error.empty()) row_error(name_, rec_.line, "row", rec_.error);
    if (rec_.fields.size() != width_)
      row_error(name_, rec_.line, "row",
                std::to_string(rec_.fields.size()) + " fields where the header has " + std::to_string(width_));
    return true;
  }
  // The k-th requested column of the current row.
  std::string_view operator[](std::size_t k) const { return rec_.fields[at_[k]]; }
  std::int64_t row() const { return rec_.line; }
  std::string_view name() const { return name_; }

 private:
  std::string_view name_;
  ingest::CsvReader reader_;
  ingest::CsvRecord rec_;
  std::vector<std::size_t> at_;
  std::size_t width_ = 0;
};

std::int64_t floor_seconds(Instant t) {
  const std::int64_t ms = to_unix_ms(t);
  return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

class Builder {
 public:
  explicit Builder(const TraceSettings& s) : settings_(s) {}

  PersonId person(std::string_view doc) {
    auto it = persons_.find(std::string(doc));
    if (it != persons_.end()) return it->second;
    const auto id = static_cast<PersonId>(data.persons.size());
    data.persons.emplace_back(doc);
    persons_.emplace(data.persons.back(), id);
    return id;
  }
  std::optional<VenueId> find_venue(std::string_view code) const {
    auto it = venues_.find(std::string(code));
    if (it == venues_.end()) return std::nullopt;
    return it->second;
  }
  VenueId venue(std::string_view code, std::string_view type, int dwell_minutes) {
    const auto id = static_cast<VenueId>(data.venue_codes.size());
    data.venue_codes.emplace_back(code);
    data.venue_types.emplace_back(type);
    int dwell = dwell_minutes;
    if (dwell <= 0) {
      auto it = settings_.dwell_minutes.find(type);
      dwell = it != settings_.dwell_minutes.end() && it->second > 0 ? it->second : settings_.default_dwell_minutes;
    }
    data.dwell_seconds.push_back(std::int64_t{dwell} * 60);
    venues_.emplace(data.venue_codes.back(), id);
    return id;
  }

  TraceData data;

 private:
  const TraceSettings& settings_;
  std::unordered_map<std::string, PersonId> persons_;
  std::unordered_map<std::string, VenueId> venues_;
};

void check_text(const Table& t, std::string_view field, std::string_view v, std::size_t max_len) {
  if (v.empty()) row_error(t.name(), t.row(), field, "empty");
  if (v.size() > max_len) row_error(t.name(), t.row(), field, "longer than " + std::to_string(max_len) + " bytes");
  for (const unsigned char c : v)
    if (c < 0x20 || c == 0x7f) row_error(t.name(), t.row(), field, "control character in " + shown(v));
  if (ingest::first_invalid_utf8(v)) row_error(t.name(), t.row(), field, "not UTF-8 text");
}

std::int64_t instant_field(const Table& t, std::string_view field, std::string_view v) {
  const auto at = parse_iso8601(v);
  if (!at) row_error(t.name(), t.row(), field, "not an ISO 8601 time with an offset or Z: " + shown(v));
  return floor_seconds(*at);
}

}  // namespace

bool valid_venue_type(std::string_view type) noexcept {
  if (type.empty() || type.size() > 32 || type[0] < 'a' || type[0] > 'z') return false;
  return std::all_of(type.begin(), type.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

void parse_type_minutes(std::string_view text, std::string_view flag, std::map<std::string, int, std::less<>>& into) {
  const auto eq = text.find('=');
  const std::string f(flag);
  if (eq == std::string_view::npos) fail(ErrorCode::invalid_argument, f + ": expected TYPE=MINUTES, got " + shown(text), f);
  const auto type = text.substr(0, eq);
  if (!valid_venue_type(type))
    fail(ErrorCode::invalid_argument,
         f + ": venue type " + shown(type) + " is not 1..32 of a-z, 0-9, '_', '-' starting with a letter", f);
  const auto minutes = parse_minutes(text.substr(eq + 1));
  if (!minutes)
    fail(ErrorCode::invalid_argument,
         f + ": " + shown(text.substr(eq + 1)) + " is not a whole number of minutes from 0 to " + std::to_string(kMaxMinutes), f);
  into[std::string(type)] = *minutes;
}

TraceData read_trace_files(NamedText scans, NamedText cases, NamedText venues, const TraceSettings& settings) {
  Builder b(settings);
  if (!venues.name.empty()) {
    Table t(venues, {"code", "type", "dwell_minutes"});
    while (t.next()) {
      const auto code = t[0], type = t[1], dwell = t[2];
      check_text(t, "code", code, 64);
      if (b.find_venue(code)) row_error(t.name(), t.row(), "code", "venue " + shown(code) + " is listed twice");
      if (!valid_venue_type(type))
        row_error(t.name(), t.row(), "type",
                  shown(type) + " is not a venue type (1..32 of a-z, 0-9, '_', '-' starting with a letter)");
      int minutes = 0;
      if (!dwell.empty()) {
        const auto m = parse_minutes(dwell);
        if (!m)
          row_error(t.name(), t.row(), "dwell_minutes",
                    shown(dwell) + " is not a whole number of minutes from 0 to " + std::to_string(kMaxMinutes));
        minutes = *m;
      }
      b.venue(code, type, minutes);
    }
  }
  {
    Table t(cases, {"doc_number", "window_start", "window_end"});
    std::unordered_map<PersonId, std::int64_t> seen;
    while (t.next()) {
      check_text(t, "doc_number", t[0], 64);
      const PersonId p = b.person(t[0]);
      if (auto it = seen.find(p); it != seen.end())
        row_error(t.name(), t.row(), "doc_number", "case " + shown(t[0]) + " is already on row " + std::to_string(it->second));
      seen.emplace(p, t.row());
      const auto from = instant_field(t, "window_start", t[1]);
      const auto to = instant_field(t, "window_end", t[2]);
      if (to < from) row_error(t.name(), t.row(), "window_end", "window ends before it starts");
      b.data.cases.push_back({p, from, to});
    }
  }
  {
    Table t(scans, {"doc_number", "venue_code", "entered_at", "exited_at"});
    while (t.next()) {
      check_text(t, "doc_number", t[0], 64);
      check_text(t, "venue_code", t[1], 64);
      const PersonId p = b.person(t[0]);
      const auto known = b.find_venue(t[1]);
      const VenueId v = known ? *known : b.venue(t[1], "", 0);
      const auto entry = instant_field(t, "entered_at", t[2]);
      std::int64_t duration = b.data.dwell_seconds[v];
      if (!t[3].empty()) {
        const auto exit = instant_field(t, "exited_at", t[3]);
        if (exit < entry) row_error(t.name(), t.row(), "exited_at", "exit " + shown(t[3]) + " is before the entry " + shown(t[2]));
        duration = exit - entry;
        if (duration > std::numeric_limits<std::uint32_t>::max())
          row_error(t.name(), t.row(), "exited_at", "visit longer than 136 years");
      }
      b.data.scans.push_back({v, p, entry, duration});
    }
  }
  return std::move(b.data);
}

TraceData read_trace_db(const std::string& url, TraceSettings& settings) {
  auto repo = store::open_repository(url);
  store::move_scan_queue(*repo);  // a SQLite server's visits still queued (store/scan_queue.hpp) first
  auto tr = store::open_trace_repository(*repo);
  const auto venue_rows = tr->venues();
  // Settings of the types present, where the command line set none.
  auto setting_minutes = [&](const std::string& key) -> std::optional<int> {
    const auto v = repo->setting(key);
    if (!v) return std::nullopt;
    const auto m = parse_minutes(*v);
    if (!m)
      fail(ErrorCode::invalid_argument,
           "setting " + key + ": " + shown(*v) + " is not a whole number of minutes from 0 to " + std::to_string(kMaxMinutes), key);
    return m;
  };
  for (const auto& v : venue_rows) {
    if (!valid_venue_type(v.type)) continue;
    if (!settings.min_overlap_minutes.contains(v.type))
      if (auto m = setting_minutes("trace.min_overlap." + v.type)) settings.min_overlap_minutes[v.type] = *m;
    if (!settings.dwell_minutes.contains(v.type))
      if (auto m = setting_minutes("venue.dwell." + v.type)) settings.dwell_minutes[v.type] = *m;
  }
  Builder b(settings);
  std::unordered_map<std::int64_t, VenueId> venue_of;
  for (const auto& v : venue_rows) {
    const auto dwell = v.dwell_minutes > 0 && v.dwell_minutes <= kMaxMinutes ? static_cast<int>(v.dwell_minutes) : 0;
    venue_of.emplace(v.id, b.venue(v.code, valid_venue_type(v.type) ? v.type : std::string(), dwell));
  }
  // Persons: dense ids in id order.
  std::vector<std::int64_t> person_ids;
  tr->for_each_person_doc([&](std::int64_t id, const std::string& doc) {
    person_ids.push_back(id);
    b.data.persons.push_back(doc);
  });
  auto person_of = [&](std::int64_t id) -> std::optional<PersonId> {
    const auto it = std::lower_bound(person_ids.begin(), person_ids.end(), id);
    if (it == person_ids.end() || *it != id) return std::nullopt;
    return static_cast<PersonId>(it - person_ids.begin());
  };
  auto floor_ms = [](std::int64_t ms) { return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); };
  std::int64_t no_window = 0;
  for (const auto& c : tr->cases()) {
    const auto p = person_of(c.person_id);
    if (!p || !c.window_start_ms || !c.window_end_ms || *c.window_end_ms < *c.window_start_ms) {
      ++no_window;
      continue;
    }
    b.data.cases.push_back({*p, floor_ms(*c.window_start_ms), floor_ms(*c.window_end_ms)});
  }
  std::int64_t unknown = 0, backwards = 0;
  tr->for_each_scan([&](const store::TraceScanRow& r) {
    const auto v = venue_of.find(r.venue_id);
    const auto p = person_of(r.person_id);
    if (v == venue_of.end() || !p) {
      ++unknown;
      return;
    }
    const std::int64_t entry = floor_ms(r.entered_at_ms);
    std::int64_t duration = b.data.dwell_seconds[v->second];
    if (r.exited_at_ms) {
      const std::int64_t exit = floor_ms(*r.exited_at_ms);
      if (exit < entry || exit - entry > std::numeric_limits<std::uint32_t>::max()) {
        ++backwards;
        return;
      }
      duration = exit - entry;
    }
    b.data.scans.push_back({v->second, *p, entry, duration});
  });
  if (no_window)
    b.data.notes.push_back(std::to_string(no_window) + " cases without an exposure window (window_start/window_end) left out");
  if (unknown) b.data.notes.push_back(std::to_string(unknown) + " scans of unknown venues or persons left out");
  if (backwards) b.data.notes.push_back(std::to_string(backwards) + " scans with an exit before the entry left out");
  return std::move(b.data);
}

std::vector<ContactHit> run_trace(const TraceData& data, const TraceSettings& settings, int rank, int ranks,
                                  TraceStats* stats) {
  const std::size_t venues = data.venue_codes.size();
  std::vector<int> owner(venues, 0);
  if (ranks > 1) {
    std::vector<std::uint64_t> load(venues, 0);
    for (const auto& s : data.scans) ++load[s.venue];
    owner = balance_venues(load, ranks);
  }
  std::int64_t base = 0;
  if (!data.scans.empty()) {
    base = data.scans.front().entry;
    for (const auto& s : data.scans) base = std::min(base, s.entry);
  }
  VisitIndex index(base);
  for (const auto& s : data.scans)
    if (owner[s.venue] == rank) index.add(s.venue, s.person, s.entry, s.duration);
  // The cases' own visits at this rank's venues.
  std::vector<CaseQuery> queries(data.cases.size());
  std::unordered_map<PersonId, std::vector<std::uint32_t>> case_of;
  for (std::size_t i = 0; i < data.cases.size(); ++i) {
    queries[i].person = data.cases[i].person;
    queries[i].window_start = data.cases[i].window_start;
    queries[i].window_end = data.cases[i].window_end;
    case_of[data.cases[i].person].push_back(static_cast<std::uint32_t>(i));
  }
  for (const auto& s : data.scans) {
    if (owner[s.venue] != rank) continue;
    auto it = case_of.find(s.person);
    if (it == case_of.end()) continue;
    for (const auto c : it->second) queries[c].visits.push_back({s.venue, s.entry, s.entry + s.duration});
  }
  OverlapRule rule;
  rule.default_seconds = std::int64_t{settings.default_min_overlap_minutes} * 60;
  rule.min_overlap_seconds.resize(venues, rule.default_seconds);
  for (std::size_t v = 0; v < venues; ++v) {
    auto it = settings.min_overlap_minutes.find(data.venue_types[v]);
    if (it != settings.min_overlap_minutes.end()) rule.min_overlap_seconds[v] = std::int64_t{it->second} * 60;
  }
  if (stats) {
    stats->indexed_visits = index.visits();
    stats->index_bytes = index.memory_bytes();
  }
  return find_contacts(index, queries, rule);
}

namespace {

void sort_for_output(const TraceData& data, std::vector<ContactHit>& hits) {
  std::sort(hits.begin(), hits.end(), [&](const ContactHit& a, const ContactHit& b) {
    const auto& ca = data.persons[data.cases[a.case_index].person];
    const auto& cb = data.persons[data.cases[b.case_index].person];
    if (ca != cb) return ca < cb;
    const auto& pa = data.persons[a.contact];
    const auto& pb = data.persons[b.contact];
    if (pa != pb) return pa < pb;
    const auto& va = data.venue_codes[a.venue];
    const auto& vb = data.venue_codes[b.venue];
    if (va != vb) return va < vb;
    // Equal strings (two persons with one document number of different kinds): by id, so the
    // order does not depend on how the hits arrived.
    return std::tie(a.case_index, a.contact, a.venue) < std::tie(b.case_index, b.contact, b.venue);
  });
}

}  // namespace

std::string contacts_json(const TraceData& data, std::vector<ContactHit> hits) {
  sort_for_output(data, hits);
  std::string out = "{\"contacts\":[";
  for (std::size_t i = 0; i < hits.size(); ++i) {
    const auto& h = hits[i];
    if (i) out += ',';
    out += "{\"case\":";
    out += nlohmann::json(data.persons[data.cases[h.case_index].person]).dump();
    out += ",\"contact\":";
    out += nlohmann::json(data.persons[h.contact]).dump();
    out += ",\"venue\":";
    out += nlohmann::json(data.venue_codes[h.venue]).dump();
    out += ",\"overlap_minutes\":";
    out += std::to_string(h.overlap_seconds / 60);
    out += '}';
  }
  out += "]}";
  return out;
}

std::string contacts_text(const TraceData& data, std::vector<ContactHit> hits) {
  sort_for_output(data, hits);
  std::string out = "case\tcontact\tvenue\toverlap_minutes\n";
  for (const auto& h : hits)
    out += data.persons[data.cases[h.case_index].person] + "\t" + data.persons[h.contact] + "\t" +
           data.venue_codes[h.venue] + "\t" + std::to_string(h.overlap_seconds / 60) + "\n";
  return out;
}

}  // namespace bihuan::trace
