"""The model a run keeps: saved once, loaded in one call, scoring exactly as the run did."""

import numpy as np
import pytest

from active.loop import ActiveLoop
from active.model import file_sha256, load_run_model, save_run_model
from active.oracles import SimulatedOracle
from labeling_functions import load_lfs

LFS_FILE = '''
from labeling_functions import similarity_below, values_equal
lfs = [
    values_equal("soc_sec_id", name="same_ssn"),
    similarity_below("surname", 0.6, metric="jaro_winkler", name="surname_differs"),
    similarity_below("date_of_birth", 0.6, metric="levenshtein", name="dob_differs"),
]
'''


@pytest.fixture(scope="module")
def fitted(pool, fast_matcher, tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    lf_file = folder / "lfs.py"
    lf_file.write_text(LFS_FILE)
    loop = ActiveLoop(pool, load_lfs(lf_file), SimulatedOracle(pool["label"]),
                      matcher=fast_matcher(), batch_size=5, store=folder / "labels.sqlite")
    loop.run(10)
    return loop, lf_file, folder


def test_saved_model_scores_as_the_run(fitted):
    loop, lf_file, folder = fitted
    path = folder / "model.riskweasul"
    save_run_model(loop, path, lf_file, options={"blocking": "person"})
    model = load_run_model(path)
    np.testing.assert_array_equal(model.match_proba(loop.pairs), loop.matcher_proba)
    assert model.threshold == loop.threshold and model.attributes == loop.attributes
    assert model.n_labels == 10 and model.options == {"blocking": "person"}
    assert model.lfs_sha256 == file_sha256(lf_file)
    np.testing.assert_allclose(model.label_proba(loop.pairs, lf_file), loop.lm_proba)
    reversed_rows = loop.pairs.iloc[::-1]  # a pair's score does not depend on its neighbours
    np.testing.assert_array_equal(model.match_proba(reversed_rows), loop.matcher_proba[::-1])


def test_other_lfs_missing_attributes_and_other_files_are_refused(fitted):
    loop, lf_file, folder = fitted
    path = folder / "refusals.riskweasul"
    model = save_run_model(loop, path, lf_file)
    other = folder / "other_lfs.py"
    other.write_text(LFS_FILE.replace("0.6", "0.7"))
    with pytest.raises(ValueError, match="not the LF file of the run"):
        model.label_proba(loop.pairs, other)
    attribute = loop.attributes[0]
    with pytest.raises(ValueError, match=f"lack the attribute.*{attribute}"):
        model.match_proba(loop.pairs.drop(columns=[f"left_{attribute}", f"right_{attribute}"]))
    matcher_file = folder / "matcher.model"
    loop.matcher.save(matcher_file)
    with pytest.raises(ValueError, match="holds a SimilarityMatcher, not a RunModel"):
        load_run_model(matcher_file)


def test_a_model_that_no_longer_reproduces_the_run_is_not_saved(pool, fast_matcher, tmp_path):
    loop = ActiveLoop(pool, [], SimulatedOracle(pool["label"]), matcher=fast_matcher(),
                      batch_size=10, store=tmp_path / "labels.sqlite")
    loop.run(20)
    loop.matcher.fit(pool.iloc[:60], pool["label"].iloc[:60])  # moved on after the scores
    with pytest.raises(RuntimeError, match="no longer gives the run's scores"):
        save_run_model(loop, tmp_path / "model.riskweasul")
    assert not (tmp_path / "model.riskweasul").exists()
