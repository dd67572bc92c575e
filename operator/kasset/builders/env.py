"""Render the step contract (`kasset.planning.model.StepContract`) into container environment variables.

The variable names are those of `kasset.sdk`, the one place that defines them. JSON values are compact and
key-sorted, so that the same contract always gives the same manifest.

Does not: decide the values (see `kasset.planning.stepcontract`).
"""

from __future__ import annotations

import json
from typing import Any

from kasset import sdk
from kasset.planning.model import StepContract


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def build_contract_env(contract: StepContract) -> list[dict[str, str]]:
    """The KASSET_* variables of a step, optional ones only when they apply."""
    pairs: list[tuple[str, str | None]] = [
        (sdk.ENV_NAMESPACE, contract.namespace),
        (sdk.ENV_RUN, contract.run),
        (sdk.ENV_STEP, contract.step),
        (sdk.ENV_ASSET, contract.asset),
        (sdk.ENV_PARTITION, contract.partition),
        (sdk.ENV_CODE_VERSION, contract.code_version),
        (sdk.ENV_PARAMS, _json(contract.params)),
        (sdk.ENV_OUTPUT_URI, contract.output_uri),
        (sdk.ENV_INPUTS, _json(contract.inputs)),
    ]
    pairs += [(sdk.input_env_name(name), uri) for name, uri in sorted(contract.inputs.items())]
    if contract.partition_range is not None:
        pairs += [(sdk.ENV_PARTITION_RANGE_START, contract.partition_range[0]),
                  (sdk.ENV_PARTITION_RANGE_END, contract.partition_range[1])]
    if contract.window is not None:
        pairs += [(sdk.ENV_PARTITION_WINDOW_START, contract.window[0]),
                  (sdk.ENV_PARTITION_WINDOW_END, contract.window[1])]
    if contract.input_partitions:
        pairs.append((sdk.ENV_INPUT_PARTITIONS, _json(contract.input_partitions)))
    if contract.items is not None:
        pairs.append((sdk.ENV_ITEMS, _json(list(contract.items))))
    elif contract.items_uri is not None:
        pairs.append((sdk.ENV_ITEMS_URI, contract.items_uri))
    env, seen = [], set()
    for name, value in pairs:
        if value is not None and name not in seen:  # two inputs may map to one KASSET_INPUT_<NAME>_URI
            seen.add(name)
            env.append({"name": name, "value": value})
    return env
