"""The `ssh` probe's settings and target parsing, and one SSH connection (and its jump host)
with host keys verified against a known_hosts file, never accepted blindly; a connection is
used from one worker thread at a time, since paramiko blocks. The probe is probes/ssh.py."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko
from pydantic import Field, field_validator

from probes.base import (
    ProbeAuthError,
    ProbeError,
    ProbeProtocolError,
    ProbeTimeout,
    ProbeUnreachable,
    secret_field,
)
from probes.local import HostSettings

_HOST = re.compile(r"^[A-Za-z0-9_.:%][A-Za-z0-9_.:%-]*$")  # names, IPv4, IPv6 (with a %zone)
_USER = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.@-]*$")
_TARGET = re.compile(
    r"^(?:(?P<user>[^@\s]+)@)?(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:@\s\[\]]+))(?::(?P<port>\d+))?$"
)
MAX_OUTPUT_BYTES = 4 * 1024 * 1024  # a host with huge /proc/mounts still fits; a runaway does not


@dataclass(frozen=True, slots=True)
class SshTarget:
    user: str | None
    host: str
    port: int | None


def parse_target(text: str) -> SshTarget:
    """`user@host:port`, `host`, `user@[2001:db8::1]:2222` … Raises ValueError."""
    match = _TARGET.match(text.strip())
    if not match:
        raise ValueError(f"not an SSH target (write user@host:port): {text!r}")
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"port out of range in {text!r}")
    return SshTarget(user=match["user"], host=match["v6"] or match["host"], port=port)


class SshSettings(HostSettings):
    type: str = "ssh"
    address: str
    port: int = Field(default=22, ge=1, le=65535)
    user: str
    key_file: str | None = None
    key_passphrase: str | None = secret_field()
    password: str | None = secret_field()
    use_agent: bool = False
    known_hosts: str = "~/.ssh/known_hosts"
    jump_host: str | None = None  # user@host:port, same keys and known_hosts

    @field_validator("address")
    @classmethod
    def _host(cls, value: str) -> str:
        if not _HOST.match(value):
            raise ValueError(f"not a host name or IP address: {value!r}")
        return value

    @field_validator("user")
    @classmethod
    def _user_name(cls, value: str) -> str:
        if not _USER.match(value):
            raise ValueError(f"not a user name: {value!r}")
        return value

    @field_validator("jump_host")
    @classmethod
    def _jump_target(cls, value: str | None) -> str | None:
        if value is not None:
            parse_target(value)
        return value


class _UnknownHostKey(Exception):
    """Raised by the host key policy: the server is not in known_hosts."""


class _RejectUnknown(paramiko.MissingHostKeyPolicy):
    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        raise _UnknownHostKey(f"{hostname} offers {key.get_name()} {_fingerprint(key)}")


def _fingerprint(key: paramiko.PKey) -> str:
    # A public key's fingerprint identifies the host, never a secret; admins compare it with
    # `ssh-keygen -lf` on the server.
    return str(getattr(key, "fingerprint", "")) or key.get_base64()[:16]


def _known_host_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


class Connection:
    """One SSH connection (plus its jump connection), used from one worker thread at a time."""

    def __init__(self, device: str, settings: SshSettings) -> None:
        self.device = device
        self.settings = settings
        self._lock = threading.Lock()
        self._client: paramiko.SSHClient | None = None
        self._jump: paramiko.SSHClient | None = None
        self._deadline = 0.0

    def _remaining(self) -> float:
        return max(0.2, self._deadline - time.monotonic())

    # -- connecting ---------------------------------------------------------------------
    def _load_key(self) -> paramiko.PKey | None:
        if self.settings.key_file is None:
            return None
        path = Path(self.settings.key_file).expanduser()
        try:
            passphrase = self.settings.key_passphrase
            # paramiko 5 hands the passphrase to `cryptography`, which wants bytes.
            secret = passphrase.encode() if passphrase is not None else None
            return paramiko.PKey.from_path(path, secret)  # type: ignore[arg-type]
        except (paramiko.PasswordRequiredException, TypeError) as exc:
            # paramiko 5 says "password-protected" with a TypeError when no passphrase is given.
            if isinstance(exc, TypeError) and "password" not in str(exc):
                raise ProbeAuthError(
                    f"{self.device}: key file {path} cannot be loaded ({type(exc).__name__})"
                ) from None
            raise ProbeAuthError(
                f"{self.device}: key file {path} is encrypted; put key_passphrase in its credentials entry"
            ) from None
        except OSError as exc:
            raise ProbeAuthError(
                f"{self.device}: cannot read key file {path}: {exc.strerror}"
            ) from None
        except Exception as exc:
            # Wrong passphrase, or not a private key paramiko knows.
            raise ProbeAuthError(
                f"{self.device}: key file {path} cannot be loaded ({type(exc).__name__}: wrong passphrase or not a private key)"
            ) from None

    def _open(
        self, user: str, host: str, port: int, sock: paramiko.Channel | None
    ) -> paramiko.SSHClient:
        s = self.settings
        if s.key_file is None and not s.use_agent and s.password is None:
            raise ProbeAuthError(
                f"{self.device}: no way to log in: set key_file, use_agent or a password"
            )
        known_hosts = Path(s.known_hosts).expanduser()
        client = paramiko.SSHClient()
        try:
            client.load_host_keys(str(known_hosts))
        except OSError as exc:
            client.close()
            raise ProbeAuthError(
                f"{self.device}: cannot read known_hosts file {known_hosts}: {exc.strerror}"
            ) from None
        client.set_missing_host_key_policy(_RejectUnknown())
        where = _known_host_name(host, port)
        started = time.monotonic()
        budget = self._remaining()
        try:
            client.connect(
                host,
                port=port,
                username=user,
                password=s.password,
                pkey=self._load_key(),
                allow_agent=s.use_agent,
                look_for_keys=False,
                timeout=budget,
                banner_timeout=budget,
                auth_timeout=budget,
                channel_timeout=budget,
                sock=sock,
            )
        except BaseException as exc:
            client.close()
            if isinstance(exc, paramiko.SSHException | EOFError) and (
                time.monotonic() - started >= budget * 0.9
            ):
                # paramiko words a silent server several ways ("Error reading SSH protocol
                # banner", "Negotiation timed out", "No existing session"); the clock does not lie.
                raise ProbeTimeout(
                    f"{self.device}: {where} did not finish the SSH handshake within {s.timeout:g}s"
                ) from None
            raise self._connect_error(exc, where, known_hosts) from None
        return client

    def _connect_error(self, exc: BaseException, where: str, known_hosts: Path) -> BaseException:
        d = self.device
        if isinstance(exc, ProbeError):
            return exc
        if isinstance(exc, _UnknownHostKey):
            return ProbeAuthError(
                f"{d}: host {where} is not in known_hosts {known_hosts} ({exc}); "
                f"check the key and add it (ssh-keyscan -p PORT HOST), it is never accepted automatically"
            )
        if isinstance(exc, paramiko.BadHostKeyException):
            return ProbeAuthError(
                f"{d}: host key of {where} does not match known_hosts {known_hosts} "
                f"(offered {exc.key.get_name()} {_fingerprint(exc.key)}): the key changed or "
                "someone is in the middle; verify it before updating known_hosts"
            )
        if isinstance(exc, paramiko.AuthenticationException):
            return ProbeAuthError(
                f"{d}: login refused at {where} for user {self.settings.user} ({type(exc).__name__})"
            )
        if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
            return ProbeUnreachable(f"{d}: cannot connect to {where}: connection refused")
        if isinstance(exc, TimeoutError):
            return ProbeTimeout(f"{d}: {where} did not answer within {self.settings.timeout:g}s")
        if isinstance(exc, socket.gaierror):
            return ProbeUnreachable(f"{d}: cannot resolve {where}")
        if isinstance(exc, OSError):
            return ProbeUnreachable(f"{d}: cannot connect to {where}: {exc.strerror or exc}")
        if isinstance(exc, paramiko.SSHException) and "timed out" in str(exc).lower():
            return ProbeTimeout(
                f"{d}: {where} did not finish the SSH handshake within {self.settings.timeout:g}s"
            )
        if isinstance(exc, paramiko.SSHException | EOFError):
            return ProbeProtocolError(f"{d}: SSH handshake with {where} failed: {exc}")
        if isinstance(exc, Exception):
            return ProbeProtocolError(
                f"{d}: SSH connection to {where} failed ({type(exc).__name__})"
            )
        return exc  # KeyboardInterrupt and friends pass through untouched

    def _connect(self) -> None:
        s = self.settings
        sock: paramiko.Channel | None = None
        if s.jump_host is not None:
            jump = parse_target(s.jump_host)
            self._jump = self._open(jump.user or s.user, jump.host, jump.port or 22, None)
            transport = self._jump.get_transport()
            assert transport is not None
            try:
                sock = transport.open_channel(
                    "direct-tcpip", (s.address, s.port), ("127.0.0.1", 0), timeout=self._remaining()
                )
            except BaseException as exc:
                self.close()
                raise ProbeUnreachable(
                    f"{self.device}: jump host {s.jump_host} cannot reach "
                    f"{_known_host_name(s.address, s.port)} ({type(exc).__name__}: {exc})"
                ) from None
        try:
            self._client = self._open(s.user, s.address, s.port, sock)
        except BaseException:
            self.close()
            raise

    def _alive(self) -> bool:
        transport = self._client.get_transport() if self._client else None
        return transport is not None and transport.is_active()

    # -- running the script ----------------------------------------------------------------
    def _exec(self, script: str) -> tuple[int, str]:
        assert self._client is not None
        transport = self._client.get_transport()
        if transport is None:
            raise EOFError("connection closed")
        limit = self._remaining()
        deadline = time.monotonic() + limit
        channel = transport.open_session(timeout=limit)
        try:
            channel.settimeout(limit)
            channel.set_combine_stderr(True)
            channel.exec_command("sh -s")
            channel.sendall(script.encode())
            channel.shutdown_write()
            chunks: list[bytes] = []
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise TimeoutError
                data = channel.recv(65536)
                if not data:
                    break
                chunks.append(data)
                size += len(data)
                if size > MAX_OUTPUT_BYTES:
                    raise ProbeProtocolError(
                        f"{self.device}: the host printed more than {MAX_OUTPUT_BYTES} bytes"
                    )
            status = channel.recv_exit_status()
        finally:
            channel.close()
        return status, b"".join(chunks).decode("utf-8", "replace")

    def run(self, script: str) -> tuple[int, str]:
        """Run the script, connecting first if needed. A reused connection that fails is
        replaced once; a fresh one that fails is an error. Raises only ProbeError."""
        with self._lock:
            # One budget for the whole poll (connect, maybe reconnect, run), a little under
            # the collector's own timeout so that the error says which step was slow.
            self._deadline = time.monotonic() + self.settings.timeout * 0.9
            fresh = not self._alive()
            if fresh:
                self.close()
                self._connect()
            try:
                return self._exec_mapped(script)
            except ProbeTimeout:
                self.close()
                raise
            except ProbeError:
                self.close()
                if fresh:
                    raise
            self._connect()
            try:
                return self._exec_mapped(script)
            except ProbeError:
                self.close()
                raise

    def _exec_mapped(self, script: str) -> tuple[int, str]:
        where = _known_host_name(self.settings.address, self.settings.port)
        try:
            return self._exec(script)
        except ProbeError:
            raise
        except TimeoutError:
            raise ProbeTimeout(
                f"{self.device}: {where} did not finish the host script within {self.settings.timeout:g}s"
            ) from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise ProbeUnreachable(
                f"{self.device}: connection to {where} dropped ({type(exc).__name__})"
            ) from None

    def close(self) -> None:
        for client in (self._client, self._jump):
            if client is not None:
                client.close()
        self._client = self._jump = None
