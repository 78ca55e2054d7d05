/*
 * main.c — `attune`: the command table and the dispatcher.
 */
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <sodium.h>

#include "analyze.h"
#include "cli.h"

const char *cli_config_file = NULL;

/*
 * Every subcommand. Later issues add rows here (demo, enroll, import, export,
 * analyze, user, ...); the dispatcher needs no change.
 */
static const struct cli_command cli_commands[] = {
    {"serve", cli_serve, "run the collector and dashboards over HTTP",
     "attune serve [--listen HOST:PORT] [--threads N] [--print-config]\n"
     "\n"
     "Runs the HTTP service until SIGTERM or SIGINT, then finishes the requests in\n"
     "flight and stops. Without ATTUNE_DATABASE_URL the embedded PostgreSQL cluster\n"
     "is started first. Refuses to start while migrations are pending.\n"
     "\n"
     "  --listen HOST:PORT  address to listen on (ATTUNE_LISTEN, default 127.0.0.1:8080)\n"
     "  --threads N         HTTP worker threads (ATTUNE_THREADS, default 8)\n"
     "  --print-config      print the effective configuration (secrets masked) and exit\n"},
    {"migrate", cli_migrate, "apply pending schema migrations from sql/",
     "attune migrate [--status]\n"
     "\n"
     "Applies every sql/NNN_what.sql file not yet recorded in schema_migrations, in\n"
     "order, each in its own transaction. Running it again does nothing. A file that\n"
     "changed after it was applied is an error that names it.\n"
     "\n"
     "  --status  list applied and pending migrations and change nothing\n"},
    {"db", cli_db, "start, stop or inspect the embedded PostgreSQL cluster",
     "attune db start|stop|status|url\n"
     "\n"
     "  start   initialise (once) and start the private cluster in $ATTUNE_HOME/pg\n"
     "  stop    stop it (fast shutdown: sessions are closed, committed data is safe)\n"
     "  status  say whether it exists and runs; exit 0 when running, 3 when not\n"
     "  url     print the connection string (for psql \"$(attune db url)\")\n"
     "\n"
     "With ATTUNE_DATABASE_URL set, Attune never touches a local cluster: start and\n"
     "stop refuse, and url prints that URL with its password masked.\n"},
    {"study", cli_study, "create a study from its protocol file; supply item texts",
     "attune study create FILE\n"
     "attune study texts STUDY TEXTS_FILE\n"
     "\n"
     "create  Creates the study described by the protocol FILE (JSON; see\n"
     "        docs/collector.md): its arms, its schedule of questionnaires, the item\n"
     "        texts its schedule names (\"item_texts\", relative to FILE) and its own\n"
     "        event types. Registers each instrument definition the schedule names\n"
     "        (from the instruments folder) with its checksum, and refuses a version\n"
     "        registered with a different definition: a definition with data never\n"
     "        changes in place.\n"
     "texts   Stores the study's item texts for a scoring key shipped without them\n"
     "        (ECR-R, PSS-10; format in docs/instruments.md), checked against the\n"
     "        version the study schedules. Other texts replace the stored ones only\n"
     "        while nobody has answered that version.\n"},
    {"enroll", cli_enroll, "enrol participants and print their tokens (CSV)",
     "attune enroll --study S --arm A [--count N] [--enrolled-at TIME] [--code C]\n"
     "\n"
     "Enrols N participants (default 1) in arm A of study S, each with a pseudonymous\n"
     "code and a random access token (256 bits), and prints CSV for a mail merge:\n"
     "code,arm,token,link. The token is shown only now: the database keeps its hash.\n"
     "\n"
     "  --enrolled-at TIME  enrolment time (RFC 3339; default now): week 0 starts then\n"
     "  --code C            use this code instead of a random one (with --count 1)\n"},
    {"link", cli_link, "revoke or reissue a participant's personal link (token)",
     "attune link --study S revoke|reissue CODE\n"
     "\n"
     "  revoke   the participant's tokens stop working at once\n"
     "  reissue  revoke, then print a new token as enrolment CSV\n"},
    {"demo", cli_demo, "create the synthetic demo study",
     "attune demo [--seed N] [--participants N]\n"
     "\n"
     "Creates the study \"demo\" (arms app and waitlist) with synthetic participants,\n"
     "weekly questionnaires and app events, through the same validation and scoring\n"
     "as real submissions, deterministically from the seed (docs/demo.md). Does\n"
     "nothing, with a message, when the study exists.\n"
     "\n"
     "  --seed N          random seed (default 1)\n"
     "  --participants N  participants (default 280)\n"},
    {"analyze", cli_analyze,
     "outcome statistics: pre/post, arms, reliability, mixed models, attrition, engagement",
     "attune analyze prepost|between|reliability|mixed|attrition|engagement [options]\n"
     "       attune analyze --rerun RUN_ID [--format F]\n"
     "\n"
     "  prepost      one group at baseline and follow-up: paired t, d_z (noncentral-t CI),\n"
     "               d_av, d_rm, g_av, Glass's delta, Wilcoxon, rank-biserial, % reductions\n"
     "               (bootstrap percentile and BCa CIs), responders, remission, MCID,\n"
     "               reliable and clinically significant change\n"
     "  between      two arms at follow-up: Welch and Student t, Cohen's d and Hedges' g\n"
     "               (noncentral-t CIs), difference in mean change, ANCOVA on baseline\n"
     "  reliability  Cronbach's alpha (raw and standardised) from item answers\n"
     "  mixed        scores over the weeks: a linear mixed model, score ~ time (+ arm,\n"
     "               + time x arm), random intercept or intercept and slope per\n"
     "               participant (REML or ML, as lme4), Satterthwaite df (as lmerTest),\n"
     "               model-based means by time and the reduction from --pre to --post\n"
     "  attrition    the participant flow (CONSORT-style) by arm and week from the derived\n"
     "               questionnaire statuses: enrolled, baseline, answered/late/missed, "
     "completers,\n"
     "               withdrawn (a study only)\n"
     "  engagement   app use per participant and week (active days, sessions, minutes,\n"
     "               exercises, trigger logs), by week and arm, its Pearson and Spearman\n"
     "               correlation with the change score, change by tertile, and engagement as a\n"
     "               mixed-model covariate (a study only; see docs/report.md)\n"
     "  --rerun ID   repeat a recorded run from its options; say whether the result and\n"
     "               the input fingerprint are the same (exit 1 when the result differs)\n"
     "\n" CLI_DATA_USAGE
     "  (with --study, --arm A picks an arm; with --csv, --arm COL names the arm column)\n"
     "\n"
     "prepost and between:\n"
     "  --pre T --post T           baseline and follow-up times (default: first and last)\n"
     "  --population P             completers (default), bocf or locf\n"
     "  --level L                  confidence level, default 0.95\n"
     "  --hedges-j approx|exact    Hedges' J (default approx for g_av, exact for g)\n"
     "prepost:\n"
     "  --in-arm A | --by-arm      one arm of a CSV file, or every arm separately\n"
     "  --resamples N --seed S     bootstrap (default 2000 resamples, seed 1; GSL MT19937)\n"
     "  --no-bootstrap             skip the bootstrap\n"
     "  --responder-pct X          responders improve by >= X% (default 50)\n"
     "  --remission-below C        remission cut-off (GAD-7: 5)\n"
     "  --mcid M                   minimal clinically important change (GAD-7: 4)\n"
     "  --reliability R            reliability for the reliable change index (GAD-7: 0.92)\n"
     "  --norm-mean M --norm-sd S  normative values for Jacobson-Truax criterion c\n"
     "  --clinical-mean M --clinical-sd S   clinical population (default: the baseline)\n"
     "  --higher-is-better         improvement is an increase (default: a decrease)\n"
     "  --no-instrument-facts      ignore the instrument's cut-offs, MCID and reliability\n"
     "between:\n"
     "  --arm-ref R --arm-test T   arms compared (test - reference); default the two arms,\n"
     "                             reference first in alphabetical order\n"
     "mixed:\n"
     "  --random intercept|slope   random effects per participant (default slope)\n"
     "  --method reml|ml           estimation (default reml)\n"
     "  --interaction              add time x arm (needs an arm)\n"
     "  --time-categorical         one fixed effect per time instead of a line\n"
     "  --arm-ref LEVEL            reference arm (default: first in C-locale order)\n"
     "  (a study puts its arms in the model when more than one has scores; a CSV\n"
     "  file when --arm names the column; see docs/mixed-models.md)\n"
     "reliability:\n"
     "  --items A1,A2,...          item columns (CSV; with --study default all items)\n"
     "  --reverse A1,C4 --scale-min 1 --scale-max 6   reverse-keyed items: min + max - x\n"
     "  --id COL                   respondent id column (CSV, optional)\n"
     "  --week W                   study week of the answers (--study, default 0)\n"
     "attrition and engagement (docs/report.md):\n"
     "  --asof TIME                statuses and exposure as of TIME (RFC 3339; default now)\n"
     "  --pre W --post W           baseline and final weeks (default: first and last due)\n"
     "  --session-cap MIN          longest session an end may close (default 60)\n"
     "  --metric M                 active_days (default), sessions, minutes, exercises or\n"
     "                             trigger_logs: for tertiles and the covariate\n"
     "  --covariate total|weekly|none   engagement in the mixed model (default total)\n"
     "  --spearman-se bonett-wright|fieller   SE of Spearman's Fisher z (default bonett-wright)\n"
     "  --population P             of the change score (default completers)\n"
     "  --no-participants          leave the per-participant list out of JSON and CSV\n"
     "\n"
     "Runs on a study are recorded in analysis_runs; the run id is printed. See\n"
     "docs/analysis.md for every statistic's definition and reference.\n"},
    {"instruments", cli_instruments, "list, check, score and convert instrument definitions",
     "attune instruments ACTION [options]\n"
     "\n"
     "  list                         the definitions in instruments_dir, with checksums\n"
     "  show ID [--version V]        a definition as canonical JSON\n"
     "  check FILE                   load one definition file and report what is wrong\n"
     "  score ID [--version V]       score answers read as JSON on standard input,\n"
     "                               {\"<item id>\": <value>, ...}; prints scores, band and\n"
     "                               flags as JSON, or every problem (exit 1)\n"
     "  import-redcap FILE.csv       turn each form of a REDCap data dictionary into a\n"
     "        [--out DIR] [--version V]  definition (to DIR, or standard output); what\n"
     "                               cannot be translated is listed on standard error\n"
     "  export-redcap ID [--version V]   the definition as a REDCap data dictionary\n"
     "  export-fhir ID [--version V] [--texts FILE]\n"
     "                               the definition as a FHIR R4 Questionnaire; --texts\n"
     "                               adds a study's item texts to a scoring key\n"
     "\n"
     "Without --version the latest version is used. Definitions are read from\n"
     "ATTUNE_INSTRUMENTS_DIR (default data_dir/instruments/definitions); see\n"
     "docs/instruments.md for the format.\n"},
    {"user", cli_user, "researchers' accounts: add, list, passwd, role, disable, join",
     "attune user add NAME --role ROLE [--name \"Full Name\"] [--study S]... [--password-stdin]\n"
     "       attune user list\n"
     "       attune user passwd NAME [--password-stdin]\n"
     "       attune user role NAME viewer|researcher|admin\n"
     "       attune user disable|enable NAME\n"
     "       attune user join|leave NAME STUDY\n"
     "\n"
     "Roles: admin (users, every study, withdrawals and erasure), researcher\n"
     "(participant-level data and exports of their studies), viewer (aggregates of\n"
     "their studies only). Passwords have at least 12 characters; they are asked\n"
     "twice on the terminal, or read as one line from standard input with\n"
     "--password-stdin. A new password or a disabled account ends the user's\n"
     "sessions at once. Every change is recorded in the audit trail.\n"},
    {"token", cli_token, "API tokens for scripts and the study app: create, list, revoke",
     "attune token create --user NAME --name LABEL --scope read[,write,export]\n"
     "                    [--study S] [--days N]\n"
     "       attune token list [--user NAME]\n"
     "       attune token revoke ID\n"
     "\n"
     "A token acts for its user, never beyond the user's role and studies, within\n"
     "its scopes and (with --study) one study; it expires after --days (default 90).\n"
     "create prints the token once on standard output; only its hash is kept. Use it\n"
     "as \"Authorization: Bearer <token>\".\n"},
    {"audit", cli_audit, "check the audit trail's hash chain, or show its rows",
     "attune audit verify [--no-seal]\n"
     "       attune audit show [--since TIME] [--until TIME] [--actor A] [--action A]\n"
     "                         [--target T] [--study S] [--limit N] [--json]\n"
     "\n"
     "verify seals the rows not yet chained, recomputes every hash, and exits 1\n"
     "naming the first broken row if any row was changed or deleted behind the\n"
     "application's back. show prints the newest rows first (--limit, default 100);\n"
     "--action noun.* and --target prefix* match prefixes.\n"},
    {"participant", cli_participant, "withdraw a participant, or erase their data",
     "attune participant withdraw CODE [--study S] [--reason TEXT]\n"
     "       attune participant erase CODE --reason TEXT [--study S]\n"
     "\n"
     "withdraw stops collection at once: the participant's token gets 403 on every\n"
     "write. erase deletes their responses, item answers and events, revokes their\n"
     "tokens, replaces their code, and marks the study's analysis runs made since\n"
     "their enrolment as no longer reproducible, in one transaction; the audit trail\n"
     "keeps the fact, the time, the operator and the reason. --study is needed when\n"
     "the code exists in several studies.\n"},
    {"report", cli_report, "the claim report: every defensible headline, with provenance",
     "attune report --study S --instrument I [--format text|json|html|csv]\n"
     "              [--claim \"43% reduction in anxiety among 280 adults over 8 weeks\"]\n"
     "\n"
     "One page a reviewer can check: the participant flow and the analysis populations\n"
     "(and that they add up), baseline characteristics by arm, the reduction from --pre\n"
     "to --post computed every defensible way (group-mean % reduction for completers,\n"
     "BOCF, LOCF and the mixed model; mean and median individual % reduction;\n"
     "responders; reliable improvement; remission; MCID), each with n and a 95% CI,\n"
     "effect sizes, engagement and outcome, and the provenance of every number. The\n"
     "run is recorded in analysis_runs. With --claim, says which definitions and\n"
     "populations reproduce the claim (its figure at its own rounding, and the n, weeks,\n"
     "population and arm it states) and which do not. See docs/report.md.\n"
     "\n"
     "  --claim TEXT         a headline claim to check\n"
     "  --asof TIME          questionnaire statuses as of TIME (RFC 3339; default now)\n"
     "  --pre W --post W     baseline and final weeks (default: first and last due)\n"
     "  --arm-ref ARM        reference arm of comparisons (default: first alphabetically)\n"
     "  --resamples N --seed S   bootstrap of the group-mean reduction (default 2000, 1)\n"
     "  --session-cap MIN    session cap for engagement (default 60)\n"
     "  --metric M           engagement measure for tertiles (default active_days)\n"
     "  --output FILE        write to FILE instead of standard output\n"
     "  --stylesheet URL     HTML: link this stylesheet (the rules of report/rep_html.c)\n"
     "                       instead of embedding them, for pages served under a strict\n"
     "                       Content-Security-Policy; by default the page is one file\n"},
    {"version", cli_version, "print the version", "attune version\n"},
};

