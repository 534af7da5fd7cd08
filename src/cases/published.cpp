#include "cases/published.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.hpp"
#include "core/rbac.hpp"
#include "ingest/csv.hpp"
#include "store/audit.hpp"
#include "store/case_repository.hpp"
#include "store/transaction.hpp"

namespace bihuan::cases {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxFaults = 20;

struct Faults {
  std::vector<std::string> items;
  std::string first_field;
  void add(std::int64_t line, const std::string& field, const std::string& reason) {
    if (items.empty()) first_field = field;
    if (items.size() < kMaxFaults) items.push_back("line " + std::to_string(line) + ", field " + field + ": " + reason);
    else if (items.size() == kMaxFaults) items.push_back("...");
  }
  void throw_if_any() const {
    if (items.empty()) return;
    std::string msg = "the chains were not imported (nothing written): ";
    for (std::size_t i = 0; i < items.size(); ++i) msg += (i ? "; " : "") + items[i];
    fail(ErrorCode::invalid_argument, msg, first_field);
  }
};

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

// "16.0" / "16" / "-3.0" -> 16 / -3; nullopt for anything else (fractions included).
std::optional<int> whole_number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v != std::floor(v) || std::abs(v) > 100000) return std::nullopt;
  return static_cast<int>(v);
}

std::string day_to_date(int day) {
  const auto d = std::chrono::sys_days{std::chrono::year{2020} / 1 / 1} + std::chrono::days{day};
  return format_date(Date{d});
}

// Adds or checks a case: the same key given twice must agree on its onset date.
void note_case(std::map<std::string, PublishedCase>& cases, std::vector<std::string>& order, PublishedCase c,
               const std::string& field, Faults& faults) {
  auto it = cases.find(c.key);
  if (it == cases.end()) {
    order.push_back(c.key);
    cases.emplace(c.key, std::move(c));
    return;
  }
  if (it->second.onset_date != c.onset_date)
    faults.add(c.line, field,
               "case " + c.key + " has onset " + (c.onset_date.empty() ? "(none)" : c.onset_date) + " here but " +
                   (it->second.onset_date.empty() ? "(none)" : it->second.onset_date) + " on line " +
                   std::to_string(it->second.line));
}

void check_links(const std::vector<PublishedLink>& links, Faults& faults) {
  std::map<std::string, const PublishedLink*> infector_of;
  std::map<std::string, std::int64_t> ids;
  auto id = [&](const std::string& k) { return ids.emplace(k, static_cast<std::int64_t>(ids.size()) + 1).first->second; };
  std::vector<tracing::Link> seen;
  for (const auto& l : links) {
    if (l.infector == l.infectee) {
      faults.add(l.line, "infectee", "case " + l.infectee + " cannot infect itself");
      continue;
    }
    if (auto it = infector_of.find(l.infectee); it != infector_of.end()) {
      faults.add(l.line, "infectee",
                 "case " + l.infectee + " already has infector " + it->second->infector + " (line " +
                     std::to_string(it->second->line) + ")");
      continue;
    }
    const auto a = id(l.infector), b = id(l.infectee);
    if (tracing::would_cycle(seen, a, b)) {
      faults.add(l.line, "infectee", "case " + l.infector + " -> " + l.infectee + " would make a cycle in the chain");
      continue;
    }
    seen.push_back({a, b});
    infector_of[l.infectee] = &l;
  }
}

