# shellcheck shell=bash
# Sourced: private_ns CMD... runs CMD in a new mount namespace where nothing it mounts reaches
# anyone else. Where the tests run chrooted ("/" is not a mount point, as on CI's fresh machine) the
# root's propagation cannot be changed (`unshare -m`, and `mount --make-rprivate /` inside it, fail
# with EINVAL); there every mount in sight is made private inside the namespace instead.
private_ns() {
        if unshare -m true 2>/dev/null; then
                unshare -m "$@"
        else
                # shellcheck disable=SC2016 # expanded by the shell in the namespace
                unshare -m --propagation unchanged bash -c '
                        while read -r _ _ _ _ mp _; do mount --make-private "$mp" 2>/dev/null || true; done </proc/self/mountinfo
                        exec "$@"' private_ns "$@"
        fi
}
