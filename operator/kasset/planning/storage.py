"""Check and render storage URI templates such as `file:///data/{namespace}/{asset}/{partition}`.

The grammar (placeholders only: no format specs, conversions, attribute or index access, at most 16 of them)
is `kasset.api.storage`'s. Rendering substitutes placeholders itself, never through `str.format`, so that a
template cannot make the operator build a huge string: a rendered URI is at most the template plus 16 values.

Does not: touch storage. The operator never moves data: it only tells steps where to read and write.
"""

from __future__ import annotations

from urllib.parse import quote

from kasset.api.storage import STORAGE_PLACEHOLDERS
from kasset.api.storage import find_template_errors as find_grammar_errors
from kasset.api.storage import iterate_placeholders, path_escape_problem

PLACEHOLDERS = frozenset(STORAGE_PLACEHOLDERS)
#: Characters of a value left as they are in a rendered URI: `/` (a key may name sub-folders, never `..`) and
#: those common in keys (`2021-04-01T06:00|eu`), braces (a `{partition}` the step fills in); anything else is percent-encoded (`?`, `#`, `%`, spaces).
PATH_SAFE = "/-._~:|,=+@{}"
#: What {partition} becomes when the Run has no partition.
UNPARTITIONED = "unpartitioned"


def find_template_errors(template: str) -> list[str]:
    """Why `template` cannot be rendered, one line per problem (empty when it is fine): unbalanced braces,
    format specs, conversions, attribute or index access, unknown placeholders, too many placeholders."""
    return find_grammar_errors(template, placeholders=PLACEHOLDERS)


def find_unknown_placeholders(template: str) -> list[str]:
    """Problems of `template` for a message "unknown placeholder …" (empty when the template is fine).

    Unknown names come back bare and sorted (`bucket`) when they are the only problem; otherwise each syntax
    problem comes back described. Kept for callers written before `find_template_errors`, which words every
    problem fully.
    """
    syntax = find_grammar_errors(template)
    if syntax:
        return syntax
    return sorted({match.group(1) for match in iterate_placeholders(template)} - PLACEHOLDERS)


def render_storage_uri(
    template: str, *, namespace: str, asset: str | None, step: str, run: str, partition: str | None
) -> str:
    """Fill the placeholders of `template`. {asset} falls back to the step name for explicit steps.

    Raises ValueError (naming the problems) for a template `find_template_errors` rejects (planners check
    templates before rendering them), or a value with a `.`/`..` segment (keys are checked where they enter).
    """
    errors = find_template_errors(template)
    if errors:
        raise ValueError(f"invalid storage template {template[:100]!r}: {'; '.join(errors)}")
    values = {
        "namespace": namespace,
        "asset": asset or step,
        "step": step,
        "run": run,
        "partition": partition or UNPARTITIONED,
    }
    for name, value in values.items():
        if (problem := path_escape_problem(value)) is not None:
            raise ValueError(f"{{{name}}} {problem}")
    pieces: list[str] = []
    position = 0
    for match in iterate_placeholders(template):
        pieces.append(_unescape(template[position : match.start()]))
        pieces.append(quote(values[match.group(1)], safe=PATH_SAFE))
        position = match.end()
    pieces.append(_unescape(template[position:]))
    return "".join(pieces)


def _unescape(literal: str) -> str:
    return literal.replace("{{", "{").replace("}}", "}")
