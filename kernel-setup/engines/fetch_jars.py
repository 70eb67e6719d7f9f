#!/usr/bin/env python3
"""Download the jars a lock file pins into one directory, checking each SHA-256.

Usage: fetch_jars.py LOCKFILE DESTDIR

LOCKFILE is written by pin-jars.sh: one jar a line,
"group:artifact:version[:classifier] sha256 filename" ("#" starts a comment).
Each jar comes from $DSGYM_MAVEN_REPO (default https://repo1.maven.org/maven2)
through a download cache shared by every checkout ($DSGYM_MAVEN_CACHE, default
~/.cache/dsgym/maven), so that a reinstall needs no network. Files are written
atomically; jars in DESTDIR that the lock does not list are removed. Running it
twice changes nothing. Progress goes to stderr; exit status 1 means something
could not be downloaded or did not match its pinned checksum (one sentence says
which URL).
"""
import concurrent.futures
import errno
import hashlib
import http.client
import os
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_REPO = "https://repo1.maven.org/maven2"
ATTEMPTS = 4          # tries per jar for transient errors (network, 5xx, 429)
TIMEOUT = 60          # seconds without data before a try counts as failed
CHUNK = 1 << 16
USER_AGENT = "dsgym-fetch-jars/1"
# Errors writing the cache, which no retry fixes.
LOCAL_ERRNOS = {errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EDQUOT, errno.EPERM}


class Fatal(Exception):
    """An error that retrying will not fix; its message is one sentence."""


class Stopped(Exception):
    """Another download failed: give up on this one quietly."""


class Jar:
    def __init__(self, coord: str, sha256: str, filename: str):
        parts = coord.split(":")
        if len(parts) not in (3, 4) or not all(parts):
            raise ValueError(f"{coord!r} is not group:artifact:version[:classifier]")
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"{sha256!r} is not a SHA-256")
        if "/" in filename or filename.startswith("."):
            raise ValueError(f"{filename!r} is not a plain file name")
        self.coord, self.sha256, self.filename = coord, sha256, filename
        group, artifact, version = parts[:3]
        self.path = "/".join([group.replace(".", "/"), artifact, version, filename])


def read_lock(path: str) -> list:
    jars = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = line.split()
            try:
                if len(fields) != 3:
                    raise ValueError("expected three fields")
                jars.append(Jar(*fields))
            except ValueError as e:
                raise Fatal(f"{path}:{n} is not a lock line ({e}); re-create it with pin-jars.sh")
    names = [j.filename for j in jars]
    if len(set(names)) != len(names):
        raise Fatal(f"{path} lists one file name twice; re-create it with pin-jars.sh")
    return jars


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_copy(src: str, dest: str) -> None:
    d = os.path.dirname(dest)
    fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(dest) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, 1 << 20)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class Progress:
    """Counts jars and bytes; prints at most a few times a second (a tty) or
    every few seconds (a log), and once at the end."""

    def __init__(self, total: int):
        self.total, self.done, self.bytes, self.fetched = total, 0, 0, 0
        self.lock = threading.Lock()
        self.tty = sys.stderr.isatty()
        self.every = 0.25 if self.tty else 5.0
        self.last = time.monotonic()

    def add_bytes(self, n: int) -> None:
        with self.lock:
            self.fetched += n
            self._show(False)

    def jar_done(self, size: int) -> None:
        with self.lock:
            self.done += 1
            self.bytes += size
            self._show(False)

    def _show(self, final: bool) -> None:
        now = time.monotonic()
        if not final and now - self.last < self.every:
            return
        self.last = now
        msg = (f"    {self.done}/{self.total} jars, {self.bytes / 1e6:.1f} MB"
               f" ({self.fetched / 1e6:.1f} MB downloaded)")
        if self.tty:
            sys.stderr.write("\r" + msg + ("\n" if final else ""))
        else:
            sys.stderr.write(msg + "\n")
        sys.stderr.flush()

    def finish(self) -> None:
        with self.lock:
            self._show(True)


def transient(e: Exception) -> bool:
    if isinstance(e, urllib.error.HTTPError):
        return e.code >= 500 or e.code in (408, 429)
    return isinstance(e, (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError,
                          http.client.HTTPException, OSError))


_local = threading.local()


def _no_pool(scheme: str, host: str) -> bool:
    """Whether urllib must fetch (another scheme, or a proxy is configured)."""
    if scheme not in ("http", "https"):
        return True
    return bool(urllib.request.getproxies().get(scheme)) and not urllib.request.proxy_bypass(host)


def open_url(url: str):
    """GET url; returns (response, drop). Each thread keeps its connection to
    the registry alive between jars (one TCP and TLS setup per thread rather
    than per jar); drop() discards it after a failed or abandoned read."""
    parts = urllib.parse.urlsplit(url)
    if _no_pool(parts.scheme, parts.hostname or ""):
        req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        return urllib.request.urlopen(req, timeout=TIMEOUT), lambda: None
    conns = _local.__dict__.setdefault("conns", {})
    key = (parts.scheme, parts.netloc)
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")

    def drop() -> None:
        conn = conns.pop(key, None)
        if conn is not None:
            conn.close()

    while True:
        conn = conns.get(key)
        reused = conn is not None
        if conn is None:
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=TIMEOUT,
                                                   context=ssl.create_default_context())
            else:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
            conns[key] = conn
        try:
            conn.request("GET", path, headers={"User-Agent": USER_AGENT})
            resp = conn.getresponse()
        except (ConnectionError, http.client.ImproperConnectionState):
            drop()
            if reused:
                continue  # the registry closed an idle connection: open a new one
            raise
        except BaseException:
            drop()
            raise
        if resp.status == 200:
            return resp, drop
        resp.read()
        if resp.will_close:
            drop()
        if resp.status in (301, 302, 303, 307, 308) and resp.getheader("Location"):
            # A mirror that redirects (to a CDN, say): let urllib follow it.
            req = urllib.request.Request(urllib.parse.urljoin(url, resp.getheader("Location")),
                                         headers={"User-Agent": USER_AGENT})
            return urllib.request.urlopen(req, timeout=TIMEOUT), lambda: None
        raise urllib.error.HTTPError(url, resp.status, resp.reason, resp.headers, None)


