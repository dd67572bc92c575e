"""Pure builders of the manifests the operator creates: the batch/v1 Job of a step, its labels and the
step-contract environment. They import neither kopf nor the Kubernetes client and return plain dicts.
"""

from kasset.builders.env import build_contract_env
from kasset.builders.labels import build_step_labels, select_run_jobs
from kasset.builders.stepjob import BuildSettings, build_step_job

__all__ = ["BuildSettings", "build_contract_env", "build_step_job", "build_step_labels", "select_run_jobs"]
