# Operator and developer shortcuts. `make help` lists them.
# Local stack: Docker Compose when a Docker engine answers, else the binary in ./build
# (force with MODE=compose or MODE=local). Variables come from .env when it exists
# (cp .env.template .env).
SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV_FILE ?= .env
export ENV_FILE
# Exports .env's variables into each recipe (without make's own $-expansion of the file).
LOADENV = set -a; if [ -f "$(ENV_FILE)" ]; then . "./$(ENV_FILE)"; fi; set +a;

# make load RATE=50 CONNECTIONS=16 DURATION=30s [STREAM=1]
RATE ?= 0
CONNECTIONS ?= 16
DURATION ?= 30s
STREAM ?= 0
# make traffic REQUESTS=200 CONCURRENCY=8
REQUESTS ?= 100
CONCURRENCY ?= 4
OVERLAY ?= production
IMAGE ?= llmgate:local

.PHONY: help build run test format tidy bench start stop restart status health logs traffic smoke load \
        image secret render deploy-openshift deploy-kubernetes test-deploy

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-18s %s\n", $$1, $$2 }'

build: ## build ./build/llmgate (Release)
	scripts/build.sh Release

run: ## install deps, build, run the demo gateway in the foreground (scripts/run.sh)
	scripts/run.sh

test: ## the whole test suite (scripts/test.sh)
	scripts/test.sh

format: ## format the C++ sources in place (scripts/format.sh; CHECK=1: only list what differs)
	scripts/format.sh $(if $(CHECK),--check)

tidy: ## clang-tidy over src/ with the last build's compile database (scripts/tidy.sh)
	scripts/tidy.sh

bench: ## benchmarks (bench/run.sh)
	bench/run.sh

start: ## start the gateway (compose stack, or local binary)
	@$(LOADENV) scripts/gatewayctl.sh start

stop: ## stop it (graceful: drain, then finish in-flight requests)
	@$(LOADENV) scripts/gatewayctl.sh stop

restart: ## stop + start
	@$(LOADENV) scripts/gatewayctl.sh restart

status: ## is it running?
	@$(LOADENV) scripts/gatewayctl.sh status

health: ## liveness, readiness and per-deployment health
	@$(LOADENV) scripts/gatewayctl.sh health

logs: ## follow the gateway's log (FOLLOW=0 to print and exit)
	@$(LOADENV) scripts/gatewayctl.sh logs

traffic: ## send a mix of chat requests with a progress bar and a summary
	@$(LOADENV) node scripts/traffic.mjs --requests $(REQUESTS) --concurrency $(CONCURRENCY)

smoke: ## one chat, one stream, models, health: non-zero exit on any failure
	@$(LOADENV) scripts/smoke.sh

load: ## wrk load test (RATE, CONNECTIONS, DURATION, STREAM)
	@$(LOADENV) scripts/load_test.sh -r $(RATE) -c $(CONNECTIONS) -d $(DURATION) $(if $(filter 1,$(STREAM)),--stream,)

image: ## docker build -t $(IMAGE) .
	docker build -t $(IMAGE) .

secret: ## create/update the Kubernetes/OpenShift Secret from .env
	scripts/create-secret.sh $(ENV_FILE)

render: ## print every kustomize rendering (base, overlays, openshift)
	@for d in deploy/kubernetes/base deploy/kubernetes/overlays/dev deploy/kubernetes/overlays/production deploy/openshift; do \
	  echo "# ---- $$d"; kubectl kustomize $$d || exit 1; done

deploy-openshift: ## oc apply -k deploy/openshift (see docs/deploy-openshift.md)
	oc apply -k deploy/openshift

deploy-kubernetes: ## kubectl apply -k deploy/kubernetes/overlays/$(OVERLAY)
	kubectl apply -k deploy/kubernetes/overlays/$(OVERLAY)

test-deploy: ## manifest/compose/dashboard/image tests (tests/deploy)
	cd tests/deploy && npm ci --no-audit --no-fund --loglevel=error && node --test --test-reporter=spec
