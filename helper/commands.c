/* The command table: what main() needs to open each command (its options,
 * how many arguments, root, delivery) and its usage, in one place. */
#include "commands.h"

#include <stddef.h>

#include "es_msg.h"

static const struct option_spec add_options[] = {
	{ "email", "ADDR", true }, { "name", "NAME", false },
	{ "role", "ROLE", false }, { "parent-email", "ADDR", false },
	{ "class", "CLASS", false }, { "lang", "fr|en", false },
	{ NULL },
};
/* what import and sync read a roster with */
#define ROSTER_OPTIONS \
	{ "dry-run", NULL, false }, { "keep-going", NULL, false }, { "output", "FILE", false }, \
	{ "encoding", "ENC", false }, { "format", "FORMAT", false }, \
	{ "map", "COLUMN=FIELD", false, true }, { "strict", NULL, false }, \
	{ "slips", "FILE.pdf", false }
static const struct option_spec import_options[] = { ROSTER_OPTIONS, { NULL } };
static const struct option_spec sync_options[] = {
	ROSTER_OPTIONS,
	{ "delete-missing", NULL, false },
	{ "allow-partial", NULL, false },
	{ "keep-home", NULL, false },
	{ "archive-home", "DIR", false },
	{ "yes", NULL, false },
	{ NULL },
};
static const struct option_spec slips_options[] = {
	{ "output", "FILE.pdf", true, false, 'o' },
	{ "class", "CLASS", false, true },
	{ "since", "YYYY-MM-DD", false },
	{ "reset", NULL, false },
	{ NULL },
};
static const struct option_spec delete_options[] = {
	{ "class", "CLASS", false, true },
	{ "keep-home", NULL, false },
	{ "archive-home", "DIR", false },
	{ "dry-run", NULL, false },
	{ "yes", NULL, false },
	{ NULL },
};
static const struct option_spec list_options[] = {
	{ "role", "ROLE", false }, { "class", "CLASS", false, true }, { NULL },
};
static const struct option_spec class_option[] = { { "class", "CLASS", false, true }, { NULL } };
static const struct option_spec dry_run_option[] = { { "dry-run", NULL, false }, { NULL } };
static const struct option_spec set_email_options[] = { { "force", NULL, false }, { NULL } };
static const struct option_spec dns_options[] = { { "selector", "S", false }, { NULL } };
static const struct option_spec doctor_options[] = { { "fix", NULL, false }, { NULL } };

static const char add_usage[] = N_(
	"usage: eschool add USER --email ADDR [--name NAME] [--role ROLE]\n"
	"                   [--parent-email ADDR] [--class CLASS] [--lang fr|en] [--json]\n");
static const char import_usage[] = N_(
	"usage: eschool import FILE.csv [--dry-run] [--keep-going] [--output FILE] [--json]\n"
	"                      [--slips FILE.pdf] [--encoding ENC] [--format FORMAT]\n"
	"                      [--map 'COLUMN=FIELD'...] [--strict]\n"
	"  fields: username, name (or first_name and last_name), email, parent_email,\n"
	"  class, lang, role; the usual column names in French and English are known\n"
	"  (Nom, Prénom, Classe, Email ...); without username, usernames are derived\n"
	"  from the name. FORMAT: plain, pronote, ecoledirecte, siecle, onde,\n"
	"  workspace, sds (recognised from the header when not given);\n"
	"  ENC: utf-8, utf-16, windows-1252 ... (detected when not given);\n"
	"  --slips: a printable credential slip for each account made (rows without\n"
	"  an address have no other delivery in production)\n");
static const char sync_usage[] = N_(
	"usage: eschool sync FILE.csv [--dry-run] [--delete-missing [--keep-home|\n"
	"                    --archive-home DIR]] [--yes] [--allow-partial] [--keep-going]\n"
	"                    [--output FILE]\n"
	"                    [--slips FILE.pdf] [--encoding ENC] [--format FORMAT]\n"
	"                    [--map 'COLUMN=FIELD'...] [--strict] [--json]\n"
	"  the start of the school year: creates who is new (as import does), updates\n"
	"  who changed (name, class, addresses, role, language; an empty cell changes\n"
	"  nothing), and disables the accounts eschool made, of the roster's roles,\n"
	"  that it no longer lists (--delete-missing: deletes them, as eschool delete\n"
	"  does, after a question on a terminal; --yes for scripts); a roster that\n"
	"  lists fewer than half of a role's accounts needs --allow-partial\n");
static const char reset_usage[] = N_(
	"usage: eschool reset USER...|--class CLASS... [--json]\n");
static const char resend_usage[] = N_(
	"usage: eschool resend USER [--json]\n");
static const char slips_usage[] = N_(
	"usage: eschool slips [USER...] [--class CLASS...] [--since YYYY-MM-DD] --reset\n"
	"                     -o FILE.pdf [--json]\n"
	"  printable credential slips (A4, 8 a page, grouped by class) with NEW\n"
	"  temporary passwords: eschool keeps no password, so --reset is required;\n"
	"  the accounts' current passwords stop working once the PDF is written;\n"
	"  --since: the accounts made that day or later (of the classes given, or all)\n");