PublishedChains parse_du2020(std::string_view csv) {
  PublishedChains out;
  out.dataset = "du2020";
  Faults faults;
  ingest::CsvReader reader(csv);
  ingest::CsvRecord rec;
  bool header = false;
  std::map<std::string, PublishedCase> cases;
  std::vector<std::string> order;
  std::set<std::string> events;
  while (reader.next(rec)) {
    if (!rec.error.empty()) {
      faults.add(rec.line, "line", rec.error);
      continue;
    }
    auto f = [&](std::size_t i) { return i < rec.fields.size() ? trim(rec.fields[i]) : std::string(); };
    if (!header) {
      // The title line comes first; the header names "Index ID" in its second column.
      if (f(1) == "Index ID" && f(2) == "Secondary ID") header = true;
      continue;
    }
    if (f(0).empty() && f(1).empty() && f(2).empty()) continue;  // a trailing empty row
    if (rec.fields.size() < 13) {
      faults.add(rec.line, "line", "expected at least 13 columns, found " + std::to_string(rec.fields.size()));
      continue;
    }
    const auto event = whole_number(f(0));
    const auto index = whole_number(f(1)), secondary = whole_number(f(2));
    const auto index_onset = whole_number(f(6)), secondary_onset = whole_number(f(10));
    bool ok = true;
    auto need = [&](const std::optional<int>& v, const char* field, const std::string& raw) {
      if (v) return;
      faults.add(rec.line, field, "not a whole number: '" + raw + "'");
      ok = false;
    };
    need(event, "Event index", f(0));
    need(index, "Index ID", f(1));
    need(secondary, "Secondary ID", f(2));
    need(index_onset, "Index - symptom onset date", f(6));
    need(secondary_onset, "Seconday - symptom onset date", f(10));
    if (!ok) continue;
    if (!events.insert(f(0)).second) {
      faults.add(rec.line, "Event index", "event " + std::to_string(*event) + " appears twice");
      continue;
    }
    auto sex = [](const std::string& s) -> std::string {
      if (s == "Male") return "male";
      if (s == "Female") return "female";
      return "";
    };
    auto age = [](const std::string& s) { return whole_number(s).value_or(-1); };
    PublishedCase a{std::to_string(*index), day_to_date(*index_onset), sex(f(8)), age(f(7)), f(5) + " / " + f(3),
                    rec.line};
    PublishedCase b{std::to_string(*secondary), day_to_date(*secondary_onset), sex(f(12)), age(f(11)),
                    f(9) + " / " + f(3), rec.line};
    note_case(cases, order, std::move(a), "Index - symptom onset date", faults);
    note_case(cases, order, std::move(b), "Seconday - symptom onset date", faults);
    PublishedLink l;
    l.infector = std::to_string(*index);
    l.infectee = std::to_string(*secondary);
    std::string contact = f(13);
    contact.erase(std::remove(contact.begin(), contact.end(), '\''), contact.end());
    l.evidence = "Du et al. 2020 Table S5, event " + std::to_string(*event) + ": " + f(3) + ", " + f(4) +
                 (contact.empty() ? "" : ", " + contact);
    l.line = rec.line;
    out.links.push_back(std::move(l));
  }
  if (!header) faults.add(1, "header", "no header line with 'Index ID' and 'Secondary ID' (is this Du et al. 2020 Table S5?)");
  check_links(out.links, faults);
  faults.throw_if_any();
  for (const auto& k : order) out.cases.push_back(std::move(cases[k]));
  return out;
}

PublishedChains parse_pairs(std::string_view csv) {
  PublishedChains out;
  out.dataset = "pairs";
  Faults faults;
  ingest::CsvReader reader(csv);
  ingest::CsvRecord rec;
  std::map<std::string, std::size_t> col;
  std::map<std::string, PublishedCase> cases;
  std::vector<std::string> order;
  bool header = false;
  while (reader.next(rec)) {
    if (!rec.error.empty()) {
      faults.add(rec.line, "line", rec.error);
      continue;
    }
    if (!header) {
      for (std::size_t i = 0; i < rec.fields.size(); ++i) {
        std::string h = trim(rec.fields[i]);
        if (i == 0 && h.rfind("\xEF\xBB\xBF", 0) == 0) h.erase(0, 3);
        col[h] = i;
      }
      for (const char* need : {"infector", "infectee", "infector_onset", "infectee_onset"})
        if (!col.count(need)) faults.add(rec.line, need, "column missing from the header");
      header = true;
      if (!faults.items.empty()) break;
      continue;
    }
    auto f = [&](const char* name) {
      auto it = col.find(name);
      return it != col.end() && it->second < rec.fields.size() ? trim(rec.fields[it->second]) : std::string();
    };
    PublishedLink l;
    l.infector = f("infector");
    l.infectee = f("infectee");
    l.line = rec.line;
    bool ok = true;
    for (auto [v, field] : {std::pair{&l.infector, "infector"}, std::pair{&l.infectee, "infectee"}}) {
      if (v->empty() || v->size() > 40) {
        faults.add(rec.line, field, v->empty() ? "required" : "longer than 40 characters");
        ok = false;
      }
    }
    std::string onset[2] = {f("infector_onset"), f("infectee_onset")};
    for (int i = 0; i < 2; ++i) {
      if (!onset[i].empty() && !parse_date(onset[i])) {
        faults.add(rec.line, i ? "infectee_onset" : "infector_onset", "not a date YYYY-MM-DD: '" + onset[i] + "'");
        ok = false;
      }
    }
    if (col.count("confidence") && !f("confidence").empty()) l.confidence = f("confidence");
    if (l.confidence != "confirmed" && l.confidence != "probable" && l.confidence != "possible") {
      faults.add(rec.line, "confidence", "must be confirmed, probable or possible");
      ok = false;
    }
    l.evidence = f("evidence");
    if (!ok) continue;
    note_case(cases, order, PublishedCase{l.infector, onset[0], "", -1, "", rec.line}, "infector_onset", faults);
    note_case(cases, order, PublishedCase{l.infectee, onset[1], "", -1, "", rec.line}, "infectee_onset", faults);
    out.links.push_back(std::move(l));
  }
  if (!header) faults.add(1, "header", "the file is empty");
  check_links(out.links, faults);
  faults.throw_if_any();
  for (const auto& k : order) out.cases.push_back(std::move(cases[k]));
  return out;
}

