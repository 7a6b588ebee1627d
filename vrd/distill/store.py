"""The resumable output of a distill run: append-only Parquet shards plus small done-markers.

Layout of OUT/:

- `part-<shard>-<seq>-<uuid>.parquet`: one committed batch of response rows, written with
  `vrd.schema.write_shard` (tmp file + rename), so a shard is either whole or absent. Shard
  processes name their files by their own tag and a uuid, so they never clobber each other.
- `done/<shard>-<session>.jsonl`: one line per committed batch, appended and fsynced after the
  shard's rename, listing every problem the batch finished with its counts, including the
  problems that kept no rows (nothing in a shard would say they were done).
- `rejects.jsonl`: rows set aside (bad image, engine error) with their reason.
- `manifest.json`: config, config hash, per-shard status and counts.

What is done is recovered from the files themselves (ids in the shards, plus the markers), not
from a counter in the manifest, so a `kill -9` anywhere loses at most the batch in flight: a
shard renamed before its marker was written still counts through its own ids, and the marker
only adds the zero-row problems, which are simply redone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from vrd.distill.config import DistillConfig, diff_settings
from vrd.distill.sharding import shard_tag
from vrd.errors import VrdError
from vrd.outputs import (
    LOCK_DIR,
    FileLock,
    OutputLockedError,
    append_line,
    check_out,
    exchange_paths,
    fsync_path,
    lock_output,
)
from vrd.schema import SchemaError, read_manifest, shard_files, write_manifest, write_shard

PART_PREFIX = "part-"
DONE_DIR = "done"
REJECTS = "rejects.jsonl"
MANIFEST_MAX_IDS = 200_000  # beyond this the manifest would get heavy; the files still hold the ids


class ConfigMismatchError(VrdError):
    """The output dir holds a run made with different settings."""


class RunLockedError(OutputLockedError):
    """Another process is writing the same shard of the same run."""


class DuplicateRowsError(VrdError):
    """A (problem, round, sample) row appears more than once."""


@dataclass
class ProblemRecord:
    """What a done-marker says about one finished problem."""

    id: str
    n_samples: int
    n_correct: int
    n_samples_r1: int
    n_correct_r1: int
    generated: int  # completions drawn, errors included
    kept: int
    status: str = "ok"  # "ok" | "rejected" (bad input: done, nothing to sample)


def _append_line(path: Path, record: Mapping[str, Any]) -> None:
    """One JSON line, appended in a single write and fsynced (O_APPEND keeps writers from interleaving)."""
    append_line(path, json.dumps(record, ensure_ascii=False, default=str), durable=True)


def _read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """JSON lines, skipping a torn last line left by a kill in the middle of a write."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                yield value


def part_files(out: str | os.PathLike) -> list[Path]:
    out = Path(out)
    return sorted(out.glob(f"{PART_PREFIX}*.parquet")) if out.is_dir() else []


def read_rejects(out: str | os.PathLike) -> list[dict[str, Any]]:
    """rejects.jsonl without repeats (a rerun retrying a failing request logs it again)."""
    path = Path(out) / REJECTS
    if not path.exists():
        return []
    seen: dict[str, dict[str, Any]] = {}
    for rec in _read_lines(path):
        key = json.dumps({k: v for k, v in rec.items() if k not in ("time", "shard")}, sort_keys=True, default=str)
        seen.setdefault(key, rec)
    return list(seen.values())


def check_unique(out: str | os.PathLike) -> int:
    """Raise DuplicateRowsError if any (id, round, sample) appears twice; return the row count."""
    counts: Counter[tuple[str, int, int]] = Counter()
    where: dict[tuple[str, int, int], list[str]] = {}
    for f in shard_files(out):
        table = pq.read_table(f, columns=["id", "round", "sample"])
        for key in zip(*(table.column(c).to_pylist() for c in ("id", "round", "sample")), strict=True):
            counts[key] += 1
            where.setdefault(key, []).append(f.name)
    dupes = [k for k, n in counts.items() if n > 1]
    if dupes:
        shown = "; ".join(f"{k[0]} round {k[1]} sample {k[2]} in {', '.join(where[k])}" for k in dupes[:5])
        raise DuplicateRowsError(f"{out}: {len(dupes)} duplicated (id, round, sample) row(s): {shown}")
    return sum(counts.values())


