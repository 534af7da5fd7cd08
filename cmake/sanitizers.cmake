if(BIHUAN_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # Boost 1.74 looks for clang's coroutines in libc++'s <experimental/coroutine> only; clang 14
  # has C++20 coroutines and libstdc++ 12 has <coroutine>.
  add_compile_definitions(BOOST_ASIO_HAS_CO_AWAIT=1)
endif()

# libFuzzer harnesses (the `fuzz` preset, clang only): every library gets coverage
# instrumentation and ASan/UBSan; the harness executables link libFuzzer (fuzz/CMakeLists.txt).
if(BIHUAN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "BIHUAN_FUZZ needs clang (cmake --preset fuzz)")
  endif()
  # -fno-sanitize=function: clang 14 cannot emit its prologue data for coroutines ("Cannot
  # represent a difference across sections", src/api); g++'s UBSan has no such check either.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # Boost 1.74 looks for clang's coroutines in libc++'s <experimental/coroutine> only; clang 14
  # has C++20 coroutines and libstdc++ 12 has <coroutine>.
  add_compile_definitions(BOOST_ASIO_HAS_CO_AWAIT=1)
endif()
