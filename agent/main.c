/* gpubase: golden-image provisioning agent for NVIDIA GPU hosts. CLI dispatch only: each
 * subcommand lives in cmd/<name>.c and is registered in commands[] below. */
#include <getopt.h>
#include <string.h>

#include "cmd/cmd.h"
#include "base/log.h"
#include "base/suggest.h"

#ifndef GPUBASE_VERSION
#define GPUBASE_VERSION "0.1.0"
#endif

static const Command commands[] = {
        {"run", "PLAN", "run a plan, or continue its unfinished run", OPT_ROOT | OPT_REBOOT | OPT_DRY_RUN | OPT_REPLAN | OPT_VAR | OPT_VERBOSE | OPT_QUIET | OPT_BUNDLE | OPT_IMAGE | OPT_KEEP_CACHE | OPT_JSON, 0, 1, cmd_run},
        {"resume", "", "continue the unfinished run (after a reboot or a fix)", OPT_ROOT | OPT_REBOOT | OPT_DRY_RUN | OPT_REPLAN | OPT_VAR | OPT_VERBOSE | OPT_QUIET | OPT_BUNDLE | OPT_IMAGE | OPT_KEEP_CACHE | OPT_JSON, 0, 0, cmd_resume},
        {"status", "", "where the run stands", OPT_ROOT | OPT_JSON | OPT_VERBOSE, 0, 0, cmd_status},
        {"wait", "", "block until the run is done (0), failed or its agent died (1), waits for a reboot (3), or is busy and nothing starts it again (75)", OPT_ROOT | OPT_TIMEOUT | OPT_VERBOSE, 0, 0, cmd_wait},
        {"verify", "[--plan PLAN] [--smoke]", "read-only report of every GPU-stack check (exit 0 ok, 2 warnings, 1 failures)", OPT_ROOT | OPT_JSON | OPT_PLAN | OPT_VAR | OPT_VERBOSE | OPT_TEXTFILE | OPT_SMOKE, 0, 0, cmd_verify, cmd_verify_help},
        {"plan", "check|show PLAN", "validate a plan / print its expanded steps", OPT_ROOT | OPT_VAR | OPT_VERBOSE, 2, 2, cmd_plan},
        {"reset", "", "forget the run (the machine is not touched)", OPT_ROOT | OPT_DRY_RUN | OPT_VERBOSE, 0, 0, cmd_reset},
        {"bundle", "create|inspect", "an offline bundle of what a plan downloads (run --bundle FILE)", OPT_ROOT | OPT_VAR | OPT_OUTPUT | OPT_JSON | OPT_VERBOSE, 2, 2, cmd_bundle, cmd_bundle_help},
        {"report", "[-o FILE]", "a support tarball (0600): state, verify, plan, logs, runtime config (secrets redacted)", OPT_ROOT | OPT_OUTPUT | OPT_VERBOSE, 0, 0, cmd_report, cmd_report_help},
        {"watch", "enable|disable|status|check", "the drift watch: gpubase-verify.timer, a periodic verify of the last run's plan", OPT_ROOT | OPT_TEXTFILE | OPT_VERBOSE, 1, 1, cmd_watch, cmd_watch_help},
};

/* Every option, in the order --help lists them: the global help shows all, `gpubase COMMAND --help`
 * those its command accepts (Command.opts). */
