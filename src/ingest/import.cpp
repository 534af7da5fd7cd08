#include "ingest/import.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <chrono>
#include <charconv>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "ingest/csv.hpp"
#include "ingest/encoding.hpp"
#include "ingest/fields.hpp"
#include "metrics/metrics.hpp"

namespace bihuan::ingest {

const char* to_string(ImportKind k) {
  switch (k) {
    case ImportKind::persons: return "persons";
    case ImportKind::households: return "households";
    case ImportKind::venues: return "venues";
    case ImportKind::orgs: return "orgs";
  }
  return "unknown";
}

const char* to_string(ImportMode m) {
  return m == ImportMode::valid_rows ? "valid-rows" : "all-or-nothing";
}

bool import_kind_from(std::string_view s, ImportKind& out) {
  for (auto k : {ImportKind::persons, ImportKind::households, ImportKind::venues, ImportKind::orgs}) {
    if (s == to_string(k)) {
      out = k;
      return true;
    }
  }
  return false;
}

std::string errors_csv(const ImportReport& r) {
  CsvWriter w;
  w.row({"row", "column", "value", "reason"});
  for (const auto& e : r.errors) {
    w.number(e.row).text(e.column).text(e.value).text(e.reason);
    w.end_row();
  }
  return w.take();
}

namespace {

Instant clock_now() { return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now()); }

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// Whether process `pid` of this host still runs (a zombie, killed but not yet reaped, does not).
bool process_alive(std::int64_t pid) {
  if (pid <= 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (stat) {
    std::string line;
    std::getline(stat, line);
    const auto paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size()) {
      const char state = line[paren + 2];
      return state != 'Z' && state != 'X' && state != 'x';
    }
    return true;
  }
  return kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// Lookups of referenced rows, cached for the whole import (they are few and repeat a lot).
class RefCache {
 public:
  RefCache(store::Repository& repo, store::ImportRepository& runs) : repo_(repo), runs_(runs) {}
  std::int64_t run_id = 0;

  // Level of an existing area, nullopt if no such area.
  std::optional<AreaLevel> area_level(const std::string& code) {
    auto it = areas_.find(code);
    if (it == areas_.end()) {
      auto a = repo_.area(code);
      it = areas_.emplace(code, a ? std::optional<AreaLevel>(a->level) : std::nullopt).first;
    }
    return it->second;
  }
  const Household* household(const std::string& no) {
    auto it = households_.find(no);
    if (it == households_.end())
      it = households_.emplace(no, repo_.household_by_no(no, Scope::everything())).first;
    return it->second ? &*it->second : nullptr;
  }
  std::int64_t org_id(const std::string& code) {
    auto it = orgs_.find(code);
    if (it == orgs_.end()) {
      auto o = repo_.org_by_code(code);
      it = orgs_.emplace(code, o ? o->id : 0).first;
    }
    return it->second;
  }
  std::int64_t building_id(const std::string& area, const std::string& address) {
    const std::string key = area + '\x1f' + address;
    auto it = buildings_.find(key);
    if (it == buildings_.end()) {
      Building b;
      b.area_code = area;
      b.address = address;
      it = buildings_.emplace(key, runs_.write_building(run_id, b)).first;
    }
    return it->second;
  }
  // Forget what the database said (after a rolled-back write, cached ids may be gone).
  void forget_writes() { buildings_.clear(); }

 private:
  store::Repository& repo_;
  store::ImportRepository& runs_;
  std::unordered_map<std::string, std::optional<AreaLevel>> areas_;
  std::unordered_map<std::string, std::optional<Household>> households_;
  std::unordered_map<std::string, std::int64_t> orgs_;
  std::unordered_map<std::string, std::int64_t> buildings_;
};

// One import run: validates rows and converts them to model values; writes batches.
class Importer {
 public:
  Importer(store::Repository& repo, store::ImportRepository& runs, const ImportOptions& opt, std::string_view text,
           const HeaderMap& header)
      : repo_(repo), runs_(runs), opt_(opt), text_(text), header_(header), refs_(repo, runs),
        batch_target_(opt.batch_time.count() > 0 ? std::min<std::size_t>(opt.batch_rows, 500) : opt.batch_rows) {}

  void set_run(std::int64_t id) {
    run_id_ = id;
    refs_.run_id = id;
  }

  // One pass over the data rows. write=false: validate only. write=true: also write each batch
  // of valid rows (the caller decides about the surrounding transaction).
  void pass(bool write, std::uint64_t progress_base, std::uint64_t progress_total, ImportReport& report) {
    CsvReader reader(text_);
    CsvRecord rec;
    reader.next(rec);  // header, already mapped
    std::size_t last_progress = 0;
    while (reader.next(rec)) {
      ++rows_;
      const std::size_t before = errors_.size();
      process_row(rec);
      if (errors_.size() != before) {
        ++rejected_;
        if (write && !keep_write_errors) {
          // All-or-nothing: the validation pass accepted this row, so the database changed under
          // the import. Abort; the surrounding transaction rolls everything back.
          const RowError& e = errors_[before];
          fail(ErrorCode::conflict, "row " + std::to_string(e.row) + " became invalid during the import: " +
                                        e.column + " " + e.reason);
        }
      }
      if (write && pending() >= batch_target_) flush(report);
      if (!write && opt_.checkpoint && rows_ % static_cast<std::int64_t>(opt_.batch_rows) == 0) opt_.checkpoint();
      if (opt_.progress && reader.offset() - last_progress >= (1u << 20)) {
        last_progress = reader.offset();
        opt_.progress(progress_base + reader.offset(), progress_total);
      }
    }
    if (write) flush(report);
    if (opt_.progress) opt_.progress(progress_base + reader.offset(), progress_total);
  }

  std::int64_t rows() const { return rows_; }
  std::int64_t rejected() const { return rejected_; }
  std::vector<RowError>& errors() { return errors_; }
  void reset_counts() {
    rows_ = 0;
    rejected_ = 0;
  }
  // Valid-rows mode: errors found while writing are collected too.
  bool keep_write_errors = false;

 private:
  // --- helpers
  // Whether the file has the column.
  bool has(std::size_t key) const { return header_.index[key] >= 0; }
  std::string_view get(const CsvRecord& rec, std::size_t key) const {
    const int c = header_.index[key];
    if (c < 0 || static_cast<std::size_t>(c) >= rec.fields.size()) return {};
    return trim(rec.fields[static_cast<std::size_t>(c)]);
  }
  const std::string& col(std::size_t key) const {
    static const std::string none;
    const int c = header_.index[key];
    return c < 0 ? none : header_.names[static_cast<std::size_t>(c)];
  }
  void error(const CsvRecord& rec, std::size_t key, std::string_view value, std::string reason) {
    errors_.push_back(RowError{rec.line, col(key), std::string(value), std::move(reason)});
  }
  void row_error(const CsvRecord& rec, std::string reason) {
    errors_.push_back(RowError{rec.line, "", "", std::move(reason)});
  }
  // Checks a file-level unique key; true if this row is the first with the key.
  bool unique_in_file(const CsvRecord& rec, std::size_t key, std::string_view shown, std::string k) {
    auto [it, inserted] = seen_.emplace(std::move(k), rec.line);
    if (!inserted && it->second != rec.line) {
      error(rec, key, shown, "duplicate of row " + std::to_string(it->second));
      return false;
    }
    return true;
  }
  // Inside an area scope; an empty prefix sees nothing (fail closed, as the repository does).
  bool in_scope_area(std::string_view code) const {
    return !opt_.scope.area_prefix.empty() && in_subtree(code, opt_.scope.area_prefix);
  }
  // Resolves an area code column: canonical form of an existing area, or "" after an error.
  std::string area(const CsvRecord& rec, std::size_t key, std::string_view value, bool households_live_here) {
    auto code = canonical_area_code(value);
    if (!code) {
      error(rec, key, value, "malformed area code (2, 4, 6, 9, 12 or 15 digits)");
      return {};
    }
    auto level = refs_.area_level(*code);
    if (!level) {
      error(rec, key, value, "unknown area code");
      return {};
    }
    if (households_live_here && *level != AreaLevel::grid && *level != AreaLevel::community) {
      error(rec, key, value, "area must be a community or a grid");
      return {};
    }
    if (opt_.scope.kind == Scope::Kind::area && !in_scope_area(*code)) {
      error(rec, key, value, "outside your jurisdiction " + opt_.scope.area_prefix);
      return {};
    }
    return *code;
  }
  bool structural(const CsvRecord& rec) {
    if (!rec.error.empty()) {
      row_error(rec, rec.error);
      return false;
    }
    if (rec.fields.size() > static_cast<std::size_t>(header_.width)) {
      for (std::size_t i = static_cast<std::size_t>(header_.width); i < rec.fields.size(); ++i) {
        if (!trim(rec.fields[i]).empty()) {
          row_error(rec, "row has " + std::to_string(rec.fields.size()) + " fields but the header has " +
                             std::to_string(header_.width));
          return false;
        }
      }
    }
    return true;
  }

  void process_row(const CsvRecord& rec) {
    if (!structural(rec)) return;
    switch (opt_.kind) {
      case ImportKind::persons: person_row(rec); break;
      case ImportKind::households: household_row(rec); break;
      case ImportKind::venues: venue_row(rec); break;
      case ImportKind::orgs: org_row(rec); break;
    }
  }

  // --- persons
  enum P : std::size_t { p_id, p_doc_type, p_nat, p_name, p_sex, p_birth, p_phone, p_hh, p_area, p_addr, p_work };

  void person_row(const CsvRecord& rec) {
    const std::size_t before = errors_.size();
    Person p;
    std::string_view v;

    v = get(rec, p_doc_type);
    if (!v.empty()) {
      if (auto t = parse_doc_type(v)) p.doc_type = *t;
      else error(rec, p_doc_type, v, "unknown document type (居民身份证, 护照, 港澳居民来往内地通行证, ...)");
    }
    v = get(rec, p_nat);
    if (!v.empty()) {
      if (auto n = parse_nationality(v)) p.nationality = *n;
      else error(rec, p_nat, v, "unknown nationality (ISO 3166 alpha-3 code such as CHN, USA)");
    } else if (p.doc_type == DocType::passport || p.doc_type == DocType::foreigner_permit) {
      error(rec, p_nat, v, "nationality is required for a passport or foreigner permit");
    }

    std::optional<Date> id_birth;
    std::optional<Sex> id_sex;
    v = get(rec, p_id);
    if (!v.empty() && v.front() == '\'') v = trim(v.substr(1));  // Excel's text marker
    if (v.empty()) {
      error(rec, p_id, v, "required");
    } else if (p.doc_type == DocType::resident_id) {
      try {
        ResidentId id = parse_resident_id(v, opt_.today, col(p_id));
        p.doc_number = id.number;
        id_birth = id.birth_date;
        id_sex = id.sex;
        if (p.nationality != "CHN") error(rec, p_nat, p.nationality, "a resident ID number belongs to a Chinese national (CHN)");
      } catch (const Error& e) {
        error(rec, p_id, v, e.what());
      }
    } else {
      if (auto d = normalize_doc_number(v)) p.doc_number = *d;
      else error(rec, p_id, v, "document number must be 5 to 20 letters, digits or hyphens");
    }

    v = get(rec, p_name);
    if (v.empty()) error(rec, p_name, v, "required");
    else if (v.size() > 100) error(rec, p_name, v, "longer than 100 bytes");
    else p.name = v;

    v = get(rec, p_sex);
    if (!v.empty()) {
      auto s = parse_sex(v);
      if (!s) error(rec, p_sex, v, "expected 男 or 女 (male or female)");
      else if (id_sex && *s != *id_sex)
        error(rec, p_sex, v, std::string("does not match the ID number (") + (*id_sex == Sex::male ? "男" : "女") + ")");
      else p.sex = *s;
    } else if (!id_sex && !p.doc_number.empty()) {
      error(rec, p_sex, v, "required when the document is not a resident ID");
    }
    if (id_sex) p.sex = *id_sex;

    v = get(rec, p_birth);
    if (!v.empty()) {
      auto d = parse_flexible_date(v);
      if (!d) error(rec, p_birth, v, "expected a date YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD");
      else if (id_birth && *d != *id_birth)
        error(rec, p_birth, v, "does not match the ID number (" + format_date(*id_birth) + ")");
      else if (*d > opt_.today) error(rec, p_birth, v, "in the future");
      else p.birth_date = *d;
    } else if (!id_birth && !p.doc_number.empty()) {
      error(rec, p_birth, v, "required when the document is not a resident ID");
    }
    if (id_birth) p.birth_date = *id_birth;

    v = get(rec, p_phone);
    if (!v.empty()) {
      std::string why;
      if (auto ph = normalize_phone(v, &why)) p.phone = *ph;
      else error(rec, p_phone, v, why);
    }

    const Household* hh = nullptr;
    v = get(rec, p_hh);
    if (!v.empty()) {
      hh = refs_.household(std::string(v));
      if (!hh) error(rec, p_hh, v, "unknown household number (import the households first)");
      else p.household_id = hh->id;
    }

    store::PersonFields fields;
    fields.phone = has(p_phone);
    fields.household = has(p_hh);
    fields.workplace = has(p_work);
    v = get(rec, p_area);
    if (!v.empty()) {
      p.area_code = area(rec, p_area, v, true);
    } else if (hh) {
      p.area_code = hh->area_code;
    } else if (!has(p_area) && !p.doc_number.empty() && repo_.person_by_doc(p.doc_number, Scope::everything())) {
      fields.area = false;  // no area column: a registered person keeps the stored one
    } else {
      error(rec, p_area, v, "required when no household number is given");
    }

    v = get(rec, p_addr);
    if (!v.empty()) p.address = v;
    else if (hh) p.address = hh->address;
    else fields.address = has(p_addr);

    v = get(rec, p_work);
    if (!v.empty()) {
      const std::int64_t org = refs_.org_id(std::string(v));
      if (org == 0) error(rec, p_work, v, "unknown organisation code");
      else p.workplace_org_id = org;
    }

    if (opt_.scope.kind == Scope::Kind::org && p.workplace_org_id != opt_.scope.org_id)
      error(rec, p_work, get(rec, p_work), "an organisation imports only its own staff: the workplace must be your organisation");
    if (opt_.scope.kind != Scope::Kind::all && !p.doc_number.empty()) {
      // One lookup: an existing record must already lie inside the importer's jurisdiction.
      if (auto known = repo_.person_by_doc(p.doc_number, Scope::everything())) {
        const bool inside = opt_.scope.kind == Scope::Kind::area ? in_scope_area(known->area_code)
                                                                 : known->workplace_org_id == opt_.scope.org_id;
        // The same words as POST /api/persons' 409 (registry/service.cpp), whether the record
        // lies in another grid, district or city: existence is unavoidable with unique ID
        // numbers, where the person lives is not told (docs/SECURITY.md, threat model).
        if (!inside)
          error(rec, p_id, get(rec, p_id),
                "this document number cannot be registered here; if the person moved into your area, ask the "
                "command centre to check the record (协查)");
      }
    }

    if (!p.doc_number.empty()) {
      std::string key = std::to_string(static_cast<int>(p.doc_type));
      key += '|';
      key += p.nationality;
      key += '|';
      key += p.doc_number;
      unique_in_file(rec, p_id, get(rec, p_id), std::move(key));
    }
    if (errors_.size() == before) {
      persons_.push_back(std::move(p));
      person_fields_.push_back(fields);
      lines_.push_back(rec.line);
    }
  }

  // --- households
  enum H : std::size_t { h_no, h_area, h_addr, h_building };

  void household_row(const CsvRecord& rec) {
    const std::size_t before = errors_.size();
    Household h;
    std::string_view v = get(rec, h_no);
    if (v.empty()) error(rec, h_no, v, "required");
    else if (v.size() > 40) error(rec, h_no, v, "longer than 40 characters");
    else if (unique_in_file(rec, h_no, v, std::string(v))) h.household_no = v;
    v = get(rec, h_area);
    if (v.empty()) error(rec, h_area, v, "required");
    else h.area_code = area(rec, h_area, v, true);
    v = get(rec, h_addr);
    if (v.empty()) error(rec, h_addr, v, "required");
    else h.address = v;
    if (errors_.size() == before) {
      households_.push_back(std::move(h));
      buildings_.emplace_back(get(rec, h_building));
      lines_.push_back(rec.line);
    }
  }

  // --- venues
  // The code (unique in the file), name and area columns of every venue and organisation row.
  template <typename T>
  void code_name_area(const CsvRecord& rec, std::size_t k_code, std::size_t k_name, std::size_t k_area, T& x) {
    std::string_view v = get(rec, k_code);
    if (v.empty()) error(rec, k_code, v, "required");
    else if (v.size() > 64) error(rec, k_code, v, "longer than 64 characters");
    else if (unique_in_file(rec, k_code, v, std::string(v))) x.code = v;
    v = get(rec, k_name);
    if (v.empty()) error(rec, k_name, v, "required");
    else x.name = v;
    v = get(rec, k_area);
    if (v.empty()) error(rec, k_area, v, "required");
    else x.area_code = area(rec, k_area, v, false);
  }

  enum V : std::size_t { v_code, v_name, v_type, v_area, v_addr, v_cap, v_encl };

  void venue_row(const CsvRecord& rec) {
    const std::size_t before = errors_.size();
    Venue x;
    code_name_area(rec, v_code, v_name, v_area, x);
    std::string_view v = get(rec, v_type);
    if (auto t = parse_venue_type(v)) x.type = *t;
    else error(rec, v_type, v, "unknown venue type (餐馆, 超市, 农贸市场, 学校, ... or restaurant, supermarket, ...)");
    x.address = get(rec, v_addr);
    v = get(rec, v_cap);
    if (!v.empty()) {
      int cap = -1;
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), cap);
      if (ec != std::errc{} || ptr != v.data() + v.size() || cap < 0 || cap > 10'000'000)
        error(rec, v_cap, v, "expected a whole number 0..10000000");
      else x.capacity = cap;
    }
    v = get(rec, v_encl);
    if (!v.empty()) {
      if (auto b = parse_yes_no(v)) x.enclosed = *b;
      else error(rec, v_encl, v, "expected 是 or 否 (true or false)");
    }
    if (errors_.size() == before) {
      venues_.push_back(std::move(x));
      lines_.push_back(rec.line);
    }
  }

