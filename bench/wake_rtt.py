#!/usr/bin/env python3
"""Machine calibration (not a contender): the loopback round trip between two processes, sent
back to back and after the sender slept 0.5-10 ms. On a VM the gap between the two columns is
what each wake-up of an idle process costs; a proxy adds two such wake-ups to a stream's first
token (the gateway woken by the client, then by the upstream), which no proxy can avoid.

    python3 bench/wake_rtt.py [--pin CPU] [--n 300]

Prints one line per gap: RTT p50 and p90 in microseconds. Loopback only.
"""
import argparse
import os
import socket
import time

ap = argparse.ArgumentParser()
ap.add_argument('--n', type=int, default=300)
ap.add_argument('--pin', type=int, default=None, help='run both processes on this CPU')
a = ap.parse_args()
if a.pin is not None:
    os.sched_setaffinity(0, {a.pin})

srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen(1)
port = srv.getsockname()[1]
pid = os.fork()
if pid == 0:
    c, _ = srv.accept()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        d = c.recv(4096)
        if not d:
            os._exit(0)
        c.sendall(d)
cli = socket.create_connection(('127.0.0.1', port))
cli.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
msg = b'x' * 300
for gap_ms in (0, 0.5, 1, 2, 5, 10):
    rtt = []
    for _ in range(a.n):
        if gap_ms:
            time.sleep(gap_ms / 1000)
        t = time.perf_counter_ns()
        cli.sendall(msg)
        got = 0
        while got < len(msg):
            got += len(cli.recv(4096))
        rtt.append((time.perf_counter_ns() - t) / 1000)
    rtt.sort()
    print(f'gap {gap_ms:4} ms: rtt p50 {rtt[len(rtt) // 2]:7.1f} us  p90 {rtt[len(rtt) * 9 // 10]:7.1f} us')
cli.close()
os.waitpid(pid, 0)
