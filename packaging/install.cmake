# What `cmake --install` puts under a prefix besides the binary and the
# plugins (framework/CMakeLists.txt, herald_add_plugin):
#
#   include/herald/*.h                      the SDK headers       (dev)
#   LIBDIR/pkgconfig/herald-plugin.pc       pkg-config            (dev)
#   LIBDIR/cmake/HeraldPlugin/*.cmake       find_package(HeraldPlugin) (dev)
#   share/man/man1/herald.1.gz              the man page
#   share/herald/                           config/: demo.yaml, examples/,
#                                           templates/, schemas/, ksqldb/
#
# and with HERALD_PACKAGE=ON (the .deb): /etc/herald/herald.yaml and its
# templates, /lib/systemd/system/herald.service, and the Debian doc files.
# Everything but those system files is relative to the prefix, so
# `cmake --install build --prefix X` and DESTDIR work; the .pc file is
# written at install time for the prefix actually used, and the CMake
# package finds its prefix from its own location.
include(CMakePackageConfigHelpers)

# The ABI a plugin built against this SDK declares, from plugin.h itself
# so the two cannot drift (a new minor in plugin.h reconfigures).
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/framework/include/herald/plugin.h)
file(STRINGS ${PROJECT_SOURCE_DIR}/framework/include/herald/plugin.h
  herald_abi_lines REGEX "^#define HERALD_ABI_(MAJOR|MINOR) [0-9]+$")
string(REGEX REPLACE ".*HERALD_ABI_MAJOR ([0-9]+).*" "\\1"
  HERALD_ABI_MAJOR "${herald_abi_lines}")
string(REGEX REPLACE ".*HERALD_ABI_MINOR ([0-9]+).*" "\\1"
  HERALD_ABI_MINOR "${herald_abi_lines}")
if(NOT HERALD_ABI_MAJOR MATCHES "^[0-9]+$" OR
   NOT HERALD_ABI_MINOR MATCHES "^[0-9]+$")
  message(FATAL_ERROR "plugin.h: cannot read HERALD_ABI_MAJOR/MINOR")
endif()
set(HERALD_ABI_VERSION ${HERALD_ABI_MAJOR}.${HERALD_ABI_MINOR})

set(herald_pkg_dir ${CMAKE_CURRENT_LIST_DIR})
set(herald_pkg_out ${PROJECT_BINARY_DIR}/packaging)

# herald-plugin.pc: the template is filled twice, now with the
# configure-time values and at install time with the prefix in use
# (CMAKE_INSTALL_PREFIX as `cmake --install --prefix` set it, without
# DESTDIR: the file says where things will be, not where they were staged).
set(HERALD_PC_VERSION ${PROJECT_VERSION})
set(HERALD_PC_PREFIX "@HERALD_PC_PREFIX@") # kept for the install-time pass
configure_file(${herald_pkg_dir}/herald-plugin.pc.in
  ${herald_pkg_out}/herald-plugin.pc.in @ONLY)
