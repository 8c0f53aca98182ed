"""E-mail over SMTP with smtplib: one connection for a batch, STARTTLS (verified against the
system's CAs or a configured `ca_file`) and AUTH when configured, reconnecting once when the
server has dropped an idle connection. A refused recipient fails that message only."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from connectors.base import MaybeSent
from connectors.services import ServiceConfig


class MailRefused(Exception):
    pass


class SmtpSender:
    def __init__(self, config: ServiceConfig, timeout: float = 30.0):
        options = config.options
        self.host, self.port = str(options["host"]), int(options["port"])
        self.sender = str(options["from"])
        self.username = options.get("username")
        self.password = config.secret("password") if config.has_secret("password") else None
        self.starttls = bool(options.get("starttls", True))
        self.context = ssl.create_default_context(cafile=options.get("ca_file") or None)
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        smtp.ehlo()
        if self.starttls:
            smtp.starttls(context=self.context)
            smtp.ehlo()
        if self.username and self.password:
            smtp.login(str(self.username), self.password)
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Hand one message over. A dead connection is found (NOOP) and replaced before the message
        goes; once it has started going, a failure raises MaybeSent and nothing is retried."""
        message["From"] = self.sender
        if self._smtp is not None:
            try:
                self._smtp.noop()
            except (smtplib.SMTPException, OSError):
                self._smtp = None
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise MailRefused(f"recipient refused ({_codes(error.recipients)})") from None
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            self._smtp = None
            raise MaybeSent(f"mail server connection lost while sending ({type(error).__name__})") from None
        if refused:
            raise MailRefused(f"recipient refused ({_codes(refused)})")

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except smtplib.SMTPException:
                pass
            self._smtp = None


def _codes(refused: dict) -> str:
    """The SMTP codes of refused recipients, without the addresses."""
    return ", ".join(str(code) for code, _ in refused.values())
