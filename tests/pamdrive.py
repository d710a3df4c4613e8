#!/usr/bin/python3
"""Runs one PAM transaction with the real libpam (and pypamtest's
conversation) and prints the outcome as JSON: used by the integration tests
inside the sandbox, whose /etc/pam.d holds the test services.

usage: pamdrive.py '{"service": S, "user": U, "ops": [[OP, EXPECTED], ...],
                     "passwords": [...], "answers": [...], "locale": L}'
passwords answer the hidden prompts, answers the visible ones. OP: auth, account, chauthtok, open, close;
an op may carry PAM flags as a third item ([OP, EXPECTED, FLAGS]: 32 is
PAM_CHANGE_EXPIRED_AUTHTOK, what login programs pass for a forced change).
locale (optional): the application's LC_MESSAGES, set with setlocale as a
login program does (from the environment's LOCPATH for locales generated
by a test). Prints {"ok": true, "info": [...],
"errors": [...]} or {"ok": false, "failed": "...", ...}."""
import json
import locale
import sys

import pypamtest

OPS = {"auth": pypamtest.PAMTEST_AUTHENTICATE, "account": pypamtest.PAMTEST_ACCOUNT,
       "chauthtok": pypamtest.PAMTEST_CHAUTHTOK, "open": pypamtest.PAMTEST_OPEN_SESSION,
       "close": pypamtest.PAMTEST_CLOSE_SESSION}


def main():
    args = json.loads(sys.argv[1])
    if args.get("locale"):
        locale.setlocale(locale.LC_MESSAGES, args["locale"])
    cases = [pypamtest.TestCase(OPS[op[0]], expected_rv=op[1], flags=op[2] if len(op) > 2 else 0)
             for op in args["ops"]]
    try:
        res = pypamtest.run_pamtest(args["user"], args["service"], cases,
                                    args.get("passwords", []), args.get("answers", []))
        print(json.dumps({"ok": True, "info": list(res.info), "errors": list(res.errors)}))
    except pypamtest.PamTestError as e:
        print(json.dumps({"ok": False, "failed": str(e)}))


if __name__ == "__main__":
    main()
