#!/usr/bin/env python3
"""Validate a Prometheus text exposition (format 0.0.4): every sample line
parses, names are valid, each metric family has exactly one TYPE line
before its samples, label values are quoted and escaped, values are
numbers, no family is split, no sample repeats; a histogram's buckets
ascend and are cumulative, its +Inf bucket equal to its _count."""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(\{{(?:{LABEL}(?:,{LABEL})*)?\}})? (\S+)(?: (-?\d+))?$")


def main(path):
    types, seen, done, current = {}, set(), set(), None
    buckets = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("# TYPE "):
                parts = line.split(" ")
                if len(parts) != 4 or not re.fullmatch(NAME, parts[2]) or parts[3] not in (
                        "counter", "gauge", "histogram", "summary", "untyped"):
                    return f"{n}: bad TYPE line: {line}"
                if parts[2] in types:
                    return f"{n}: second TYPE for {parts[2]}"
                types[parts[2]] = parts[3]
                continue
            if line.startswith("#"):
                continue
            m = SAMPLE.match(line)
            if not m:
                return f"{n}: not a sample: {line!r}"
            name, labels, value = m.group(1), m.group(2) or "", m.group(3)
            try:
                float(value)
            except ValueError:
                if value not in ("NaN", "+Inf", "-Inf"):
                    return f"{n}: bad value {value!r}"
            family = name
            for suffix in ("_bucket", "_sum", "_count"):
                base = name[: -len(suffix)]
                if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
                    family = base
            if family not in types:
                return f"{n}: sample of {name} before its TYPE"
            if types[family] == "counter" and not name.endswith("_total"):
                return f"{n}: counter {name} does not end in _total"
            if types[family] == "histogram" and family == name:
                return f"{n}: histogram {name} sample without _bucket, _sum or _count"
            if types[family] == "histogram" and name.endswith("_bucket"):
                le = re.search(r'le="([^"]*)"', labels)
                if not le:
                    return f"{n}: bucket of {family} without le"
                b = buckets.setdefault(family, [])
                if b and (float(le.group(1)) <= b[-1][0] or float(value) < b[-1][1]):
                    return f"{n}: buckets of {family} not ascending and cumulative"
                b.append((float(le.group(1)), float(value)))
            if types[family] == "histogram" and name.endswith("_count"):
                b = buckets.get(family, [])
                if not b or b[-1][0] != float("inf") or b[-1][1] != float(value):
                    return f"{n}: {family} has no +Inf bucket equal to its _count"
            name = family
            if name != current:
                if name in done:
                    return f"{n}: family {name} split"
                if current:
                    done.add(current)
                current = name
            if (m.group(1), labels) in seen:
                return f"{n}: repeated sample {name}{labels}"
            seen.add((m.group(1), labels))
    return None if seen else "no samples"


if __name__ == "__main__":
    err = main(sys.argv[1])
    if err:
        print(f"{sys.argv[1]}:{err}", file=sys.stderr)
        sys.exit(1)
