"""The file store: the one module that touches the files of the output folder.

Every file the service makes lives flat in one folder under a name of the service's own
pattern (``jazz_3f2a9c1e7b4d.wav``). The store writes them atomically (a hidden temporary
file, fsynced, then renamed), opens them without following symbolic links, and hands out
only regular files with a single link, so nothing planted in the folder (a symlink or hard
link to ``/etc/passwd``, a directory named like a track) is ever served or trips a write.
"""
from __future__ import annotations

import errno
import os
import re
import socket
import stat
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from .audio_io import TEMP_PREFIX, TEMP_SUFFIX, discard_temporary
from .styles import STYLE_NAMES

STALE_TEMP_S = 3600.0
FILE_EXTENSIONS = ("wav", "flac", "mp3", "ogg", "mid", "json", "zip")
FILE_ID_RE = re.compile(r"^[0-9a-f]{12}$")
FILENAME_RE = re.compile(r"^(" + "|".join(STYLE_NAMES) + r")_([0-9a-f]{12})(?:_[a-z]{1,12})?\.("
                         + "|".join(FILE_EXTENSIONS) + r")$")
MAX_NAME_LENGTH = 64
# A temporary file names the host and process writing it, so one left by a killed process is known
# as such at once (its process is gone), while another process's file being written is kept.
TEMP_WRITER_RE = re.compile(re.escape(TEMP_PREFIX) + r"(?P<host>[A-Za-z0-9.]{1,32})-(?P<pid>[0-9]+)-[a-z0-9_]+"
                            + re.escape(TEMP_SUFFIX) + "$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "", socket.gethostname())[:32] or "host"


def temp_prefix() -> str:
    """The prefix of this process's temporary files: ``.partial-HOST-PID-``."""
    return f"{TEMP_PREFIX}{_host()}-{os.getpid()}-"


def writer_gone(name: str) -> bool:
    """Whether the temporary file ``name`` was written by a process of this host that no longer runs."""
    match = TEMP_WRITER_RE.match(name)
    if match is None or match["host"] != _host():
        return False
    try:
        os.kill(int(match["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


class StoreError(OSError):
    """A file of the store could not be written (folder gone, read-only, disk full)."""


@dataclass(frozen=True)
class StoredFile:
    """A finished file as the store wrote it: its name and size in bytes."""

    name: str
    size: int


@dataclass(frozen=True)
class OpenedFile:
    """A store file opened for reading: the handle, its size and modification time."""

    handle: BinaryIO
    size: int
    mtime: float


def is_store_name(name: str) -> bool:
    """Whether ``name`` is of the pattern the service gives its own files (no path, no dots)."""
    return len(name) <= MAX_NAME_LENGTH and FILENAME_RE.fullmatch(name) is not None


def track_id_of(name: str) -> str | None:
    """The track id a store file name carries, or None for a name that is not ours."""
    match = FILENAME_RE.fullmatch(name) if len(name) <= MAX_NAME_LENGTH else None
    return match.group(2) if match else None


class _WriteGuard:
    """The handle ``fill`` writes into: it keeps the OSError of a failed write.

    Writer libraries calling back into Python (libsndfile's virtual I/O) swallow the error of a
    write and fail later with an error of their own; kept here, the disk's own reason (file too
    large, no space left) is what the store reports.
    """

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return self._handle.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def __getattr__(self, name: str) -> object:
        return getattr(self._handle, name)


class FileStore:
    """Atomic writes, safe reads and listing of the service's files in ``root``.

    Parameters
    ----------
    root : Path
        The output folder; created on first write if missing.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._stranded: set[str] = set()   # temporary files a failed write could not remove

    def discard_stranded(self) -> int:
        """Remove the temporary files failed writes had to leave (their folder was not writable then).

        Returns how many remain.
        """
        for name in list(self._stranded):
            if discard_temporary(name):
                self._stranded.discard(name)
        return len(self._stranded)

    def _path(self, name: str) -> Path:
        if not is_store_name(name):
            raise ValueError(f"not a store file name: {name!r}")
        return self.root / name

    def write(self, name: str, fill: Callable[[BinaryIO], None]) -> StoredFile:
        """Write a file under ``name`` atomically: ``fill`` writes the bytes into a temporary file.

        The temporary file is fsynced and renamed over ``name``, so the name either does not
        exist or holds the complete file. A directory or anything else squatting on the name
        is an error, never silently replaced.

        Raises
        ------
        StoreError
            The folder is missing or read-only, the disk is full, or the name is taken by
            something that is not a regular file.
        """
        dest = self._path(name)
        self.discard_stranded()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(), suffix=TEMP_SUFFIX, dir=self.root)
        except OSError as exc:
            raise StoreError(exc.errno, f"cannot write in {self.root}: {exc.strerror or exc}") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                guard = _WriteGuard(handle)
                try:
                    fill(guard)  # type: ignore[arg-type]
                except BaseException:
                    if guard.error is not None:
                        raise guard.error from None
                    raise
                handle.flush()
                os.fsync(handle.fileno())
                size = os.fstat(handle.fileno()).st_size
            os.chmod(tmp_name, 0o644)
            try:
                existing = os.lstat(dest)
            except FileNotFoundError:
                existing = None
            if existing is not None and not stat.S_ISREG(existing.st_mode):
                raise StoreError(errno.EEXIST, f"{name} is taken by something that is not a regular file")
            os.replace(tmp_name, dest)
            self._sync_folder()
        except BaseException as exc:
            if not discard_temporary(tmp_name):   # gone once the folder is writable again
                self._stranded.add(tmp_name)
            if isinstance(exc, OSError) and not isinstance(exc, StoreError):
                raise StoreError(exc.errno, f"cannot write {name}: {exc.strerror or exc}") from None
            raise
        return StoredFile(name, int(size))

    def _sync_folder(self) -> None:
        """Make the rename itself durable (a crash right after must not lose the new name)."""
        try:
            dir_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)

    @contextmanager
    def open(self, name: str) -> Iterator[OpenedFile | None]:
        """Open a store file for reading, or yield None when there is no such file of ours.

        Symbolic links are never followed (``O_NOFOLLOW``), and only a regular file with
        exactly one link is handed out: a hard link planted in the folder shares its inode with
        a file elsewhere and has two. The handle stays valid if the file is deleted meanwhile.
        """
        opened = self.open_file(name)
        try:
            yield opened
        finally:
            if opened is not None:
                opened.handle.close()

    def open_file(self, name: str) -> OpenedFile | None:
        """Like :meth:`open`, but the caller closes ``handle`` (e.g. once a response is sent)."""
        if not is_store_name(name):
            return None
        try:
            fd = os.open(self.root / name, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NOCTTY", 0)
                         | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            return None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            return None
        return OpenedFile(os.fdopen(fd, "rb"), int(info.st_size), float(info.st_mtime))

    def exists(self, name: str) -> bool:
        """Whether ``name`` is a regular file of ours (a symlink or directory does not count)."""
        try:
            info = os.lstat(self._path(name))
        except (OSError, ValueError):
            return False
        return stat.S_ISREG(info.st_mode)

    def delete(self, name: str) -> bool:
        """Remove ``name`` if present (a symlink is removed, never its target); whether it was there."""
        try:
            os.unlink(self._path(name))
        except FileNotFoundError:
            return False
        except IsADirectoryError:
            return False
        except OSError as exc:
            if exc.errno in (errno.EISDIR, errno.EPERM):
                return False
            raise
        return True

    def names(self) -> list[str]:
        """Names of the entries of our pattern in the folder (whatever their kind), sorted."""
        try:
            with os.scandir(self.root) as entries:
                return sorted(e.name for e in entries if is_store_name(e.name))
        except OSError:
            return []

    def modified_age_s(self, name: str) -> float | None:
        """Seconds since ``name`` was last modified (without following links), or None if absent."""
        try:
            return time.time() - os.lstat(self.root / name).st_mtime
        except OSError:
            return None

    def remove_stale_temp_files(self, max_age_s: float = STALE_TEMP_S) -> int:
        """Remove temporary files of interrupted writes: older than ``max_age_s``, or whose writer died; how many went."""
        removed = 0
        now = time.time()
        try:
            with os.scandir(self.root) as entries:
                candidates = [e.name for e in entries
                              if e.name.startswith(TEMP_PREFIX) and e.name.endswith(TEMP_SUFFIX)]
        except OSError:
            return 0
        for name in candidates:
            path = self.root / name
            try:
                if now - os.lstat(path).st_mtime >= max_age_s or writer_gone(name):
                    os.unlink(path)
                    removed += 1
            except OSError:
                pass
        return removed
