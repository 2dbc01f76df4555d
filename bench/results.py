"""The results file of a benchmark run (bench/results/<date>.json): each part
of scripts/bench adds its own keys to what earlier parts wrote."""

import json
import os


def merge(path, entries):
    """Sets `entries` (key → figures) in the JSON object at `path`, keeping its other keys."""
    data = {}
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    data.update(entries)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
