import numpy as np
import pandas as pd
import pytest

from evaluation import OASISSampler, plot_estimate, read_predictions


@pytest.fixture
def table():
    return pd.DataFrame(
        {"pair_id": [10, 11, 12], "prediction": [1, 0, 1], "score": [0.9, 0.2, 0.7]}
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_read_predictions_round_trip(table, tmp_path, suffix):
    path = tmp_path / f"predictions{suffix}"
    table.to_csv(path, index=False) if suffix == ".csv" else table.to_parquet(path)
    frame = read_predictions(path)
    assert list(frame.columns) == ["pair_id", "prediction", "score"]
    assert frame["prediction"].tolist() == [1, 0, 1]
    assert frame["score"].dtype == float


def test_read_predictions_custom_and_several_score_columns(table, tmp_path):
    table = table.rename(columns={"prediction": "pred", "score": "m1"}).assign(m2=[0.8, 0.1, 0.6])
    path = tmp_path / "p.csv"
    table.to_csv(path, index=False)
    frame = read_predictions(path, prediction_column="pred", score_column=["m1", "m2"])
    assert frame[["m1", "m2"]].shape == (3, 2)


def test_read_predictions_errors(table, tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        read_predictions(tmp_path / "missing.csv")
    path = tmp_path / "p.csv"
    table.drop(columns="score").to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"no column\(s\) \['score'\].*available"):
        read_predictions(path)
    table.assign(prediction=[1, 2, 0]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="0/1 predictions; row 1 has 2"):
        read_predictions(path)
    table.assign(score=[0.1, None, 0.3]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="finite numbers; row 1"):
        read_predictions(path)
    other = tmp_path / "p.json"
    other.write_text("{}")
    with pytest.raises(ValueError, match="unsupported"):
        read_predictions(other)


def test_plot_estimate_writes_a_png(pool, tmp_path):
    labels, scores, predictions = pool
    sampler = OASISSampler(predictions, scores, labels.__getitem__, seed=0)
    with pytest.raises(ValueError, match="no history"):
        plot_estimate(sampler)
    sampler.sample(50)
    path = tmp_path / "estimate.png"
    figure = plot_estimate(sampler, true_value=0.5, path=path)
    assert path.read_bytes()[:4] == b"\x89PNG"
    ax = figure.axes[0]
    assert len(ax.lines) == 2  # estimate + true value
    np.testing.assert_allclose(ax.lines[0].get_ydata(), sampler.history["estimate"])
