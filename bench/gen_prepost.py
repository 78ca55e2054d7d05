#!/usr/bin/env python3
"""Writes a deterministic long CSV of GAD-7-like scores for the pre/post
benchmark: N participants in two arms, scores 0..21 at weeks 0 and 8, about
5% without a week-8 score. The same N and seed always give the same bytes.

    gen_prepost.py N OUT.csv [SEED]
"""
import random
import sys


def main():
    n = int(sys.argv[1])
    out = sys.argv[2]
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 20240601)
    with open(out, 'w') as f:
        f.write('participant,arm,week,gad7\n')
        lines = []
        for i in range(n):
            arm = 'app' if i % 2 else 'control'
            pre = min(21, max(0, round(rng.gauss(12, 4.5))))
            effect = 5 if arm == 'app' else 2
            post = min(21, max(0, round(pre - effect + rng.gauss(0, 3.5))))
            pid = 'p%07d' % i
            lines.append('%s,%s,0,%d\n' % (pid, arm, pre))
            if rng.random() >= 0.05:
                lines.append('%s,%s,8,%d\n' % (pid, arm, post))
            if len(lines) >= 100000:
                f.writelines(lines)
                lines = []
        f.writelines(lines)


if __name__ == '__main__':
    main()
