"""Invite mail: one message through the configured SMTP server (MC_SMTP_*), sent in a thread
so the event loop never waits on the network."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from mission_control.core.logging import get_logger
from mission_control.settings import Settings

log = get_logger("mission_control.mail")


@dataclass(frozen=True, slots=True)
class Letter:
    to: str
    subject: str
    body: str


class MailError(RuntimeError):
    """The SMTP server did not take the message; the text says why (never the message body)."""


def mail_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def _message(settings: Settings, letter: Letter) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = letter.to
    message["Subject"] = letter.subject
    message.set_content(letter.body)
    return message


def _send_now(settings: Settings, letter: Letter) -> None:
    host = settings.smtp_host or ""
    timeout = settings.smtp_timeout_seconds
    client: smtplib.SMTP
    if settings.smtp_security == "ssl":
        client = smtplib.SMTP_SSL(host, settings.smtp_port, timeout=timeout)
    else:
        client = smtplib.SMTP(host, settings.smtp_port, timeout=timeout)
    with client:
        if settings.smtp_security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            client.login(settings.smtp_username, password)
        client.send_message(_message(settings, letter))


async def send(settings: Settings, letter: Letter) -> None:
    """Deliver ``letter``; raises MailError with the reason when the server refuses or is down."""
    try:
        await asyncio.to_thread(_send_now, settings, letter)
    except (OSError, smtplib.SMTPException) as error:
        reason = f"{error.__class__.__name__}: {error}"
        log.warning("mail_failed", host=settings.smtp_host, reason=reason)
        raise MailError(reason) from error
    log.info("mail_sent", host=settings.smtp_host)
