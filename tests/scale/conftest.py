"""A small in-process Dask cluster and tiny person records shared by the scale tests."""

import pytest

from blocking import make_dirty_records


@pytest.fixture(scope="session")
def client():
    """Two single-threaded in-process workers: real task scheduling, no process start-up."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="session")
def records():
    """About 220 dirty person records in FEBRL's columns, with their true matches."""
    return make_dirty_records(n_entities=120, seed=5)
