# Drives mpsfb_report (or tools/plot_report.py) for one ctest case; registered by
# tools/report/CMakeLists.txt (mpsfb_report_test). Modes:
#   golden  run, then compare every file under data/expected/<NAME>/ with the one produced,
#           byte for byte, and fail on files produced but not expected. With the environment
#           variable MPSFB_UPDATE_GOLDEN=1 the produced files replace the expected ones instead.
#   bad     run, expect exit code 1, stderr matching EXPECT_ERROR, and no file written (a
#           summary.md placed beforehand must be left as it was).
#   plots   draw the PNGs from golden cases CSVs; check the PNG signature and size.
# Arguments: lists joined with '|'; @WORK@ in ARGS stands for the work directory.
cmake_minimum_required(VERSION 3.22)

set(data ${SOURCE_DIR}/test/report/data)
set(expected_dir ${data}/expected/${NAME})
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
string(REPLACE "|" ";" args "${ARGS}")
string(REPLACE "@WORK@" "${WORK}" args "${args}")
string(REPLACE "|" ";" setup "${SETUP}")

# Files the test starts from, copied into the work directory (and left out of the comparison).
set(seeded "")
foreach(f IN LISTS setup)
  file(COPY ${data}/${f} DESTINATION ${WORK})
  get_filename_component(base ${f} NAME)
  list(APPEND seeded ${base})
endforeach()

set(cwd ${data})
if(CWD STREQUAL "work")
  set(cwd ${WORK})
endif()

function(files_under dir out_var)
  file(GLOB_RECURSE found LIST_DIRECTORIES false RELATIVE ${dir} ${dir}/* ${dir}/.*)
  list(SORT found)
  set(${out_var} "${found}" PARENT_SCOPE)
endfunction()

function(show_diff expected actual)
  find_program(DIFF diff)
  if(DIFF)
    execute_process(COMMAND ${DIFF} -u ${expected} ${actual} OUTPUT_VARIABLE d)
    message("${d}")
  else()
    file(READ ${actual} a)
    message("--- produced ${actual}:\n${a}")
  endif()
endfunction()

if(MODE STREQUAL "plots")
  if(NOT PYTHON)
    message("SKIPPED: no Python interpreter configured")
    return()
  endif()
  execute_process(COMMAND ${PYTHON} -c "import matplotlib" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(NOT rc EQUAL 0)
    message("SKIPPED: matplotlib is not installed in ${PYTHON}")
    return()
  endif()
  foreach(golden IN LISTS args)  # device_run: expected/golden.device_run/report/cases.csv, device_run.json
    set(out ${WORK}/${golden})
    execute_process(
      COMMAND ${PYTHON} ${SOURCE_DIR}/tools/plot_report.py --cases ${data}/expected/golden.${golden}/report/cases.csv
              --run ${data}/${golden}.json --out-dir ${out}
      RESULT_VARIABLE rc ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "plot_report.py failed on ${golden} (exit ${rc}):\n${err}")
    endif()
    foreach(png penalty_by_op.png overhead_vs_bytes.png)
      if(NOT EXISTS ${out}/${png})
        message(FATAL_ERROR "${golden}: ${png} not written")
      endif()
      file(SIZE ${out}/${png} size)
      file(READ ${out}/${png} magic LIMIT 8 HEX)
      if(size EQUAL 0 OR NOT magic STREQUAL "89504e470d0a1a0a")
        message(FATAL_ERROR "${golden}: ${png} is not a PNG (size ${size}, first bytes ${magic})")
      endif()
    endforeach()
  endforeach()
  return()
endif()

if(MODE STREQUAL "bad")
  file(WRITE ${WORK}/report/summary.md "previous\n")
endif()

execute_process(COMMAND ${REPORT} ${args} WORKING_DIRECTORY ${cwd}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)

if(MODE STREQUAL "bad")
  if(NOT rc EQUAL 1)
    message(FATAL_ERROR "expected exit code 1, got ${rc}\nstderr:\n${err}")
  endif()
  if(NOT err MATCHES "${EXPECT_ERROR}")
    message(FATAL_ERROR "stderr does not match '${EXPECT_ERROR}':\n${err}")
  endif()
  files_under(${WORK} produced)
  list(REMOVE_ITEM produced report/summary.md ${seeded})
  file(READ ${WORK}/report/summary.md previous)
  if(produced OR NOT previous STREQUAL "previous\n")
    message(FATAL_ERROR "bad input still wrote: ${produced} (summary.md now: ${previous})")
  endif()
  message(STATUS "rejected as expected: ${err}")
  return()
endif()

if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mpsfb_report ${args} failed (exit ${rc}):\n${err}")
endif()
if(STDOUT)
  file(WRITE ${WORK}/${STDOUT} "${out}")
endif()

files_under(${WORK} produced)
list(REMOVE_ITEM produced ${seeded})
if(SETUP_CHANGES)  # a seeded file the run is meant to rewrite is compared like an output
  string(REPLACE "|" ";" changes "${SETUP_CHANGES}")
  list(APPEND produced ${changes})
  list(SORT produced)
endif()

if("$ENV{MPSFB_UPDATE_GOLDEN}" STREQUAL "1")
  file(REMOVE_RECURSE ${expected_dir})
  foreach(f IN LISTS produced)
    get_filename_component(dir ${expected_dir}/${f} DIRECTORY)
    file(COPY ${WORK}/${f} DESTINATION ${dir})
  endforeach()
  message(STATUS "updated ${expected_dir}: ${produced}")
  return()
endif()

files_under(${expected_dir} expected)
set(failures "")
if(NOT produced STREQUAL expected)
  list(APPEND failures "files produced: ${produced}\nfiles expected: ${expected}")
endif()
foreach(f IN LISTS expected)
  if(NOT EXISTS ${WORK}/${f})
    continue()
  endif()
  file(READ ${expected_dir}/${f} want)
  file(READ ${WORK}/${f} got)
  if(NOT want STREQUAL got)
    list(APPEND failures "${f} differs from ${expected_dir}/${f}")
    show_diff(${expected_dir}/${f} ${WORK}/${f})
  endif()
endforeach()

# Files the run must leave alone (the curated targets file of --update-targets).
string(REPLACE "|" ";" unchanged "${UNCHANGED}")
foreach(f IN LISTS unchanged)
  file(READ ${data}/${f} want)
  get_filename_component(base ${f} NAME)
  file(READ ${WORK}/${base} got)
  if(NOT want STREQUAL got)
    list(APPEND failures "${base} was modified; it must not be")
  endif()
endforeach()

if(failures)
  list(JOIN failures "\n" msg)
  message(FATAL_ERROR "${msg}\n(MPSFB_UPDATE_GOLDEN=1 ctest -R report.${NAME} rewrites the expected files; review the diff)")
endif()
