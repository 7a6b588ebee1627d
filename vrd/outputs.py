"""One write discipline for every command that writes a dataset directory (`--out`).

1. Check before any work: `--out` is not a file, does not lie inside an input (nor hold one),
   and is empty, new, or an output of the same kind of writer; readers `rglob` shards and
   writers merge manifests, so a second kind of dataset in one folder corrupts both.
2. Lock: one writer per output directory, one lock file (`OUT/.locks/write.lock`) for every
   command (an `flock`, released by the kernel even on `kill -9`, so a dead writer never blocks
   the next); the refusal names the command and pid that holds it. The shards of one distill run
   share it. Kinds are checked again once the lock is held.
3. Writers that replace their output (prepare, synth, curate, export) build the new content in
   a sibling staging folder, fsync it, write the manifest last, then swap it in with one atomic
   `renameat2(RENAME_EXCHANGE)`: a kill at any moment leaves either the old or the new output,
   whole. Writers that extend their output (distill, eval) append whole shards (tmp + rename).
4. Staging folders of processes that died are removed by the next writer of the same output.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import json
import os
import shutil
import signal
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from vrd.errors import ConfigError, VrdError

LOCK_DIR = ".locks"
WRITE_LOCK = "write.lock"
MANIFEST = "manifest.json"
EXPORT_MARK = ".vrd-export.json"  # hidden: EasyR1 and LLaMA-Factory read every visible file of the folder
# EasyR1 (verl/utils/dataset.py, RLHFDataset.__init__) takes the file type of a directory from
# `os.listdir(dir)[0]`, hidden entries included and in the filesystem's order: a `.json` mark that
# happens to come first makes it parse the Parquet files as JSON. Its exports carry the mark
# under a `.parquet` name (`datasets` skips hidden files, so nothing reads it as data).
EXPORT_MARK_PARQUET = ".vrd-export.parquet"
EXPORT_MARKS = (EXPORT_MARK, EXPORT_MARK_PARQUET)

# Writers whose outputs may replace each other: a `data synth` over a `data prepare` output is
# fine, a `data synth` over a distill run is not.
FAMILIES = {
    "prepare": "problems", "synth": "problems", "problems": "problems",
    "distill": "responses", "responses": "responses",
    "eval": "eval",
    "curate": "curate",
    "export": "export",
}


class OutputError(ConfigError):
    """`--out` cannot be written: a file, inside an input, or another kind of dataset."""


class OutputLockedError(VrdError):
    """Another process is writing the same output directory."""


# -- what is in a folder ----------------------------------------------------------------------


def producer_of(path: Path) -> str | None:
    """The writer that made `path` ('distill', 'curate', ...), or None for a folder vrd did not write."""
    manifest: dict = {}
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except FileNotFoundError:
        pass
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return "unreadable manifest"
    if not isinstance(manifest, dict):
        return "unreadable manifest"
    if manifest.get("producer"):
        return str(manifest["producer"])
    if any((path / mark).exists() for mark in EXPORT_MARKS):
        return "export"
    if "distill" in manifest:
        return "distill"
    if (path / "curation.json").exists():
        return "curate"
    if manifest.get("kind") in ("eval", "problems", "responses"):
        return str(manifest["kind"])
    return None


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_out(out: str | os.PathLike, producer: str, inputs: Iterable[str | os.PathLike | None] = ()) -> Path:
    """Refuse an `--out` this writer must not write (see the module docstring); returns it as a Path."""
    out = require_out_dir(out)
    resolved = out.resolve()
    for given in inputs:
        if given is None or str(given) == "":
            continue
        inp = Path(given).resolve()
        if _inside(resolved, inp):
            raise OutputError(f"{out}: --out lies inside the input {given}; the input would read its own output. "
                              "Choose a directory outside it")
        if _inside(inp, resolved):
            raise OutputError(f"{out}: --out holds the input {given}; writing would replace it. "
                              "Choose another directory")
    if out.is_dir():
        found = producer_of(out)
        if found is None:
            visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
            if visible:
                raise OutputError(f"{out}: exists and is not a vrd output (it holds {visible[0]}); "
                                  "choose a new or empty --out")
        elif FAMILIES.get(found) != FAMILIES.get(producer, producer):
            raise OutputError(f"{out}: holds a `{found}` dataset; `vrd {producer}` will not write into it "
                              "(readers would mix the two). Choose another --out")
    return out


def require_out_dir(out: str | os.PathLike, flag: str = "--out") -> Path:
    """Refuse, before any work, an output path that is an existing file (or lies under one)."""
    out = Path(out)
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                raise OutputError(f"{out}: {flag} must be a directory, but {p} is a file")
            break
    return out


# -- locks --------------------------------------------------------------------------------------


class FileLock:
    """An flock on a file; the OS drops it when the process dies, even on kill -9.

    The holder writes its pid and command into the file, so whoever is refused can say who holds it.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._named = False

    def take(self, exclusive: bool = True, block: bool = False, holder: str | None = None) -> bool:
        assert self.fd is not None
        flags = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if block else fcntl.LOCK_NB)
        for _attempt in range(100):
            try:
                fcntl.flock(self.fd, flags)
            except BlockingIOError:
                return False
            if self._current():
                break
            # The folder was swapped (replace_dir) or moved aside while we waited: this file is no
            # longer the lock of `path`, and holding it would let two writers in. Open the new one.
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        else:  # pragma: no cover - a folder swapped a hundred times while we looked
            return False
        if holder is not None and exclusive:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, f"{os.getpid()} {holder}\n".encode(), 0)
            self._named = True
        return True

    def _current(self) -> bool:
        """Is the open file still the one at `path`?"""
        assert self.fd is not None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(self.fd)
        return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)

    def holder(self) -> str:
        """'`vrd curate` (pid 123)' from what a live holder wrote, or 'another process'."""
        with contextlib.suppress(OSError, ValueError, UnicodeDecodeError):
            pid, _, what = self.path.read_text().strip().partition(" ")
            if pid.isdigit() and _pid_alive(int(pid)):
                return f"`vrd {what}` (pid {pid})" if what else f"pid {pid}"
        return "another process"

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                if self._named:
                    os.ftruncate(self.fd, 0)  # a later holder of a shared lock must not inherit the name
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def lock_output(out: str | os.PathLike, producer: str, *, shared: bool = False, holder: str | None = None) -> FileLock:
    """Take the one-writer lock of `out` (creating the folder); the caller releases it.

    Every command that writes an output folder takes this one lock file, so two different
    commands on one new, empty folder cannot both pass `check_out` and write into it. `shared` is
    for the shards of one `vrd distill` run, which write one folder side by side (each shard has
    its own exclusive lock as well); an exclusive writer is refused while any of them runs.
    Writers named in FAMILIES check `out` again once they hold the lock: a writer that finished
    just before may have turned it into another kind of dataset. `holder` is how a refused
    writer names this one (default: the producer).
    """
    out = require_out_dir(out)  # a file named as --out: one line, not FileExistsError from mkdir
    out.mkdir(parents=True, exist_ok=True)
    fresh = not (out / LOCK_DIR).exists()
    lock = FileLock(out / LOCK_DIR / WRITE_LOCK)
    if not lock.take(exclusive=not shared, holder=None if shared else (holder or producer)):
        who = lock.holder()
        lock.release()
        if who == "another process":  # shared holders leave no name in the file
            who = "one or more `vrd distill --shard` runs" if not shared else "another vrd process"
        raise OutputLockedError(f"{out}: {who} is writing this output; wait for it to finish or choose another --out")
    if producer in FAMILIES:
        try:
            check_out(out, producer)
        except BaseException:
            if fresh and not shared:
                # Refused on a folder that had no lock before (another command's output, an EasyR1
                # export that clients list with os.listdir()[0]): leave it as it was found.
                with contextlib.suppress(OSError):
                    lock.path.unlink()
                    lock.path.parent.rmdir()
            lock.release()
            raise
    return lock