  // --- orgs
  enum O : std::size_t { o_code, o_name, o_kind, o_area, o_addr, o_phone };

  void org_row(const CsvRecord& rec) {
    const std::size_t before = errors_.size();
    Org x;
    code_name_area(rec, o_code, o_name, o_area, x);
    std::string_view v = get(rec, o_kind);
    if (auto k = parse_org_kind(v)) x.kind = *k;
    else error(rec, o_kind, v, "unknown organisation type (疾控中心, 口岸, 隔离点, 企业, ... or cdc, port, ...)");
    x.address = get(rec, o_addr);
    v = get(rec, o_phone);
    if (!v.empty()) {
      std::string why;
      if (auto ph = normalize_phone(v, &why)) x.phone = *ph;
      else error(rec, o_phone, v, why);
    }
    if (errors_.size() == before) {
      orgs_.push_back(std::move(x));
      lines_.push_back(rec.line);
    }
  }

  // --- writing
  std::size_t pending() const { return lines_.size(); }

  void add(store::UpsertStats& to, const store::UpsertStats& s) {
    to.inserted += s.inserted;
    to.updated += s.updated;
    to.unchanged += s.unchanged;
  }

  // Writes the pending rows under the run; conflicts go to `found` (reported after commit).
  store::UpsertStats write_batch(std::vector<RowError>& found) {
    store::UpsertStats st;
    runs_.heartbeat(run_id_, clock_now());
    switch (opt_.kind) {
      case ImportKind::persons: {
        std::vector<store::ConflictFound> conflicts;
        add(st, runs_.write_persons(run_id_, persons_, person_fields_, lines_, conflicts));
        for (const auto& c : conflicts) found.push_back(conflict_error(lines_[c.index], persons_[c.index], c));
        break;
      }
      case ImportKind::households: {
        store::HouseholdFields f;
        f.building = has(h_building);
        for (std::size_t i = 0; i < households_.size(); ++i)
          if (!buildings_[i].empty())
            households_[i].building_id = refs_.building_id(households_[i].area_code, buildings_[i]);
        add(st, runs_.write_households(run_id_, households_, f));
        break;
      }
      case ImportKind::venues: {
        store::VenueFields f;
        f.address = has(v_addr);
        f.capacity = has(v_cap);
        f.enclosed = has(v_encl);
        add(st, runs_.write_venues(run_id_, venues_, f));
        break;
      }
      case ImportKind::orgs: {
        store::OrgFields f;
        f.address = has(o_addr);
        f.phone = has(o_phone);
        add(st, runs_.write_orgs(run_id_, orgs_, f));
        break;
      }
    }
    return st;
  }

