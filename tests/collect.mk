# Check suites of fan-out and collection (see tests/check_collect_*.c)