@contextlib.contextmanager
def output_lock(out: str | os.PathLike, producer: str, *, shared: bool = False) -> Iterator[FileLock]:
    """Hold the one-writer lock of `out` (created if needed) for the block (see `lock_output`)."""
    lock = lock_output(out, producer, shared=shared)
    try:
        yield lock
    finally:
        lock.release()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler's stop) takes the same clean path as Ctrl-C in a long run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:  # noqa: ARG001 - signal handler signature
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- durable, atomic replacement ----------------------------------------------------------------


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flush every file and folder under `root` (files first, so a folder is never ahead of them)."""
    dirs = []
    for here, _subdirs, files in os.walk(root):
        for name in files:
            fsync_path(Path(here) / name)
        dirs.append(Path(here))
    for d in reversed(dirs):
        fsync_path(d)


def append_line(path: Path, line: str, *, durable: bool = False) -> None:
    """Append `line` and a newline in one `write` (O_APPEND): a kill leaves the line whole or absent,
    and concurrent writers do not interleave; `durable` also fsyncs it."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def tmp_beside(path: Path, suffix: str = "") -> Path:
    """This process's temporary name for `path` (`.NAME.tmp-PID` + `suffix`), written and then renamed
    over `path`. The temporary files that writers of `path` killed mid-write left are removed first:
    a kill may come at any moment, and nothing else would ever delete them."""
    prefix = f".{path.name}.tmp-"
    with contextlib.suppress(OSError):
        for old in path.parent.iterdir():
            if not old.name.startswith(prefix):
                continue
            rest = old.name[len(prefix):]
            pid = rest[:len(rest) - len(suffix)] if suffix and rest.endswith(suffix) else rest
            if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    old.unlink()
    return path.with_name(f"{prefix}{os.getpid()}{suffix}")


