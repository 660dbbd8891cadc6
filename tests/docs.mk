# The man pages match the header.
dist_check_SCRIPTS += tests/check-man.sh
TESTS += tests/check-man.sh
