#include "ingest/report_json.hpp"

namespace bihuan::ingest {

namespace {
nlohmann::json errors_json(const std::vector<RowError>& es) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : es) out.push_back({{"row", e.row}, {"column", e.column}, {"value", e.value}, {"reason", e.reason}});
  return out;
}
nlohmann::json instant_or_null(const std::optional<Instant>& t) {
  return t ? nlohmann::json(format_instant(*t)) : nlohmann::json(nullptr);
}
}  // namespace

nlohmann::json report_json(const ImportReport& r) {
  return {{"kind", to_string(r.kind)},
          {"mode", to_string(r.mode)},
          {"run_id", r.run_id},
          {"total_rows", r.total_rows},
          {"accepted", r.accepted},
          {"rejected", r.rejected},
          {"inserted", r.stats.inserted},
          {"updated", r.stats.updated},
          {"unchanged", r.stats.unchanged},
          {"committed", r.committed},
          {"conflicts", errors_json(r.conflicts)},
          {"errors", errors_json(r.errors)}};
}

nlohmann::json run_json(const store::ImportRun& r) {
  return {{"id", r.id},
          {"job_id", r.job_id},
          {"kind", r.kind},
          {"mode", r.mode},
          {"file_name", r.file_name},
          {"created_by", r.created_by},
          {"created_at", format_instant(r.created_at)},
          {"finished_at", instant_or_null(r.finished_at)},
          {"status", r.status},
          {"total_rows", r.total_rows},
          {"accepted", r.accepted},
          {"rejected", r.rejected},
          {"inserted", r.inserted},
          {"updated", r.updated},
          {"unchanged", r.unchanged},
          {"conflicts", r.conflicts},
          {"undone_at", instant_or_null(r.undone_at)},
          {"undone_by", r.undone_by}};
}

}  // namespace bihuan::ingest
