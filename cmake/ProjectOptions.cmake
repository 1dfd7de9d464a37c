# Options and the warning flags our own targets use (never applied to dependencies).
option(MPSFB_BUILD_TESTS "Build the GoogleTest/pytest suites and register them with ctest." ${PROJECT_IS_TOP_LEVEL})
option(MPSFB_BUILD_TOOLS "Build mpsfb_report and the report/compare targets." ON)
option(MPSFB_WERROR "Treat warnings in our code as errors." OFF)
option(MPSFB_PCH "Precompile the LibTorch headers (halves a cold build on 2 cores)." ON)

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
