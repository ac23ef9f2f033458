#!/usr/bin/env bash
# The test suite: install deps, then under one throwaway PostgreSQL server build
# and test build/ (normal), build-asan/ (--enable-sanitizers) and build-pq17/
# (normal, against the libpq 17 of scripts/libpq17.sh) and run the install
# test. Ends with the line "N passed, N failed" (doctest test cases, plus one
# per non-doctest test, failed stage or crash); exit 0 iff nothing failed and
# something passed.
set -euo pipefail

cd "$(dirname "$0")/.."

results=$(mktemp)
# shellcheck disable=SC2317  # only reached via trap
cleanup() { rm -f "$results"; }
trap cleanup EXIT
export UVPG_CHECK_RESULTS=$results

if scripts/deps.sh; then
    scripts/with-server.sh scripts/check-inner.sh || true
    grep -q '^inner-done' "$results" \
        || printf 'server\tFAIL\t%s\n' "test run aborted (PostgreSQL server did not start?)" >>"$results"
else
    printf 'deps\tFAIL\t%s\n' "scripts/deps.sh failed (packages or autoreconf)" >>"$results"
fi

passed=0 failed=0
rows=()
fmt='%-40s %-6s %6s %6s %7s'
# shellcheck disable=SC2059  # the format is ours
row() { rows+=("$(printf "$fmt" "$@")"); }

# Sum the "[doctest] test cases:" (or "[capi] ...") summaries of a log: prints "LINES PASSED FAILED SKIPPED".
doctest_counts() {
    sed 's/\x1b\[[0-9;]*m//g' "$1" 2>/dev/null | awk -F'|' '
        /^\[[a-z-]+\] test cases:/ {
            n++
            for (i = 2; i <= NF; i++) {
                v = $i; gsub(/[^0-9]/, "", v)
                if ($i ~ /passed/) p += v
                else if ($i ~ /failed/) f += v
                else if ($i ~ /skipped/) s += v
            }
        }
        END { printf "%d %d %d %d\n", n, p, f, s }'
}

# Overall automake result of one .trs: PASS, FAIL or SKIP.
trs_result() {
    local r res=() bad=0 good=0
    mapfile -t res < <(sed -n 's/^:test-result: *\([A-Z]*\).*/\1/p' "$1")
    [[ ${#res[@]} -gt 0 ]] || { echo FAIL; return; }
    for r in "${res[@]}"; do
        case $r in
            FAIL | ERROR | XPASS) bad=1 ;;
            PASS | XFAIL) good=1 ;;
        esac
    done
    if ((bad)); then echo FAIL; elif ((good)); then echo PASS; else echo SKIP; fi
}

show_tail() {
    echo
    echo "---- tail of $1 ----"
    tail -n 40 "$1" 2>/dev/null || echo "(no log file)"
}

declare -A trs_failures=()

count_build() {
    local dir=$1 trs log name res n p f s
    [[ -d $dir ]] || return 0
    trs_failures[$dir]=0
    while IFS= read -r -d '' trs; do
        log=${trs%.trs}.log
        name=${trs#"$dir"/}; name=$dir:${name%.trs}
        res=$(trs_result "$trs")
        read -r n p f s < <(doctest_counts "$log")
        if ((n == 0)); then
            # Not a doctest binary (or it died before its summary): one test.
            case $res in
                PASS) p=1 f=0 ;;
                FAIL) p=0 f=1 ;;
                *) p=0 f=0 ;;
            esac
        elif [[ $res == FAIL ]] && ((f == 0)); then
            # Harness says FAIL but doctest saw no failure: crash, sanitizer
            # report at exit, leak, or bad exit status.
            f=1
        fi
        ((f == 0)) || { show_tail "$log"; trs_failures[$dir]=$((trs_failures[$dir] + 1)); }
        passed=$((passed + p)) failed=$((failed + f))
        row "$name" "$res" "$p" "$f" "$s"
    done < <(find "$dir" -name '*.trs' -print0 | sort -z)
}

count_build build
count_build build-asan
count_build build-pq17

# Stages: a failed stage counts one failure, except a failed "make check"
# whose failing tests were already counted. Only the install test, the soak and the
# fuzz targets and the valgrind runs count a pass.
while IFS=$'\t' read -r stage status msg; do
    if [[ $status == PASS ]]; then
        [[ $stage == install || $stage == soak || $stage == fuzz:* || $stage == valgrind:* ]] || continue
        passed=$((passed + 1))
        row "$stage" PASS 1 0 0
        continue
    fi
    if [[ $stage == */check ]]; then
        [[ ${trs_failures[${stage%/check}]:-0} -eq 0 ]] || continue
        msg="$msg, but no test failed (a test program did not build?)"
    fi
    failed=$((failed + 1))
    row "$stage" FAIL 0 1 0
    echo "check: $stage: $msg"
done <"$results"

echo
# shellcheck disable=SC2059
printf "$fmt\n" TEST RESULT PASSED FAILED SKIPPED
((${#rows[@]} == 0)) || printf '%s\n' "${rows[@]}"
echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