#define CLI_NCOMMANDS (sizeof cli_commands / sizeof cli_commands[0])

static const struct cli_command *cli_find(const char *name)
{
    for (size_t i = 0; i < CLI_NCOMMANDS; i++)
        if (strcmp(cli_commands[i].name, name) == 0)
            return &cli_commands[i];
    return NULL;
}

void cli_usage(const char *name, int to_stderr)
{
    const struct cli_command *cmd = cli_find(name);
    FILE *out = to_stderr ? stderr : stdout;

    if (cmd != NULL)
        fprintf(out, "usage: %s", cmd->usage);
}

static void cli_help(FILE *out)
{
    fprintf(out, "usage: attune [--config FILE] <command> [options]\n"
                 "\n"
                 "Attune collects and analyses research-study data: weekly questionnaires,\n"
                 "app events, outcome statistics and dashboards.\n"
                 "\n"
                 "Commands:\n");
    for (size_t i = 0; i < CLI_NCOMMANDS; i++)
        fprintf(out, "  %-12s %s\n", cli_commands[i].name, cli_commands[i].summary);
    fprintf(out, "\n"
                 "Run \"attune <command> --help\" for a command's options. Settings come from\n"
                 "ATTUNE_* environment variables and an optional config file; see\n"
                 "\"attune serve --print-config\" and docs/configuration.md.\n");
}

