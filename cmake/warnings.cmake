# Warnings for every target of ours: call bihuan_warnings(target).
function(bihuan_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Woverloaded-virtual
                                           -Wnull-dereference -Wimplicit-fallthrough)
  if(BIHUAN_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
