# Debian packages (docs/deploy.md "Packages"): `cpack` in a configured and
# built tree (or `cmake --build build/release --target package`) writes
#   shoebox-server_<version>_<arch>.deb  coordinator, workers, their systemd units
#   shoebox-agent_<version>_<arch>.deb   agent and its unit
#   shoebox_<version>_<arch>.deb         the CLI, `shoebox setup` included
# CPack's DEB generator packages the binaries this tree already built (no
# second build, as dpkg-buildpackage would do), strips them, and lets
# dpkg-shlibdeps declare the library packages they need. Maintainer scripts
# are in cmake/packaging/; tests/packaging/ builds, lints, installs and uses
# the packages.

set(SHOEBOX_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH
    "Where the packages put systemd units (Debian 12: /lib/systemd/system)")
set(SHOEBOX_MAINTAINER "Shoebox developers <shoebox@example.org>" CACHE STRING
    "Maintainer field of the Debian packages")

set(_pk ${PROJECT_SOURCE_DIR}/cmake/packaging)
set(_pk_out ${PROJECT_BINARY_DIR}/packaging)

install(TARGETS shoebox-coordinator shoebox-worker RUNTIME DESTINATION bin COMPONENT server)
install(TARGETS shoebox-agent RUNTIME DESTINATION bin COMPONENT agent)
install(TARGETS shoebox RUNTIME DESTINATION bin COMPONENT cli)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/shoebox-coordinator.service
              ${PROJECT_SOURCE_DIR}/deploy/systemd/shoebox-worker@.service
        DESTINATION ${SHOEBOX_SYSTEMD_UNIT_DIR} COMPONENT server)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/shoebox-agent.service
        DESTINATION ${SHOEBOX_SYSTEMD_UNIT_DIR} COMPONENT agent)

# Every package: /usr/share/doc/<package>/{copyright,changelog.gz} (Debian
# policy 12.5 and 12.7; a native package's changelog is changelog.gz).
configure_file(${_pk}/changelog.in ${_pk_out}/changelog @ONLY)
execute_process(COMMAND gzip -9 -n -c ${_pk_out}/changelog
                OUTPUT_FILE ${_pk_out}/changelog.gz RESULT_VARIABLE _gz)
if(NOT _gz EQUAL 0)
  message(FATAL_ERROR "Packaging.cmake: gzip failed on ${_pk_out}/changelog")
endif()
set(_docs_server ${PROJECT_SOURCE_DIR}/docs/deploy.md ${PROJECT_SOURCE_DIR}/docs/coordinator.md
    ${PROJECT_SOURCE_DIR}/docs/destinations.md ${PROJECT_SOURCE_DIR}/docs/security.md
    ${PROJECT_SOURCE_DIR}/docs/recovery.md)
set(_docs_agent ${PROJECT_SOURCE_DIR}/docs/agent.md)
set(_docs_cli ${PROJECT_SOURCE_DIR}/docs/cli.md ${PROJECT_SOURCE_DIR}/README.md)
foreach(comp_pkg server:shoebox-server agent:shoebox-agent cli:shoebox)
  string(REPLACE ":" ";" _cp ${comp_pkg})
  list(GET _cp 0 _comp)
  list(GET _cp 1 _pkg)
  install(FILES ${_pk}/copyright ${_pk_out}/changelog.gz ${_docs_${_comp}}
          DESTINATION share/doc/${_pkg} COMPONENT ${_comp})
endforeach()

# Maintainer scripts, mode 0755 as dpkg wants them.
foreach(script server.postinst server.prerm server.postrm agent.postinst agent.prerm agent.postrm)
  string(REPLACE "." ";" _parts ${script})
  list(GET _parts 0 _comp)
  list(GET _parts 1 _name)
  configure_file(${_pk}/${script} ${_pk_out}/${_comp}/${_name} COPYONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
                 GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME shoebox)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Shoebox")
set(CPACK_PACKAGE_CONTACT "${SHOEBOX_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL server agent cli)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SHOEBOX_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)

set(CPACK_DEBIAN_SERVER_PACKAGE_NAME shoebox-server)
set(CPACK_DEBIAN_AGENT_PACKAGE_NAME shoebox-agent)
set(CPACK_DEBIAN_CLI_PACKAGE_NAME shoebox)
# Versioned: `shoebox setup` and the daemons speak the same protocol.
set(CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS "adduser, shoebox (= ${PROJECT_VERSION})")
set(CPACK_DEBIAN_SERVER_PACKAGE_RECOMMENDS "postgresql")
set(CPACK_DEBIAN_SERVER_PACKAGE_SUGGESTS "rclone, shoebox-agent")
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_AGENT_PACKAGE_SUGGESTS "shoebox")
set(CPACK_DEBIAN_CLI_PACKAGE_SUGGESTS "postgresql-client")
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
    "${_pk_out}/server/postinst;${_pk_out}/server/prerm;${_pk_out}/server/postrm")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
    "${_pk_out}/agent/postinst;${_pk_out}/agent/prerm;${_pk_out}/agent/postrm")

# Synopsis, then the extended description (CPack indents each line by one
# space itself).
set(CPACK_COMPONENT_SERVER_DESCRIPTION
    "coordinator and workers of a Shoebox photo backup server
The coordinator keeps the catalog and the job queue in PostgreSQL and
ingests chunks from the agents into an encrypted, deduplicated chunk
store; the workers deliver every file to the destinations (a folder or
NAS, S3, WebDAV, SFTP, rclone remotes). After installing, run
`shoebox setup` as root, then enable the systemd units it names.")
set(CPACK_COMPONENT_AGENT_DESCRIPTION
    "backs up the photos and videos of this device to a Shoebox server
Watches folders, settles new files, splits them into chunks and sends
only the chunks the Shoebox server lacks, over mutual TLS, with an outbox
that survives restarts and days offline.")
set(CPACK_COMPONENT_CLI_DESCRIPTION
    "command line of the Shoebox photo backup: status, restore, setup
The `shoebox` command manages a Shoebox backup system: status of every
device and destination, destinations and bindings, jobs, versions and
point-in-time restore, enrollment tokens, retention, verification, and
`shoebox setup`, which prepares a server installed from the packages.")

include(CPack)
