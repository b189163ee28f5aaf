/* verify --textfile PATH: the report in Prometheus' text exposition format (version 0.0.4), for
 * node_exporter's textfile collector (--collector.textfile.directory, Debian's
 * prometheus-node-exporter reads /var/lib/prometheus/node-exporter). Written here rather than with
 * a client library: Debian 12 packages none for C, and the format is a few lines of text. The file
 * is replaced atomically (base/fs.h write_file_atomic), so the collector never reads half of it. */
#include <libgen.h>
#include <string.h>

#include "base/error.h"
#include "checks/stack.h"
#include "cmd/cmd.h"

/* a label value: backslash, double quote and newline escaped, as the format requires */
static void label(Buf *b, const char *name, const char *value, bool last) {
        buf_printf(b, "%s=\"", name);
        for (const char *c = value ? value : ""; *c; c++) {
                if (*c == '\\' || *c == '"')
                        buf_printf(b, "\\%c", *c);
                else if (*c == '\n')
                        buf_puts(b, "\\n");
                else
                        buf_append(b, c, 1);
        }
        buf_puts(b, last ? "\"}" : "\",");
}

static void family(Buf *b, const char *name, const char *help) {
        buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void checks_metrics(Buf *b, const VerifyReport *v) {
        family(b, "gpubase_check_status", "Result of each gpubase verify check: 1 for its status, 0 for the others.");
        for (size_t i = 0; i < v->n; i++)
                for (int s = 0; s < _CHECK_STATUS_MAX; s++) {
                        buf_puts(b, "gpubase_check_status{");
                        label(b, "check", v->rows[i].name, false);
                        label(b, "status", check_status_to_string((CheckStatus) s), true);
                        buf_printf(b, " %d\n", v->rows[i].res.status == (CheckStatus) s);
                }
        family(b, "gpubase_checks", "Number of gpubase verify checks by status.");
        for (int s = 0; s < _CHECK_STATUS_MAX; s++) {
                buf_puts(b, "gpubase_checks{");
                label(b, "status", check_status_to_string((CheckStatus) s), true);
                buf_printf(b, " %u\n", v->count[s]);
        }
}

static void stack_metrics(Buf *b, const StackFacts *f) {
        family(b, "gpubase_driver_info", "The NVIDIA driver: loaded module, flavour, module on disk, installed package.");
        buf_puts(b, "gpubase_driver_info{");
        label(b, "loaded", f->driver_loaded, false);
        label(b, "flavor", f->driver_flavor >= 0 ? driver_flavor_to_string(f->driver_flavor) : "", false);
        label(b, "on_disk", f->driver_on_disk, false);
        label(b, "package", f->driver_package, false);
        label(b, "installed", f->driver_installed, true);
        buf_puts(b, " 1\n");
        family(b, "gpubase_cuda_ceiling_info", "The highest CUDA version the driver serves, and where that was read.");
        buf_puts(b, "gpubase_cuda_ceiling_info{");
        label(b, "version", f->cuda_ceiling, false);
        label(b, "source", !f->cuda_ceiling ? "" : f->cuda_ceiling_from_nvml ? "nvml" : "table", true);
        buf_puts(b, " 1\n");
        family(b, "gpubase_ctk_info", "The NVIDIA Container Toolkit version its four packages share (empty: missing or mixed).");
        buf_puts(b, "gpubase_ctk_info{");
        label(b, "version", f->ctk.version, true);
        buf_puts(b, " 1\n");
        if (f->gpus_known) {
                family(b, "gpubase_gpus", "Number of NVIDIA GPUs on the PCI bus.");
                buf_printf(b, "gpubase_gpus %zu\n", f->gpus.n);
        }
}

static void run_metrics(Buf *b, Args *a) {
        _cleanup_free_ char *path = state_file_path(a);
        _cleanup_(state_freep) State *st = NULL;
        if (state_load(path, &st, NULL) < 0)
                st = NULL; /* no run (or unreadable): the run's metrics say none */
        family(b, "gpubase_run_state", "The last gpubase run's state: 1 for its state, 0 for the others.");
        for (int s = 0; s < _RUN_STATE_MAX; s++) {
                buf_puts(b, "gpubase_run_state{");
                label(b, "state", run_state_to_string((RunState) s), true);
                buf_printf(b, " %d\n", st && st->run_state == (RunState) s);
        }
        if (!st)
                return;
        family(b, "gpubase_run_info", "The last gpubase run: its id and plan.");
        buf_puts(b, "gpubase_run_info{");
        label(b, "run_id", st->run_id, false);
        label(b, "plan", st->plan_name, false);
        label(b, "plan_path", st->plan_path, true);
        buf_puts(b, " 1\n");
        family(b, "gpubase_run_updated_timestamp_seconds", "When the last gpubase run's state last changed.");
        buf_printf(b, "gpubase_run_updated_timestamp_seconds %.3f\n", (double) st->updated / 1e6);
}

int verify_textfile_write(Args *a, const VerifyReport *v, const char *path, char **reterr) {
        Buf b = {0};
        StackFacts facts = {0};
        stack_facts_gather(&a->host, &facts);
        checks_metrics(&b, v);
        stack_metrics(&b, &facts);
        stack_facts_done(&facts);
        run_metrics(&b, a);
        family(&b, "gpubase_verify_timestamp_seconds", "When gpubase verify wrote this file.");
        buf_printf(&b, "gpubase_verify_timestamp_seconds %.3f\n", (double) now_usec() / 1e6);
        _cleanup_free_ char *text = buf_steal(&b);

        _cleanup_free_ char *copy = xstrdup(path), *where = NULL;
        int r = path[0] == '/' ? 0 : -EINVAL;
        if (r >= 0)
                r = host_mkdir_p(&a->host, dirname(copy), 0755);
        if (r >= 0)
                r = host_resolve(&a->host, path, CONFINE_NOFOLLOW, &where);
        if (r >= 0)
                r = write_file_atomic(where, text, strlen(text), 0644);
        if (r < 0)
                return errorf(reterr, r, "cannot write the textfile %s%s: %s%s", a->host.root, path,
                              r == -EINVAL ? "" : write_strerror(r),
                              r == -EINVAL ? "--textfile needs an absolute path" : "");
        return 0;
}
