# SPDX-License-Identifier: LGPL-2.1-or-later
# The matrix's workload, the same on every filesystem: run as
#   bash workload.sh rw|ro MNT RUN STEPFILE BIG [LOCAL_OUT]
# rw: in MNT/RUN (a new directory): create, write, read back, rename, 200
#     files and cp -r of them, diff, a script run through the filesystem,
#     ls -lR, a 1 MiB file written and compared, 4 parallel writers.
# ro: the same reads on MNT/ro (baked into the image by fs.sh), cp -r out to
#     LOCAL_OUT/RUN, 4 parallel readers.
# Stops at the first failure; STEPFILE holds the step it was in.
set -euo pipefail
mode=$1 m=$2 run=$3 stepfile=$4 big=$5 out=${6:-}

step() {
	printf '%s\n' "$1" >"$stepfile"
}

# writer DIR N: N small files, each created, written and closed.
writer() {
	local i
	for ((i = 1; i <= $2; i++)); do
		echo "parallel $1 $i" >"$1/p$i"
	done
}

if [ "$mode" = rw ]; then
	d=$m/$run
	step mkdir
	mkdir "$d"
	step create
	: >"$d/created"
	step write
	echo "hello $run" >"$d/hello"
	step read-back
	[ "$(cat "$d/hello")" = "hello $run" ]
	step rename
	mv "$d/hello" "$d/hello2"
	[ ! -e "$d/hello" ] && [ "$(cat "$d/hello2")" = "hello $run" ]
	step create-200
	mkdir "$d/tree"
	for ((i = 1; i <= 200; i++)); do
		echo "tree file $i" >"$d/tree/f$i"
	done
	step cp-r-200
	cp -r "$d/tree" "$d/tree2"
	step diff-r
	diff -r "$d/tree" "$d/tree2" >/dev/null
	step script
	printf '#!/bin/sh\necho script-ok\n' >"$d/run.sh"
	chmod 755 "$d/run.sh"
	[ "$("$d/run.sh")" = script-ok ]
	step ls-lR
	ls -lR "$d" >/dev/null
	step 1MiB
	cp "$big" "$d/big"
	cmp -s "$big" "$d/big"
	step parallel-writers
	pids=()
	for w in 1 2 3 4; do
		mkdir "$d/par$w"
		writer "$d/par$w" 25 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	[ "$(find "$d"/par? -type f | wc -l)" = 100 ]
else
	r=$m/ro
	step read-back
	[ "$(cat "$r/tree/f1")" = "tree file 1" ]
	step cp-r-200
	cp -r "$r/tree" "$out/$run"
	step diff-r
	diff -r "$r/tree" "$out/$run" >/dev/null
	step script
	[ "$("$r/run.sh")" = script-ok ]
	step ls-lR
	ls -lR "$r" >/dev/null
	step 1MiB
	cmp -s "$big" "$r/big"
	step parallel-readers
	pids=()
	for w in 1 2 3 4; do
		cat "$r"/tree/f$w? >/dev/null &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
fi
step done