std::string upper(std::string s) {
  for (auto& ch : s)
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  return s;
}

}  // namespace

PublishedChains parse_published(std::string_view format, std::string_view csv) {
  if (format == "du2020") return parse_du2020(csv);
  if (format == "pairs") return parse_pairs(csv);
  fail(ErrorCode::invalid_argument, "format must be du2020 or pairs", "format");
}

ChainImportReport import_published(store::Repository& repo, const PublishedChains& chains, const std::string& area_code,
                                   const Caller& c, Instant now, const std::function<void(double)>& progress) {
  if (!c.can(Permission::case_investigate))
    fail(ErrorCode::permission_denied, "importing chains needs case.investigate", "role");
  if (chains.cases.empty()) fail(ErrorCode::invalid_argument, "the file has no pairs", "file");
  auto step = [&](double f) {
    if (progress) progress(f);
  };
  return store::in_transaction(repo, [&] {
    auto area = repo.area(area_code);
    if (!area || !(c.everything() || area_in_scope(c.scope, area_code)))
      fail(ErrorCode::not_found, "no such area: " + area_code, "area");
    auto cases_repo = store::open_case_repository(repo);
    const std::string prefix = upper(chains.dataset) + "-";
    // Imported before: its persons exist (their document numbers are the data set's keys).
    Faults faults;
    for (const auto& k : chains.cases)
      if (auto p = repo.person_by_doc(prefix + k.key, Scope::everything()))
        faults.add(k.line, "case", "case " + k.key + " of " + chains.dataset + " is imported already (person " +
                                       std::to_string(p->id) + ")");
    faults.throw_if_any();
    step(0.05);
    ChainImportReport rep;
    std::vector<Person> persons;
    persons.reserve(chains.cases.size());
    for (const auto& k : chains.cases) {
      Person p;
      p.doc_type = DocType::passport;
      p.doc_number = prefix + k.key;
      p.nationality = "CHN";
      p.name = chains.dataset + " #" + k.key;
      p.sex = k.sex == "female" ? Sex::female : Sex::male;
      // Age in the year of the data set (2020); a stand-in birth date when not given.
      p.birth_date = Date{std::chrono::year{k.age >= 0 ? 2020 - k.age : 1990} / 1 / 1};
      p.area_code = area_code;
      p.address = k.place;
      p.created_at = now;
      p.updated_at = now;
      persons.push_back(std::move(p));
    }
    repo.upsert_persons(persons);
    rep.persons = static_cast<std::int64_t>(persons.size());
    step(0.35);
    std::map<std::string, std::int64_t> case_id;
    std::map<std::string, std::string> onset;
    for (std::size_t i = 0; i < chains.cases.size(); ++i) {
      const auto& k = chains.cases[i];
      store::CaseRecord r;
      r.person_id = persons[i].id;
      r.area_code = area_code;
      r.source = "published";
      r.classification = "confirmed";
      r.status = "closed";
      r.outcome = "recovered";
      r.opened_at = now;
      r.closed_at = now;
      r.opened_by = c.user_id;
      r.onset_date = k.onset_date;
      r.current_address = k.place;
      r.note = chains.dataset + " case " + k.key;
      cases_repo->insert_case(r);
      case_id[k.key] = r.id;
      onset[k.key] = k.onset_date;
      ++rep.cases;
      if (i % 100 == 99) step(0.35 + 0.35 * static_cast<double>(i) / static_cast<double>(chains.cases.size()));
    }
    step(0.7);
    std::vector<double> si;
    std::vector<tracing::Link> links;
    std::vector<std::int64_t> ids;
    for (const auto& [key, id] : case_id) ids.push_back(id);
    for (const auto& l : chains.links) {
      store::LinkRow row;
      row.infector_case_id = case_id.at(l.infector);
      row.infectee_case_id = case_id.at(l.infectee);
      row.confidence = l.confidence;
      row.evidence = l.evidence;
      row.created_by = c.user_id;
      row.created_at = now;
      if (!cases_repo->insert_link(row))
        fail(ErrorCode::conflict, "line " + std::to_string(l.line) + ": the link exists already", "infectee");
      links.push_back({row.infector_case_id, row.infectee_case_id});
      ++rep.links;
      auto a = parse_date(onset[l.infector]), b = parse_date(onset[l.infectee]);
      if (a && b) si.push_back(static_cast<double>((std::chrono::sys_days{*b} - std::chrono::sys_days{*a}).count()));
    }
    rep.serial_interval = tracing::summarise(si);
    rep.clusters = static_cast<std::int64_t>(tracing::clusters(ids, links).size());
    repo.append_audit(store::audit_of(c, now, "case.import_chains", "area", 0, chains.dataset,
                                      json{{"area", area_code},
                                           {"dataset", chains.dataset},
                                           {"cases", rep.cases},
                                           {"links", rep.links}}
                                          .dump()));
    step(1.0);
    return rep;
  });
}

}  // namespace bihuan::cases