static const char delete_usage[] = N_(
	"usage: eschool delete USER...|--class CLASS... [--keep-home|--archive-home DIR]\n"
	"                      [--dry-run] [--yes] [--json]\n"
	"  removes the accounts (userdel), their homes (unless kept or archived as\n"
	"  DIR/USER-DATE.tar.gz), their queued mails and their eschool state, after\n"
	"  a summary and a question on a terminal (--yes for scripts)\n");
static const char show_usage[] = N_(
	"usage: eschool show USER...|--class CLASS... [--json]\n");
static const char list_usage[] = N_(
	"usage: eschool list [--role ROLE] [--class CLASS...] [--json]\n");
static const char disable_usage[] = N_(
	"usage: eschool disable USER...|--class CLASS... [--json]\n");
static const char enable_usage[] = N_(
	"usage: eschool enable USER...|--class CLASS... [--json]\n");
static const char forget_usage[] = N_(
	"usage: eschool forget USER [--json]\n"
	"  removes the eschool state of an account that no longer exists\n"
	"  (removed with userdel, or its name given to another account)\n");
static const char remind_usage[] = N_(
	"usage: eschool remind [--dry-run] [--json]\n"
	"  mails first-change reminders and password expiry warnings that are due\n"
	"  (run daily by eschool-remind.timer); --dry-run lists them, changes nothing\n");
static const char set_email_usage[] = N_(
	"usage: eschool set-email USER ADDR [--force] [--json]\n"
	"  mails a code to ADDR; the address changes when it comes back\n"
	"  (eschool verify-email USER CODE, or at the user's next login);\n"
	"  --force: the administrator's correction (a typo), at once, without a code\n");
static const char verify_email_usage[] = N_(
	"usage: eschool verify-email USER CODE [--json]\n");
static const char check_dns_usage[] = N_(
	"usage: eschool check-dns DOMAIN [--selector S] [--json]\n"
	"  checks the SPF, DMARC and DKIM records of the domain mails are sent from\n");
static const char doctor_usage[] = N_(
	"usage: eschool doctor [--json] [--fix]\n"
	"  checks everything production needs, item by item;\n"
	"  --fix writes the role's password aging into shadow\n"
	"  for the accounts made before eschool did\n");
static const char backup_usage[] = N_(
	"usage: eschool backup FILE\n"
	"  writes the state directory to FILE (a .tar.gz, mode 600)\n");
static const char restore_usage[] = N_(
	"usage: eschool restore FILE\n"
	"  puts back the state directory saved by eschool backup (the current one is kept\n"
	"  beside it as STATE_DIR.before-restore-TIME)\n");
static const char test_email_usage[] = N_(
	"usage: eschool test-email ADDR [--json]\n");
static const char queue_usage[] = N_(
	"usage: eschool queue run|status|list [--json]\n"
	"       eschool queue retry ID | drop ID\n");

/* name, run, usage, options, positionals (min, max), opening, delivers */
const struct command commands[] = {
	{ "add", cmd_add, add_usage, add_options, 1, 1, PREPARE_ROOT, true },
	{ "import", cmd_import, import_usage, import_options, 1, 1, PREPARE_ROOT, true },
	{ "sync", cmd_sync, sync_usage, sync_options, 1, 1, PREPARE_ROOT, true },
	{ "reset", cmd_reset, reset_usage, class_option, 0, MAX_POSITIONAL, PREPARE_ROOT, true },
	{ "resend", cmd_resend, resend_usage, NULL, 1, 1, PREPARE_ROOT, true },
	{ "delete", cmd_delete, delete_usage, delete_options, 0, MAX_POSITIONAL, PREPARE_ROOT,
	  false },
	{ "slips", cmd_slips, slips_usage, slips_options, 0, MAX_POSITIONAL, PREPARE_ROOT, false },
	{ "show", cmd_show, show_usage, class_option, 0, MAX_POSITIONAL, PREPARE_ROOT, false },
	{ "list", cmd_list, list_usage, list_options, 0, 0, PREPARE_ROOT, false },
	{ "disable", cmd_disable, disable_usage, class_option, 0, MAX_POSITIONAL, PREPARE_ROOT,
	  false },
	{ "enable", cmd_enable, enable_usage, class_option, 0, MAX_POSITIONAL, PREPARE_ROOT,
	  false },
	{ "forget", cmd_forget, forget_usage, NULL, 1, 1, PREPARE_ROOT, false },
	{ "remind", cmd_remind, remind_usage, dry_run_option, 0, 0, PREPARE_ROOT, false },
	{ "set-email", cmd_set_email, set_email_usage, set_email_options, 2, 2, PREPARE_ROOT, true },
	{ "verify-email", cmd_verify_email, verify_email_usage, NULL, 2, 2, PREPARE_ROOT, false },
	{ "check-dns", cmd_check_dns, check_dns_usage, dns_options, 1, 1, PREPARE_CONFIG, false },
	{ "doctor", cmd_doctor, doctor_usage, doctor_options, 0, 0, PREPARE_DIAGNOSE, false },
	{ "backup", cmd_backup, backup_usage, NULL, 1, 1, PREPARE_ROOT, false },
	{ "restore", cmd_restore, restore_usage, NULL, 1, 1, PREPARE_ROOT, false },
	{ "test-email", cmd_test_email, test_email_usage, NULL, 1, 1, PREPARE_ROOT, false },
	{ "queue", cmd_queue, queue_usage, NULL, 1, 2, PREPARE_ROOT, false },
	{ NULL, NULL, NULL, NULL, 0, 0, PREPARE_NOTHING, false },
};
