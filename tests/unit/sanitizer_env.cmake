# Read by ctest after the discovered test lists (sanitizer tree only). Two tests make a plugin
# segfault on purpose and expect the runner to report the kernel's SIGSEGV; AddressSanitizer's
# own SEGV handler would turn the crash into a report and exit(1), so they run without it.
foreach(test
    "core_tests:crashing, aborting, hanging, throwing and exiting checks are contained"
    "core_tests:crashing, hanging and throwing checks finish within the longest timeout + 1s, with exit code 3")
  set_tests_properties("${test}" PROPERTIES ENVIRONMENT "ASAN_OPTIONS=$ENV{ASAN_OPTIONS}:handle_segv=0")
endforeach()
