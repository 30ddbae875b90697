# tlsgate_module(NAME DEPS target... [PRIVATE_DEPS target...])
# Declares tlsgate_<NAME> (alias tlsgate::<NAME>) from every .cc under
# src/<NAME>/. Includes are rooted at src/ ("util/result.h"); a module sees
# only what it links, so a dependency running the wrong way fails to build.
function(tlsgate_module NAME)
  cmake_parse_arguments(M "" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  list(FILTER srcs EXCLUDE REGEX "/main\\.cc$")
  if(srcs)
    add_library(tlsgate_${NAME} STATIC ${srcs})
    target_include_directories(tlsgate_${NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(tlsgate_${NAME} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS})
  else()
    add_library(tlsgate_${NAME} INTERFACE)
    target_include_directories(tlsgate_${NAME} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(tlsgate_${NAME} INTERFACE ${M_DEPS})
  endif()
  add_library(tlsgate::${NAME} ALIAS tlsgate_${NAME})
endfunction()

# tlsgate_test(NAME DEPS target... [LABELS label...])
# One gtest binary from every .cc in the current folder: the *_test.cc files
# and the fixtures they share (a fixture is a .h plus a .cc, like src/).
# Registered with ctest; none without a *_test.cc. Tests find the binary
# under test through $TLSGATE_BIN.
function(tlsgate_test NAME)
  cmake_parse_arguments(T "" "" "DEPS;LABELS" ${ARGN})
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  if(NOT tests)
    return()
  endif()
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  add_executable(${NAME} ${srcs})
  target_link_libraries(${NAME} PRIVATE ${T_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_dependencies(${NAME} tlsgate)
  # One aggregate target per label (tests-unit, tests-e2e): `make test-asan`
  # builds only what it runs.
  foreach(label ${T_LABELS})
    if(NOT TARGET tests-${label})
      add_custom_target(tests-${label})
    endif()
    add_dependencies(tests-${label} ${NAME})
  endforeach()
  gtest_discover_tests(${NAME} DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "${T_LABELS}" ENVIRONMENT "TLSGATE_BIN=$<TARGET_FILE:tlsgate>")
endfunction()
