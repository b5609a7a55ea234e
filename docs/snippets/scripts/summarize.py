"""A plain script: the first run records cassettes/summarize.yaml, every later run replays it."""

from openai import OpenAI

from llm_cassette import use_cassette


def summarize(text: str) -> str:
    client = OpenAI()
    reply = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"Summarize: {text}"}],
    )
    return reply.choices[0].message.content


if __name__ == "__main__":
    with use_cassette("cassettes/summarize.yaml", record_mode="once") as cassette:
        print(summarize("The quick brown fox jumps over the lazy dog."))
    print(f"{cassette.play_count} replayed, {cassette.recorded_count} recorded")
