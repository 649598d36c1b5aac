# Writes the build-info header at build time (run with cmake -P), so `-v` and the banner show
# the commit and date of the build, not of the last configure. configure_file only rewrites the
# header when its content changes, so an unchanged commit and day cause no recompilation.
# string(TIMESTAMP) honours SOURCE_DATE_EPOCH, for reproducible builds.
string(TIMESTAMP FO_BUILD_DATE "%Y-%m-%d" UTC)
set(FO_COMMIT "unknown")
find_program(GIT_EXECUTABLE git)
if(GIT_EXECUTABLE)
  execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --short=10 HEAD
                  WORKING_DIRECTORY "${FO_SOURCE_DIR}"
                  OUTPUT_VARIABLE _commit OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _rc ERROR_QUIET)
  if(_rc EQUAL 0 AND _commit)
    set(FO_COMMIT "${_commit}")
    execute_process(COMMAND "${GIT_EXECUTABLE}" diff --quiet HEAD --
                    WORKING_DIRECTORY "${FO_SOURCE_DIR}" RESULT_VARIABLE _dirty ERROR_QUIET)
    if(NOT _dirty EQUAL 0)
      set(FO_COMMIT "${FO_COMMIT}-dirty")
    endif()
  endif()
endif()
configure_file("${FO_SOURCE_DIR}/src/app/BuildInfo.h.in" "${FO_OUTPUT}" @ONLY)