  RowError conflict_error(std::int64_t line, const Person& p, const store::ConflictFound& c) {
    RowError e;
    e.row = line;
    std::string names;
    for (const auto& f : c.fields) {
      names += (names.empty() ? "" : ", ") + f;
      if (e.column.empty()) {
        const std::size_t key = f == "name" ? p_name : f == "sex" ? p_sex : p_birth;
        e.column = has(key) ? col(key) : f;
        e.value = f == "name" ? p.name : f == "sex" ? std::string(p.sex == Sex::male ? "男" : "女") : format_date(p.birth_date);
      }
    }
    e.reason = "identity conflict: this ID number is registered as person " + std::to_string(c.person_id) +
               " with a different " + names + "; not written, recorded for review";
    return e;
  }

  // One write batch: its own transaction, timed. The next batch is sized so that a batch holds
  // the write lock for about opt_.batch_time (between 50 rows and batch_rows).
  void write_timed(std::vector<RowError>& found, store::UpsertStats& st) {
    static auto& held = metrics::histogram("bihuan_import_batch_seconds",
                                           "Time an import write batch held its transaction (the write lock)");
    const std::size_t rows = lines_.size();
    const auto t0 = std::chrono::steady_clock::now();
    repo_.transaction([&] { st = write_batch(found); });
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    held.observe(took);
    const double budget = std::chrono::duration<double>(opt_.batch_time).count();
    if (budget > 0 && rows > 0) {
      const double fit = static_cast<double>(rows) * budget / std::max(took, 1e-4);
      const double lo = static_cast<double>(std::min<std::size_t>(50, opt_.batch_rows));
      const double hi = static_cast<double>(opt_.batch_rows);
      // Halfway towards the fit: one slow batch (a checkpoint, a busy disk) does not swing it.
      batch_target_ = static_cast<std::size_t>(
          std::clamp((static_cast<double>(batch_target_) + std::clamp(fit, lo, hi)) / 2.0, lo, hi));
    }
  }

