#!/usr/bin/env python3
"""Counts individual test results across meson test logs and prints the last
line the CI reads: "N passed, N failed, N skipped".

Every test executable speaks TAP; this reads each one's stdout from
meson-logs/testlog.json and counts "ok" / "not ok" lines ("# SKIP" counts as
skipped). An executable that failed without a failing TAP line (a crash, a
timeout, a missing plan) counts as one failure, so nothing can pass by dying
quietly. Usage: summary.py BUILD_DIR[:LOG] [BUILD_DIR[:LOG] ...], where LOG is
the log's name in meson-logs (default testlog.json; a run with --wrapper
valgrind writes testlog-valgrind.json).
"""
import json
import os
import re
import sys

TAP_LINE = re.compile(r'^(not ok|ok)\b(?:\s+\d+)?\s*(?:-\s*)?(.*)$')


def count(spec):
    build_dir, _, log = spec.partition(':')
    passed = failed = skipped = 0
    failures = []
    path = os.path.join(build_dir, 'meson-logs', log or 'testlog.json')
    if not os.path.exists(path):
        return 0, 1, 0, ['%s: no test log %s (did the tests run?)' % (build_dir, path)]
    with open(path, encoding='utf-8') as f:
        for line in f:
            entry = json.loads(line)
            name = entry['name']
            p = fl = 0
            for out_line in (entry.get('stdout') or '').splitlines():
                m = TAP_LINE.match(out_line)
                if not m:
                    continue
                desc = m.group(2)
                if re.search(r'#\s*SKIP', desc, re.I):
                    skipped += 1
                elif m.group(1) == 'ok':
                    p += 1
                else:
                    fl += 1
                    failures.append('%s: %s: %s' % (spec, name, desc))
            if entry['result'] not in ('OK', 'SKIP', 'EXPECTEDFAIL') and fl == 0:
                fl += 1
                failures.append('%s: %s: %s (exit %s)' % (spec, name, entry['result'],
                                                          entry.get('returncode')))
            passed += p
            failed += fl
    return passed, failed, skipped, failures


def main():
    dirs = sys.argv[1:] or ['build']
    passed = failed = skipped = 0
    failures = []
    for d in dirs:
        p, f, s, fl = count(d)
        passed += p
        failed += f
        skipped += s
        failures += fl
    if failures:
        print('\nFailures:')
        for line in failures:
            print('  ' + line)
    if passed == 0 and failed == 0:
        failed = 1
        print('no test ran')
    line = '%d passed, %d failed' % (passed, failed)
    if skipped:
        line += ', %d skipped' % skipped
    print(line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
