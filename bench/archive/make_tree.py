#!/usr/bin/env python3
"""Generates a tree of mixed compressible and incompressible files for the archive benchmark.

  make_tree.py DIR [--size-mib 1024] [--seed 1]

About 55% of the bytes are text (log and CSV lines, gzip ratio ~4-6x) and 45% random bytes
(media, already-compressed files). File sizes spread from 1 KiB to 16 MiB, in nested
directories, the way an application's data directory looks. Deterministic for a given seed.
"""
import argparse
import os
import random


def text_pool(rng, size):
    words = ("booking customer payment invoice refund session cache worker request response "
             "timeout retry error warning info debug user admin room hotel flight seat price "
             "currency amount status pending confirmed cancelled queue job backup restore").split()
    lines = []
    total = 0
    while total < size:
        kind = rng.random()
        if kind < 0.6:
            line = "2024-11-%02d %02d:%02d:%02d.%03d %s [%s] %s %s id=%d took=%dms ip=10.%d.%d.%d\n" % (
                rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
                rng.randint(0, 999), rng.choice(["INFO", "WARN", "ERROR", "DEBUG"]),
                rng.choice(words), " ".join(rng.choice(words) for _ in range(rng.randint(3, 9))),
                rng.choice(words), rng.randint(1, 10**7), rng.randint(1, 5000),
                rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
        else:
            line = "%d,%s,%s,%d.%02d,%s,2024-%02d-%02d\n" % (
                rng.randint(1, 10**6), rng.choice(words), rng.choice(words),
                rng.randint(0, 9999), rng.randint(0, 99), rng.choice(["EUR", "USD", "GBP"]),
                rng.randint(1, 12), rng.randint(1, 28))
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    pool = text_pool(rng, 8 << 20)
    target = args.size_mib << 20
    written = 0
    n = 0
    while written < target:
        # log-uniform sizes between 1 KiB and 16 MiB
        size = int(2 ** rng.uniform(10, 24))
        size = min(size, target - written) or 1
        depth = rng.randint(1, 3)
        sub = os.path.join(args.dir, *("d%02d" % rng.randint(0, 15) for _ in range(depth)))
        os.makedirs(sub, exist_ok=True)
        compressible = rng.random() < 0.55
        path = os.path.join(sub, "f%06d.%s" % (n, "log" if compressible else "bin"))
        with open(path, "wb") as f:
            left = size
            while left > 0:
                piece = min(left, rng.randint(4096, 262144))
                if compressible:
                    start = rng.randint(0, len(pool) - piece - 1)
                    f.write(pool[start:start + piece])
                else:
                    f.write(os.urandom(piece))
                left -= piece
        written += size
        n += 1
    print("%d files, %d MiB in %s" % (n, written >> 20, args.dir))


if __name__ == "__main__":
    main()
