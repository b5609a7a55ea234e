"""The engine: plain data, options, matching, recording, redaction, sessions and their lifecycle.

Nothing here imports pytest, an HTTP stack, the CLI or the report; the doors (`plugin`,
`python_api`, `cli`) and the stack adapters (`stacks`) build on it.
"""
