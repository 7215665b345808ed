# The two commands of the README. Both work on a fresh machine: the stack scripts install what is
# missing (apt, pip, Maven) and start Kafka and ClickHouse on loopback.

.PHONY: demo test stack-up stack-down lint screenshots

# pipetop on screen against a live local pipeline (stack up, load generator running).
demo:
	scripts/demo

# The whole suite: unit, snapshot and integration tests against the live stack, plus `make lint`.
test:
	scripts/test

stack-up:
	tests/stack/up

stack-down:
	tests/stack/down
	PIPETOP_STACK_DIR=$(CURDIR)/target/fault-stack tests/stack/down

# Import cycles between the files of src/ (scripts/check-import-cycles): there are none, and a new
# one fails the lint (`make lint IMPORT_CYCLES=warn` only reports them, while untangling one).
IMPORT_CYCLES ?= fail

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets --locked -- -D warnings
	scripts/check-import-cycles --self-test
	scripts/check-import-cycles $(if $(filter warn,$(IMPORT_CYCLES)),--warn-only)
	scripts/check-file-sizes

# Regenerates screenshots/ from the real app against the live pipeline (about three minutes).
screenshots:
	scripts/screenshots
