# oxbpf task runner. `just --list` shows the recipes.
# Cargo's output dir: $CARGO_TARGET_DIR when set (each engineer uses their own), else target/.

target := env_var_or_default("CARGO_TARGET_DIR", "target")

# List the recipes.
default:
    @just --list

# Rebuild fixtures/*.bpf.o from bpf-src/ and rewrite fixtures/MANIFEST.
fixtures:
    scripts/fixtures

# Fail if a committed fixture is stale (source changed, or a fresh build differs).
check-fixtures:
    scripts/check-fixtures

# Unit, integration and doc tests of the whole workspace.
test:
    cargo test --workspace --all-targets
    cargo test --workspace --doc

# Formatting and clippy, warnings as errors.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Side-by-side benchmarks against the peers (needs root; see ../shared/peerbench/README.md).
bench:
    cargo build --release -p oxbpf-bench
    ../shared/peerbench/run.sh --with {{target}}/release/oxbpf-bench

# Trace execs for 5 seconds with the execsnoop fixture while a loop runs /bin/true (needs root).
demo:
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build -p oxbpf-cli
    ( for _ in 1 2 3 4 5 6 7 8; do sleep 0.5; /bin/true; done ) &
    loop=$!
    trap 'kill "$loop" 2>/dev/null || true' EXIT
    "{{target}}/debug/oxbpf" run fixtures/execsnoop.bpf.o --duration 5

# Fuzz a BTF parser for `secs` seconds: `just fuzz btf_parse 600` or `just fuzz btf_ext_parse` (needs `cargo install cargo-fuzz`; not run by CI).
fuzz target="btf_parse" secs="600":
    cd fuzz && ./make-seeds && mkdir -p corpus/{{target}} && RUSTC_BOOTSTRAP=1 cargo fuzz run {{target}} corpus/{{target}} seeds/{{target}} -- -max_total_time={{secs}} -timeout=10

# Our disassembly equals llvm-objdump-19's on every fixture and golden object, and text round-trips to bytes.
asm-compat:
    cargo test -p oxbpf-asm --test golden --test roundtrip --test selftests
    cargo test -p oxbpf-cli --test asm_cli

# CO-RE against libbpf: the kernel's test_core_reloc_* selftests (linux-source-6.12) relocated by oxbpf-reloc and by libbpf built from the same tree must give the same instructions (needs clang-19, gcc, libelf-dev; downloads the source, ~150 MB; KERNEL_SRC=... to use a tree).
core-compat *KERNEL_SRC:
    scripts/core-compat {{KERNEL_SRC}}

# Loader compatibility against libbpf: every program of the kernel's BPF selftests (linux-source-6.12, progs/*.c, clang-19) loaded on its own by veristat (libbpf, test-only oracle) and by `oxbpf load --each`; prints both pass / only libbpf / only oxbpf / both fail (needs root, clang-19, gcc, libelf-dev, bpftool; ~6 min, ~9 min the first time; not in CI). See docs/compat.md.
compat *KERNEL_SRC:
    scripts/compat {{KERNEL_SRC}}

# Kernel matrix: boot the kernels of kernel-tests/kernels.lock under qemu and run the kernel tests in each (needs root). Args go to the runner, e.g. `just vmtest --kernel 6.1 --filter kernel_btf`.
vmtest *ARGS:
    cargo run -p kernel-tests -- {{ARGS}}