static const struct {
        unsigned bit;
        const char *name, *text;
} option_help[] = {
        {OPT_ROOT, "--root DIR",
         "act on the system under DIR: every path is taken under it, as after\n"
         "chroot DIR (links and .. never lead out), and reboots/unit changes are\n"
         "logged to DIR" GPUBASE_ACTIONS_LOG " (DIR must not be empty)"},
        {OPT_IMAGE, "--image",
         "with --root: DIR is a complete OS tree being built into an image (run,\n"
         "resume): package scripts and commands run chrooted into it with /proc,\n"
         "/sys, /dev mounted for the run only, no service starts, and the reboot\n"
         "step and what follows run at the image's first boot (exit 3, `status`:\n"
         "first boot pending)"},
        {OPT_KEEP_CACHE, "--keep-cache", "--image: keep the apt lists and archives the run downloaded"},
        {OPT_REBOOT, "--reboot=now|exit|never",
         "when a step needs a reboot: reboot now (default), exit 3 so that\nPacker/Ansible reboot, or fail"},
        {OPT_DRY_RUN, "--dry-run", "print what each step would do; change nothing, write no state"},
        {OPT_REPLAN, "--replan", "continue an unfinished run with a changed plan"},
        {OPT_JSON, "--json",
         "machine-readable output (status, verify, bundle inspect); run, resume:\n"
         "one JSON event per line on stdout, everything else on stderr"},
        {OPT_PLAN, "--plan PLAN", "verify against what this plan installs (branch, versions, workloads)"},
        {OPT_SMOKE, "--smoke", "verify: also start a container with every GPU (runtime.smoke)"},
        {OPT_VAR, "--var NAME=VALUE",
         "override a variable of the plan's vars (run, plan, verify, bundle; a run\nkeeps them for resume)"},
        {OPT_TEXTFILE, "--textfile PATH",
         "also write the result for node_exporter's textfile collector (verify,\nwatch check)"},
        {OPT_TIMEOUT, "--timeout SECONDS", "give up waiting after this long (wait)"},
        {OPT_BUNDLE, "--bundle FILE", "take keyrings and packages from an offline bundle (run, resume)"},
        {OPT_OUTPUT, "-o, --output FILE", "where to write the bundle or report (report: - for stdout)"},
        {OPT_QUIET, "-q, --quiet", "one line per step and nothing else (run, resume)"},
        {OPT_VERBOSE, "-v, --verbose", "more output (program output, passing checks)"},
};

/* The options of mask, two columns, continuation lines indented under the text. */
static void print_options(unsigned mask) {
        for (size_t i = 0; i < ELEMENTSOF(option_help); i++) {
                if (!(mask & option_help[i].bit))
                        continue;
                printf("  %-24s ", option_help[i].name);
                for (const char *t = option_help[i].text; *t; t++) {
                        putchar(*t);
                        if (*t == '\n')
                                printf("%27s", "");
                }
                putchar('\n');
        }
        printf("  %-24s %s\n", "-h, --help", "this help");
}

static void help(void) {
        printf("gpubase %s - turn a machine into a verified NVIDIA GPU container host\n\n", GPUBASE_VERSION);
        printf("Usage: gpubase [OPTIONS] COMMAND [ARGS]\n\nCommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                _cleanup_free_ char *s = xasprintf("%s %s", commands[i].name, commands[i].usage);
                printf("  %-24s %s\n", s, commands[i].summary);
        }
        printf("  %-24s %s\n", "help [COMMAND]", "this help, or one command's options");
        printf("\nOptions:\n");
        print_options(~0u);
        printf("  %-24s %s\n", "    --version", "print the version");
        printf("\nExit codes: 0 done, 1 failed (state kept), 2 drift (verify warnings), 3 reboot pending, 64 usage,\n"
               "65 invalid or refused plan, 75 busy (another gpubase holds %s), 130/143 stopped by SIGINT/SIGTERM\n"
               "(the step is recorded as interrupted; `gpubase resume` runs it again).\n"
               "State: %s (mode 0600). `gpubase help COMMAND` or `gpubase COMMAND --help` for more on one command.\n"
               "See gpubase(1), gpubase-plan(5) and README.md.\n",
               GPUBASE_LOCK_FILE, GPUBASE_STATE_FILE);
}

static void command_help(const Command *cmd) {
        printf("Usage: gpubase [OPTIONS] %s%s%s\n\n%s\n", cmd->name, isempty(cmd->usage) ? "" : " ", cmd->usage,
               cmd->help ? cmd->help : cmd->summary);
        printf("\nOptions:\n");
        print_options(cmd->opts);
        printf("\nSee gpubase(1) for exit codes and files.\n");
}

static const struct option long_opts[] = {
        {"root", required_argument, NULL, 'R'},
        {"reboot", required_argument, NULL, 'b'},
        {"dry-run", no_argument, NULL, 'n'},
        {"replan", no_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"plan", required_argument, NULL, 'P'},
        {"var", required_argument, NULL, 'D'},
        {"output", required_argument, NULL, 'o'},
        {"bundle", required_argument, NULL, 'B'},
        {"image", no_argument, NULL, 'I'},
        {"keep-cache", no_argument, NULL, 'K'},
        {"textfile", required_argument, NULL, 'X'},
        {"smoke", no_argument, NULL, 'S'},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
};

