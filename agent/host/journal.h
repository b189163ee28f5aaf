/* Reading the journal (real machine only; libsystemd's sd-journal). *reterr is written only on
 * failure, the ret_ outputs only on success. */
#pragma once

#include "host/host.h"

/* The last max_entries entries gpubase wrote (SYSLOG_IDENTIFIER=gpubase) or its unit printed, oldest
 * first, one line each: "TIME IDENT[PID] <PRIORITY> MESSAGE GPUBASE_STEP=... GPUBASE_STATE=...". */
int host_journal_gpubase(unsigned max_entries, char **ret_text, unsigned *ret_n, char **reterr);
