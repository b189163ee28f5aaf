/* .deb inspection: packages built at test time by dpkg-deb (gzip, xz, zstd and uncompressed data,
 * the layout of NVIDIA's cuda-keyring: a keyring under /usr/share/keyrings and a sources.list.d
 * entry), variants that write elsewhere (/etc/cron.d, escaping symlinks, hard links), and files that
 * are not packages at all (garbage, a tarball, ar archives with missing or misplaced members, a
 * truncated or corrupted package). Needs dpkg-deb, ar (binutils), tar, sha256sum. */
#include <check.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "base/hash.h"
#include "tests.h"
#include "host/debfile.h"

Suite *debfile_suite(void);

static char *dir; /* scratch directory of the suite: package trees and .debs */

#define KEYRING "/usr/share/keyrings/cuda-archive-keyring.gpg"
#define SOURCES "/etc/apt/sources.list.d/cuda-ubuntu2404-x86_64.list"
#define SOURCES_TEXT                                                                                       \
        "deb [signed-by=/usr/share/keyrings/cuda-archive-keyring.gpg] "                                    \
        "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/ /\n"

static char *const allowed[] = { (char *) "/usr/share/keyrings", (char *) "/etc/apt/sources.list.d/", NULL };

static const char *strnull(const char *s) {
        return s ? s : "(null)";
}

static void *mfree(void *p) {
        free(p);
        return NULL;
}

#define sh(...) test_sh(dir, __VA_ARGS__)
#define slurp(name, len) test_slurp(dir, name, len)

static char *scratch(const char *name) {
        return xasprintf("%s/%s", dir, name);
}

