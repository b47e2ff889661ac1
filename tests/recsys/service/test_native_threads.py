"""Serving runs FAISS and numpy's BLAS single-threaded, whatever the environment says."""

from __future__ import annotations

from threadpoolctl import threadpool_info, threadpool_limits


def _blas_threads() -> set[int]:
    return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}


def test_serving_threads_run_blas_on_one_thread() -> None:
    from recsys.cli.serve import single_thread_native

    with threadpool_limits(2, "blas"):  # as without OPENBLAS_NUM_THREADS=1 on 2 cores
        assert 2 in _blas_threads()
        single_thread_native()  # what `liner serve` and each of its RPC threads call
        assert _blas_threads() == {1}
