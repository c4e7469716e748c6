"""`summary.fields`: what a value read from a file may be; anything else is unknown, never 0."""

from __future__ import annotations

import pytest

from mfi.summary import fields


@pytest.mark.parametrize(
    ("value", "positive", "count"),
    [(4, 4, 4), (0, None, 0), (-3, None, None), (True, None, None), (False, None, None), (2.0, None, None),
     ("8", None, None), (None, None, None), ([4], None, None)],
    ids=["int", "zero", "negative", "true", "false", "float", "string", "none", "list"],
)  # fmt: skip
def test_counts(value, positive, count):
    assert fields.positive(value) == positive
    assert fields.count(value) == count
    assert fields.is_count(value) is (count is not None)


def test_numbers_text_and_mappings():
    assert fields.number(1.5) == 1.5 and fields.number(7) == 7
    assert fields.number(float("nan")) is None and fields.number(True) is None and fields.number("1") is None
    assert fields.text("llama") == "llama" and fields.text(3) == ""
    assert fields.mapping({"a": 1}) == {"a": 1} and fields.mapping([("a", 1)]) == {} and fields.mapping(None) == {}
