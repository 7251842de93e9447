"""Start, stop and inspect the single local OpenSearch node."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from okta_pipeline.lib.cluster_endpoint import describe_components
from okta_pipeline.lib.local_opensearch.assembly import (
    PLUGIN_PURPOSE,
    Assembly,
    Progress,
    assemble,
    plugin_sources_dir,
)
from okta_pipeline.lib.local_opensearch.java import JavaRuntime, find_java
from okta_pipeline.lib.local_opensearch.layout import SERVICE_USER, NodeLayout
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings

DEFAULT_PORT = 9200
DEFAULT_HEAP = "512m"
_MAIN_CLASS = "org.opensearch.bootstrap.OpenSearch"


class NodeError(RuntimeError):
    pass


@dataclass(frozen=True)
class RunningNode:
    pid: int
    url: str
    started: bool
    """True when this call started the node; False when it was already running."""


@dataclass(frozen=True)
class NodeStatus:
    running: bool
    url: str | None
    pid: int | None
    version: str | None
    modules: list[str]
    """What the running node reports, or what its home was assembled with when it is stopped."""
    plugins: list[str]
    plugin_origins: dict[str, str]
    """Where each installed plugin came from: a Maven zip, or a build from a source tarball."""
    unavailable_plugins: dict[str, str]
    """Plugins the node lacks, each with why and how to supply it."""


def url_for(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def read_state(layout: NodeLayout) -> dict[str, Any] | None:
    if not layout.state_file.is_file():
        return None
    state: dict[str, Any] = json.loads(layout.state_file.read_text())
    return state


def is_our_node(pid: int, layout: NodeLayout) -> bool:
    """True only for a live OpenSearch process started from this layout's home."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    home_flag = f"-Dopensearch.path.home={layout.home}".encode()
    return _MAIN_CLASS.encode() in cmdline and home_flag in cmdline


def running_node(layout: NodeLayout) -> RunningNode | None:
    state = read_state(layout)
    if state is None or not is_our_node(int(state["pid"]), layout):
        return None
    return RunningNode(pid=int(state["pid"]), url=str(state["url"]), started=False)


def start(
    layout: NodeLayout,
    port: int = DEFAULT_PORT,
    heap: str = DEFAULT_HEAP,
    progress: Progress = lambda _: None,
    environ: Mapping[str, str] | None = None,
    timeout: float = 240.0,
    refresh: bool = False,
) -> RunningNode:
    """Provision the node if needed and start it; a no-op returning its URL when it runs.

    `refresh` retries plugins that could not be had when the node was assembled. Plugins
    Maven does not serve are built from the source tarballs in OKTA_PIPELINE_PLUGIN_SOURCES.
    """
    environ = os.environ if environ is None else environ
    already = running_node(layout)
    if already is not None:
        return already
    if _port_in_use(port):
        raise NodeError(
            f"port {port} on 127.0.0.1 is in use by another process: pass --port with a free "
            "port, or point OPENSEARCH_URL at that server if it is the cluster you want."
        )
    java = find_java(environ)
    assembly = assemble(
        layout,
        java,
        progress,
        refresh=refresh,
        sources_dir=plugin_sources_dir(environ, progress),
        environ=environ,
    )
    _warn_unavailable(assembly, progress)
    user = _service_user(progress) if os.geteuid() == 0 else None
    _prepare_runtime_dirs(layout, port, user, assembly)

    progress(f"Starting OpenSearch {layout.version} on {url_for(port)} with Java {java.major}")
    process = _launch(layout, java, heap, user)
    layout.state_file.write_text(
        json.dumps({"pid": process.pid, "url": url_for(port), "port": port}) + "\n"
    )
    _wait_until_ready(layout, process, url_for(port), timeout)
    return RunningNode(pid=process.pid, url=url_for(port), started=True)


def stop(layout: NodeLayout, timeout: float = 60.0) -> bool:
    """Stop the node this layout started (by its pid only); False when none was running."""
    state = read_state(layout)
    if state is None:
        return False
    pid = int(state["pid"])
    if not is_our_node(pid, layout):
        layout.state_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and is_our_node(pid, layout):
        _reap(pid)
        time.sleep(0.2)
    if is_our_node(pid, layout):
        os.kill(pid, signal.SIGKILL)
        _reap(pid)
    layout.state_file.unlink(missing_ok=True)
    return True


def status(layout: NodeLayout) -> NodeStatus:
    assembly = Assembly.load(layout.assembly_record) or Assembly(version=layout.version)
    node = running_node(layout)
    if node is None:
        return NodeStatus(
            running=False,
            url=None,
            pid=None,
            version=None,
            modules=sorted(assembly.modules),
            plugins=sorted(assembly.plugins),
            plugin_origins=assembly.plugins,
            unavailable_plugins=assembly.unavailable_plugins,
        )
    components = describe_components(OpenSearchSettings(node.url))
    return NodeStatus(
        running=True,
        url=node.url,
        pid=node.pid,
        version=components.version,
        modules=components.modules,
        plugins=components.plugins,
        plugin_origins=assembly.plugins,
        unavailable_plugins=assembly.unavailable_plugins,
    )