static void deb_setup(void) {
        const char *tmp = getenv("TMPDIR");
        _cleanup_free_ char *tmpl = xasprintf("%s/gpubase-deb.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        ck_assert_msg(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
        dir = TAKE_PTR(tmpl);

        free(sh("set -e\n"
                "cd '%s'\n"
                "umask 022\n"
                "mkdir -p good/DEBIAN good/usr/share/keyrings good/etc/apt/sources.list.d\n"
                "printf 'Package: cuda-keyring\\nVersion: 1.1-1\\nArchitecture: all\\n"
                "Maintainer: test <t@example>\\nDescription: test keyring\\n two lines\\n' >good/DEBIAN/control\n"
                "printf '#!/bin/sh\\nexit 0\\n' >good/DEBIAN/postinst\n"
                "chmod 0755 good/DEBIAN/postinst\n"
                "head -c 204800 /dev/urandom >good" KEYRING "\n"
                "printf '%%s' '" SOURCES_TEXT "' >good" SOURCES "\n"
                "ln -s cuda-archive-keyring.gpg good/usr/share/keyrings/cuda.gpg\n"
                /* the same package, written with each compressor dpkg-deb knows */
                "build() { dpkg-deb --root-owner-group \"$@\" >/dev/null; }\n"
                "for z in gzip xz zstd none; do build -Z$z --build good good-$z.deb; done\n"
                /* variants that write where they must not */
                "for v in evil escape abslink hardlink; do cp -a good $v; done\n"
                "mkdir -p evil/etc/cron.d && echo '* * * * * root sh -c id' >evil/etc/cron.d/evil\n"
                "ln -s ../../../etc/shadow escape/usr/share/keyrings/escape\n"
                "ln -s /etc/passwd abslink/usr/share/keyrings/abs\n"
                "ln hardlink" KEYRING " hardlink/usr/share/keyrings/hard.gpg\n"
                "for v in evil escape abslink hardlink; do build -Zxz --build $v $v.deb; done\n"
                /* not packages */
                "head -c 5000 /dev/urandom >garbage.deb\n"
                ": >empty.deb\n"
                "echo 'this is not a package' >text.deb\n"
                "tar -C good -czf tarball.deb .\n"
                "mkdir members && (cd members && ar x ../good-xz.deb)\n"
                "(cd members && ar rc ../order.deb control.tar.xz debian-binary data.tar.xz)\n"
                "(cd members && ar rc ../nodata.deb debian-binary control.tar.xz)\n"
                "(cd members && ar rc ../nocontrol.deb debian-binary data.tar.xz)\n"
                "echo hi >members/surprise.txt && cp members/data.tar.xz members/data.tar.gz\n"
                "(cd members && ar rc ../extra.deb debian-binary control.tar.xz data.tar.xz surprise.txt)\n"
                "(cd members && ar rc ../wrongcomp.deb debian-binary control.tar.xz data.tar.gz)\n"
                "mkdir v3 && echo 3.0 >v3/debian-binary && cp members/*.tar.xz v3/\n"
                "(cd v3 && ar rc ../version3.deb debian-binary control.tar.xz data.tar.xz)\n"
                "size=$(stat -c %%s good-xz.deb)\n"
                "head -c $((size / 2)) good-xz.deb >truncated.deb\n"
                "head -c $((size - 1)) good-xz.deb >short.deb\n"
                "cp good-xz.deb corrupt.deb && printf 'AAAAAAAAAAAAAAAA' | "
                "dd of=corrupt.deb bs=1 seek=$((size - 5000)) conv=notrunc status=none\n",
                dir));
}

static void deb_teardown(void) {
        if (!dir)
                return;
        test_rm_rf(dir);
        dir = mfree(dir);
}

static DebInfo *inspect(const char *name) {
        _cleanup_free_ char *path = scratch(name), *why = NULL;
        DebInfo *d = NULL;
        int r = deb_inspect(path, &d, &why);
        ck_assert_msg(r == 0, "%s: %d %s", name, r, why);
        ck_assert_ptr_null(why);
        return d;
}

static void check_entry(const DebInfo *d, const char *path, DebEntryType type, uint64_t size, unsigned mode,
                        const char *target) {
        const DebEntry *e = deb_info_find(d, path);
        ck_assert_msg(e, "%s not listed", path);
        ck_assert_str_eq(e->path, path);
        ck_assert_msg(e->type == type, "%s: type %s, expected %s", path, deb_entry_type_to_string(e->type),
                      deb_entry_type_to_string(type));
        ck_assert_uint_eq(e->size, size);
        if (mode)
                ck_assert_uint_eq(e->mode, mode);
        if (target)
                ck_assert_str_eq(e->target, target);
        else
                ck_assert_ptr_null(e->target);
}

START_TEST(test_inspect_compressions) {
        static const char *const debs[] = { "good-gzip.deb", "good-xz.deb", "good-zstd.deb", "good-none.deb" };
        const char *deb = debs[_i];
        _cleanup_(deb_info_freep) DebInfo *d = inspect(deb);
        _cleanup_free_ char *keyring = NULL, *data = NULL, *why = NULL, *tree_keyring = NULL;
        size_t keyring_len, len;

        ck_assert_str_eq(d->package, "cuda-keyring");
        ck_assert_str_eq(d->version, "1.1-1");
        ck_assert_str_eq(d->architecture, "all");
        ck_assert_ptr_nonnull(strstr(d->control, "Maintainer: test <t@example>\n"));
        ck_assert_uint_eq(strv_length(d->control_members), 1);
        ck_assert_str_eq(d->control_members[0], "postinst");

        tree_keyring = slurp("good" KEYRING, &keyring_len);
        ck_assert_uint_eq(d->n_entries, 10);
        check_entry(d, "/", DEB_ENTRY_DIRECTORY, 0, 0755, NULL);
        check_entry(d, "/etc", DEB_ENTRY_DIRECTORY, 0, 0755, NULL);
        check_entry(d, "/etc/apt", DEB_ENTRY_DIRECTORY, 0, 0755, NULL);
        check_entry(d, "/etc/apt/sources.list.d", DEB_ENTRY_DIRECTORY, 0, 0755, NULL);
        check_entry(d, SOURCES, DEB_ENTRY_FILE, strlen(SOURCES_TEXT), 0644, NULL);
        check_entry(d, "/usr", DEB_ENTRY_DIRECTORY, 0, 0755, NULL);
        check_entry(d, "/usr/share", DEB_ENTRY_DIRECTORY, 0, 0755, NULL);
        check_entry(d, "/usr/share/keyrings", DEB_ENTRY_DIRECTORY, 0, 0755, NULL);
        check_entry(d, KEYRING, DEB_ENTRY_FILE, keyring_len, 0644, NULL);
        check_entry(d, "/usr/share/keyrings/cuda.gpg", DEB_ENTRY_SYMLINK, 0, 0, "cuda-archive-keyring.gpg");
        ck_assert_ptr_null(deb_info_find(d, "/usr/share/keyrings/other.gpg"));
        ck_assert_ptr_nonnull(deb_info_find(d, "./usr/share/keyrings/")); /* unnormalised lookups work */

        /* the member list agrees with tar's */
        _cleanup_free_ char *tar_list =
                sh("dpkg-deb --fsys-tarfile '%s/%s' | tar -t | sed -e 's|^\\./|/|' -e 's|/$||' -e 's|^$|/|' "
                   "| LC_ALL=C sort",
                   dir, deb);
        _cleanup_(buf_done) Buf ours = {0};
        _cleanup_strv_free_ char **paths = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < d->n_entries; i++)
                strv_push(&paths, xstrdup(d->entries[i].path));
        qsort(paths, strv_length(paths), sizeof(char *), strcmp_ptr);
        for (size_t i = 0; paths[i]; i++)
                buf_printf(&ours, "%s\n", paths[i]);
        ck_assert_str_eq(ours.data, tar_list);

        ck_assert_int_eq(deb_check_paths(d, allowed, NULL, NULL), 0);

        /* contents */
        _cleanup_free_ char *path = scratch(deb);
        ck_assert_int_eq(deb_read_data_file(path, KEYRING, 0, &keyring, &len, &why), 0);
        ck_assert_uint_eq(len, keyring_len);
        ck_assert(memcmp(keyring, tree_keyring, len) == 0);
        ck_assert_int_eq(deb_read_data_file(path, "." SOURCES, 4096, &data, &len, &why), 0);
        ck_assert_uint_eq(len, strlen(SOURCES_TEXT));
        ck_assert_str_eq(data, SOURCES_TEXT);
        ck_assert_ptr_null(why);

        /* the checksum a plan pins */
        char hex[65];
        _cleanup_free_ char *sum = sh("sha256sum '%s' | cut -d' ' -f1 | tr -d '\\n'", path);
        ck_assert_int_eq(sha256_file_hex(path, hex), 0);
        ck_assert_str_eq(hex, sum);
}
END_TEST

