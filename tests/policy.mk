# Check suites of the queue policies (see tests/check_policy*.c)
