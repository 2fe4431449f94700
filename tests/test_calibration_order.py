"""A timbre's level calibration is the same whoever computes it first (a server's warm-up or a render)."""
from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from aimusic.synth.levels import timbre_calibration


def test_calibration_does_not_depend_on_the_callers_thread_pool():
    # warm_up() calibrates outside a render's single-thread limit; renders calibrate inside it.
    free = timbre_calibration.__wrapped__("overdrive_guitar", 44100)
    with threadpool_limits(limits=1):
        single = timbre_calibration.__wrapped__("overdrive_guitar", 44100)
    assert free[0] == single[0] and free[1] == single[1]
    assert np.array_equal(free[2], single[2])


def test_one_blas_thread_inside_a_render_as_with_threadpool_limits():
    from threadpoolctl import threadpool_info

    from aimusic.blas import one_thread

    with one_thread():
        assert all(lib["num_threads"] == 1 for lib in threadpool_info() if lib["user_api"] == "blas")
    with one_thread():   # again, with the controller kept from the first time
        assert all(lib["num_threads"] == 1 for lib in threadpool_info() if lib["user_api"] == "blas")
