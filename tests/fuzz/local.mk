# Fuzz targets (libFuzzer): the wire format and the supervisor's dispatcher
# against hostile worker output.  Built and run by scripts/fuzz with clang,
# outside the normal build; `make fuzz` runs the short fuzz, `make fuzz
# FUZZ_FLAGS=--long` the long one.  Work files go to fuzz/ in the build
# directory.

EXTRA_DIST += \
	scripts/fuzz \
	tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_wire.c \
	tests/fuzz/fuzz_dispatch.c

# Seed inputs of both targets: the directory is copied whole.
EXTRA_DIST += tests/fuzz/corpus

FUZZ_FLAGS =

fuzz:
	FUZZ_BUILD_DIR="$(abs_top_builddir)" $(top_srcdir)/scripts/fuzz $(FUZZ_FLAGS)

clean-local: clean-local-fuzz

clean-local-fuzz:
	-rm -rf fuzz

.PHONY: fuzz clean-local-fuzz