  void flush(ImportReport& report) {
    if (lines_.empty()) return;
    if (opt_.checkpoint) opt_.checkpoint();
    if (!keep_write_errors) {
      std::vector<RowError> found;
      store::UpsertStats st;
      write_timed(found, st);
      commit_batch(report, st, found);
    } else {
      // Valid-rows mode: a batch the store refuses is reported row by row; others still go in.
      try {
        std::vector<RowError> found;
        store::UpsertStats st;
        write_timed(found, st);
        commit_batch(report, st, found);
      } catch (const Error& e) {
        refs_.forget_writes();
        for (auto line : lines_)
          errors_.push_back(RowError{line, "", "", std::string("not stored: ") + e.what()});
        rejected_ += static_cast<std::int64_t>(lines_.size());
        write_failures_ += static_cast<std::int64_t>(lines_.size());
      }
    }
    clear_pending();
  }

  void commit_batch(ImportReport& report, const store::UpsertStats& st, std::vector<RowError>& found) {
    add(report.stats, st);
    for (auto& e : found) report.conflicts.push_back(std::move(e));
  }

 public:
  std::int64_t write_failures() const { return write_failures_; }
  void clear_pending() {
    persons_.clear();
    person_fields_.clear();
    households_.clear();
    buildings_.clear();
    venues_.clear();
    orgs_.clear();
    lines_.clear();
  }

