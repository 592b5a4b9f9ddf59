# The Python package (python/): the C extension flurry._flurry over the
# public API, and the pure-Python layer beside it. Built for Debian's
# /usr/bin/python3 (python3-dev), with no third-party build tool.
#
# The build tree holds a ready package: PYTHONPATH=<build>/python.
# `make install` puts it in <prefix>/lib/python3.X/dist-packages, on the
# sys.path of Debian's python3 for the prefixes /usr/local and /usr
# (FLURRY_PYTHON_INSTALL_DIR overrides).
set(FLURRY_PYTHON_SOURCES python/flurry/__init__.py python/flurry/_client.py
                          python/flurry/_errors.py python/flurry/_options.py
                          python/flurry/_path.py python/flurry/_response.py
                          python/flurry/webhooks.py)

set(FLURRY_PYTHON_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "The Python the package is built for")
set(flurry_python_found OFF)
if(EXISTS ${FLURRY_PYTHON_EXECUTABLE})
  execute_process(
    COMMAND ${FLURRY_PYTHON_EXECUTABLE} -c
            "import sysconfig as s; print(s.get_paths()['include']); print(s.get_config_var('EXT_SUFFIX')); print(s.get_python_version())"
    OUTPUT_VARIABLE py_out OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE py_rc)
  if(py_rc EQUAL 0)
    string(REPLACE "\n" ";" py_out "${py_out}")
    list(GET py_out 0 FLURRY_PYTHON_INCLUDE)
    list(GET py_out 1 FLURRY_PYTHON_EXT_SUFFIX)
    list(GET py_out 2 FLURRY_PYTHON_VERSION)
    if(EXISTS ${FLURRY_PYTHON_INCLUDE}/Python.h)
      set(flurry_python_found ON)
    endif()
  endif()
endif()
option(FLURRY_PYTHON "Build the Python package (needs python3-dev)" ${flurry_python_found})
if(FLURRY_PYTHON AND NOT flurry_python_found)
  message(FATAL_ERROR "FLURRY_PYTHON: no Python.h for ${FLURRY_PYTHON_EXECUTABLE} (apt-get install python3-dev)")
endif()

set(FLURRY_PYTHON_DIR ${CMAKE_CURRENT_BINARY_DIR}/python)
if(FLURRY_PYTHON)
  add_library(flurry_python MODULE python/flurry/_flurry.c)
  target_include_directories(flurry_python SYSTEM PRIVATE ${FLURRY_PYTHON_INCLUDE})
  # libflurry linked in (static objects, hidden symbols): the module needs
  # no library path at run time, in the build tree or installed.
  target_link_libraries(flurry_python PRIVATE flurry_static)
  set_target_properties(flurry_python PROPERTIES
    PREFIX "" OUTPUT_NAME _flurry SUFFIX ${FLURRY_PYTHON_EXT_SUFFIX}
    LIBRARY_OUTPUT_DIRECTORY ${FLURRY_PYTHON_DIR}/flurry C_VISIBILITY_PRESET hidden)
  set(py_copied "")
  foreach(src ${FLURRY_PYTHON_SOURCES})
    get_filename_component(name ${src} NAME)
    add_custom_command(OUTPUT ${FLURRY_PYTHON_DIR}/flurry/${name}
      COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_CURRENT_SOURCE_DIR}/${src} ${FLURRY_PYTHON_DIR}/flurry/${name}
      DEPENDS ${src})
    list(APPEND py_copied ${FLURRY_PYTHON_DIR}/flurry/${name})
  endforeach()
  # Their bytecode beside them: Python then reads it instead of compiling
  # the package at each start (11 ms of `import flurry` here, every process
  # where PYTHONDONTWRITEBYTECODE is set or the tree is not writable).
  set(py_stamp ${FLURRY_PYTHON_DIR}/flurry/__pycache__/compiled.stamp)
  add_custom_command(OUTPUT ${py_stamp}
    COMMAND ${FLURRY_PYTHON_EXECUTABLE} -m compileall -q ${FLURRY_PYTHON_DIR}/flurry
    COMMAND ${CMAKE_COMMAND} -E touch ${py_stamp}
    DEPENDS ${py_copied})
  add_custom_target(flurry_python_files ALL DEPENDS ${py_copied} ${py_stamp})
  add_dependencies(flurry_python flurry_python_files)

  # Relative: under the install prefix, also one given to cmake --install.
  set(FLURRY_PYTHON_INSTALL_DIR lib/python${FLURRY_PYTHON_VERSION}/dist-packages
      CACHE STRING "Where make install puts the flurry package (relative: under the prefix)")
  install(TARGETS flurry_python LIBRARY DESTINATION ${FLURRY_PYTHON_INSTALL_DIR}/flurry)
  # The build tree's copies (install keeps their times) with the bytecode
  # compiled from them, which their times and sizes keep valid.
  install(FILES ${py_copied} DESTINATION ${FLURRY_PYTHON_INSTALL_DIR}/flurry)
  install(DIRECTORY ${FLURRY_PYTHON_DIR}/flurry/__pycache__
          DESTINATION ${FLURRY_PYTHON_INSTALL_DIR}/flurry FILES_MATCHING PATTERN "*.pyc")
endif()

# ---- the package's tests: tests/python/test_NAME.py (stdlib unittest),
# run with /usr/bin/python3 against `flurry mock`; NAME and its timeout.
# In the sanitizer build the extension is ASan + UBSan: the runtimes are
# preloaded into python3 (leak detection off: the interpreter keeps memory
# on purpose at exit; the tests check memory themselves).
set(FLURRY_PYTHON_TESTS async 120 cache 60 gateway 120 sync 120 webhooks 30)
if(FLURRY_BUILD_TESTS AND FLURRY_PYTHON)
  enable_testing()
  set(py_env PYTHONPATH=${FLURRY_PYTHON_DIR}:${CMAKE_CURRENT_SOURCE_DIR}/tests/python
             FLURRY=$<TARGET_FILE:flurry_cli> PYTHONDONTWRITEBYTECODE=1)
  if(FLURRY_SANITIZE)
    execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
                    OUTPUT_VARIABLE asan_so OUTPUT_STRIP_TRAILING_WHITESPACE)
    execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libubsan.so
                    OUTPUT_VARIABLE ubsan_so OUTPUT_STRIP_TRAILING_WHITESPACE)
    list(APPEND py_env "LD_PRELOAD=${asan_so} ${ubsan_so}" ASAN_OPTIONS=detect_leaks=0
         FLURRY_PY_ASAN=1)
  endif()
  list(LENGTH FLURRY_PYTHON_TESTS n)
  math(EXPR last "${n} - 1")
  set(py_tests "")
  foreach(i RANGE 0 ${last} 2)
    math(EXPR j "${i} + 1")
    list(GET FLURRY_PYTHON_TESTS ${i} name)
    list(GET FLURRY_PYTHON_TESTS ${j} timeout)
    list(APPEND py_tests tests/python/test_${name}.py)
    flurry_add_test(python_test_${name} TIMEOUT ${timeout} ENVIRONMENT ${py_env}
      COMMAND ${FLURRY_PYTHON_EXECUTABLE} -m unittest test_${name})
  endforeach()
  flurry_check_listed("Python tests" tests/python test_*.py ${py_tests})
endif()
