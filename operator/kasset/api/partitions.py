"""Partitions of an Asset: how its data splits into slices materialized independently (one day, one region),
how a partition reads its upstream's partitions, and the bounded summary of them that the Asset's status shows.

A definition has 1 to MAX_DIMENSIONS dimensions, at most one of them a time window. A partition key names one
key per dimension, joined with `|` in declaration order (`2021-04-01|eu`), as Dagster's MultiPartitionKey does;
a one-dimension key is the dimension's key alone. Time keys are the window's start in the dimension's time zone,
formatted with `format` (`%:z` is the UTC offset as `+HH:MM`).

Does not: enumerate keys, map partitions between assets or compute summaries (see `kasset.planning.partitions`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from croniter import croniter
from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from kasset.api.base import KassetModel, ObjectName
from kasset.api.common import DNS_LABEL_PATTERN
from kasset.api.storage import path_escape_problem

#: Longest partition key (all dimensions with their separators).
PARTITION_KEY_MAX_LENGTH = 256
#: Longest key of one dimension.
DIMENSION_KEY_MAX_LENGTH = 128
#: Most dimensions a definition has (Dagster has two; nothing here depends on the number).
MAX_DIMENSIONS = 8
#: Most keys a static dimension, or a dynamic dimension's manifest, lists.
MAX_DIMENSION_KEYS = 10_000
#: Most ranges each list of a PartitionSummary keeps; the others are counted in `omittedRanges`.
MAX_SUMMARY_RANGES = 20
#: Joins the dimension keys of a multi-dimension partition key.
KEY_SEPARATOR = "|"
#: A static or dynamic key: not empty, without the key separator `|` and without `,` (lists of keys).
DIMENSION_KEY_PATTERN = r"^[^|,]+$"
#: A local date or date and time (no offset: the dimension's time zone applies).
LOCAL_TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?)?$"

Cadence = Literal["Hourly", "Daily", "Weekly", "Monthly", "Cron"]
#: Key format of each cadence when `format` is omitted; Hourly keys carry the offset so that the repeated hour
#: of a DST change gives two keys (`2021-11-07T01:00-04:00`, `2021-11-07T01:00-05:00`).
DEFAULT_FORMATS: dict[str, str] = {
    "Hourly": "%Y-%m-%dT%H:%M%:z",
    "Daily": "%Y-%m-%d",
    "Weekly": "%Y-%m-%d",
    "Monthly": "%Y-%m-%d",
    "Cron": "%Y-%m-%dT%H:%M",
}
#: How many leading fields of (year, month, day, hour, minute) a key must carry for windows to get distinct keys.
_KEY_RESOLUTION = {"Hourly": 4, "Daily": 3, "Weekly": 3, "Monthly": 2, "Cron": 5}
_FIXED_ZONES = ("UTC", "Etc/")
_FORMAT_SAMPLE = datetime(2021, 3, 22, 13, 45, tzinfo=timezone(timedelta(hours=-4)))  # a Monday

def _no_path_escape(key: str) -> str:
    if (problem := path_escape_problem(key)) is not None:
        raise ValueError(problem)
    return key


DimensionKey = Annotated[
    str, Field(min_length=1, max_length=DIMENSION_KEY_MAX_LENGTH, pattern=DIMENSION_KEY_PATTERN),
    AfterValidator(_no_path_escape),
]
LocalTime = Annotated[str, Field(max_length=19, pattern=LOCAL_TIME_PATTERN)]


def format_time_key(moment: datetime, fmt: str) -> str:
    """strftime, plus `%:z` for the UTC offset as `+HH:MM` (which Python 3.11's strftime lacks)."""
    if "%:z" in fmt:
        offset = moment.strftime("%z")
        fmt = fmt.replace("%:z", f"{offset[:3]}:{offset[3:5]}")
    return moment.strftime(fmt)


def parse_time_key(text: str, fmt: str) -> datetime:
    """strptime understanding `%:z`; aware when the format has an offset. Raises ValueError."""
    return datetime.strptime(text, fmt.replace("%:z", "%z"))


def check_time_format(cadence: str, fmt: str, *, time_zone: str = "UTC") -> str | None:
    """Why `fmt` cannot name the windows of `cadence` (keys would collide or not parse back), or None."""
    key = format_time_key(_FORMAT_SAMPLE, fmt)
    if not 0 < len(key) <= DIMENSION_KEY_MAX_LENGTH or "|" in key or "," in key:
        return f"format {fmt} gives keys like {key!r}: they must have 1 to 128 characters, without | or ,"
    try:
        parsed = parse_time_key(key, fmt)
    except ValueError:
        return f"format {fmt} gives keys like {key!r} that do not parse back"
    fields = _KEY_RESOLUTION[cadence]
    if parsed.timetuple()[:fields] != _FORMAT_SAMPLE.timetuple()[:fields]:
        return f"format {fmt} does not tell two {cadence} windows apart (it gives {key!r})"
    has_offset = "%z" in fmt or "%:z" in fmt
    if cadence == "Hourly" and not has_offset and not time_zone.startswith(_FIXED_ZONES):
        return f"an Hourly format needs %z or %:z (the UTC offset) so that the repeated hour of a DST change " \
               f"gets two keys; format {fmt} has neither"
    return None


class TimeWindowDimension(KassetModel):
    """Consecutive time windows of one cadence; a window is a partition once it has ended."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.cron) == (has(self.cadence) && self.cadence == 'Cron')",
                    "message": "cron is required when cadence is Cron, and only then",
                },
                {"rule": "!has(self.end) || self.end > self.start", "message": "end must come after start"},
            ]
        }
    )

    cadence: Cadence = Field(
        default="Daily",
        description="Length of the windows, in the local time of timeZone: Hourly (on the hour), Daily (from "
        "00:00), Weekly (ISO weeks, from Monday 00:00), Monthly (from the 1st at 00:00), or Cron (from one tick "
        "of `cron` to the next). Days are 23 or 25 hours long on DST changes.",
    )
    cron: str | None = Field(
        default=None,
        description="A 5-field cron expression (minute hour day-of-month month day-of-week) in the local time of "
        "timeZone, for cadence Cron: each window runs from one tick to the next. A tick in the hour skipped by a "
        "DST change does not happen; a tick in a repeated hour happens once, at its first occurrence.",
        max_length=128,
    )
    start: LocalTime = Field(
        description="Start of the first window, a local date (`2021-01-01`) or date and time "
        "(`2021-01-01T06:00`) in timeZone; windows start at or after it.",
    )
    end: LocalTime | None = Field(
        default=None,
        description="Exclusive end, in the same form as start: only windows that end at or before it are "
        "partitions. Without it, every window that has ended by now is a partition.",
    )
    time_zone: str = Field(
        default="UTC",
        description="IANA time zone of the windows, start, end and keys, e.g. Europe/Berlin.",
        min_length=1,
        max_length=64,
    )
    format: str | None = Field(
        default=None,
        description="strftime format of the keys (the window's local start); `%:z` is the UTC offset as +HH:MM. "
        "Defaults: `%Y-%m-%dT%H:%M%:z` for Hourly (e.g. 2021-11-07T01:00-04:00; the repeated hour of a DST "
        "change gets two keys), `%Y-%m-%d` for Daily, Weekly and Monthly, `%Y-%m-%dT%H:%M` for Cron.",
        min_length=1,
        max_length=64,
    )

    @property
    def key_format(self) -> str:
        """The format in force: `format`, else the cadence's default."""
        return self.format or DEFAULT_FORMATS[self.cadence]

    @field_validator("cron")
    @classmethod
    def check_cron(cls, value: str | None) -> str | None:
        if value is not None and (len(value.split()) != 5 or not croniter.is_valid(value)):
            raise ValueError(f"cron: {value!r} is not a 5-field cron expression")
        if value is not None:
            try:
                croniter(value, _FORMAT_SAMPLE.replace(tzinfo=None)).get_next(datetime)
            except ValueError:  # CroniterBadDateError: no date matches (February 30th)
                raise ValueError(f"cron: {value!r} never fires") from None
        return value

    @field_validator("start", "end")
    @classmethod
    def check_local_time(cls, value: str | None) -> str | None:
        if value is not None:
            datetime.fromisoformat(value)  # a ValueError names the impossible date
        return value

    @field_validator("time_zone")
    @classmethod
    def check_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError, OSError):
            raise ValueError(f"timeZone: {value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return value

    @model_validator(mode="after")
    def check_consistency(self) -> TimeWindowDimension:
        if (self.cron is not None) != (self.cadence == "Cron"):
            raise ValueError("cron is required when cadence is Cron, and only then")
        if self.end is not None and datetime.fromisoformat(self.end) <= datetime.fromisoformat(self.start):
            raise ValueError("end must come after start")
        problem = check_time_format(self.cadence, self.key_format, time_zone=self.time_zone)
        if problem is not None:
            raise ValueError(problem)
        return self


class StaticDimension(KassetModel):
    """A fixed list of keys, e.g. regions."""

    keys: list[DimensionKey] = Field(
        description="The keys, in the order partitions list them; unique, each without | or ,.",
        min_length=1,
        max_length=MAX_DIMENSION_KEYS,
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )

    @field_validator("keys")
    @classmethod
    def check_unique(cls, value: list[str]) -> list[str]:
        repeated = sorted({key for key in value if value.count(key) > 1}) if len(set(value)) < len(value) else []
        if repeated:
            raise ValueError(f"keys: {', '.join(repeated[:5])} listed more than once")
        return value


class DynamicDimension(KassetModel):
    """Keys that grow at run time: the ones listed here, plus the ones an Asset's steps report."""

    keys: list[DimensionKey] = Field(
        default_factory=list,
        description="Keys known in advance (they come first, in this order), each without | or ,.",
        max_length=MAX_DIMENSION_KEYS,
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    added_by: ObjectName | None = Field(
        default=None,
        description="An Asset whose steps add keys: those reported in the `partitionKeys` of their result "
        "become keys of this dimension (in the order they were first reported).",
    )


class PartitionDimension(KassetModel):
    """One dimension of a partition key: time windows, static keys or dynamic keys."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "[has(self.timeWindow), has(self.static), has(self.dynamic)].exists_one(x, x)",
                    "message": "a dimension has exactly one of timeWindow, static and dynamic",
                }
            ]
        }
    )

    name: str = Field(
        description="Name of the dimension (a DNS label), unique within the definition; names the dimension in "
        "messages and in partition mappings.",
        min_length=1,
        max_length=63,
        pattern=DNS_LABEL_PATTERN,
    )
    time_window: TimeWindowDimension | None = Field(default=None, description="Keys are time windows.")
    static: StaticDimension | None = Field(default=None, description="Keys are a fixed list.")
    dynamic: DynamicDimension | None = Field(default=None, description="Keys are added at run time.")

    @model_validator(mode="after")
    def check_one_kind(self) -> PartitionDimension:
        if sum(kind is not None for kind in (self.time_window, self.static, self.dynamic)) != 1:
            raise ValueError("a dimension has exactly one of timeWindow, static and dynamic")
        return self


class BackfillPolicy(KassetModel):
    """How many partitions one Run materializes when a range is run (Dagster's BackfillPolicy)."""

    type: Literal["MultiRun", "SingleRun"] = Field(
        default="MultiRun",
        description="MultiRun: one Run per range of at most maxPartitionsPerRun consecutive partitions; "
        "SingleRun: one Run for the whole range (the step receives the range).",
    )
    max_partitions_per_run: int = Field(
        default=1, description="For MultiRun, most partitions one Run covers.", ge=1, le=MAX_DIMENSION_KEYS
    )


class PartitionsDefinition(KassetModel):
    """The partitions of an asset: the dimensions of its keys, and how ranges of them run."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.dimensions.filter(d, has(d.timeWindow)).size() <= 1",
                    "message": "at most one dimension may be a timeWindow",
                    "fieldPath": ".dimensions",
                }
            ]
        }
    )

    dimensions: list[PartitionDimension] = Field(
        description="The dimensions, in key order: a key joins one key of each with `|`, e.g. 2021-04-01|eu. At "
        "most one dimension is a timeWindow.",
        min_length=1,
        max_length=MAX_DIMENSIONS,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    backfill_policy: BackfillPolicy | None = Field(
        default=None,
        description="How many partitions one Run covers; MultiRun with 1 (one Run per partition) when omitted.",
    )

    @model_validator(mode="after")
    def check_dimensions(self) -> PartitionsDefinition:
        names = [dim.name for dim in self.dimensions]
        if len(set(names)) < len(names):
            raise ValueError(f"dimensions: names must be unique, got {', '.join(names)}")
        if sum(dim.time_window is not None for dim in self.dimensions) > 1:
            raise ValueError("at most one dimension may be a timeWindow")
        longest = sum(longest_keys(self).values()) + len(self.dimensions) - 1
        if longest > PARTITION_KEY_MAX_LENGTH:
            raise ValueError(f"dimensions: partition keys could be {longest} characters long, more than "
                             f"{PARTITION_KEY_MAX_LENGTH}; use shorter keys")
        return self


def longest_keys(definition: PartitionsDefinition) -> dict[str, int]:
    """The longest key of each dimension (by name) as declared: a time key's length, the longest static key, the
    longest key a dynamic dimension lists (at least 1; the keys steps add must fit in what is left)."""
    found = {}
    for dim in definition.dimensions:
        if dim.time_window is not None:
            found[dim.name] = len(format_time_key(_FORMAT_SAMPLE, dim.time_window.key_format))
        else:
            keys = dim.static.keys if dim.static is not None else dim.dynamic.keys if dim.dynamic else []
            found[dim.name] = max((len(key) for key in keys), default=1)
    return found


MappingType = Literal["Identity", "TimeWindow", "AllPartitions", "Offset"]
OFFSET_ONLY = "offset applies to type Offset only"


class DimensionMapping(KassetModel):
    """How one dimension of a downstream partition maps to one dimension of the upstream's."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "!has(self.offset) || self.offset == 0 || self.type == 'Offset'", "message": OFFSET_ONLY}
            ]
        }
    )

    name: str = Field(description="The downstream dimension.", min_length=1, max_length=63)
    upstream_dimension: str | None = Field(
        default=None, description="The upstream dimension it maps to; the same name when omitted.", max_length=63
    )
    type: MappingType = Field(
        description="Identity: the same key (time dimensions: the same window); TimeWindow: the upstream "
        "windows overlapping the downstream window; AllPartitions: every key of the upstream dimension; Offset: "
        "as TimeWindow, shifted by `offset` upstream windows."
    )
    offset: int = Field(
        default=0, description="For Offset: upstream windows to shift by (-1: the previous one).", ge=-10000,
        le=10000,
    )

    @model_validator(mode="after")
    def check_offset(self) -> DimensionMapping:
        if self.offset != 0 and self.type != "Offset":
            raise ValueError(OFFSET_ONLY)
        return self


