import unittest
from pathlib import Path

from openai import OpenAI

from llm_cassette import use_cassette

CASSETTES = Path(__file__).parent / "cassettes"


class SummaryTests(unittest.TestCase):
    # No record_mode: LLM_CASSETTE_RECORD_MODE decides (replay only when it is unset).
    @use_cassette(CASSETTES / "test_paris.yaml")
    def test_paris(self):
        reply = OpenAI().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Capital of France?"}]
        )
        self.assertIn("Paris", reply.choices[0].message.content)

    def test_echo(self):
        with use_cassette(CASSETTES / "test_echo.yaml") as cassette:
            reply = OpenAI().chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "ping"}]
            )
        self.assertEqual(reply.choices[0].message.content, "Echo: ping")
        self.assertEqual(len(cassette.requests), 1)
