"""The plugin's command-line flags and ini options, and what a run makes of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ..core.network import NetworkPolicy
from ..core.options import (
    DEFAULT_MATCH_ON,
    MATCH_ON_PRESETS,
    RECORD_MODE_ENV,
    CassetteOptions,
    RecordMode,
    mode_from_env,
)
from ..errors import CassetteError


def add_options(parser: pytest.Parser) -> None:
    """The command-line flags and ini options (all prefixed: see PRODUCT.md on clashes)."""
    group = parser.getgroup("llm-cassette", "record and replay LLM API traffic")
    group.addoption(
        "--record",
        action="store_true",
        dest="llm_record",
        default=False,
        help="record what the cassettes do not hold (same as --llm-record-mode=new_episodes).",
    )
    group.addoption(
        "--llm-record-mode",
        dest="llm_record_mode",
        default=None,
        choices=[m.value for m in RecordMode],
        help=f"record mode for llm_cassette tests (default: ${RECORD_MODE_ENV} or 'none').",
    )
    group.addoption(
        "--llm-block-network",
        dest="llm_block_network",
        action="store_true",
        default=None,
        help="refuse real network requests from tests without a cassette.",
    )
    group.addoption(
        "--llm-allow-localhost",
        dest="llm_allow_localhost",
        action="store_true",
        default=None,
        help="let --llm-block-network through to localhost / 127.0.0.1 / ::1.",
    )
    group.addoption(
        "--llm-allowed-hosts",
        dest="llm_allowed_hosts",
        default=None,
        help="comma-separated hosts that --llm-block-network lets through.",
    )
    group.addoption(
        "--llm-cassette-strict",
        dest="llm_cassette_strict",
        action="store_true",
        default=None,
        help="fail a test whose cassette holds interactions it did not use, and list cassette files "
        "no collected test uses.",
    )
    group.addoption(
        "--llm-cassette-report",
        dest="llm_cassette_report",
        default=None,
        metavar="PATH",
        help="write an HTML report of the cassettes this run used to PATH.",
    )
    group.addoption(
        "--llm-cassette-list-used",
        dest="llm_cassette_list_used",
        default=None,
        metavar="PATH",
        help="write the cassette paths the collected tests use to PATH (used by `llm-cassette prune`).",
    )
    group.addoption(
        "--llm-parse-cache-dir",
        dest="llm_parse_cache_dir",
        default=None,
        metavar="PATH",
        help="keep parsed large cassettes in PATH, so the next run reads them back instead of parsing "
        "the YAML again (default: in pytest's cache dir, .pytest_cache).",
    )
    group.addoption(
        "--llm-no-parse-cache",
        dest="llm_no_parse_cache",
        action="store_true",
        default=False,
        help="parse every cassette from its YAML; read and write no parse cache.",
    )
    group.addoption(
        "--llm-verify",
        dest="llm_verify",
        action="store_true",
        default=False,
        help="run llm_cassette tests against the live API, recording into a scratch folder, and report how "
        "each differs from its committed cassette (same/reworded/changed); with --record, refresh what changed.",
    )
    group.addoption(
        "--llm-verify-dir",
        dest="llm_verify_dir",
        default=None,
        metavar="DIR",
        help="where --llm-verify records (default: .pytest_cache/llm-cassette-verify, emptied first).",
    )
    parser.addini("llm_parse_cache", "keep parsed large cassettes in pytest's cache dir", type="bool", default=True)
    parser.addini("llm_cassette_strict", "same as --llm-cassette-strict", type="bool", default=False)
    parser.addini("llm_cassette_dir", "folder for cassettes, relative to rootdir", default="cassettes")
    parser.addini("llm_block_network", "refuse real network requests outside cassettes", type="bool", default=False)
    parser.addini("llm_cassette_allowed_hosts", "hosts allowed despite llm_block_network", type="linelist")
    parser.addini("llm_allow_localhost", "let llm_block_network through to localhost", type="bool", default=False)
    parser.addini(
        "llm_cassette_max_age",
        "warn when a replayed cassette was recorded longer ago than this (90d, 12w, 36h)",
        default="",
    )
    # Project-wide cassette options: under the `llm_cassette_config` fixture and the markers.
    parser.addini("llm_cassette_record_mode", "record mode where no marker, flag or environment sets one")
    parser.addini("llm_cassette_match_on", "match rules for every cassette: names, or `vcrpy`", type="args")
    for name, what in PROJECT_LIST_OPTIONS.items():
        parser.addini(f"llm_cassette_{name}", what, type="linelist")
    parser.addini("llm_cassette_allow_playback_repeats", "replay the last match again for every cassette", type="bool")


#: The list options a project can set once in its ini file (`llm_cassette_<name>`).
PROJECT_LIST_OPTIONS = {
    "ignore_hosts": "hosts whose requests go to the network unrecorded, for every cassette",
    "ignore_body_fields": "JSON body fields left out of matching, for every cassette",
    "redact_headers": "headers redacted on record (besides the built-in ones), for every cassette",
    "redact_query_keys": "query keys redacted on record (besides the built-in ones), for every cassette",
    "redact_json_fields": "JSON body fields redacted on record, for every cassette",
}


def project_options(config: pytest.Config) -> dict[str, Any]:
    """The cassette options the ini file sets (only those it sets), as keyword options."""
    out: dict[str, Any] = {}
    mode = str(config.getini("llm_cassette_record_mode") or "").strip()
    if mode:
        out["record_mode"] = mode
    match_on = list(config.getini("llm_cassette_match_on") or [])
    if match_on:
        out["match_on"] = match_on[0] if len(match_on) == 1 and match_on[0] in MATCH_ON_PRESETS else match_on
    for name in PROJECT_LIST_OPTIONS:
        values = list(config.getini(f"llm_cassette_{name}") or [])
        if values:
            out[name] = values
    if config.getini("llm_cassette_allow_playback_repeats"):
        out["allow_playback_repeats"] = True
    return out


def parse_cache_dir(config: pytest.Config) -> Path | None:
    """Where this run keeps parsed cassettes: the flag's folder, else pytest's cache dir; None when off."""
    if config.getoption("llm_no_parse_cache") or not config.getini("llm_parse_cache"):
        return None
    flag = config.getoption("llm_parse_cache_dir")
    if flag:
        return Path(flag)
    cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
    return cache.mkdir("llm-cassette-parse") if cache is not None else None


@dataclass(frozen=True)
class RunSettings:
    """What this run's flags, ini options and environment say."""

    #: The mode forced on every cassette (command line, else environment), or None.
    record_mode: RecordMode | None
    strict: bool
    network: NetworkPolicy
    #: Warn about replayed cassettes recorded longer ago than this (`llm_cassette_max_age`).
    max_age: timedelta | None = None
    #: Cassette options from the ini file, validated: the bottom layer of every test's options.
    defaults: CassetteOptions = field(default_factory=CassetteOptions)
    #: Whether the run ends with the summary line (not under `-q`), and so needs the token counts.
    summary: bool = True


