#!/usr/bin/env bash
# A wheel installed into a fresh virtualenv runs `riskweasul demo` outside the repository
# (issue 20's packaging bar). Builds the wheel with `pip wheel --no-deps`, installs it into a new
# venv in a temporary folder, checks that the packages are imported from that venv and not
# from the source tree, then runs the demo from an empty folder and checks its outputs.
#
#   benchmarks/wheel_demo.sh [python]      # python: the interpreter whose packages give the
#                                          # dependencies (default: .venv/bin/python)
#   WHEEL_DEMO_DEPS=pip benchmarks/wheel_demo.sh   # install the dependencies from the package
#                                                  # index instead (downloads torch)
#
# By default the new venv gets the dependencies (torch, snorkel, ...) from the given
# interpreter's site-packages through a .pth line, so nothing is downloaded; a path added by a
# .pth line has its own .pth files ignored, so an editable install of riskweasul there is not
# seen. Exit status 0 when every check passed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${1:-$REPO/.venv/bin/python}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/riskweasul-wheel.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

echo "== building the wheel from $REPO (a copy of its files, so no build/ is left there)"
mkdir "$TMP/src"
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
   | xargs -0 cp --parents -t "$TMP/src")
"$PY" -m pip wheel --quiet --no-deps --no-build-isolation -w "$TMP/dist" "$TMP/src"
WHEEL="$(ls "$TMP"/dist/riskweasul-*.whl)"
echo "   $(basename "$WHEEL")"
"$PY" - "$WHEEL" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
must = ["active/cli.py", "active/demo_lfs.py", "blocking/demo.py"]
missing = [m for m in must if m not in names]
assert not missing, f"the wheel lacks {missing}"
assert any(n.endswith("LICENSE") for n in names), "the wheel carries no LICENSE"
assert not any(n.startswith(("tests/", "benchmarks/", "examples/")) for n in names), \
    "the wheel carries the repository's tests, benchmarks or examples"
print(f"   {len(names)} files; demo LFs, demo data generator and LICENSE inside")
EOF

echo "== a fresh virtualenv in $TMP/venv"
BASE="$("$PY" -c 'import sys; print(sys.base_prefix)')/bin/python3"
"$BASE" -m venv "$TMP/venv"
VPY="$TMP/venv/bin/python"
if [[ "${WHEEL_DEMO_DEPS:-site}" == pip ]]; then
  "$VPY" -m pip install --quiet "$WHEEL"
else
  SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  VSITE="$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$SITE" > "$VSITE/_riskweasul_dependencies.pth"
  "$VPY" -m pip install --quiet --no-deps --no-index "$WHEEL"
fi

mkdir "$TMP/elsewhere"
cd "$TMP/elsewhere"
echo "== where the packages come from (run in $PWD)"
"$VPY" - "$TMP/venv" "$REPO" <<'EOF'
import sys
from importlib import metadata
venv, repo = sys.argv[1], sys.argv[2]
import active, blocking, label_model, matchers, risk, evaluation, labeling_functions
for module in (active, blocking, label_model, matchers, risk, evaluation, labeling_functions):
    where = module.__file__
    assert where.startswith(venv) and not where.startswith(repo), f"{module.__name__} from {where}"
print(f"   every package from the new venv; riskweasul {metadata.version('riskweasul')}")
EOF

echo "== riskweasul demo"
START=$(date +%s)
"$TMP/venv/bin/riskweasul" demo --output out --budget 30 --oasis 50 --seed 0 2>&1 | tail -n 25
echo "   $(( $(date +%s) - START )) s wall"
ls out
for f in scored_pairs.csv matches.csv clusters.csv labels.csv history.csv learning_curve.png; do
  test -s "out/$f" || { echo "the demo wrote no out/$f"; exit 1; }
done
echo "== ok: the wheel runs the demo outside the repository"
