"""Compares two junit XML reports of redis-py's suite: plain redis-py vs redkeep.

Every test that passes with plain redis-py must pass with redkeep, except
those listed in ``expected_differences.txt`` (one test id per line, then
`` -- `` and the reason). Prints the counts, the unexpected failures and the
listed tests that now pass (so the list stays true); exits 1 on an
unexpected failure.

    python compare.py plain.xml redkeep.xml expected_differences.txt
"""

import sys
import xml.etree.ElementTree as ET
from typing import Dict


def outcomes(path: str) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        tags = {child.tag for child in case}
        if "failure" in tags or "error" in tags:
            out[test_id] = "failed"
        elif "skipped" in tags:
            out[test_id] = "skipped"
        else:
            out[test_id] = "passed"
    return out


def expected(path: str) -> Dict[str, str]:
    listed: Dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            test_id, _, reason = line.partition(" -- ")
            listed[test_id.strip()] = reason.strip()
    return listed


def main() -> int:
    plain, ours, listed_path = sys.argv[1:4]
    a, b, listed = outcomes(plain), outcomes(ours), expected(listed_path)

    def count(o: Dict[str, str], k: str) -> int:
        return sum(1 for v in o.values() if v == k)

    for name, o in (("redis-py", a), ("redkeep ", b)):
        print(
            f"{name}: {count(o, 'passed')} passed, {count(o, 'failed')} failed, "
            f"{count(o, 'skipped')} skipped, {len(o)} total"
        )
    lost = sorted(t for t, v in a.items() if v == "passed" and b.get(t) != "passed")
    unexpected = [t for t in lost if t not in listed]
    allowed = [t for t in lost if t in listed]
    now_pass = sorted(
        t for t in listed if b.get(t) == "passed" and "(passes at times)" not in listed[t]
    )
    print(f"passing with redis-py but not with redkeep: {len(lost)} ({len(allowed)} listed)")
    for t in now_pass:
        print(f"  listed but passes now (remove it from the list): {t}")
    for t in unexpected:
        print(f"  UNEXPECTED: {t} ({b.get(t, 'missing')})")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
