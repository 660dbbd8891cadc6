# Sourced by the tests that run mpirun (tests/mpi.sh, tests/cli/mpi.sh).
#
# In a sanitizer build, what Open MPI keeps until exit is its own: the
# leaks of its libraries are suppressed (tests/lsan-mpi.supp).  For them
# to be named after those libraries, its components stay loaded and
# stacks are unwound the slow way (Open MPI has no frame pointers).
MPIRUN=${MPIRUN:-mpirun}
LSAN_OPTIONS="suppressions=${srcdir:-.}/tests/lsan-mpi.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
# ThreadSanitizer: Open MPI is not built for it (tests/tsan-mpi.supp).
TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}suppressions=${srcdir:-.}/tests/tsan-mpi.supp"
OMPI_MCA_mca_base_component_disable_dlclose=1
export LSAN_OPTIONS ASAN_OPTIONS TSAN_OPTIONS
export OMPI_MCA_mca_base_component_disable_dlclose
