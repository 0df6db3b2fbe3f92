"""A real JupyterHub on 127.0.0.1 with real Unix accounts: the machinery behind tests/test_hub.py.

- :class:`Accounts` creates Unix users (useradd) and removes them and their homes (userdel -r),
  after ending, by process id, every process still running as one of them;
- :class:`Hub` runs ``jupyterhub`` (as root, in a process group of its own) with
  docs/hub/jupyterhub_config.py plus only what a test must add (ports, a database in a scratch
  folder, a service token for the REST API), and stops it (SIGTERM to its group, then SIGKILL,
  and the proxy by the pid file JupyterHub writes);
- :meth:`Hub.api` calls the hub's REST API; :meth:`Hub.user_api` a user's own server through
  the hub's proxy, with that user's token (:meth:`Hub.user_page` for a page rather than JSON,
  :meth:`Hub.lab_page_config` for what JupyterLab's page is told); :meth:`Hub.run_in_kernel`
  runs code in a kernel of a user's server (the kernels API and its websocket, as JupyterLab does);
- :meth:`Hub.log_in` logs a user in on the hub's login page in a browser page (Playwright's).
"""
from __future__ import annotations

import json
import os
import pwd
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HUB_CONFIG = ROOT / "docs" / "hub" / "jupyterhub_config.py"
PROXY = ROOT / ".venv" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"


def quiet_port() -> int:
    """A free loopback port below the range that bind(0) and the kernels' zmq sockets draw from
    (32768 and up), so that no other process on a busy machine takes it before its server
    binds it (this happened with JupyterHub's own random ports)."""
    while True:
        port = random.randint(20000, 30000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def wait_for(what: str, check, seconds: float, every: float = 0.5, log=None):
    """Call ``check()`` until it returns something true (returned) or ``seconds`` pass (an
    AssertionError naming ``what``, with the tail of ``log()`` if given)."""
    deadline = time.monotonic() + seconds
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:.0f} s" + (f"\n{log()[-4000:]}" if log else ""))
        time.sleep(every)


