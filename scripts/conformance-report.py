#!/usr/bin/env python3
"""Summarizes a kosoku (Autobahn) report for scripts/conformance.sh.

usage: conformance-report.py INDEX_JSON [EXPECTED_CASES [GLOB...]]

Reads kosoku's index.json ({agent: {case id: {behavior, behaviorClose, ...}}})
and prints one row per category: cases OK, NON-STRICT, INFORMATIONAL, FAILED
and NOT RUN. A case fails when its behavior is not OK, NON-STRICT or
INFORMATIONAL, or its closing behavior not OK or INFORMATIONAL (kosoku's own
`passed`). Every id listed in EXPECTED_CASES (one a line, # comments) and
matched by one of the GLOBs (kosoku's -i patterns; all ids if none) must
appear in the report. Exits 1 if any case failed or was not run, 2 if the
report cannot be read.
"""

import fnmatch
import json
import sys
from collections import Counter, defaultdict

PASSING = ("OK", "NON-STRICT", "INFORMATIONAL")
PASSING_CLOSE = ("OK", "INFORMATIONAL")
CATEGORIES = {
    "1": "Framing",
    "2": "Pings/Pongs",
    "3": "Reserved Bits",
    "4": "Opcodes",
    "5": "Fragmentation",
    "6": "UTF-8 Handling",
    "7": "Close Handling",
    "9": "Limits/Performance",
    "10": "Misc",
    "12": "Compression",
    "13": "Compression",
}


def case_key(case_id):
    return [int(part) for part in case_id.split(".")]


def read_expected(path):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            index = json.load(f)
    except (OSError, ValueError) as e:
        print(f"conformance-report: cannot read {argv[1]}: {e}", file=sys.stderr)
        return 2
    results = {}
    for cases in index.values():
        results.update(cases)
    expected = read_expected(argv[2]) if len(argv) >= 3 else []
    globs = argv[3:]
    if globs:
        expected = [c for c in expected if any(fnmatch.fnmatchcase(c, g) for g in globs)]
    missing = sorted(set(expected) - set(results), key=case_key)

    counts = defaultdict(Counter)
    failed = []
    for case_id, entry in results.items():
        category = case_id.split(".")[0]
        behavior, closing = entry.get("behavior"), entry.get("behaviorClose")
        if behavior not in PASSING or closing not in PASSING_CLOSE:
            counts[category]["FAILED"] += 1
            failed.append((case_id, behavior, closing, entry.get("remoteCloseCode")))
        else:
            counts[category][behavior] += 1
    for case_id in missing:
        counts[case_id.split(".")[0]]["NOT RUN"] += 1

    columns = ("OK", "NON-STRICT", "INFORMATIONAL", "FAILED", "NOT RUN")
    header = f"{'category':<22}" + "".join(f"{c:>14}" for c in columns)
    print(header)
    print("-" * len(header))
    total = Counter()
    for category in sorted(counts, key=int):
        name = f"{category} {CATEGORIES.get(category, '')}".strip()
        print(f"{name:<22}" + "".join(f"{counts[category][c]:>14}" for c in columns))
        total.update(counts[category])
    print("-" * len(header))
    print(f"{'total':<22}" + "".join(f"{total[c]:>14}" for c in columns))

    lenient = sorted(
        (cid for cid, e in results.items() if e.get("behavior") in ("NON-STRICT", "INFORMATIONAL")), key=case_key
    )
    if lenient:
        print("\nnon-strict / informational: " + ", ".join(f"{c} ({results[c]['behavior']})" for c in lenient))
    for case_id, behavior, closing, code in sorted(failed, key=lambda f: case_key(f[0])):
        print(f"FAILED {case_id}: behavior {behavior}, close {closing}, server close code {code}")
    for case_id in missing:
        print(f"NOT RUN {case_id}")
    return 1 if failed or missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
