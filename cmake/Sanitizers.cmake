# The sanitizer and fuzzing build (scripts/sanitize, scripts/fuzz): every target, plugin modules
# included, is compiled and linked with AddressSanitizer and UndefinedBehaviorSanitizer; any UB
# report is fatal. With BACKUP_DOCTOR_FUZZ the code is also instrumented for libFuzzer's coverage
# feedback and tests/fuzz builds one harness per parser of untrusted bytes (clang only).
option(BACKUP_DOCTOR_SANITIZE "Build with ASan + UBSan (-fno-sanitize-recover=undefined)" OFF)
option(BACKUP_DOCTOR_FUZZ "Build the libFuzzer harnesses under tests/fuzz (clang; implies SANITIZE)" OFF)

if(BACKUP_DOCTOR_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "BACKUP_DOCTOR_FUZZ needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14")
  endif()
  set(BACKUP_DOCTOR_SANITIZE ON CACHE BOOL "" FORCE)
endif()

if(BACKUP_DOCTOR_SANITIZE)
  set(bd_sanitize_flags -fsanitize=address,undefined -fno-sanitize-recover=undefined
      -fno-omit-frame-pointer)
  add_compile_options(${bd_sanitize_flags})
  # add_link_options reaches executables, shared and MODULE libraries (the plugins) alike.
  add_link_options(${bd_sanitize_flags})
  if(BACKUP_DOCTOR_FUZZ)
    add_compile_options(-fsanitize=fuzzer-no-link)
  endif()
endif()
