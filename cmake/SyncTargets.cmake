# sync-targets: refresh ops/targets.yaml from the PyTorch MPS tracking issues
# (tools/sync_requests.py, the package tools/sync_requests/; rules in docs/sync.md), with each
# entry's MPS verdict from this build's mps_benchmarks, and its pytest suites under ctest.
#
# Included by the top-level CMakeLists.txt after add_subdirectory(benchmarks) and
# find_package(Python3 COMPONENTS Interpreter), so mps_benchmarks is a target and
# Python3_EXECUTABLE is the project's interpreter. Switches itself off with a STATUS message
# when that interpreter lacks requests/PyYAML (target) or pytest (tests).
#
#   cmake --build build/dev --target sync-targets                   # online; GH_TOKEN optional
#   cmake -DMPSFB_SYNC_ARGS="--offline" build/dev && cmake --build build/dev --target sync-targets
#   ctest --test-dir build/dev -R 'sync_requests_pytest|sync_targets_mps_benchmarks'
#
# GH_TOKEN is read from the environment of the build, never stored in the cache.

set(MPSFB_SYNC_ARGS "" CACHE STRING
  "Extra arguments for tools/sync_requests.py in 'sync-targets' (a ;-list, e.g. --offline, --since;2025-01-01 or --native-functions;PATH)")
set(MPSFB_SYNC_CACHE_DIR "${PROJECT_SOURCE_DIR}/.cache/github" CACHE PATH
  "Where 'sync-targets' keeps GitHub API responses (ETags; replayed by --offline)")

if(NOT Python3_Interpreter_FOUND)
  message(STATUS "Target 'sync-targets' disabled: no Python 3 interpreter found")
  return()
endif()

mpsfb_python_has("requests, yaml" _mpsfb_sync_deps)
if(NOT _mpsfb_sync_deps)
  message(STATUS "Target 'sync-targets' disabled: ${Python3_EXECUTABLE} lacks requests/PyYAML "
    "(pip install -r tools/requirements.txt)")
  return()
endif()

# The verdicts come from the binary (one implementation of the rule), which also checks that
# it loads the output: it is built first.
add_custom_target(sync-targets
  COMMAND "${Python3_EXECUTABLE}" "${PROJECT_SOURCE_DIR}/tools/sync_requests.py"
          --out "${PROJECT_SOURCE_DIR}/ops/targets.yaml"
          --seed "${PROJECT_SOURCE_DIR}/ops/targets.seed.yaml"
          --cache-dir "${MPSFB_SYNC_CACHE_DIR}"
          --mps-benchmarks "$<TARGET_FILE:mps_benchmarks>"
          ${MPSFB_SYNC_ARGS}
  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
  COMMENT "Counting op requests in pytorch/pytorch#77764 and #141287 into ops/targets.yaml, with MPS verdicts"
  USES_TERMINAL
  VERBATIM)
add_dependencies(sync-targets mps_benchmarks)

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

# The suites start their own HTTP server on 127.0.0.1 and never reach GitHub.
# Parser, client, tally, merge and the recording of verdicts (a stand-in binary): no build needed.
add_test(NAME sync_requests_pytest
  COMMAND "${Python3_EXECUTABLE}" -m pytest -q -p no:cacheprovider
          "${PROJECT_SOURCE_DIR}/test/python/test_sync_requests.py"
          "${PROJECT_SOURCE_DIR}/test/python/test_sync_verdicts.py"
  WORKING_DIRECTORY "${PROJECT_BINARY_DIR}")
set_tests_properties(sync_requests_pytest PROPERTIES
  LABELS "python"
  TIMEOUT 180
  ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")

# Hostile responses and arguments: one line, an exit code, nothing written; property-based
# tests (hypothesis) of the response checker and the comment parser.
add_test(NAME sync_requests_hostile_pytest
  COMMAND "${Python3_EXECUTABLE}" -m pytest -q -p no:cacheprovider
          "${PROJECT_SOURCE_DIR}/test/python/test_sync_hostile.py"
  WORKING_DIRECTORY "${PROJECT_BINARY_DIR}")
set_tests_properties(sync_requests_hostile_pytest PROPERTIES
  LABELS "python"
  TIMEOUT 300
  ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")

# With this build's mps_benchmarks: the sync's output loads (--benchmark_list_tests exits 0),
# the verdicts it records, and the sync's keys and dtype names against the C++ decoder's.
add_test(NAME sync_targets_mps_benchmarks
  COMMAND "${Python3_EXECUTABLE}" -m pytest -q -p no:cacheprovider
          "${PROJECT_SOURCE_DIR}/test/python/test_sync_mps_benchmarks.py"
  WORKING_DIRECTORY "${PROJECT_BINARY_DIR}")
set_tests_properties(sync_targets_mps_benchmarks PROPERTIES
  LABELS "python"
  TIMEOUT 300
  ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1;MPSFB_MPS_BENCHMARKS=$<TARGET_FILE:mps_benchmarks>")
