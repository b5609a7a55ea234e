"""Imported first by the plugin: the rest of `llm_cassette` is imported without pytest's assertion
rewriting.

pytest rewrites the `assert` statements of every module of a distribution that registers a
`pytest11` plugin, so that a plugin's own asserts explain themselves. It does so through its import
hook, in Python, for each module: find the source, read it and hash it against the cached rewrite,
read that. Measured here, that costs about 2.6 M instructions per module, and a run that replays
one cassette imports some 50 of ours: a tenth of a second on a slow machine, in every pytest run.
Our asserts are internal invariants that a user never reads, so our package is taken off the
hook's list here, before the plugin imports anything else. The user's test files, conftests and
other plugins are rewritten as before.

This relies on two private attributes of pytest's `AssertionRewritingHook`: if a pytest version
has them no more, nothing is changed (our modules are then rewritten, as any plugin's are).
"""

from __future__ import annotations

import sys

PACKAGE = __name__.split(".")[0]


def exempt_package() -> None:
    """Take `PACKAGE` off the list of every assertion-rewriting hook on `sys.meta_path`."""
    for finder in sys.meta_path:
        if type(finder).__name__ != "AssertionRewritingHook":
            continue
        marked = getattr(finder, "_must_rewrite", None)
        cache = getattr(finder, "_marked_for_rewrite_cache", None)
        if isinstance(marked, set) and isinstance(cache, dict):
            marked.discard(PACKAGE)
            cache.clear()  # it remembers the names it already said yes to


exempt_package()
