#pragma once
// The JSON of an import report and of an import run (docs/API.md "Imports"), shared by the API
// (the report of an import job) and `bihuan import --json`.
#include <nlohmann/json.hpp>

#include "ingest/import.hpp"
#include "store/import_repository.hpp"

namespace bihuan::ingest {

// {"kind","mode","run_id","total_rows","accepted","rejected","inserted","updated","unchanged",
//  "conflicts":[{row,column,value,reason}],"committed","errors":[{row,column,value,reason}]}
nlohmann::json report_json(const ImportReport& r);
// {"id","job_id","kind","mode","file_name","created_by","created_at","finished_at","status",
//  counts..., "undone_at","undone_by"}
nlohmann::json run_json(const store::ImportRun& r);

}  // namespace bihuan::ingest
