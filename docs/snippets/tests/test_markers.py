import pytest
from openai import OpenAI

# --8<-- [start:pytestmark]
# Every test in this module gets a cassette, with these options.
pytestmark = pytest.mark.llm_cassette(ignore_body_fields=["temperature"], redact_headers=["x-tenant-token"])
# --8<-- [end:pytestmark]


def ask(question: str, temperature: float = 0.2) -> str:
    client = OpenAI()
    reply = client.chat.completions.create(
        model="gpt-4o-mini",
        temperature=temperature,
        messages=[{"role": "user", "content": question}],
    )
    return reply.choices[0].message.content


def test_default_name():
    # cassettes/tests/test_markers/test_default_name.yaml
    assert ask("Capital of France?") == "The capital of France is Paris."


@pytest.mark.llm_cassette("paris")
def test_named_cassette(llm_cassette):
    # cassettes/tests/test_markers/paris.yaml; the module's options still apply
    assert llm_cassette.path.name == "paris.yaml"
    assert "Paris" in ask("Capital of France?")


@pytest.mark.parametrize("city", ["Lisbon", "Oslo"])
def test_parametrized(city, llm_cassette):
    # one file per parameter: test_parametrized[Lisbon].yaml, test_parametrized[Oslo].yaml
    assert llm_cassette.path.name == f"test_parametrized[{city}].yaml"
    assert ask(f"Say {city}") == f"Echo: Say {city}"


class TestTranslation:
    # cassettes/tests/test_markers/TestTranslation.test_french.yaml
    def test_french(self):
        assert ask("Bonjour") == "Echo: Bonjour"
