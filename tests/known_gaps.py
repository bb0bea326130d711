"""Library models whose headers state a verdict today's engine gets wrong (shared by the tests that run
the library)."""
from __future__ import annotations

#: Model variants whose header states the published verdict, which today's security search gets wrong or cannot
#: reach in reasonable time (issue 9: the symbolic attacker). Strict: when the new search gets them right, these
#: tests fail as XPASS and the entry goes. Such runs stop after XFAIL_STATES states (a bound that does not depend
#: on the machine's speed; XFAIL_SECONDS only as a backstop), so an unfinished one is `unknown`.
EXPECTED_FAILURES: dict[tuple[str, str], str] = {}