def download(url: str, jar: Jar, cache_path: str, progress: Progress, stop: threading.Event) -> None:
    """Download url into cache_path (atomically), checking its SHA-256."""
    os.makedirs(os.path.dirname(cache_path), exist_ok=True)
    delay = 1.0
    for attempt in range(1, ATTEMPTS + 1):
        if stop.is_set():
            return
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(cache_path), prefix="." + jar.filename + ".", suffix=".tmp")
        got = 0
        try:
            h = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                resp, drop = open_url(url)
                try:
                    want_len = resp.headers.get("Content-Length")
                    while True:
                        if stop.is_set():
                            raise Stopped()
                        block = resp.read(CHUNK)
                        if not block:
                            break
                        out.write(block)
                        h.update(block)
                        got += len(block)
                        progress.add_bytes(len(block))
                    if want_len is not None and want_len.isdigit() and int(want_len) != got:
                        raise http.client.IncompleteRead(b"", int(want_len) - got)
                except BaseException:
                    drop()
                    raise
                finally:
                    resp.close()
            if h.hexdigest() != jar.sha256:
                raise Fatal(f"{url} does not match the SHA-256 pinned for {jar.coord} "
                            f"(got {h.hexdigest()}, want {jar.sha256}), so it was not used: "
                            "a proxy or mirror may be serving a different file")
            os.chmod(tmp, 0o644)
            os.replace(tmp, cache_path)
            return
        except (Fatal, Stopped):
            os.unlink(tmp)
            progress.add_bytes(-got)
            raise
        except Exception as e:  # noqa: BLE001 - sorted into transient and not below
            try:
                os.unlink(tmp)
            except OSError:
                pass
            progress.add_bytes(-got)
            if getattr(e, "errno", None) in LOCAL_ERRNOS:
                raise Fatal(f"cannot write the download cache {os.path.dirname(cache_path)}: {e.strerror}")
            if isinstance(e, urllib.error.HTTPError) and not transient(e):
                raise Fatal(f"could not download {url}: the registry answered HTTP {e.code} {e.reason}")
            if attempt == ATTEMPTS or not transient(e):
                reason = getattr(e, "reason", None) or e
                raise Fatal(f"could not download {url} after {attempt} tries ({reason}): "
                            "check the network, or point DSGYM_MAVEN_REPO at a reachable Maven mirror")
            time.sleep(delay)
            delay *= 2


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: fetch_jars.py LOCKFILE DESTDIR", file=sys.stderr)
        return 2
    lock_path, dest = sys.argv[1], sys.argv[2]
    repo = os.environ.get("DSGYM_MAVEN_REPO", "").rstrip("/") or DEFAULT_REPO
    cache = os.environ.get("DSGYM_MAVEN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "dsgym", "maven")
    threads = os.environ.get("DSGYM_FETCH_THREADS", "4")
    threads = max(1, int(threads)) if threads.isdigit() else 4
    try:
        jars = read_lock(lock_path)
    except OSError as e:
        print(f"error: cannot read {lock_path}: {e.strerror}", file=sys.stderr)
        return 1
    except Fatal as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        os.makedirs(dest, exist_ok=True)
    except OSError as e:
        print(f"error: cannot create {dest}: {e.strerror}.", file=sys.stderr)
        return 1

    progress = Progress(len(jars))
    stop = threading.Event()

    def one(jar: Jar) -> None:
        if stop.is_set():
            return
        target = os.path.join(dest, jar.filename)
        if os.path.isfile(target) and sha256_file(target) == jar.sha256:
            progress.jar_done(os.path.getsize(target))
            return
        cached = os.path.join(cache, jar.path)
        if not (os.path.isfile(cached) and sha256_file(cached) == jar.sha256):
            download(repo + "/" + jar.path, jar, cached, progress, stop)
            if stop.is_set():
                return
        atomic_copy(cached, target)
        progress.jar_done(os.path.getsize(target))

    error = None
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(one, j) for j in jars]
        for fut in concurrent.futures.as_completed(futures):
            try:
                fut.result()
            except Stopped:
                pass
            except Fatal as e:
                error = error or str(e)
                stop.set()
            except OSError as e:
                error = error or f"cannot write {e.filename or dest}: {e.strerror or e}"
                stop.set()
    if error:
        if progress.tty:
            sys.stderr.write("\n")
        print(f"error: {error}.", file=sys.stderr)
        return 1

    # Jars the lock no longer lists (an older pin), and leftovers of an interrupted run.
    keep = {j.filename for j in jars}
    for name in os.listdir(dest):
        stale_jar = name.endswith(".jar") and name not in keep
        stale_tmp = name.startswith(".") and name.endswith(".tmp")
        if stale_jar or stale_tmp:
            os.unlink(os.path.join(dest, name))
    # Partial downloads an interrupted run left in the cache (old enough not
    # to be another run's, which may share the cache).
    for d in sorted({os.path.dirname(os.path.join(cache, j.path)) for j in jars}):
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for name in names:
            p = os.path.join(d, name)
            try:
                if name.startswith(".") and name.endswith(".tmp") and time.time() - os.path.getmtime(p) > 3600:
                    os.unlink(p)
            except OSError:
                pass
    progress.finish()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