 private:
  store::Repository& repo_;
  store::ImportRepository& runs_;
  std::int64_t run_id_ = 0;
  const ImportOptions& opt_;
  std::string_view text_;
  const HeaderMap& header_;
  RefCache refs_;
  std::unordered_map<std::string, std::int64_t> seen_;  // file-level unique key -> first row
  std::vector<RowError> errors_;
  std::int64_t rows_ = 0;
  std::int64_t rejected_ = 0;
  std::int64_t write_failures_ = 0;
  std::vector<Person> persons_;
  std::vector<store::PersonFields> person_fields_;
  std::vector<Household> households_;
  std::vector<std::string> buildings_;
  std::vector<Venue> venues_;
  std::vector<Org> orgs_;
  std::vector<std::int64_t> lines_;
  std::size_t batch_target_ = 0;  // rows of the next write batch
};

}  // namespace

namespace {

// Puts back every row of the run, batch by batch (each its own short transaction).
void revert_run(store::Repository& repo, store::ImportRepository& runs, std::int64_t run_id) {
  constexpr int kRevertBatch = 2000;
  for (;;) {
    std::int64_t n = 0;
    repo.transaction([&] { n = runs.revert_rows(run_id, kRevertBatch); });
    if (n == 0) return;
  }
}

void fill_counts(store::ImportRun& run, const ImportReport& r) {
  run.total_rows = r.total_rows;
  run.accepted = r.accepted;
  run.rejected = r.rejected;
  run.inserted = r.stats.inserted;
  run.updated = r.stats.updated;
  run.unchanged = r.stats.unchanged;
  run.conflicts = static_cast<std::int64_t>(r.conflicts.size());
}

}  // namespace

