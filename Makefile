# Kasset — `make help` lists every target.
include hack/versions.env

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# boto3 cannot share .venv: every botocore wants python-dateutil<3, our kubernetes client >=3. The SQS source
# and hack/awsctl.py (the tests' and the examples' queue and bucket client) run from this one, as in the images.
AWS_VENV ?= .venv-aws
KASSET_CACHE ?= $(HOME)/.cache/kasset
KASSET_CLUSTER_DIR ?= $(CURDIR)/.kasset/cluster
PYTEST_ARGS ?=
export KASSET_CACHE KASSET_CLUSTER_DIR

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Setup

$(VENV)/.installed: pyproject.toml tools/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip==25.3
	$(PY) -m pip install -q -e '.[test]' -e tools
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create the virtualenv: the kasset package, its pinned dependencies and tools/ (kasset-tools)

$(AWS_VENV)/.installed: sources/sqs/requirements.txt
	$(PYTHON) -m venv $(AWS_VENV)
	$(AWS_VENV)/bin/python -m pip install -q --upgrade pip==25.3
	$(AWS_VENV)/bin/python -m pip install -q --only-binary=:all: -r sources/sqs/requirements.txt
	touch $@

.PHONY: aws-venv
aws-venv: $(AWS_VENV)/.installed ## Create .venv-aws: boto3 as pinned for the images (the SQS source, hack/awsctl.py)

.PHONY: tools
tools: ## Build/install the cluster's binaries (Go builds cached by version in $KASSET_CACHE, Debian packages)
	bash hack/install-debs.sh
	bash hack/build-k8s.sh
	bash hack/install-jars.sh

##@ Local cluster (real Kubernetes from upstream sources)

.PHONY: cluster-up
cluster-up: venv tools ## Start the local cluster (etcd, apiserver, controller-manager, scheduler, kwok, real node)
	$(PY) -m kasset_tools.localcluster up

.PHONY: cluster-down
cluster-down: ## Stop the local cluster's processes (its folder stays)
	@if [ -x $(PY) ]; then $(PY) -m kasset_tools.localcluster down; fi

.PHONY: cluster-status
cluster-status: venv ## Show which cluster processes run and whether the API server is ready
	$(PY) -m kasset_tools.localcluster status

.PHONY: kubeconfig
kubeconfig: ## Print the local cluster's kubeconfig path: export KUBECONFIG=$(make -s kubeconfig)
	@echo $(KASSET_CLUSTER_DIR)/kubeconfig

.PHONY: kind-up
kind-up: ## With Docker: the same job with kind (not available on machines without a Docker engine)
	kind create cluster --name kasset
	kubectl label node kasset-control-plane kasset.dev/node-kind=real --overwrite

.PHONY: images
images: venv ## Build the images from Debian packages and import them into the local cluster's containerd
	$(PY) -m kasset_tools.images $(if $(wildcard $(KASSET_CLUSTER_DIR)/node/containerd/containerd.sock),--containerd-address $(KASSET_CLUSTER_DIR)/node/containerd/containerd.sock)

##@ Development

.PHONY: test
test: venv aws-venv tools ## Run every test tier (unit, integration, e2e) against a real API server
	$(PY) -m pytest $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: venv ## Run the unit tests only (no cluster)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

.PHONY: crds
crds: venv ## Generate crds/, the chart's copy and docs/crd-reference.md from the pydantic models
	$(PY) -m kasset.api.crd --out crds/ --docs docs/crd-reference.md
	rm -f charts/kasset/crds/*.yaml && cp crds/*.yaml charts/kasset/crds/

.PHONY: demo
demo: venv $(if $(KUBECONFIG),,tools) ## Run the main job on the local cluster (or the cluster in $KUBECONFIG)
	$(PY) -m kasset_tools.demo

.PHONY: run
run: venv ## Run the operator locally against the cluster in $KUBECONFIG (installs the CRDs first)
	$(PY) -m kasset.cli run

.PHONY: bench
bench: venv aws-venv tools ## Run the benchmarks and print their figures
	$(PY) -m pytest tests/bench -m bench -s -p no:cacheprovider $(PYTEST_ARGS); status=$$?; \
	echo "bench: figures in bench/results/latest.json, docs/benchmarks.md, docs/benchmarks-latency.png"; \
	exit $$status

.PHONY: clean
clean: cluster-down ## Stop the cluster and remove its folder (the binary cache stays)
	rm -rf .kasset