def _warn_unavailable(assembly: Assembly, progress: Progress) -> None:
    if not assembly.unavailable_plugins:
        return
    for name, reason in assembly.unavailable_plugins.items():
        progress(
            f"WARNING: plugin {name} is missing, so {PLUGIN_PURPOSE[name]} will not work "
            f"on this node. {reason}"
        )
    progress("Or point OPENSEARCH_URL at a cluster that has them.")


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _service_user(progress: Progress) -> pwd.struct_passwd:
    """OpenSearch refuses to run as root: run it as an unprivileged system user we create."""
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    progress(
        f"Creating unprivileged system user {SERVICE_USER} to run OpenSearch (it refuses root)"
    )
    result = subprocess.run(
        [
            useradd,
            "--system",
            "--user-group",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            SERVICE_USER,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise NodeError(
            f"OpenSearch cannot run as root and creating user {SERVICE_USER} failed: "
            f"{result.stderr.strip()}. Run `okta-pipeline opensearch up` as a non-root user."
        )
    return pwd.getpwnam(SERVICE_USER)


def local_only_settings(plugins: Iterable[str]) -> list[str]:
    """Settings that suit tests on this local node; the deployment never gets them."""
    installed = set(plugins)
    lines: list[str] = []
    if "opensearch-notifications-core" in installed:
        # Set explicitly rather than relying on 2.19's empty default: webhook channels may
        # reach receivers on 127.0.0.1, and the cloud metadata range stays refused.
        lines.append('opensearch.notifications.core.http.host_deny_list: ["169.254.0.0/16"]')
    if "opensearch-index-management" in installed:
        # ISM visits managed indices every minute (default 5, with jitter), so a retention
        # test finishes in minutes.
        lines.append("plugins.index_state_management.job_interval: 1")
        lines.append("plugins.index_state_management.jitter: 0.0")
    if "opensearch-alerting" in installed:
        # A monitor's search is a mustache template, compiled once per distinct text. One
        # deployment's 30 monitors are far under the default 75 per 5 minutes, but the tests
        # sync the catalog for a dozen owners within minutes.
        lines.append("script.context.template.max_compilations_rate: 2000/1m")
        lines.append("script.context.template.cache_max_size: 2000")
    return lines


def _prepare_runtime_dirs(
    layout: NodeLayout, port: int, user: pwd.struct_passwd | None, assembly: Assembly
) -> None:
    for directory in (layout.data_dir, layout.logs_dir, layout.tmp_dir):
        directory.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(layout.config_dir, ignore_errors=True)
    shutil.copytree(layout.home / "config", layout.config_dir)
    (layout.config_dir / "opensearch.yml").write_text(
        "\n".join(
            [
                "# Written by `okta-pipeline opensearch up`; rewritten on every start.",
                "cluster.name: okta-pipeline-local",
                "node.name: okta-pipeline-local",
                f"path.data: {layout.data_dir}",
                f"path.logs: {layout.logs_dir}",
                "network.host: 127.0.0.1",
                f"http.port: {port}",
                "transport.port: 9300-9399",
                "discovery.type: single-node",
                "cluster.routing.allocation.disk.threshold_enabled: false",
                *local_only_settings(assembly.plugins),
                "",
            ]
        )
    )
    if user is not None:
        _chown_tree(layout.node_dir, user)
        for parent in layout.node_dir.parents:
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o011)  # let the service user traverse


def _chown_tree(root: Path, user: pwd.struct_passwd) -> None:
    os.chown(root, user.pw_uid, user.pw_gid)
    for directory, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            os.chown(Path(directory) / name, user.pw_uid, user.pw_gid, follow_symlinks=False)


def _launch(
    layout: NodeLayout, java: JavaRuntime, heap: str, user: pwd.struct_passwd | None
) -> subprocess.Popen[bytes]:
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "OPENSEARCH_JAVA_HOME": str(java.home),
        "OPENSEARCH_PATH_CONF": str(layout.config_dir),
        "OPENSEARCH_TMPDIR": str(layout.tmp_dir),
        "OPENSEARCH_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}",
        "HOME": str(layout.node_dir),
    }
    with layout.console_log.open("ab") as console:
        return subprocess.Popen(
            [
                str(layout.home / "bin" / "opensearch"),
                "-p",
                str(layout.node_dir / "opensearch.pid"),
            ],
            cwd=layout.node_dir,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the node outlives this command
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
        )


def _wait_until_ready(
    layout: NodeLayout, process: subprocess.Popen[bytes], url: str, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            layout.state_file.unlink(missing_ok=True)
            raise NodeError(
                f"OpenSearch exited with code {process.returncode} during startup. "
                f"Last lines of {layout.console_log}:\n{_tail(layout.console_log)}"
            )
        try:
            response = httpx.get(
                f"{url}/_cluster/health",
                params={"wait_for_status": "yellow", "timeout": "1s"},
                timeout=5,
            )
            if response.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise NodeError(
        f"OpenSearch did not become ready within {timeout:.0f}s (pid {process.pid} is left "
        f"running; stop it with `okta-pipeline opensearch down`). Last lines of "
        f"{layout.console_log}:\n{_tail(layout.console_log)}"
    )


def _reap(pid: int) -> None:
    """Collect the exit status when the node is our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log written)"
