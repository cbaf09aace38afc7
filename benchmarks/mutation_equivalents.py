"""Equivalent mutants of benchmarks/mutation.py: changes that compute the same thing; no test can kill them.

EQUIVALENT[module][mutant] = (the mutated line(s) as mutmut wrote them, the reason). The line is checked on
every run: when the source changes and a name points at another mutation, the entry is reported stale.
"""

from __future__ import annotations

EQUIVALENT: dict[str, dict[str, tuple[str, str]]] = {}