install(CODE "
  set(HERALD_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${herald_pkg_out}/herald-plugin.pc.in\"
    \"${herald_pkg_out}/installed/herald-plugin.pc\" @ONLY)
" COMPONENT dev)
install(FILES ${herald_pkg_out}/installed/herald-plugin.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# find_package(HeraldPlugin): Herald::plugin and herald_add_plugin().
set(HERALD_CMAKE_DEST ${CMAKE_INSTALL_LIBDIR}/cmake/HeraldPlugin)
configure_package_config_file(${herald_pkg_dir}/HeraldPluginConfig.cmake.in
  ${herald_pkg_out}/HeraldPluginConfig.cmake
  INSTALL_DESTINATION ${HERALD_CMAKE_DEST}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR HERALD_PLUGIN_DEST)
# Versioned like herald; a plugin asking for 0.1 gets any 0.x herald. The
# ABI itself is checked by the loader at run time (abi_major/abi_minor).
write_basic_package_version_file(
  ${herald_pkg_out}/HeraldPluginConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion
  ARCH_INDEPENDENT)
install(FILES ${herald_pkg_out}/HeraldPluginConfig.cmake
  ${herald_pkg_out}/HeraldPluginConfigVersion.cmake
  DESTINATION ${HERALD_CMAKE_DEST} COMPONENT dev)

# The man page, compressed as Debian wants it (gzip -n: no name or time
# stamp, so the package is reproducible).
add_custom_command(OUTPUT ${herald_pkg_out}/herald.1.gz
  COMMAND gzip -9n -c ${herald_pkg_dir}/herald.1 > ${herald_pkg_out}/herald.1.gz
  DEPENDS ${herald_pkg_dir}/herald.1 VERBATIM)
add_custom_target(herald_man ALL DEPENDS ${herald_pkg_out}/herald.1.gz)
install(FILES ${herald_pkg_out}/herald.1.gz
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# The example configs with their templates, schemas and ksqlDB statement,
# laid out as in the source tree so their relative paths still resolve.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/config/
  DESTINATION ${CMAKE_INSTALL_DATADIR}/herald)

if(HERALD_PACKAGE)
  if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    message(FATAL_ERROR "HERALD_PACKAGE needs CMAKE_INSTALL_PREFIX=/usr")
  endif()
  # librdkafka built by scripts/deps.sh (Debian 12 has none >= 2.8): the
  # package carries it in herald's private directory, where herald's
  # RUNPATH points (CMakeLists.txt), so nothing else on the system sees it.
  if(HERALD_RDKAFKA_BUNDLED)
    # stripped like every other binary of the package (lintian)
    file(REAL_PATH ${HERALD_RDKAFKA_PREFIX}/lib/librdkafka.so.1 rdkafka_so)
    file(MAKE_DIRECTORY ${herald_pkg_out}/lib)
    execute_process(COMMAND strip --strip-unneeded --remove-section=.comment
      --remove-section=.note -o ${herald_pkg_out}/lib/librdkafka.so.1
      ${rdkafka_so} RESULT_VARIABLE strip_rc)
    if(NOT strip_rc EQUAL 0)
      message(FATAL_ERROR "could not strip ${rdkafka_so}")
    endif()
    install(FILES ${herald_pkg_out}/lib/librdkafka.so.1
      PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
      DESTINATION ${CMAKE_INSTALL_LIBDIR}/herald COMPONENT herald)
  endif()
  # /etc/herald: the service's config and its templates, conffiles of the
  # herald package (packaging/cpack.cmake lists them).
  install(FILES ${herald_pkg_dir}/herald.yaml
    DESTINATION /etc/herald)
  # Secrets for the unit's LoadCredential=, root's alone (not conffiles:
  # the directory ships empty).
  file(MAKE_DIRECTORY ${herald_pkg_out}/credentials)
  install(DIRECTORY ${herald_pkg_out}/credentials DESTINATION /etc/herald
    DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
  install(FILES ${PROJECT_SOURCE_DIR}/config/templates/possible_anomaly.txt
    ${PROJECT_SOURCE_DIR}/config/templates/possible_anomaly.html
    DESTINATION /etc/herald/templates)
  # Debian 12 keeps units in /lib/systemd/system (usrmerge links it).
  install(FILES ${herald_pkg_dir}/herald.service
    DESTINATION /lib/systemd/system)
  # Every binary package carries its copyright and changelog.
  add_custom_command(OUTPUT ${herald_pkg_out}/changelog.Debian.gz
    COMMAND gzip -9n -c ${herald_pkg_dir}/changelog.Debian
      > ${herald_pkg_out}/changelog.Debian.gz
    DEPENDS ${herald_pkg_dir}/changelog.Debian VERBATIM)
  add_custom_target(herald_changelog ALL
    DEPENDS ${herald_pkg_out}/changelog.Debian.gz)
  foreach(comp herald dev)
    set(doc ${CMAKE_INSTALL_DATAROOTDIR}/doc/herald)
    if(comp STREQUAL "dev")
      set(doc ${CMAKE_INSTALL_DATAROOTDIR}/doc/herald-dev)
    endif()
    install(FILES ${herald_pkg_dir}/copyright
      ${herald_pkg_out}/changelog.Debian.gz
      DESTINATION ${doc} COMPONENT ${comp})
  endforeach()
endif()