/* sha256_hex() is gpubase's own SHA-256 (base/hash.c): FIPS 180-4's examples, and every length
 * from 0 to 300 bytes (one and two padding blocks, each boundary) against libcrypto's */
START_TEST(test_sha256_memory) {
        static const char *const fips[][2] = {
                {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
                {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
                {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        };
        char hex[65], want[65];
        unsigned char buf[300];

        for (size_t i = 0; i < ELEMENTSOF(fips); i++) {
                sha256_hex(fips[i][0], strlen(fips[i][0]), hex);
                ck_assert_str_eq(hex, fips[i][1]);
        }
        for (size_t i = 0; i < sizeof buf; i++)
                buf[i] = (unsigned char) (i * 167 + 13);
        for (size_t len = 0; len <= sizeof buf; len++) {
                Sha256 ctx;
                sha256_init(&ctx);
                sha256_update(&ctx, buf, len);
                sha256_final_hex(&ctx, want);
                sha256_hex(buf, len, hex);
                ck_assert_msg(streq(hex, want), "%zu bytes: %s, libcrypto %s", len, hex, want);
        }
}
END_TEST

/* md5_hex() and sha1_digest() are gpubase's own (base/hash.c): RFC 1321's test suite, and every
 * length from 0 to 300 bytes against libcrypto's; md5_file_hex() and sha256_file_hex() give the same
 * for a small file (hashed here) and a large one (through libcrypto). */
START_TEST(test_md5_memory) {
        static const char *const rfc[][2] = {
                {"", "d41d8cd98f00b204e9800998ecf8427e"},
                {"a", "0cc175b9c0f1b6a831c399e269772661"},
                {"abc", "900150983cd24fb0d6963f7d28e17f72"},
                {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
                {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
                {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                 "57edf4a22be3c955ac49da2e2107b67a"},
        };
        char hex[33], want[33];
        unsigned char buf[300], md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;

        for (size_t i = 0; i < ELEMENTSOF(rfc); i++) {
                md5_hex(rfc[i][0], strlen(rfc[i][0]), hex);
                ck_assert_str_eq(hex, rfc[i][1]);
        }
        for (size_t i = 0; i < sizeof buf; i++)
                buf[i] = (unsigned char) (i * 167 + 13);
        for (size_t len = 0; len <= sizeof buf; len++) {
                ck_assert_int_eq(EVP_Digest(buf, len, md, &mdlen, EVP_md5(), NULL), 1);
                hex_encode(md, mdlen, want);
                md5_hex(buf, len, hex);
                ck_assert_msg(streq(hex, want), "%zu bytes: %s, libcrypto %s", len, hex, want);
                /* SHA-1 (OpenPGP v4 fingerprints) the same way */
                unsigned char sha1[20];
                ck_assert_int_eq(EVP_Digest(buf, len, md, &mdlen, EVP_sha1(), NULL), 1);
                sha1_digest(buf, len, sha1);
                ck_assert_msg(mdlen == 20 && memcmp(sha1, md, 20) == 0, "SHA-1 of %zu bytes differs from libcrypto's", len);
        }
        size_t sizes[] = {4096, 512 * 1024};
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                _cleanup_free_ unsigned char *data = xmalloc(sizes[i]);
                for (size_t j = 0; j < sizes[i]; j++)
                        data[j] = (unsigned char) (j * 31 + 7);
                _cleanup_free_ char *path = scratch("md5-input");
                FILE *f = fopen(path, "w");
                ck_assert_ptr_nonnull(f);
                ck_assert_uint_eq(fwrite(data, 1, sizes[i], f), sizes[i]);
                ck_assert_int_eq(fclose(f), 0);
                ck_assert_int_eq(md5_file_hex(path, hex), 0);
                md5_hex(data, sizes[i], want);
                ck_assert_msg(streq(hex, want), "a file of %zu bytes: %s, in memory %s", sizes[i], hex, want);
                /* sha256_file_hex() the same way: a keyring package is hashed here, a driver through libcrypto */
                char sha[65], sha_want[65];
                ck_assert_int_eq(sha256_file_hex(path, sha), 0);
                sha256_hex(data, sizes[i], sha_want);
                ck_assert_msg(streq(sha, sha_want), "a file of %zu bytes: SHA-256 %s, in memory %s", sizes[i], sha,
                              sha_want);
        }
}
END_TEST

START_TEST(test_read_errors) {
        _cleanup_free_ char *path = scratch("good-zstd.deb"), *garbage = scratch("garbage.deb");
        char *data = NULL, *why = NULL;
        size_t len = 0;

        ck_assert_int_eq(deb_read_data_file(path, "/usr/share/keyrings/nope.gpg", 0, &data, &len, &why), -ENOENT);
        ck_assert_ptr_nonnull(strstr(why, "nope.gpg"));
        why = mfree(why);
        ck_assert_int_eq(deb_read_data_file(path, "/usr/share/keyrings", 0, &data, &len, &why), -EISDIR);
        why = mfree(why);
        ck_assert_int_eq(deb_read_data_file(path, "/usr/share/keyrings/cuda.gpg", 0, &data, &len, &why), -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "symlink"));
        why = mfree(why);
        ck_assert_int_eq(deb_read_data_file(path, KEYRING, 1000, &data, &len, &why), -EFBIG);
        why = mfree(why);
        ck_assert_int_eq(deb_read_data_file(garbage, KEYRING, 0, &data, &len, &why), -EBADMSG);
        why = mfree(why);
        ck_assert_ptr_null(data);

        /* the hard link itself is not a regular file's content */
        _cleanup_(deb_info_freep) DebInfo *d = inspect("hardlink.deb");
        _cleanup_free_ char *hl = scratch("hardlink.deb");
        for (size_t i = 0; i < d->n_entries; i++)
                if (d->entries[i].type == DEB_ENTRY_HARDLINK) {
                        ck_assert_int_eq(deb_read_data_file(hl, d->entries[i].path, 0, &data, &len, &why), -EINVAL);
                        why = mfree(why);
                }
}
END_TEST

static void check_refused(const char *deb, const char *want_path, const char *want_in_why) {
        _cleanup_(deb_info_freep) DebInfo *d = inspect(deb);
        _cleanup_free_ char *offending = NULL, *why = NULL;

        ck_assert_int_eq(deb_check_paths(d, allowed, &offending, &why), -EPERM);
        ck_assert_str_eq(offending, want_path);
        ck_assert_msg(strstr(why, want_in_why), "%s: \"%s\" lacks \"%s\"", deb, why, want_in_why);
}

START_TEST(test_refusals) {
        check_refused("evil.deb", "/etc/cron.d/evil", "outside the allowed directories");
        check_refused("escape.deb", "/usr/share/keyrings/escape", "points to /etc/shadow");
        check_refused("abslink.deb", "/usr/share/keyrings/abs", "points to /etc/passwd");

        _cleanup_(deb_info_freep) DebInfo *d = inspect("hardlink.deb");
        const DebEntry *link = NULL;
        for (size_t i = 0; i < d->n_entries; i++)
                if (d->entries[i].type == DEB_ENTRY_HARDLINK) {
                        ck_assert_ptr_null(link);
                        link = d->entries + i;
                }
        ck_assert_ptr_nonnull(link);
        ck_assert(streq(link->target, KEYRING) || streq(link->target, "/usr/share/keyrings/hard.gpg"));
        check_refused("hardlink.deb", link->path, "hard link");

        /* with /etc/cron.d allowed too, the evil package passes: the check is the list, nothing else */
        _cleanup_(deb_info_freep) DebInfo *evil = inspect("evil.deb");
        char *const wider[] = { allowed[0], allowed[1], (char *) "/etc/cron.d", NULL };
        ck_assert_int_eq(deb_check_paths(evil, wider, NULL, NULL), 0);
}
END_TEST

START_TEST(test_not_a_deb) {
        static const char *const names[] = {
                "garbage.deb", "empty.deb",     "text.deb",      "tarball.deb",   "order.deb",
                "nodata.deb",  "nocontrol.deb", "extra.deb",     "wrongcomp.deb", "version3.deb",
                "truncated.deb", "short.deb",   "corrupt.deb",   "good",
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *path = scratch(names[i]), *why = NULL;
                DebInfo *d = NULL;
                int r = deb_inspect(path, &d, &why);
                ck_assert_msg(r == -EBADMSG, "%s: %d (%s)", names[i], r, why ? why : "no message");
                ck_assert_ptr_null(d);
                ck_assert_msg(why && strstr(why, "is not a valid .deb"), "%s: %s", names[i], why);
        }

        _cleanup_free_ char *missing = scratch("missing.deb"), *why = NULL;
        DebInfo *d = NULL;
        ck_assert_int_eq(deb_inspect(missing, &d, &why), -ENOENT);
        ck_assert_ptr_nonnull(why);
        char hex[65];
        ck_assert_int_eq(sha256_file_hex(missing, hex), -ENOENT);
}
END_TEST

/* deb_check_paths on hand-made entries: what dpkg-deb would never build. */
START_TEST(test_check_paths) {
        static const struct {
                const char *path;
                DebEntryType type;
                const char *target;
                bool ok;
        } cases[] = {
                { "/", DEB_ENTRY_DIRECTORY, NULL, true },
                { "/usr/share", DEB_ENTRY_DIRECTORY, NULL, true },
                { "/etc/apt", DEB_ENTRY_DIRECTORY, NULL, true },
                { "/usr/share/keyrings", DEB_ENTRY_DIRECTORY, NULL, true },
                { "/usr/share/keyrings/sub", DEB_ENTRY_DIRECTORY, NULL, true },
                { "/usr/share/doc", DEB_ENTRY_DIRECTORY, NULL, false },
                { "/usr/share/keyringsX", DEB_ENTRY_DIRECTORY, NULL, false },
                { "/usr/share/keyrings/a.gpg", DEB_ENTRY_FILE, NULL, true },
                { "/usr/share/keyrings", DEB_ENTRY_FILE, NULL, false }, /* a file in place of the directory */
                { "/usr/share/keyringsX/a.gpg", DEB_ENTRY_FILE, NULL, false },
                { "/usr/share/keyrings/../../../etc/passwd", DEB_ENTRY_FILE, NULL, false },
                { "/usr/share/keyrings/..", DEB_ENTRY_DIRECTORY, NULL, false },
                { "/etc/apt/sources.list.d/x.list", DEB_ENTRY_FILE, NULL, true },
                { "/etc/apt/sources.list", DEB_ENTRY_FILE, NULL, false },
                { "/usr/share/keyrings/l", DEB_ENTRY_SYMLINK, "a.gpg", true },
                { "/usr/share/keyrings/l", DEB_ENTRY_SYMLINK, "./sub/../a.gpg", true },
                { "/usr/share/keyrings/l", DEB_ENTRY_SYMLINK, "/usr/share/keyrings/a.gpg", true },
                { "/usr/share/keyrings/l", DEB_ENTRY_SYMLINK, "../../../etc/apt/sources.list.d/x.list", true },
                { "/usr/share/keyrings/l", DEB_ENTRY_SYMLINK, "/etc/apt/sources.list.d", true },
                { "/usr/share/keyrings/l", DEB_ENTRY_SYMLINK, "../keyrings2/a.gpg", false },
                { "/usr/share/keyrings/l", DEB_ENTRY_SYMLINK, "../../../../../../etc/shadow", false },
                { "/usr/share/keyrings/l", DEB_ENTRY_SYMLINK, "/etc/shadow", false },
                { "/usr/share/keyrings/l", DEB_ENTRY_SYMLINK, "", false },
                { "/usr/share/keyrings/l", DEB_ENTRY_SYMLINK, "..", false },
                { "/usr/lib/l", DEB_ENTRY_SYMLINK, "/usr/share/keyrings/a.gpg", false },
                { "/usr/share/keyrings/h", DEB_ENTRY_HARDLINK, "/usr/share/keyrings/a.gpg", false },
                { "/usr/share/keyrings/dev", DEB_ENTRY_OTHER, NULL, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                DebEntry e = {
                        .path = (char *) cases[i].path,
                        .type = cases[i].type,
                        .target = (char *) cases[i].target,
                };
                DebInfo d = { .entries = &e, .n_entries = 1 };
                _cleanup_free_ char *offending = NULL, *why = NULL;
                int r = deb_check_paths(&d, allowed, &offending, &why);
                ck_assert_msg((r == 0) == cases[i].ok, "%s (%s -> %s): %d %s", cases[i].path,
                              deb_entry_type_to_string(cases[i].type), strnull(cases[i].target), r, strnull(why));
                if (r < 0) {
                        ck_assert_int_eq(r, -EPERM);
                        ck_assert_str_eq(offending, cases[i].path);
                        ck_assert_ptr_nonnull(why);
                }
        }

        /* Through two symlinks that each look fine, a file would land in /etc/apt/apt.conf.d. */
        DebEntry chain[] = {
                { .path = (char *) "/usr/share/keyrings/d", .type = DEB_ENTRY_SYMLINK,
                  .target = (char *) "../../../etc/apt/sources.list.d" },
                { .path = (char *) "/usr/share/keyrings/d/e", .type = DEB_ENTRY_SYMLINK,
                  .target = (char *) "../apt.conf.d" },
                { .path = (char *) "/usr/share/keyrings/d/e/99evil", .type = DEB_ENTRY_FILE },
        };
        DebInfo c = { .entries = chain, .n_entries = 1 };
        ck_assert_int_eq(deb_check_paths(&c, allowed, NULL, NULL), 0); /* the first link alone is fine */
        for (size_t n = 2; n <= 3; n++) {
                _cleanup_free_ char *offending = NULL, *why = NULL;
                c.n_entries = n;
                ck_assert_int_eq(deb_check_paths(&c, allowed, &offending, &why), -EPERM);
                ck_assert_str_eq(offending, "/usr/share/keyrings/d/e");
                ck_assert_ptr_nonnull(strstr(why, "below the symlink /usr/share/keyrings/d"));
        }
        c.entries = chain + 2; /* the file alone (dpkg would create d as a directory) */
        c.n_entries = 1;
        ck_assert_int_eq(deb_check_paths(&c, allowed, NULL, NULL), 0);

        /* nothing allowed: even "/" is refused */
        DebEntry root = { .path = (char *) "/", .type = DEB_ENTRY_DIRECTORY };
        DebInfo d = { .entries = &root, .n_entries = 1 };
        char *const none[] = { NULL };
        _cleanup_free_ char *why = NULL;
        ck_assert_int_eq(deb_check_paths(&d, none, NULL, &why), -EPERM);
}
END_TEST

START_TEST(test_path_normalize) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "./usr/share/keyrings/x.gpg", "/usr/share/keyrings/x.gpg" },
                { "./usr/share/keyrings/", "/usr/share/keyrings" },
                { "./", "/" },
                { ".", "/" },
                { "", "/" },
                { "/", "/" },
                { "usr//share/./keyrings", "/usr/share/keyrings" },
                { "./etc/../etc/x", "/etc/../etc/x" },
                { "/.hidden/..x/...", "/.hidden/..x/..." },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *n = deb_path_normalize(cases[i].in);
                ck_assert_str_eq(n, cases[i].out);
        }
        ck_assert_str_eq(deb_entry_type_to_string(DEB_ENTRY_HARDLINK), "hardlink");
        ck_assert_ptr_null(deb_entry_type_to_string(_DEB_ENTRY_TYPE_MAX));
}
END_TEST

Suite *debfile_suite(void) {
        Suite *s = suite_create("debfile");
        TCase *tc = tcase_create("packages");

        /* the packages are built once for the whole test case */
        tcase_add_unchecked_fixture(tc, deb_setup, deb_teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, test_inspect_compressions, 0, 4);
        tcase_add_test(tc, test_sha256_memory);
        tcase_add_test(tc, test_md5_memory);
        tcase_add_test(tc, test_read_errors);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_not_a_deb);
        tcase_add_test(tc, test_check_paths);
        tcase_add_test(tc, test_path_normalize);
        suite_add_tcase(s, tc);
        return s;
}
