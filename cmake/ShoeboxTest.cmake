# One way to add a test (included from the top-level CMakeLists.txt when
# SHOEBOX_BUILD_TESTS is on).
#
#   shoebox_add_test(NAME <ctest name or target>
#                    LABEL unit|integration|e2e
#                    [SOURCES <files>...]      # builds executable TARGET
#                    [TARGET <executable>]     # default: NAME
#                    [LIBS <targets>...] [DEFINES <definitions>...]
#                    [DEPENDS <targets>...]    # built before the test runs
#                    [TIMEOUT <seconds>]
#                    [DISCOVER [TEST_FILTER <gtest filter>]]
#                    [COMMAND <command>...])   # a script test: no SOURCES
#
# With SOURCES an executable is built with ${SHOEBOX_WARNINGS}, linked with
# LIBS and gtest. DISCOVER registers every gtest case as its own ctest entry
# (gtest_discover_tests; NAME is then the target and may be given more than
# once with different TEST_FILTERs to label parts differently); without it
# the binary is one ctest entry named NAME. A listed source file that does not
# exist fails the configure: nothing is dropped silently.
include(GoogleTest)

function(shoebox_add_test)
  cmake_parse_arguments(PARSE_ARGV 0 T "DISCOVER" "NAME;TARGET;LABEL;TIMEOUT;TEST_FILTER"
                        "SOURCES;LIBS;DEFINES;DEPENDS;COMMAND")
  if(NOT T_NAME)
    message(FATAL_ERROR "shoebox_add_test: NAME is required")
  endif()
  if(NOT T_LABEL MATCHES "^(unit|integration|e2e)$")
    message(FATAL_ERROR "shoebox_add_test(${T_NAME}): LABEL must be unit, integration or e2e, not '${T_LABEL}'")
  endif()
  if(T_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "shoebox_add_test(${T_NAME}): unknown arguments ${T_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT T_TARGET)
    set(T_TARGET ${T_NAME})
  endif()

  if(T_COMMAND)
    if(T_SOURCES OR T_DISCOVER)
      message(FATAL_ERROR "shoebox_add_test(${T_NAME}): COMMAND excludes SOURCES and DISCOVER")
    endif()
    add_test(NAME ${T_NAME} COMMAND ${T_COMMAND})
  else()
    if(T_SOURCES)
      foreach(src ${T_SOURCES})
        get_filename_component(abs ${src} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
        if(NOT EXISTS ${abs})
          message(FATAL_ERROR "shoebox_add_test(${T_NAME}): source ${src} does not exist")
        endif()
      endforeach()
      add_executable(${T_TARGET} ${T_SOURCES})
      target_compile_options(${T_TARGET} PRIVATE ${SHOEBOX_WARNINGS})
      target_link_libraries(${T_TARGET} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
      if(T_DEFINES)
        target_compile_definitions(${T_TARGET} PRIVATE ${T_DEFINES})
      endif()
    elseif(NOT TARGET ${T_TARGET})
      message(FATAL_ERROR "shoebox_add_test(${T_NAME}): no SOURCES and no target ${T_TARGET} yet")
    endif()
    if(T_DEPENDS)
      add_dependencies(${T_TARGET} ${T_DEPENDS})
    endif()
    if(T_DISCOVER)
      set(filter)
      if(T_TEST_FILTER)
        set(filter TEST_FILTER "${T_TEST_FILTER}")
      endif()
      set(props LABELS ${T_LABEL})
      if(T_TIMEOUT)
        list(APPEND props TIMEOUT ${T_TIMEOUT})
      endif()
      gtest_discover_tests(${T_TARGET} ${filter} PROPERTIES ${props} DISCOVERY_TIMEOUT 60)
      return()
    endif()
    add_test(NAME ${T_NAME} COMMAND ${T_TARGET})
  endif()
  set_tests_properties(${T_NAME} PROPERTIES LABELS ${T_LABEL})
  if(T_TIMEOUT)
    set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT})
  endif()
endfunction()
