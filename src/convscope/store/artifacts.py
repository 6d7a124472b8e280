"""Where run folders live: a local or shared folder, or an object store through fsspec.

``CONVSCOPE_ARTIFACTS`` (or ``--artifacts``) is the artifact root; without it, ``<home>``. Each run's
folder is ``<root>/runs/<id>/`` (config.yaml, best/last.safetensors, curves.png, report.html) and its
row in the store records that location, so any node can find a run's files. A search's HTML report
(``convscope report SEARCH``) is written to ``<home>/searches/<name>.html`` and copied to
``<root>/searches/<name>.html``, its links to run reports relative to the root.

- A folder (``/mnt/shared/convscope``, ``file:///...``): files are written there directly. On a
  cluster it must be the same path on every node (NFS, a bind mount).
- Anything else fsspec can write (``s3://bucket/prefix``, ``gcs://``, ``memory://``, ``dir::...``):
  training writes into a local staging folder (``<home>/staging/runs/<id>``: safetensors, matplotlib
  and the HTML report all want a real file) and :meth:`ArtifactRoot.push` uploads what changed after
  each checkpoint; a node that resumes the run elsewhere calls :meth:`ArtifactRoot.pull` first.

Example:
    >>> root = ArtifactRoot("memory://convscope-doc", staging="/tmp/convscope-doc-staging")
    >>> root.is_local, root.location(3)
    (False, 'memory:///convscope-doc/runs/3')
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import fsspec

from convscope.errors import StoreError

ARTIFACTS_ENV = "CONVSCOPE_ARTIFACTS"

_checked: set[tuple[int, str]] = set()


class ArtifactRoot:
    """The artifact root ``root`` (a path or an fsspec URL).

    Args:
        root: a folder or an fsspec URL.
        staging: the local folder remote roots are staged in.
    """

    def __init__(self, root: str | Path, *, staging: str | Path) -> None:
        self.root = str(root)
        self.fs, self._path = fsspec.core.url_to_fs(self.root)
        # the local filesystem's protocols are ("file", "local"); everything else is reached through fsspec
        self.is_local = "file" in _protocols(self.fs)
        self.staging = Path(staging)

    def run_dir(self, run_id: int) -> Path:
        """The local folder training writes run ``run_id``'s files into."""
        base = Path(self._path) if self.is_local else self.staging
        return base / "runs" / str(run_id)

    def location(self, run_id: int) -> str:
        """Where run ``run_id``'s folder lives, as recorded in its row."""
        if self.is_local:
            return str(self.run_dir(run_id))
        return self.fs.unstrip_protocol(f"{self._path.rstrip('/')}/runs/{run_id}")

    def check_writable(self) -> None:
        """Raise a StoreError naming the root unless a file can be written there (checked once per process)."""
        key = (os.getpid(), self.root)
        if key in _checked:
            return
        probe = f"{self._path.rstrip('/')}/.convscope-write-test-{uuid.uuid4().hex}"
        try:
            self.fs.makedirs(self._path, exist_ok=True)
            self.fs.pipe_file(probe, b"ok")
            self.fs.rm_file(probe)
        except (OSError, PermissionError) as exc:
            raise StoreError(f"{ARTIFACTS_ENV}/--artifacts: '{self.root}' is not writable ({exc})",
                             hint="point it at a folder (or bucket) this user can write on every node") from None
        _checked.add(key)

    def push(self, run_id: int) -> None:
        """Upload run ``run_id``'s new or changed files to a remote root (a folder root: nothing to do)."""
        if self.is_local:
            return
        local = self.run_dir(run_id)
        remote = self.location(run_id)
        marker = local / ".pushed"
        pushed = dict(line.rsplit(" ", 1) for line in marker.read_text().splitlines()) if marker.exists() else {}
        for path in sorted(p for p in local.rglob("*") if p.is_file() and p.name != ".pushed"):
            name = path.relative_to(local).as_posix()
            stamp = f"{path.stat().st_mtime_ns}:{path.stat().st_size}"
            if pushed.get(name) != stamp:
                self.fs.makedirs(f"{remote}/{name}".rsplit("/", 1)[0], exist_ok=True)
                self.fs.put_file(str(path), f"{remote}/{name}")
                pushed[name] = stamp
        marker.write_text("".join(f"{k} {v}\n" for k, v in pushed.items()))

    def is_at(self, home: str | Path) -> bool:
        """Whether this root is the folder ``home`` itself (no artifact root configured)."""
        return self.is_local and Path(self._path).resolve() == Path(home).resolve()

    def search_report_path(self, name: str) -> Path:
        """The local file the root's copy of search ``name``'s HTML report is written to: ``<root>/searches/``
        for a folder root, the staging folder for a remote one (then :meth:`push_search_report` uploads it).
        Either way its links to run reports, ``../runs/<id>/report.html``, hold at the root."""
        base = Path(self._path) if self.is_local else self.staging
        return base / "searches" / f"{name}.html"

    def search_report_location(self, name: str) -> str:
        """Where the root's copy of search ``name``'s report lives (a path, or a URL for a remote root)."""
        if self.is_local:
            return str(self.search_report_path(name))
        return self.fs.unstrip_protocol(f"{self._path.rstrip('/')}/searches/{name}.html")

    def push_search_report(self, name: str) -> str:
        """Upload the staged search report to a remote root (a folder root: already there); its location."""
        if not self.is_local:
            remote = f"{self._path.rstrip('/')}/searches"
            self.fs.makedirs(remote, exist_ok=True)
            self.fs.put_file(str(self.search_report_path(name)), f"{remote}/{name}.html")
        return self.search_report_location(name)

    def pull(self, run_id: int, *, only_missing: bool = False) -> Path:
        """Download run ``run_id``'s files from a remote root into its local folder; returns the folder.

        ``only_missing`` keeps the files already here (to look at a finished run, whose files are final);
        resuming a run downloads everything, since its checkpoint may be newer than a local copy.
        """
        local = self.run_dir(run_id)
        if self.is_local:
            return local
        remote = self.location(run_id)
        _, remote_path = fsspec.core.url_to_fs(remote)
        if self.fs.exists(remote_path):
            for path in self.fs.find(remote_path):
                target = local / Path(path).relative_to(remote_path)
                if only_missing and target.exists():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                self.fs.get_file(path, str(target))
        return local


def _protocols(fs: fsspec.AbstractFileSystem) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


__all__ = ["ARTIFACTS_ENV", "ArtifactRoot"]
