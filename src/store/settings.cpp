#include "core/error.hpp"
#include "store/repository.hpp"

namespace bihuan::store {

LocalTime local_time_of(Repository& repo) {
  auto v = repo.setting(kTimeZoneSetting);
  if (!v || v->empty()) return LocalTime{};
  auto t = parse_local_time(*v);
  if (!t)
    fail(ErrorCode::invalid_argument,
         "setting " + std::string(kTimeZoneSetting) + " is not a known time zone or UTC offset: " + *v,
         std::string(kTimeZoneSetting));
  return *t;
}

}  // namespace bihuan::store
