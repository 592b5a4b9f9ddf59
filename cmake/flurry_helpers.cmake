# Helpers for flurry's CMakeLists.txt.

# flurry_check_listed(WHAT DIR PATTERN FILE...): every DIR/PATTERN file on
# disk is one of FILE... (paths relative to the source directory). Sources
# and tests are listed explicitly, not globbed; this catches a file added
# without its line (a test that would silently never run, a source that
# escapes the build and the lint). An error in test builds, a warning
# otherwise (a packager's tree may hold stray files).
function(flurry_check_listed what dir pattern)
  file(GLOB on_disk RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/${pattern})
  list(REMOVE_ITEM on_disk ${ARGN})
  if(on_disk)
    set(level WARNING)
    if(FLURRY_BUILD_TESTS OR FLURRY_FUZZ)
      set(level FATAL_ERROR)
    endif()
    message(${level} "${what}: not listed in CMakeLists.txt: ${on_disk}")
  endif()
endfunction()

# flurry_add_test(NAME TIMEOUT SECONDS COMMAND CMD... [ENVIRONMENT VAR=VALUE...]
#                 [LABELS LABEL...]): a ctest test that always has a timeout,
# sized to the test: 3-5 times what it takes in a sanitizer build under
# `ctest -j 2`, 30 s at least.
function(flurry_add_test name)
  cmake_parse_arguments(PARSE_ARGV 1 T "" "TIMEOUT" "COMMAND;ENVIRONMENT;LABELS")
  if(NOT T_TIMEOUT OR NOT T_COMMAND OR T_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "flurry_add_test(${name} TIMEOUT seconds COMMAND ...): ${ARGN}")
  endif()
  add_test(NAME ${name} COMMAND ${T_COMMAND})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT})
  if(T_ENVIRONMENT)
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${T_ENVIRONMENT}")
  endif()
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()
