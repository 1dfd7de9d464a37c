# sync-targets: refresh ops/targets.yaml from the PyTorch MPS tracking issues
# (tools/sync_requests.py; rules in docs/sync.md), and its pytest suite under ctest.
#
# Included by the top-level CMakeLists.txt after find_package(Python3 COMPONENTS Interpreter),
# so Python3_EXECUTABLE is the project's interpreter. Switches itself off with a STATUS
# message when that interpreter lacks requests/PyYAML (target) or pytest (test).
#
#   cmake --build build --target sync-targets                   # online; GH_TOKEN optional
#   cmake -DMPSFB_SYNC_ARGS="--offline" build && cmake --build build --target sync-targets
#   ctest --test-dir build -R sync_requests_pytest
#
# GH_TOKEN is read from the environment of the build, never stored in the cache.

set(MPSFB_SYNC_ARGS "" CACHE STRING
  "Extra arguments for tools/sync_requests.py in 'sync-targets' (a ;-list, e.g. --offline or --since;2025-01-01)")
set(MPSFB_SYNC_CACHE_DIR "${PROJECT_SOURCE_DIR}/.cache/github" CACHE PATH
  "Where 'sync-targets' keeps GitHub API responses (ETags; replayed by --offline)")

if(NOT Python3_Interpreter_FOUND)
  message(STATUS "Target 'sync-targets' disabled: no Python 3 interpreter found")
  return()
endif()

execute_process(
  COMMAND "${Python3_EXECUTABLE}" -c "import requests, yaml"
  RESULT_VARIABLE _mpsfb_sync_deps_rc OUTPUT_QUIET ERROR_QUIET)
if(NOT _mpsfb_sync_deps_rc EQUAL 0)
  message(STATUS "Target 'sync-targets' disabled: ${Python3_EXECUTABLE} lacks requests/PyYAML "
    "(pip install -r tools/requirements.txt)")
  return()
endif()

add_custom_target(sync-targets
  COMMAND "${Python3_EXECUTABLE}" "${PROJECT_SOURCE_DIR}/tools/sync_requests.py"
          --out "${PROJECT_SOURCE_DIR}/ops/targets.yaml"
          --seed "${PROJECT_SOURCE_DIR}/ops/targets.seed.yaml"
          --cache-dir "${MPSFB_SYNC_CACHE_DIR}"
          ${MPSFB_SYNC_ARGS}
  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
  COMMENT "Counting op requests in pytorch/pytorch#77764 and #141287 into ops/targets.yaml"
  USES_TERMINAL
  VERBATIM)

# ctest exists only where the top level called enable_testing() (MPSFB_BUILD_TESTS).
if(DEFINED MPSFB_BUILD_TESTS AND NOT MPSFB_BUILD_TESTS)
  return()
endif()
execute_process(
  COMMAND "${Python3_EXECUTABLE}" -c "import pytest"
  RESULT_VARIABLE _mpsfb_sync_pytest_rc OUTPUT_QUIET ERROR_QUIET)
if(NOT _mpsfb_sync_pytest_rc EQUAL 0)
  message(STATUS "Test 'sync_requests_pytest' disabled: ${Python3_EXECUTABLE} lacks pytest "
    "(pip install -r tools/requirements.txt)")
  return()
endif()

# The suite starts its own HTTP server on 127.0.0.1 and never reaches GitHub.
add_test(NAME sync_requests_pytest
  COMMAND "${Python3_EXECUTABLE}" -m pytest -q -p no:cacheprovider
          "${PROJECT_SOURCE_DIR}/test/python/test_sync_requests.py"
  WORKING_DIRECTORY "${PROJECT_BINARY_DIR}")
set_tests_properties(sync_requests_pytest PROPERTIES
  LABELS "python"
  TIMEOUT 120
  ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