class Accounts:
    """Unix accounts made for one test run (names with a common prefix), removed afterwards."""

    def __init__(self):
        self.names: list[str] = []

    def add(self, name: str, password: str | None = None) -> pwd.struct_passwd:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "--user-group", name],
                       check=True, capture_output=True, text=True)
        self.names.append(name)
        if password:
            subprocess.run(["chpasswd"], input=f"{name}:{password}\n", check=True, capture_output=True, text=True)
        return pwd.getpwnam(name)

    def pids(self) -> list[int]:
        uids = set()
        for name in self.names:
            try:
                uids.add(pwd.getpwnam(name).pw_uid)
            except KeyError:
                pass
        out = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if entry.stat().st_uid in uids:
                        out.append(int(entry.name))
                except OSError:
                    pass
        return out

    def remove(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.pids():
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            try:
                wait_for("the test accounts' processes to end", lambda: not self.pids(), 15)
                break
            except AssertionError:
                continue
        for name in reversed(self.names):
            subprocess.run(["userdel", "--remove", "--force", name], capture_output=True)
        self.names.clear()


class Hub:
    """``jupyterhub -f`` a config that loads docs/hub/jupyterhub_config.py, on loopback ports."""

    def __init__(self, workdir: Path, env: dict):
        self.dir = Path(workdir)
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.port, self.hub_port, self.api_port = quiet_port(), quiet_port(), quiet_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.token = uuid.uuid4().hex
        self.env = dict(os.environ, BPKIT_HUB_URL=self.base, **env)
        self.log_path = self.dir / "jupyterhub.log"
        self.proc = None
        self.user_tokens: dict[str, str] = {}

    def write_config(self) -> Path:
        assert PROXY.exists(), f"{PROXY} is missing: ./course test installs it (npm, requirements/npm/)"
        path = self.dir / "test_config.py"
        path.write_text(f'''# docs/hub/jupyterhub_config.py, plus what only the test needs
c = get_config()  # noqa: F821
load_subconfig({str(HUB_CONFIG)!r})  # noqa: F821
import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import {__name__}
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{self.hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{self.api_port}"
c.ConfigurableHTTPProxy.command = [{str(PROXY)!r}]
c.JupyterHub.db_url = "sqlite:///{self.dir}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{self.dir}/jupyterhub_cookie_secret"
c.JupyterHub.services = [{{"name": "term-test", "api_token": {self.token!r}}}]
c.JupyterHub.load_roles = [{{"name": "term-test", "services": ["term-test"],
    "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "read:users"]}}]
c.Spawner.http_timeout = 60
_docs_hook = c.Spawner.pre_spawn_hook
def _pre_spawn_hook(spawner):
    _docs_hook(spawner)
    spawner.port = {__name__}.quiet_port()
c.Spawner.pre_spawn_hook = _pre_spawn_hook
''')
        return path

    def __enter__(self):
        config = self.write_config()
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config)],
                                     cwd=self.dir, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"jupyterhub exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            try:
                return self.api("GET", "/")[0] == 200
            except OSError:
                return False
        wait_for("the hub's REST API to answer", up, 180, log=self.log)
        return self

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)   # the hub stops the servers and its proxy
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        pid_file = self.dir / "jupyterhub-proxy.pid"   # the proxy runs in a session of its own
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        self._log.close()

    # ----------------------------------------------------------------------- HTTP
    def _call(self, method, url, token, body=None, timeout=120, text=False):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                if text:
                    return r.status, raw.decode(errors="replace")
                return r.status, (json.loads(raw) if raw.strip() else None)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def api(self, method: str, path: str, body=None):
        """(status, JSON) of the hub's REST API, with the test's service token."""
        return self._call(method, f"{self.base}/hub/api{path}", self.token, body)

    def user_api(self, name: str, method: str, path: str, body=None, timeout=300):
        """(status, JSON) of ``path`` on ``name``'s own server, with ``name``'s own token."""
        return self._call(method, f"{self.base}/user/{name}/{path.lstrip('/')}", self.user_tokens[name], body, timeout)

    def user_page(self, name: str, path: str):
        """(status, text) of GET ``path`` on ``name``'s own server, with ``name``'s own token."""
        return self._call("GET", f"{self.base}/user/{name}/{path.lstrip('/')}", self.user_tokens[name], text=True)

    def lab_page_config(self, name: str) -> dict:
        """The page config JupyterLab's page gets from ``name``'s server (its "jupyter-config-data":
        ``disabledExtensions``, ``federated_extensions``, ...)."""
        status, page = self.user_page(name, "lab")
        found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
        assert status == 200 and found, f"{name}'s /lab: {status} {page[:2000]}"
        return json.loads(found[1])

    def log_in(self, page, name: str, password: str) -> None:
        """Log ``name`` in on the hub's login page (PAM), in a Playwright ``page``, and wait until
        JupyterLab's page of their server is loading."""
        page.goto(f"{self.base}/hub/login")
        page.fill("#username_input", name)
        page.fill("#password_input", password)
        page.click("#login_submit")
        page.wait_for_url(f"**/user/{name}/lab**")

    def start_server(self, name: str) -> None:
        status, body = self.api("POST", f"/users/{name}/server")
        assert status in (201, 202), f"starting {name}'s server: {status} {body}"
        if name not in self.user_tokens:
            status, body = self.api("POST", f"/users/{name}/tokens", {"note": "tests/test_hub.py"})
            assert status == 201, f"a token for {name}: {status} {body}"
            self.user_tokens[name] = body["token"]

    def wait_ready(self, name: str, tries: int = 3) -> None:
        """Until ``name``'s server is ready; a server that gave up starting is started again
        (``tries`` times in all)."""
        for attempt in range(1, tries + 1):
            def state():
                status, body = self.api("GET", f"/users/{name}")
                server = (body or {}).get("servers", {}).get("", {}) if status == 200 else {}
                if server.get("ready"):
                    return "ready"
                return "stopped" if not server or not server.get("pending") else None
            if wait_for(f"{name}'s server to start or give up", state, 300, every=1, log=self.log) == "ready":
                return
            if attempt < tries:
                self.start_server(name)
        raise AssertionError(f"{name}'s server did not start in {tries} tries:\n{self.log()[-4000:]}")

    # ----------------------------------------------------------------------- kernels
    def run_in_kernel(self, name: str, code: str, seconds: float = 600) -> str:
        """Run ``code`` in a new kernel of ``name``'s server; -> its stdout and stderr. Raises
        with the traceback if the code raised."""
        import websocket  # websocket-client, a dependency of jupyter_server

        status, kernel = self.user_api(name, "POST", "api/kernels", {"name": "python3"})
        assert status == 201, f"a kernel for {name}: {status} {kernel}"
        url = f"ws://127.0.0.1:{self.port}/user/{name}/api/kernels/{kernel['id']}/channels"
        ws = websocket.create_connection(url, header=[f"Authorization: token {self.user_tokens[name]}"],
                                         timeout=seconds)
        try:
            msg_id, session = uuid.uuid4().hex, uuid.uuid4().hex
            ws.send(json.dumps({
                "header": {"msg_id": msg_id, "username": name, "session": session, "msg_type": "execute_request",
                           "version": "5.3", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                            "allow_stdin": False, "stop_on_error": True}}))
            out, error = [], None
            while True:
                msg = json.loads(ws.recv())
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    out.append(content["text"])
                elif kind == "error":
                    error = "\n".join(content["traceback"])
                elif kind == "status" and content["execution_state"] == "idle":
                    break
        finally:
            ws.close()
            self.user_api(name, "DELETE", f"api/kernels/{kernel['id']}")
        if error:
            raise AssertionError(f"code run in {name}'s kernel raised:\n{error}\noutput:\n{''.join(out)}")
        return "".join(out)
