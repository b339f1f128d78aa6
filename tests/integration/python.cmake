# Python integration tests (run_py.sh: the stack's env and venv), sharing
# the "stack" fixture. herald_py_test(NAME SCRIPT [ARGS a...] [TIMEOUT s])
function(herald_py_test name script)
  cmake_parse_arguments(HPT "" "TIMEOUT" "ARGS" ${ARGN})
  if(NOT HPT_TIMEOUT)
    set(HPT_TIMEOUT 300)
  endif()
  add_test(NAME ${name}
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/run_py.sh
            ${CMAKE_CURRENT_SOURCE_DIR}/${script} ${HPT_ARGS})
  set_tests_properties(${name} PROPERTIES
    FIXTURES_REQUIRED stack
    LABELS integration
    TIMEOUT ${HPT_TIMEOUT}
    ENVIRONMENT "STACK_DIR=${HERALD_STACK_DIR};HERALD_BIN=$<TARGET_FILE:herald>;HERALD_BUILD_DIR=${CMAKE_BINARY_DIR};HERALD_PLUGIN_DIR=${HERALD_PLUGIN_DIR};HERALD_TEST_PLUGIN_DIR=${CMAKE_BINARY_DIR}/tests/plugins")
endfunction()

# Each group of tests registers itself from its own file.
file(GLOB herald_py_test_files ${CMAKE_CURRENT_SOURCE_DIR}/it_*.cmake)
foreach(f ${herald_py_test_files})
  include(${f})
endforeach()
