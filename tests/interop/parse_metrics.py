"""Parse Kokuin's /metrics with prometheus_client's OpenMetrics parser (PyPI).

usage: parse_metrics.py FILE — prints `name{labels} value` per sample; exit 1 if unparsable.
"""
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    try:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
                print(f"{s.name}{{{labels}}} {s.value}")
    except ValueError as e:
        print(f"unparsable: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
