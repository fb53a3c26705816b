"""Remote development against a running image: OpenSSH with a key, JupyterLab with a token.

Everything goes through ports published on 127.0.0.1, as a user's client would.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from typing import Any

import pytest
import requests

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# What a session must see identically through `docker exec` and through SSH.
ENVIRONMENT_PROBE = (
    "import json, os, sys, torch; "
    "keys = sorted(k for k in os.environ if k.startswith(('NVIDIA_', 'CUDA_')) "
    "or k in ('PATH', 'VIRTUAL_ENV', 'LD_LIBRARY_PATH', 'HOME')); "
    "print(json.dumps({'env': {k: os.environ[k] for k in keys}, 'python': sys.executable, "
    "'torch': torch.__version__, 'uid': os.getuid()}))"
)


def ssh(
    served: Any, *remote: str, user: str = "dev", options: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    if not shutil.which("ssh"):
        pytest.fail("no `ssh` client on this host: install openssh-client", pytrace=False)
    if served.ssh_key is None:
        pytest.fail("no `ssh-keygen` on this host: install openssh-client", pytrace=False)
    command = [
        "ssh",
        "-p", str(served.ssh_port),
        "-i", str(served.ssh_key),
        "-o", "IdentitiesOnly=yes",
        "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR",
        "-o", "ConnectTimeout=20",
        *options,
        f"{user}@127.0.0.1",
        *remote,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def offered_methods(stderr: str) -> set[str]:
    """The auth methods in sshd's refusal, e.g. 'Permission denied (publickey).' → {publickey}."""
    match = re.search(r"Permission denied \(([^)]*)\)", stderr)
    assert match, f"ssh was not refused by the server: {stderr.strip()}"
    return set(match[1].split(","))


def test_ssh_key_login_sees_the_same_environment_as_docker_exec(served: Any) -> None:
    over_ssh = ssh(served, f'python -c "{ENVIRONMENT_PROBE}"', options=("-o", "BatchMode=yes"))
    assert over_ssh.returncode == 0, (
        f"ssh login or `import torch` failed: {over_ssh.stderr.strip()}"
    )
    code, exec_output = served.container.exec(["python", "-c", ENVIRONMENT_PROBE], timeout=120)
    assert code == 0, exec_output
    seen_over_ssh = json.loads(over_ssh.stdout.strip().splitlines()[-1])
    seen_by_exec = json.loads(exec_output.strip().splitlines()[-1])
    assert seen_over_ssh["python"] == "/opt/venv/bin/python"
    assert seen_over_ssh["uid"] == 1000
    assert seen_over_ssh == seen_by_exec


def test_ssh_password_login_is_refused(served: Any) -> None:
    attempt = ssh(
        served,
        "true",
        options=(
            "-o", "BatchMode=yes",
            "-o", "PubkeyAuthentication=no",
            "-o", "PreferredAuthentications=password,keyboard-interactive",
        ),
    )  # fmt: skip
    assert attempt.returncode == 255
    methods = offered_methods(attempt.stderr)
    assert not methods & {"password", "keyboard-interactive"}, f"sshd offers {methods}"


def test_ssh_root_login_is_refused_even_with_the_right_key(served: Any) -> None:
    attempt = ssh(served, "id -u", user="root", options=("-o", "BatchMode=yes"))
    assert attempt.returncode == 255, f"root logged in: {attempt.stdout}"
    offered_methods(attempt.stderr)


def test_jupyter_status_needs_the_token(served: Any) -> None:
    status = f"{served.jupyter_url}/api/status"
    with_token = requests.get(
        status, headers={"Authorization": f"token {served.jupyter_token}"}, timeout=10
    )
    assert with_token.status_code == 200
    assert "started" in with_token.json()
    assert requests.get(status, timeout=10).status_code in (401, 403)
    wrong = requests.get(status, headers={"Authorization": "token not-the-token"}, timeout=10)
    assert wrong.status_code in (401, 403)


def test_jupyter_kernel_executes_code_in_the_venv(served: Any) -> None:
    auth = {"Authorization": f"token {served.jupyter_token}"}
    started = requests.post(
        f"{served.jupyter_url}/api/kernels", headers=auth, json={"name": "python3"}, timeout=60
    )
    assert started.status_code == 201, started.text
    kernel_id = started.json()["id"]
    try:
        output = execute(
            served, kernel_id, "import sys, torch\nprint(sys.executable, torch.__version__, 6 * 7)"
        )
        executable, torch_version, answer = output.split()
        assert (executable, answer) == ("/opt/venv/bin/python", "42")
        assert torch_version[0].isdigit()
    finally:
        requests.delete(f"{served.jupyter_url}/api/kernels/{kernel_id}", headers=auth, timeout=30)


def test_jupyter_kernel_channels_refuse_a_missing_token(served: Any) -> None:
    auth = {"Authorization": f"token {served.jupyter_token}"}
    started = requests.post(
        f"{served.jupyter_url}/api/kernels", headers=auth, json={"name": "python3"}, timeout=60
    )
    kernel_id = started.json()["id"]
    try:
        import websocket  # websocket-client, from the test dependency group

        url = f"ws://127.0.0.1:{served.jupyter_port}/api/kernels/{kernel_id}/channels"
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(url, timeout=30)
        assert refused.value.status_code in (401, 403)
    finally:
        requests.delete(f"{served.jupyter_url}/api/kernels/{kernel_id}", headers=auth, timeout=30)


def execute(served: Any, kernel_id: str, code: str, timeout: float = 120) -> str:
    """Send one execute_request over the kernel's websocket; return what it printed."""
    import websocket  # websocket-client, from the test dependency group

    url = f"ws://127.0.0.1:{served.jupyter_port}/api/kernels/{kernel_id}/channels?token={served.jupyter_token}"
    connection = websocket.create_connection(url, timeout=timeout)
    message_id = uuid.uuid4().hex
    try:
        connection.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": message_id,
                        "msg_type": "execute_request",
                        "username": "test",
                        "session": uuid.uuid4().hex,
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {"code": code, "silent": False, "store_history": False},
                    "channel": "shell",
                }
            )
        )
        printed, reply = [], None
        while reply is None or not printed:
            message = json.loads(connection.recv())
            if message.get("parent_header", {}).get("msg_id") != message_id:
                continue
            kind = message["msg_type"]
            if kind == "stream":
                printed.append(message["content"]["text"])
            elif kind == "error":
                raise AssertionError(
                    f"kernel raised {message['content']['ename']}: {message['content']['evalue']}"
                )
            elif kind == "execute_reply":
                reply = message["content"]["status"]
                assert reply == "ok", f"execute_reply status {reply}"
        return "".join(printed)
    finally:
        connection.close()
