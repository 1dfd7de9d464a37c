# Options and the warning flags our own targets use (never applied to dependencies).
option(MPSFB_BUILD_TESTS "Build the GoogleTest/pytest suites and register them with ctest." ${PROJECT_IS_TOP_LEVEL})
option(MPSFB_BUILD_TOOLS "Build mpsfb_report and the report/compare targets." ON)
option(MPSFB_WERROR "Treat warnings in our code as errors." OFF)
option(MPSFB_PCH "Precompile the LibTorch headers (halves a cold build on 2 cores)." ON)
option(MPSFB_FUZZ "Build the libFuzzer harnesses in test/fuzz and their ctest smoke runs (Clang)." OFF)
set(MPSFB_SANITIZE "" CACHE STRING
  "Sanitizers for our own code, e.g. address,undefined (the asan preset); LibTorch and the other libraries stay as they are.")

set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

add_library(mpsfb_warnings INTERFACE)
if(MSVC)
  target_compile_options(mpsfb_warnings INTERFACE /W4 $<$<BOOL:${MPSFB_WERROR}>:/WX>)
else()
  target_compile_options(mpsfb_warnings INTERFACE -Wall -Wextra -Wpedantic
    -Wno-unused-parameter $<$<BOOL:${MPSFB_WERROR}>:-Werror>)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(mpsfb_warnings INTERFACE -Wshadow=local)
  endif()
endif()

# Sanitizers ride on mpsfb_warnings, which every target of ours links, executables included.
# Note [Sanitizer warnings from system headers]: with -fsanitize GCC (12) inlines its checks
# into libstdc++'s and LibTorch's headers and then warns there: -Wmaybe-uninitialized in
# <regex>/<functional> (std_function.h) and c10/util/intrusive_ptr.h, outside our code. That
# one stays a warning under MPSFB_WERROR; -Werror keeps its meaning for everything else.
add_library(mpsfb_sanitizers INTERFACE)
if(MPSFB_SANITIZE)
  if(MSVC)
    message(FATAL_ERROR "MPSFB_SANITIZE=${MPSFB_SANITIZE}: sanitizers are set up for GCC and Clang only")
  endif()
  target_compile_options(mpsfb_sanitizers INTERFACE -fsanitize=${MPSFB_SANITIZE} -fno-sanitize-recover=all
    -fno-omit-frame-pointer -g1)
  target_link_options(mpsfb_sanitizers INTERFACE -fsanitize=${MPSFB_SANITIZE})
  message(STATUS "Sanitizers: ${MPSFB_SANITIZE} (our targets; LibTorch is not instrumented)")
endif()
# Also when the flags come another way (CMAKE_CXX_FLAGS=-fsanitize=... with the ci preset).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND (MPSFB_SANITIZE OR CMAKE_CXX_FLAGS MATCHES "-fsanitize="))
  target_compile_options(mpsfb_sanitizers INTERFACE -Wno-error=maybe-uninitialized)
endif()
target_link_libraries(mpsfb_warnings INTERFACE mpsfb_sanitizers)
