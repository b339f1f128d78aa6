# The Debian packages (make package: a build with HERALD_PACKAGE=ON and
# CMAKE_INSTALL_PREFIX=/usr, then `cpack -G DEB`):
#   herald      the binary, the plugins, /etc/herald (conffiles), the
#               systemd unit, the man page, the example configs
#   herald-dev  plugin.h, herald-plugin.pc, find_package(HeraldPlugin)
set(CPACK_PACKAGE_NAME herald)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "herald maintainers <herald@example.org>")
set(CPACK_PACKAGE_VENDOR "herald")
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)
# Absolute destinations (/etc/herald, /lib/systemd/system) are staged
# under DESTDIR like everything else.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_COMPONENTS_ALL herald dev)
set(CPACK_DEB_COMPONENT_INSTALL ON)

set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "")
# Runtime dependencies from the ELF files themselves (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# dpkg-shlibdeps finds the bundled librdkafka there (packaging/install.cmake)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
  ${CMAKE_INSTALL_FULL_LIBDIR}/herald)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(CPACK_DEBIAN_HERALD_PACKAGE_NAME herald)
set(CPACK_DEBIAN_HERALD_PACKAGE_SECTION net)
set(CPACK_COMPONENT_HERALD_DESCRIPTION
  "Kafka sink worker with pluggable notification channels
herald consumes Kafka topics, decodes Confluent Schema Registry Avro, JSON
or strings, and hands each record to a plugin loaded at run time: email
through SMTP or SendGrid, files, or third-party channels. Offsets are
committed only after delivery (at least once); duplicate alerts are
suppressed by dedup marks kept in Kafka.
.
This package ships the herald binary, its plugins, a systemd unit running
it as an unprivileged dynamic user with /etc/herald/herald.yaml, and the
example configs.")
# Every file herald ships in /etc is the admin's to edit.
set(herald_conffiles ${PROJECT_BINARY_DIR}/packaging/deb/conffiles)
file(WRITE ${herald_conffiles}
  "/etc/herald/herald.yaml\n"
  "/etc/herald/templates/possible_anomaly.html\n"
  "/etc/herald/templates/possible_anomaly.txt\n")
set(CPACK_DEBIAN_HERALD_PACKAGE_CONTROL_EXTRA ${herald_conffiles})

set(CPACK_DEBIAN_DEV_PACKAGE_NAME herald-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION devel)
set(CPACK_COMPONENT_DEV_DEPENDS herald)
set(CPACK_COMPONENT_DEV_DESCRIPTION
  "SDK for herald plugins
Headers (herald/plugin.h), the herald-plugin pkg-config file and the
HeraldPlugin CMake package (find_package(HeraldPlugin), with
herald_add_plugin()) to build herald plugins out of tree.")

include(CPack)
