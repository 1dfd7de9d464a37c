# Every dependency through find_package.
#
# LibTorch: the torch of Python3_EXECUTABLE (the set-up's .venv, torch.utils.cmake_prefix_path),
# unless you say otherwise with -DTorch_DIR=... or a CMAKE_PREFIX_PATH (variable or environment)
# that holds a Torch package: then that one. Other LibTorch installs on the default search path
# (Homebrew's pytorch, /usr/local) are never picked silently. The configure log says which one
# it took and why.
find_package(Python3 COMPONENTS Interpreter)

# Sets out_var ON when the interpreter imports `modules` ("scipy.stats, numpy"): which optional
# targets (plots, fidelity, sync) can run is decided by this one probe.
function(mpsfb_python_has modules out_var)
  set(${out_var} OFF PARENT_SCOPE)
  if(Python3_Interpreter_FOUND)
    execute_process(COMMAND ${Python3_EXECUTABLE} -c "import ${modules}"
      RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
    if(rc EQUAL 0)
      set(${out_var} ON PARENT_SCOPE)
    endif()
  endif()
endfunction()

# Does a CMAKE_PREFIX_PATH entry hold a Torch package where find_package would look?
function(_mpsfb_prefix_has_torch prefix out_var)
  set(${out_var} FALSE PARENT_SCOPE)
  foreach(sub . Torch share/cmake/Torch lib/cmake/Torch lib64/cmake/Torch)
    if(prefix AND EXISTS "${prefix}/${sub}/TorchConfig.cmake")
      set(${out_var} TRUE PARENT_SCOPE)
    endif()
  endforeach()
endfunction()

set(_mpsfb_torch_prefix "")
if(Python3_Interpreter_FOUND)
  execute_process(
    COMMAND ${Python3_EXECUTABLE} -c "import torch; print(torch.utils.cmake_prefix_path)"
    OUTPUT_VARIABLE _mpsfb_torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _mpsfb_torch_rc ERROR_QUIET)
  if(NOT _mpsfb_torch_rc EQUAL 0)
    set(_mpsfb_torch_prefix "")
  endif()
endif()

# A Torch_DIR that came from Python (this run's, or an earlier one's) is not a choice of the user's.
set(_mpsfb_torch_choice "")
if(Torch_DIR AND NOT Torch_DIR MATCHES "-NOTFOUND$" AND NOT Torch_DIR STREQUAL "${MPSFB_TORCH_DIR_FROM_PYTHON}")
  get_filename_component(_mpsfb_given "${Torch_DIR}" REALPATH)
  get_filename_component(_mpsfb_from_python "${_mpsfb_torch_prefix}/Torch" REALPATH)
  if(NOT _mpsfb_torch_prefix OR NOT _mpsfb_given STREQUAL _mpsfb_from_python)
    set(_mpsfb_torch_choice "Torch_DIR")
  endif()
endif()
if(NOT _mpsfb_torch_choice)
  string(REPLACE ":" ";" _mpsfb_env_prefixes "$ENV{CMAKE_PREFIX_PATH}")
  foreach(_p IN LISTS CMAKE_PREFIX_PATH _mpsfb_env_prefixes)
    _mpsfb_prefix_has_torch("${_p}" _has)
    if(_has)
      set(_mpsfb_torch_choice "CMAKE_PREFIX_PATH (${_p})")
      break()
    endif()
  endforeach()
endif()

if(_mpsfb_torch_choice)
  find_package(Torch REQUIRED CONFIG)
  set(_mpsfb_torch_why "as ${_mpsfb_torch_choice} says")
elseif(_mpsfb_torch_prefix)
  unset(Torch_DIR CACHE)
  find_package(Torch REQUIRED CONFIG PATHS "${_mpsfb_torch_prefix}" NO_DEFAULT_PATH)
  set(MPSFB_TORCH_DIR_FROM_PYTHON "${Torch_DIR}" CACHE INTERNAL "Torch_DIR derived from Python3_EXECUTABLE's torch")
  set(_mpsfb_torch_why "the torch of ${Python3_EXECUTABLE}; -DTorch_DIR=... or CMAKE_PREFIX_PATH to use another")
else()
  message(WARNING "No torch in Python3_EXECUTABLE (${Python3_EXECUTABLE}); searching the system for LibTorch. "
    "Run tools/setup.sh, or pass -DPython3_EXECUTABLE=.venv/bin/python, -DTorch_DIR=... or CMAKE_PREFIX_PATH.")
  find_package(Torch REQUIRED CONFIG)
  set(_mpsfb_torch_why "found on the system search path: no torch in Python3_EXECUTABLE")
endif()
message(STATUS "LibTorch ${Torch_VERSION} from ${Torch_DIR} (${_mpsfb_torch_why})")

# LibTorch's target carries -D_GLIBCXX_USE_CXX11_ABI; yaml-cpp and GTest from the system
# are built with the default (new) ABI, so an old-ABI LibTorch would not link with them.
if(TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
  message(FATAL_ERROR "This LibTorch uses the pre-C++11 ABI (${TORCH_CXX_FLAGS}); "
    "the system yaml-cpp/GTest/benchmark use the C++11 ABI. Use a cxx11-ABI LibTorch (the pip wheel is).")
endif()

find_package(benchmark REQUIRED CONFIG)
find_package(yaml-cpp REQUIRED CONFIG)
find_package(nlohmann_json 3 REQUIRED CONFIG)
if(MPSFB_BUILD_TESTS)
  find_package(GTest REQUIRED CONFIG)
  include(GoogleTest)
endif()

# Google Benchmark has no version macro; its APIs differ between 1.7.1 and 1.8+.
set(MPSFB_BENCHMARK_VERSION "${benchmark_VERSION}")
if(MPSFB_BENCHMARK_VERSION STREQUAL "")
  set(MPSFB_BENCHMARK_VERSION "0.0.0")
endif()
message(STATUS "Google Benchmark ${MPSFB_BENCHMARK_VERSION}")

# yaml-cpp's exported target name changed in 0.8 (yaml-cpp::yaml-cpp).
if(TARGET yaml-cpp::yaml-cpp)
  set(MPSFB_YAML_TARGET yaml-cpp::yaml-cpp)
else()
  set(MPSFB_YAML_TARGET yaml-cpp)
endif()