class PartitionMapping(KassetModel):
    """Which partitions of an upstream asset a partition of this asset reads."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "(has(self.type) && self.type == 'PerDimension') == "
                    "(has(self.dimensions) && size(self.dimensions) > 0)",
                    "message": "dimensions are required when type is PerDimension, and only then",
                },
                {
                    "rule": "!has(self.offset) || self.offset == 0 || (has(self.type) && self.type == 'Offset')",
                    "message": OFFSET_ONLY,
                },
            ]
        }
    )

    type: Literal["Identity", "TimeWindow", "AllPartitions", "Offset", "Unpartitioned", "PerDimension"] | None = Field(
        default=None,
        description="Identity: the partition with the same key (dimensions matched by name; time windows: the "
        "same window). TimeWindow: the upstream windows overlapping this partition's window, each side in its "
        "own time zone (a month reads its 28 to 31 days, a day reads its month); other dimensions by Identity. "
        "Offset: as TimeWindow, shifted by `offset` upstream windows (-1: the previous day of a daily upstream). "
        "AllPartitions: every partition of the upstream. Unpartitioned: the upstream has no partitions, its "
        "single materialization is read. PerDimension: each dimension as `dimensions` says, upstream dimensions "
        "not named there read all their keys. When omitted: Unpartitioned for an unpartitioned upstream, "
        "AllPartitions for an unpartitioned asset, TimeWindow between different time windows, else Identity.",
    )
    offset: int = Field(
        default=0, description="For Offset: upstream windows to shift by (-1: the previous one).", ge=-10000,
        le=10000,
    )
    dimensions: list[DimensionMapping] = Field(
        default_factory=list,
        description="For PerDimension: the mapping of each downstream dimension that reads an upstream one.",
        max_length=MAX_DIMENSIONS,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )

    @model_validator(mode="after")
    def check_fields(self) -> PartitionMapping:
        if (self.type == "PerDimension") != bool(self.dimensions):
            raise ValueError("dimensions are required when type is PerDimension, and only then")
        if self.offset != 0 and self.type != "Offset":
            raise ValueError(OFFSET_ONLY)
        return self


PartitionKey = Annotated[str, Field(min_length=1, max_length=PARTITION_KEY_MAX_LENGTH)]


class PartitionRange(KassetModel):
    """Consecutive partitions, from the first key to the last (inclusive), in the order of the keys."""

    start: PartitionKey = Field(description="First key of the range.")
    end: PartitionKey = Field(description="Last key of the range (inclusive).")
    count: int = Field(description="Partitions in the range.", ge=1)


class OmittedRanges(KassetModel):
    """How many ranges of each list a summary left out to stay bounded."""

    materialized: int = Field(default=0, description="Ranges left out of materializedRanges.", ge=0)
    failed: int = Field(default=0, description="Ranges left out of failedRanges.", ge=0)
    missing: int = Field(default=0, description="Ranges left out of missingRanges.", ge=0)
    stale: int = Field(default=0, description="Ranges left out of staleRanges.", ge=0)


def _ranges_field(what: str) -> object:
    return Field(
        default_factory=list,
        description=f"The {what} partitions as ranges of consecutive keys, first ones first (at most "
        f"{MAX_SUMMARY_RANGES}; omittedRanges counts the others).",
        max_length=MAX_SUMMARY_RANGES,
    )


class PartitionSummary(KassetModel):
    """The state of an asset's partitions, counted and as bounded lists of ranges."""

    total: int = Field(default=0, description="Partitions that exist now (windows that have ended).", ge=0)
    materialized: int = Field(
        default=0, description="Partitions whose latest attempt materialized them (stale ones included).", ge=0
    )
    failed: int = Field(default=0, description="Partitions whose latest attempt failed.", ge=0)
    missing: int = Field(default=0, description="Partitions never materialized and not failed.", ge=0)
    stale: int = Field(default=0, description="Materialized partitions that are stale.", ge=0)
    materialized_ranges: list[PartitionRange] = _ranges_field("materialized")
    failed_ranges: list[PartitionRange] = _ranges_field("failed")
    missing_ranges: list[PartitionRange] = _ranges_field("missing")
    stale_ranges: list[PartitionRange] = _ranges_field("stale")
    truncated: bool = Field(
        default=False, description="True when some list of ranges was cut to its bound (see omittedRanges)."
    )
    omitted_ranges: OmittedRanges | None = Field(
        default=None, description="When truncated: how many ranges each list left out."
    )
