#!/usr/bin/env python3
"""clang -Wthread-safety over every source file of ours, without a full clang build.

Reads a clang build directory's compile_commands.json (cmake --preset clang),
runs each translation unit of common/, agent/, coordinator/, workers/ and cli/
with -fsyntax-only -Werror=thread-safety, and prints every diagnostic. Exit 1
when any file has a thread-safety (or any other) error. The generated protos
must exist: cmake --build build/clang --target shoebox_proto.

  tests/check_thread_safety.py [BUILD_DIR] [-j N]
"""
import json, os, shlex, subprocess, sys
from concurrent.futures import ThreadPoolExecutor

def main():
    args = [a for a in sys.argv[1:]]
    jobs = 2
    if "-j" in args:
        i = args.index("-j"); jobs = int(args[i + 1]); del args[i:i + 2]
    build = args[0] if args else "build/clang"
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cc = json.load(open(os.path.join(build, "compile_commands.json")))
    parts = tuple(os.path.join(src, p) + "/" for p in ("common", "agent", "coordinator", "workers", "cli"))
    entries = [e for e in cc if e["file"].startswith(parts) and "/tsan/" not in e["file"]]
    seen = set(); todo = []
    for e in entries:
        if e["file"] in seen: continue
        seen.add(e["file"]); todo.append(e)

    def run(e):
        argv = shlex.split(e["command"])
        out = []; skip = False
        for a in argv:
            if skip: skip = False; continue
            if a in ("-o", "-MF", "-MT", "-MQ"): skip = True; continue
            if a in ("-c", "-MD", "-MMD"): continue
            out.append(a)
        if os.path.basename(out[0]) == "ccache": out = out[1:]
        if "clang" not in os.path.basename(out[0]):
            sys.exit(f"{build} is not a clang build ({out[0]}): cmake --preset clang")
        r = subprocess.run(out + ["-fsyntax-only", "-Wthread-safety", "-Werror=thread-safety"],
                           cwd=e["directory"], capture_output=True, text=True)
        return e["file"], r.returncode, r.stderr

    bad = 0
    with ThreadPoolExecutor(jobs) as ex:
        for f, rc, err in ex.map(run, todo):
            if rc != 0 or err.strip():
                if rc != 0: bad += 1
                sys.stderr.write(f"== {os.path.relpath(f, src)} (rc={rc})\n{err}\n")
    print(f"thread-safety: {len(todo)} files checked with clang -Wthread-safety, {bad} with errors")
    return 1 if bad else 0

if __name__ == "__main__":
    sys.exit(main())
