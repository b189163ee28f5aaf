/* Fuzz target: the .deb reader (deb_inspect, agent/host/debfile.h) on arbitrary bytes written to a
 * scratch file, then what apt-keyring-deb does with a package it read: the path policy and reading
 * a member. Every refusal must come with a message. */
#include <stdlib.h>
#include <string.h>

#include "host/debfile.h"
#include "fuzz.h"

static char *path;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        path = xasprintf("%s/input.deb", fuzz_scratch_dir());
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_write_file(path, data, size);
        _cleanup_(deb_info_freep) DebInfo *d = NULL;
        _cleanup_free_ char *why = NULL;
        int r = deb_inspect(path, &d, &why);
        if (r < 0) {
                if (!why || !*why)
                        fuzz_fail("deb_inspect refused with %d and no message", r);
                return 0;
        }
        if (!d->package || !d->version || !d->architecture || !d->control)
                fuzz_fail("deb_inspect accepted a package without Package/Version/Architecture");

        static char *const allowed[] = {"/usr/share/keyrings", "/etc/apt/sources.list.d", "/etc/apt/preferences.d",
                                        "/usr/share/doc", NULL};
        _cleanup_free_ char *off = NULL, *why2 = NULL;
        r = deb_check_paths(d, allowed, &off, &why2);
        if (r < 0 && (r != -EPERM || !off || !why2))
                fuzz_fail("deb_check_paths refused with %d without naming the path", r);
        if (r == 0 && (off || why2))
                fuzz_fail("deb_check_paths accepted and named an offending path");
        for (size_t i = 0; i < d->n_entries; i++)
                if (!d->entries[i].path || d->entries[i].path[0] != '/')
                        fuzz_fail("entry %zu has a path that is not normalised: %s", i,
                                  d->entries[i].path ? d->entries[i].path : "(null)");

        /* read the first few regular files back, as the keyring step reads the keyring it carries */
        unsigned read = 0;
        for (size_t i = 0; i < d->n_entries && read < 4; i++) {
                if (d->entries[i].type != DEB_ENTRY_FILE)
                        continue;
                _cleanup_free_ char *content = NULL, *why3 = NULL;
                size_t len = 0;
                r = deb_read_data_file(path, d->entries[i].path, 1024 * 1024, &content, &len, &why3);
                read++;
                if (r < 0 && (!why3 || !*why3))
                        fuzz_fail("deb_read_data_file(%s) failed with %d and no message", d->entries[i].path, r);
                /* a member listed once is read back whole (the same member twice: either one) */
                size_t same = 0;
                for (size_t k = 0; k < d->n_entries; k++)
                        same += streq(d->entries[k].path, d->entries[i].path);
                if (r == 0 && same == 1 && len != d->entries[i].size)
                        fuzz_fail("member %s: listed with %llu bytes, read back %zu", d->entries[i].path,
                                  (unsigned long long) d->entries[i].size, len);
        }
        return 0;
}
