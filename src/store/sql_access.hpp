#pragma once
// Private to src/store: the driver connection under a repository opened by open_repository, for
// the other SQL repositories of the store that share its connection and transactions. Nothing
// outside src/store includes this header (tests/storage/sql_boundary_test.cpp checks it): code
// elsewhere adds a repository method instead of running SQL.
#include "store/db.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

Db& database_of(Repository& repo);

}  // namespace bihuan::store
