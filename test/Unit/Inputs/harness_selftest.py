"""Exercises test/harness/kvq_testing.py (harness.test).

    harness_selftest.py draw        # the seed and the first draws
    harness_selftest.py reproduce   # an unseeded run, rerun with its seed
    harness_selftest.py mismatch    # one passing and one failing check
    harness_selftest.py unfinished  # a failing check, no finish()
    harness_selftest.py modes       # every comparison mode, right and wrong
"""

import os
import subprocess
import sys

import numpy as np

import kvq_testing as kt


def draw():
    print(f"first draw {kt.rng().standard_normal():.17g}")
    print(f"named draw a {kt.rng('a').standard_normal():.17g}")
    print(f"named draw b {kt.rng('b').standard_normal():.17g}")


def reproduce():
    env = {k: v for k, v in os.environ.items() if k != kt.SEED_VARIABLE}
    first = subprocess.run([sys.executable, __file__, "draw"], env=env, check=True,
                           capture_output=True, text=True).stdout
    seed = first.split()[1]
    again = subprocess.run([sys.executable, __file__, "draw"],
                           env=dict(env, **{kt.SEED_VARIABLE: seed}), check=True,
                           capture_output=True, text=True).stdout
    kt.report("KVQ_TEST_SEED reproduces an unseeded run", first == again,
              f"{first.splitlines()[1]} / {again.splitlines()[1]}")
    lines = first.splitlines()
    kt.report("named generators differ", lines[2].split()[-1] != lines[3].split()[-1])
    kt.finish()


def mismatch():
    x = kt.rng().standard_normal(10)
    kt.check("close", x + 1e-9, x, 1e-5)
    kt.check("far", x + 1.0, x, 1e-5)
    kt.finish()
    print("not reached")


def unfinished():
    kt.report("wrong", False, "deliberately")


def modes():
    x = kt.rng().standard_normal((3, 4))
    nan = x.copy()
    nan[1, 1] = np.nan
    inf = x.copy()
    inf[0, 0] = np.inf
    codes = np.arange(12, dtype=np.int8).reshape(3, 4)
    cases = [
        ("rel", lambda: kt.check("rel", x * (1 + 1e-7), x, 1e-5), True),
        ("rel wrong", lambda: kt.check("rel wrong", x * 1.1, x, 1e-5), False),
        ("shape", lambda: kt.check("shape", x[:2], x, 1e-5), False),
        ("nan", lambda: kt.check("nan", nan, x, 1e-5), False),
        ("abs", lambda: kt.check("abs", x + 1e-3, x, 2e-3, relative=False), True),
        ("allclose", lambda: kt.check("allclose", x + 1e-6, x, rtol=1e-5, atol=1e-5), True),
        ("allclose wrong", lambda: kt.check("allclose wrong", x + 1e-3, x, rtol=1e-5, atol=1e-5),
         False),
        ("integers", lambda: kt.check("integers", codes.copy(), codes), True),
        ("integers wrong", lambda: kt.check("integers wrong", codes + (codes == 5), codes), False),
        ("infinities", lambda: kt.check("infinities", inf, inf, 1e-5, infinities=True), True),
        ("infinities wrong", lambda: kt.check("infinities wrong", x, inf, 1e-5, infinities=True),
         False),
        ("nans", lambda: kt.check("nans", nan, nan, 1e-5, nans=True), True),
        ("nans wrong", lambda: kt.check("nans wrong", x, nan, 1e-5, nans=True), False),
        ("empty", lambda: kt.check("empty", np.zeros((0, 4)), np.zeros((0, 4)), 1e-5), True),
    ]
    for name, run, expected in cases:
        before = kt.failures()
        passed = run()
        print(f"mode {name}: {'passed' if passed else 'failed'} as "
              f"{'expected' if passed == expected and kt.failures() == before + (not passed) else 'NOT EXPECTED'}")
    sys.stdout.flush()
    # The deliberate failures above: exit 0 only if each behaved as expected.
    os._exit(0)


{"draw": draw, "reproduce": reproduce, "mismatch": mismatch, "unfinished": unfinished,
 "modes": modes}[sys.argv[1]]()
