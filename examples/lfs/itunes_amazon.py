"""Expert LFs for iTunes-Amazon (songs: Song_Name, Artist_Name, Album_Name, Genre, Price,
CopyRight, Time, Released).

One recording keeps its title, artist, album and (within a few seconds) its length.
"""

import numpy as np
import pandas as pd

from labeling_functions import (
    ABSTAIN,
    MATCH,
    NON_MATCH,
    labeling_function,
    pair_similarity,
    rule,
    similarity_below,
    years_differ,
)


def seconds(time: pd.Series) -> np.ndarray:
    """'m:ss' (or 'h:mm:ss') as seconds, NaN when unreadable."""
    parts = time.fillna("").astype(str).str.strip().str.split(":")
    ok = parts.map(lambda p: len(p) in (2, 3) and all(x.isdigit() for x in p))
    out = parts.where(ok).map(
        lambda p: float(np.polyval([int(x) for x in p], 60)) if isinstance(p, list) else np.nan
    )
    return out.to_numpy(dtype=float)


@labeling_function(polarity=NON_MATCH, vectorized=True)
def length_differs(df):
    """Song lengths more than 10 seconds apart."""
    gap = np.abs(seconds(df.left_Time) - seconds(df.right_Time))
    return np.where(gap > 10, NON_MATCH, ABSTAIN)


lfs = [
    rule(
        "same_song_and_artist",
        MATCH,
        lambda df: (pair_similarity(df, "Song_Name", "jaccard") >= 0.8)
        & (pair_similarity(df, "Artist_Name", "jaccard") >= 0.8),
    ),
    rule(
        "same_song_and_album",
        MATCH,
        lambda df: (pair_similarity(df, "Song_Name", "overlap") >= 0.8)
        & (pair_similarity(df, "Album_Name", "overlap") >= 0.8),
    ),
    similarity_below("Song_Name", 0.3, metric="jaccard", name="song_name_differs"),
    similarity_below("Artist_Name", 0.2, metric="jaccard", name="artist_differs"),
    similarity_below("Album_Name", 0.2, metric="jaccard", name="album_differs"),
    years_differ("CopyRight", name="copyright_years_differ"),
    length_differs,
]
