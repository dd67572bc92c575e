"""Render the step contract (`kasset.planning.model.StepContext`) into container environment variables.

The variable names are those of `kasset.sdk`, the one place that defines them. JSON values are compact and
key-sorted, so that the same context always gives the same manifest.

Does not: decide the values (see `kasset.planning.context`).
"""

from __future__ import annotations

import json
from typing import Any

from kasset import sdk
from kasset.planning.model import StepContext


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def build_contract_env(context: StepContext) -> list[dict[str, str]]:
    """The KASSET_* variables of a step, optional ones only when they apply."""
    pairs: list[tuple[str, str | None]] = [
        (sdk.ENV_NAMESPACE, context.namespace),
        (sdk.ENV_RUN, context.run),
        (sdk.ENV_STEP, context.step),
        (sdk.ENV_ASSET, context.asset),
        (sdk.ENV_PARTITION, context.partition),
        (sdk.ENV_CODE_VERSION, context.code_version),
        (sdk.ENV_PARAMS, _json(context.params)),
        (sdk.ENV_OUTPUT_URI, context.output_uri),
        (sdk.ENV_INPUTS, _json(context.inputs)),
    ]
    pairs += [(sdk.input_env_name(name), uri) for name, uri in sorted(context.inputs.items())]
    if context.items is not None:
        pairs.append((sdk.ENV_ITEMS, _json(list(context.items))))
    elif context.items_uri is not None:
        pairs.append((sdk.ENV_ITEMS_URI, context.items_uri))
    env, seen = [], set()
    for name, value in pairs:
        if value is not None and name not in seen:  # two inputs may map to one KASSET_INPUT_<NAME>_URI
            seen.add(name)
            env.append({"name": name, "value": value})
    return env
