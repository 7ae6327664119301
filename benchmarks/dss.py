"""DSS throughput and memory, each against a baseline measured in the same run.

    python -m benchmarks.dss               # 1 GiB files (needs ~12 GiB free, a few minutes)
    python -m benchmarks.dss --size 64M    # quick run (from the repository root: a script
                                           # named dss.py would shadow the dss package)

Figures: GET through the DSS with client-side adler32 verification vs a raw loopback
sendfile + zlib.adler32; PUT vs `cp` + fsync; one-pass adler32+md5 vs md5 alone; peak RSS of
the `sdc dss serve` process under 10 concurrent PUTs and then 10 concurrent GETs (and what it
held at rest before them).
Every big file lives in one temporary directory removed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import psutil
import requests

from dss.checksums import ChecksumAccumulator, checksums_of_file
from dss.client import StorageClient
from dss.tokens import token_digest

TOKEN = "benchmark-admin"
CHUNK = 1024 * 1024


def parse_size(text: str) -> int:
    """`1G`, `64M`, `4096` -> bytes."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    suffix = text[-1].upper()
    return int(text[:-1]) * units[suffix] if suffix in units else int(text)


def timed(action: Callable[[], object]) -> float:
    """Seconds `action` took."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def rounds(repeat: int, *actions: Callable[[], float]) -> list[list[float]]:
    """Run the actions in turn `repeat` times (baseline and subject alternate, so both meet the
    same background load); every time of each action."""
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(repeat):
        for index, action in enumerate(actions):
            times[index].append(action())
    return times


def make_file(path: Path, size: int) -> None:
    """Incompressible bytes (a repeated random block: cheap to make, same cost to move)."""
    block = os.urandom(64 * CHUNK)
    with path.open("wb") as out:
        for offset in range(0, size, len(block)):
            out.write(block[: min(len(block), size - offset)])


@contextmanager
def dss_server(root: Path, workdir: Path) -> Iterator[tuple[str, psutil.Process]]:
    """`sdc dss serve` in its own process (so its RSS is its own)."""
    tokens = workdir / "tokens.yaml"
    tokens.write_text(f'tokens: [{{sha256: "{token_digest(TOKEN)}", name: b, role: admin}}]\n')
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sdc = Path(sys.executable).with_name("sdc")
    process = subprocess.Popen(
        [str(sdc), "dss", "serve", "--site", "SDC-FR", "--root", str(root)]
        + ["--port", str(port), "--tokens", str(tokens)],
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                requests.get(f"{url}/api/v1/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url, psutil.Process(process.pid)
    finally:
        process.terminate()
        process.wait(30)


def raw_sendfile_get(path: Path) -> float:
    """Seconds to send `path` over loopback with sendfile and adler32 it on arrival."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        with connection, path.open("rb") as source:
            size, offset = path.stat().st_size, 0
            while offset < size:
                offset += os.sendfile(connection.fileno(), source.fileno(), offset, size - offset)

    threading.Thread(target=serve, daemon=True).start()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)

    def receive() -> None:
        adler = 1
        with socket.create_connection(listener.getsockname()) as sock:
            while count := sock.recv_into(buffer):
                adler = zlib.adler32(view[:count], adler)

    seconds = timed(receive)
    listener.close()
    return seconds


def cp_fsync(source: Path, target: Path) -> float:
    """Seconds for `cp` plus fsync of the copy."""

    def copy() -> None:
        subprocess.run(["cp", str(source), str(target)], check=True)
        fd = os.open(target, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)

    return timed(copy)


def checksum_passes(data: bytes) -> tuple[Callable[[], float], Callable[[], float]]:
    """Timers for md5 alone and for adler32+md5 in one pass, over `data` in 1 MiB chunks."""
    view = memoryview(data)
    chunks = [view[i : i + CHUNK] for i in range(0, len(data), CHUNK)]

    def md5_alone() -> None:
        digest = hashlib.md5(usedforsecurity=False)
        for chunk in chunks:
            digest.update(chunk)

    def both() -> None:
        acc = ChecksumAccumulator()
        for chunk in chunks:
            acc.update(chunk)

    return (lambda: timed(md5_alone)), (lambda: timed(both))


def cpu_seconds(server: psutil.Process, action: Callable[[], float]) -> tuple[float, float]:
    """CPU seconds (user + system) the server process and this process spent on `action`."""
    server_before, client_before = server.cpu_times(), os.times()
    action()
    server_after, client_after = server.cpu_times(), os.times()
    server_cpu = server_after.user + server_after.system - server_before.user - server_before.system
    client_cpu = client_after.user + client_after.system - client_before.user - client_before.system
    return server_cpu, client_cpu


class PeakRss:
    """Samples a process's resident memory every 20 ms in a thread."""

    def __init__(self, process: psutil.Process) -> None:
        self._process = process
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._process.memory_info().rss)


