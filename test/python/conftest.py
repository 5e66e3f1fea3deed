"""pytest hooks of test/python: the seed of the run's random inputs (from
kvq_testing.rng(), test/harness) is printed at the end of every run, so a
failure says how to reproduce it (KVQ_TEST_SEED)."""

import kvq_testing


def pytest_terminal_summary(terminalreporter):
    seed = kvq_testing.drawn_seed()
    if seed is not None:
        terminalreporter.write_line(
            f"seed {seed} ({kvq_testing.SEED_VARIABLE}={seed} to reproduce)")
