"""Indian money units and digit grouping, counts, rates, and n/a for undefined values."""
import math

import pytest

from novamart_panel import format as fmt


@pytest.mark.parametrize("value, text", [
    (41_500_000, "₹4.15 Cr"), (1_240_000, "₹12.4 L"), (100_000, "₹1 L"), (99_999, "₹99,999"),
    (8450, "₹8,450"), (12.5, "₹12.50"), (-2_500_000, "-₹25 L"), (123_456_789_0, "₹123 Cr"),
])
def test_rupees_compact(value, text):
    assert fmt.rupees(value) == text


def test_indian_grouping():
    assert fmt.indian_grouping(12345678) == "1,23,45,678"
    assert fmt.indian_grouping(999) == "999"
    assert fmt.indian_grouping(100000) == "1,00,000"
    assert fmt.rupees(12345678, compact=False) == "₹1,23,45,678"


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), -math.inf, "x"])
def test_undefined_values_print_na(bad):
    for f in (fmt.rupees, fmt.count, fmt.percent, fmt.ratio, fmt.change, fmt.number):
        assert f(bad) == "n/a"


def test_counts_rates_changes():
    assert fmt.count(1234567) == "1,234,567"
    assert fmt.percent(0.0345) == "3.45%"
    assert fmt.percent(0.456) == "45.6%"
    assert fmt.percent(45.6, scale=100) == "45.6%"
    assert fmt.ratio(3.4167) == "3.42×"
    assert fmt.change(0.123) == "+12.3%"
    assert fmt.change(-0.04) == "−4.0%"
    assert fmt.format_value(1_240_000, "money") == "₹12.4 L"
