# Thin entry points; the logic lives in kernel-setup/ and test/.
.PHONY: lab test test-fast setup doctor dsgym html bench sync check-sync uninstall requirements help \
	engines kafka kafka-cluster spark postgres debezium engines-status engines-stop engines-clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

lab: ## set up what is missing, then open JupyterLab on notebooks/00-start-here.ipynb
	@kernel-setup/lab.sh

test: ## set up what is missing (with test extras and the real engines), then run every test
	@test/run.sh

test-fast: ## every test except those on real engines (Kafka, Spark, PostgreSQL): for quick local loops
	@DSGYM_SKIP_ENGINES=1 test/run.sh

setup: ## install the learner's environment into .dsgym/ (idempotent)
	@kernel-setup/setup.sh

doctor: ## check prerequisites and the installed kernel; say how to fix problems
	@kernel-setup/doctor.sh

dsgym: ## build the dsgym command into .dsgym/bin
	@mkdir -p .dsgym/bin && go build -o .dsgym/bin/dsgym ./cmd/dsgym && echo "built .dsgym/bin/dsgym (add .dsgym/bin to PATH, or run it by path)"

html: ## execute the notebooks and export them as static HTML into .dsgym/build/html
	@test/export-html.sh

bench: ## run the benchmarks and print each figure beside its budget
	@DSGYM_BENCHTIME=$${DSGYM_BENCHTIME:-5x} test/bench.sh

sync: ## regenerate exercises/ and notebook exercise cells from solutions/
	@go run ./cmd/dsgym sync

check-sync: ## fail if anything generated is out of date
	@go run ./cmd/dsgym sync --check

uninstall: ## remove everything setup installed (.dsgym/); your progress file goes too
	rm -rf .dsgym

requirements: ## re-pin kernel-setup/requirements.txt from requirements.in
	@kernel-setup/pin-requirements.sh

# Real engines (see the README's "Real engines"). Each start prints the export
# line that switches notebooks to it: eval "$$(make -s kafka)" sets it.
engines: ## install the real engines (Kafka, Spark, Debezium) without starting them
	@kernel-setup/engines/install.sh all

kafka: ## start one Kafka 4.4 broker on 127.0.0.1:9092 (KRaft, data in .dsgym/run/kafka)
	@kernel-setup/engines/start.sh kafka

kafka-cluster: ## start three Kafka brokers on 127.0.0.1:9092-9094 (replication 3, min.insync.replicas 2)
	@kernel-setup/engines/start.sh kafka-cluster

spark: ## start Spark Connect on sc://127.0.0.1:15002 (local[2], 1g driver; UI and REST on 127.0.0.1:4040)
	@kernel-setup/engines/start.sh spark

postgres: ## start your own PostgreSQL on 127.0.0.1:15432 with logical replication (chapters 03, 09)
	@kernel-setup/engines/start.sh postgres

debezium: ## install Debezium embedded (opt-in, for chapter 09's comparison)
	@kernel-setup/engines/install.sh debezium

engines-status: ## which engines run, where, and their memory beside the 4 GiB budget
	@go run ./cmd/dsgym engines status

engines-stop: ## stop every engine (data kept)
	@go run ./cmd/dsgym engines stop

engines-clean: ## stop every engine and delete its data
	@go run ./cmd/dsgym engines clean
