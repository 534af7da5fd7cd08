#include "core/error.hpp"
#include "store/repository.hpp"
#include "store/settings.hpp"

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

int setting_int(Repository& repo, std::string_view key, int dflt, int lo, int hi) {
  auto v = repo.setting(key);
  if (!v || v->empty()) return dflt;
  try {
    std::size_t used = 0;
    const int n = std::stoi(*v, &used);
    if (used != v->size() || n < lo || n > hi) throw std::out_of_range(std::string(key));
    return n;
  } catch (const std::exception&) {
    fail(ErrorCode::invalid_argument,
         "setting " + std::string(key) + " must be a whole number from " + std::to_string(lo) + " to " +
             std::to_string(hi) + ": " + *v,
         std::string(key));
  }
}

}  // namespace bihuan::store
