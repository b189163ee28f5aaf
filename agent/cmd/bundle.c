/* gpubase bundle create PLAN -o FILE / gpubase bundle inspect FILE: offline bundles for air-gapped
 * hosts (the format is in host/bundle.h; `gpubase run --bundle FILE` uses one). */
#include <string.h>

#include "base/log.h"
#include "host/bundle.h"
#include "host/tarball.h"
#include "steps/steps.h"
#include "plan/secret_vars.h"
#include "cmd/cmd.h"

const char cmd_bundle_help[] =
        "  gpubase bundle create PLAN -o FILE.tar.zst [--var NAME=VALUE]... [--root DIR]\n"
        "  gpubase bundle inspect FILE [--json]\n"
        "\n"
        "create, on a machine with network that is like the target (same OS, same packages installed, e.g.\n"
        "the image the target starts from; --root DIR for a root directory), collects what the plan's apt\n"
        "steps would download: every apt-keyring-deb package and apt-source key (checked against the\n"
        "plan's sha256 and fingerprints; a keyring package vouched for by its repository comes with that\n"
        "repository's signed indexes, checked again offline), and every package of every apt-install step at the version it\n"
        "resolves to here, with the dependencies not installed here (a leading nvidia-driver-pinning-*\n"
        "package takes effect first, as in a run). apt checks each package against its signed repository.\n"
        "The bundle holds them, the plan, and manifest.json with the sha256 of every file. FILE ends in\n"
        ".tar.zst (zstd), .tar.gz or .tar.xz. Steps of other kinds are not bundled: a command step that\n"
        "downloads something still needs the network.\n"
        "\n"
        "inspect checks every file of a bundle against its manifest and lists them (--json: the manifest).\n"
        "\n"
        "On the target, `gpubase run --bundle FILE [PLAN]` checks the bundle (absolute paths, \"..\", links\n"
        "and files the manifest does not list or whose sha256 differs are refused), extracts it to\n"
        GPUBASE_BUNDLE_DIR ", and runs the plan with the bundle's repositories as the only apt sources:\n"
        "no network. Without PLAN it runs the bundle's own plan with the --var values it was made with;\n"
        "with PLAN, the plan and --var values must be the ones the bundle was made for. `gpubase resume`\n"
        "goes on with the same bundle; when the run is done its packages are removed.";

static char *format_size(uint64_t bytes) {
        if (bytes < 1024 * 1024)
                return xasprintf("%.1f KiB", (double) bytes / 1024.0);
        return xasprintf("%.1f MiB", (double) bytes / (1024.0 * 1024.0));
}

static int create(Args *a, const char *plan_path) {
        _cleanup_(plan_freep) Plan *p = NULL;
        _cleanup_(bundle_builder_freep) BundleBuilder *b = NULL;
        _cleanup_(bundle_manifest_freep) BundleManifest *m = NULL;
        _cleanup_free_ char *err = NULL, *why = NULL;
        int r;

        if (!a->output) {
                log_error("usage: gpubase bundle create PLAN -o FILE.tar.zst");
                return EXIT_USAGE;
        }
        r = load_plan_or_complain(a, plan_path, a->vars, false, &p);
        if (r != EXIT_OK)
                return r;
        /* the packages resolve against this machine's repositories and installed packages */
        if (plan_matches_host(p, &a->host, &why) == 0) {
                log_error("%s: %s; make the bundle on a machine like the target (or --root DIR)", plan_path, why);
                return EXIT_INVALID_PLAN;
        }
        r = bundle_builder_new(&a->host, &b, &err);
        if (r < 0) {
                log_error("%s", err);
                return EXIT_FAILED;
        }
        Ctx ctx = {.host = (Host *) bundle_builder_scratch(b), .plan = p, .verbose = a->verbose};
        printf("bundle of plan '%s' (%s)\n", p->name, p->path);
        for (size_t i = 0; i < p->n_steps; i++) {
                const Step *s = &p->steps[i];
                _cleanup_free_ char *detail = NULL, *serr = NULL;
                if (!s->kind->bundle) {
                        if (s->kind == &step_command && a->verbose)
                                printf("[%zu/%zu] %-24s %-16s not bundled: it runs as written on the target\n", i + 1,
                                       p->n_steps, s->id, s->kind->name);
                        continue;
                }
                uint64_t t0 = mono_usec();
                r = s->kind->bundle(s, &ctx, b, &detail, &serr);
                const char *said = r < 0 ? serr : detail;
                printf("[%zu/%zu] %-24s %-16s %s %6.2fs  %s\n", i + 1, p->n_steps, s->id, s->kind->name,
                       r < 0 ? "failed" : "bundled", (double) (mono_usec() - t0) / 1e6, said ? said : "");
                fflush(stdout);
                if (r < 0) {
                        log_error("step '%s' cannot be bundled: %s", s->id, serr ? serr : strerror(-r));
                        return EXIT_FAILED;
                }
        }
        /* a secret variable's value stays out of the bundle: `run --bundle` needs it again with --var */
        _cleanup_strv_free_ char **masked = secret_vars_masked(p);
        BundlePlanRef ref = {.path = p->path, .name = p->name, .sha256 = p->sha256, .vars = masked,
                             .max_size = PLAN_MAX_SIZE};
        r = bundle_builder_write(b, &ref, a->output, &m, &err);
        if (r < 0) {
                log_error("%s", err);
                return EXIT_FAILED;
        }
        uint64_t total = 0;
        size_t debs = 0;
        for (size_t i = 0; i < m->n_files; i++) {
                total += m->files[i].size;
                debs += streq(m->files[i].kind, "deb");
        }
        _cleanup_free_ char *size = format_size(total);
        printf("wrote %s: %zu packages, %zu files, %s; manifest sha256 %s\n", a->output, debs, m->n_files, size,
               m->sha256);
        return EXIT_OK;
}

