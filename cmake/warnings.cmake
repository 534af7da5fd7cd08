# Warnings for every target of ours: call bihuan_warnings(target).
function(bihuan_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Woverloaded-virtual
                                           -Wnull-dereference -Wimplicit-fallthrough)
  if(BIHUAN_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# bihuan_library(name alias dir): a static library of every .cpp in dir, or an interface library
# while the directory has no sources yet.
function(bihuan_library name alias)
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(srcs)
    add_library(${name} STATIC ${srcs})
    bihuan_warnings(${name})
  else()
    add_library(${name} INTERFACE)
  endif()
  add_library(${alias} ALIAS ${name})
endfunction()

# bihuan_link(name [PUBLIC deps...] [PRIVATE deps...]) that works for interface libraries too.
function(bihuan_link name)
  cmake_parse_arguments(L "" "" "PUBLIC;PRIVATE" ${ARGN})
  get_target_property(type ${name} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_link_libraries(${name} INTERFACE ${L_PUBLIC} ${L_PRIVATE})
  else()
    target_link_libraries(${name} PUBLIC ${L_PUBLIC} PRIVATE ${L_PRIVATE})
  endif()
endfunction()
