"""Data for tests, not tests: the vcrpy suite here is run by tests/test_vcr_migration.py."""

collect_ignore = ["vcr_suite"]
