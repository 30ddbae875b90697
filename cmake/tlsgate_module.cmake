# tlsgate_module(NAME DEPS target... [PRIVATE_DEPS target...])
# Declares tlsgate_<NAME> (alias tlsgate::<NAME>) from every .cc under
# src/<NAME>/. Includes read "module/file.h", but each module exports only its
# own folder: its include root is build/include/<NAME>/, which holds nothing
# but the link <NAME> -> src/<NAME>. A module therefore sees the headers of
# itself and of what it links, and an include that runs against the layers
# (DESIGN.md) fails to compile. scripts/check-layers.sh runs before every
# module build and names the rule, including for system headers (Asio,
# <openssl/ssl.h>) that include roots cannot hide.
if(NOT TARGET tlsgate_layer_check)
  add_custom_target(tlsgate_layer_check
    COMMAND ${PROJECT_SOURCE_DIR}/scripts/check-layers.sh ${PROJECT_SOURCE_DIR}/src
    COMMENT "Checking the include layers of src/ (DESIGN.md)" VERBATIM)
endif()

function(tlsgate_module NAME)
  cmake_parse_arguments(M "" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  set(root ${PROJECT_BINARY_DIR}/include/${NAME})
  file(MAKE_DIRECTORY ${root})
  file(CREATE_LINK ${CMAKE_CURRENT_SOURCE_DIR} ${root}/${NAME} SYMBOLIC)
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  list(FILTER srcs EXCLUDE REGEX "/main\\.cc$")
  if(srcs)
    add_library(tlsgate_${NAME} STATIC ${srcs})
    # Unity batches: the Asio, Beast, CLI11 and std code a module's files
    # share is compiled once per batch, not once per file (a cold `make test`
    # compiles src/ in three trees). A file's local names must therefore
    # differ from its module neighbours'. GCC's -Wsubobject-linkage would
    # flag a .cc's own struct that holds a type of its anonymous namespace,
    # as it does for a header's, once that .cc is included by a unity file.
    set_target_properties(tlsgate_${NAME} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      target_compile_options(tlsgate_${NAME} PRIVATE -Wno-subobject-linkage)
    endif()
    target_include_directories(tlsgate_${NAME} PUBLIC ${root})
    target_link_libraries(tlsgate_${NAME} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS})
    add_dependencies(tlsgate_${NAME} tlsgate_layer_check)
  else()
    add_library(tlsgate_${NAME} INTERFACE)
    target_include_directories(tlsgate_${NAME} INTERFACE ${root})
    target_link_libraries(tlsgate_${NAME} INTERFACE ${M_DEPS})
  endif()
  add_library(tlsgate::${NAME} ALIAS tlsgate_${NAME})
endfunction()

# tlsgate_test(NAME DEPS target... [LABELS label...])
# One gtest binary from every .cc in the current folder: the *_test.cc files
# and the fixtures they share (a fixture is a .h plus a .cc, like src/).
# Registered with ctest; none without a *_test.cc. Tests find the binary
# under test through $TLSGATE_BIN. Unity batches as for modules (a cold
# `make test` compiles the unit tests in three trees): helpers in a test
# file's anonymous namespace must differ from its folder neighbours', and
# what two files share belongs in a fixture or tests/support.
function(tlsgate_test NAME)
  cmake_parse_arguments(T "" "" "DEPS;LABELS" ${ARGN})
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  if(NOT tests)
    return()
  endif()
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  add_executable(${NAME} ${srcs})
  set_target_properties(${NAME} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  # The test code itself unoptimized: gtest and gmock expand into much code
  # that -O2 spends time on (a batch of eight compiles in 8 s of CPU instead
  # of 13); the code under test, in the modules, keeps the build's flags.
  target_compile_options(${NAME} PRIVATE -O0)
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
