"""``ScanReport`` as the JSON document ``mfi.scan/1`` (docs/scan.md); no rich here."""

from __future__ import annotations

from typing import Any

from ...scan.records import SEVERITIES, ScanReport

SCHEMA = "mfi.scan/1"


def scan_dict(r: ScanReport, *, threshold: str = "low") -> dict[str, Any]:
    """The whole report as ``mfi.scan/1``."""
    return {
        "schema": SCHEMA,
        "target": r.target,
        "verdict": "findings" if r.fails(threshold) else "clean",
        "fail_on": threshold,
        "counts": {s: r.count(s) for s in SEVERITIES},
        "files": [{"path": f.path, "size": f.size, "role": f.role} for f in r.files],
        "findings": [
            {
                "severity": f.severity,
                "kind": f.kind,
                "file": f.file,
                "member": f.member,
                "offset": f.offset,
                "message": f.message,
                "detail": f.detail,
            }
            for f in r.findings
        ],
    }
