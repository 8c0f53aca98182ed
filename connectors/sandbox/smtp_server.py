"""The sandbox's SMTP server (aiosmtpd on its own asyncio loop in a thread): where survey invitations
are sent. AUTH PLAIN/LOGIN with the sandbox's credentials is required before MAIL; STARTTLS is offered
with a certificate made at start by a throwaway CA (both generated in memory with `cryptography`;
the CA's PEM is written to a temporary `ca_file` for clients to trust), and a client that does not
start TLS may still talk, but AUTH is only offered after STARTTLS unless `auth_without_tls`.

Every accepted message is recorded (envelope, headers, text/plain and text/html parts) and handed to
the respondents.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import email
import email.policy
import hmac
import ipaddress
import logging
import os
import shutil
import ssl
import sys
import tempfile
import threading
import traceback
import warnings
from pathlib import Path
from typing import Callable

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .clock import SandboxClock
from .support_render import iso_one

SERVER_NAME = "smtp.shopops-sandbox.test"


class _NoLoginDataWarning(logging.Filter):
    """aiosmtpd 1.4 sets its deprecated Session.login_data itself on every AUTH, and logs a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_NoLoginDataWarning())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "shopops sandbox"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(host: str) -> tuple[bytes, bytes, bytes]:
    """(CA certificate PEM, server certificate chain PEM, server key PEM): a CA made for this run only,
    and a server certificate it signs for `host`, localhost and 127.0.0.1 (valid a day either side of
    the wall clock: TLS checks real time, not the sandbox's)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("shopops sandbox throwaway CA")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.DNSName(SERVER_NAME)]
    addresses = {"127.0.0.1", host}
    for address in sorted(addresses):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:
            names.append(x509.DNSName(address))
    server = (x509.CertificateBuilder().subject_name(_name(SERVER_NAME)).issuer_name(ca_name)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
              .add_extension(x509.SubjectAlternativeName(names), critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                           content_commitment=False, key_encipherment=False, data_encipherment=False,
                                           key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    chain = server.public_bytes(serialization.Encoding.PEM) + ca_pem
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return ca_pem, chain, key_pem


def parse_message(envelope: Envelope, session: Session, tls: bool, moment: int) -> dict:
    """What the sandbox keeps of one message."""
    raw = envelope.original_content or envelope.content or b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", errors="replace")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    parts = {"plain": [], "html": []}
    for part in message.walk():
        if part.get_content_maintype() == "text" and part.get_content_subtype() in parts \
                and part.get_content_disposition() != "attachment":
            try:
                parts[part.get_content_subtype()].append(part.get_content())
            except (LookupError, ValueError):  # an unknown charset: the raw payload, replaced
                parts[part.get_content_subtype()].append(part.get_payload(decode=True).decode("utf-8", "replace"))
    login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
    return {
        "received_at": iso_one(moment),
        "mail_from": envelope.mail_from,
        "rcpt_tos": list(envelope.rcpt_tos),
        "from": str(message.get("From", "")),
        "to": str(message.get("To", "")),
        "subject": str(message.get("Subject", "")),
        "headers": [[name, str(value)] for name, value in message.items()],
        "text": "\n".join(parts["plain"]) if parts["plain"] else None,
        "html": "\n".join(parts["html"]) if parts["html"] else None,
        "tls": tls,
        "auth_user": login.decode("utf-8", "replace") if isinstance(login, bytes) else login,
        "size": len(raw),
    }


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        moment = self.server.clock.epoch_seconds()
        record = parse_message(envelope, session, session.ssl is not None, moment)
        self.server.record(record, moment)
        return "250 2.0.0 Message accepted for delivery"


class SmtpServer:
    def __init__(self, host: str, port: int, username: str, password: str, clock: SandboxClock,
                 on_message: Callable[[dict, int], object], auth_without_tls: bool = False) -> None:
        self.host = host
        self._requested_port = port
        self.username = username
        self._password = password
        self.clock = clock
        self._on_message = on_message
        self.auth_without_tls = auth_without_tls
        self._lock = threading.Lock()
        self._messages: list[dict] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._folder: str | None = None
        self._tls: ssl.SSLContext | None = None
        self._failure: BaseException | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        ca_pem, chain, key = make_certificates(self.host)
        self._folder = tempfile.mkdtemp(prefix="shopops-sandbox-smtp-")
        Path(self._folder, "ca.pem").write_bytes(ca_pem)
        chain_file, key_file = Path(self._folder, "server.pem"), Path(self._folder, "server.key")
        chain_file.write_bytes(chain)
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.minimum_version = ssl.TLSVersion.TLSv1_2
        self._tls.load_cert_chain(chain_file, key_file)
        key_file.unlink()  # loaded: the key needs no file any more
        chain_file.unlink()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="shopops-sandbox-smtp", daemon=True)
        self._thread.start()
        ready.wait()
        if self._failure is not None:
            failure, self._failure = self._failure, None
            self._thread.join()
            self._thread = None
            self._remove_folder()
            raise failure

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            server = loop.run_until_complete(loop.create_server(self._protocol, self.host, self._requested_port))
        except OSError as error:  # the port is taken
            self._failure = error
            ready.set()
            loop.close()
            return
        self._port = server.sockets[0].getsockname()[1]
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(server.wait_closed())
            loop.close()

    def _protocol(self) -> SMTP:
        with warnings.catch_warnings():  # "Requiring AUTH while not requiring TLS": the configured choice
            warnings.simplefilter("ignore")
            return SMTP(_Handler(self), hostname=SERVER_NAME, ident="shopops-sandbox ESMTP", tls_context=self._tls,
                        require_starttls=False, auth_required=True, auth_require_tls=not self.auth_without_tls,
                        authenticator=self._authenticate, loop=self._loop or asyncio.get_event_loop())

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._thread = self._loop = None
        self._remove_folder()

    def _remove_folder(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    # -- what clients need --------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None or self._thread is None:
            raise RuntimeError("the SMTP server is not running; start the sandbox first")
        return self._port

    @property
    def ca_file(self) -> str:
        if self._folder is None:
            raise RuntimeError("the SMTP server is not running; start the sandbox first")
        return str(Path(self._folder, "ca.pem"))

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: object) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = hmac.compare_digest(auth_data.login, self.username.encode()) and \
            hmac.compare_digest(auth_data.password, self._password.encode())
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def record(self, message: dict, moment: int) -> None:
        with self._lock:
            self._messages.append(message)
        try:
            self._on_message(message, moment)
        except Exception:  # the message is accepted all the same: a bug must not bounce it
            traceback.print_exc(file=sys.stderr)

    def messages(self) -> list[dict]:
        """Every accepted message, oldest first (copies)."""
        with self._lock:
            return copy.deepcopy(self._messages)