class ShardStore:
    """The writer for one shard (or the whole) of a run. Use `open()`, then `commit()` per batch."""

    def __init__(self, out: str | os.PathLike, shard: str | None = None) -> None:
        self.out = Path(out)
        self.shard = shard
        self.tag = shard_tag(shard)
        self.session = uuid.uuid4().hex[:8]
        self.moved_to: Path | None = None
        self.resumed = False
        self._locks: list[FileLock] = []
        self._seq = 0
        self.config_hash: str | None = None

    # -- opening ----------------------------------------------------------------------------

    def open(self, config: DistillConfig, *, new_run: bool = False, engine_info: Mapping[str, Any] | None = None
             ) -> ShardStore:
        """Check that OUT holds this run (or nothing), take the locks, write the manifest.

        A different config is refused with the differences listed, unless `new_run`, which
        moves the old run to a sibling `OUT.prev-<time>` (nothing is deleted). `new_run` on a
        run with the same config resumes it, so every shard of a run can be given the same flags.
        """
        self.config_hash = config.config_hash()
        check_out(self.out, "distill")
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            return self._open_locked(config, new_run, engine_info)
        except BaseException:
            self.close()
            raise

    def _open_locked(self, config: DistillConfig, new_run: bool, engine_info: Mapping[str, Any] | None
                     ) -> ShardStore:
        mismatch = self._mismatch(config)
        if mismatch is not None and self._holds_nothing():
            mismatch = None  # a run that stopped before its first sample (a teacher that did not load) is replaced
        if mismatch is not None:
            if not new_run:
                raise ConfigMismatchError(
                    f"{self.out} holds a different run ({mismatch}). Rerun with the same settings to resume it, "
                    f"or pass --new-run to move it to {self.out.name}.prev-<time> and start over."
                )
            self._move_aside()
        self._cleanup_tmp()
        self.resumed = bool(part_files(self.out)) or (self.out / DONE_DIR).exists()
        self._seq = len(list(self.out.glob(f"{PART_PREFIX}{self.tag}-*.parquet")))
        self._update_manifest(config, status="running", engine_info=engine_info)
        return self

    def _holds_nothing(self) -> bool:
        """No samples, no finished problems and no rejects: only the manifest of a run that never started."""
        out = self.out
        return not part_files(out) and not (out / DONE_DIR).exists() and not (out / REJECTS).exists() \
            and not any(out.glob("*.parquet"))

    def _lock(self, where: Path | None = None) -> None:
        """Unsharded runs own the dir; shard runs share it but each shard has one writer.

        The run lock is the one every vrd writer takes (`vrd.outputs.lock_output`), so a
        `vrd eval` or `vrd data synth` on the same folder is refused while any shard runs.
        """
        unsharded = self.shard is None
        try:
            run = lock_output(where or self.out, "distill", shared=not unsharded,
                              holder="distill (unsharded)" if unsharded else None)
        except OutputLockedError as exc:
            raise RunLockedError(str(exc)) from None
        self._locks.append(run)
        if self.shard is not None:
            mine = FileLock((where or self.out) / LOCK_DIR / f"{self.tag}.lock")
            if not mine.take(exclusive=True, holder=f"distill --shard {self.shard}"):
                who = mine.holder()
                mine.release()
                self.close()
                raise RunLockedError(f"{self.out}: shard {self.shard} is already being written by {who}")
            self._locks.append(mine)

    def _mismatch(self, config: DistillConfig) -> str | None:
        """Why OUT is not this run, or None when it is (or is empty)."""
        manifest = read_manifest(self.out)
        info = manifest.get("distill") if isinstance(manifest, dict) else None
        if not manifest:
            if part_files(self.out) or list(self.out.glob("*.parquet")):
                return "Parquet files but no manifest.json"
            return None
        if not isinstance(info, dict) or "config_hash" not in info:
            return f"a {manifest.get('kind', 'non-distill')} dataset, not a distill run"
        if info["config_hash"] == self.config_hash:
            return None
        changes = diff_settings(info.get("result_settings", {}), config.result_settings())
        return "changed: " + ("; ".join(changes) if changes else "config hash differs")

    def _move_aside(self) -> None:
        """OUT goes to OUT.prev-<time>; a fresh OUT, already locked by us, takes its place in one swap."""
        run = self._locks[0]
        if self.shard is not None and not run.take(exclusive=True):
            raise RunLockedError(f"{self.out}: other shards are still writing it; --new-run cannot move it aside now")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.out.with_name(f"{self.out.name}.prev-{stamp}")
        n = 1
        while target.exists():
            target = self.out.with_name(f"{self.out.name}.prev-{stamp}-{n}")
            n += 1
        fresh = self.out.with_name(f".{self.out.name}.staging-{os.getpid()}")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir()
        old_locks, self._locks = self._locks, []
        try:
            self._lock(fresh)
        except BaseException:
            self._locks = old_locks
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        if exchange_paths(fresh, self.out):
            os.rename(fresh, target)  # `fresh` now names the old run
        else:  # no RENAME_EXCHANGE: two renames, with a moment where OUT is missing
            os.rename(self.out, target)
            os.rename(fresh, self.out)
        for lock in self._locks:
            lock.path = self.out / LOCK_DIR / lock.path.name
        for lock in old_locks:
            lock.release()
        self.moved_to = target

    def _cleanup_tmp(self) -> None:
        """Half-written shards from a killed run. Only our own tag's: other shards may be writing theirs."""
        pattern = "*.tmp" if self.shard is None else f"{PART_PREFIX}{self.tag}-*.tmp"
        for tmp in self.out.glob(pattern):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    # -- reading what is done ---------------------------------------------------------------

    def records(self) -> dict[str, ProblemRecord]:
        """Every finished problem of the whole run (all shards), recovered from the files."""
        found: dict[str, ProblemRecord] = {}
        done_dir = self.out / DONE_DIR
        if done_dir.is_dir():
            fields = set(ProblemRecord.__dataclass_fields__)
            for marker in sorted(done_dir.glob("*.jsonl")):
                for line in _read_lines(marker):
                    for p in line.get("problems", []):
                        found[p["id"]] = ProblemRecord(**{k: v for k, v in p.items() if k in fields})
        for f in part_files(self.out):
            try:
                table = pq.read_table(f, columns=["id", "n_samples", "n_correct", "n_samples_r1", "n_correct_r1"])
            except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a bad file
                raise SchemaError(f"is not a readable shard ({exc}); move it away to resume", path=f) from exc
            kept: Counter[str] = Counter(table.column("id").to_pylist())
            for row in table.to_pylist():
                if row["id"] not in found:  # shard renamed, marker not yet written: recover from the rows
                    found[row["id"]] = ProblemRecord(row["id"], row["n_samples"], row["n_correct"],
                                                     row["n_samples_r1"], row["n_correct_r1"],
                                                     generated=row["n_samples"], kept=kept[row["id"]])
        return found

    def done_ids(self) -> set[str]:
        return set(self.records())

    # -- writing ----------------------------------------------------------------------------

    def commit(self, rows: Sequence[Mapping[str, Any]], problems: Iterable[ProblemRecord]) -> Path | None:
        """Make one batch durable: shard first (atomic rename), then its done-marker line."""
        problems = list(problems)
        path: Path | None = None
        if rows:
            name = f"{PART_PREFIX}{self.tag}-{self._seq:06d}-{uuid.uuid4().hex[:8]}.parquet"
            path = write_shard(rows, self.out / name, kind="responses")
            fsync_path(path)
            fsync_path(self.out)
            self._seq += 1
        if problems:
            done_dir = self.out / DONE_DIR
            done_dir.mkdir(exist_ok=True)
            _append_line(done_dir / f"{self.tag}-{self.session}.jsonl",
                         {"shard": path.name if path else None, "time": time.time(),
                          "problems": [asdict(p) for p in problems]})
        return path

    def add_rejects(self, records: Iterable[Mapping[str, Any]]) -> int:
        n = 0
        from vrd.redact import redact

        for rec in records:  # a reason may quote a server's reply or a library's message about the URL
            _append_line(self.out / REJECTS, redact({"shard": self.shard, "time": time.time(), **rec}))
            n += 1
        return n

    # -- manifest ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _manifest_lock(self) -> Iterator[None]:
        """Shard processes share manifest.json; write_manifest's tmp file must not be shared at once."""
        lock = FileLock(self.out / LOCK_DIR / "manifest.lock")
        lock.take(exclusive=True, block=True)
        try:
            yield
        finally:
            lock.release()

    def totals(self, records: Mapping[str, ProblemRecord] | None = None) -> dict[str, Any]:
        """Counts over the whole run (every shard), from the files."""
        records = self.records() if records is None else records
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in part_files(self.out))
        sampled = [r for r in records.values() if r.n_samples > 0]
        generated = sum(r.generated for r in records.values())
        n_samples = sum(r.n_samples for r in records.values())
        kept = sum(r.kept for r in records.values())
        return {
            "problems_done": len(records),
            "problems_rejected": sum(r.status != "ok" for r in records.values()),
            "rows": rows,
            "shards": len(part_files(self.out)),
            "generated": generated,
            "samples": n_samples,
            "kept": kept,
            "correct": sum(r.n_correct for r in records.values()),
            "acceptance": kept / generated if generated else 0.0,
            "pass_rate_mean": (sum(r.n_correct / r.n_samples for r in sampled) / len(sampled)) if sampled else 0.0,
            "pass_rate_r1_mean": (sum(r.n_correct_r1 / r.n_samples_r1 for r in sampled if r.n_samples_r1)
                                  / max(1, sum(1 for r in sampled if r.n_samples_r1))),
            "rejects": len(read_rejects(self.out)),
        }

    def _update_manifest(self, config: DistillConfig, *, status: str,
                         engine_info: Mapping[str, Any] | None = None, run: Mapping[str, Any] | None = None) -> None:
        with self._manifest_lock():
            manifest = read_manifest(self.out)
            info = dict(manifest.get("distill") or {})
            info["config_hash"] = self.config_hash
            info["result_settings"] = config.result_settings()
            shards = dict(info.get("shards") or {})
            entry = dict(shards.get(self.tag) or {})
            entry.update({"config": config.to_dict(), "status": status,
                          "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
            if engine_info is not None:
                entry["engine"] = dict(engine_info)
            if run is not None:
                entry["last_invocation"] = dict(run)
            shards[self.tag] = entry
            info["shards"] = shards
            records = self.records()
            totals = self.totals(records)
            write_manifest(
                self.out, kind="responses", config_hash=self.config_hash, distill=info,
                rows=totals["rows"], shards=totals["shards"], counts=totals,
                done={"problems": totals["problems_done"],
                      "ids": sorted(records) if len(records) <= MANIFEST_MAX_IDS else None,
                      "source_of_truth": f"ids of the rows in {PART_PREFIX}*.parquet plus {DONE_DIR}/*.jsonl; "
                                         "this list is a snapshot taken when a run starts or stops"},
                rejects={"file": REJECTS, "count": totals["rejects"]},
            )

    def finish(self, config: DistillConfig, *, status: str, engine_info: Mapping[str, Any] | None = None,
               run: Mapping[str, Any] | None = None) -> dict[str, Any]:
        self._update_manifest(config, status=status, engine_info=engine_info, run=run)
        return self.totals()

    def close(self) -> None:
        for lock in reversed(self._locks):
            lock.release()
        self._locks = []

    def __enter__(self) -> ShardStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
