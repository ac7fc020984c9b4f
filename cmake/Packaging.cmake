# Installed like a real tool: what the install holds beyond the targets (man pages, bash
# completion, the checklist schema, the example checklist), and the Debian packages CPack makes
# of it, from the build tree as it is (no second build):
#   cpack -G DEB --config build/CPackConfig.cmake -B OUTDIR
#     backup-doctor_<version>-1_<arch>.deb      binary, plugins, data, man pages, completion
#     backup-doctor-dev_<version>-1_<arch>.deb  the SDK: headers, support library, CMake package
#                                                config, pkg-config file
# Included before the subdirectories: an install() without COMPONENT is part of `runtime`
# (the backup-doctor package); sdk/ makes its own `dev` (backup-doctor-dev).
set(CMAKE_INSTALL_DEFAULT_COMPONENT_NAME runtime)

set(BD_DATA_INSTALL_DIR "${CMAKE_INSTALL_DATADIR}/backup-doctor")
install(FILES "${PROJECT_SOURCE_DIR}/docs/checklist.schema.json" DESTINATION "${BD_DATA_INSTALL_DIR}")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/examples/trixtech" DESTINATION "${BD_DATA_INSTALL_DIR}/examples")
install(FILES "${PROJECT_SOURCE_DIR}/deploy/bash-completion/backup-doctor"
  DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions")
# The systemd units (deploy/systemd; docs/monitoring.md, "Fleet rollout"): only in the package,
# which installs the binary they name, /usr/bin/backup-doctor. Relative, so
# /usr/lib/systemd/system (the same directory as /lib/systemd/system on a merged-/usr Debian 12).
# Not enabled by the package.
install(FILES "${PROJECT_SOURCE_DIR}/deploy/systemd/backup-doctor.service"
  "${PROJECT_SOURCE_DIR}/deploy/systemd/backup-doctor.timer"
  "${PROJECT_SOURCE_DIR}/deploy/systemd/backup-doctor-serve.service"
  DESTINATION lib/systemd/system COMPONENT runtime EXCLUDE_FROM_ALL)

# Man pages and the Debian changelog are installed compressed (gzip -9n: reproducible, what
# Debian policy asks for); they are built with everything else.
find_program(BD_GZIP gzip REQUIRED)
set(bd_gzipped)
function(bd_gzip source output)
  string(REGEX REPLACE "\\.gz$" "" plain "${output}")
  add_custom_command(OUTPUT "${output}"
    COMMAND "${CMAKE_COMMAND}" -E copy "${source}" "${plain}"
    COMMAND "${BD_GZIP}" -9nf "${plain}"
    DEPENDS "${source}" VERBATIM)
  set(bd_gzipped ${bd_gzipped} "${output}" PARENT_SCOPE)
endfunction()
set(bd_pkg_dir "${PROJECT_BINARY_DIR}/packaging")
foreach(page backup-doctor.1 backup-doctor-checklist.5)
  bd_gzip("${PROJECT_SOURCE_DIR}/docs/man/${page}" "${bd_pkg_dir}/${page}.gz")
  string(REGEX REPLACE ".*\\." "" section "${page}")
  install(FILES "${bd_pkg_dir}/${page}.gz" DESTINATION "${CMAKE_INSTALL_MANDIR}/man${section}")
endforeach()
bd_gzip("${PROJECT_SOURCE_DIR}/deploy/debian/changelog" "${bd_pkg_dir}/changelog.Debian.gz")
add_custom_target(bd_packaging_files ALL DEPENDS ${bd_gzipped})

# Every Debian package has its own /usr/share/doc/<package> with the copyright and changelog,
# and its lintian overrides. Only in the packages (EXCLUDE_FROM_ALL: CPack installs by
# component): a plain `cmake --install` does not need them.
foreach(component_package runtime:backup-doctor dev:backup-doctor-dev)
  string(REPLACE ":" ";" pair "${component_package}")
  list(GET pair 0 component)
  list(GET pair 1 package)
  install(FILES "${PROJECT_SOURCE_DIR}/deploy/debian/copyright" "${bd_pkg_dir}/changelog.Debian.gz"
    DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/${package}" COMPONENT ${component} EXCLUDE_FROM_ALL)
  # deploy/debian/lintian-overrides, or lintian-overrides.<package> where a package has its own.
  set(overrides "${PROJECT_SOURCE_DIR}/deploy/debian/lintian-overrides")
  if(EXISTS "${overrides}.${package}")
    set(overrides "${overrides}.${package}")
  endif()
  install(FILES "${overrides}"
    DESTINATION "${CMAKE_INSTALL_DATADIR}/lintian/overrides" RENAME ${package}
    COMPONENT ${component} EXCLUDE_FROM_ALL)
endforeach()

# --- CPack: the DEB generator ---------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME backup-doctor)
set(CPACK_PACKAGE_VENDOR "backup-doctor maintainers")
set(CPACK_PACKAGE_CONTACT "backup-doctor maintainers <maintainers@users.noreply.r-seed-57f9e0fb.example>")
# The packages install under /usr whatever prefix the build tree was configured with: CPack
# runs the install scripts with this prefix. Every installed path is relative to the prefix
# (the CMake package config and the pkg-config file find it from where they are), and nothing
# refers to the build tree. (The binary finds its plugins next to itself, ../lib/backup-doctor/
# plugins; the configured prefix's plugin directory, /usr/local/... by default, stays last in its
# search path: where `cmake --install` puts an out-of-tree plugin by default.)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
  OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# A new version or release needs its entry in deploy/debian/changelog (tests/e2e/package.sh).
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends from what the ELF files link (dpkg-shlibdeps: libpq5, libarchive13, libcurl4, ...).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(bd_deb_version "${PROJECT_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE}")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME backup-doctor)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "diagnoses backup systems before a restore fails
backup-doctor runs a checklist of checks against a host's backups (dump
freshness and completeness, permissions of the backup user, PostgreSQL
roles and privileges, archive integrity, S3 and rsync transfers, SELinux,
resources) and reports what is wrong and what to do about it, as text, JSON,
JUnit, Prometheus metrics or a Nagios state.
.
This package holds the backup-doctor command, its bundled checker plugins,
the checklist schema, an example checklist, man pages and bash completion.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME backup-doctor-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# The CMake package config looks for the plugin directory that backup-doctor creates, and for
# nlohmann_json, which the SDK headers use.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "backup-doctor (= ${bd_deb_version}), nlohmann-json3-dev (>= 3.10)")
set(CPACK_DEBIAN_DEV_DESCRIPTION "SDK for writing backup-doctor checker plugins
Headers of the backup-doctor plugin ABI and its header-only C++ wrapper, the
static support library (safe file opening, running programs, access tests as
another user), a CMake package config (find_package(BackupDoctorSDK) and
backup_doctor_add_plugin()) and a pkg-config file.")

include(CPack)
