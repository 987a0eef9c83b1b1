# shellcheck shell=bash
# Shared by scripts/core-compat and scripts/compat (sourced, not run): Debian's
# linux-source-6.12, the parts of it the BPF selftests and libbpf need, fetched once with
# `apt-get download` and kept in a cache directory.
#
# kernel_src_get        prints the path of an extracted tree (linux-source-6.12/), fetching
#                       and extracting it into $OXBPF_KSRC_CACHE (default
#                       ${XDG_CACHE_HOME:-~/.cache}/oxbpf) the first time.
# The extraction is complete once the tree's .oxbpf-complete marker exists: an interrupted
# fetch is redone, never used half-extracted.

OXBPF_KSRC_CACHE=${OXBPF_KSRC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oxbpf}
OXBPF_KSRC_PKG=${OXBPF_KSRC_PKG:-linux-source-6.12}

kernel_src_get() {
	local cache=$OXBPF_KSRC_CACHE/$OXBPF_KSRC_PKG tree
	tree=$(ls -d "$cache"/linux-source-* 2>/dev/null | head -n 1 || true)
	if [ -n "$tree" ] && [ -e "$tree/.oxbpf-complete" ]; then
		echo "$tree"
		return 0
	fi
	rm -rf "$cache"
	mkdir -p "$cache"
	(cd "$cache" && apt-get download "$OXBPF_KSRC_PKG" >/dev/null) || return 1
	local deb
	deb=$(ls "$cache"/"$OXBPF_KSRC_PKG"_*.deb) || return 1
	dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './usr/src/linux-source-*.tar.xz' |
		xz -dc | tar -x -C "$cache" --wildcards '*/tools/testing/selftests/bpf/*' \
			'*/tools/lib/bpf/*' '*/tools/include/*' '*/tools/arch/x86/include/*' \
			'*/include/uapi/*' '*/scripts/bpf_doc.py' || return 1
	rm -f "$deb"
	tree=$(ls -d "$cache"/linux-source-*) || return 1
	touch "$tree/.oxbpf-complete"
	echo "$tree"
}

# kernel_src_libbpf KSRC OUT: libbpf built straight from KSRC/tools/lib/bpf (static, as a
# test-only oracle) into OUT/libbpf.a, its headers into OUT/inc/bpf/; kept if already built.
kernel_src_libbpf() {
	local ksrc=$1 out=$2 f
	mkdir -p "$out/obj" "$out/inc/bpf"
	if [ ! -e "$out/libbpf.a" ]; then
		for f in "$ksrc"/tools/lib/bpf/*.c; do
			gcc -O1 -c -D_LARGEFILE64_SOURCE -D_FILE_OFFSET_BITS=64 -I "$ksrc/tools/lib/bpf" \
				-I "$ksrc/tools/include" -I "$ksrc/tools/include/uapi" \
				-I "$ksrc/tools/arch/x86/include" "$f" -o "$out/obj/$(basename "$f" .c).o" || return 1
		done
		ar rcs "$out/libbpf.a.tmp" "$out"/obj/*.o && mv "$out/libbpf.a.tmp" "$out/libbpf.a"
	fi
	cp "$ksrc"/tools/lib/bpf/*.h "$out/inc/bpf/"
}

# kernel_src_bpf_headers KSRC INC: the generated headers of the BPF side, as the selftests'
# Makefile has them: INC/vmlinux.h (from the running kernel's BTF) and
# INC/bpf/bpf_helper_defs.h (from the tree's uapi bpf.h by scripts/bpf_doc.py).
kernel_src_bpf_headers() {
	local ksrc=$1 inc=$2
	mkdir -p "$inc/bpf"
	bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$inc/vmlinux.h" || return 1
	python3 "$ksrc/scripts/bpf_doc.py" --header --file "$ksrc/include/uapi/linux/bpf.h" \
		>"$inc/bpf/bpf_helper_defs.h"
}

# kernel_src_sys_includes CLANG: prints `-idirafter DIR` lines for the compiler's system
# include dirs (the selftests' get_sys_includes), one word a line for mapfile.
kernel_src_sys_includes() {
	local d
	"$1" -v -E - </dev/null 2>&1 |
		sed -n '/<...> search starts here:/,/End of search list./{s/^ //p}' | grep '^/' |
		while read -r d; do printf '%s\n%s\n' -idirafter "$d"; done
}
