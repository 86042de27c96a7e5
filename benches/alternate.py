#!/usr/bin/env python3
# Alternate runs of two rdiff binaries on the same arguments and print, for each, the
# median wall time and user+system CPU time: a fair before/after comparison on a
# loaded machine.   benches/alternate.py N OLD_BIN NEW_BIN -- rootfs A B
import subprocess, sys, statistics, resource, time, os
# alt.py N bin1 bin2 -- args
n=int(sys.argv[1]); bins=sys.argv[2:4]; args=sys.argv[5:]
res={b:[] for b in bins}
for i in range(n):
    for b in bins:
        t=time.time(); r0=resource.getrusage(resource.RUSAGE_CHILDREN)
        p=subprocess.run([b]+args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        w=time.time()-t; r1=resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu=(r1.ru_utime-r0.ru_utime)+(r1.ru_stime-r0.ru_stime)
        res[b].append((w,cpu,p.returncode))
for b in bins:
    ws=[x[0] for x in res[b]]; cs=[x[1] for x in res[b]]
    print(f"{b}: wall median {statistics.median(ws):.3f} s (min {min(ws):.3f}), cpu median {statistics.median(cs):.3f} s, rc {set(x[2] for x in res[b])}")