void cli_error(const struct err *e)
{
    err_print(e, stderr);
}

int cli_config(struct cfg *c, const char *const *flag_pairs)
{
    struct err e;

    err_clear(&e);
    if (cfg_load(c, cli_config_file, &e) != 0)
        goto fail;
    for (const char *const *p = flag_pairs; p != NULL && p[0] != NULL; p += 2)
        if (p[1] != NULL && cfg_set(c, p[0], p[1], CFG_FROM_FLAG, &e) != 0)
            goto fail;
    if (cfg_finish(c, &e) != 0)
        goto fail;
    log_set_level(c->log_level);
    return CLI_OK;
fail:
    cli_error(&e);
    cfg_free(c);
    return CLI_FAIL;
}

int main(int argc, char **argv)
{
    const struct cli_command *cmd;
    int i = 1;

    /* Numbers are printed and parsed in the C locale, whatever the user's. */
    setlocale(LC_ALL, "C");
    if (sodium_init() < 0) {
        fprintf(stderr, "error: libsodium could not be initialised\n");
        return CLI_FAIL;
    }
    /* GSL's default handler aborts; every GSL status is checked instead. */
    gsl_set_error_handler_off();

    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cli_help(stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            return cli_version(1, argv + i);
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            cli_config_file = argv[i + 1];
            i += 2;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            cli_config_file = argv[i] + 9;
            i++;
        } else {
            fprintf(stderr, "error: unknown option \"%s\"\n", argv[i]);
            cli_help(stderr);
            return CLI_USAGE;
        }
    }
    if (i >= argc) {
        cli_help(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[i], "help") == 0) {
        if (i + 1 < argc && cli_find(argv[i + 1]) != NULL) {
            cli_usage(argv[i + 1], 0);
            return CLI_OK;
        }
        cli_help(stdout);
        return CLI_OK;
    }
    cmd = cli_find(argv[i]);
    if (cmd == NULL) {
        fprintf(stderr, "error: unknown command \"%s\"\n", argv[i]);
        fprintf(stderr, "HINT: Run \"attune --help\" for the list of commands.\n");
        return CLI_USAGE;
    }
    for (int j = i + 1; j < argc; j++) {
        if (strcmp(argv[j], "--") == 0)
            break;
        if (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0) {
            cli_usage(cmd->name, 0);
            return CLI_OK;
        }
    }
    return cmd->run(argc - i, argv + i);
}
