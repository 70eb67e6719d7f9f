# Thin entry points; the logic lives in kernel-setup/ and test/.
.PHONY: lab test setup doctor dsgym html bench sync check-sync uninstall requirements help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

lab: ## set up what is missing, then open JupyterLab on notebooks/00-start-here.ipynb
	@kernel-setup/lab.sh

test: ## set up what is missing (with test extras), then run every test
	@test/run.sh

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
