# WebDAV / SFTP / rclone connectors: extra dependencies and their tests.
# Included once from workers/CMakeLists.txt after shoebox_worker_lib,
# shoebox_test_servers and shoebox_connector_conformance exist. The sources
# themselves are in SHOEBOX_CONNECTOR_SOURCES.
find_package(EXPAT REQUIRED)  # PROPFIND answers (Debian libexpat1-dev)
target_link_libraries(shoebox_worker_lib PUBLIC EXPAT::EXPAT ssh absl::time)

if(SHOEBOX_BUILD_TESTS)
  # Against real servers: Apache httpd + mod_dav and `rclone serve webdav`
  # (webdav), OpenSSH sshd (sftp), `rclone rcd` with its local backend and a
  # webdav remote (rclone). The unit cases (encoding, PROPFIND parsing) run
  # in the webdav binary too and carry the `unit` label by name filter.
  foreach(kind webdav sftp rclone)
    add_executable(shoebox_${kind}_connector_test ${CMAKE_CURRENT_SOURCE_DIR}/connectors/${kind}_test.cc)
    target_compile_options(shoebox_${kind}_connector_test PRIVATE ${SHOEBOX_WARNINGS})
    target_link_libraries(shoebox_${kind}_connector_test PRIVATE shoebox_worker_lib
      shoebox_connector_conformance shoebox_test_servers GTest::gtest_main)
  endforeach()
  gtest_discover_tests(shoebox_webdav_connector_test
    TEST_FILTER "WebDavEncoding.*:WebDavPropfind.*:WebDavSettings.*:WebDavHttpStatus.*"
    PROPERTIES LABELS unit DISCOVERY_TIMEOUT 60)
  gtest_discover_tests(shoebox_webdav_connector_test
    TEST_FILTER "-WebDavEncoding.*:WebDavPropfind.*:WebDavSettings.*:WebDavHttpStatus.*"
    PROPERTIES LABELS integration DISCOVERY_TIMEOUT 60)
  gtest_discover_tests(shoebox_sftp_connector_test PROPERTIES LABELS integration DISCOVERY_TIMEOUT 60)
  gtest_discover_tests(shoebox_rclone_connector_test PROPERTIES LABELS integration DISCOVERY_TIMEOUT 60)
endif()
