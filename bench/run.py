#!/usr/bin/env python3
"""make bench: runs every benchmark in bench/benchmarks.txt and prints one table.

Each benchmark is a command (run from the repository root with the build
folder in $ATTUNE_BUILD) that prints, besides anything else, result lines:

    RESULT<TAB>section<TAB>what<TAB>value<TAB>unit[<TAB>baseline<TAB>ratio]

`value` is a median over repeated runs (the machine is shared and noisy);
`baseline` and `ratio` compare with the reference measured in the same run
(a minimal server, or R). The table is printed and written to
$ATTUNE_BUILD/bench/results.md, with the machine it ran on.
"""
import os
import platform
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def machine():
    cpu = 'unknown CPU'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ''
    try:
        with open('/proc/meminfo') as f:
            kb = int(f.readline().split()[1])
            mem = ', %.0f GiB RAM' % (kb / 1024 / 1024)
    except (OSError, ValueError, IndexError):
        pass
    return '%s, %d cores%s, %s' % (cpu, os.cpu_count() or 0, mem, platform.platform())


def main():
    build = os.environ.get('ATTUNE_BUILD', os.path.join(ROOT, 'build'))
    only = sys.argv[1:]
    rows = []
    failures = []
    with open(os.path.join(ROOT, 'bench', 'benchmarks.txt')) as f:
        entries = [l.split(None, 2) for l in f if l.strip() and not l.startswith('#')]
    for name, timeout, command in entries:
        if only and name not in only:
            continue
        print('== %s: %s' % (name, command.strip()), flush=True)
        env = dict(os.environ, ATTUNE_BUILD=build)
        start = time.time()
        try:
            p = subprocess.run(shlex.split(command), cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, timeout=int(timeout))
            out, code = p.stdout, p.returncode
        except subprocess.TimeoutExpired as exc:
            out, code = exc.stdout or '', 'timeout'
        sys.stdout.write(out)
        for line in out.splitlines():
            if line.startswith('RESULT\t'):
                rows.append(line.split('\t')[1:])
        if code != 0:
            failures.append('%s (exit %s)' % (name, code))
        print('== %s took %.0f s' % (name, time.time() - start), flush=True)
    lines = ['| section | what | value | unit | baseline | ratio |', '|---|---|---|---|---|---|']
    for r in rows:
        r = (r + ['', '', '', '', '', ''])[:6]
        lines.append('| %s |' % ' | '.join(r))
    table = '\n'.join(lines)
    header = 'Machine: %s. Run %s.' % (machine(), time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))
    print('\n' + header + '\n\n' + table)
    os.makedirs(os.path.join(build, 'bench'), exist_ok=True)
    with open(os.path.join(build, 'bench', 'results.md'), 'w') as f:
        f.write(header + '\n\n' + table + '\n')
    if failures:
        print('\nfailed: ' + ', '.join(failures))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
