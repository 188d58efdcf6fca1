"""What a translation must carry over from its English passage unchanged: inline code, math and link targets.

A translator rewrites the prose around them; if one of them is lost or altered, the Chinese page shows other code
than the English one, a broken formula or a link that leads elsewhere."""

from __future__ import annotations

import re
from collections import Counter

INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.S)
MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.S)
LINK_TARGET = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def kept_parts(passage: str) -> Counter:
    """The inline code spans, formulas and link targets of a Markdown passage, with their counts."""
    without_code = INLINE_CODE.sub(" ", passage)
    parts = [f"code {match.group(2)}" for match in INLINE_CODE.finditer(passage)]
    parts += [f"math {match.group(1) or match.group(2)}" for match in MATH.finditer(without_code)]
    parts += [f"link {target}" for target in LINK_TARGET.findall(without_code)]
    return Counter(parts)


def markup_problems(english: str, translation: str) -> list[str]:
    """What ``translation`` lost or added of ``english``'s code, formulas and link targets; empty when none."""
    source, target = kept_parts(english), kept_parts(translation)
    problems = [f"missing {part}" for part in sorted((source - target).elements())]
    problems += [f"not in the English: {part}" for part in sorted((target - source).elements())]
    return problems
