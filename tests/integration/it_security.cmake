# Issue 10: no sensitive value or secret in any output; the PAN-recovery
# attack finds nothing without the hash key. Included by python.cmake.
herald_py_test(no_secrets no_secrets.py TIMEOUT 300)

# The attack needs no stack (herald demo runs its own Kafka): plain python3.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME pan_recovery
    COMMAND ${Python3_EXECUTABLE}
            ${CMAKE_CURRENT_SOURCE_DIR}/pan_recovery.py)
  set_tests_properties(pan_recovery PROPERTIES
    LABELS integration TIMEOUT 180
    ENVIRONMENT "HERALD_BIN=$<TARGET_FILE:herald>;HERALD_PLUGIN_DIR=${HERALD_PLUGIN_DIR}")
endif()
