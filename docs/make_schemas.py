"""Write docs/sample-metadata.schema.json from the fragments the build, sources and stages
declare (facedata.pipeline.schema), so the schema never drifts from the code.

Run: python docs/make_schemas.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from facedata.pipeline.schema import sample_metadata_schema  # noqa: E402

OUT = ROOT / "docs" / "sample-metadata.schema.json"


def render() -> str:
    """The built-in stages' and sources' schema, as the committed file holds it."""
    return json.dumps(sample_metadata_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    tmp = OUT.with_suffix(".json.tmp")
    tmp.write_text(render())
    tmp.replace(OUT)
    print(f"wrote {OUT}")
