"""`python -m llm_cassette.cli`: the same as the `llm-cassette` command."""

import sys

from . import main

sys.exit(main())
