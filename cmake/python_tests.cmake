# Prerequisites of the out-of-process tests (tests/interop, tests/metrics): the system
# interpreter with python3-grpcio and python3-protobuf (another python3 earlier on PATH
# may lack them) and the tools they start. A missing prerequisite does not drop the test
# silently: a failing test named <prefix>.prerequisites says what is missing.
set(IPLUS_TEST_PYTHON /usr/bin/python3 CACHE FILEPATH
    "Python 3 interpreter with the grpc and protobuf modules, for out-of-process tests")
find_program(IPLUS_GRPC_PYTHON_PLUGIN grpc_python_plugin)
find_program(IPLUS_REDIS_SERVER redis-server)
find_program(IPLUS_PROMTOOL promtool)
find_program(IPLUS_PROMETHEUS prometheus)

# iplus_python_tests_ready(<prefix> <result var> [<tool cache var>...])
function(iplus_python_tests_ready prefix result)
  set(missing)
  foreach(tool IPLUS_GRPC_PYTHON_PLUGIN IPLUS_REDIS_SERVER ${ARGN})
    if(NOT ${tool})
      list(APPEND missing ${tool})
    endif()
  endforeach()
  if(EXISTS ${IPLUS_TEST_PYTHON})
    execute_process(COMMAND ${IPLUS_TEST_PYTHON} -c "import grpc, google.protobuf"
                    RESULT_VARIABLE py_rc OUTPUT_QUIET ERROR_QUIET)
    if(NOT py_rc EQUAL 0)
      list(APPEND missing "grpc/protobuf modules for ${IPLUS_TEST_PYTHON}")
    endif()
  else()
    list(APPEND missing "${IPLUS_TEST_PYTHON}")
  endif()
  if(missing)
    string(REPLACE ";" ", " text "${missing}")
    add_test(NAME ${prefix}.prerequisites
             COMMAND sh -c "echo 'missing prerequisites: ${text} (run scripts/setup.sh)'; exit 1")
    set_tests_properties(${prefix}.prerequisites PROPERTIES LABELS interop)
    set(${result} FALSE PARENT_SCOPE)
  else()
    set(${result} TRUE PARENT_SCOPE)
  endif()
endfunction()