def report(
    what: str,
    base: str,
    base_times: list[float],
    subject: str,
    subject_times: list[float],
    mib: float,
    target: float,
) -> None:
    """One figure: both median throughputs, the ratio of the medians against its target, and
    the ratio of the best times (the machine is shared: the best is the least disturbed)."""
    base_s, subject_s = statistics.median(base_times), statistics.median(subject_times)
    ratio = base_s / subject_s
    verdict = "ok" if ratio >= target else "BELOW TARGET"
    print(
        f"{what}: {base} {mib / base_s:.0f} MiB/s; {subject} {mib / subject_s:.0f} MiB/s; "
        f"ratio {ratio:.2f} (target >= {target}, {verdict}; medians of {len(base_times)}; "
        f"best {min(base_times) / min(subject_times):.2f}; load {os.getloadavg()[0]:.1f})"
    )


def main() -> None:
    """Run every measurement and print figures with their ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1G", help="file size (1G, 256M, ...)")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5, help="rounds for each figure")
    parser.add_argument("--dir", type=Path, default=None, help="where the big files go")
    args = parser.parse_args()
    size = parse_size(args.size)
    mib = size / (1 << 20)
    workdir = Path(tempfile.mkdtemp(prefix="dss-bench-", dir=args.dir))
    try:
        source, root = workdir / "source.bin", workdir / "root"
        root.mkdir()
        make_file(source, size)
        checksums, _ = checksums_of_file(source)
        print(f"file size {mib:.0f} MiB, {os.cpu_count()} cores, directory {workdir}")

        sample = source.read_bytes()[: min(size, 512 << 20)]
        sample_mib = len(sample) / (1 << 20)  # (the figures used to divide `mib` by its time)
        md5_s, both_s = rounds(args.repeat, *checksum_passes(sample))
        del sample
        report("checksums", "md5 alone", md5_s, "adler32+md5 one pass", both_s, sample_mib, 0.8)

        with dss_server(root, workdir) as (url, server), StorageClient(url, TOKEN) as client:

            def dss_put() -> float:
                seconds = timed(lambda: client.put("put.bin", source, checksums=checksums))
                client.delete("put.bin")
                return seconds

            def copy() -> float:
                seconds = cp_fsync(source, workdir / "cp-copy.bin")
                (workdir / "cp-copy.bin").unlink()
                return seconds

            cp_s, put_s = rounds(args.repeat, copy, dss_put)
            report("PUT", "cp + fsync", cp_s, "DSS PUT, checksums declared", put_s, mib, 0.6)
            md5_whole_s = statistics.median(md5_s) * mib / sample_mib
            print(  # the server must md5 every byte before publishing: md5 bounds the PUT
                f"     md5 alone of the same bytes takes {md5_whole_s:.2f} s "
                f"({mib / md5_whole_s:.0f} MiB/s): the PUT's floor, a ratio of at most "
                f"{statistics.median(cp_s) / md5_whole_s:.2f} against cp + fsync"
            )
            full_put_s = timed(lambda: client.put("put.bin", source))
            print(f"     PUT with the client's checksum pre-pass: {mib / full_put_s:.0f} MiB/s")

            def dss_get() -> float:
                seconds = timed(lambda: client.get("put.bin", workdir / "got.bin"))
                (workdir / "got.bin").unlink()
                return seconds

            raw_s, get_s = rounds(args.repeat, lambda: raw_sendfile_get(source), dss_get)
            report(
                "GET", "raw sendfile + adler32", raw_s, "DSS GET, adler32 verified", get_s, mib, 0.8
            )

            for what, action in (("GET", dss_get), ("PUT", dss_put)):
                server_cpu, client_cpu = cpu_seconds(server, action)
                print(
                    f"     CPU per GiB for one {what}: server {server_cpu / mib * 1024:.2f} s, "
                    f"client {client_cpu / mib * 1024:.2f} s (independent of other load)"
                )

            n = args.concurrency
            idle_rss = server.memory_info().rss
            with ThreadPoolExecutor(n) as pool:
                with PeakRss(server) as put_rss:
                    puts = [
                        pool.submit(
                            StorageClient(url, TOKEN).put, f"c/{i}", source, checksums=checksums
                        )
                        for i in range(n)
                    ]
                    put_wall = timed(lambda: [f.result() for f in puts])
                with PeakRss(server) as get_rss:
                    gets = [
                        pool.submit(StorageClient(url, TOKEN).get, f"c/{i}", workdir / f"got-{i}")
                        for i in range(n)
                    ]
                    get_wall = timed(lambda: [f.result() for f in gets])
            peak = max(put_rss.peak, get_rss.peak)
            print(
                f"{n} concurrent PUTs {n * mib / put_wall:.0f} MiB/s total, then {n} "
                f"concurrent GETs {n * mib / get_wall:.0f} MiB/s total; peak server RSS "
                f"{peak / (1 << 20):.0f} MB (target < 200 MB; {put_rss.peak / (1 << 20):.0f} "
                f"during the PUTs, {get_rss.peak / (1 << 20):.0f} during the GETs), of which "
                f"{idle_rss / (1 << 20):.0f} MB before the transfers (the `sdc` process at rest)"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
