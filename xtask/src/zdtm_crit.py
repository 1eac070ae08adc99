# What CRIU's own crit (pycriu) says about every image directory ZDTM kept.
#
# Written by `cargo xtask zdtm` (xtask/src/zdtm.rs) and run with CRIU's source tree on PYTHONPATH
# (lib/ for pycriu, crit/ for crit's explorers). One script, a few worker processes, every image
# decoded in-process: starting an interpreter per image would cost minutes on the suite.
#
#   python3 zdtm_crit.py IMAGES_ROOT OUT_ROOT JOBS SET...
#
# For each SET (a directory below IMAGES_ROOT holding *.img files) it writes into OUT_ROOT/SET/:
#   FILE.plain.json, FILE.pretty.json   what `crit decode [--pretty]` prints (with its newline)
#   FILE.error.txt                      the exception crit's decode raised instead
#   raw.txt                             files crit refuses as raw data (unknown magic), one a line
#   x-WHAT.txt / x-WHAT.error.txt       `crit x SET WHAT` for ps, fds, mems, rss, or its exception
#   done                                written last: this set is complete
# and prints one line per set. Files of a set that exist from an earlier run are replaced.

import contextlib
import io
import json
import multiprocessing
import os
import sys
import time
import traceback

import pycriu
from crit import __main__ as critmain

EXPLORERS = ["ps", "fds", "mems", "rss"]

# crit's own recode test (test/crit-recode.py) skips these: they are raw data (netlink dumps,
# iptables-save output, tarballs) that happen to need no magic check.
RAW_PREFIXES = ("pages-", "iptables-", "ip6tables-", "nftables-", "route-", "route6-", "ifaddr-",
                "tmpfs-", "netns-ct-", "netns-exp-", "rule-")


def describe(e):
    return "%s: %s\n" % (type(e).__name__, e)


def write(path, text):
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(text)


def reset_crit():
    """crit keeps caches in module globals (files.img's entries, file names by id, legacy
    images), filled by its first `x` command: each `crit x` is a new process, so every call
    here starts from the state crit starts with."""
    critmain.files_img = None
    critmain.files_cache = {}
    for ft in critmain.file_types.values():
        ft["img"] = None


def one_set(args):
    images_root, out_root, rel = args
    src = os.path.join(images_root, rel)
    out = os.path.join(out_root, rel)
    os.makedirs(out, exist_ok=True)
    done = os.path.join(out, "done")
    if os.path.exists(done):
        os.unlink(done)
    t0 = time.time()
    raw = []
    decoded = errors = 0
    for name in sorted(os.listdir(src)):
        path = os.path.join(src, name)
        if not name.endswith(".img") or not os.path.isfile(path):
            continue
        if name.startswith(RAW_PREFIXES):
            raw.append(name)
            continue
        with open(path, "rb") as f:
            data = f.read()
        for pretty, suffix in ((False, "plain.json"), (True, "pretty.json")):
            target = os.path.join(out, "%s.%s" % (name, suffix))
            try:
                img = pycriu.images.loads(data, pretty)
                text = json.dumps(img, indent=4 if pretty else None) + "\n"
            except pycriu.images.MagicException:
                if not pretty:
                    raw.append(name)
                break
            except Exception as e:
                write(os.path.join(out, name + ".error.txt"), describe(e))
                errors += 1
                break
            write(target, text)
            decoded += 1
    write(os.path.join(out, "raw.txt"), "".join(n + "\n" for n in raw))
    x_errors = 0
    for what in EXPLORERS:
        reset_crit()
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                critmain.explorers[what]({"dir": src, "what": what})
        except BaseException as e:  # crit's explorers raise KeyError, SystemExit, ...
            write(os.path.join(out, "x-%s.error.txt" % what), describe(e))
            x_errors += 1
            continue
        write(os.path.join(out, "x-%s.txt" % what), buf.getvalue())
    write(done, "")
    return "%s: %d decodes, %d decode errors, %d raw, %d x errors, %.2fs" % (
        rel, decoded, errors, len(raw), x_errors, time.time() - t0)


def main():
    images_root, out_root, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sets = sys.argv[4:]
    work = [(images_root, out_root, s) for s in sets]
    t0 = time.time()
    if jobs <= 1:
        results = map(one_set, work)
    else:
        pool = multiprocessing.Pool(jobs)
        results = pool.imap_unordered(one_set, work)
    n = 0
    for line in results:
        n += 1
        print(line, flush=True)
    print("crit outputs for %d sets in %.1fs" % (n, time.time() - t0), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        sys.exit(1)
