#include "checks/signing.h"

#include <dirent.h>
#include <string.h>

#include "base/crypto_load.h"
#include "checks/facts.h"

static const char *const route_table[_SIGNING_ROUTE_MAX] = {
        [SIGNING_NONE] = "none",
        [SIGNING_DKMS_MOK] = "dkms-mok",
        [SIGNING_SIGNED_MODULES] = "signed-modules",
};

const char *signing_route_to_string(SigningRoute r) {
        return r >= 0 && r < _SIGNING_ROUTE_MAX ? route_table[r] : NULL;
}

SigningRoute signing_route_from_string(const char *s) {
        for (int i = 0; i < _SIGNING_ROUTE_MAX; i++)
                if (streq(route_table[i], s))
                        return (SigningRoute) i;
        return _SIGNING_ROUTE_INVALID;
}

ModuleSource module_source_of_package(const char *name) {
        if (startswith(name, "linux-modules-nvidia-"))
                return MODULE_SOURCE_SIGNED;
        if (startswith(name, "nvidia-driver-pinning-"))
                return MODULE_SOURCE_NONE;
        /* the CUDA repository's nvidia-open*, cuda-drivers*, nvidia-driver-*; Debian's
         * nvidia-open-kernel-dkms, nvidia-kernel-dkms, nvidia-driver; Ubuntu's nvidia-dkms-* */
        if (startswith(name, "nvidia-open") || startswith(name, "cuda-drivers") || startswith(name, "nvidia-driver") ||
            (startswith(name, "nvidia-") && strstr(name, "dkms")))
                return MODULE_SOURCE_DKMS;
        return MODULE_SOURCE_NONE;
}

const char *const dkms_mok_certs[] = {"/var/lib/dkms/mok.pub", "/var/lib/shim-signed/mok/MOK.der", NULL};

/* shim's MOK list (mirrored for the OS as MokListRT, split into MokListRT1... when large) and the
 * firmware's db, as the kernel shows them */
#define SHIM_LOCK_GUID "605dab50-e046-4300-abb6-3dd810dd8b23"
#define IMAGE_SECURITY_DATABASE_GUID "d719b2cb-3d3a-4596-a3bc-dad00e67656f"

/* DER bytes of the certificate in path (DER or PEM). */
static int read_cert_der(const Host *h, const char *path, unsigned char **ret, size_t *ret_len) {
        _cleanup_free_ char *p = host_path(h, path), *data = NULL;
        size_t len = 0;
        int r = read_file(p, 1024 * 1024, &data, &len);
        if (r < 0)
                return r;
        X509 *x = NULL;
        if (len > 10 && memmem(data, len, "-----BEGIN", 10)) {
                BIO *bio = BIO_new_mem_buf(data, (int) len);
                x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
                BIO_free(bio);
        } else {
                const unsigned char *q = (const unsigned char *) data;
                x = d2i_X509(NULL, &q, (long) len);
        }
        if (!x)
                return -EBADMSG;
        unsigned char *der = NULL;
        int n = i2d_X509(x, &der);
        X509_free(x);
        if (n <= 0)
                return -EBADMSG;
        *ret = xmalloc((size_t) n);
        memcpy(*ret, der, (size_t) n);
        OPENSSL_free(der);
        *ret_len = (size_t) n;
        return 0;
}

/* Does any variable file in dir whose name passes want() hold the bytes? */
static bool dir_holds(const Host *h, const char *dir, bool (*want)(const char *), const unsigned char *der, size_t n) {
        _cleanup_free_ char *d = host_path(h, dir);
        DIR *dp = opendir(d);
        if (!dp)
                return false;
        bool found = false;
        struct dirent *de;
        while (!found && (de = readdir(dp))) {
                if (!want(de->d_name))
                        continue;
                _cleanup_free_ char *rel = xasprintf("%s/%s", dir, de->d_name), *f = host_path(h, rel), *data = NULL;
                size_t len = 0;
                if (read_file(f, 16 * 1024 * 1024, &data, &len) == 0 && memmem(data, len, der, n))
                        found = true;
        }
        closedir(dp);
        return found;
}

