"""Deterministic generator of the NovaMart data set (SPEC §3 and §3.1).

`generate(out_dir, seed, scale)` writes the 11 contract files (and the optional ones) in exactly the
reference schema. Every table draws from its own random stream spawned from `seed`, so the same seed
gives byte-identical files. `scale` multiplies the rows of campaign-days, customers (and so orders),
leads and the CRM export; `campaign_rows`, `customers` and `orders` set those parts on their own (for
benchmarks: 10 million campaign rows with one million customers). The small summary tables keep their
reference sizes. Campaign rows, customers and orders are generated and written in chunks, so memory
stays bounded whatever the size.
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy.special import ndtri
from scipy.stats import rankdata

from . import contract

DEFAULT_SEED = 42
AS_OF = date(2024, 12, 31)          # "today" for recency, tenure and order dates
FIRST_DAY = date(2023, 1, 1)        # campaigns run over 2023-01-01 .. 2024-12-31
N_DAYS = (AS_OF - FIRST_DAY).days + 1

BASE_CAMPAIGNS = 50
BASE_CAMPAIGN_ROWS = 5858
BASE_CUSTOMERS = 5000
BASE_LEADS = 2000
BASE_CRM_ROWS = 2240
MIN_LEADS = 200                     # below this the learning curve has too few rows per fold
CAMPAIGNS_PER_CHUNK = 4000          # campaign rows are generated and written this many campaigns at a time
CUSTOMERS_PER_CHUNK = 50_000        # customers and their orders likewise
MAX_ORDER_DAYS = 1829 // 30 * 30 + 30  # the oldest first order: 60 whole months of tenure plus up to 29 days

CHANNELS = ("Google Ads", "Facebook", "Instagram", "LinkedIn", "Email", "Organic Search", "Direct", "Referral")
CAMPAIGN_TYPES = ("Brand Awareness", "Lead Generation", "Product Launch", "Retargeting", "Seasonal Sale")
REGIONS = contract.REGIONS

# Per channel (in CHANNELS order) at a campaign's base effort: daily spend (₹), CTR %, CVR % and revenue
# per conversion (₹). Direct and Organic Search cost nothing.
CHANNEL_CAMPAIGN_SHARE = np.array([0.22, 0.1, 0.09, 0.09, 0.2, 0.1, 0.1, 0.1])
CHANNEL_SPEND = np.array([42_000, 24_000, 20_000, 20_000, 5_000, 0, 0, 4_500], dtype=float)
CHANNEL_CTR = np.array([3.1, 1.8, 2.0, 1.3, 5.6, 4.0, 4.3, 3.7])
CHANNEL_CVR = np.array([3.7, 2.7, 2.5, 11.0, 6.9, 4.4, 5.4, 4.9])
CHANNEL_AOV = np.array([2_200, 1_500, 1_450, 3_500, 1_650, 1_800, 1_900, 2_000], dtype=float)

TYPE_SPEND = np.array([1.0, 2.2, 1.0, 0.7, 0.7])
TYPE_CTR = np.array([0.9, 1.0, 1.1, 1.1, 1.05])
TYPE_CVR = np.array([0.8, 1.0, 1.0, 1.3, 1.15])
SEASONAL_SALE_Q4_SPEND = 2.5
SEASONAL_SALE_IN_Q4 = 0.75          # share of seasonal-sale campaigns placed around Oct-Dec

REGION_CAMPAIGN_SHARE = np.array([0.19, 0.23, 0.17, 0.24, 0.17])
REGION_BUDGET = np.array([1.0, 1.15, 0.85, 1.2, 0.8])
REGION_DEMAND = np.array([1.0, 1.25, 0.85, 1.3, 0.8])

WEEKDAY_DEMAND = np.array([0.97, 0.96, 0.97, 0.98, 1.02, 1.18, 1.22])
DIWALI = (date(2023, 11, 12), date(2024, 11, 1))
CHRISTMAS = (date(2023, 12, 25), date(2024, 12, 25))
MIDSUMMER = (date(2023, 7, 1), date(2024, 7, 1))


def generate(out_dir: str | Path, seed: int = DEFAULT_SEED, scale: float = 1.0,
             optional: bool = True, *, campaign_rows: int | None = None, customers: int | None = None,
             orders: int | None = None) -> list[Path]:
    """Write the NovaMart CSV files into `out_dir` and return their paths (required files first).

    `campaign_rows`, `customers` and `orders` override what `scale` gives those parts; `orders` is the
    exact number of order rows (at least one per customer), spread over customers in proportion to
    the purchases they would otherwise have made.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    for name, value in (("campaign_rows", campaign_rows), ("customers", customers), ("orders", orders)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be a positive whole number, got {value}")
    n_customers = customers if customers is not None else _scaled(BASE_CUSTOMERS, scale)
    if orders is not None and orders < n_customers:
        raise ValueError(f"orders must be at least the number of customers ({n_customers:,}): "
                         "every customer has at least one order")
    campaign_scale = campaign_rows / BASE_CAMPAIGN_ROWS if campaign_rows is not None else scale
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    streams = dict(zip(
        ("campaigns", "customers", "orders", "products", "leads", "geography", "attribution", "funnel",
         "journeys", "correlations", "ab_tests", "crm"),
        np.random.default_rng(seed).spawn(12),
    ))
    days = _day_table(streams["campaigns"])
    daily = _write_campaigns(out, days, streams["campaigns"], campaign_scale)
    customer_path, orders_path = _write_customers_and_orders(out, streams["customers"], streams["orders"],
                                                             n_customers, orders, with_orders=optional)
    lead_table, importance, curve = _lead_tables(streams["leads"], max(MIN_LEADS, _scaled(BASE_LEADS, scale)))
    paths = [
        _path(out, contract.CAMPAIGNS),
        customer_path,
        _write(_products(streams["products"]), contract.PRODUCTS, out),
        _write(lead_table, contract.LEADS, out),
        _write(importance, contract.FEATURE_IMPORTANCE, out),
        _write(curve, contract.LEARNING_CURVE, out),
        _write(_geography(streams["geography"]), contract.GEOGRAPHY, out),
        _write(_attribution(streams["attribution"]), contract.ATTRIBUTION, out),
        _write(_funnel(streams["funnel"]), contract.FUNNEL, out),
        _write(_journeys(streams["journeys"]), contract.JOURNEYS, out),
        _write_correlations(_correlations(daily, streams["correlations"]), out),
    ]
    if optional:
        paths += [
            _write(_ab_tests(streams["ab_tests"]), contract.AB_TESTS, out),
            orders_path,
            _write(_crm_export(streams["crm"], _scaled(BASE_CRM_ROWS, scale)), contract.MARKETING_CAMPAIGN, out),
        ]
    return paths


# ---------------------------------------------------------------- writing


def _scaled(base: int, scale: float) -> int:
    return max(1, round(base * scale))


def _path(out: Path, spec: contract.FileSpec) -> Path:
    return out / spec.filename


def _write(frame: pd.DataFrame, spec: contract.FileSpec, out: Path) -> Path:
    return _write_frames([frame], spec, out)


def _write_frames(frames: Iterable[pd.DataFrame], spec: contract.FileSpec, out: Path) -> Path:
    """Write the frames one after another as one CSV file (header once, "\\n" line ends)."""
    with _CsvWriter(spec, out) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.path


class _CsvWriter:
    """Appends frames to one contract CSV file, chunk by chunk, so a large file never sits in memory.

    DuckDB writes the CSV: several times faster than pandas, and numbers come out the same way
    (shortest round-trip form, e.g. 15549.1, 0.0), empty cells for missing values.
    """

    def __init__(self, spec: contract.FileSpec, out: Path):
        self.spec = spec
        self.path = _path(out, spec)
        self._out = out
        self._chunks = 0

    def __enter__(self) -> "_CsvWriter":
        self._con = duckdb.connect()
        self._scratch = tempfile.TemporaryDirectory(dir=self._out)
        self._target = open(self.path, "wb")
        return self

    def write(self, frame: pd.DataFrame) -> None:
        spec = self.spec
        if list(frame.columns) != spec.headers:
            raise ValueError(f"{spec.filename}: columns {list(frame.columns)} differ from the contract")
        part = Path(self._scratch.name) / "part.csv"
        self._con.register("chunk", frame)
        self._con.execute(f"COPY chunk TO {_sql_text(part)} "
                          f"(HEADER {str(self._chunks == 0).lower()}, DELIMITER {_sql_text(spec.delimiter)})")
        self._con.unregister("chunk")
        with open(part, "rb") as written:
            shutil.copyfileobj(written, self._target)
        self._chunks += 1

    def __exit__(self, *exc) -> None:
        self._target.close()
        self._scratch.cleanup()
        self._con.close()


def _sql_text(value) -> str:
    """A SQL string literal (COPY takes no parameters for its file name or options)."""
    return "'" + str(value).replace("'", "''") + "'"


def _pick(rng: np.random.Generator, names, weights, size: int) -> np.ndarray:
    """Draw `size` indices into `names` with the given (unnormalised) weights."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(names), size=size, p=p / p.sum())


def _interleaved(weights, count: int) -> np.ndarray:
    """`count` indices spread evenly in proportion to `weights` (weighted round robin, no randomness)."""
    counts = _apportion(weights, count)
    keys = np.concatenate([(np.arange(n) + 0.5) / n for n in counts])
    labels = np.repeat(np.arange(len(counts)), counts)
    return labels[np.argsort(keys, kind="stable")]


def _categorical(labels, codes) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(codes), categories=list(labels))


def _money(x) -> np.ndarray:
    return np.round(np.asarray(x, dtype=float), 2)


def _lognormal(rng: np.random.Generator, sigma: float, size) -> np.ndarray:
    """Multiplicative noise with median 1."""
    return np.exp(rng.normal(0.0, sigma, size))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------- campaigns


def _bump(day_numbers: np.ndarray, centres, width: float) -> np.ndarray:
    """Sum of Gaussian bumps (height 1) centred on the given dates."""
    offsets = [(c - FIRST_DAY).days for c in centres]
    return sum(np.exp(-0.5 * ((day_numbers - o) / width) ** 2) for o in offsets)


def _day_table(rng: np.random.Generator) -> pd.DataFrame:
    """One row per calendar day with its labels, demand multiplier and spend multiplier."""
    dates = pd.date_range(FIRST_DAY, AS_OF, freq="D")
    t = np.arange(N_DAYS, dtype=float)
    weekday = dates.day_of_week.to_numpy()
    quarter = (dates.month.to_numpy() - 1) // 3
    festive = 0.6 * _bump(t, DIWALI, 13) + 0.3 * _bump(t, CHRISTMAS, 5)
    summer_dip = 0.28 * _bump(t, MIDSUMMER, 22)
    trend = 1 + 0.5 * t / (N_DAYS - 1)
    demand = (trend * (1 + festive - summer_dip) * (1 + 0.08 * (quarter == 3)) * WEEKDAY_DEMAND[weekday]
              * _lognormal(rng, 0.05, N_DAYS))
    spend = (1 + 0.35 * festive - 0.1 * summer_dip) * (1 + 0.1 * (quarter == 3))
    return pd.DataFrame({
        "date": dates.strftime("%Y-%m-%d"), "weekday": weekday, "month": dates.month.to_numpy() - 1,
        "quarter": quarter, "year": dates.year.to_numpy(), "demand": demand, "spend": spend,
    })


def _lanes(rng: np.random.Generator, n: int, total_rows: int, min_length: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Start day and length of `n` campaigns with `total_rows` campaign-days in all.

    Campaigns are laid end to end in lanes that each span the two years, so every day has the same
    number of live campaigns and no month looks big only because more campaigns happened to run in it.
    The rows beyond whole lanes form one shorter lane at a random place, or if too few for a campaign,
    lengthen that many campaigns by a day.
    """
    full, rest = divmod(total_rows, N_DAYS)
    lane_size = np.array([N_DAYS] * full + ([rest] if rest >= min_length or full == 0 else []))
    extra_days = total_rows - lane_size.sum()
    per_lane = np.maximum(_apportion(lane_size, n), 0)
    lane = np.repeat(np.arange(len(lane_size)), per_lane)
    floor_length = np.minimum(min_length, lane_size // np.maximum(per_lane, 1))[lane]
    weight = rng.gamma(5.0, 1.0, n)
    spare = (lane_size - np.bincount(lane, weights=floor_length, minlength=len(lane_size))).astype(np.int64)
    share = weight / np.bincount(lane, weights=weight, minlength=len(lane_size))[lane] * spare[lane]
    length = floor_length + np.floor(share).astype(np.int64)
    # Hand each lane's leftover days to its campaigns with the largest fractional shares.
    missing = spare - np.bincount(lane, weights=length - floor_length, minlength=len(lane_size)).astype(np.int64)
    by_fraction = np.lexsort((-(share - np.floor(share)), lane))
    rank = np.arange(n) - (np.cumsum(per_lane) - per_lane)[lane[by_fraction]]
    length[by_fraction[rank < missing[lane[by_fraction]]]] += 1
    length[rng.permutation(n)[:extra_days]] += 1
    lane_days = np.bincount(lane, weights=length, minlength=len(lane_size)).astype(np.int64)
    days_before_lane = np.cumsum(lane_days) - lane_days
    day_in_lane = np.cumsum(length) - length - days_before_lane[lane]
    lane_offset = rng.integers(0, N_DAYS - lane_size + 1)
    start = np.minimum(day_in_lane + lane_offset[lane], N_DAYS - length)
    return start, length


def _apportion(weights, total: int) -> np.ndarray:
    """Whole numbers proportional to `weights` that sum to `total` (largest remainder)."""
    exact = np.asarray(weights, dtype=float) / np.sum(weights) * total
    whole = np.floor(exact).astype(np.int64)
    whole[np.argsort(-(exact - whole), kind="stable")[: total - whole.sum()]] += 1
    return whole


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """For each element, how many earlier elements share its group (0 for the first of each)."""
    order = np.argsort(groups, kind="stable")
    sizes = np.bincount(groups)
    rank = np.empty(len(groups), dtype=np.int64)
    rank[order] = np.arange(len(groups)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return rank


def _campaign_plan(rng: np.random.Generator, scale: float) -> pd.DataFrame:
    """One row per campaign: channel, region, type, size and the days it runs.

    Channels, regions and types are interleaved so each channel meets every region and type.
    """
    n = _scaled(BASE_CAMPAIGNS, scale)
    total_rows = max(n, round(BASE_CAMPAIGN_ROWS * scale))
    channel = _interleaved(CHANNEL_CAMPAIGN_SHARE, n)
    nth_of_channel = _rank_within(channel)
    kind = nth_of_channel % len(CAMPAIGN_TYPES)
    # Each channel walks its own stretch of an evenly spread region sequence, so every channel meets the
    # regions in their intended proportions and no region's total hinges on which channels it drew.
    region_cycle = _interleaved(REGION_CAMPAIGN_SHARE, 100)
    region = region_cycle[(nth_of_channel + channel * 100 // len(CHANNELS)) % 100]
    order = rng.permutation(n)
    channel, kind, region = channel[order], kind[order], region[order]

    start, length = _lanes(rng, n, total_rows)
    # Most seasonal sales run through the festive quarter.
    festive = (kind == CAMPAIGN_TYPES.index("Seasonal Sale")) & (rng.random(n) < SEASONAL_SALE_IN_Q4)
    in_2024 = np.cumsum(festive) % 2 == 0   # alternate the years so both festive seasons get their sales
    centre = np.where(in_2024, (date(2024, 10, 1) - FIRST_DAY).days, (date(2023, 10, 1) - FIRST_DAY).days)
    centre = centre + rng.integers(0, 76, n)
    start = np.where(festive, np.clip(centre - length // 2, 0, N_DAYS - length), start)

    names = np.array([
        f"{CAMPAIGN_TYPES[k]} - {CHANNELS[c]} - {REGIONS[r]} - Q{i % 4 + 1}"
        for i, (k, c, r) in enumerate(zip(kind, channel, region))
    ])
    return pd.DataFrame({
        "campaign_id": [f"CMP_{1000 + i}" for i in range(n)], "campaign_name": names, "type": kind,
        "channel": channel, "region": region, "start": start, "length": length,
        "size": REGION_BUDGET[region] * _lognormal(rng, 0.2, n),
    })


def _campaign_days(plan: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For each campaign-day row of `plan`: the campaign's position in `plan` and the day number."""
    length = plan["length"].to_numpy()
    camp = np.repeat(np.arange(len(plan)), length)
    first_row = np.repeat(np.cumsum(length) - length, length)
    return camp, plan["start"].to_numpy()[camp] + (np.arange(len(camp)) - first_row)


def _planned_effort(plan: pd.DataFrame, days: pd.DataFrame, camp: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Each row's budgeted effort (1 = the channel's base daily spend) before day-to-day noise."""
    kind = plan["type"].to_numpy()[camp]
    seasonal_q4 = (kind == CAMPAIGN_TYPES.index("Seasonal Sale")) & (days["quarter"].to_numpy()[day] == 3)
    return (plan["size"].to_numpy()[camp] * TYPE_SPEND[kind] * days["spend"].to_numpy()[day]
            * np.where(seasonal_q4, SEASONAL_SALE_Q4_SPEND, 1.0))


# ---------------------------------------------------------------- the true media response
#
# Written to no file the app reads: the marketing-mix tests check that a model fitted on the generated
# campaign file recovers it. A paid channel's expected revenue on a day is its share of the day's baseline
# demand plus its media response: scale × Hill(adstock(spend)), with the channel's daily spend (all its
# campaigns) carried over by geometric adstock (weights decay^lag / Σ decay^lag, lags 0..max_lag, so a
# steady spend S has adstock S) and saturating as adstock^slope / (adstock^slope + half_saturation^slope).
# On a day a channel runs no campaign its carried-over response lands on the day's organic rows.


@dataclass(frozen=True)
class MediaResponse:
    """One paid channel's true response; money in ₹ per day at the reference size (5,858 campaign rows)."""

    decay: float            # share of a day's adstock carried to the next day
    max_lag: int            # days after the spend that still carry some of it
    half_saturation: float  # adstocked daily spend that earns half the maximum response
    slope: float            # Hill exponent: above 1 the curve is S-shaped, below 1 concave from the start
    scale: float            # the maximum media revenue per day


TRUE_MEDIA_RESPONSE = {
    "Google Ads": MediaResponse(decay=0.25, max_lag=7, half_saturation=90_000, slope=1.1, scale=2_130_000),
    "Facebook": MediaResponse(decay=0.55, max_lag=14, half_saturation=30_000, slope=1.3, scale=1_180_000),
    "Instagram": MediaResponse(decay=0.45, max_lag=14, half_saturation=30_000, slope=1.2, scale=1_280_000),
    "LinkedIn": MediaResponse(decay=0.6, max_lag=14, half_saturation=30_000, slope=0.9, scale=730_000),
    "Email": MediaResponse(decay=0.3, max_lag=7, half_saturation=12_000, slope=1.0, scale=1_000_000),
    "Referral": MediaResponse(decay=0.35, max_lag=7, half_saturation=8_000, slope=1.0, scale=780_000),
}
# Baseline revenue per day at demand 1 (trend, season, weekday and festivals move it) at the reference size,
# and how much of it each channel's campaigns capture (per unit of campaign size, before region and type).
BASELINE_REVENUE = 1_900_000.0
CHANNEL_BASELINE_WEIGHT = np.array([2.6, 0.5, 0.5, 0.45, 2.2, 1.6, 1.3, 1.0])
REVENUE_NOISE = 0.1                 # log-sd of a row's revenue around its expectation (mean preserved)
SPEND_NOISE = 0.3                   # log-sd of a row's spend around its plan (median preserved)
WEEKDAY_SPEND = np.array([0.92, 0.92, 0.93, 0.95, 1.0, 1.15, 1.18])  # bids follow the weekend shoppers
FLIGHTING = 0.35                    # log-sd of a channel's weekly budget pulse (each channel on its own)


def true_media_response(campaign_rows: int = BASE_CAMPAIGN_ROWS) -> pd.DataFrame:
    """The true response per paid channel for a campaign file of `campaign_rows` rows (money scales with it)."""
    size = campaign_rows / BASE_CAMPAIGN_ROWS
    frame = pd.DataFrame([asdict(r) for r in TRUE_MEDIA_RESPONSE.values()], index=list(TRUE_MEDIA_RESPONSE))
    frame[["half_saturation", "scale"]] *= size
    frame.index.name = "channel"
    return frame


def true_adstock(spend: np.ndarray, decay: float, max_lag: int) -> np.ndarray:
    """Geometric adstock of a daily spend series, normalised so a steady spend keeps its level."""
    weights = decay ** np.arange(max_lag + 1)
    return np.convolve(np.asarray(spend, dtype=float), weights / weights.sum())[: len(spend)]


def true_media_revenue(daily_spend: pd.DataFrame, campaign_rows: int = BASE_CAMPAIGN_ROWS) -> pd.DataFrame:
    """Expected media revenue per day and paid channel, given the spend of every day in order (days × channels).

    Days missing from `daily_spend` must be filled with 0 by the caller: adstock counts rows as consecutive days.
    """
    truth = true_media_response(campaign_rows)
    out = pd.DataFrame(0.0, index=daily_spend.index, columns=[c for c in daily_spend.columns if c in truth.index])
    for channel in out.columns:
        r = truth.loc[channel]
        carried = true_adstock(daily_spend[channel].to_numpy(dtype=float), r["decay"], int(r["max_lag"]))
        out[channel] = _hill(carried, r["half_saturation"], r["slope"]) * r["scale"]
    return out


def _hill(x: np.ndarray, half: float, slope: float) -> np.ndarray:
    x = np.maximum(np.asarray(x, dtype=float), 0.0)
    return x ** slope / (x ** slope + half ** slope)


def _hashed_normal(keys: np.ndarray) -> np.ndarray:
    """Standard normal draws that depend only on `keys` (splitmix64), so any chunk of rows gets the same ones."""
    z = keys.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return ndtri(((z >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0 ** 53)


def _stable_key(values: np.ndarray) -> np.ndarray:
    """Integer keys of drawn floats, the same on every CPU: the floats come from vectorised `exp`/`log`, whose
    last bit differs between CPUs (AVX2 or AVX-512), so their raw bits gave two campaigns other noise on some
    machines. Rounded to 1e-9, a one-ulp difference changes the key only at a rounding boundary."""
    return np.rint(np.asarray(values, dtype=np.float64) * 1e9).astype(np.int64).astype(np.uint64)


def _row_spend(plan: pd.DataFrame, days: pd.DataFrame, camp: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Each campaign-day's spend: its plan, the weekday's bids and the channel's weekly budget pulse, times noise
    keyed by the campaign and day (so every pass over any chunk of rows draws the same)."""
    ch = plan["channel"].to_numpy()[camp]
    campaign_key = _stable_key(plan["size"].to_numpy(dtype=np.float64))[camp]
    noise = np.exp(SPEND_NOISE * _hashed_normal(campaign_key ^ (day.astype(np.uint64) * np.uint64(0x2545F4914F6CDD1D))))
    # The pulse is keyed by channel and week, salted by the day table (which differs from seed to seed).
    salt = _stable_key(days["demand"].to_numpy(dtype=np.float64)[:1])[0]
    week_key = (ch.astype(np.uint64) * np.uint64(1_000_003) + (day // 7).astype(np.uint64)) ^ salt
    pulse = np.exp(FLIGHTING * _hashed_normal(week_key))
    weekday = WEEKDAY_SPEND[days["weekday"].to_numpy()[day]]
    return _money(CHANNEL_SPEND[ch] * _planned_effort(plan, days, camp, day) * weekday * pulse * noise)


def _row_weights(plan: pd.DataFrame, camp: np.ndarray, spend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A row's weight in sharing the day's baseline revenue, and in sharing its channel's media revenue."""
    ch, kind, region = (plan[c].to_numpy()[camp] for c in ("channel", "type", "region"))
    effect = REGION_DEMAND[region] * TYPE_CVR[kind]
    return CHANNEL_BASELINE_WEIGHT[ch] * plan["size"].to_numpy()[camp] * effect, spend * effect


@dataclass
class ChannelDays:
    """Channel × day totals of the whole plan that each chunk of rows needs to get its share of revenue."""

    media_revenue: np.ndarray   # channels × days: expected media revenue (0 for organic channels)
    media_weight: np.ndarray    # channels × days: sum of the rows' media weights (0 where the channel is idle)
    baseline: np.ndarray        # days: expected baseline revenue
    baseline_weight: np.ndarray  # days: sum of the rows' baseline weights
    spill: np.ndarray           # days: carried-over media revenue of idle channels
    organic_rows: np.ndarray    # days: whether the day has organic rows (they receive the spill, else all rows)
    spill_weight: np.ndarray    # days: sum of the baseline weights of the rows that receive it


def _channel_saturation(plan: pd.DataFrame, days: pd.DataFrame) -> ChannelDays:
    """Each channel's spend per day over the whole plan, its true media revenue, and the weight sums that
    split revenue over rows (computed chunk by chunk; row spend is keyed noise, so the rows pass agrees)."""
    spend = np.zeros(len(CHANNELS) * N_DAYS)
    media_weight = np.zeros(len(CHANNELS) * N_DAYS)
    baseline_weight = np.zeros(N_DAYS)
    organic_weight = np.zeros(N_DAYS)
    for i in range(0, len(plan), CAMPAIGNS_PER_CHUNK):
        chunk = plan.iloc[i:i + CAMPAIGNS_PER_CHUNK]
        camp, day = _campaign_days(chunk)
        row_spend = _row_spend(chunk, days, camp, day)
        base_w, media_w = _row_weights(chunk, camp, row_spend)
        ch = chunk["channel"].to_numpy()[camp]
        cell = ch * N_DAYS + day
        spend += np.bincount(cell, weights=row_spend, minlength=len(spend))
        media_weight += np.bincount(cell, weights=media_w, minlength=len(spend))
        baseline_weight += np.bincount(day, weights=base_w, minlength=N_DAYS)
        organic_weight += np.bincount(day, weights=np.where(CHANNEL_SPEND[ch] > 0, 0.0, base_w), minlength=N_DAYS)
    spend = spend.reshape(len(CHANNELS), N_DAYS)
    media_weight = media_weight.reshape(len(CHANNELS), N_DAYS)
    rows = int(plan["length"].sum())
    daily = pd.DataFrame(spend.T, columns=list(CHANNELS))
    media = true_media_revenue(daily[[c for c in CHANNELS if c in TRUE_MEDIA_RESPONSE]], rows)
    media_revenue = media.reindex(columns=list(CHANNELS), fill_value=0.0).to_numpy().T
    idle = media_weight <= 0
    has_organic = organic_weight > 0
    return ChannelDays(
        media_revenue=media_revenue, media_weight=media_weight,
        baseline=BASELINE_REVENUE * rows / BASE_CAMPAIGN_ROWS * days["demand"].to_numpy(),
        baseline_weight=baseline_weight, spill=(media_revenue * idle).sum(axis=0), organic_rows=has_organic,
        spill_weight=np.where(has_organic, organic_weight, baseline_weight))


def _share(total: np.ndarray, weight: np.ndarray, weight_sum: np.ndarray) -> np.ndarray:
    """`total` split in proportion to `weight` (0 where nothing carries weight)."""
    return np.divide(total * weight, weight_sum, out=np.zeros_like(weight), where=weight_sum > 0)


def _campaign_rows(plan: pd.DataFrame, days: pd.DataFrame, saturation: ChannelDays,
                   rng: np.random.Generator) -> pd.DataFrame:
    """The campaign × day rows of the campaigns in `plan`, with derived columns as the reference has them.

    Revenue comes first (the row's share of baseline and media revenue, with noise); conversions, clicks and
    impressions follow from the channel's order value, conversion rate and click-through rate.
    """
    camp, day = _campaign_days(plan)
    n = len(camp)
    ch = plan["channel"].to_numpy()[camp]
    kind = plan["type"].to_numpy()[camp]
    region = plan["region"].to_numpy()[camp]
    quarter = days["quarter"].to_numpy()[day]

    spend = _row_spend(plan, days, camp, day)
    paid = CHANNEL_SPEND[ch] > 0
    base_w, media_w = _row_weights(plan, camp, spend)
    s = saturation
    spill_w = np.where(paid & s.organic_rows[day], 0.0, base_w)
    expected = (_share(s.baseline[day], base_w, s.baseline_weight[day])
                + _share(s.media_revenue[ch, day], media_w, s.media_weight[ch, day])
                + _share(s.spill[day], spill_w, s.spill_weight[day]))
    revenue = _money(expected * np.exp(rng.normal(-REVENUE_NOISE ** 2 / 2, REVENUE_NOISE, n)))
    order_value = CHANNEL_AOV[ch] * _lognormal(rng, 0.1, n)
    conversions = np.maximum(np.round(revenue / order_value), 1).astype(np.int64)
    cvr = np.minimum(CHANNEL_CVR[ch] * TYPE_CVR[kind] * _lognormal(rng, 0.15, n), 40)
    clicks = np.maximum(np.round(conversions / cvr * 100), 10).astype(np.int64)
    ctr = np.minimum(CHANNEL_CTR[ch] * TYPE_CTR[kind] * _lognormal(rng, 0.15, n), 50)
    impressions = np.maximum(np.round(clicks / ctr * 100), 500).astype(np.int64)
    safe_spend = np.where(paid, spend, 1.0)
    name_codes, names = pd.factorize(plan["campaign_name"])

    return pd.DataFrame({
        "date": _categorical(days["date"], day),
        "campaign_id": _categorical(plan["campaign_id"], camp),
        "campaign_name": _categorical(names, name_codes[camp]),
        "campaign_type": _categorical(CAMPAIGN_TYPES, kind),
        "channel": _categorical(CHANNELS, ch),
        "region": _categorical(REGIONS, region),
        "impressions": impressions, "clicks": clicks, "conversions": conversions,
        "spend": spend, "revenue": revenue,
        "day_of_week": _categorical(contract.WEEKDAYS, days["weekday"].to_numpy()[day]),
        "month": _categorical(contract.MONTHS, days["month"].to_numpy()[day]),
        "quarter": _categorical(contract.QUARTERS, quarter),
        "year": days["year"].to_numpy()[day],
        "ctr": np.round(clicks / impressions * 100, 2),
        "conversion_rate": np.round(conversions / clicks * 100, 2),
        "cpc": np.round(spend / clicks, 2),
        "cpa": np.round(spend / conversions, 2),
        "roas": np.where(paid, np.round(revenue / safe_spend, 2), 0.0),
    })


DAILY_TOTALS = ("spend", "impressions", "clicks", "conversions", "revenue", "email_impressions",
                "all_clicks", "paid_rows")


def _write_campaigns(out: Path, days: pd.DataFrame, rng: np.random.Generator, scale: float) -> pd.DataFrame:
    """Write campaign_performance.csv chunk by chunk; return per-day totals for the correlation matrix."""
    plan = _campaign_plan(rng, scale)
    saturation = _channel_saturation(plan, days)
    totals = {name: np.zeros(N_DAYS) for name in DAILY_TOTALS}
    chunk_streams = rng.spawn(-(-len(plan) // CAMPAIGNS_PER_CHUNK))

    def chunks():
        for i, chunk_rng in enumerate(chunk_streams):
            chunk = plan.iloc[i * CAMPAIGNS_PER_CHUNK:(i + 1) * CAMPAIGNS_PER_CHUNK].reset_index(drop=True)
            rows = _campaign_rows(chunk, days, saturation, chunk_rng)
            _add_daily_totals(totals, rows)
            yield rows

    _write_frames(chunks(), contract.CAMPAIGNS, out)
    return pd.DataFrame(totals)


def _add_daily_totals(totals: dict, rows: pd.DataFrame) -> None:
    """Add the day's paid-media sums (and email impressions, all clicks) of `rows` into `totals`."""
    day = rows["date"].cat.codes.to_numpy()
    paid = (rows["spend"] > 0).to_numpy()
    email = (rows["channel"] == "Email").to_numpy()

    def add(name, values, mask=None):
        weights = np.asarray(values, dtype=float) if mask is None else np.where(mask, values, 0.0)
        totals[name] += np.bincount(day, weights=weights, minlength=N_DAYS)

    for name in ("spend", "impressions", "clicks", "conversions", "revenue"):
        add(name, rows[name].to_numpy(), paid)
    add("email_impressions", rows["impressions"].to_numpy(), email)
    add("all_clicks", rows["clicks"].to_numpy())
    add("paid_rows", paid.astype(float))


# ---------------------------------------------------------------- correlations

CORRELATION_METRICS = ("Ad Spend", "Impressions", "Clicks", "CTR", "Conversions", "Revenue", "ROAS",
                       "Email Opens", "Website Visits", "Cart Abandonment")


def _correlations(daily: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Pearson correlations of the daily paid-media totals, plus email opens, site visits and cart abandonment.

    Opens, visits and abandonment are not in the campaign file: opens follow email impressions, visits
    follow all clicks, and abandonment falls as the day's conversion rate rises.
    """
    live = daily[(daily["paid_rows"] > 0) & (daily["clicks"] > 0)]
    n = len(live)
    cvr = live["conversions"] / live["clicks"]
    metrics = np.column_stack([
        live["spend"], live["impressions"], live["clicks"], live["clicks"] / live["impressions"],
        live["conversions"], live["revenue"], live["revenue"] / live["spend"],
        live["email_impressions"] * rng.uniform(0.18, 0.3, n) + rng.normal(0, 2_000, n),
        live["all_clicks"] * rng.uniform(1.6, 2.4, n),
        np.clip(0.72 - 1.5 * (cvr - cvr.mean()) + rng.normal(0, 0.04, n), 0.3, 0.95),
    ])
    corr = np.round(np.corrcoef(metrics, rowvar=False), 2)
    # Rounding can leave a nearly singular matrix slightly indefinite: shrink towards the identity.
    while np.linalg.eigvalsh(corr).min() < 0:
        corr = np.round(0.98 * corr + 0.02 * np.eye(len(corr)), 2)
    np.fill_diagonal(corr, 1.0)
    return pd.DataFrame(corr, index=list(CORRELATION_METRICS), columns=list(CORRELATION_METRICS))


def _write_correlations(matrix: pd.DataFrame, out: Path) -> Path:
    path = _path(out, contract.CORRELATIONS)
    matrix.to_csv(path, index=True, index_label="", lineterminator="\n")
    return path


# ---------------------------------------------------------------- customers and orders

GENDERS = ("Female", "Male", "Other")
AGE_GROUPS = ("18-25", "26-35", "36-45", "46-55", "55+")
INCOME_BRACKETS = ("Low", "Medium", "High", "Premium")
CITY_TIERS = ("Tier 1", "Tier 2", "Tier 3")
ACQUISITION_CHANNELS = ("Social Media", "Paid Search", "Organic", "Referral", "Partner", "Offline Event")
# Segment mix per city tier, in contract.SEGMENTS order (Premium, Regular, Budget, New, Churned).
SEGMENT_MIX_BY_TIER = np.array([
    [0.16, 0.40, 0.19, 0.20, 0.05],
    [0.09, 0.41, 0.25, 0.20, 0.05],
    [0.05, 0.40, 0.30, 0.20, 0.05],
])
# Per segment: median income, median LTV, LTV spread (log sd), median order value, mean days since last order.
SEGMENT_INCOME = np.array([160_000, 85_000, 55_000, 75_000, 70_000], dtype=float)
SEGMENT_LTV = np.array([70_000, 14_000, 3_800, 450, 1_100], dtype=float)
SEGMENT_LTV_SPREAD = np.array([0.6, 0.5, 0.5, 0.6, 0.45])
MAX_LIFETIME_VALUE = 800_000
SEGMENT_ORDER_VALUE = np.array([1_400, 600, 250, 450, 400], dtype=float)
SEGMENT_RECENCY = np.array([12, 35, 45, 40, 110], dtype=float)
SEGMENT_SATISFACTION = np.array([4.0, 3.7, 3.5, 3.7, 3.0])
SEGMENT_UNHAPPY_SHARE = np.array([0.05, 0.1, 0.12, 0.08, 0.35])
SEGMENT_OPEN_RATE = np.array([0.35, 0.27, 0.22, 0.25, 0.1])
SEGMENT_VISITS = np.array([8, 4, 3, 5, 0.7])
SEGMENT_SESSIONS = np.array([14, 9, 7, 8, 1.5])


def _write_customers_and_orders(out: Path, rng: np.random.Generator, orders_rng: np.random.Generator, n: int,
                                orders: int | None, with_orders: bool) -> tuple[Path, Path | None]:
    """customer_data.csv (and orders.csv) chunk by chunk: each chunk's orders follow its customers.

    Up to one chunk of customers draws from `rng` itself (the default data); more draw each chunk from
    its own stream spawned from it. With `orders` set, a first pass counts the purchases every chunk
    would make, and the second scales them so the order rows add up to exactly `orders`.
    """
    sizes = [min(CUSTOMERS_PER_CHUNK, n - start) for start in range(0, n, CUSTOMERS_PER_CHUNK)]
    chunk_rngs = [rng] if len(sizes) == 1 else rng.spawn(len(sizes))
    order_rngs = orders_rng.spawn(len(sizes))
    seeds = [r.bit_generator.state for r in chunk_rngs]  # replayed by the second pass

    def chunk(i: int, hook=None) -> pd.DataFrame:
        chunk_rngs[i].bit_generator.state = seeds[i]
        return _customers(chunk_rngs[i], sizes[i], first_id=i * CUSTOMERS_PER_CHUNK, purchases_hook=hook)

    extras = [None] * len(sizes)   # orders beyond one per customer, per chunk
    if orders is not None:
        beyond_first = [int(chunk(i)["total_purchases"].sum()) - sizes[i] for i in range(len(sizes))]
        weights = np.array(beyond_first if sum(beyond_first) else sizes, dtype=float)
        extras = list(np.diff(np.round(np.cumsum([0.0, *weights]) / weights.sum() * (orders - n)).astype(np.int64)))

    def rescaled(extra):
        if extra is None:
            return None

        def hook(purchases):
            # One order each, the rest in proportion to the further purchases the customer would make.
            weights = purchases - 1 if (purchases > 1).any() else np.ones_like(purchases)
            return 1 + _apportion(weights, int(extra))
        return hook

    day_labels = pd.Series(pd.date_range(end=AS_OF, periods=MAX_ORDER_DAYS + 1, freq="D")[::-1].strftime("%Y-%m-%d"))
    with _CsvWriter(contract.CUSTOMERS, out) as customers_file, \
            (_CsvWriter(contract.ORDERS, out) if with_orders else contextlib.nullcontext()) as orders_file:
        for i in range(len(sizes)):
            customers = chunk(i, rescaled(extras[i]))
            customers_file.write(customers)
            if orders_file is not None:
                orders_file.write(_orders(customers, order_rngs[i], day_labels))
    return customers_file.path, (orders_file.path if orders_file is not None else None)


def _customers(rng: np.random.Generator, n: int, first_id: int = 0, purchases_hook=None) -> pd.DataFrame:
    """One row per customer; orders.csv is drawn from these columns (count, value, first and last day).

    `first_id` numbers the customers of a later chunk; `purchases_hook` may rescale the purchase counts
    (at least 1 each), the rest of the row follows from them.
    """
    seg_names = contract.SEGMENTS
    premium, new, churned, budget = (seg_names.index(s) for s in ("Premium", "New", "Churned", "Budget"))
    gender = _pick(rng, GENDERS, (0.4, 0.4, 0.2), n)
    young = rng.random(n) < 0.8
    age = np.clip(np.round(np.where(young, rng.normal(31, 6.5, n), rng.normal(45, 10, n))), 18, 70).astype(np.int64)
    age_group = np.digitize(age, [26, 36, 46, 56])
    region = _pick(rng, REGIONS, (0.2, 0.22, 0.17, 0.23, 0.18), n)
    tier = _pick(rng, CITY_TIERS, (0.33, 0.38, 0.29), n)
    cumulative = np.cumsum(SEGMENT_MIX_BY_TIER, axis=1)[tier]
    segment = np.minimum((rng.random(n)[:, None] > cumulative).sum(axis=1), len(seg_names) - 1)

    age_income = 1 + 0.012 * (np.minimum(age, 50) - 30)
    tier_income = np.array([1.2, 1.0, 0.85])[tier]
    income = np.clip(np.round(SEGMENT_INCOME[segment] * tier_income * age_income * _lognormal(rng, 0.35, n)),
                     20_000, 400_000).astype(np.int64)
    income_bracket = np.digitize(income, [50_000, 100_000, 200_000])

    # Days since the first order: tenure_months is its whole number of 30-day months.
    first_lo = np.select([segment == new, segment == premium], [30, 360], 180)
    first_hi = np.where(segment == new, 209, 1829)
    first_days = rng.integers(first_lo, first_hi + 1)
    tenure = first_days // 30

    ltv = (SEGMENT_LTV[segment] * _lognormal(rng, 1.0, n) ** SEGMENT_LTV_SPREAD[segment]
           * (income / 85_000) ** 0.6 * np.where(segment == new, 1.0, (tenure / 30) ** 0.3))
    budget_outlier = (segment == budget) & (rng.random(n) < 0.03)
    churned_outlier = (segment == churned) & (rng.random(n) < 0.05)
    ltv *= np.where(budget_outlier, rng.uniform(4, 10, n), 1.0) * np.where(churned_outlier, rng.uniform(8, 25, n), 1.0)
    ltv = np.clip(np.round(ltv), 50, MAX_LIFETIME_VALUE).astype(np.int64)
    order_value = SEGMENT_ORDER_VALUE[segment] * _lognormal(rng, 0.3, n)
    purchases = np.clip(np.round(ltv / order_value), np.where(segment == new, 1, 2), None).astype(np.int64)
    if purchases_hook is not None:
        purchases = np.asarray(purchases_hook(purchases), dtype=np.int64)

    last_days = np.ceil(rng.exponential(SEGMENT_RECENCY[segment])).astype(np.int64) + 1
    last_days = np.minimum(np.where(segment == churned, last_days + 120, last_days), 365)
    last_days = np.where(purchases == 1, first_days, np.minimum(last_days, first_days))

    satisfaction = np.where(rng.random(n) < SEGMENT_UNHAPPY_SHARE[segment], rng.normal(1.7, 0.35, n),
                            rng.normal(SEGMENT_SATISFACTION[segment], 0.45, n))
    satisfaction = np.round(np.clip(satisfaction, 1, 5), 2)
    nps = np.digitize(satisfaction, [3.5, 4.5])
    tickets = rng.poisson(np.where(segment == churned, 3.0, 1.5) + 0.5 * (satisfaction < 2.5))
    churn_logit = (-2.0 + 0.02 * (np.minimum(last_days, 365) - 40) + 0.25 * (tickets - 1.5)
                   - 0.9 * (satisfaction - 3.6) - 1.0 * (segment == premium) + 4.0 * (segment == churned))
    churn_probability = np.round(_sigmoid(churn_logit), 3)
    is_churned = np.where(segment == churned, 1, rng.random(n) < churn_probability).astype(np.int64)

    return pd.DataFrame({
        "customer_id": [f"CUST_{10000 + first_id + i}" for i in range(n)],
        "gender": _categorical(GENDERS, gender), "age": age, "age_group": _categorical(AGE_GROUPS, age_group),
        "income": income, "income_bracket": _categorical(INCOME_BRACKETS, income_bracket),
        "region": _categorical(REGIONS, region), "city_tier": _categorical(CITY_TIERS, tier),
        "customer_segment": _categorical(seg_names, segment),
        "acquisition_channel": _categorical(ACQUISITION_CHANNELS, _pick(rng, ACQUISITION_CHANNELS,
                                                                        (0.26, 0.22, 0.17, 0.16, 0.1, 0.09), n)),
        "tenure_months": tenure, "lifetime_value": ltv, "total_purchases": purchases,
        "avg_order_value": np.round(ltv / purchases, 2), "last_purchase_days": last_days,
        "email_open_rate": np.round(np.clip(SEGMENT_OPEN_RATE[segment] + rng.normal(0, 0.08, n), 0, 0.95), 3),
        "website_visits_monthly": rng.poisson(SEGMENT_VISITS[segment]),
        "app_sessions_monthly": rng.poisson(SEGMENT_SESSIONS[segment]),
        "support_tickets": tickets, "satisfaction_score": satisfaction,
        "nps_category": _categorical(("Detractor", "Passive", "Promoter"), nps),
        "is_churned": is_churned, "churn_probability": churn_probability,
    })


def _orders(customers: pd.DataFrame, rng: np.random.Generator, day_labels: pd.Series) -> pd.DataFrame:
    """orders.csv rows of these customers: each one's `total_purchases` orders summing to `lifetime_value`
    to the paisa, the first `tenure` days before AS_OF and the last `last_purchase_days` before it.
    `day_labels[i]` is the date i days before AS_OF."""
    count = customers["total_purchases"].to_numpy()
    last = customers["last_purchase_days"].to_numpy()
    # The first order is the start of the tenure; tenure_months counts whole 30-day months of it.
    first = np.maximum(customers["tenure_months"].to_numpy() * 30 + rng.integers(0, 30, len(count)), last)
    first = np.where(count == 1, last, first)
    owner = np.repeat(np.arange(len(count)), count)
    start = np.cumsum(count) - count
    rank = np.arange(len(owner)) - start[owner]
    days_ago = np.round(last[owner] + rng.random(len(owner)) * (first - last)[owner]).astype(np.int64)
    days_ago = np.where(rank == 0, first[owner], days_ago)
    days_ago = np.where(rank == count[owner] - 1, last[owner], days_ago)
    order = np.lexsort((-days_ago, owner))
    owner, days_ago = owner[order], days_ago[order]

    paise_total = customers["lifetime_value"].to_numpy() * 100
    weight = 0.3 + rng.gamma(2.0, 1.0, len(owner))
    weight_sum = np.bincount(owner, weights=weight, minlength=len(count))
    paise = np.floor(weight / weight_sum[owner] * paise_total[owner]).astype(np.int64)
    shortfall = paise_total - np.bincount(owner, weights=paise, minlength=len(count)).astype(np.int64)
    paise[start] += shortfall
    return pd.DataFrame({
        "customer_id": customers["customer_id"].to_numpy()[owner],
        "order_date": _categorical(day_labels, days_ago),
        "amount": paise / 100,
    })


# ---------------------------------------------------------------- products

PRODUCT_CATALOGUE = (
    # category, subcategory, products with (name, unit price ₹, base units per region-quarter, margin %)
    ("Electronics", "Smartphones", (("iPhone Pro", 120_000, 60, 11), ("Samsung Galaxy", 85_000, 75, 11),
                                    ("OnePlus Nord", 28_000, 260, 6), ("Pixel Pro", 90_000, 40, 12))),
    ("Electronics", "Laptops", (("MacBook Air", 110_000, 45, 12), ("Dell XPS", 130_000, 30, 12),
                                ("ThinkPad", 95_000, 40, 13), ("HP Spectre", 120_000, 25, 12))),
    ("Electronics", "Accessories", (("AirPods", 20_000, 220, 15), ("Smart Watch", 15_000, 260, 14),
                                    ("Tablet", 45_000, 90, 12), ("Power Bank", 1_800, 1_400, 5))),
    ("Fashion", "Men", (("Formal Shirts", 1_800, 900, 38), ("Casual Wear", 1_200, 1_500, 22),
                        ("Men's Footwear", 3_200, 700, 35), ("Men's Accessories", 1_500, 500, 42))),
    ("Fashion", "Women", (("Ethnic Wear", 3_500, 800, 40), ("Western Wear", 2_200, 900, 36),
                          ("Women's Footwear", 2_800, 650, 35), ("Bags", 2_600, 500, 44))),
    ("Fashion", "Kids", (("Boys Wear", 900, 800, 34), ("Girls Wear", 1_000, 850, 35),
                         ("School Uniforms", 700, 1_200, 20), ("Toys", 1_100, 900, 33))),
    ("Home & Living", "Furniture", (("Sofas", 45_000, 40, 28), ("Beds", 38_000, 45, 27),
                                    ("Tables", 15_000, 80, 26), ("Storage Units", 9_000, 110, 27))),
    ("Home & Living", "Decor", (("Lighting", 3_500, 300, 30), ("Wall Art", 2_500, 280, 34),
                                ("Plants", 800, 700, 31), ("Rugs", 6_000, 150, 29))),
    ("Home & Living", "Kitchen", (("Appliances", 12_000, 200, 18), ("Cookware", 2_500, 450, 27),
                                  ("Kitchen Storage", 1_200, 500, 25), ("Dining", 4_000, 180, 28))),
)
PRODUCT_REGION_DEMAND = np.array([1.0, 1.2, 0.85, 1.25, 0.8])
PRODUCT_QUARTER_DEMAND = np.array([0.9, 0.85, 1.0, 1.45])


def _products(rng: np.random.Generator) -> pd.DataFrame:
    """product × region × quarter sales (36 products, 5 regions, 8 quarters), in the reference's row order."""
    catalogue = [(cat, sub, *item) for cat, sub, items in PRODUCT_CATALOGUE for item in items]
    quarters = [(q, y) for y in (2023, 2024) for q in range(4)]
    grid = [(p, r, qi) for p in range(len(catalogue)) for r in range(len(REGIONS)) for qi in range(len(quarters))]
    p_idx, r_idx, q_idx = (np.array(col) for col in zip(*grid))
    n = len(grid)
    price = np.array([c[3] for c in catalogue], dtype=float)[p_idx]
    base_units = np.array([c[4] for c in catalogue], dtype=float)[p_idx]
    margin = np.array([c[5] for c in catalogue], dtype=float)[p_idx]
    quarter = np.array([q for q, _ in quarters])[q_idx]
    year = np.array([y for _, y in quarters])[q_idx]
    growth = np.where(year == 2024, 1.15, 1.0)
    units = np.maximum(np.round(base_units * PRODUCT_REGION_DEMAND[r_idx] * PRODUCT_QUARTER_DEMAND[quarter] * growth
                                * _lognormal(rng, 0.25, n)), 1).astype(np.int64)
    sales = _money(units * price * _lognormal(rng, 0.08, n))
    profit = _money(sales * np.clip(margin + rng.normal(0, 2.0, n), -5, 60) / 100)
    is_fashion = np.array([c[0] == "Fashion" for c in catalogue])[p_idx]
    return pd.DataFrame({
        "product_id": [f"PRD_{i + 1}" for i in range(n)],
        "product_name": [catalogue[p][2] for p in p_idx],
        "category": [catalogue[p][0] for p in p_idx],
        "subcategory": [catalogue[p][1] for p in p_idx],
        "region": [REGIONS[r] for r in r_idx],
        "quarter": [f"Q{q + 1} {y}" for q, y in zip(quarter, year)],
        "year": year, "sales": sales, "units_sold": units, "profit": profit,
        "profit_margin": np.round(profit / sales * 100, 2),
        "return_rate": np.round(np.clip(np.where(is_fashion, 5.5, 2.5) + rng.normal(0, 1.2, n), 0.5, 15), 2),
        "avg_rating": np.round(np.clip(rng.normal(4.15, 0.35, n), 3.0, 5.0), 1),
        "review_count": np.round(units * rng.uniform(2, 8, n) + rng.integers(20, 400, n)).astype(np.int64),
    })


# ---------------------------------------------------------------- leads and the lead-scoring model

COMPANY_SIZES = ("Small", "Medium", "Large", "Enterprise")
INDUSTRIES = ("Education", "Finance", "Healthcare", "Manufacturing", "Retail", "Technology")
LEAD_SOURCES = ("Social Media", "Referral", "Website", "Event", "Paid Ad")
MODEL_FEATURES = ("webinar_attendance", "form_submissions", "content_downloads", "email_clicks", "website_visits",
                  "company_size_encoded", "industry_encoded", "time_on_site_seconds", "pages_viewed",
                  "days_since_first_touch", "email_opens")
# How each feature moves the log-odds of converting, per unit (MODEL_FEATURES order).
TRUE_EFFECTS = np.array([0.64, 0.38, 0.14, 0.09, 0.011, 0.11, 0.045, 0.00022, 0.0075, -0.003, 0.0075])
PREDICTION_NOISE = 0.5              # log-odds noise of the deployed model: puts its AUC near 0.77
TRAIN_FRACTIONS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
CV_FOLDS = 5
MODEL_ROWS = 20_000                 # leads the model is fitted on; more only slow scaled generation down


def _lead_tables(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The scored leads, the model's feature importance and its learning curve, all from the same leads."""
    engagement = rng.normal(0, 1, n)

    def count(mean, slope, noise, low, high):
        return np.clip(np.round(mean + slope * engagement + rng.normal(0, noise, n)), low, high).astype(np.int64)

    leads = pd.DataFrame({
        "lead_id": [f"LEAD_{5000 + i}" for i in range(n)],
        "company_size": _categorical(COMPANY_SIZES, _pick(rng, COMPANY_SIZES, (0.26, 0.26, 0.25, 0.23), n)),
        "industry": _categorical(INDUSTRIES, _pick(rng, INDUSTRIES, (0.17, 0.16, 0.18, 0.15, 0.17, 0.17), n)),
        "website_visits": count(25, 9, 9, 1, 50),
        "pages_viewed": count(15, 5, 6, 1, 30),
        "time_on_site_seconds": count(900, 250, 400, 30, 1799),
    })
    leads["email_opens"] = count(7.5, 2.5, 3.5, 0, 15)
    leads["email_clicks"] = np.minimum(rng.binomial(leads["email_opens"].to_numpy(), 0.45), 10)
    leads["form_submissions"] = count(2.5, 0.7, 1.4, 0, 5)
    leads["content_downloads"] = count(4, 1.0, 2.2, 0, 8)
    leads["webinar_attendance"] = count(1.4, 0.4, 0.95, 0, 3)
    leads["days_since_first_touch"] = rng.integers(1, 181, n)
    leads["lead_source"] = _categorical(LEAD_SOURCES, _pick(rng, LEAD_SOURCES, (0.22, 0.21, 0.2, 0.19, 0.18), n))

    features = _model_features(leads)
    true_logit = features @ TRUE_EFFECTS
    true_logit += 0.3 - true_logit.mean()
    converted = (rng.random(n) < _sigmoid(true_logit)).astype(np.int64)

    standardised = (features - features.mean(axis=0)) / features.std(axis=0)
    # The model is fitted on at most MODEL_ROWS leads (they are in random order), then scores them all.
    sample = slice(0, MODEL_ROWS)
    coef = _fit_logistic(standardised[sample], converted[sample])
    fitted_logit = coef[0] + standardised @ coef[1:]
    probability = np.round(np.clip(_sigmoid(fitted_logit + rng.normal(0, PREDICTION_NOISE, n)), 0.01, 0.99), 4)
    leads["actual_converted"] = converted
    leads["predicted_probability"] = probability
    leads["predicted_class"] = (probability >= 0.5).astype(np.int64)
    importance = _feature_importance(standardised[sample], converted[sample], rng)
    curve = _learning_curve(standardised[sample], converted[sample], rng)
    return leads[contract.LEADS.headers], importance, curve


def _model_features(leads: pd.DataFrame) -> np.ndarray:
    encoded = {
        "company_size_encoded": leads["company_size"].cat.codes.to_numpy(),
        "industry_encoded": leads["industry"].cat.codes.to_numpy(),
    }
    return np.column_stack([encoded[f] if f in encoded else leads[f].to_numpy() for f in MODEL_FEATURES]).astype(float)


def _fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 30) -> np.ndarray:
    """Ridge logistic regression by Newton's method; returns [intercept, coefficients...]."""
    design = np.column_stack([np.ones(len(x)), x])
    penalty = l2 * np.eye(design.shape[1])
    penalty[0, 0] = 0.0
    beta = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = _sigmoid(design @ beta)
        gradient = design.T @ (y - p) - penalty @ beta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return beta


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    positives = y == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((rankdata(score)[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _feature_importance(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, resamples: int = 30) -> pd.DataFrame:
    """Share of the fitted model's standardised coefficient magnitudes, with its bootstrap spread."""

    def shares(rows):
        magnitude = np.abs(_fit_logistic(x[rows], y[rows])[1:])
        return magnitude / magnitude.sum()

    importance = shares(np.arange(len(y)))
    spread = np.std([shares(rng.integers(0, len(y), len(y))) for _ in range(resamples)], axis=0)
    order = np.argsort(-importance, kind="stable")
    return pd.DataFrame({
        "feature": np.array(MODEL_FEATURES)[order],
        "importance": np.round(importance[order], 2),
        "importance_std": np.round(spread[order], 2),
    })


def _learning_curve(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, l2: float = 1e-3) -> pd.DataFrame:
    """ROC AUC on the training rows and on the held-out fold as the training set grows (5-fold CV)."""
    folds = np.array_split(rng.permutation(len(y)), CV_FOLDS)
    fold_size = len(y) - len(folds[0])
    sizes = [max(10, round(f * fold_size)) for f in TRAIN_FRACTIONS]
    scores = np.zeros((len(sizes), CV_FOLDS, 2))
    for k, held_out in enumerate(folds):
        train = np.concatenate([f for j, f in enumerate(folds) if j != k])
        positives, negatives = train[y[train] == 1], train[y[train] == 0]
        for s, size in enumerate(sizes):
            n_pos = min(max(1, round(size * len(positives) / len(train))), size - 1)
            rows = np.concatenate([positives[:n_pos], negatives[: size - n_pos]])
            coef = _fit_logistic(x[rows], y[rows], l2=l2)
            scores[s, k] = (_auc(y[rows], x[rows] @ coef[1:]), _auc(y[held_out], x[held_out] @ coef[1:]))
    return pd.DataFrame({
        "training_size": sizes,
        "train_score": np.round(scores[:, :, 0].mean(axis=1), 2),
        "validation_score": np.round(scores[:, :, 1].mean(axis=1), 2),
        "train_score_std": np.round(scores[:, :, 0].std(axis=1), 2),
        "validation_score_std": np.round(scores[:, :, 1].std(axis=1), 2),
    })


# ---------------------------------------------------------------- geography

# state, region, latitude, longitude, revenue weight, revenue per customer (₹), stores, growth %, satisfaction
STATES = (
    ("Maharashtra", "West", 19.7515, 75.7139, 1.00, 4_300, 38, 12, 3.9),
    ("Karnataka", "South", 15.3173, 75.7139, 0.86, 4_500, 30, 14, 4.0),
    ("Tamil Nadu", "South", 11.1271, 78.6569, 0.60, 3_900, 26, 11, 3.9),
    ("Uttar Pradesh", "North", 26.8467, 80.9462, 0.45, 2_800, 28, 15, 3.6),
    ("Gujarat", "West", 22.2587, 71.1924, 0.52, 3_700, 24, 12, 3.9),
    ("Rajasthan", "West", 27.0238, 74.2179, 0.30, 3_100, 16, 13, 3.7),
    ("West Bengal", "East", 22.9868, 87.8550, 0.40, 3_000, 18, 27, 3.7),
    ("Madhya Pradesh", "Central", 22.9734, 78.6569, 0.24, 2_700, 14, 10, 3.6),
    ("Kerala", "South", 10.8505, 76.2711, 0.30, 4_600, 7, 9, 4.5),
    ("Delhi", "North", 28.7041, 77.1025, 0.68, 4_800, 32, 10, 3.8),
    ("Punjab", "North", 31.1471, 75.3412, 0.22, 3_600, 12, 8, 3.8),
    ("Haryana", "North", 29.0588, 76.0856, 0.27, 4_000, 13, 11, 3.8),
    ("Telangana", "South", 18.1124, 79.0193, 0.48, 4_100, 22, 16, 3.9),
    ("Bihar", "East", 25.0961, 85.3131, 0.16, 2_400, 9, 31, 3.5),
    ("Odisha", "East", 20.9517, 85.0985, 0.14, 2_500, 8, 29, 3.6),
)
TOP_STATE_REVENUE = 240_000_000.0


def _geography(rng: np.random.Generator) -> pd.DataFrame:
    """One row per state (15), with real state centroids."""
    n = len(STATES)
    weight, per_customer, stores, growth, satisfaction = (np.array([s[i] for s in STATES], dtype=float)
                                                          for i in range(4, 9))
    revenue_per_customer = np.round(per_customer * rng.uniform(0.93, 1.07, n))
    customers = np.round(TOP_STATE_REVENUE * weight * rng.uniform(0.95, 1.05, n) / revenue_per_customer).astype(np.int64)
    return pd.DataFrame({
        "state": [s[0] for s in STATES], "region": [s[1] for s in STATES],
        "latitude": [s[2] for s in STATES], "longitude": [s[3] for s in STATES],
        "total_customers": customers,
        "total_revenue": (customers * revenue_per_customer).astype(np.int64),
        "revenue_per_customer": revenue_per_customer,
        "store_count": np.maximum(np.round(stores * rng.uniform(0.85, 1.15, n)), 1).astype(np.int64),
        "market_penetration": np.round(np.clip(6 + 26 * weight + rng.normal(0, 3, n), 1, 60), 1),
        "yoy_growth": np.round(growth + rng.normal(0, 1.5, n), 1),
        "customer_satisfaction": np.round(np.clip(satisfaction + rng.normal(0, 0.08, n), 1, 5), 2),
        "avg_delivery_days": np.round(np.clip(2 + 3 * (1 - weight) + rng.normal(0, 0.6, n), 1, 10), 1),
    })


# ---------------------------------------------------------------- attribution, funnel, journeys

# Probability that a converting path's first, middle and last touch is each channel (CHANNELS order):
# search ads start journeys, email closes them.
FIRST_TOUCH = np.array([0.27, 0.19, 0.14, 0.05, 0.07, 0.16, 0.07, 0.05])
MIDDLE_TOUCH = np.array([0.16, 0.18, 0.14, 0.07, 0.18, 0.12, 0.08, 0.07])
LAST_TOUCH = np.array([0.14, 0.16, 0.11, 0.08, 0.24, 0.11, 0.11, 0.05])
SIMULATED_PATHS = 50_000


def _attribution(rng: np.random.Generator) -> pd.DataFrame:
    """Percent of conversions credited to each channel under five models, from simulated converting paths."""
    n = SIMULATED_PATHS
    length = 1 + rng.binomial(4, 0.45, n)
    position = np.arange(5)
    touches = np.where(position == 0, _pick(rng, CHANNELS, FIRST_TOUCH, (n, 5)), _pick(rng, CHANNELS, MIDDLE_TOUCH, (n, 5)))
    touches = np.where(position == (length - 1)[:, None], _pick(rng, CHANNELS, LAST_TOUCH, (n, 5)), touches)
    touches[length == 1, 0] = _pick(rng, CHANNELS, FIRST_TOUCH + LAST_TOUCH, int((length == 1).sum()))
    live = position < length[:, None]
    from_end = (length[:, None] - 1 - position).astype(float)
    weights = {
        "first_touch": (position == 0).astype(float),
        "last_touch": (from_end == 0).astype(float),
        "linear": live / length[:, None],
        "time_decay": np.where(live, 0.5 ** from_end, 0.0),
        "position_based": np.where(live, np.where((position == 0) | (from_end == 0), 0.4, 0.2 / np.maximum(length[:, None] - 2, 1)), 0.0),
    }
    weights["position_based"] = np.where(length[:, None] <= 2, weights["linear"], weights["position_based"])
    columns = {"channel": list(CHANNELS)}
    for model, w in weights.items():
        w = np.where(live, w, 0.0)
        w = w / w.sum(axis=1, keepdims=True)
        credit = np.bincount(touches[live], weights=w[live], minlength=len(CHANNELS))
        columns[model] = _apportion(credit, 100)
    return pd.DataFrame(columns)


def _funnel(rng: np.random.Generator) -> pd.DataFrame:
    """Six stages; the step from Awareness to Interest loses the most visitors."""
    rates = np.concatenate([[rng.uniform(0.38, 0.44)], rng.uniform(0.48, 0.62, 4)])
    visitors = [int(round(100_000 * rng.uniform(0.95, 1.05), -2))]
    for rate in rates:
        visitors.append(int(round(visitors[-1] * rate, -1)))
    visitors = np.array(visitors)
    conversion = np.concatenate([[100.0], np.round(visitors[1:] / visitors[:-1] * 100, 1)])
    return pd.DataFrame({"stage": list(contract.FUNNEL_STAGES), "visitors": visitors, "conversion_rate": conversion})


JOURNEY_PATHS = (
    (("Paid Search", "Website", "Email", "Purchase"), 1_300),
    (("Social Media", "Website", "Retargeting", "Purchase"), 850),
    (("Organic Search", "Website", "Purchase"), 700),
    (("Paid Search", "Website", "Exit"), 2_900),
    (("Social Media", "Website", "Exit"), 2_400),
    (("Referral", "Website", "Email", "Purchase"), 420),
    (("Direct", "Website", "Purchase"), 520),
    (("Email", "Purchase"), 480),
)


def _journeys(rng: np.random.Generator) -> pd.DataFrame:
    """Eight touchpoint paths of different lengths ending in Purchase or Exit; cells after the end are empty."""
    cells = [list(path) + [None] * (4 - len(path)) for path, _ in JOURNEY_PATHS]
    frame = pd.DataFrame(cells, columns=contract.JOURNEYS.headers[:4], dtype=object)
    base = np.array([count for _, count in JOURNEY_PATHS], dtype=float)
    frame["customer_count"] = (np.round(base * _lognormal(rng, 0.12, len(base)), -1)).astype(np.int64)
    return frame


# ---------------------------------------------------------------- optional files

AB_SEGMENTS = ("Mobile", "Desktop", "App")
AB_VISITORS = np.array([12_000, 8_000, 5_000])
AB_BASE_CVR = np.array([0.024, 0.034, 0.041])
AB_ORDER_VALUE = np.array([1_800.0, 2_300.0, 2_000.0])
# experiment -> variant -> conversion-rate lift per segment
AB_EXPERIMENTS = (
    ("Checkout Redesign", (("Control", (1.0, 1.0, 1.0)), ("Variant A", (1.3, 1.3, 1.3)))),
    ("Free Shipping Banner", (("Control", (1.0, 1.0, 1.0)), ("Variant A", (1.0, 1.0, 1.0)),
                              ("Variant B", (1.0, 1.0, 1.0)))),
    ("Personalised Recommendations", (("Control", (1.0, 1.0, 1.0)), ("Variant A", (1.4, 0.97, 1.0)))),
)


def _ab_tests(rng: np.random.Generator) -> pd.DataFrame:
    """Three experiments: a clear winner, a null result, and a lift confined to one segment."""
    rows = []
    for experiment, variants in AB_EXPERIMENTS:
        for variant, lifts in variants:
            visitors = np.round(AB_VISITORS / len(variants) * 2 * rng.uniform(0.97, 1.03, 3)).astype(np.int64)
            conversions = rng.binomial(visitors, AB_BASE_CVR * np.array(lifts))
            # A sum of `c` orders each Gamma(2, value/2) is Gamma(2c, value/2).
            revenue = _money(rng.gamma(2.0 * np.maximum(conversions, 1), AB_ORDER_VALUE / 2) * (conversions > 0))
            rows += [(experiment, variant, seg, v, c, r)
                     for seg, v, c, r in zip(AB_SEGMENTS, visitors, conversions, revenue)]
    return pd.DataFrame(rows, columns=contract.AB_TESTS.headers)


EDUCATION = ("Graduation", "PhD", "Master", "2n Cycle", "Basic")
MARITAL = ("Married", "Together", "Single", "Divorced", "Widow", "Alone", "Absurd", "YOLO")
CMP_RATES = {"AcceptedCmp3": 0.073, "AcceptedCmp4": 0.075, "AcceptedCmp5": 0.073, "AcceptedCmp1": 0.064,
             "AcceptedCmp2": 0.013}
# Mean spend per product line for an average household (public file's magnitudes).
MNT_MEANS = {"MntWines": 300, "MntFruits": 26, "MntMeatProducts": 165, "MntFishProducts": 37,
             "MntSweetProducts": 27, "MntGoldProds": 44}


def _crm_export(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """marketing_campaign.csv in the public "Marketing Campaign" layout (tab-separated, Dt_Customer DD-MM-YYYY)."""
    education = _pick(rng, EDUCATION, (0.503, 0.217, 0.165, 0.09, 0.025), n)
    marital = _pick(rng, MARITAL, (0.386, 0.259, 0.214, 0.104, 0.034, 0.0013, 0.0009, 0.0009), n)
    age = np.clip(np.round(rng.normal(45, 12, n)), 20, 85).astype(np.int64)
    income = np.clip(51_000 * np.array([1.0, 1.12, 1.05, 0.95, 0.4])[education] * _lognormal(rng, 0.42, n)
                     * (1 + 0.006 * (age - 45)), 1_730, 170_000)
    kids = _pick(rng, (0, 1, 2), (0.58, 0.4, 0.02), n) * (rng.random(n) < np.clip(1.4 - income / 90_000, 0.2, 1))
    teens = _pick(rng, (0, 1, 2), (0.52, 0.46, 0.02), n) * (age > 35)
    wealth = (income / 51_000) ** 1.5 / (1 + 0.9 * kids + 0.3 * teens)
    joined = rng.integers(0, 730, n)
    frame = pd.DataFrame({
        "ID": rng.permutation(5 * n)[:n],
        "Year_Birth": AS_OF.year - age,
        "Education": _categorical(EDUCATION, education),
        "Marital_Status": _categorical(MARITAL, marital),
        "Income": pd.array(np.round(income).astype(np.int64), dtype="Int64"),
        "Kidhome": kids.astype(np.int64), "Teenhome": teens.astype(np.int64),
        "Dt_Customer": [(date(2022, 7, 1) + timedelta(days=int(d))).strftime("%d-%m-%Y") for d in joined],
        "Recency": rng.integers(0, 100, n),
    })
    for column, mean in MNT_MEANS.items():
        frame[column] = np.minimum(np.round(mean * wealth * _lognormal(rng, 0.7, n) * 0.75), 30 * mean).astype(np.int64)
    frame["NumDealsPurchases"] = rng.poisson(1.2 + 1.0 * (kids + teens))
    frame["NumWebPurchases"] = rng.poisson(4.1 * wealth ** 0.3)
    frame["NumCatalogPurchases"] = rng.poisson(2.7 * wealth ** 0.8)
    frame["NumStorePurchases"] = rng.poisson(5.8 * wealth ** 0.4)
    frame["NumWebVisitsMonth"] = np.minimum(rng.poisson(5.3 * np.clip(51_000 / income, 0.3, 4) ** 0.5), 20)
    accepted = np.zeros(n)
    for column, rate in CMP_RATES.items():
        took = rng.random(n) < _sigmoid(np.log(rate / (1 - rate)) + 1.2 * np.log(wealth) - 0.3)
        frame[column] = took.astype(np.int64)
        accepted += took
    frame["Complain"] = (rng.random(n) < 0.009).astype(np.int64)
    frame["Z_CostContact"] = 3
    frame["Z_Revenue"] = 11
    single = np.isin(marital, [MARITAL.index(m) for m in ("Single", "Divorced", "Widow", "Alone", "Absurd", "YOLO")])
    response_logit = (-2.3 - 0.025 * (frame["Recency"].to_numpy() - 50) + 0.9 * accepted + 0.4 * np.log(wealth)
                      + 0.5 * single + 0.35 * (education == EDUCATION.index("PhD")) - 0.4 * teens)
    frame["Response"] = (rng.random(n) < _sigmoid(response_logit)).astype(np.int64)
    frame.loc[rng.random(n) < 0.011, "Income"] = pd.NA
    return frame[contract.MARKETING_CAMPAIGN.headers]