ImportReport run_import(store::Repository& repo, std::string_view data, const ImportOptions& opt) {
  ImportReport report;
  report.kind = opt.kind;
  report.mode = opt.mode;
  if (opt.batch_rows == 0) fail(ErrorCode::invalid_argument, "batch_rows must be positive", "batch_rows");

  std::string storage;
  const std::string_view text = decode_text(data, opt.encoding, storage);

  CsvReader reader(text);
  CsvRecord header;
  if (!reader.next(header)) fail(ErrorCode::invalid_argument, "line 1: the file is empty (no header row)", "line 1");
  if (!header.error.empty())
    fail(ErrorCode::invalid_argument, "line " + std::to_string(header.line) + ": " + header.error,
         "line " + std::to_string(header.line));
  const HeaderMap map = map_header(opt.kind, header.fields);

  auto runs = store::open_import_repository(repo);
  store::ImportRun run;
  run.job_id = opt.job_id;
  run.kind = to_string(opt.kind);
  run.mode = to_string(opt.mode);
  run.file_name = opt.file_name;
  run.created_by = opt.created_by;
  run.created_at = clock_now();
  run.owner_host = host_name();
  run.owner_pid = static_cast<std::int64_t>(getpid());

  Importer imp(repo, *runs, opt, text, map);
  const std::uint64_t size = text.size();
  if (opt.mode == ImportMode::all_or_nothing) {
    // Validate everything first: nothing is written while any row is bad.
    imp.pass(false, 0, 2 * size, report);
    report.total_rows = imp.rows();
    report.rejected = imp.rejected();
    report.accepted = report.total_rows - report.rejected;
    report.errors = std::move(imp.errors());
    if (report.rejected > 0) {
      report.accepted = 0;
      run.status = "rejected";
      fill_counts(run, report);
      run.finished_at = clock_now();
      repo.transaction([&] {
        run.id = runs->create_run(run);
        runs->finish_run(run);
      });
      report.run_id = run.id;
      return report;  // nothing written
    }
    imp.clear_pending();
    imp.reset_counts();
  } else {
    imp.keep_write_errors = true;
  }

  run.id = runs->create_run(run);
  report.run_id = run.id;
  imp.set_run(run.id);
  try {
    if (opt.mode == ImportMode::all_or_nothing) {
      imp.pass(true, size, 2 * size, report);
    } else {
      imp.pass(true, 0, size, report);
      report.total_rows = imp.rows();
      report.rejected = imp.rejected();
      report.accepted = report.total_rows - report.rejected;
      report.errors = std::move(imp.errors());
      std::stable_sort(report.errors.begin(), report.errors.end(),
                       [](const RowError& a, const RowError& b) { return a.row < b.row; });
    }
  } catch (...) {
    // A late failure: put back what the run wrote; if that fails too, the run stays `running`
    // and the next start (roll_back_unfinished_runs) finishes the job.
    try {
      revert_run(repo, *runs, run.id);
      run.status = "failed";
      run.finished_at = clock_now();
      runs->finish_run(run);
    } catch (...) {
    }
    throw;
  }
  report.committed = opt.mode == ImportMode::all_or_nothing || report.accepted > 0;
  run.status = report.committed ? "committed" : "rejected";
  fill_counts(run, report);
  run.finished_at = clock_now();
  runs->finish_run(run);
  return report;
}

