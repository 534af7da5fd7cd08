#pragma once
// A resolved policy profile as JSON, with its testing section and every rule's source and
// confidence: answered by GET /api/policy/profiles/{name} and printed by `bihuan policy show`.
#include <nlohmann/json.hpp>

#include "core/policy.hpp"

namespace bihuan::api {

nlohmann::ordered_json phase_json(const policy::Phase& ph);
nlohmann::ordered_json testing_json(const policy::Testing& t);
nlohmann::ordered_json profile_json(const policy::Profile& p);

}  // namespace bihuan::api