static const char *opt_name(unsigned bit) {
        switch (bit) {
        case OPT_ROOT:
                return "--root";
        case OPT_REBOOT:
                return "--reboot";
        case OPT_DRY_RUN:
                return "--dry-run";
        case OPT_REPLAN:
                return "--replan";
        case OPT_JSON:
                return "--json";
        case OPT_TIMEOUT:
                return "--timeout";
        case OPT_PLAN:
                return "--plan";
        case OPT_VAR:
                return "--var";
        case OPT_OUTPUT:
                return "--output";
        case OPT_BUNDLE:
                return "--bundle";
        case OPT_IMAGE:
                return "--image";
        case OPT_KEEP_CACHE:
                return "--keep-cache";
        case OPT_TEXTFILE:
                return "--textfile";
        case OPT_SMOKE:
                return "--smoke";
        case OPT_QUIET:
                return "--quiet";
        default:
                return "-v";
        }
}

/* The options that only switch something on: their letter, their bit, their flag in Args. */
static bool *flag_of(Args *a, int c, unsigned *ret_bit) {
        static const struct {
                int c;
                unsigned bit;
        } flags[] = {{'n', OPT_DRY_RUN}, {'p', OPT_REPLAN}, {'j', OPT_JSON},  {'I', OPT_IMAGE},
                     {'K', OPT_KEEP_CACHE}, {'S', OPT_SMOKE},  {'q', OPT_QUIET}};
        bool *const where[] = {&a->dry_run, &a->replan, &a->json, &a->host.image, /* kept across host_init() */
                               &a->keep_cache, &a->smoke, &a->quiet};
        for (size_t i = 0; i < ELEMENTSOF(flags); i++)
                if (flags[i].c == c) {
                        *ret_bit = flags[i].bit;
                        return where[i];
                }
        return NULL;
}

/* One option of the command line (not --version). EXIT_OK, or EXIT_USAGE once told why. */
static int parse_option(Args *a, int c, char **argv, const char **root, bool *want_help) {
        unsigned bit = 0;
        bool *flag = flag_of(a, c, &bit);
        if (flag) {
                *flag = true;
                a->seen |= bit;
                return EXIT_OK;
        }
        switch (c) {
        case 'R':
                if (isempty(optarg)) { /* an unset shell variable must not mean the live machine */
                        log_error("--root needs a directory, not an empty string; to act on this machine leave "
                                  "--root out");
                        return EXIT_USAGE;
                }
                *root = optarg;
                a->seen |= OPT_ROOT;
                return EXIT_OK;
        case 'b':
                a->reboot = reboot_mode_from_string(optarg);
                if (a->reboot < 0) {
                        log_error("--reboot must be now, exit or never, not '%s'", optarg);
                        return EXIT_USAGE;
                }
                a->seen |= OPT_REBOOT;
                return EXIT_OK;
        case 't':
                if (parse_uint(optarg, &a->timeout) < 0) {
                        log_error("--timeout needs a number of seconds, not '%s'", optarg);
                        return EXIT_USAGE;
                }
                a->seen |= OPT_TIMEOUT;
                return EXIT_OK;
        case 'P':
                a->plan = optarg;
                a->seen |= OPT_PLAN;
                return EXIT_OK;
        case 'D':
                if (!strchr(optarg, '=') || optarg[0] == '=') {
                        log_error("--var needs NAME=VALUE, not '%s'", optarg);
                        return EXIT_USAGE;
                }
                strv_push(&a->vars, xstrdup(optarg));
                a->seen |= OPT_VAR;
                return EXIT_OK;
        case 'o':
                a->output = optarg;
                a->seen |= OPT_OUTPUT;
                return EXIT_OK;
        case 'B':
                a->bundle = optarg;
                a->seen |= OPT_BUNDLE;
                return EXIT_OK;
        case 'X':
                a->textfile = optarg;
                a->seen |= OPT_TEXTFILE;
                return EXIT_OK;
        case 'v':
                a->verbose++;
                a->seen |= OPT_VERBOSE;
                return EXIT_OK;
        case 'h':
                *want_help = true;
                return EXIT_OK;
        case ':':
                log_error("option %s needs a value", argv[optind - 1]);
                return EXIT_USAGE;
        default:
                log_error("unknown option %s; see `gpubase --help`", argv[optind - 1]);
                return EXIT_USAGE;
        }
}

