#pragma once
// One unit of work in a transaction of a repository, returning what the work returns: the
// services' `write` (their reads and writes under one transaction, the caller's scope checked
// inside it).
#include <optional>
#include <type_traits>
#include <utility>

#include "store/repository.hpp"

namespace bihuan::store {

template <typename F>
auto in_transaction(Repository& repo, F&& fn) -> decltype(fn()) {
  if constexpr (std::is_void_v<decltype(fn())>) {
    repo.transaction([&] { fn(); });
  } else {
    std::optional<decltype(fn())> out;
    repo.transaction([&] { out.emplace(fn()); });
    return std::move(*out);
  }
}

}  // namespace bihuan::store
