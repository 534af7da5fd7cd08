#pragma once
// Reading numeric settings (the settings table) shared by the services.
#include <string_view>

#include "store/repository.hpp"

namespace bihuan::store {

// The whole number stored under `key`, `dflt` when unset; a stored value that is not a whole
// number in [lo, hi] is an Error(invalid_argument) naming the key, the range and the value.
int setting_int(Repository& repo, std::string_view key, int dflt, int lo, int hi);

}  // namespace bihuan::store
