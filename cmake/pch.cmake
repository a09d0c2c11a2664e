# Precompiled headers. A cold build (CI's, on a fresh machine without a compiler cache) spent
# a fifth to a third of each small translation unit's time parsing the same Asio, Boost.JSON,
# spdlog and GoogleTest headers again. Two headers are precompiled once, one for the
# libraries and programs and one with GoogleTest for the tests, and every target reuses one.
# A precompiled header whose options or macros do not match a translation unit's is an
# error here (-Winvalid-pch under -Werror), not a silent slow path: the definitions are made
# the same everywhere (below), and the programs built without sanitizers (ISLA_NO_PCH) do
# without. ISLA_PCH=OFF turns it off; the clang fuzz build keeps it off (a
# build run by hand, not on CI's clock).
if(ISLA_FUZZ)
  option(ISLA_PCH "Precompile the common third-party headers" OFF)
else()
  option(ISLA_PCH "Precompile the common third-party headers" ON)
endif()

# ccache caches a translation unit that uses a precompiled header only when told that the
# header's macros and timestamps may be trusted (ccache manual, "Precompiled headers");
# without it every such unit would miss the cache. Must come before the targets exist.
if(ISLA_PCH AND CMAKE_CXX_COMPILER_LAUNCHER MATCHES "ccache")
  set(CMAKE_CXX_COMPILER_LAUNCHER
      env CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      ${CMAKE_CXX_COMPILER_LAUNCHER})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-fpch-preprocess)
  endif()
endif()

function(isla_collect_targets directory out)
  get_property(targets DIRECTORY ${directory} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirectories DIRECTORY ${directory} PROPERTY SUBDIRECTORIES)
  foreach(subdirectory IN LISTS subdirectories)
    isla_collect_targets(${subdirectory} more)
    list(APPEND targets ${more})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

# GCC uses a precompiled header only where the macros it depends on are defined as when it
# was built (else -Winvalid-pch, an error under -Werror). Boost.JSON's, fmt's and spdlog's
# packages give their users these; given to every target, the header fits all of them.
if(ISLA_PCH)
  add_compile_definitions(BOOST_CONTAINER_DYN_LINK BOOST_CONTAINER_NO_LIB BOOST_JSON_DYN_LINK
                          BOOST_JSON_NO_LIB FMT_SHARED SPDLOG_COMPILED_LIB SPDLOG_SHARED_LIB)
endif()

# GCC 12 inlines std::string's moves and appends further once their templates come from a
# precompiled header, and then reports bounds it cannot see through as errors
# (-Warray-bounds, -Wstringop-overread/-overflow on the memcpy inside char_traits, in five
# files of this tree whose strings are ordinary; a known false positive of GCC 12, reported
# by other projects that precompile <string>). Off for GCC 12 builds with PCH; a real
# out-of-bounds access is what the ASan+UBSan suite (`make test-asan`) catches.
if(ISLA_PCH AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  add_compile_options(-Wno-array-bounds -Wno-stringop-overread -Wno-stringop-overflow)
endif()

# Call once, after every target is defined (include this file before any is).
function(isla_precompile_headers)
  if(NOT ISLA_PCH)
    return()
  endif()
  set(pch_dir ${PROJECT_SOURCE_DIR}/cmake/pch)
  add_library(isla_pch_common OBJECT ${pch_dir}/anchor.cpp)
  target_link_libraries(isla_pch_common PRIVATE Boost::boost Boost::json spdlog::spdlog fmt::fmt)
  target_precompile_headers(isla_pch_common PRIVATE ${pch_dir}/common.hpp)
  if(NOT ISLA_FUZZ)
    find_package(GTest QUIET)
  endif()
  if(TARGET GTest::gtest)
    add_library(isla_pch_tests OBJECT ${pch_dir}/anchor.cpp)
    target_link_libraries(isla_pch_tests PRIVATE Boost::boost Boost::json spdlog::spdlog fmt::fmt
                                                 GTest::gtest GTest::gmock)
    target_precompile_headers(isla_pch_tests PRIVATE ${pch_dir}/tests.hpp)
  endif()
  isla_collect_targets(${PROJECT_SOURCE_DIR} targets)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(NOT type MATCHES "^(STATIC_LIBRARY|EXECUTABLE|OBJECT_LIBRARY)$" OR target MATCHES "^isla_pch_")
      continue()
    endif()
    get_target_property(skip ${target} ISLA_NO_PCH)
    get_target_property(sources ${target} SOURCES)
    if(skip OR NOT sources MATCHES "\\.cpp")
      continue()
    endif()
    get_target_property(links ${target} LINK_LIBRARIES)
    if(TARGET isla_pch_tests AND links MATCHES "GTest::|isla_test_support")
      target_precompile_headers(${target} REUSE_FROM isla_pch_tests)
    else()
      target_precompile_headers(${target} REUSE_FROM isla_pch_common)
    endif()
  endforeach()
endfunction()