/* Do the options and the number of operands fit the command? EXIT_OK, or EXIT_USAGE once told why. */
static int check_usage(const Args *a, const Command *cmd, int n_args) {
        for (unsigned bit = 1; bit <= _OPT_LAST; bit <<= 1)
                if ((a->seen & bit) && !(cmd->opts & bit)) {
                        log_error("%s does not apply to `gpubase %s`", opt_name(bit), cmd->name);
                        return EXIT_USAGE;
                }
        if (a->quiet && a->verbose) {
                log_error("-q and -v do not go together: -q prints one line per step, -v more");
                return EXIT_USAGE;
        }
        if (n_args < cmd->min_args || n_args > cmd->max_args) {
                log_error("usage: gpubase %s %s", cmd->name, cmd->usage);
                return EXIT_USAGE;
        }
        return EXIT_OK;
}

static const Command *find_command(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(commands[i].name, name))
                        return &commands[i];
        return NULL;
}

/* The command named name, or NULL once told that there is none (and which one was perhaps meant). */
static const Command *find_command_or_complain(const char *name) {
        const Command *cmd = find_command(name);
        if (cmd)
                return cmd;
        const char *names[ELEMENTSOF(commands) + 2];
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                names[i] = commands[i].name;
        names[ELEMENTSOF(commands)] = "help";
        names[ELEMENTSOF(commands) + 1] = NULL;
        _cleanup_free_ char *hint = did_you_mean(name, names);
        log_error("unknown command '%s'%s; see `gpubase --help`", name, hint);
        return NULL;
}

/* gpubase help [COMMAND] */
static int help_command(char **ops, int n_ops) {
        if (n_ops > 2) {
                log_error("usage: gpubase help [COMMAND]");
                return EXIT_USAGE;
        }
        if (n_ops == 1) {
                help();
                return EXIT_OK;
        }
        if (streq(ops[1], "help")) {
                printf("Usage: gpubase help [COMMAND]\n\nThe list of commands and options, or one command's.\n");
                return EXIT_OK;
        }
        const Command *cmd = find_command_or_complain(ops[1]);
        if (!cmd)
                return EXIT_USAGE;
        command_help(cmd);
        return EXIT_OK;
}

int main(int argc, char **argv) {
        Args a = {.reboot = REBOOT_NOW};
        const char *root = NULL;
        bool want_help = false;
        int c, r;

        opterr = 0;
        /* GNU permutation: options may come before or after the command; operands end up last */
        while ((c = getopt_long(argc, argv, ":vqho:", long_opts, NULL)) >= 0) {
                if (c == 'V') {
                        printf("gpubase %s\n", GPUBASE_VERSION);
                        return EXIT_OK;
                }
                r = parse_option(&a, c, argv, &root, &want_help);
                if (r != EXIT_OK)
                        return r;
        }

        char **ops = argv + optind;
        int n_ops = argc - optind;
        if (want_help && n_ops == 0) {
                help();
                return EXIT_OK;
        }
        if (n_ops == 0) {
                help();
                return EXIT_USAGE;
        }
        if (streq(ops[0], "help"))
                return help_command(ops, n_ops);
        const Command *cmd = find_command_or_complain(ops[0]);
        if (!cmd)
                return EXIT_USAGE;
        if (want_help) {
                command_help(cmd);
                return EXIT_OK;
        }
        r = check_usage(&a, cmd, n_ops - 1);
        if (r != EXIT_OK)
                return r;
        bool image = a.host.image;
        if (image && !root) {
                log_error("--image needs --root TREE: the directory of the image being built");
                return EXIT_USAGE;
        }
        if (a.keep_cache && !image) {
                log_error("--keep-cache applies to --image only");
                return EXIT_USAGE;
        }
        if (image && a.dry_run) {
                log_error("--dry-run does not apply with --image; `gpubase --root TREE plan show PLAN` shows the steps");
                return EXIT_USAGE;
        }
        r = host_init(&a.host, root);
        a.host.image = image;
        if (r < 0) {
                log_error("--root %s: %s", root, strerror(-r));
                return EXIT_USAGE;
        }
        host_memo_enable(&a.host); /* one process, one machine: dpkg's status and the PCI bus read once */
        r = cmd->run(&a, n_ops - 1, ops + 1);
        host_done(&a.host);
        strv_free(a.vars);
        return r;
}
