/* Reading the journal (real machine only; libsystemd's sd-journal). *reterr is written only on
 * failure, the ret_ outputs only on success. */
#pragma once

#include "host/host.h"

/* The last max_entries entries gpubase wrote (SYSLOG_IDENTIFIER=gpubase) or its unit printed, oldest
 * first, one line each: "TIME IDENT[PID] <PRIORITY> MESSAGE GPUBASE_STEP=... GPUBASE_STATE=...". */
int host_journal_gpubase(unsigned max_entries, char **ret_text, unsigned *ret_n, char **reterr);

/* The MESSAGE_IDs of gpubase's journal entries: fixed 128-bit ids (made once with `systemd-id128
 * new`; never change one), explained with their fix by packaging/systemd/gpubase.catalog, which
 * `journalctl -x` shows beside each entry. */
#define GPUBASE_MID_RUN_STARTED "b93bbec984f54315bf6ae6279adae44c"
#define GPUBASE_MID_STEP_DONE "de92a772e52d4e00aec274974c85f4f0"     /* done or skipped */
#define GPUBASE_MID_STEP_FAILED "eb10bb2faf5f413990f32b11442bd65b"   /* failed or interrupted */
#define GPUBASE_MID_REBOOT_REQUESTED "469c4efa6edb41e89a84c7aff561972b"
#define GPUBASE_MID_RUN_DONE "e1df2bfb8ed048b99454133f47945ab7"
#define GPUBASE_MID_RUN_STOPPED "2fb14fba795642c182fc7f1bb5771e6d"   /* failed, busy, reboot pending, stopped */
#define GPUBASE_MID_DRIFT_FOUND "5d98b61097394d51888885b7e87c4f8f"

/* Under --root, what would go to the journal is appended here instead, one entry per paragraph of
 * FIELD=value lines (journal export format, text fields only), so that tests see the fields. */
#define GPUBASE_JOURNAL_LOG "/var/lib/gpubase/journal.log"

/* Sends one structured entry: fields are "FIELD=value" strings (a value may hold newlines),
 * SYSLOG_IDENTIFIER=gpubase is added. On the machine through sd_journal_sendv(); under --root
 * appended to GPUBASE_JOURNAL_LOG (a newline inside a value becomes a space there). */
int host_journal_send(const Host *h, char *const *fields, char **reterr);
