"""Splink (DuckDB backend) on a table of records, run in Splink's own environment.

Splink's documented workflow for a de-duplication: blocking rules for the predictions,
the probability that two random records match from deterministic rules,
estimate_u_using_random_sampling, EM on two blocking rules, predict, cluster at 0.5.
`--kind restaurants` (blocking.make_restaurants columns) or `person` (FEBRL columns; `--rules
large`: the equality keys of blocking.large_person_blocker, `issue`: this runner's first seven
rules, single fields and field pairs).
Writes to --out: pairs.parquet (pairs at match probability >= 0.5), candidates.parquet
(every pair the blocking rules produced), clusters.parquet (id, cluster) and info.json
(version, seconds, peak RSS, candidate count). Run by benchmarks/restaurants.py and
benchmarks/scale.py with the interpreter given as --splink:

    /work/splink-venv/bin/python benchmarks/_splink_run.py --records r.parquet --kind person --out d
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import duckdb
import splink
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

THRESHOLD = 0.5


def restaurant_settings():
    """Comparisons and blocking rules a careful Splink user would write for listings."""
    prepare = """
        select *,
            regexp_replace(lower(name), '[^a-z0-9 ]', ' ', 'g') as name_clean,
            round(lat, 3) as lat3, round(lon, 3) as lon3,
            round(lat + 0.0005, 3) as lat3s, round(lon + 0.0005, 3) as lon3s,
            round(lat, 1) as lat1, round(lon, 1) as lon1,
            nullif(regexp_extract(address, '^([0-9]{2,})', 1), '') as street_no,
            list_filter(string_split(regexp_replace(lower(name), '[^a-z0-9 ]', ' ', 'g'), ' '),
                lambda x: length(x) > 2 and x not in ('the', 'and', 'restaurant', 'cafe', 'express',
                'kitchen', 'llc', 'downtown', 'bar', 'grill'))[1] as name_word
        from records
    """
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="id",
        comparisons=[
            cl.JaroWinklerAtThresholds("name_clean", [0.95, 0.88, 0.75]),
            cl.LevenshteinAtThresholds("address", [1, 3]),
            cl.ExactMatch("phone"),
            cl.ExactMatch("cuisine"),
            cl.DistanceInKMAtThresholds("lat", "lon", [0.05, 0.15, 0.4, 1.0]),
            cl.ExactMatch("marketplace"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("phone"),
            block_on("lat3", "lon3"),
            block_on("lat3s", "lon3s"),
            block_on("name_word", "lat1", "lon1"),
            block_on("substr(name_clean, 1, 4)", "lat1", "lon1"),
            block_on("street_no", "lat1", "lon1"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    deterministic = [block_on("phone"), block_on("name_clean", "lat3", "lon3")]
    em_rules = [block_on("phone"), block_on("name_word", "lat1", "lon1")]
    return prepare, settings, deterministic, em_rules


# the equality rules of blocking.large_person_blocker (Splink has no sorted neighbourhood), so
# both tools compare the same candidates
PERSON_RULES = [
    ("soc_sec_id",),
    ("date_of_birth", "surname"),
    ("date_of_birth", "given_name"),
    ("date_of_birth", "postcode"),
    ("date_of_birth", "address_1"),
    ("surname", "given_name", "postcode"),
    ("given_name", "surname", "street_number"),
    ("address_1", "street_number", "surname"),
    ("address_1", "street_number", "suburb"),
    ("given_name", "address_1", "suburb"),
    ("suburb", "postcode", "street_number"),
    ("surname", "suburb", "postcode"),
    ("given_name", "address_2", "postcode"),
    ("address_2", "suburb", "date_of_birth"),
]


# the seven equality rules of the first version of this runner (commit 67277c3): a user's
# first choice, single fields and pairs of them, no knowledge of the project's blocker
# (date_of_birth alone makes 77M candidates at 1M records)
ISSUE_PERSON_RULES = [
    ("soc_sec_id",),
    ("date_of_birth",),
    ("surname", "given_name"),
    ("postcode", "surname"),
    ("address_1", "street_number"),
    ("given_name", "date_of_birth"),
    ("suburb", "surname"),
]


def person_settings(rules=PERSON_RULES):
    """Equality blocking rules and standard comparisons for FEBRL person records."""
    prepare = "select * from records"
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="id",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.LevenshteinAtThresholds("date_of_birth", [1, 2]),
            cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.LevenshteinAtThresholds("address_1", [1, 3]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.8]),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in rules],
        retain_intermediate_calculation_columns=False,
    )
    deterministic = [block_on("soc_sec_id"), block_on("surname", "given_name", "date_of_birth")]
    em_rules = [block_on("soc_sec_id"), block_on("surname", "date_of_birth")]
    return prepare, settings, deterministic, em_rules


def peak_mb() -> float:
    """This process's peak RSS in MB from /proc (VmHWM belongs to the memory map, which exec
    renews; ru_maxrss would carry over the parent's peak from before the exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", required=True)
    parser.add_argument("--kind", choices=["restaurants", "person"], required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rules", choices=["large", "issue"], default="large",
                        help="person blocking rules: large_person_blocker's (PERSON_RULES) or "
                             "the first runner's seven (ISSUE_PERSON_RULES)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads TO {args.threads}")
    prepare, settings, deterministic, em_rules = (
        restaurant_settings() if args.kind == "restaurants"
        else person_settings(PERSON_RULES if args.rules == "large" else ISSUE_PERSON_RULES)
    )
    con.execute(f"create table records as select * from read_parquet('{args.records}')")
    table = con.sql(prepare).df()
    db_api = DuckDBAPI(connection=con)
    linker = Linker(db_api.register(table), settings, log_level="WARNING")
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=args.seed)
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=THRESHOLD
    )
    table_name = predictions.physical_name
    con.execute(
        f"copy (select id_l as ltable_id, id_r as rtable_id from {table_name} "
        f"where match_probability >= {THRESHOLD}) to '{out / 'pairs.parquet'}' (format parquet)"
    )
    con.execute(
        f"copy (select cluster_id as cluster, id from {clusters.physical_name}) "
        f"to '{out / 'clusters.parquet'}' (format parquet)"
    )
    seconds = time.perf_counter() - start  # the run ends here; the rest is for scoring
    usage = resource.getrusage(resource.RUSAGE_SELF)  # DuckDB's threads included
    con.execute(
        f"copy (select id_l as ltable_id, id_r as rtable_id from {table_name}) "
        f"to '{out / 'candidates.parquet'}' (format parquet)"
    )
    n_candidates = con.execute(f"select count(*) from {table_name}").fetchall()[0][0]
    info = {
        "version": splink.__version__,
        "seconds": seconds,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mb": peak_mb(),
        "n_candidates": int(n_candidates),
        "threshold": THRESHOLD,
    }
    (out / "info.json").write_text(json.dumps(info))
    print(json.dumps(info))


if __name__ == "__main__":
    main()
