"""The desk's mailbox: mail in (IMAP over TLS) becomes tickets and notes, and the reporter
gets a confirmation with the ticket number and a link to follow it.

    parse.py    raw message bytes → IncomingMail (pure; garbage, huge and non-UTF-8 mail too)
    imap.py     the IMAP session (imaplib in a thread): unprocessed mails, marking one done
    intake.py   the polling loop: each mail → ticket or note, stored before it is marked
    reply.py    the confirmation mail, queued in the outbox like any message
"""
