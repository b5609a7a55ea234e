"""Which recording answers a request: identical requests in recorded order, at any cassette size."""

from __future__ import annotations

from pathlib import Path

from llm_cassette import CassetteData, CassetteOptions, Interaction, Request, Response, save
from llm_cassette.core.interactions import InteractionList, index_for
from llm_cassette.core.matchers import MatchRules
from llm_cassette.core.options import RecordMode
from llm_cassette.core.session import Session

URL = "http://127.0.0.1:9/v1/chat/completions"


def _cassette(*tags: str) -> CassetteData:
    """Identical requests (same method, URL and body), told apart only by a header."""
    return CassetteData(
        interactions=[
            Interaction(
                request=Request("POST", URL, (("x-tag", tag),), b'{"a":1}'),
                response=Response(status=200, body=tag.encode()),
            )
            for tag in tags
        ]
    )


def _sent(tag: str) -> Request:
    return Request("POST", URL, (("x-tag", tag),), b'{"a": 1}')


def test_identical_requests_replay_in_recorded_order_then_miss() -> None:
    played = InteractionList(_cassette("a", "b", "c"), MatchRules.build())
    assert [played.take(_sent("x")) for _ in range(4)] == [0, 1, 2, None]
    assert played.unused == []


def test_repeats_replay_the_last_one_again() -> None:
    played = InteractionList(_cassette("a", "b"), MatchRules.build(), allow_repeats=True)
    assert [played.take(_sent("x")) for _ in range(4)] == [0, 1, 1, 1]


def test_a_recording_a_custom_matcher_skipped_still_answers_a_later_request() -> None:
    def same_tag(sent: Request, recorded: Request) -> bool:
        return sent.headers == recorded.headers

    played = InteractionList(_cassette("a", "b", "a", "b"), MatchRules.build(["method", "url", "body", same_tag]))
    assert played.take(_sent("b")) == 1
    assert played.take(_sent("b")) == 3
    assert played.take(_sent("a")) == 0
    assert played.take(_sent("b")) is None
    assert played.take(_sent("a")) == 2
    assert played.take(_sent("a")) is None


def test_thousands_of_identical_requests_each_answered_once_in_order() -> None:
    played = InteractionList(_cassette(*(str(i) for i in range(3000))), MatchRules.build())
    assert [played.take(_sent("x")) for _ in range(3000)] == list(range(3000))
    assert played.take(_sent("x")) is None


EXACT = Request("POST", URL, (), b'{"a":1}')  # byte for byte as `_cassette` records it


def test_a_cassette_of_one_request_is_indexed_without_computing_its_match_key() -> None:
    """The common cassette (a test that makes one call, or one call N times) needs no parsed and
    canonicalised body at load; two different requests do."""
    rules = MatchRules.build()
    one = index_for(_cassette("a", "b", "c"), rules)
    assert one.complete is False
    assert one.retried == {0, 1}  # each copy but the last was sent again: retried, as the full index says
    other = Interaction(Request("POST", URL, (), b"{}"), Response(200))
    two = CassetteData(interactions=[*_cassette("a").interactions, other])
    assert index_for(two, rules).complete is True
    assert index_for(_cassette("a", "b", "c"), MatchRules.build(["method", "url", "headers"])).complete is True


def test_a_request_sent_exactly_then_spaced_differently_keeps_the_recorded_order() -> None:
    played = InteractionList(_cassette("a", "b", "c"), MatchRules.build())
    assert [played.take(EXACT), played.take(EXACT)] == [0, 1]
    assert played.take(_sent("x")) == 2  # the same JSON, spaced: the complete index, #0 and #1 still played
    assert played.take(EXACT) is None
    assert played.take(_sent("x")) is None
    assert played.same_requests(EXACT) == [0, 1, 2]


def test_repeats_carry_over_to_the_complete_index() -> None:
    played = InteractionList(_cassette("a", "b"), MatchRules.build(), allow_repeats=True)
    assert [played.take(EXACT) for _ in range(3)] == [0, 1, 1]
    assert played.take(_sent("x")) == 1
    assert played.take(EXACT) == 1


def test_a_cassette_of_one_json_rpc_call_rewrites_its_ids() -> None:
    rpc = b'{"jsonrpc":"2.0","id":7,"method":"tools/list"}'
    data = CassetteData(interactions=[Interaction(Request("POST", URL, (), rpc), Response(200, (), b"{}"))] * 2)
    index = index_for(data, MatchRules.build())
    assert (index.complete, index.with_ids, index.retried) == (False, {0, 1}, {0})


def test_only_json_rpc_recordings_with_ids_have_their_answers_rewritten(tmp_path: Path) -> None:
    """Decided at load: a body with an `id` field that is not JSON-RPC replays its response as
    recorded (the same object), while a JSON-RPC call answers with the id actually sent."""
    rpc = b'{"jsonrpc":"2.0","id":7,"method":"tools/list"}'
    plain = b'{"id":7,"model":"m"}'
    data = CassetteData(
        interactions=[
            Interaction(Request("POST", URL, (), plain), Response(200, (), b'{"id":7}')),
            Interaction(Request("POST", URL, (), rpc), Response(200, (), b'{"jsonrpc":"2.0","id":7,"result":{}}')),
            Interaction(Request("POST", URL, (), b'{"jsonrpc":"2.0","method":"ping"}'), Response(202, ())),
        ]
    )
    assert index_for(data, MatchRules.build()).with_ids == {1}
    save(tmp_path / "c.yaml", data)
    session = Session(tmp_path / "c.yaml", CassetteOptions(record_mode=RecordMode.NONE))
    session.open()
    first = session.plan(Request("POST", URL, (), plain))
    assert first.interaction is session.recorded.items[0]
    second = session.plan(Request("POST", URL, (), rpc.replace(b"7", b"8")))
    assert second.interaction is not None and second.interaction.response is not None
    assert second.interaction.response.body == b'{"jsonrpc":"2.0","id":8,"result":{}}'
