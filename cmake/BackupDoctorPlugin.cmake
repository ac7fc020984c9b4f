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
  if(TARGET BackupDoctorSDK::sdk)
    target_link_libraries(${target} PRIVATE BackupDoctorSDK::sdk)
  else()
    target_link_libraries(${target} PRIVATE backup_doctor_sdk)
  endif()
  # A plugin must not leak symbols or pull undefined ones at load time. (Under clang's
  # sanitizers a module leaves the runtime's symbols to the executable that loads it.)
  target_link_options(${target} PRIVATE "LINKER:--exclude-libs,ALL")
  if(NOT BACKUP_DOCTOR_SANITIZE)
    target_link_options(${target} PRIVATE "LINKER:--no-undefined")
  endif()
  if(ARG_LIBRARIES)
    target_link_libraries(${target} PRIVATE ${ARG_LIBRARIES})
  endif()
  if(NOT ARG_NO_INSTALL AND DEFINED BD_PLUGIN_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION "${BD_PLUGIN_INSTALL_DIR}")
  endif()
endfunction()