static bool is_efivar_moklist(const char *name) {
        return startswith(name, "MokListRT") && strstr(name, "-" SHIM_LOCK_GUID) && !startswith(name, "MokListRTX");
}

static bool is_efivar_db(const char *name) {
        return streq(name, "db-" IMAGE_SECURITY_DATABASE_GUID);
}

static bool is_mokvar_moklist(const char *name) {
        return startswith(name, "MokListRT") && !startswith(name, "MokListRTX") && !strchr(name, '-');
}

int dkms_key_enrolled(const Host *h, char **ret_cert, char **ret_why) {
        _cleanup_free_ char *why = NULL;
        for (size_t i = 0; dkms_mok_certs[i]; i++) {
                _cleanup_free_ unsigned char *der = NULL;
                size_t n = 0;
                int r = read_cert_der(h, dkms_mok_certs[i], &der, &n);
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        if (!why)
                                why = xasprintf("%s is not a readable X.509 certificate (%s)", dkms_mok_certs[i],
                                                r == -EBADMSG ? "it does not parse" : strerror(-r));
                        continue;
                }
                if (dir_holds(h, "/sys/firmware/efi/mok-variables", is_mokvar_moklist, der, n) ||
                    dir_holds(h, "/sys/firmware/efi/efivars", is_efivar_moklist, der, n) ||
                    dir_holds(h, "/sys/firmware/efi/efivars", is_efivar_db, der, n)) {
                        *ret_cert = xstrdup(dkms_mok_certs[i]);
                        return 1;
                }
                if (!why)
                        why = xasprintf("the DKMS key %s is not enrolled (it is neither in shim's MOK list nor in the "
                                        "firmware's db)",
                                        dkms_mok_certs[i]);
        }
        *ret_why = why ? TAKE_PTR(why)
                       : xstrdup("there is no DKMS signing key yet (neither /var/lib/dkms/mok.pub nor "
                                 "/var/lib/shim-signed/mok/MOK.der exists)");
        return 0;
}

SigningRoute plan_signing_route(const PlanIntent *in) {
        if (in->signing_route >= 0)
                return (SigningRoute) in->signing_route;
        return in->module_signed ? SIGNING_SIGNED_MODULES : SIGNING_NONE;
}

char *secureboot_refusal(const PlanIntent *in, const Host *h) {
        SigningRoute route = plan_signing_route(in);
        if (route == SIGNING_SIGNED_MODULES && !in->module_signed)
                return xstrdup("the plan declares the signing route signed-modules but installs no "
                               "linux-modules-nvidia-* package; install Ubuntu's signed modules in the driver step, or "
                               "declare {secureboot: dkms-mok}");
        if (secureboot_state(h) != SECUREBOOT_ENABLED || !(in->module_dkms || in->module_signed))
                return NULL;
        switch (route) {
        case SIGNING_SIGNED_MODULES:
                return NULL;
        case SIGNING_DKMS_MOK: {
                _cleanup_free_ char *cert = NULL, *why = NULL;
                if (dkms_key_enrolled(h, &cert, &why) > 0)
                        return NULL;
                return xasprintf("Secure Boot is on and the plan's signing route is dkms-mok, but %s: the module DKMS "
                                 "builds would be refused at boot. Before the run, have DKMS's key in place (DKMS 3 "
                                 "creates /var/lib/dkms/mok.key and mok.pub when it first signs; they may also be put "
                                 "there beforehand), enrol it (mokutil --import /var/lib/dkms/mok.pub, reboot, confirm "
                                 "it in MokManager), then run the plan",
                                 why);
        }
        default:
                return xstrdup("Secure Boot is on and the plan installs a kernel module that DKMS builds, with no signing "
                               "route: the module would be refused at boot, after the reboot; " SIGNING_ROUTES_ADVICE
                               "; or turn Secure Boot off");
        }
}