@contextlib.contextmanager
def atomic_path(path: Path, suffix: str = "") -> Iterator[Path]:
    """A temporary name beside `path` (`tmp_beside`) for the caller to write a whole file to; when
    the block ends normally the file is fsynced and renamed over `path`, so `path` holds the old or
    the new content, never a prefix of it (a kill or power cut included). An error removes it.
    `suffix` keeps the extension for writers that pick a format by it (matplotlib's savefig)."""
    tmp = tmp_beside(path, suffix)
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str | Iterable[str]) -> Path:
    """tmp + fsync + rename: the file holds the old or the new text, never a prefix of it. `text`
    may come in pieces (JSONL rows), written as they come."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        if isinstance(text, str):
            fh.write(text)
        else:
            fh.writelines(text)
    return path


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange_paths(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where the kernel or filesystem cannot."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def staging_dirs(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.staging-*")) if out.parent.is_dir() else []


def clean_stale(out: Path) -> list[Path]:
    """Remove staging folders left by writers of `out` that died (kill -9, power loss)."""
    removed = []
    for d in staging_dirs(out):
        pid = d.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and _pid_alive(int(pid)):
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


class Staging:
    """A staging folder beside an output, swapped in whole (`swap_in`) once everything is written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.successor: FileLock | None = None

    def swap_in(self, out: Path, holder: str) -> None:
        """Make the staged folder `out` in one atomic step; `self.path` then holds the old contents.

        The new folder comes in locked by this writer: one that arrives after the swap is refused
        until this one has finished, as it would have been before.
        """
        self.successor = FileLock(self.path / LOCK_DIR / WRITE_LOCK)
        self.successor.take(holder=holder)
        fsync_tree(self.path)
        if not exchange_paths(self.path, out):
            # No RENAME_EXCHANGE here: two renames, with a window where `out` is missing.
            old = out.parent / f".{out.name}.staging-old-{os.getpid()}"
            os.rename(out, old)
            os.rename(self.path, out)
            self.path = old
        fsync_path(out.parent)


def publish(staging: Staging, out: Path, names: Iterable[str], holder: str) -> None:
    """Put the files staged in `staging.path` into `out` (whose lock the caller holds).

    When `out` holds nothing but this writer's files (`names`, and temporary files of dead
    writers), the two folders are swapped in one step: a kill leaves the earlier set or the new
    one, never some of each, and a file the new set lacks goes with the old. When `out` holds
    other files too (a folder the user shares), each file is renamed into it in turn, each whole.
    """
    present = {p.name for p in out.iterdir() if not (p.name.startswith(".") and ".tmp-" in p.name)}
    if present <= {*names, LOCK_DIR}:
        staging.swap_in(out, holder)
        return
    fsync_tree(staging.path)
    for f in sorted(staging.path.iterdir()):
        if f.is_file():
            os.replace(f, out / f.name)
    fsync_path(out)
    fsync_path(out.parent)


@contextlib.contextmanager
def staging_beside(out: Path) -> Iterator[Staging]:
    """A fresh staging folder beside `out`, removed on exit with whatever it then holds (the new
    files after a failure, the old contents after a swap); staging left by dead writers goes first.
    Hold `out`'s write lock around it."""
    clean_stale(out)
    stage = Staging(out.parent / f".{out.name}.staging-{os.getpid()}")
    shutil.rmtree(stage.path, ignore_errors=True)
    stage.path.mkdir()
    try:
        yield stage
    finally:
        shutil.rmtree(stage.path, ignore_errors=True)
        if stage.successor is not None:
            stage.successor.release()


@contextlib.contextmanager
def replace_dir(out: str | os.PathLike, producer: str, inputs: Iterable[str | os.PathLike | None] = (),
                *, keep_lock_dir: bool = True) -> Iterator[Path]:
    """Yield an empty staging folder; on success it becomes `out` in one atomic swap.

    Write the manifest last inside the block. On an exception (or a kill) `out` is untouched
    and the staging folder is removed (by this process, or by the next writer).
    `keep_lock_dir=False` removes `out/.locks` after the swap, while its lock is still held, for
    outputs whose consumer reads every directory entry (EasyR1 types a folder by its first
    entry): a writer that opened the old file is refused, one that comes later makes a new one.
    """
    out = check_out(out, producer, inputs)
    with output_lock(out, producer), staging_beside(out) as stage:
        yield stage.path
        stage.swap_in(out, producer)
        if not keep_lock_dir:
            shutil.rmtree(out / LOCK_DIR, ignore_errors=True)
