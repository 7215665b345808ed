# The two commands of the README. Both work on a fresh machine: the stack scripts install what is
# missing (apt, pip, Maven) and start Kafka and ClickHouse on loopback.

.PHONY: demo test stack-up stack-down lint screenshots

# pipetop on screen against a live local pipeline (stack up, load generator running).
demo:
	scripts/demo

# The whole suite: unit, snapshot and integration tests against the live stack, plus lints.
test:
	scripts/test

stack-up:
	tests/stack/up

stack-down:
	tests/stack/down

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

# Regenerates screenshots/ from the real app against the live pipeline (about four minutes).
screenshots:
	scripts/screenshots
