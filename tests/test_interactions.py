"""Which recording answers a request: identical requests in recorded order, at any cassette size."""

from __future__ import annotations

from llm_cassette import CassetteData, Interaction, Request, Response
from llm_cassette.core.interactions import InteractionList
from llm_cassette.core.matchers import MatchRules

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
