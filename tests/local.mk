# Check test suites (see tests/)
