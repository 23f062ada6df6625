"""Parsers for the text tables that ship with CelebA and CelebAMask-HQ."""

from __future__ import annotations

from pathlib import Path

from ..errors import MissingDataError


def read_mapping(path: Path) -> dict[int, str]:
    """``CelebA-HQ-to-CelebA-mapping.txt`` → {CelebA-HQ id: CelebA file name}.

    Rows are ``idx orig_idx orig_file``; the header line is optional (some copies drop it).
    """
    out: dict[int, str] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts or not parts[0].isdigit():
            continue  # header or blank line
        if len(parts) < 3:
            raise MissingDataError(f"{path}:{lineno}: expected 'idx orig_idx orig_file'")
        out[int(parts[0])] = parts[2]
    return out


def read_annotation_table(path: Path) -> tuple[list[str], dict[str, list[float]]]:
    """A CelebA-style table: a count line, a header line, then ``file v1 v2 ...`` rows.

    Returns
    -------
    names : list of str
        Column names from the header.
    rows : dict
        File name → values.
    """
    lines = path.read_text().splitlines()
    if len(lines) < 2:
        raise MissingDataError(f"{path}: expected a count line and a header line")
    names = lines[1].split()
    rows: dict[str, list[float]] = {}
    for lineno, line in enumerate(lines[2:], 3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(names) + 1:
            raise MissingDataError(
                f"{path}:{lineno}: expected a file name and {len(names)} values, got {len(parts)}"
            )
        rows[parts[0]] = [float(v) for v in parts[1:]]
    return names, rows


def read_partition(path: Path) -> dict[str, int]:
    """CelebA ``list_eval_partition.txt`` → {file name: 0 train / 1 val / 2 test}."""
    out: dict[str, int] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise MissingDataError(f"{path}:{lineno}: expected 'file.jpg 0|1|2', got {line!r}")
        out[parts[0]] = int(parts[1])
    return out
