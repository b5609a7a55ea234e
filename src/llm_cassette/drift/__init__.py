"""Is a cassette still true? Two recordings of the same calls compared as LLM calls.

`compare` classes one pair of interactions (`same`, `reworded`, `changed`) with the differing
fields by path; `cassettes` pairs the interactions of two cassettes, or the files of two folders,
and renders the summary `llm-cassette diff`, the git diff driver and `pytest --llm-verify` print.
"""

from .cassettes import CassetteDiff, InteractionDiff, diff_data, diff_files, diff_interactions, diff_paths, render
from .compare import VERDICTS, Difference, Verdict, compare_interactions, worst

__all__ = [
    "VERDICTS",
    "CassetteDiff",
    "Difference",
    "InteractionDiff",
    "Verdict",
    "compare_interactions",
    "diff_data",
    "diff_files",
    "diff_interactions",
    "diff_paths",
    "render",
    "worst",
]
