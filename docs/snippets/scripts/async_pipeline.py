"""The decorator form, on a coroutine: the cassette is active while `main()` runs."""

import asyncio

from openai import AsyncOpenAI

from llm_cassette import use_cassette


@use_cassette("cassettes/pipeline.yaml", record_mode="once")
async def main() -> list[str]:
    async with AsyncOpenAI() as client:
        questions = ["Capital of France?", "Say hello"]
        replies = await asyncio.gather(
            *(
                client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": q}])
                for q in questions
            )
        )
    return [r.choices[0].message.content for r in replies]


if __name__ == "__main__":
    for answer in asyncio.run(main()):
        print(answer)