def _max_age(raw: str) -> timedelta:
    from ..core.age import parse_max_age

    return parse_max_age(raw, "llm_cassette_max_age")


def read_settings(config: pytest.Config) -> RunSettings:
    """This run's settings; a bad record mode is a usage error."""
    flag = config.getoption("llm_record_mode")
    if flag is None and config.getoption("llm_record"):
        flag = RecordMode.NEW_EPISODES.value
    try:
        mode = RecordMode.parse(flag, "--llm-record-mode") if flag else mode_from_env()
    except CassetteError as exc:
        raise pytest.UsageError(str(exc)) from None
    block = config.getoption("llm_block_network")
    if block is None:
        block = bool(config.getini("llm_block_network"))
    hosts = list(config.getini("llm_cassette_allowed_hosts") or [])
    cli_hosts = config.getoption("llm_allowed_hosts")
    if cli_hosts:
        hosts += [h.strip() for h in cli_hosts.split(",") if h.strip()]
    allow_localhost = config.getoption("llm_allow_localhost")
    strict = config.getoption("llm_cassette_strict")
    raw_age = str(config.getini("llm_cassette_max_age") or "").strip()
    try:
        max_age = _max_age(raw_age) if raw_age else None
        defaults = CassetteOptions.from_mapping(project_options(config), "ini options llm_cassette_*")
        if defaults.match_on != DEFAULT_MATCH_ON or defaults.ignore_body_fields:
            from ..core.matchers import MatchRules  # the built-in default needs no check at start

            MatchRules.build(defaults.match_on, defaults.ignore_body_fields)  # a bad matcher name fails now
    except CassetteError as exc:
        raise pytest.UsageError(str(exc)) from None
    return RunSettings(
        defaults=defaults,
        record_mode=mode,
        strict=bool(config.getini("llm_cassette_strict")) if strict is None else True,
        network=NetworkPolicy(
            block=bool(block),
            allow_localhost=bool(config.getini("llm_allow_localhost")) if allow_localhost is None else True,
            allowed_hosts=frozenset(h.lower() for h in hosts),
        ),
        max_age=max_age,
        summary=config.get_verbosity() >= 0,
    )