static int inspect(Args *a, const char *file) {
        _cleanup_(bundle_manifest_freep) BundleManifest *m = NULL;
        _cleanup_free_ char *err = NULL;
        int r = bundle_open(file, NULL, &m, &err);
        if (r < 0) {
                log_error("%s", err);
                return EXIT_FAILED;
        }
        if (a->json) {
                /* the manifest, every file of which was just checked */
                _cleanup_free_ char *json = bundle_manifest_to_json(m);
                fputs(json, stdout);
                return EXIT_OK;
        }
        uint64_t total = 0;
        for (size_t i = 0; i < m->n_files; i++)
                total += m->files[i].size;
        _cleanup_free_ char *vars = m->vars && m->vars[0] ? strv_join(m->vars, " ") : xstrdup("(none)");
        printf("bundle:   %s\n", file);
        printf("plan:     %s (sha256 %s)\n", m->plan_name, m->plan_sha256);
        printf("vars:     %s\n", vars);
        printf("made:     %s by gpubase %s on %s %s, from %s\n", m->created ? m->created : "?",
               m->gpubase_version ? m->gpubase_version : "?", m->os ? m->os : "?", m->arch ? m->arch : "?",
               m->plan_source ? m->plan_source : "?");
        printf("manifest: sha256 %s\n\n", m->sha256);
        printf("  %-12s %-10s %-36s %-24s %s\n", "KIND", "SIZE", "PACKAGE", "VERSION", "PATH");
        for (size_t i = 0; i < m->n_files; i++) {
                const BundleFile *f = &m->files[i];
                printf("  %-12s %-10llu %-36s %-24s %s\n", f->kind, (unsigned long long) f->size,
                       f->package ? f->package : "-", f->version ? f->version : "-", f->path);
        }
        _cleanup_free_ char *size = format_size(total);
        printf("\n%zu files, %s: every one matches its sha256 in the manifest\n", m->n_files, size);
        return EXIT_OK;
}

int cmd_bundle(Args *a, int argc _unused_, char **argv) {
        if (streq(argv[0], "create")) {
                if (a->json) {
                        log_error("--json does not apply to `gpubase bundle create`");
                        return EXIT_USAGE;
                }
                return create(a, argv[1]);
        }
        if (streq(argv[0], "inspect")) {
                if (a->output || a->vars) {
                        log_error("%s does not apply to `gpubase bundle inspect`", a->output ? "-o" : "--var");
                        return EXIT_USAGE;
                }
                return inspect(a, argv[1]);
        }
        log_error("unknown bundle command '%s'; use `gpubase bundle create PLAN -o FILE` or `gpubase bundle inspect FILE`",
                  argv[0]);
        return EXIT_USAGE;
}
