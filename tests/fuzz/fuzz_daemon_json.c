/* Fuzz target: the daemon.json reader (daemon_json_parse, agent/checks/facts.h) on arbitrary bytes.
 * Every refusal comes with a message; what it accepts it must read as dockerd would: no key or
 * value that json-c would cut short at an escaped NUL (regressions/fuzz_daemon_json/nul-in-key.json:
 * {"runtimes\u0000x": ...} used to read as "runtimes"). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "checks/facts.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        return 0;
}

/* Is there a \u0000 escape (an escaped NUL) in the text? A backslash starts an escape only when
 * it is not itself escaped. */
static bool has_escaped_nul(const char *t, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (t[i] != '\\')
                        continue;
                if (i + 5 < n && t[i + 1] == 'u' && memcmp(t + i + 2, "0000", 4) == 0)
                        return true;
                i++; /* skip the escaped character */
        }
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        DaemonJson d = {0};
        _cleanup_free_ char *err = NULL;
        int r = daemon_json_parse((const char *) data, size, &d, &err);
        if (r < 0) {
                if (r != -EBADMSG || !err || !*err)
                        fuzz_fail("daemon.json refused with %d and no message", r);
                return 0;
        }
        if (err)
                fuzz_fail("daemon.json accepted with an error message: %s", err);
        if (has_escaped_nul((const char *) data, size))
                fuzz_fail("daemon.json with an escaped NUL accepted: json-c cuts keys and values short there");
        if (d.nvidia_path && !d.has_nvidia)
                fuzz_fail("runtimes.nvidia.path without runtimes.nvidia");
        daemon_json_done(&d);
        return 0;
}
