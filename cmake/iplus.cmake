# Shared build helpers: dependencies, warnings, proto libraries and tests.
find_package(Threads REQUIRED)
find_package(absl REQUIRED CONFIG)
find_package(Protobuf REQUIRED)
find_package(gRPC REQUIRED CONFIG)
# Debian's civetweb CMake config also requires the civetweb server binary, which is a
# separate package; the libraries and headers are all we need.
find_path(CIVETWEB_INCLUDE_DIR civetweb.h REQUIRED)
find_library(CIVETWEB_LIBRARY civetweb REQUIRED)
add_library(iplus_civetweb INTERFACE)
target_include_directories(iplus_civetweb INTERFACE ${CIVETWEB_INCLUDE_DIR})
target_link_libraries(iplus_civetweb INTERFACE ${CIVETWEB_LIBRARY} Threads::Threads)
find_package(spdlog REQUIRED CONFIG)
find_package(GTest REQUIRED CONFIG)
find_package(benchmark REQUIRED CONFIG)
find_package(PkgConfig REQUIRED)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)

find_program(IPLUS_PROTOC protoc REQUIRED)
find_program(IPLUS_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

# The google.rpc protos come from Debian's golang-github-gogo-googleapis-dev as
# plain .proto files; they are compiled at build time, never copied.
find_path(IPLUS_GOOGLEAPIS_DIR google/rpc/status.proto
  PATHS /usr/share/gocode/src/github.com/gogo/googleapis
  NO_DEFAULT_PATH REQUIRED)
find_path(IPLUS_PROTOBUF_INCLUDE_DIR google/protobuf/timestamp.proto
  PATHS /usr/include REQUIRED)

include(GoogleTest)

add_library(iplus_warnings INTERFACE)
target_compile_options(iplus_warnings INTERFACE -Wall -Wextra -Werror)

# iplus_proto_library(NAME ROOT <dir> PROTOS <relative paths> [GRPC] [DEPS <targets>])
# Compiles the protoc output once into one library per proto package.
function(iplus_proto_library name)
  cmake_parse_arguments(ARG "GRPC" "ROOT" "PROTOS;DEPS" ${ARGN})
  set(out ${CMAKE_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${out})
  set(srcs)
  set(hdrs)
  foreach(p ${ARG_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" base ${p})
    list(APPEND srcs ${out}/${base}.pb.cc)
    list(APPEND hdrs ${out}/${base}.pb.h)
    set(outputs ${out}/${base}.pb.cc ${out}/${base}.pb.h)
    set(grpc_args)
    if(ARG_GRPC)
      list(APPEND srcs ${out}/${base}.grpc.pb.cc)
      list(APPEND outputs ${out}/${base}.grpc.pb.cc ${out}/${base}.grpc.pb.h)
      set(grpc_args --grpc_out=${out} --plugin=protoc-gen-grpc=${IPLUS_GRPC_CPP_PLUGIN})
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND ${IPLUS_PROTOC} --cpp_out=${out} ${grpc_args}
              -I${CMAKE_SOURCE_DIR}/proto -I${IPLUS_GOOGLEAPIS_DIR} -I${IPLUS_PROTOBUF_INCLUDE_DIR}
              ${ARG_ROOT}/${p}
      DEPENDS ${ARG_ROOT}/${p}
      COMMENT "protoc ${p}"
      VERBATIM)
  endforeach()
  add_library(${name} ${srcs} ${hdrs})
  target_include_directories(${name} PUBLIC $<BUILD_INTERFACE:${out}>)
  target_link_libraries(${name} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(${name} PUBLIC gRPC::grpc++)
  endif()
endfunction()

# add_service_test(NAME SOURCES <files> DEPS <targets> LABEL unit|integration|e2e|interop)
# One gtest binary; every test case is registered with CTest under the given label, so
# `ctest -L unit` runs without Redis.
function(add_service_test name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} iplus_warnings GTest::gmock GTest::gtest_main)
  # Test names are "<binary>.<Suite>.<Test>", so `ctest -R <binary>` selects one binary
  # and equal suite names in two binaries do not clash.
  gtest_discover_tests(${name}
    TEST_PREFIX "${name}."
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT})
endfunction()
