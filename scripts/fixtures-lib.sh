# shellcheck shell=bash
# Shared by scripts/fixtures and scripts/check-fixtures (sourced, not run).
#
# How a fixture is built: every bpf-src/<name>.bpf.c becomes fixtures/<name>.bpf.o with
#   clang-19 $FIXTURE_CFLAGS -c bpf-src/<name>.bpf.c -o <out>   (run from the repo root)
#   llvm-strip-19 -g <out>       (drops DWARF; keeps .BTF and .BTF.ext with line info)
# -fdebug-compilation-dir=. keeps the checkout's absolute path out of the object (the
# BTF line info names the source file), so a build in any clone is byte-identical.
#
# fixtures/MANIFEST has one line per fixture, sorted by name:
#   <name>.bpf.o <sha256 of source+headers> <sha256 of object> <clang version string>
# where "source+headers" is the bytes of bpf-src/<name>.bpf.c followed by those of
# every header it includes (as clang -M lists them), in byte-wise sorted path order,
# and the clang version string is the first line of `clang-19 --version`.

FIXTURE_CLANG=${FIXTURE_CLANG:-clang-19}
FIXTURE_STRIP=${FIXTURE_STRIP:-llvm-strip-19}
FIXTURE_CFLAGS=(-target bpf -mcpu=v3 -g -O2 -fdebug-compilation-dir=. -I bpf-src/include)

# cd to the repository root (the parent of scripts/).
fixtures_cd_root() {
	cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
}

fixtures_need_tools() {
	local t
	for t in "$FIXTURE_CLANG" "$FIXTURE_STRIP"; do
		if ! command -v "$t" >/dev/null; then
			echo "fixtures: $t not found; run scripts/install-deps" >&2
			exit 1
		fi
	done
}

# The installed compiler's version string.
fixtures_clang_version() {
	"$FIXTURE_CLANG" --version | head -n 1
}

# Names (without .bpf.c) of all fixture sources, sorted.
fixtures_names() {
	local f
	for f in bpf-src/*.bpf.c; do
		[ -e "$f" ] || continue
		f=${f#bpf-src/}
		echo "${f%.bpf.c}"
	done | LC_ALL=C sort
}

# Headers that bpf-src/$1.bpf.c includes, one a line, sorted.
fixtures_headers() {
	local src="bpf-src/$1.bpf.c"
	"$FIXTURE_CLANG" "${FIXTURE_CFLAGS[@]}" -M -MT x "$src" \
		| sed -e 's/\\$//' -e 's/^x://' | tr -s ' \t' '\n' \
		| { grep -v -x -e '' -e "$src" || true; } | LC_ALL=C sort -u
}

# sha256 of the source followed by every header it includes.
fixtures_source_hash() {
	local name=$1 headers
	headers=$(fixtures_headers "$name") || return 1
	# shellcheck disable=SC2086 # header paths have no spaces (bpf-src/include/*.h)
	cat "bpf-src/$name.bpf.c" $headers | sha256sum | cut -d ' ' -f 1
}

fixtures_file_hash() {
	sha256sum "$1" | cut -d ' ' -f 1
}

# Build bpf-src/$1.bpf.c into $2 (an object path).
fixtures_build_one() {
	local name=$1 out=$2
	"$FIXTURE_CLANG" "${FIXTURE_CFLAGS[@]}" -c "bpf-src/$name.bpf.c" -o "$out"
	"$FIXTURE_STRIP" -g "$out"
}

# Build every fixture into directory $1 and write $1/MANIFEST.
fixtures_build_all() {
	local dir=$1 name version manifest
	version=$(fixtures_clang_version)
	manifest=$(mktemp)
	for name in $(fixtures_names); do
		fixtures_build_one "$name" "$dir/$name.bpf.o"
		printf '%s.bpf.o %s %s %s\n' "$name" "$(fixtures_source_hash "$name")" \
			"$(fixtures_file_hash "$dir/$name.bpf.o")" "$version" >>"$manifest"
	done
	mv "$manifest" "$dir/MANIFEST"
	chmod 644 "$dir/MANIFEST"
}
