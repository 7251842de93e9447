"""Where the local node's downloads, installation and runtime state live."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

OPENSEARCH_VERSION = "2.19.4"
SERVICE_USER = "okta-opensearch"
# Used when running as root: the node runs as SERVICE_USER, which cannot enter /root.
ROOT_NODE_DIR = Path("/var/lib/okta-pipeline")


@dataclass(frozen=True)
class NodeLayout:
    """Downloads go to `cache_dir` (shared by versions); each version's node lives in `node_dir`."""

    cache_dir: Path
    node_dir: Path
    version: str = OPENSEARCH_VERSION

    @property
    def maven_repository(self) -> Path:
        return self.cache_dir / "maven"

    @property
    def home(self) -> Path:
        """The assembled distribution: bin/, lib/, modules/, plugins/."""
        return self.node_dir / "home"

    @property
    def assembly_record(self) -> Path:
        return self.home / "okta-pipeline-assembly.json"

    @property
    def config_dir(self) -> Path:
        return self.node_dir / "config"

    @property
    def data_dir(self) -> Path:
        return self.node_dir / "data"

    @property
    def logs_dir(self) -> Path:
        return self.node_dir / "logs"

    @property
    def tmp_dir(self) -> Path:
        return self.node_dir / "tmp"

    @property
    def state_file(self) -> Path:
        return self.node_dir / "node.json"

    @property
    def console_log(self) -> Path:
        return self.logs_dir / "console.log"

    @classmethod
    def default(cls, environ: Mapping[str, str], version: str = OPENSEARCH_VERSION) -> NodeLayout:
        """XDG directories for a user; for root, a system directory the service user can enter."""
        home = Path(environ.get("HOME") or Path.home())
        cache_root = Path(environ.get("XDG_CACHE_HOME") or home / ".cache")
        cache_dir = Path(environ.get("OKTA_PIPELINE_CACHE_DIR") or cache_root / "okta-pipeline")
        if environ.get("OKTA_PIPELINE_OPENSEARCH_DIR"):
            node_root = Path(environ["OKTA_PIPELINE_OPENSEARCH_DIR"])
        elif os.geteuid() == 0:
            node_root = ROOT_NODE_DIR
        else:
            data_root = Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share")
            node_root = data_root / "okta-pipeline"
        return cls(
            cache_dir=cache_dir, node_dir=node_root / f"opensearch-{version}", version=version
        )
