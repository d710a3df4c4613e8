"""--class on the commands that take it (list, disable, enable; slips has
its own tests): the accounts of a class as the roster gave it."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import import_roster, assert_fails, json_lines  # noqa: E402

ROSTER = ("Nom;Prénom;Classe;Email\n"
          "DUPRÉ;Élodie;6ème A;e@school.example\n"
          "MARTIN;Léo;6ème A;l@school.example\n"
          "SMITH;John;6ème B;j@school.example\n"
          "NGUYEN;Minh;5ème C;m@school.example\n")


def imported(sb):
    return import_roster(sb, ROSTER)


def locked(sb, user):
    return sb.shadow_entry(user)[1].startswith("!")


def test_list_by_class(sandbox):
    sb = sandbox
    imported(sb)
    p = sb.eschool("--json", "list", "--class", "6ème A")
    assert p.returncode == 0, p.stderr
    assert sorted(o["username"] for o in json_lines(p.stdout)) == ["edupre", "lmartin"]
    p = sb.eschool("--json", "list", "--class", "6ème A", "--class", "5ème C")
    assert sorted(o["username"] for o in json_lines(p.stdout)) == ["edupre", "lmartin",
                                                                    "mnguyen"]
    p = sb.eschool("list", "--class", "6ème B")
    assert "jsmith" in p.stdout and "edupre" not in p.stdout and "1 account(s)" in p.stdout
    # a class is compared as written
    p = sb.eschool("--json", "list", "--class", "6EME A")
    assert p.returncode == 0 and p.stdout == ""


def test_disable_and_enable_a_class(sandbox):
    sb = sandbox
    imported(sb)
    p = sb.eschool("--json", "disable", "--class", "6ème A")
    assert p.returncode == 0, p.stderr
    assert json_lines(p.stdout) == [{"username": "edupre", "disabled": True},
                                    {"username": "lmartin", "disabled": True}]
    for user in ("edupre", "lmartin"):
        assert sb.state(user)["disabled"] == "1" and locked(sb, user)
    for user in ("jsmith", "mnguyen"):
        assert sb.state(user)["disabled"] == "0" and not locked(sb, user)
    # the disabled are found again to be enabled
    p = sb.eschool("enable", "--class", "6ème A")
    assert p.returncode == 0, p.stderr
    for user in ("edupre", "lmartin"):
        assert sb.state(user)["disabled"] == "0" and not locked(sb, user)
    # several names at once
    assert sb.eschool("disable", "jsmith", "mnguyen").returncode == 0
    assert locked(sb, "jsmith") and locked(sb, "mnguyen")


def test_class_refusals(sandbox):
    sb = sandbox
    imported(sb)
    before = sb.snapshot()
    assert_fails(sb.eschool("disable"), 64, "USER... or --class")
    assert_fails(sb.eschool("disable", "edupre", "--class", "6ème A"), 64, "not both")
    assert_fails(sb.eschool("disable", "--class", "Terminale Z"), 67, "no account")
    assert sb.snapshot() == before
    # one unknown name among others: said, the others done, its exit code
    p = sb.eschool("disable", "edupre", "nobody")
    assert p.returncode == 67 and "nobody" in p.stderr
    assert sb.state("edupre")["disabled"] == "1" and locked(sb, "edupre")


def test_reset_and_show_a_class(sandbox):
    from conftest import password_ok
    sb = sandbox
    path = sb.private("r.csv")
    sb.write(path, ROSTER)
    first = {o["username"]: o["password"]
             for o in json_lines(sb.eschool("--json", "import", path).stdout)}
    p = sb.eschool("--json", "reset", "--class", "6ème A")
    assert p.returncode == 0, p.stderr
    new = {o["username"]: o["password"] for o in json_lines(p.stdout)}
    assert sorted(new) == ["edupre", "lmartin"]
    for user, password in new.items():
        assert password_ok(sb, user, password) and not password_ok(sb, user, first[user])
    assert password_ok(sb, "jsmith", first["jsmith"])
    p = sb.eschool("--json", "show", "--class", "6ème A", "--class", "6ème B")
    assert p.returncode == 0, p.stderr
    assert [o["username"] for o in json_lines(p.stdout)] == ["edupre", "jsmith", "lmartin"]
    assert {o["class"] for o in json_lines(p.stdout)} == {"6ème A", "6ème B"}
    p = sb.eschool("show", "edupre", "jsmith")
    assert p.returncode == 0 and "edupre" in p.stdout and "jsmith" in p.stdout


def test_reset_a_class_in_production_queues_for_one_run(sandbox, srv):
    """Many accounts reset: their mails are queued and one `queue run`
    (one SMTP login) sends them; an account without an address is said
    and the others go on."""
    from conftest import configure_mail, password_ok
    from test_production import mailed_password, queue
    sb = sandbox
    imported(sb)
    configure_mail(sb, srv.port, srv.ca_file, mode="production")
    n0 = len(srv.messages)
    p = sb.eschool("--json", "reset", "--class", "6ème A")
    assert p.returncode == 0, p.stderr
    assert json_lines(p.stdout) == [{"username": "edupre", "delivery": "queued"},
                                    {"username": "lmartin", "delivery": "queued"}]
    assert len(srv.messages) == n0 and len(queue(sb)) == 2
    logins = len(srv.logins)
    assert sb.eschool("queue", "run").returncode == 0
    got = {env.rcpt_tos[0]: msg for env, msg in srv.messages[n0:]}
    assert sorted(got) == ["e@school.example", "l@school.example"]
    assert password_ok(sb, "edupre", mailed_password(got["e@school.example"]))
    assert len(srv.logins) - logins == 1  # one SMTP login for the class
