# backup_doctor_add_plugin(<name> SOURCES <files...> [LIBRARIES <libs...>] [NO_INSTALL]
#                          [OUTPUT_DIRECTORY <dir>])
#
# Builds a plugin as a MODULE library named backup-doctor-<name>.so that exports only its
# entry symbol. Installed with the SDK package, so out-of-tree plugins use it as well.
function(backup_doctor_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  set(target "backup-doctor-${name}")
  add_library(${target} MODULE ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIRECTORY}")
  elseif(DEFINED BD_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${BD_PLUGIN_OUTPUT_DIR}")
  endif()
  # In the tree the alias, out of it the imported target: the same name either way.
  target_link_libraries(${target} PRIVATE BackupDoctorSDK::sdk)
  # A plugin must not leak symbols or pull undefined ones at load time. (Under clang's
  # sanitizers a module leaves the runtime's symbols to the executable that loads it: in the
  # sanitizer tree, and out of it against an SDK installed from that tree.)
  target_link_options(${target} PRIVATE "LINKER:--exclude-libs,ALL")
  if(NOT BACKUP_DOCTOR_SANITIZE AND NOT BackupDoctorSDK_SANITIZED)
    target_link_options(${target} PRIVATE "LINKER:--no-undefined")
  endif()
  if(ARG_LIBRARIES)
    target_link_libraries(${target} PRIVATE ${ARG_LIBRARIES})
  endif()
  # Installed where backup-doctor looks under its prefix (lib/backup-doctor/plugins): the
  # in-tree build sets BD_PLUGIN_INSTALL_DIR, find_package(BackupDoctorSDK) sets the same
  # relative path as BackupDoctorSDK_PLUGIN_INSTALL_DIR, so `cmake --install` into the prefix
  # of backup-doctor makes the plugin load with no flags.
  if(DEFINED BD_PLUGIN_INSTALL_DIR)
    set(destination "${BD_PLUGIN_INSTALL_DIR}")
  elseif(DEFINED BackupDoctorSDK_PLUGIN_INSTALL_DIR)
    set(destination "${BackupDoctorSDK_PLUGIN_INSTALL_DIR}")
  endif()
  if(NOT ARG_NO_INSTALL AND DEFINED destination)
    install(TARGETS ${target} LIBRARY DESTINATION "${destination}")
  endif()
endfunction()
