"""Write requirements.lock from a ``pip install --dry-run --report`` of this project (see the lock's header)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"


def main() -> None:
    report = json.loads(Path(sys.argv[1]).read_text())
    pins = sorted(((item["metadata"]["name"], item["metadata"]["version"]) for item in report["install"]
                   if item["metadata"]["name"] != "energy-expo"), key=lambda pin: pin[0].lower())
    header = [line for line in LOCK.read_text().splitlines(keepends=True) if line.startswith("#")]
    LOCK.write_text("".join(header) + "".join(f"{name}=={version}\n" for name, version in pins))
    print(f"{LOCK.name}: {len(pins)} packages")


if __name__ == "__main__":
    main()