int roll_back_unfinished_runs(store::Repository& repo, Instant now, bool with_jobs) {
  auto runs = store::open_import_repository(repo);
  const std::string me = host_name();
  int n = 0;
  for (const auto& rr : runs->running_runs()) {
    const auto& r = rr.run;
    bool stale = false;
    if (r.job_id != 0) {
      stale = with_jobs && rr.job_status != "running";
    } else {
      stale = r.owner_pid == 0 || (r.owner_host == me && !process_alive(r.owner_pid)) ||
              r.heartbeat_at + kRunLease < now;
    }
    if (!stale) continue;
    revert_run(repo, *runs, r.id);
    auto back = runs->run(r.id);
    if (!back || back->status != "running") continue;
    back->status = "failed";
    back->finished_at = now;
    back->inserted = back->updated = back->unchanged = 0;
    runs->finish_run(*back);
    ++n;
  }
  return n;
}

namespace {

store::ImportRun undoable(store::ImportRepository& runs, std::int64_t run_id) {
  auto r = runs.run(run_id);
  if (!r) fail(ErrorCode::not_found, "no such import run: " + std::to_string(run_id), "id");
  if (r->status != "committed")
    fail(ErrorCode::conflict, "import run " + std::to_string(run_id) + " is " + r->status + "; only a committed run can be undone",
         "id");
  // An arrival manifest's run records the manifest and its held travellers; its orders are
  // closed in the loop (released or handed over), not undone here.
  if (r->kind == "manifest")
    fail(ErrorCode::conflict, "import run " + std::to_string(run_id) + " is an arrival manifest: its orders are closed in the loop, not undone",
         "id");
  auto blockers = runs.undo_blockers(run_id, 20);
  if (!blockers.empty()) {
    std::string msg = "import run " + std::to_string(run_id) + " cannot be undone: ";
    for (std::size_t i = 0; i < blockers.size(); ++i) msg += (i ? "; " : "") + blockers[i];
    if (blockers.size() == 20) msg += "; ...";
    fail(ErrorCode::conflict, msg, "id");
  }
  return *r;
}

}  // namespace

void check_undoable(store::Repository& repo, std::int64_t run_id) {
  auto runs = store::open_import_repository(repo);
  undoable(*runs, run_id);
}

store::ImportRun undo_import_run(store::Repository& repo, std::int64_t run_id, std::int64_t by, Instant at,
                                 store::AuditRecord audit,
                                 const std::function<void(std::int64_t, std::int64_t)>& after_batch) {
  auto runs = store::open_import_repository(repo);
  constexpr int kRevertBatch = 2000;
  store::ImportRun after;
  repo.transaction([&] {
    // Checked inside the transaction that undoes: nobody changes or refers to the rows meanwhile.
    undoable(*runs, run_id);
    const std::int64_t total = runs->run_rows(run_id);
    std::int64_t done = 0;
    for (;;) {
      const std::int64_t n = runs->revert_rows(run_id, kRevertBatch);
      if (n == 0) break;
      done += n;
      if (after_batch) after_batch(done, total);
    }
    runs->mark_undone(run_id, by, at);
    after = *runs->run(run_id);
    audit.entity = "import_run";
    audit.entity_id = run_id;
    repo.append_audit(audit);
  });
  return after;
}

}  // namespace bihuan::ingest
