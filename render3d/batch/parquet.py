"""`manifest.parquet`: the manifest as a typed table, written beside the JSON Lines when pyarrow is installed.

One row per image, sorted by path, with the JSON Lines fields as columns: per-face fields are lists
(`masks`, `wear`, `face_status` of strings, `iou` of float64), `seed` is int64 (null when the image
gave no result), `timings` a map from stage to seconds. A file name's bytes that are not UTF-8 are
written as `\\udcXX` escapes in the text columns, as in the JSON Lines, and `path_bytes` holds the
image's name losslessly (`os.fsencode` of the path). The JSON Lines file stays the record that
runs append to and resume from; this file is rewritten whole at the end of a run and by `merge`.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from render3d.io.image_out import atomic_write

PARQUET = "manifest.parquet"


def schema():
    """The Parquet manifest's pyarrow schema."""
    import pyarrow as pa

    strings = pa.list_(pa.string())
    return pa.schema([
        ("path", pa.string()), ("path_bytes", pa.binary()), ("status", pa.string()), ("reason", pa.string()),
        ("error", pa.string()),
        ("seed", pa.int64()), ("faces", pa.int32()), ("masks", strings), ("wear", strings), ("codes", strings),
        ("iou", pa.list_(pa.float64())), ("face_status", strings), ("outputs", strings),
        ("timings", pa.map_(pa.string(), pa.float64())),
    ])


def escaped(name: str) -> str:
    """A file name as valid text: bytes that are not UTF-8 (surrogate escapes) as `\\udcXX`."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def write_parquet(path: Path, lines: Iterable[bytes]) -> bool:
    """Write the encoded manifest rows `lines` (in order) to `path`; False, writing nothing, without pyarrow."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return False
    rows = [json.loads(line) for line in lines]
    for row in rows:
        row["timings"] = sorted(row["timings"].items())
        row["path_bytes"] = os.fsencode(row["path"])
        row["path"], row["outputs"] = escaped(row["path"]), [escaped(name) for name in row["outputs"]]
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema()), sink)
    atomic_write(path, sink.getvalue().to_pybytes())
    return True
