# Every dependency through find_package. LibTorch comes from, in order: an explicit
# Torch_DIR / CMAKE_PREFIX_PATH, else the Python torch of Python3_EXECUTABLE
# (torch.utils.cmake_prefix_path) — the set-up's virtual environment.
find_package(Python3 COMPONENTS Interpreter)

find_package(Torch QUIET CONFIG)
if(NOT Torch_FOUND AND Python3_Interpreter_FOUND)
  execute_process(
    COMMAND ${Python3_EXECUTABLE} -c "import torch; print(torch.utils.cmake_prefix_path)"
    OUTPUT_VARIABLE _mpsfb_torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _mpsfb_torch_rc ERROR_QUIET)
  if(_mpsfb_torch_rc EQUAL 0)
    list(APPEND CMAKE_PREFIX_PATH "${_mpsfb_torch_prefix}")
  endif()
endif()
find_package(Torch REQUIRED CONFIG)
message(STATUS "LibTorch ${Torch_VERSION} from ${Torch_DIR}")

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
